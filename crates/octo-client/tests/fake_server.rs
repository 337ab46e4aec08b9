//! The subscription against a scripted WebSocket server, for what a real server
//! does not do on demand: leave a gap, repeat events, fall silent, refuse.

use futures::{SinkExt, StreamExt};
use octo_client::{Client, ClientError, Frame, SubscribeOptions};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const WAIT: Duration = Duration::from_secs(10);

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn accept(listener: &TcpListener) -> (Ws, Value) {
    let (tcp, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("a connection in time")
        .expect("accept");
    let mut ws = tokio_tungstenite::accept_async(tcp)
        .await
        .expect("handshake");
    let hello = loop {
        match ws.next().await.expect("hello").expect("hello") {
            Message::Text(t) => break serde_json::from_str::<Value>(&t).expect("json"),
            _ => continue,
        }
    };
    (ws, hello)
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

fn ready(from: u64, last: u64) -> Value {
    json!({"type": "ready", "principal_id": "p1", "session_id": 1,
        "channels": [{"channel_id": "c1", "from_seq": from, "last_seq": last}]})
}

fn event(seq: u64) -> Value {
    json!({"type": "event", "id": format!("e{seq}"), "channel_id": "c1", "seq": seq,
        "kind": "message.created", "at": "2025-01-01T00:00:00Z", "actor": "p2",
        "payload": {"message": {"text": format!("m{seq}")}}})
}

async fn next(sub: &mut octo_client::Subscription) -> Option<octo_client::Result<Frame>> {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("a frame in time")
}

/// The next event's seq, skipping other frames; the reconnect reasons seen.
async fn next_seq(sub: &mut octo_client::Subscription, reasons: &mut Vec<String>) -> u64 {
    loop {
        match next(sub).await {
            Some(Ok(Frame::Event(e))) => return e.seq,
            Some(Ok(Frame::Reconnecting { reason, .. })) => reasons.push(reason),
            Some(Ok(_)) => {}
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn gaps_repeats_silence_and_refusal() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        // 1: two events, then a gap (3 is missing).
        let (mut ws, hello) = accept(&listener).await;
        assert_eq!(hello["type"], "hello");
        assert_eq!(hello["token"], "octo_t");
        send(&mut ws, ready(0, 4)).await;
        for seq in [1, 2, 4] {
            send(&mut ws, event(seq)).await;
        }
        // 2: the client resumes after 2; this server repeats 2, fills 3, then
        //    falls silent (no pings either).
        let (mut ws2, hello) = accept(&listener).await;
        assert_eq!(hello["cursors"], json!({"c1": 2}));
        send(&mut ws2, ready(2, 4)).await;
        for seq in [2, 3, 4] {
            send(&mut ws2, event(seq)).await;
        }
        // 3: resumes after 4; the token is refused.
        let (mut ws3, hello) = accept(&listener).await;
        assert_eq!(hello["cursors"], json!({"c1": 4}));
        ws3.send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(4401),
            reason: "token_revoked".into(),
        })))
        .await
        .expect("close");
        drop((ws, ws2));
    });

    let options = SubscribeOptions {
        idle_timeout: Duration::from_millis(400),
        ..SubscribeOptions::default()
    };
    let mut sub = Client::new(&url, Some("octo_t".into()))
        .subscribe(options)
        .await
        .expect("subscribe");
    assert!(matches!(
        next(&mut sub).await,
        Some(Ok(Frame::Ready { .. }))
    ));
    let mut reasons = Vec::new();
    let mut seqs = Vec::new();
    for _ in 0..4 {
        seqs.push(next_seq(&mut sub, &mut reasons).await);
    }
    assert_eq!(seqs, [1, 2, 3, 4], "once each, in order, gap filled");
    assert!(reasons[0].contains("gap"), "{reasons:?}");

    // Silence, then the refusal ends the subscription.
    let mut end = Vec::new();
    loop {
        match next(&mut sub).await {
            Some(Ok(Frame::Reconnecting { reason, .. })) => reasons.push(reason),
            Some(Ok(Frame::Event(e))) => panic!("no event twice: {e:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => end.push(e),
            None => break,
        }
    }
    assert!(
        reasons.iter().any(|r| r.contains("nothing heard")),
        "{reasons:?}"
    );
    assert!(
        matches!(&end[..], [ClientError::Rejected { code: 4401, reason }] if reason == "token_revoked"),
        "{end:?}"
    );
    server
        .await
        .expect("the scripted server saw what it expected");
}

