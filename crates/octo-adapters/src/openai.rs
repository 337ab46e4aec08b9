//! The `openai` connector: any OpenAI-compatible `/v1/chat/completions`
//! endpoint (OpenAI, Ollama, vLLM, llama.cpp server …).
//!
//! The prompt is the turn's thread from the context-window API
//! (`format=openai`) after the configured system prompt. The answer is
//! streamed (SSE) into the reply as deltas. 429 and 5xx are retried with
//! backoff. Tool calls become Octo actions: reply in the thread, react,
//! search (its results go back to the model), propose a group.md update.

use crate::config::OpenAiConfig;
use crate::connector::{Connector, ConnectorError};
use crate::platform::{ContextFormat, Opened, Platform, Turn, clip};
use crate::sse::SseParser;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;

/// Model → tools → model rounds per turn, at most.
pub const MAX_TOOL_ROUNDS: usize = 4;
/// The longest wait between attempts, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub struct OpenAiConnector {
    config: OpenAiConfig,
    context_tokens: usize,
    http: reqwest::Client,
}

/// A tool call as it accumulates over stream chunks.
#[derive(Debug, Default, Clone)]
struct ToolCall {
    id: String,
    name: String,
    arguments: String,
}

/// The reply of this turn, opened at the first word.
struct Reply {
    id: Option<String>,
    /// Written by an earlier run that stopped mid-way: rewritten at finish.
    reopened: bool,
    text: String,
}

enum Step {
    Go,
    AlreadyAnswered,
}

