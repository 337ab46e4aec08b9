//! The story of a new team, as a user would live it: set up, build the
//! hierarchy, talk with a colleague and an agent, restart, and find it all —
//! on SQLite and on PostgreSQL with NATS.

#[macro_use]
mod common;

use common::*;
use serde_json::json;

on_both_backends!(a_new_team_sets_up_talks_restarts_and_keeps_everything);

async fn a_new_team_sets_up_talks_restarts_and_keeps_everything(app: TestApp) {
    let org = setup(&app).await;
    let owner = org.owner_token.clone();

    // The owner builds a space with a private channel.
    let space = app
        .post(
            &format!("/orgs/{}/spaces", org.id),
            &owner,
            json!({"name": "Engineering", "visibility": "open"}),
        )
        .await
        .expect(201);
    let space_id = id(&space);
    let category = app
        .post(
            &format!("/spaces/{space_id}/categories"),
            &owner,
            json!({"name": "Projects"}),
        )
        .await
        .expect(201);
    let channel = app
        .post(
            &format!("/spaces/{space_id}/channels"),
            &owner,
            json!({"name": "launch", "private": true, "category_id": id(&category), "topic": "Ship it"}),
        )
        .await
        .expect(201);
    let channel_id = id(&channel);
    assert_eq!(channel["private"], true);

    // A colleague and an agent join it.
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    let (scout_id, scout) = add_agent(&app, &org, "scout").await;
    for p in [&bob_id, &scout_id] {
        app.post(
            &format!("/channels/{channel_id}/members"),
            &owner,
            json!({"principal_id": p}),
        )
        .await
        .expect(201);
    }

    // Messages both ways, with a mention and a thread.
    let hello = app
        .post(
            &format!("/channels/{channel_id}/messages"),
            &owner,
            json!({"text": "Hello @bob and @scout"}),
        )
        .await
        .expect(201);
    assert_eq!(
        hello["mentions"]["principal_ids"],
        json!([bob_id, scout_id])
    );
    assert_eq!(hello["hop"], 0);
    let reply = app
        .post(
            &format!("/channels/{channel_id}/messages"),
            &bob,
            json!({"text": "hi!", "thread_id": id(&hello)}),
        )
        .await
        .expect(201);
    assert_eq!(reply["thread_id"], json!(id(&hello)));
    let agent_reply = app
        .post(
            &format!("/channels/{channel_id}/messages"),
            &scout,
            json!({"text": "On it.", "thread_id": id(&hello)}),
        )
        .await
        .expect(201);
    assert_eq!(
        agent_reply["hop"], 1,
        "an agent reply after a human one is hop 1"
    );

    // Everyone sees the same history.
    let top = app
        .get(&format!("/channels/{channel_id}/messages"), &scout)
        .await
        .expect(200);
    assert_eq!(top["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(top["items"][0]["reply_count"], 2);
    let thread = app
        .get(
            &format!("/channels/{channel_id}/threads/{}/messages", id(&hello)),
            &bob,
        )
        .await
        .expect(200);
    let texts: Vec<&str> = thread["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["Hello @bob and @scout", "hi!", "On it."]);

    let before = app
        .get(&format!("/channels/{channel_id}"), &owner)
        .await
        .expect(200);
    let last_seq = before["last_seq"].as_u64().expect("last_seq");

    // Restart on the same data directory (or schema).
    let app = app.restart().await;

    // Tokens still work, the tree is intact, and seq continues with no gap.
    let me = app.get("/me", &bob).await.expect(200);
    assert_eq!(me["principal"]["name"], "bob");
    let tree = app
        .get(&format!("/orgs/{}/tree", org.id), &owner)
        .await
        .expect(200);
    assert_eq!(tree["spaces"][0]["name"], "Engineering");
    assert_eq!(
        tree["spaces"][0]["categories"][0]["channels"][0]["id"],
        json!(channel_id)
    );
    let after = app
        .post(
            &format!("/channels/{channel_id}/messages"),
            &bob,
            json!({"text": "still here?"}),
        )
        .await
        .expect(201);
    assert_eq!(after["seq"].as_u64(), Some(last_seq + 1));
    let events = app
        .get(&format!("/channels/{channel_id}/events?limit=500"), &owner)
        .await
        .expect(200);
    let seqs: Vec<u64> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert_eq!(
        seqs,
        (1..=last_seq + 1).collect::<Vec<_>>(),
        "the log is gapless across the restart"
    );
    let thread = app
        .get(
            &format!("/channels/{channel_id}/threads/{}/messages", id(&hello)),
            &scout,
        )
        .await
        .expect(200);
    assert_eq!(thread["items"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn setup_happens_once() {
    let app = spawn_app().await;
    setup(&app).await;
    let again = app
        .call(
            reqwest::Method::POST,
            "/setup",
            None,
            Some(json!({"org_name": "Evil", "name": "mallory", "email": "m@evil.test", "password": "12345678"})),
        )
        .await;
    again.expect_error(409, "conflict");
}

#[tokio::test]
async fn health_and_openapi_are_served() {
    let app = spawn_app().await;
    let health = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let doc: serde_json::Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/api/v1/setup",
        "/api/v1/channels/{id}/messages",
        "/api/v1/orgs/{org}/tree",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}