/// The next text frame the client wrote, as JSON (pings included).
async fn read(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("a frame")
            .expect("a frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("json");
        }
    }
}

/// The next `send` the client wrote.
async fn read_send(ws: &mut Ws) -> Value {
    loop {
        let frame = read(ws).await;
        if frame["type"] == "send" {
            return frame;
        }
    }
}

/// A `sent` answer for a send frame, with a message the client can read.
fn sent(send: &Value, seq: u64, replayed: bool) -> Value {
    json!({"type": "sent", "ref": send["ref"], "replayed": replayed, "message": {
        "id": format!("m{seq}"), "channel_id": "c1", "seq": seq, "thread_id": null,
        "author_id": "p1", "text": send["text"], "data": null,
        "mentions": {"principal_ids": [], "all": false, "agents": false},
        "client_msg_id": send["client_msg_id"], "hop": 0,
        "created_at": "2025-01-01T00:00:00Z", "edited_at": null, "deleted": false,
        "stream": null, "attachments": [], "reactions": [], "reply_count": 0,
        "last_reply_at": null}})
}

#[tokio::test]
async fn unanswered_sends_are_written_again_in_order_after_a_drop() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        // 1: four sends arrive; only the first is answered, then the server
        //    goes away.
        let (mut ws, _) = accept(&listener).await;
        send(&mut ws, ready(0, 0)).await;
        let mut first = Vec::new();
        for _ in 0..4 {
            first.push(read_send(&mut ws).await);
        }
        let texts: Vec<&Value> = first.iter().map(|s| &s["text"]).collect();
        assert_eq!(texts, ["m0", "m1", "m2", "m3"]);
        assert_eq!(
            first[1]["client_msg_id"], "mine-1",
            "the caller's id is kept"
        );
        send(&mut ws, sent(&first[0], 1, false)).await;
        ws.send(Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "going away".into(),
        })))
        .await
        .expect("close");
        drop(ws);

        // 2: the three unanswered come first, in order, with the same ids.
        let (mut ws, _) = accept(&listener).await;
        send(&mut ws, ready(0, 1)).await;
        let mut again = Vec::new();
        for _ in 0..3 {
            again.push(read_send(&mut ws).await);
        }
        for (resent, original) in again.iter().zip(&first[1..]) {
            assert_eq!(resent["text"], original["text"]);
            assert_eq!(resent["client_msg_id"], original["client_msg_id"]);
        }
        send(&mut ws, sent(&again[0], 2, true)).await;
        send(
            &mut ws,
            json!({"type": "error", "code": "forbidden", "message": "no", "ref": again[1]["ref"]}),
        )
        .await;
        // An error that answers no send stays the caller's frame.
        send(
            &mut ws,
            json!({"type": "error", "code": "bad_frame", "message": "what"}),
        )
        .await;
        send(&mut ws, sent(&again[2], 3, false)).await;
        // A later send goes out on the same connection.
        let later = read_send(&mut ws).await;
        assert_eq!(later["text"], "m4");
        send(&mut ws, sent(&later, 4, false)).await;
        // Held open until the client is done.
        let _ = tokio::time::timeout(WAIT, ws.next()).await;
    });

    let options = SubscribeOptions {
        backoff_min: Duration::from_millis(10),
        ..SubscribeOptions::default()
    };
    let mut sub = Client::new(&url, Some("octo_t".into()))
        .subscribe(options)
        .await
        .expect("subscribe");
    let channel = octo_core::ChannelId::from_string("c1");
    let handle = sub.handle();
    let sends = (0..4).map(|i| {
        let handle = handle.clone();
        let channel = channel.clone();
        let options = octo_client::SendOptions {
            client_msg_id: (i == 1).then(|| "mine-1".to_owned()),
            ..Default::default()
        };
        async move { handle.send(&channel, &format!("m{i}"), options).await }
    });
    let results = tokio::time::timeout(WAIT, futures::future::join_all(sends))
        .await
        .expect("every send answered in time");
    let seqs_and_replays: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().map(|s| (s.message.seq, s.replayed)).ok())
        .collect();
    assert_eq!(
        seqs_and_replays,
        [Some((1, false)), Some((2, true)), None, Some((3, false))]
    );
    let refused = results[2].as_ref().expect_err("refused");
    assert_eq!(refused.code(), Some("forbidden"), "{refused:?}");

    let later = tokio::time::timeout(
        WAIT,
        sub.send(&channel, "m4", octo_client::SendOptions::default()),
    )
    .await
    .expect("answered in time")
    .expect("sent");
    assert_eq!(later.message.seq, 4);

    let mut seen = Vec::new();
    for _ in 0..4 {
        match next(&mut sub).await {
            Some(Ok(Frame::Ready { .. })) => seen.push("ready".to_owned()),
            Some(Ok(Frame::Reconnecting { .. })) => seen.push("reconnecting".to_owned()),
            Some(Ok(Frame::Error { code, .. })) => seen.push(code),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["ready", "reconnecting", "ready", "bad_frame"]);
    drop(sub);
    server
        .await
        .expect("the scripted server saw what it expected");
}

