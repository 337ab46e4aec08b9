//! The WebSocket gateway and long-poll, spoken by hand: ordering, resume at any
//! distance, membership taking effect at once, slow consumers, bad frames,
//! presence and typing.

#[macro_use]
mod common;

use common::ws::{Ended, WAIT, Ws};
use common::*;
use octo_server::{RateLimit, RealtimeConfig, ServerConfig};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["kind"].as_str()).collect()
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().filter_map(|e| e["seq"].as_u64()).collect()
}

fn busy_config() -> ServerConfig {
    ServerConfig {
        rate_limit: RateLimit {
            burst: 100_000,
            per_second: 100_000.0,
        },
        ..ServerConfig::default()
    }
}

on_both_backends!(members_see_each_others_changes_in_order_and_outsiders_see_nothing);

async fn members_see_each_others_changes_in_order_and_outsiders_see_nothing(app: TestApp) {
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, true).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    let (_, eve) = add_human(&app, &org, "eve", "member").await;
    join(&app, &org, &ch, &bob_id).await;

    let (mut owner_ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;
    let (mut bob_ws, ready) = Ws::hello(app.addr, &bob, None).await;
    assert!(
        ready["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .any(|c| c["channel_id"] == json!(ch))
    );
    let (mut eve_ws, eve_ready) = Ws::hello(app.addr, &eve, None).await;
    assert!(
        !eve_ready.to_string().contains(&ch),
        "an outsider is not even told the private channel exists"
    );

    let m = say(&app, &ch, &bob, "hello").await;
    let mid = id(&m);
    app.patch(&format!("/messages/{mid}"), &bob, json!({"text": "hello!"}))
        .await
        .expect(200);
    app.put(
        &format!("/messages/{mid}/reactions/🎉"),
        &org.owner_token,
        json!(null),
    )
    .await
    .expect(200);
    app.delete(&format!("/messages/{mid}"), &bob)
        .await
        .expect(204);

    let expected = [
        "message.created",
        "message.edited",
        "reaction.added",
        "message.deleted",
    ];
    for ws in [&mut owner_ws, &mut bob_ws] {
        // The owner's server-side cursor is from before bob joined: it also
        // gets bob's `member.joined` first.
        let events: Vec<Value> = ws
            .events_until("message.deleted")
            .await
            .into_iter()
            .filter(|e| e["kind"] != "member.joined")
            .collect();
        assert_eq!(kinds(&events), expected);
        let s = seqs(&events);
        assert!(
            s.windows(2).all(|w| w[1] == w[0] + 1),
            "consecutive seqs: {s:?}"
        );
        assert_eq!(events[0]["payload"]["message"]["text"], "hello");
        assert!(
            events
                .iter()
                .all(|e| e["channel_id"] == json!(ch) && e["id"].is_string())
        );
    }
    eve_ws.no_event_within(Duration::from_millis(300)).await;
}

on_both_backends!(
    a_client_that_was_away_gets_exactly_what_it_missed,
    busy_config()
);

async fn a_client_that_was_away_gets_exactly_what_it_missed(app: TestApp) {
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &ch, &bob_id).await;

    let (mut ws, _) = Ws::hello(app.addr, &bob, None).await;
    let first = say(&app, &ch, &org.owner_token, "before").await;
    let seen = ws.event().await;
    assert_eq!(seen["seq"], first["seq"]);
    drop(ws);

    let mut sent = Vec::new();
    for n in 0..500 {
        sent.push(
            say(&app, &ch, &org.owner_token, &format!("m{n}")).await["seq"]
                .as_u64()
                .expect("seq"),
        );
    }
    // Back after the restart, with the cursor it kept.
    let app = app.restart().await;
    let cursor = seen["seq"].as_u64().expect("seq");
    let (mut ws, ready) = Ws::hello(app.addr, &bob, Some(json!({ ch.clone(): cursor }))).await;
    let entry = ready["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["channel_id"] == json!(ch))
        .cloned()
        .expect("channel in ready");
    assert_eq!(entry["from_seq"].as_u64(), Some(cursor));
    let mut got = Vec::new();
    while got.len() < 500 {
        got.push(ws.event().await);
    }
    assert_eq!(seqs(&got), sent);
    assert!(
        got.iter()
            .enumerate()
            .all(|(n, e)| e["payload"]["message"]["text"] == json!(format!("m{n}")))
    );
    // And then it is live, with no duplicate at the seam.
    let live = say(&app, &ch, &org.owner_token, "live").await;
    assert_eq!(ws.event().await["seq"], live["seq"]);
    ws.no_event_within(Duration::from_millis(200)).await;
}

on_both_backends!(server_side_cursors_resume_after_acks);

async fn server_side_cursors_resume_after_acks(app: TestApp) {
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, agent) = add_agent(&app, &org, "worker").await;
    join(&app, &org, &ch, &agent_id).await;
    let (mut ws, _) = Ws::hello(app.addr, &agent, None).await;
    let a = say(&app, &ch, &org.owner_token, "task 1").await;
    let e = ws.event().await;
    assert_eq!(e["seq"], a["seq"]);
    ws.send(json!({"type": "ack", "cursors": { ch.clone(): e["seq"] }}))
        .await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.reply().await["type"], "pong");
    drop(ws);
    let b = say(&app, &ch, &org.owner_token, "task 2").await;
    // No cursors in hello: the server's own (acked) cursor is used.
    let (mut ws, _) = Ws::hello(app.addr, &agent, None).await;
    let next = ws.event().await;
    assert_eq!(
        next["seq"], b["seq"],
        "resumes right after the ack, nothing repeated"
    );
}

