//! The `a2a` connector: a remote agent speaking A2A (Agent2Agent) JSON-RPC.
//!
//! The Agent Card (`/.well-known/agent-card.json`) gives the endpoint and
//! whether it streams. An Octo thread is one A2A `contextId`; the mention's
//! text goes as a `message/stream` (SSE) or `message/send`. Task states show
//! as the agent's status; artifacts stream into the reply; `input-required`
//! becomes a question in the thread, and the next mention in that thread
//! continues the same task.

use crate::config::A2aConfig;
use crate::connector::{Connector, ConnectorError};
use crate::platform::{ContextFormat, Opened, Platform, Turn, clip};
use crate::sse::SseParser;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;

/// Threads waiting on a remote task (contextId → taskId) kept at most.
const MAX_OPEN_TASKS: usize = 1024;

pub struct A2aConnector {
    config: A2aConfig,
    context_tokens: usize,
    http: reqwest::Client,
    /// contextId → the task that asked a question there.
    waiting: Mutex<HashMap<String, String>>,
}

/// Where a turn's remote task got to.
#[derive(Default)]
struct Progress {
    reply_id: Option<String>,
    reopened: bool,
    text: String,
    /// Text of the last status message (the question, or a final word).
    status_text: Option<String>,
    state: Option<String>,
    task_id: Option<String>,
    already_answered: bool,
}

fn parts_text(parts: &Value) -> String {
    parts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("")
}

fn failed(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Failed(message.into())
}

