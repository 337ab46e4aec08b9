//! Messages sent over the WebSocket (`send` frames), spoken by hand: each is
//! answered with the message the HTTP API would return, or with the HTTP API's
//! error code, in the order sent, and the session goes on either way.

mod common;

use common::ws::Ws;
use common::*;
use futures::SinkExt;
use octo_server::{RateLimit, ServerConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn busy_config() -> ServerConfig {
    ServerConfig {
        rate_limit: RateLimit {
            burst: 100_000,
            per_second: 100_000.0,
        },
        ..ServerConfig::default()
    }
}

fn send(reference: &str, channel: &str, text: &str) -> Value {
    json!({"type": "send", "ref": reference, "channel_id": channel, "text": text})
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

/// The top-level messages of a channel, oldest first.
async fn history(app: &TestApp, channel: &str, token: &str) -> Vec<Value> {
    app.get(&format!("/channels/{channel}/messages"), token)
        .await
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

#[tokio::test]
async fn a_send_is_answered_with_the_message_and_lands_in_history() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &ch, &bob_id).await;
    let (mut bob_ws, _) = Ws::hello(app.addr, &bob, None).await;

    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;
    ws.send(send("first", &ch, "hello over the socket")).await;
    let sent = ws.answer().await;
    assert_eq!(sent["type"], "sent", "{sent}");
    assert_eq!(sent["ref"], "first");
    assert_eq!(sent["replayed"], false);
    let message = &sent["message"];
    assert_eq!(message["text"], "hello over the socket");
    assert_eq!(message["channel_id"], json!(ch));
    assert_eq!(message["author_id"], json!(org.owner_id));
    let seq = message["seq"].as_u64().expect("a seq");

    // The same shape as the HTTP API's answer to the same send.
    let over_http = say(&app, &ch, &org.owner_token, "hello over HTTP").await;
    assert_eq!(keys(message), keys(&over_http));
    assert_eq!(over_http["seq"].as_u64(), Some(seq + 1));

    let items = history(&app, &ch, &bob).await;
    let found = items
        .iter()
        .find(|m| m["id"] == message["id"])
        .expect("the sent message is in history");
    assert_eq!(found["seq"].as_u64(), Some(seq));
    assert_eq!(found["text"], "hello over the socket");

    // Fanned out like any message.
    let events = bob_ws.events_until("message.created").await;
    let event = events.last().expect("an event");
    assert_eq!(event["payload"]["message"]["id"], message["id"]);
}

#[tokio::test]
async fn pipelined_sends_are_committed_and_answered_in_order() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    // Written back to back, without waiting for an answer in between.
    for (r, text) in [("a", "one"), ("b", "two"), ("c", "three")] {
        ws.socket
            .feed(Message::Text(send(r, &ch, text).to_string().into()))
            .await
            .expect("feed");
    }
    ws.socket.flush().await.expect("flush");

    let mut seqs = Vec::new();
    for r in ["a", "b", "c"] {
        let sent = ws.answer().await;
        assert_eq!(
            (sent["type"].as_str(), sent["ref"].as_str()),
            (Some("sent"), Some(r)),
            "{sent}"
        );
        seqs.push(sent["message"]["seq"].as_u64().expect("seq"));
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "increasing: {seqs:?}");
    let texts: Vec<Value> = history(&app, &ch, &org.owner_token)
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!("one"), json!("two"), json!("three")]);
}