#[tokio::test]
async fn an_oversized_send_is_refused_here_and_a_fatal_close_ends_the_waiting_ones() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let (mut ws, _) = accept(&listener).await;
        send(&mut ws, ready(0, 0)).await;
        // The oversized send never arrives: the first one written is "small".
        let first = read_send(&mut ws).await;
        assert_eq!(first["text"], "small");
        ws.send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(4401),
            reason: "token_revoked".into(),
        })))
        .await
        .expect("close");
        let _ = tokio::time::timeout(WAIT, ws.next()).await;
    });

    let mut sub = Client::new(&url, Some("octo_t".into()))
        .subscribe(SubscribeOptions::default())
        .await
        .expect("subscribe");
    let channel = octo_core::ChannelId::from_string("c1");
    let options = octo_client::SendOptions::default;
    let huge = "x".repeat(70_000);
    let refused = tokio::time::timeout(WAIT, sub.send(&channel, &huge, options()))
        .await
        .expect("answered in time")
        .expect_err("too big for a frame");
    assert!(
        matches!(&refused, ClientError::WebSocket(why) if why.contains("frame limit")),
        "{refused:?}"
    );

    // Unanswered when the server ends the subscription for good.
    let handle = sub.handle();
    let waiting = tokio::spawn({
        let channel = channel.clone();
        async move { handle.send(&channel, "small", options()).await }
    });
    let mut end = Vec::new();
    while let Some(frame) = next(&mut sub).await {
        if let Err(e) = frame {
            end.push(e);
        }
    }
    assert!(
        matches!(&end[..], [ClientError::Rejected { code: 4401, .. }]),
        "{end:?}"
    );
    let ended = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("ended in time")
        .expect("task");
    assert!(
        matches!(ended, Err(ClientError::SubscriptionEnded)),
        "{ended:?}"
    );
    let after = sub.send(&channel, "too late", options()).await;
    assert!(
        matches!(after, Err(ClientError::SubscriptionEnded)),
        "{after:?}"
    );
    server
        .await
        .expect("the scripted server saw what it expected");
}