#[tokio::test]
async fn membership_changes_take_effect_at_once() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, true).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    let (mut ws, _) = Ws::hello(app.addr, &bob, None).await;

    say(&app, &ch, &org.owner_token, "before bob").await;
    join(&app, &org, &ch, &bob_id).await;
    // Bob's session is told and starts with his own join.
    let sub = loop {
        let f = ws.frame().await;
        if f["type"] == "subscribed" {
            break f;
        }
    };
    assert_eq!(sub["channel_id"], json!(ch));
    let joined = ws.event().await;
    assert_eq!(
        (
            joined["kind"].clone(),
            joined["payload"]["principal_id"].clone()
        ),
        (json!("member.joined"), json!(bob_id))
    );
    say(&app, &ch, &org.owner_token, "welcome").await;
    assert_eq!(ws.event().await["payload"]["message"]["text"], "welcome");

    app.delete(
        &format!("/channels/{ch}/members/{bob_id}"),
        &org.owner_token,
    )
    .await
    .expect(204);
    let left = ws.event().await;
    assert_eq!(left["kind"], "member.left");
    say(&app, &ch, &org.owner_token, "after bob").await;
    ws.no_event_within(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn override_changes_hide_a_channel_from_live_sessions() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (_, guest_like) = add_human(&app, &org, "mia", "member").await;
    let (mut ws, _) = Ws::hello(app.addr, &guest_like, None).await;
    say(&app, &ch, &org.owner_token, "visible").await;
    assert_eq!(ws.event().await["payload"]["message"]["text"], "visible");
    app.put(
        &format!("/channels/{ch}/overrides"),
        &org.owner_token,
        json!({"overrides": [{"target": {"kind": "role", "id": "member"}, "action": "read", "effect": "deny"}]}),
    )
    .await
    .expect(200);
    let gone = loop {
        let f = ws.frame().await;
        if f["type"] == "unsubscribed" {
            break f;
        }
    };
    assert_eq!(gone["channel_id"], json!(ch));
    say(&app, &ch, &org.owner_token, "hidden").await;
    ws.no_event_within(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_consumer_that_stops_reading_is_cut_off_and_resumes_with_nothing_lost() {
    let config = ServerConfig {
        realtime: RealtimeConfig {
            send_queue: 16,
            send_timeout_ms: 500,
            ..RealtimeConfig::default()
        },
        ..busy_config()
    };
    let app = spawn_app_with(config).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &ch, &bob_id).await;
    let (_fast_ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;
    let (mut slow, _) = Ws::hello(app.addr, &bob, None).await;

    // Big messages fill the socket buffers of a client that does not read.
    let big = "x".repeat(15_000);
    let mut sent = Vec::new();
    for _ in 0..600 {
        sent.push(
            say(&app, &ch, &org.owner_token, &big).await["seq"]
                .as_u64()
                .expect("seq"),
        );
    }
    // Meanwhile everyone else is served normally.
    let newest = sent.last().copied().unwrap_or(0);
    let (mut other, _) = Ws::hello(
        app.addr,
        &org.owner_token,
        Some(json!({ ch.clone(): newest })),
    )
    .await;
    let ping_seq = say(&app, &ch, &org.owner_token, "still fast").await["seq"].clone();
    assert_eq!(other.event().await["seq"], ping_seq);
    sent.push(ping_seq.as_u64().expect("seq"));

    let (ended, seen) = slow.until_end(WAIT).await;
    match &ended {
        Ended::Closed(Some((code, reason))) => {
            assert_eq!(*code, 4409);
            assert!(reason.starts_with("slow_consumer"), "{reason}");
        }
        Ended::Closed(None) | Ended::Error(_) => {} // cut before the close frame fit
        Ended::TimedOut => panic!("the slow consumer was never cut off"),
    }
    assert!(
        seen.len() < sent.len(),
        "it was cut off before getting everything"
    );
    let last = seen.last().and_then(|e| e["seq"].as_u64()).unwrap_or(0);
    let (mut again, _) = Ws::hello(app.addr, &bob, Some(json!({ ch.clone(): last }))).await;
    let mut rest = Vec::new();
    while rest.last().copied() != sent.last().copied() {
        rest.push(again.event().await["seq"].as_u64().expect("seq"));
    }
    let mut all: Vec<u64> = seqs(&seen);
    all.extend(rest);
    assert_eq!(all, sent, "nothing lost, nothing doubled");
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_server_keeps_serving() {
    let config = ServerConfig {
        realtime: RealtimeConfig {
            hello_timeout_ms: 300,
            ..RealtimeConfig::default()
        },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mut watcher, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    // Before hello.
    let mut ws = Ws::connect(app.addr).await;
    ws.send_raw(Message::Text("not json".into())).await;
    assert!(matches!(
        ws.try_frame(WAIT).await,
        Err(Ended::Closed(Some((4400, _))))
    ));
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type": "hello", "token": "octo_bogus"}))
        .await;
    assert_eq!(
        ws.try_frame(WAIT).await,
        Err(Ended::Closed(Some((4401, "invalid_token".into()))))
    );
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type": "hello"})).await;
    assert!(matches!(
        ws.try_frame(WAIT).await,
        Err(Ended::Closed(Some((4401, _))))
    ));
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type": "hello", "token": org.owner_token, "cursors": {"x": "not a number"}}))
        .await;
    assert!(matches!(
        ws.try_frame(WAIT).await,
        Err(Ended::Closed(Some((4400, _))))
    ));
    let mut ws = Ws::connect(app.addr).await;
    assert!(matches!(
        ws.try_frame(WAIT).await,
        Err(Ended::Closed(Some((4408, _))))
    ));

    // After hello: errors, and the session goes on.
    let (mut ws, _) = Ws::hello(
        app.addr,
        &org.owner_token,
        Some(json!({"0192e1f0-0000-7000-8000-000000000000": 3, ch.clone(): 999_999})),
    )
    .await;
    let mut codes = vec![
        ws.reply().await["code"].clone(),
        ws.reply().await["code"].clone(),
    ];
    codes.sort_by_key(|c| c.to_string());
    assert_eq!(codes, [json!("cursor_ahead"), json!("unknown_channel")]);
    ws.send_raw(Message::Text("{oops".into())).await;
    assert_eq!(ws.reply().await["code"], "bad_frame");
    ws.send(json!({"type": "shout"})).await;
    assert_eq!(ws.reply().await["code"], "bad_frame");
    ws.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    assert_eq!(ws.reply().await["code"], "bad_frame");
    ws.send(json!({"type": "typing", "channel_id": "nope"}))
        .await;
    assert_eq!(ws.reply().await["code"], "unknown_channel");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.reply().await["type"], "pong");
    // Oversize: closed with 1009.
    ws.send_raw(Message::Text("x".repeat(70_000).into())).await;
    let (ended, _) = ws.until_end(WAIT).await;
    assert!(
        matches!(
            ended,
            Ended::Closed(Some((1009, _))) | Ended::Closed(None) | Ended::Error(_)
        ),
        "{ended:?}"
    );

    // Through all of that, others were served.
    let m = say(&app, &ch, &org.owner_token, "all fine").await;
    assert_eq!(watcher.event().await["seq"], m["seq"]);
}

#[tokio::test]
async fn bearer_header_authenticates_the_upgrade() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{}/api/v1/ws", app.addr),
    )
    .expect("request");
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", org.owner_token)
            .parse()
            .expect("header"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    let mut ws = Ws { socket };
    ws.send(json!({"type": "hello"})).await;
    assert_eq!(ws.frame().await["type"], "ready");
}

#[tokio::test]
async fn presence_and_typing_reach_others_but_not_the_log() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &ch, &bob_id).await;
    let (mut owner_ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;
    let (mut bob_ws, _) = Ws::hello(app.addr, &bob, None).await;

    let online = loop {
        let f = owner_ws.frame().await;
        if f["type"] == "presence" && f["principal_id"] == json!(bob_id) {
            break f;
        }
    };
    assert_eq!(online["status"], "online");
    let list = app
        .get(&format!("/orgs/{}/presence", org.id), &org.owner_token)
        .await
        .expect(200);
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|p| p["principal_id"] == json!(bob_id))
    );

    bob_ws
        .send(json!({"type": "typing", "channel_id": ch}))
        .await;
    let typing = loop {
        let f = owner_ws.frame().await;
        if f["type"] == "typing" {
            break f;
        }
    };
    assert_eq!(
        (typing["channel_id"].clone(), typing["principal_id"].clone()),
        (json!(ch), json!(bob_id))
    );

    bob_ws
        .send(json!({"type": "presence", "status": "away"}))
        .await;
    let away = loop {
        let f = owner_ws.frame().await;
        if f["type"] == "presence" && f["status"] == "away" {
            break f;
        }
    };
    assert_eq!(away["principal_id"], json!(bob_id));
    drop(bob_ws);
    let offline = loop {
        let f = owner_ws.frame().await;
        if f["type"] == "presence" && f["status"] == "offline" {
            break f;
        }
    };
    assert_eq!(offline["principal_id"], json!(bob_id));
    // None of it is in the channel's log.
    let log = app
        .get(&format!("/channels/{ch}/events"), &org.owner_token)
        .await
        .expect(200);
    assert!(
        log["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["kind"] != "typing")
    );
}