#[tokio::test]
async fn a_repeated_client_msg_id_is_answered_as_replayed() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    let mut frame = send("1", &ch, "only once");
    frame["client_msg_id"] = json!("retry-me");
    ws.send(frame.clone()).await;
    let first = ws.answer().await;
    assert_eq!(
        (first["type"].clone(), first["replayed"].clone()),
        (json!("sent"), json!(false)),
        "{first}"
    );
    frame["ref"] = json!("2");
    ws.send(frame).await;
    let again = ws.answer().await;
    assert_eq!(
        (again["type"].clone(), again["ref"].clone()),
        (json!("sent"), json!("2")),
        "{again}"
    );
    assert_eq!(again["replayed"], true);
    assert_eq!(again["message"]["id"], first["message"]["id"]);
    assert_eq!(again["message"]["seq"], first["message"]["seq"]);

    // The same key over HTTP is the same message too: one path, one log.
    let http = app
        .post(
            &format!("/channels/{ch}/messages"),
            &org.owner_token,
            json!({"text": "only once", "client_msg_id": "retry-me"}),
        )
        .await;
    assert_eq!(
        http.headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(http.expect(201)["id"], first["message"]["id"]);
    assert_eq!(history(&app, &ch, &org.owner_token).await.len(), 1);
}

#[tokio::test]
async fn a_refused_send_gets_the_http_code_and_the_session_goes_on() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, private) = space_and_channel(&app, &org, true).await;
    let (_, open) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &open, &bob_id).await;
    let (mut ws, _) = Ws::hello(app.addr, &bob, None).await;

    // A private channel bob is not in.
    let http = app
        .post(
            &format!("/channels/{private}/messages"),
            &bob,
            json!({"text": "let me in"}),
        )
        .await;
    http.expect_error(404, "not_found");
    ws.send(send("in", &private, "let me in")).await;
    let err = ws.answer().await;
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["code"], http.code());
    assert_eq!(err["ref"], "in");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));

    // Text over the limit.
    let long = "x".repeat(16_001);
    let http = app
        .post(
            &format!("/channels/{open}/messages"),
            &bob,
            json!({ "text": long }),
        )
        .await;
    assert_eq!(http.status.as_u16(), 400);
    ws.send(send("long", &open, &long)).await;
    let err = ws.answer().await;
    assert_eq!(
        (
            err["type"].as_str(),
            err["code"].as_str(),
            err["ref"].as_str()
        ),
        (Some("error"), Some(http.code()), Some("long")),
        "{err}"
    );

    // The session goes on: pings are answered and sends still work.
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.answer().await["type"], "pong");
    ws.send(send("ok", &open, "still here")).await;
    let sent = ws.answer().await;
    assert_eq!(
        (sent["type"].as_str(), sent["ref"].as_str()),
        (Some("sent"), Some("ok")),
        "{sent}"
    );
    assert_eq!(
        history(&app, &open, &bob).await.len(),
        1,
        "only the good one"
    );
}

#[tokio::test]
async fn sends_spend_the_rate_limit_of_http_requests() {
    // Enough for the owner's setup; bob's bucket holds 5 and barely refills.
    let config = ServerConfig {
        rate_limit: RateLimit {
            burst: 5,
            per_second: 0.001,
        },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &ch, &bob_id).await;
    let (mut ws, _) = Ws::hello(app.addr, &bob, None).await;

    // Two requests over HTTP, then the sends spend what is left.
    say(&app, &ch, &bob, "http 1").await;
    say(&app, &ch, &bob, "http 2").await;
    for n in 0..5 {
        ws.send(send(&format!("s{n}"), &ch, "over the socket"))
            .await;
    }
    let mut answers = Vec::new();
    for _ in 0..5 {
        let a = ws.answer().await;
        answers.push((a["ref"].clone(), a["type"].clone(), a["code"].clone()));
    }
    assert_eq!(
        answers,
        [
            (json!("s0"), json!("sent"), Value::Null),
            (json!("s1"), json!("sent"), Value::Null),
            (json!("s2"), json!("sent"), Value::Null),
            (json!("s3"), json!("error"), json!("rate_limited")),
            (json!("s4"), json!("error"), json!("rate_limited")),
        ]
    );
    // One bucket: HTTP is refused now too.
    app.post(
        &format!("/channels/{ch}/messages"),
        &bob,
        json!({"text": "http 3"}),
    )
    .await
    .expect_error(429, "rate_limited");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.answer().await["type"], "pong");
}

