//! The send path reads tokens, channel permissions and member lists from a
//! cache: every change to them must still take effect on the very next request.

mod common;

use common::ws::Ws;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn post_to(ch: &str) -> String {
    format!("/channels/{ch}/messages")
}

/// A new agent in `ch` with a token of its own: (agent id, secret, token id).
async fn agent_with_token(app: &TestApp, org: &Org, ch: &str) -> (String, String, String) {
    let (agent_id, _) = add_agent(app, org, "bot").await;
    join(app, org, ch, &agent_id).await;
    let made = app
        .post(
            &format!("/agents/{agent_id}/tokens"),
            &org.owner_token,
            json!({"label": "ci"}),
        )
        .await
        .expect(201);
    let secret = made["token"].as_str().expect("token").to_owned();
    let token_id = made["info"]["id"].as_str().expect("id").to_owned();
    (agent_id, secret, token_id)
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_the_next_request() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, secret, token_id) = agent_with_token(&app, &org, &ch).await;
    // Used twice, so the second request is answered from the cache.
    say(&app, &ch, &secret, "one").await;
    say(&app, &ch, &secret, "two").await;
    app.delete(
        &format!("/agents/{agent_id}/tokens/{token_id}"),
        &org.owner_token,
    )
    .await
    .expect(204);
    app.post(&post_to(&ch), &secret, json!({"text": "three"}))
        .await
        .expect_error(401, "token_revoked");
    app.get("/me", &secret)
        .await
        .expect_error(401, "token_revoked");

    // Logging out ends the login token at once too.
    let (_, human) = add_human(&app, &org, "hana", "member").await;
    app.get("/me", &human).await.expect(200);
    app.get("/me", &human).await.expect(200);
    app.call(reqwest::Method::POST, "/auth/logout", Some(&human), None)
        .await
        .expect(204);
    app.get("/me", &human)
        .await
        .expect_error(401, "token_revoked");
}

#[tokio::test]
async fn a_removed_member_can_no_longer_post() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, true).await;
    let (agent_id, agent) = add_agent(&app, &org, "bot").await;
    join(&app, &org, &ch, &agent_id).await;
    say(&app, &ch, &agent, "hello").await;
    say(&app, &ch, &agent, "still here").await;
    app.delete(
        &format!("/channels/{ch}/members/{agent_id}"),
        &org.owner_token,
    )
    .await
    .expect(204);
    // A private channel the agent is no longer in: invisible to it.
    app.post(&post_to(&ch), &agent, json!({"text": "let me in"}))
        .await
        .expect_error(404, "not_found");
    // Added back, it may post again at once.
    join(&app, &org, &ch, &agent_id).await;
    say(&app, &ch, &agent, "back").await;
}

#[tokio::test]
async fn an_override_takes_effect_on_the_next_send() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (space, ch) = space_and_channel(&app, &org, false).await;
    let (pid, token) = add_human(&app, &org, "mia", "member").await;
    app.post(
        &format!("/spaces/{space}/members"),
        &org.owner_token,
        json!({"principal_id": pid}),
    )
    .await
    .expect(200);
    join(&app, &org, &ch, &pid).await;
    say(&app, &ch, &token, "first").await;
    say(&app, &ch, &token, "second").await;
    let deny = json!({"overrides": [
        {"target": {"kind": "principal", "id": pid}, "action": "post", "effect": "deny"}
    ]});
    app.put(&format!("/channels/{ch}/overrides"), &org.owner_token, deny)
        .await
        .expect(200);
    app.post(&post_to(&ch), &token, json!({"text": "third"}))
        .await
        .expect_error(403, "forbidden");
    app.put(
        &format!("/channels/{ch}/overrides"),
        &org.owner_token,
        json!({"overrides": []}),
    )
    .await
    .expect(200);
    say(&app, &ch, &token, "fourth").await;
}

/// The next trigger frame, or None when none comes within `wait`.
async fn trigger_within(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.try_frame(left).await {
            Ok(f) if f["type"] == "trigger" => return Some(f),
            Ok(_) => continue,
            Err(common::ws::Ended::TimedOut) => return None,
            Err(e) => panic!("connection ended: {e:?}"),
        }
    }
}

