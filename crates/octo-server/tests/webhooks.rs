//! An agent reached by webhook: signed, retried until it gets through, each
//! event once per id, replies posted back, dead letters replayable.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use octo_client::webhook::{DEFAULT_TOLERANCE_SECS, VerifyError, verify};
use octo_server::{AgentsConfig, ServerConfig};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the receiver saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    event_id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
    answered: u16,
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Fail this many requests before succeeding (u32::MAX: always fail).
    fail_first: Arc<Mutex<u32>>,
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let fail = {
        let mut left = r.fail_first.lock().expect("lock");
        if *left > 0 {
            *left = left.saturating_sub(1);
            true
        } else {
            false
        }
    };
    let status = if fail { 500 } else { 200 };
    r.seen.lock().expect("lock").push(Seen {
        event_id: header("x-octo-event-id"),
        timestamp: header("x-octo-timestamp"),
        signature: header("x-octo-signature"),
        body,
        answered: status,
    });
    let reply = if fail {
        String::new()
    } else {
        json!({"text": "on it"}).to_string()
    };
    (StatusCode::from_u16(status).expect("status"), reply)
}

async fn receiver(fail_first: u32) -> (String, Receiver) {
    let r = Receiver {
        seen: Arc::new(Mutex::new(Vec::new())),
        fail_first: Arc::new(Mutex::new(fail_first)),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, r)
}

fn fast(max_attempts: u32) -> ServerConfig {
    ServerConfig {
        agents: AgentsConfig {
            webhook_retry_base_ms: 50,
            webhook_max_attempts: max_attempts,
            ..AgentsConfig::default()
        },
        ..ServerConfig::default()
    }
}

/// Waits (bounded: 20 s, generous for a loaded CI machine) until `done` holds
/// for what the receiver saw.
async fn until(r: &Receiver, done: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
    for _ in 0..400 {
        let seen = r.seen.lock().expect("lock").clone();
        if done(&seen) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the receiver never saw what was expected: {:?}",
        r.seen.lock().expect("lock")
    );
}