#[tokio::test]
async fn malformed_sends_get_bad_frame_with_their_ref() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    ws.send(json!({"type": "send", "ref": "no-channel", "text": "where?"}))
        .await;
    let err = ws.answer().await;
    assert_eq!(
        (err["code"].as_str(), err["ref"].as_str()),
        (Some("bad_frame"), Some("no-channel")),
        "{err}"
    );
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("channel_id")),
        "says what is missing: {err}"
    );

    let too_long = "r".repeat(65);
    ws.send(send(&too_long, &ch, "hi")).await;
    let err = ws.answer().await;
    assert_eq!(err["code"], "bad_frame", "{err}");
    assert_eq!(err["ref"], json!(too_long));

    ws.send(json!({"type": "send", "ref": "", "channel_id": ch, "text": "hi"}))
        .await;
    assert_eq!(ws.answer().await["code"], "bad_frame");

    // A misspelt field is refused, as over HTTP.
    ws.send(json!({"type": "send", "ref": "typo", "channel_id": ch, "txt": "hi"}))
        .await;
    let err = ws.answer().await;
    assert_eq!(
        (err["code"].as_str(), err["ref"].as_str()),
        (Some("bad_frame"), Some("typo")),
        "{err}"
    );

    // No ref at all: still an answer, without one.
    ws.send(json!({"type": "send", "channel_id": ch, "text": "hi"}))
        .await;
    let err = ws.answer().await;
    assert_eq!(err["code"], "bad_frame");
    assert!(err.get("ref").is_none(), "{err}");

    // 64 characters is a good ref; nothing bad was posted.
    let longest = "r".repeat(64);
    ws.send(send(&longest, &ch, "fine")).await;
    let sent = ws.answer().await;
    assert_eq!(
        (sent["type"].as_str(), sent["ref"].as_str()),
        (Some("sent"), Some(longest.as_str())),
        "{sent}"
    );
    assert_eq!(history(&app, &ch, &org.owner_token).await.len(), 1);
}

#[tokio::test]
async fn a_flood_of_sends_is_bounded_and_every_send_is_answered() {
    const SENDS: usize = 400;
    let app = spawn_app_with(busy_config()).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    for n in 0..SENDS {
        ws.socket
            .feed(Message::Text(
                send(&n.to_string(), &ch, "flood").to_string().into(),
            ))
            .await
            .expect("feed");
    }
    ws.socket.flush().await.expect("flush");

    let (mut sent, mut refused) = (Vec::new(), Vec::new());
    let mut last_seq = 0;
    while sent.len() + refused.len() < SENDS {
        let a = ws.answer().await;
        let n: usize = a["ref"].as_str().expect("ref").parse().expect("a number");
        match a["type"].as_str() {
            Some("sent") => {
                let seq = a["message"]["seq"].as_u64().expect("seq");
                assert!(seq > last_seq, "committed in order");
                last_seq = seq;
                sent.push(n);
            }
            _ => {
                assert_eq!(a["code"], "too_many_in_flight", "{a}");
                refused.push(n);
            }
        }
    }
    assert!(
        sent.windows(2).all(|w| w[0] < w[1]),
        "answered in the order sent"
    );
    assert!(!refused.is_empty(), "a limit holds");
    assert!(
        sent.len() >= octo_server::realtime::send::MAX_PENDING_SENDS,
        "up to the limit waits: {}",
        sent.len()
    );
    let mut all: Vec<usize> = sent.iter().chain(&refused).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..SENDS).collect::<Vec<_>>(), "each answered once");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.answer().await["type"], "pong");
}

#[tokio::test]
async fn a_connection_that_follows_no_channel_can_still_send() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type": "hello", "token": org.owner_token, "channels": []}))
        .await;
    let ready = ws.frame().await;
    assert_eq!(ready["channels"], json!([]), "{ready}");

    ws.send(send("quiet", &ch, "sent, not received")).await;
    let sent = ws.answer().await;
    assert_eq!(sent["type"], "sent", "{sent}");
    say(&app, &ch, &org.owner_token, "over HTTP").await;
    ws.no_event_within(Duration::from_millis(300)).await;
}