fn tools() -> Value {
    let tool = |name: &str, description: &str, properties: Value, required: &[&str]| {
        json!({"type": "function", "function": {"name": name, "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required}}})
    };
    json!([
        tool(
            "reply_in_thread",
            "Post a separate message in this thread (your streamed answer is already one).",
            json!({"text": {"type": "string"}}),
            &["text"]
        ),
        tool(
            "react",
            "React with an emoji to the message that asked you (or to message_id).",
            json!({"emoji": {"type": "string"}, "message_id": {"type": "string"}}),
            &["emoji"]
        ),
        tool(
            "search",
            "Search the messages of this channel; returns matches with snippets.",
            json!({"query": {"type": "string"}}),
            &["query"]
        ),
        tool(
            "propose_groupmd",
            "Propose a new group.md (the channel's living summary) as a whole document.",
            json!({"text": {"type": "string"}}),
            &["text"]
        ),
    ])
}

impl OpenAiConnector {
    pub fn new(config: OpenAiConfig, context_tokens: usize) -> Self {
        Self {
            config,
            context_tokens,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs the request, retrying 429, 5xx and transport errors with
    /// exponential backoff (or the server's `Retry-After`).
    async fn send(&self, body: &Value) -> Result<reqwest::Response, ConnectorError> {
        let url = format!("{}/chat/completions", self.config.base_url);
        let mut delay = Duration::from_millis(250);
        let mut last = String::new();
        for attempt in 1..=self.config.max_attempts {
            if attempt > 1 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
            let mut req = self.http.post(&url).json(body);
            if let Some(key) = &self.config.api_key {
                req = req.bearer_auth(key);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("cannot reach the model: {e}");
                    continue;
                }
            };
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status.as_u16() == 429 || status.is_server_error() {
                if let Some(secs) = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    delay = Duration::from_secs(secs).min(MAX_BACKOFF);
                }
                last = format!("the model answered {status}");
                continue;
            }
            let text = resp.text().await.unwrap_or_default();
            return Err(ConnectorError::Failed(clip(
                &format!("the model refused the request ({status}): {text}"),
                300,
            )));
        }
        Err(ConnectorError::Failed(format!(
            "{last} ({} attempts)",
            self.config.max_attempts
        )))
    }

    /// One streamed completion: its text goes into the reply as it comes;
    /// answers the tool calls it asked for.
    async fn complete(
        &self,
        platform: &dyn Platform,
        turn: &Turn,
        messages: &[Value],
        reply: &mut Reply,
    ) -> Result<(Step, String, Vec<ToolCall>), ConnectorError> {
        let mut body = json!({"model": self.config.model, "messages": messages, "stream": true,
            "tools": tools()});
        if let Value::Object(map) = &mut body {
            for (k, v) in &self.config.parameters {
                map.insert(k.clone(), v.clone());
            }
        }
        let mut resp = self.send(&body).await?;
        let mut sse = SseParser::default();
        let mut content = String::new();
        let mut calls: Vec<ToolCall> = Vec::new();
        let mut done = false;
        while !done {
            let chunk = resp
                .chunk()
                .await
                .map_err(|e| ConnectorError::Failed(format!("the model's stream broke: {e}")))?;
            let events = match &chunk {
                Some(bytes) => sse.feed(bytes),
                None => {
                    done = true;
                    Ok(sse.finish().into_iter().collect())
                }
            }
            .map_err(|e| ConnectorError::Failed(e.to_string()))?;
            for data in events {
                if data.trim() == "[DONE]" {
                    done = true;
                    break;
                }
                let Ok(v) = serde_json::from_str::<Value>(&data) else {
                    return Err(ConnectorError::Failed(clip(
                        &format!("the model sent something that is not JSON: {data}"),
                        200,
                    )));
                };
                let delta = &v["choices"][0]["delta"];
                if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                    content.push_str(text);
                    if let Step::AlreadyAnswered = self.say(platform, turn, reply, text).await? {
                        return Ok((Step::AlreadyAnswered, content, vec![]));
                    }
                }
                for call in delta["tool_calls"].as_array().into_iter().flatten() {
                    let index = call["index"].as_u64().unwrap_or(0) as usize;
                    if index >= 16 {
                        continue;
                    }
                    if calls.len() <= index {
                        calls.resize(index + 1, ToolCall::default());
                    }
                    let c = &mut calls[index];
                    if let Some(id) = call["id"].as_str() {
                        c.id = id.to_owned();
                    }
                    if let Some(name) = call["function"]["name"].as_str() {
                        c.name.push_str(name);
                    }
                    if let Some(args) = call["function"]["arguments"].as_str() {
                        c.arguments.push_str(args);
                    }
                }
            }
        }
        calls.retain(|c| !c.name.is_empty());
        Ok((Step::Go, content, calls))
    }

    /// Streams `text` into the reply, opening it first if need be.
    async fn say(
        &self,
        platform: &dyn Platform,
        turn: &Turn,
        reply: &mut Reply,
        text: &str,
    ) -> Result<Step, ConnectorError> {
        if reply.id.is_none() {
            match platform.open_reply(turn).await? {
                Opened::AlreadyAnswered => return Ok(Step::AlreadyAnswered),
                Opened::Stream(id) => reply.id = Some(id),
                Opened::Reopened(id) => {
                    reply.reopened = true;
                    reply.id = Some(id);
                }
            }
        }
        reply.text.push_str(text);
        if let (Some(id), false) = (&reply.id, reply.reopened) {
            platform.append_reply(turn, id, text).await?;
        }
        Ok(Step::Go)
    }

    /// Carries out one tool call; answers what the model is told.
    async fn run_tool(&self, platform: &dyn Platform, turn: &Turn, call: &ToolCall) -> String {
        let args: Value = serde_json::from_str(&call.arguments).unwrap_or(Value::Null);
        let text = |k: &str| args[k].as_str().unwrap_or_default().to_owned();
        let done = match call.name.as_str() {
            "reply_in_thread" if !text("text").is_empty() => platform
                .post(
                    turn,
                    &clip(&text("text"), 16_000),
                    true,
                    &format!("tool:{}", call.id),
                )
                .await
                .map(|()| json!({"ok": true})),
            "react" if !text("emoji").is_empty() => {
                let target = args["message_id"].as_str().unwrap_or(&turn.message_id);
                platform
                    .react(turn, target, &text("emoji"))
                    .await
                    .map(|()| json!({"ok": true}))
            }
            "search" if !text("query").is_empty() => platform.search(turn, &text("query")).await,
            "propose_groupmd" if !text("text").is_empty() => platform
                .propose_groupmd(turn, &text("text"))
                .await
                .map(|()| json!({"ok": true})),
            name => {
                return json!({"error": format!("no tool {name:?} with these arguments")})
                    .to_string();
            }
        };
        match done {
            Ok(v) => clip(&v.to_string(), 8_000),
            Err(e) => json!({"error": e.to_string()}).to_string(),
        }
    }

    async fn turn(&self, platform: &dyn Platform, turn: &Turn) -> Result<(), ConnectorError> {
        let ctx = platform
            .context(turn, ContextFormat::OpenAi, self.context_tokens)
            .await?;
        let mut messages: Vec<Value> = Vec::new();
        if let Some(system) = &self.config.system_prompt {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.extend(
            ctx["context"]["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        let mut reply = Reply {
            id: None,
            reopened: false,
            text: String::new(),
        };
        let mut acted = false;
        for _ in 0..MAX_TOOL_ROUNDS {
            let (step, content, calls) =
                self.complete(platform, turn, &messages, &mut reply).await?;
            if let Step::AlreadyAnswered = step {
                return Ok(());
            }
            if calls.is_empty() {
                break;
            }
            acted = true;
            let wire: Vec<Value> = calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect();
            messages.push(json!({"role": "assistant",
                "content": if content.is_empty() { Value::Null } else { json!(content) },
                "tool_calls": wire}));
            for call in &calls {
                let result = self.run_tool(platform, turn, call).await;
                messages.push(json!({"role": "tool", "tool_call_id": call.id, "content": result}));
            }
        }
        match &reply.id {
            Some(id) => {
                let text = reply.reopened.then(|| clip(&reply.text, 16_000));
                platform.finish_reply(turn, id, text.as_deref()).await?;
                Ok(())
            }
            None if acted => Ok(()),
            None => Err(ConnectorError::Failed("the model answered nothing".into())),
        }
    }
}

#[async_trait]
impl Connector for OpenAiConnector {
    async fn handle(&self, platform: &dyn Platform, turn: &Turn) -> Result<(), ConnectorError> {
        match tokio::time::timeout(self.config.timeout, self.turn(platform, turn)).await {
            Ok(done) => done,
            Err(_) => Err(ConnectorError::Failed(format!(
                "the model took longer than {} s",
                self.config.timeout.as_secs()
            ))),
        }
    }
}