#[tokio::test]
async fn long_poll_waits_for_events_and_repeats_them_until_acked() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, agent) = add_agent(&app, &org, "poller").await;
    join(&app, &org, &ch, &agent_id).await;

    let empty = app.get("/events?wait=0", &agent).await.expect(200);
    assert_eq!(empty["items"], json!([]));
    let poll = {
        let (app_addr, agent) = (app.addr, agent.clone());
        tokio::spawn(async move {
            let resp = reqwest::Client::new()
                .get(format!("http://{app_addr}/api/v1/events?wait=20"))
                .bearer_auth(agent)
                .send()
                .await
                .expect("poll");
            resp.json::<Value>().await.expect("json")
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let m = say(&app, &ch, &org.owner_token, "wake up").await;
    let got = tokio::time::timeout(WAIT, poll)
        .await
        .expect("poll returned")
        .expect("task");
    assert_eq!(got["items"][0]["seq"], m["seq"]);
    assert_eq!(got["items"][0]["type"], "event");
    // Not acked: it comes again.
    let again = app.get("/events", &agent).await.expect(200);
    assert_eq!(again["items"][0]["seq"], m["seq"]);
    let acked = app
        .post(
            "/events/ack",
            &agent,
            json!({"cursors": { ch.clone(): m["seq"] }}),
        )
        .await
        .expect(200);
    assert_eq!(acked["cursors"][&ch], m["seq"]);
    assert_eq!(
        app.get("/events", &agent).await.expect(200)["items"],
        json!([])
    );
    // Bad input.
    app.get("/events?wait=1000", &agent)
        .await
        .expect_error(400, "invalid_wait");
    app.post("/events/ack", &agent, json!({"cursors": {"nope": 1}}))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn shutdown_tells_websocket_clients_to_go() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;
    let _app = app.restart().await;
    let (ended, _) = ws.until_end(WAIT).await;
    assert_eq!(
        ended,
        Ended::Closed(Some((
            1001,
            "server shutting down; reconnect to resume".into()
        )))
    );
}

#[tokio::test]
async fn hello_can_name_its_channels_and_acks_are_judged_per_channel() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, wanted) = space_and_channel(&app, &org, false).await;
    let (_, other) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &wanted, &bob_id).await;
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type": "hello", "token": bob, "channels": [wanted]}))
        .await;
    let ready = ws.frame().await;
    let listed: Vec<&Value> = ready["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| &c["channel_id"])
        .collect();
    assert_eq!(listed, [&json!(wanted)]);
    say(&app, &other, &org.owner_token, "elsewhere").await;
    let m = say(&app, &wanted, &org.owner_token, "here").await;
    let e = ws.event().await;
    assert_eq!(e["seq"], m["seq"]);
    assert_eq!(e["channel_id"], json!(wanted));

    ws.send(json!({"type": "ack", "cursors": { wanted.clone(): m["seq"], other.clone(): 1 }}))
        .await;
    let err = ws.reply().await;
    assert_eq!(
        (err["code"].clone(), err["channel_id"].clone()),
        (json!("unknown_channel"), json!(other))
    );
    let members = app
        .get(&format!("/channels/{wanted}/members"), &bob)
        .await
        .expect(200);
    let me = members["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["principal_id"] == json!(bob_id))
        .cloned()
        .expect("bob");
    assert_eq!(
        me["acked_seq"], m["seq"],
        "the good ack was stored despite the bad one"
    );
}