/// Writes every frame, then flushes once: the sends arrive back to back.
async fn pipeline(ws: &mut Ws, frames: &[Value]) {
    for frame in frames {
        ws.socket
            .feed(Message::Text(frame.to_string().into()))
            .await
            .expect("feed");
    }
    ws.socket.flush().await.expect("flush");
}

#[tokio::test]
async fn fifty_pipelined_sends_commit_and_answer_in_order() {
    const SENDS: usize = 50;
    let app = spawn_app_with(busy_config()).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    let frames: Vec<Value> = (0..SENDS)
        .map(|n| send(&n.to_string(), &ch, &format!("m{n}")))
        .collect();
    pipeline(&mut ws, &frames).await;
    let mut ids = Vec::new();
    let mut last_seq = 0;
    for n in 0..SENDS {
        let a = ws.answer().await;
        assert_eq!(
            (a["type"].as_str(), a["ref"].as_str()),
            (Some("sent"), Some(n.to_string().as_str())),
            "{a}"
        );
        let seq = a["message"]["seq"].as_u64().expect("seq");
        assert!(seq > last_seq, "seqs increase in receive order: {a}");
        last_seq = seq;
        ids.push(a["message"]["id"].clone());
    }
    let items = app
        .get(
            &format!("/channels/{ch}/messages?after=0&limit=100"),
            &org.owner_token,
        )
        .await
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .clone();
    let texts: Vec<Value> = items.iter().map(|m| m["text"].clone()).collect();
    let expected: Vec<Value> = (0..SENDS).map(|n| json!(format!("m{n}"))).collect();
    assert_eq!(texts, expected, "history holds them in the order sent");
    let listed: Vec<Value> = items.iter().map(|m| m["id"].clone()).collect();
    assert_eq!(listed, ids);
}

#[tokio::test]
async fn two_pipelined_sends_with_one_client_msg_id_make_one_message() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    let mut first = send("1", &ch, "only once");
    first["client_msg_id"] = json!("pipelined");
    let mut second = first.clone();
    second["ref"] = json!("2");
    pipeline(&mut ws, &[first, second]).await;
    let a = ws.answer().await;
    let b = ws.answer().await;
    assert_eq!(
        (
            a["type"].as_str(),
            a["ref"].as_str(),
            a["replayed"].as_bool()
        ),
        (Some("sent"), Some("1"), Some(false)),
        "{a}"
    );
    assert_eq!(
        (
            b["type"].as_str(),
            b["ref"].as_str(),
            b["replayed"].as_bool()
        ),
        (Some("sent"), Some("2"), Some(true)),
        "{b}"
    );
    assert_eq!(a["message"]["id"], b["message"]["id"]);
    assert_eq!(history(&app, &ch, &org.owner_token).await.len(), 1);
}

