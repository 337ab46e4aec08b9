//! Bad input of every kind gets a clear 4xx with a code, never a 500.

mod common;

use common::*;
use octo_server::{RateLimit, ServerConfig};
use octo_store::NewToken;
use reqwest::Method;
use serde_json::json;
async fn raw_post(app: &TestApp, path: &str, token: &str, body: &'static str) -> Answer {
    let resp = app
        .http
        .post(app.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    TestApp::answer(resp).await
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_refused_with_codes() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let path = format!("/channels/{ch}/messages");
    let t = &org.owner_token;
    raw_post(&app, &path, t, "{not json")
        .await
        .expect_error(400, "malformed_json");
    raw_post(&app, &path, t, "")
        .await
        .expect_error(400, "malformed_json");
    raw_post(&app, &path, t, r#"{"text": 42}"#)
        .await
        .expect_error(400, "invalid_body");
    raw_post(&app, &path, t, r#"[1,2]"#)
        .await
        .expect_error(400, "invalid_body");
    let unknown = raw_post(&app, &path, t, r#"{"text": "hi", "colour": "red"}"#).await;
    unknown.expect_error(400, "invalid_body");
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("colour")),
        "names the field"
    );
    app.post(&path, t, json!({"text": ""}))
        .await
        .expect_error(400, "invalid_text");
    app.post(&path, t, json!({"text": "   \n"}))
        .await
        .expect_error(400, "invalid_text");
    let limit = octo_core::limits::MAX_MESSAGE_CHARS;
    app.post(&path, t, json!({"text": "x".repeat(limit)}))
        .await
        .expect(201);
    app.post(&path, t, json!({"text": "x".repeat(limit + 1)}))
        .await
        .expect_error(400, "invalid_text");
    app.post(
        &path,
        t,
        json!({"text": "hi", "data": {"blob": "x".repeat(20_000)}}),
    )
    .await
    .expect_error(400, "invalid_data");
    app.post(
        &path,
        t,
        json!({"text": "hi", "client_msg_id": "x".repeat(200)}),
    )
    .await
    .expect_error(400, "invalid_client_msg_id");
    app.post(&path, t, json!({"text": "hi", "attachments": ["nope"]}))
        .await
        .expect_error(400, "unknown_attachment");
    app.post(
        &format!("/orgs/{}/spaces", org.id),
        t,
        json!({"name": "x", "visibility": "secret"}),
    )
    .await
    .expect_error(400, "invalid_body");
    app.post(
        &format!("/orgs/{}/spaces", org.id),
        t,
        json!({"name": " ", "visibility": "open"}),
    )
    .await
    .expect_error(400, "invalid_name");
    app.post(
        &format!("/orgs/{}/members", org.id),
        t,
        json!({"name": "has space", "email": "a@b.io", "password": "12345678"}),
    )
    .await
    .expect_error(400, "invalid_name");
    app.post(
        &format!("/orgs/{}/members", org.id),
        t,
        json!({"name": "ok", "email": "nope", "password": "12345678"}),
    )
    .await
    .expect_error(400, "invalid_email");
    app.post(
        &format!("/orgs/{}/members", org.id),
        t,
        json!({"name": "ok", "email": "ok@b.io", "password": "short"}),
    )
    .await
    .expect_error(400, "invalid_password");
    app.put(
        &format!("/messages/x/reactions/{}", "a".repeat(65)),
        t,
        json!(null),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn oversize_bodies_get_413() {
    let config = ServerConfig {
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let huge = json!({"text": "x".repeat(100 * 1024)});
    app.post(&format!("/channels/{ch}/messages"), &org.owner_token, huge)
        .await
        .expect_error(413, "body_too_large");
}

#[tokio::test]
async fn unknown_ids_routes_and_methods_are_clean_errors() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let t = &org.owner_token;
    app.get("/channels/nope", t)
        .await
        .expect_error(404, "not_found");
    app.get("/channels/nope/messages", t)
        .await
        .expect_error(404, "not_found");
    app.get("/spaces/nope", t)
        .await
        .expect_error(404, "not_found");
    app.patch("/messages/nope", t, json!({"text": "x"}))
        .await
        .expect_error(404, "not_found");
    app.get("/orgs/nope/tree", t)
        .await
        .expect_error(404, "not_found");
    app.get("/no/such/route", t)
        .await
        .expect_error(404, "not_found");
    app.delete("/me", t)
        .await
        .expect_error(405, "method_not_allowed");
    app.post(
        &format!("/channels/{}/members", "nope"),
        t,
        json!({"principal_id": "x"}),
    )
    .await
    .expect_error(404, "not_found");
    let (_, ch) = space_and_channel(&app, &org, false).await;
    app.post(
        &format!("/channels/{ch}/members"),
        t,
        json!({"principal_id": "ghost"}),
    )
    .await
    .expect_error(400, "unknown_principal");
    app.post(
        &format!("/orgs/{}/dms", org.id),
        t,
        json!({"principal_ids": ["ghost"]}),
    )
    .await
    .expect_error(400, "unknown_principal");
    // Names are unique.
    let dup = app
        .post(
            &format!("/orgs/{}/members", org.id),
            t,
            json!({"name": "OLIVIA", "email": "o2@acme.test", "password": "12345678"}),
        )
        .await;
    dup.expect_error(409, "conflict");
}

#[tokio::test]
async fn tokens_missing_wrong_revoked_or_expired_get_401_with_a_reason() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    app.call(Method::GET, "/me", None, None)
        .await
        .expect_error(401, "unauthenticated");
    app.get("/me", "octo_not-a-real-token")
        .await
        .expect_error(401, "invalid_token");
    let resp = app
        .http
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .expect("request");
    TestApp::answer(resp)
        .await
        .expect_error(401, "invalid_token");

    // A token made and then revoked.
    let made = app
        .post("/me/tokens", &org.owner_token, json!({"label": "ci"}))
        .await
        .expect(201);
    let secret = made["token"].as_str().expect("token").to_owned();
    app.get("/me", &secret).await.expect(200);
    let listed = app.get("/me/tokens", &org.owner_token).await.expect(200);
    assert!(
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|t| t["label"] == "ci")
    );
    app.delete(
        &format!("/me/tokens/{}", made["info"]["id"].as_str().expect("id")),
        &org.owner_token,
    )
    .await
    .expect(204);
    app.get("/me", &secret)
        .await
        .expect_error(401, "token_revoked");

    // An expired one, planted in the store as if time had passed.
    let expired = octo_server::password::new_token_secret();
    let past = octo_store::now() - chrono::Duration::hours(1);
    app.store
        .create_token(NewToken {
            id: octo_core::TokenId::generate(),
            principal_id: octo_core::PrincipalId::from_string(org.owner_id.clone()),
            secret_hash: octo_server::password::token_hash(&expired),
            label: "old".into(),
            created_at: past,
            expires_at: Some(past),
        })
        .await
        .expect("plant token");
    app.get("/me", &expired)
        .await
        .expect_error(401, "token_expired");

    // Logging out revokes the token used.
    let login = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": "olivia@acme.test", "password": "owner-pass-1"})),
        )
        .await
        .expect(200);
    let session = login["token"].as_str().expect("token");
    app.post("/auth/logout", session, json!(null))
        .await
        .expect(204);
    app.get("/me", session)
        .await
        .expect_error(401, "token_revoked");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = spawn_app().await;
    setup(&app).await;
    let login = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            let answer = app
                .call(
                    Method::POST,
                    "/auth/login",
                    None,
                    Some(json!({"email": email, "password": password})),
                )
                .await;
            (answer, started.elapsed())
        }
    };
    let (wrong_pw, _) = login("olivia@acme.test", "not-the-password").await;
    let (unknown, _) = login("nobody@acme.test", "not-the-password").await;
    let (garbage, _) = login("not an email", "x").await;
    for a in [&wrong_pw, &unknown, &garbage] {
        a.expect_error(401, "invalid_credentials");
    }
    assert_eq!(wrong_pw.body, unknown.body);
    assert_eq!(unknown.body, garbage.body);
    // Both paths do the same argon2 work (checked in password.rs); timing is
    // not asserted here because tests don't assert timings.
    let (ok, _) = login("OLIVIA@acme.test", "owner-pass-1").await;
    assert_eq!(ok.status, 200, "email is matched without regard to case");
}

#[tokio::test]
async fn rate_limits_are_per_principal_and_say_when_to_retry() {
    let config = ServerConfig {
        rate_limit: RateLimit {
            burst: 30,
            per_second: 0.5,
        },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let org = setup(&app).await;
    let (_, noisy) = add_agent(&app, &org, "noisy").await;
    let mut limited = None;
    for _ in 0..40 {
        let answer = app.get("/me", &noisy).await;
        if answer.status == 429 {
            limited = Some(answer);
            break;
        }
        assert_eq!(answer.status, 200);
    }
    let limited = limited.expect("the noisy agent hits its limit");
    limited.expect_error(429, "rate_limited");
    let retry: u64 = limited
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry >= 1);
    // The owner's bucket is untouched by the agent's noise.
    app.get("/me", &org.owner_token).await.expect(200);
}

#[tokio::test]
async fn login_attempts_are_throttled_per_address() {
    let config = ServerConfig {
        login_rate_limit: RateLimit {
            burst: 3,
            per_second: 0.01,
        },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    setup(&app).await; // one attempt spent
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let answer = app
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"email": "olivia@acme.test", "password": "guess-guess"})),
            )
            .await;
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
}