#[tokio::test]
async fn a_changed_trigger_policy_applies_to_the_next_message() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, agent) = add_agent(&app, &org, "eager").await;
    join(&app, &org, &ch, &agent_id).await; // policy: mention
    let (mut ws, _) = Ws::hello(app.addr, &agent, None).await;
    say(&app, &ch, &org.owner_token, "chatting without names").await;
    assert!(
        trigger_within(&mut ws, Duration::from_millis(300))
            .await
            .is_none()
    );
    // Same member, new policy: no membership event, still seen at once.
    app.post(
        &format!("/channels/{ch}/members"),
        &org.owner_token,
        json!({"principal_id": agent_id, "trigger": "all"}),
    )
    .await
    .expect(200);
    say(&app, &ch, &org.owner_token, "chatting on").await;
    let t = trigger_within(&mut ws, Duration::from_secs(10))
        .await
        .expect("a trigger for the new policy");
    assert_eq!(t["trigger"]["reason"], "all");
}

#[tokio::test]
async fn a_rate_limited_agent_gets_one_note_not_one_per_message() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, _) = add_agent(&app, &org, "busy").await;
    app.post(
        &format!("/channels/{ch}/members"),
        &org.owner_token,
        json!({"principal_id": agent_id, "trigger": "all"}),
    )
    .await
    .expect(201);
    app.patch(
        &format!("/channels/{ch}"),
        &org.owner_token,
        json!({"agent_triggers_per_minute": 2}),
    )
    .await
    .expect(200);
    for n in 0..8 {
        say(&app, &ch, &org.owner_token, &format!("message {n}")).await;
    }
    let events = app
        .get(
            &format!("/channels/{ch}/events?limit=500"),
            &org.owner_token,
        )
        .await
        .expect(200);
    let notes: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["kind"] == "agent.loop_guard")
        .collect();
    assert_eq!(notes.len(), 1, "one note for the whole episode: {notes:?}");
    assert_eq!(notes[0]["payload"]["reason"], "rate_limit");
    assert_eq!(notes[0]["payload"]["agent_ids"], json!([agent_id]));
}

#[tokio::test]
async fn revoking_a_token_closes_its_open_websockets() {
    use common::ws::{Ended, WAIT};
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, secret, token_id) = agent_with_token(&app, &org, &ch).await;
    let (mut revoked, _) = Ws::hello(app.addr, &secret, None).await;
    let (mut bystander, _) = Ws::hello(app.addr, &org.owner_token, None).await;
    app.delete(
        &format!("/agents/{agent_id}/tokens/{token_id}"),
        &org.owner_token,
    )
    .await
    .expect(204);
    let (ended, _) = revoked.until_end(WAIT).await;
    assert_eq!(
        ended,
        Ended::Closed(Some((4401, "token_revoked".to_owned())))
    );
    // Nobody else is cut off.
    say(&app, &ch, &org.owner_token, "still here").await;
    let events = bystander.events_until("message.created").await;
    let posted = events.last().expect("an event");
    assert_eq!(posted["payload"]["message"]["text"], "still here");

    // Logging out ends the sessions of the login token too.
    let (_, human) = add_human(&app, &org, "hana", "member").await;
    let (mut ws, _) = Ws::hello(app.addr, &human, None).await;
    app.call(reqwest::Method::POST, "/auth/logout", Some(&human), None)
        .await
        .expect(204);
    let (ended, _) = ws.until_end(WAIT).await;
    assert_eq!(
        ended,
        Ended::Closed(Some((4401, "token_revoked".to_owned())))
    );
}

#[tokio::test]
async fn a_websocket_closes_when_its_token_expires() {
    use common::ws::{Ended, WAIT};
    let app = spawn_app().await;
    let org = setup(&app).await;
    // A token good for three more seconds, planted in the store.
    let secret = octo_server::password::new_token_secret();
    app.store
        .create_token(octo_store::NewToken {
            id: octo_core::TokenId::generate(),
            principal_id: octo_core::PrincipalId::from_string(org.owner_id.clone()),
            secret_hash: octo_server::password::token_hash(&secret),
            label: "short".into(),
            created_at: octo_store::now(),
            expires_at: Some(octo_store::now() + chrono::Duration::seconds(3)),
        })
        .await
        .expect("plant token");
    let (mut ws, _) = Ws::hello(app.addr, &secret, None).await;
    // Alive until then.
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.answer().await["type"], "pong");
    let (ended, _) = ws.until_end(WAIT).await;
    assert_eq!(
        ended,
        Ended::Closed(Some((4401, "token_expired".to_owned())))
    );
}
