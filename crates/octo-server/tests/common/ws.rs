//! A bare WebSocket client for protocol tests: it speaks the frames by hand so
//! the tests see exactly what the server sends.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Ws {
    pub socket: Socket,
}

/// How a read ended when it did not produce a JSON frame.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Closed(Option<(u16, String)>),
    TimedOut,
    Error(String),
}

pub const WAIT: Duration = Duration::from_secs(10);

impl Ws {
    pub async fn connect(addr: std::net::SocketAddr) -> Ws {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws"))
            .await
            .expect("websocket connect");
        Ws { socket }
    }

    /// Connects and says hello; returns the socket and the `ready` frame.
    pub async fn hello(
        addr: std::net::SocketAddr,
        token: &str,
        cursors: Option<Value>,
    ) -> (Ws, Value) {
        let mut ws = Ws::connect(addr).await;
        let mut hello = json!({"type": "hello", "token": token});
        if let Some(c) = cursors {
            hello["cursors"] = c;
        }
        ws.send(hello).await;
        let ready = ws.frame().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        (ws, ready)
    }

    pub async fn send(&mut self, v: Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.socket.send(m).await.expect("send");
    }

    /// The next JSON frame within `wait`, skipping pings.
    pub async fn try_frame(&mut self, wait: Duration) -> Result<Value, Ended> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next()).await;
            match next {
                Err(_) => return Err(Ended::TimedOut),
                Ok(None) => return Err(Ended::Closed(None)),
                Ok(Some(Err(e))) => return Err(Ended::Error(e.to_string())),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Ok(serde_json::from_str(&t).expect("server frames are JSON"));
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Err(Ended::Closed(
                        frame.map(|f: CloseFrame| (u16::from(f.code), f.reason.to_string())),
                    ));
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn frame(&mut self) -> Value {
        match self.try_frame(WAIT).await {
            Ok(v) => v,
            Err(e) => panic!("expected a frame, got {e:?}"),
        }
    }

    /// The next frame that answers something the client sent (a pong, an
    /// error), skipping the presence and typing frames the server sends on
    /// its own whenever someone comes, goes or types.
    pub async fn reply(&mut self) -> Value {
        loop {
            let f = self.frame().await;
            if f["type"] != "presence" && f["type"] != "typing" {
                return f;
            }
        }
    }

    /// The next answer to something the client sent (`sent`, `error`, `pong`),
    /// skipping what the server sends on its own: events, triggers, presence
    /// and typing.
    pub async fn answer(&mut self) -> Value {
        loop {
            let f = self.frame().await;
            if !matches!(
                f["type"].as_str(),
                Some("event" | "trigger" | "presence" | "typing")
            ) {
                return f;
            }
        }
    }

    /// The next frame of type `event` (skipping presence, typing, …).
    pub async fn event(&mut self) -> Value {
        loop {
            let f = self.frame().await;
            if f["type"] == "event" {
                return f;
            }
        }
    }

    /// Events until one with `kind` arrives (that one included).
    pub async fn events_until(&mut self, kind: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let e = self.event().await;
            let done = e["kind"] == kind;
            out.push(e);
            if done {
                return out;
            }
        }
    }

    /// Asserts that no event arrives within `wait`.
    pub async fn no_event_within(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_frame(left).await {
                Err(Ended::TimedOut) => return,
                Ok(f) if f["type"] == "event" => panic!("unexpected event: {f}"),
                Ok(_) => continue,
                Err(e) => panic!("connection ended: {e:?}"),
            }
        }
    }

    /// Reads until the connection ends; returns how, and the events seen.
    pub async fn until_end(&mut self, wait: Duration) -> (Ended, Vec<Value>) {
        let mut seen = Vec::new();
        loop {
            match self.try_frame(wait).await {
                Ok(f) => {
                    if f["type"] == "event" {
                        seen.push(f);
                    }
                }
                Err(e) => return (e, seen),
            }
        }
    }
}
