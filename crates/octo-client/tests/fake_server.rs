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