impl A2aConnector {
    pub fn new(config: A2aConfig, context_tokens: usize) -> Self {
        Self {
            config,
            context_tokens,
            http: reqwest::Client::new(),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The endpoint and whether to stream, from the Agent Card.
    async fn discover(&self) -> Result<(String, bool), ConnectorError> {
        let url = format!("{}/.well-known/agent-card.json", self.config.agent_url);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| failed(format!("cannot reach the agent card: {e}")))?;
        if !resp.status().is_success() {
            return Err(failed(format!("the agent card answered {}", resp.status())));
        }
        let card: Value = resp
            .json()
            .await
            .map_err(|e| failed(format!("the agent card is not JSON: {e}")))?;
        let endpoint = card["url"]
            .as_str()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .ok_or_else(|| failed("the agent card has no http(s) url"))?
            .to_owned();
        let streams = card["capabilities"]["streaming"].as_bool().unwrap_or(false);
        Ok((endpoint, streams && self.config.streaming))
    }

    /// Applies one Task, Message or update event to the turn's progress.
    async fn apply(
        &self,
        platform: &dyn Platform,
        turn: &Turn,
        p: &mut Progress,
        result: &Value,
    ) -> Result<(), ConnectorError> {
        match result["kind"].as_str() {
            Some("message") => {
                let text = parts_text(&result["parts"]);
                self.say(platform, turn, p, &text).await?;
                p.state = Some("completed".into());
            }
            Some("task") => {
                p.task_id = result["id"].as_str().map(str::to_owned);
                for artifact in result["artifacts"].as_array().into_iter().flatten() {
                    let text = parts_text(&artifact["parts"]);
                    self.say(platform, turn, p, &text).await?;
                }
                self.status(platform, turn, p, &result["status"]).await?;
            }
            Some("status-update") => {
                if p.task_id.is_none() {
                    p.task_id = result["taskId"].as_str().map(str::to_owned);
                }
                self.status(platform, turn, p, &result["status"]).await?;
            }
            Some("artifact-update") => {
                let text = parts_text(&result["artifact"]["parts"]);
                self.say(platform, turn, p, &text).await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn status(
        &self,
        platform: &dyn Platform,
        turn: &Turn,
        p: &mut Progress,
        status: &Value,
    ) -> Result<(), ConnectorError> {
        let Some(state) = status["state"].as_str() else {
            return Ok(());
        };
        let text = parts_text(&status["message"]["parts"]);
        if !text.is_empty() {
            p.status_text = Some(text);
        }
        if p.state.as_deref() != Some(state) {
            p.state = Some(state.to_owned());
            let line = match state {
                "input-required" => "waiting for an answer in the thread".to_owned(),
                "completed" => String::new(),
                other => format!("remote task: {other}"),
            };
            platform.set_status(turn, &line).await?;
        }
        Ok(())
    }

    async fn say(
        &self,
        platform: &dyn Platform,
        turn: &Turn,
        p: &mut Progress,
        text: &str,
    ) -> Result<(), ConnectorError> {
        if text.is_empty() || p.already_answered {
            return Ok(());
        }
        if p.reply_id.is_none() {
            match platform.open_reply(turn).await? {
                Opened::AlreadyAnswered => {
                    p.already_answered = true;
                    return Ok(());
                }
                Opened::Stream(id) => p.reply_id = Some(id),
                Opened::Reopened(id) => {
                    p.reopened = true;
                    p.reply_id = Some(id);
                }
            }
        }
        p.text.push_str(text);
        if let (Some(id), false) = (&p.reply_id, p.reopened) {
            platform.append_reply(turn, id, text).await?;
        }
        Ok(())
    }

    async fn turn(&self, platform: &dyn Platform, turn: &Turn) -> Result<(), ConnectorError> {
        let (endpoint, streaming) = self.discover().await?;
        let context_id = format!("octo:{}:{}", turn.channel_id, turn.thread_id);
        let text = match &turn.text {
            Some(t) => t.clone(),
            // Not a message (a reaction): the thread as text says what happened.
            None => platform
                .context(turn, ContextFormat::Text, self.context_tokens)
                .await?["context"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        let mut message = json!({"kind": "message", "role": "user", "messageId": turn.id,
            "contextId": context_id, "parts": [{"kind": "text", "text": text}],
            "metadata": {"octo": {"channel_id": turn.channel_id, "thread_id": turn.thread_id,
                "message_id": turn.message_id, "reason": turn.reason}}});
        if let Some(task) = self.lock().remove(&context_id) {
            message["taskId"] = json!(task);
        }
        let method = if streaming {
            "message/stream"
        } else {
            "message/send"
        };
        let request = json!({"jsonrpc": "2.0", "id": turn.id, "method": method,
            "params": {"message": message}});
        let mut resp = self
            .http
            .post(&endpoint)
            .json(&request)
            .send()
            .await
            .map_err(|e| failed(format!("cannot reach the agent: {e}")))?;
        if !resp.status().is_success() {
            return Err(failed(format!("the agent answered {}", resp.status())));
        }
        let mut p = Progress::default();
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if is_sse {
            let mut sse = SseParser::default();
            loop {
                let chunk = resp
                    .chunk()
                    .await
                    .map_err(|e| failed(format!("the agent's stream broke: {e}")))?;
                let events = match &chunk {
                    Some(bytes) => sse.feed(bytes).map_err(|e| failed(e.to_string()))?,
                    None => sse.finish().into_iter().collect(),
                };
                for data in events {
                    let rpc: Value = serde_json::from_str(&data)
                        .map_err(|_| failed(clip(&format!("not JSON-RPC: {data}"), 200)))?;
                    self.rpc_result(platform, turn, &mut p, &rpc).await?;
                }
                if chunk.is_none() {
                    break;
                }
            }
        } else {
            let rpc: Value = resp
                .json()
                .await
                .map_err(|e| failed(format!("the agent's answer is not JSON: {e}")))?;
            self.rpc_result(platform, turn, &mut p, &rpc).await?;
        }
        self.conclude(platform, turn, p, &context_id).await
    }

    async fn rpc_result(
        &self,
        platform: &dyn Platform,
        turn: &Turn,
        p: &mut Progress,
        rpc: &Value,
    ) -> Result<(), ConnectorError> {
        if let Some(err) = rpc.get("error") {
            return Err(failed(clip(
                &format!(
                    "the agent refused: {}",
                    err["message"].as_str().unwrap_or("error")
                ),
                140,
            )));
        }
        self.apply(platform, turn, p, &rpc["result"]).await
    }

    /// Ends the turn according to the task's last state.
    async fn conclude(
        &self,
        platform: &dyn Platform,
        turn: &Turn,
        mut p: Progress,
        context_id: &str,
    ) -> Result<(), ConnectorError> {
        if p.already_answered {
            return Ok(());
        }
        let state = p.state.clone().unwrap_or_else(|| "unknown".into());
        match state.as_str() {
            "input-required" | "auth-required" => {
                if let Some(task) = &p.task_id {
                    let mut waiting = self.lock();
                    if waiting.len() >= MAX_OPEN_TASKS {
                        waiting.clear();
                    }
                    waiting.insert(context_id.to_owned(), task.clone());
                }
                let question = p.status_text.clone().unwrap_or_else(|| {
                    "The agent needs more input: please answer in this thread.".into()
                });
                let text = std::mem::take(&mut p.text);
                self.say(platform, turn, &mut p, &question).await?;
                p.text = if text.is_empty() {
                    question
                } else {
                    format!("{text}{question}")
                };
            }
            "failed" | "rejected" | "canceled" => {
                let why = p.status_text.clone().unwrap_or_default();
                if let Some(id) = &p.reply_id {
                    platform
                        .finish_reply(turn, id, Some(&clip(&p.text, 16_000)))
                        .await?;
                }
                return Err(failed(clip(&format!("remote task {state}: {why}"), 140)));
            }
            _ => {
                if p.reply_id.is_none()
                    && let Some(last) = p.status_text.clone()
                {
                    self.say(platform, turn, &mut p, &last).await?;
                }
            }
        }
        match &p.reply_id {
            Some(id) if !p.already_answered => {
                let text = p.reopened.then(|| clip(&p.text, 16_000));
                platform.finish_reply(turn, id, text.as_deref()).await?;
                Ok(())
            }
            Some(_) => Ok(()),
            None => Err(failed(format!(
                "the remote task ended ({state}) with nothing to say"
            ))),
        }
    }
}

#[async_trait]
impl Connector for A2aConnector {
    async fn handle(&self, platform: &dyn Platform, turn: &Turn) -> Result<(), ConnectorError> {
        match tokio::time::timeout(self.config.timeout, self.turn(platform, turn)).await {
            Ok(done) => done,
            Err(_) => Err(failed(format!(
                "the remote agent took longer than {} s",
                self.config.timeout.as_secs()
            ))),
        }
    }
}