#[tokio::test]
async fn refused_sends_in_a_pipeline_are_answered_in_their_place() {
    let app = spawn_app_with(busy_config()).await;
    let org = setup(&app).await;
    let (_, private) = space_and_channel(&app, &org, true).await;
    let (_, open) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &open, &bob_id).await;
    let (mut ws, _) = Ws::hello(app.addr, &bob, None).await;

    // Good sends to the open channel, every third one to a private channel
    // bob is not in.
    let plan: Vec<bool> = (0..12).map(|n| n % 3 != 1).collect();
    let frames: Vec<Value> = plan
        .iter()
        .enumerate()
        .map(|(n, good)| {
            let channel = if *good { &open } else { &private };
            send(&n.to_string(), channel, &format!("m{n}"))
        })
        .collect();
    pipeline(&mut ws, &frames).await;
    let mut last_seq = 0;
    for (n, good) in plan.iter().enumerate() {
        let a = ws.answer().await;
        assert_eq!(a["ref"], json!(n.to_string()), "in order: {a}");
        if *good {
            assert_eq!(a["type"], "sent", "{a}");
            let seq = a["message"]["seq"].as_u64().expect("seq");
            assert!(seq > last_seq, "committed in order: {a}");
            last_seq = seq;
        } else {
            assert_eq!(
                (a["type"].as_str(), a["code"].as_str()),
                (Some("error"), Some("not_found")),
                "{a}"
            );
        }
    }
    let texts: Vec<Value> = history(&app, &open, &bob)
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    let expected: Vec<Value> = plan
        .iter()
        .enumerate()
        .filter(|(_, good)| **good)
        .map(|(n, _)| json!(format!("m{n}")))
        .collect();
    assert_eq!(texts, expected);
    assert!(history(&app, &private, &org.owner_token).await.is_empty());
}

#[tokio::test]
async fn a_file_attached_twice_in_a_pipeline_is_refused_as_over_http() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/channels/{ch}/files")))
        .query(&[("name", "a.txt")])
        .bearer_auth(&org.owner_token)
        .body(b"hi".to_vec())
        .send()
        .await
        .expect("upload");
    let file = id(&TestApp::answer(resp).await.expect(201));
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    let mut frames = vec![
        send("a", &ch, "with the file"),
        send("b", &ch, "the file again"),
        send("c", &ch, "no file"),
    ];
    frames[0]["attachments"] = json!([file]);
    frames[1]["attachments"] = json!([file]);
    pipeline(&mut ws, &frames).await;
    let a = ws.answer().await;
    assert_eq!(
        (a["type"].as_str(), a["ref"].as_str()),
        (Some("sent"), Some("a")),
        "{a}"
    );
    assert_eq!(a["message"]["attachments"][0]["id"], json!(file));
    let b = ws.answer().await;
    assert_eq!(
        (b["type"].as_str(), b["code"].as_str(), b["ref"].as_str()),
        (Some("error"), Some("unknown_attachment"), Some("b")),
        "the code HTTP gives: {b}"
    );
    let c = ws.answer().await;
    assert_eq!(
        (c["type"].as_str(), c["ref"].as_str()),
        (Some("sent"), Some("c")),
        "{c}"
    );
    assert!(c["message"]["seq"].as_u64() > a["message"]["seq"].as_u64());
}

/// Events for a socket written to moments ago wait out the coalescing window
/// to share one write. Meanwhile the session goes on: a send is read,
/// committed and answered at once, ahead of the events still waiting, which
/// follow in seq order.
#[tokio::test]
async fn a_send_is_answered_while_events_wait_to_be_coalesced() {
    let mut config = busy_config();
    // Long enough that an answer held behind the window could not be mistaken
    // for one that was not.
    config.realtime.coalesce_ms = 1_500;
    let app = spawn_app_with(config).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;

    // A quiet socket is written at once: this event opens a window.
    let first = say(&app, &ch, &org.owner_token, "first").await;
    let event = ws.event().await;
    assert_eq!(event["payload"]["message"]["id"], first["id"]);
    // This one lands inside the window and waits.
    let held = say(&app, &ch, &org.owner_token, "held").await;

    ws.send(send("now", &ch, "sent while an event waits")).await;
    let frame = ws.reply().await;
    assert_eq!(
        frame["type"], "sent",
        "the answer came after the held event: {frame}"
    );
    assert_eq!(frame["ref"], "now");
    let sent = &frame["message"];

    // Then the held event and the sent message's own, in seq order.
    let held_event = ws.events_until("message.created").await.pop();
    let sent_event = ws.event().await;
    assert_eq!(
        held_event.expect("the held event")["payload"]["message"]["id"],
        held["id"]
    );
    assert_eq!(sent_event["payload"]["message"]["id"], sent["id"]);
}
