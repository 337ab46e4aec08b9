//! [`Platform`] for Octo, through its public API only: a WebSocket
//! subscription (via `octo-client`) brings trigger frames, and each turn acts
//! with the trigger's channel-scoped turn token.
//!
//! Nothing is acked when it arrives: a trigger is acked after its turn is
//! handled, so a bridge stopped mid-turn gets it again from the server-side
//! cursor on restart. Every write of a turn carries a `client_msg_id` derived
//! from the trigger, so a turn handled twice still answers once.

use crate::acks::AckTracker;
use crate::platform::{ContextFormat, Opened, Platform, PlatformError, Turn};
use async_trait::async_trait;
use octo_client::{Client, Frame, SubscribeOptions, SubscriptionHandle};
use octo_core::EventKind;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Turns waiting for the runner; a full queue stops reading the subscription.
const TURN_QUEUE: usize = 256;

pub struct OctoPlatform {
    url: String,
    agent: String,
    http: reqwest::Client,
    acks: Mutex<AckTracker>,
    handle: SubscriptionHandle,
}

impl OctoPlatform {
    /// Subscribes as the agent (its own token) and returns the platform and
    /// the turns as they arrive. Fails if the server refuses the token.
    pub async fn connect(
        url: &str,
        agent: &str,
        token: &str,
    ) -> Result<(Arc<Self>, mpsc::Receiver<Turn>), PlatformError> {
        let client = Client::new(url, Some(token.to_owned()));
        // No cursors: every channel resumes from what this agent acked.
        let mut sub = client
            .subscribe(SubscribeOptions::default())
            .await
            .map_err(|e| PlatformError::Unavailable(e.to_string()))?;
        let platform = Arc::new(OctoPlatform {
            url: client.base_url().to_owned(),
            agent: agent.to_owned(),
            http: reqwest::Client::new(),
            acks: Mutex::new(AckTracker::default()),
            handle: sub.handle(),
        });
        let (tx, rx) = mpsc::channel(TURN_QUEUE);
        let me = platform.clone();
        tokio::spawn(async move {
            // Texts of recent messages, so a trigger can carry what woke it.
            let mut texts: HashMap<String, String> = HashMap::new();
            loop {
                // The runner gone (stopped or crashed): so is the subscription.
                let frame = tokio::select! {
                    frame = sub.next() => match frame {
                        Some(frame) => frame,
                        None => return,
                    },
                    () = tx.closed() => return,
                };
                match frame {
                    Ok(Frame::Event(event)) if event.kind == EventKind::MessageCreated => {
                        let m = &event.payload["message"];
                        if let (Some(id), Some(text)) = (m["id"].as_str(), m["text"].as_str()) {
                            if texts.len() > 1024 {
                                texts.clear();
                            }
                            texts.insert(id.to_owned(), text.to_owned());
                        }
                    }
                    Ok(Frame::Trigger { event, trigger }) => {
                        let message_id = trigger.message_id.to_string();
                        let turn = Turn {
                            id: trigger.id.clone(),
                            agent: me.agent.clone(),
                            channel_id: event.channel_id.to_string(),
                            seq: event.seq,
                            reason: trigger.reason.as_str().to_owned(),
                            thread_id: trigger
                                .thread_id
                                .as_ref()
                                .map_or_else(|| message_id.clone(), |t| t.to_string()),
                            text: texts.get(&message_id).cloned(),
                            message_id,
                            token: trigger.turn_token.clone(),
                            platform_url: me.url.clone(),
                        };
                        if !me.lock_acks().started(&turn.channel_id, turn.seq) {
                            continue;
                        }
                        if tx.send(turn).await.is_err() {
                            return;
                        }
                    }
                    Ok(Frame::Reconnecting { reason, .. }) => {
                        tracing::warn!(agent = %me.agent, %reason, "reconnecting to Octo");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(agent = %me.agent, error = %e, "the subscription ended");
                        return;
                    }
                }
            }
        });
        Ok((platform, rx))
    }

    fn lock_acks(&self) -> std::sync::MutexGuard<'_, AckTracker> {
        self.acks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One call of the REST API as the turn; answers the body and headers.
    async fn call(
        &self,
        turn: &Turn,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Result<(HeaderMap, Value), PlatformError> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&turn.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        if let Some(rev) = if_match {
            req = req.header("if-match", rev);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| PlatformError::Unavailable(e.to_string()))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| PlatformError::Unavailable(e.to_string()))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let field = |k: &str| value["error"][k].as_str().unwrap_or_default().to_owned();
            return Err(PlatformError::Refused {
                code: if value["error"]["code"].is_string() {
                    field("code")
                } else {
                    status.as_u16().to_string()
                },
                message: field("message"),
            });
        }
        Ok((headers, value))
    }
}

/// The client-side key of a write of this turn (≤ 128 bytes: ids are short).
fn key(turn: &Turn, what: &str) -> String {
    format!("turn:{}:{what}", turn.id)
}