#[tokio::test]
async fn deliveries_retry_until_they_get_through_once_per_event_and_verify() {
    let app = spawn_app_with(fast(9)).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, _) = add_agent(&app, &org, "hooky").await;
    join(&app, &org, &ch, &agent_id).await;
    let (url, r) = receiver(3).await;
    let hook = app
        .put(
            &format!("/agents/{agent_id}/webhook"),
            &org.owner_token,
            json!({"url": url}),
        )
        .await
        .expect(200);
    let secret = hook["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let again = app
        .get(&format!("/agents/{agent_id}/webhook"), &org.owner_token)
        .await
        .expect(200);
    assert!(
        again.get("secret").is_none(),
        "the secret is never shown again"
    );

    let first = say(&app, &ch, &org.owner_token, "@hooky first job").await;
    let second = say(&app, &ch, &org.owner_token, "@hooky second job").await;
    let seen = until(&r, |s| s.iter().filter(|x| x.answered == 200).count() == 2).await;

    // Three failures, then success; every attempt of an event has the same id.
    assert_eq!(seen.iter().filter(|x| x.answered == 500).count(), 3);
    let delivered: Vec<&Seen> = seen.iter().filter(|x| x.answered == 200).collect();
    let mut ids: Vec<&str> = delivered.iter().map(|x| x.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        2,
        "each event delivered exactly once per event id"
    );
    for attempt in &seen {
        let body: Value = serde_json::from_slice(&attempt.body).expect("json");
        assert_eq!(body["type"], "trigger");
        assert_eq!(body["trigger"]["id"], json!(attempt.event_id));
        let now = chrono::Utc::now().timestamp();
        assert_eq!(
            verify(
                &secret,
                &attempt.timestamp,
                &attempt.signature,
                &attempt.body,
                now,
                DEFAULT_TOLERANCE_SECS
            ),
            Ok(())
        );
    }
    let messages: Vec<&Value> = [&first, &second].into_iter().collect();
    for (m, d) in messages.iter().zip(&delivered) {
        let body: Value = serde_json::from_slice(&d.body).expect("json");
        assert!(
            messages
                .iter()
                .any(|x| x["id"] == body["trigger"]["message_id"]),
            "{m}"
        );
    }
    // Tampering and staleness are caught by the verify helper.
    let d = delivered[0];
    let mut tampered = d.body.to_vec();
    tampered.extend_from_slice(b" ");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        verify(
            &secret,
            &d.timestamp,
            &d.signature,
            &tampered,
            now,
            DEFAULT_TOLERANCE_SECS
        ),
        Err(VerifyError::Mismatch)
    );
    assert!(matches!(
        verify(
            &secret,
            &d.timestamp,
            &d.signature,
            &d.body,
            now + 3_600,
            DEFAULT_TOLERANCE_SECS
        ),
        Err(VerifyError::Stale(_))
    ));

    // The receiver's answer became the agent's reply, in the thread.
    let mut replies = Vec::new();
    for _ in 0..100 {
        let thread = app
            .get(
                &format!(
                    "/channels/{ch}/threads/{}/messages",
                    first["id"].as_str().expect("id")
                ),
                &org.owner_token,
            )
            .await
            .expect(200);
        replies = thread["items"]
            .as_array()
            .expect("items")
            .iter()
            .skip(1)
            .cloned()
            .collect();
        if !replies.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(replies.len(), 1);
    assert_eq!(
        (replies[0]["text"].clone(), replies[0]["author_id"].clone()),
        (json!("on it"), json!(agent_id))
    );

    let listed = app
        .get(
            &format!("/agents/{agent_id}/webhook/deliveries?status=delivered"),
            &org.owner_token,
        )
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn dead_letters_are_listed_and_can_be_replayed() {
    let app = spawn_app_with(fast(2)).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, _) = add_agent(&app, &org, "down").await;
    join(&app, &org, &ch, &agent_id).await;
    let (url, r) = receiver(u32::MAX).await;
    app.put(
        &format!("/agents/{agent_id}/webhook"),
        &org.owner_token,
        json!({"url": url}),
    )
    .await
    .expect(200);
    say(&app, &ch, &org.owner_token, "@down are you there?").await;
    until(&r, |s| s.len() == 2).await;
    let mut dead = Value::Null;
    for _ in 0..100 {
        dead = app
            .get(
                &format!("/agents/{agent_id}/webhook/deliveries?status=dead"),
                &org.owner_token,
            )
            .await
            .expect(200);
        if dead["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let entry = dead["items"][0].clone();
    assert_eq!(entry["attempts"], 2);
    assert!(
        entry["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500"))
    );

    // The receiver recovers; the owner replays the dead letter.
    *r.fail_first.lock().expect("lock") = 0;
    let replayed = app
        .post(
            &format!(
                "/agents/{agent_id}/webhook/deliveries/{}/replay",
                entry["id"].as_str().expect("id")
            ),
            &org.owner_token,
            json!(null),
        )
        .await
        .expect(200);
    assert_eq!(replayed["status"], "pending");
    let seen = until(&r, |s| s.iter().any(|x| x.answered == 200)).await;
    let ids: Vec<&str> = seen.iter().map(|x| x.event_id.as_str()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one event, the same id on every attempt"
    );

    // Bad input and strangers.
    app.put(
        &format!("/agents/{agent_id}/webhook"),
        &org.owner_token,
        json!({"url": "ftp://x"}),
    )
    .await
    .expect_error(400, "invalid_url");
    let (_, stranger) = add_human(&app, &org, "stranger", "member").await;
    app.get(&format!("/agents/{agent_id}/webhook/deliveries"), &stranger)
        .await
        .expect_error(403, "forbidden");
    app.get(
        &format!("/agents/{agent_id}/webhook/deliveries?status=lost"),
        &org.owner_token,
    )
    .await
    .expect_error(400, "invalid_status");
}