#[async_trait]
impl Platform for OctoPlatform {
    async fn context(
        &self,
        turn: &Turn,
        format: ContextFormat,
        max_tokens: usize,
    ) -> Result<Value, PlatformError> {
        let format = match format {
            ContextFormat::OpenAi => "openai",
            ContextFormat::Text => "text",
        };
        let path = format!(
            "/channels/{}/context?thread_id={}&max_tokens={max_tokens}&format={format}",
            turn.channel_id, turn.thread_id
        );
        Ok(self.call(turn, Method::GET, &path, None, None).await?.1)
    }

    async fn open_reply(&self, turn: &Turn) -> Result<Opened, PlatformError> {
        let body = json!({"text": "", "stream": true, "thread_id": turn.thread_id,
            "client_msg_id": key(turn, "reply")});
        let path = format!("/channels/{}/messages", turn.channel_id);
        let (headers, message) = self
            .call(turn, Method::POST, &path, Some(body), None)
            .await?;
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        let replayed = headers.contains_key("idempotent-replayed");
        Ok(match (replayed, message["stream"].as_str()) {
            (false, _) => Opened::Stream(id),
            (true, Some("open")) => Opened::Reopened(id),
            (true, _) => Opened::AlreadyAnswered,
        })
    }

    async fn append_reply(
        &self,
        turn: &Turn,
        reply: &str,
        delta: &str,
    ) -> Result<(), PlatformError> {
        let path = format!("/messages/{reply}/deltas");
        self.call(
            turn,
            Method::POST,
            &path,
            Some(json!({"text": delta})),
            None,
        )
        .await?;
        Ok(())
    }

    async fn finish_reply(
        &self,
        turn: &Turn,
        reply: &str,
        text: Option<&str>,
    ) -> Result<(), PlatformError> {
        let path = format!("/messages/{reply}/finish");
        self.call(turn, Method::POST, &path, Some(json!({"text": text})), None)
            .await?;
        Ok(())
    }

    async fn post(
        &self,
        turn: &Turn,
        text: &str,
        in_thread: bool,
        what: &str,
    ) -> Result<(), PlatformError> {
        let mut body = json!({"text": text, "client_msg_id": key(turn, what)});
        if in_thread {
            body["thread_id"] = json!(turn.thread_id);
        }
        let path = format!("/channels/{}/messages", turn.channel_id);
        self.call(turn, Method::POST, &path, Some(body), None)
            .await?;
        Ok(())
    }

    async fn react(&self, turn: &Turn, message_id: &str, emoji: &str) -> Result<(), PlatformError> {
        let path = format!("/messages/{message_id}/reactions/{}", encode(emoji));
        self.call(turn, Method::PUT, &path, None, None).await?;
        Ok(())
    }

    async fn search(&self, turn: &Turn, query: &str) -> Result<Value, PlatformError> {
        let path = format!("/search?q={}&limit=10", encode(query));
        Ok(self.call(turn, Method::GET, &path, None, None).await?.1)
    }

    async fn propose_groupmd(&self, turn: &Turn, text: &str) -> Result<(), PlatformError> {
        let path = format!("/channels/{}/groupmd", turn.channel_id);
        let (_, current) = self.call(turn, Method::GET, &path, None, None).await?;
        let revision = match &current["revision"] {
            Value::String(s) => s.clone(),
            Value::Null => "0".to_owned(),
            other => other.to_string(),
        };
        // A channel in review mode gets a proposal that members accept or
        // reject, not a write, whatever the agent may do.
        let (_, settings) = self
            .call(turn, Method::GET, &format!("{path}/settings"), None, None)
            .await?;
        if settings["mode"] == "review" {
            let base = revision.trim_matches('"').parse::<u64>().unwrap_or(0);
            self.call(
                turn,
                Method::POST,
                &format!("{path}/proposals"),
                Some(json!({"text": text, "base_revision": base})),
                None,
            )
            .await?;
            return Ok(());
        }
        self.call(
            turn,
            Method::PUT,
            &path,
            Some(json!({"text": text})),
            Some(&revision),
        )
        .await?;
        Ok(())
    }

    async fn set_status(&self, turn: &Turn, text: &str) -> Result<(), PlatformError> {
        let path = format!("/channels/{}/status", turn.channel_id);
        let text = crate::platform::clip(text, 140);
        self.call(turn, Method::PUT, &path, Some(json!({"text": text})), None)
            .await?;
        Ok(())
    }

    async fn done(&self, turn: &Turn) {
        let upto = self.lock_acks().finished(&turn.channel_id, turn.seq);
        if let Some(seq) = upto {
            let cursors =
                HashMap::from([(octo_core::ChannelId::from_string(&turn.channel_id), seq)]);
            // Fails only once the subscription is gone; the turn then comes
            // again after a restart and its keyed writes make that harmless.
            let _ = self.handle.ack(cursors);
        }
    }
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
