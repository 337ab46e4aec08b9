//! The MCP tools, each over the public REST API as the caller.

use octo_client::{Client, ClientError};
use reqwest::Method;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Extensions, Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Longest a `wait_for_events` call waits (the server's long-poll limit).
pub const MAX_WAIT_SECS: u64 = 60;

type ToolResult = Result<CallToolResult, ErrorData>;

#[derive(Clone)]
pub struct OctoMcp {
    url: String,
    /// stdio: the one token; HTTP: `None`, each request brings its own.
    token: Option<String>,
    http: reqwest::Client,
    tool_router: ToolRouter<Self>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ChannelArg {
    /// The channel's id (see list_channels).
    pub channel_id: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ReadMessagesArgs {
    pub channel_id: String,
    /// Only messages after this seq (reading forward).
    pub after: Option<u64>,
    /// Only messages before this seq (scrolling back).
    pub before: Option<u64>,
    /// 1 to 500 (default 50).
    pub limit: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ReadThreadArgs {
    pub channel_id: String,
    /// The thread's root message id.
    pub thread_id: String,
    pub limit: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ContextArgs {
    pub channel_id: String,
    /// A thread root; without it, the channel's recent top level.
    pub thread_id: Option<String>,
    /// Token budget, 100 to 200000 (default 4000).
    pub max_tokens: Option<u32>,
    /// openai (default), anthropic or text.
    pub format: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct PostArgs {
    pub channel_id: String,
    /// Markdown, 1 to 16000 characters; @name mentions.
    pub text: String,
    /// An idempotency key: the same key never posts twice.
    pub client_msg_id: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ReplyArgs {
    pub channel_id: String,
    /// The thread's root message id (a reply's id also works).
    pub thread_id: String,
    pub text: String,
    pub client_msg_id: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ReactArgs {
    pub message_id: String,
    /// An emoji, e.g. 👍.
    pub emoji: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// Words (all must match), "phrases", prefix*.
    pub query: String,
    pub channel_id: Option<String>,
    /// 1 to 100 (default 20).
    pub limit: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ProposeArgs {
    pub channel_id: String,
    /// The whole new group.md.
    pub text: String,
    /// The revision this edit is based on (from get_groupmd); a stale one is
    /// refused with a conflict instead of overwriting someone's edit.
    pub revision: Value,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct WaitArgs {
    /// The cursor from the previous call: what it returned is then
    /// acknowledged and not returned again. Leave out on the first call.
    pub cursor: Option<String>,
    /// Seconds to wait when nothing is pending, 0 to 60 (default 30).
    pub wait_secs: Option<u64>,
    /// 1 to 500 (default 50).
    pub limit: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct StatusArgs {
    pub channel_id: String,
    /// A short line such as "reading the thread…"; empty clears it.
    pub text: String,
}

fn ok(value: Value) -> ToolResult {
    Ok(CallToolResult::success(vec![ContentBlock::text(
        value.to_string(),
    )]))
}

/// An API refusal is a tool result the model can read (`is_error`), in the
/// API's own error shape; it is not a protocol failure.
fn refused(e: ClientError) -> ToolResult {
    let (code, message) = match &e {
        // Refused over HTTP or over the WebSocket: the server's own code.
        ClientError::Api { code, message, .. } | ClientError::Refused { code, message } => {
            (code.clone(), message.clone())
        }
        other => ("unavailable".to_owned(), other.to_string()),
    };
    Ok(CallToolResult::error(vec![ContentBlock::text(
        json!({"error": {"code": code, "message": message}}).to_string(),
    )]))
}

fn answer(result: Result<Value, ClientError>) -> ToolResult {
    match result {
        Ok(v) => ok(v),
        Err(e) => refused(e),
    }
}

/// Percent-encodes a path segment or query value.
fn enc(value: &str) -> String {
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

impl OctoMcp {
    /// Every tool acts with `token` (stdio).
    pub fn with_token(url: &str, token: &str) -> Self {
        Self::new(url, Some(token.to_owned()))
    }

    /// Every tool acts with the bearer token of the HTTP request it came in.
    pub fn from_requests(url: &str) -> Self {
        Self::new(url, None)
    }

    fn new(url: &str, token: Option<String>) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::new(),
            tool_router: Self::tool_router(),
        }
    }

    fn token(&self, ext: &Extensions) -> Result<String, ErrorData> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        ext.get::<http::request::Parts>()
            .and_then(|p| p.headers.get(http::header::AUTHORIZATION))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned())
            .ok_or_else(|| {
                ErrorData::invalid_request("send Authorization: Bearer <octo token>", None)
            })
    }

    fn client(&self, ext: &Extensions) -> Result<Client, ErrorData> {
        Ok(Client::new(self.url.clone(), Some(self.token(ext)?)))
    }

    async fn get(
        &self,
        ext: &Extensions,
        path: &str,
    ) -> Result<Result<Value, ClientError>, ErrorData> {
        Ok(self.client(ext)?.call(Method::GET, path, None).await)
    }
}

#[tool_router]
impl OctoMcp {
    #[tool(
        description = "The channels you can see (spaces, DMs), with unread counts and whether you are a member."
    )]
    async fn list_channels(&self, ext: Extensions) -> ToolResult {
        let client = self.client(&ext)?;
        let me = match client.me().await {
            Ok(me) => me,
            Err(e) => return refused(e),
        };
        let tree = match client.tree(&me.org.id).await {
            Ok(t) => t,
            Err(e) => return refused(e),
        };
        let channels: Vec<Value> = tree
            .channels()
            .map(|(space, c)| {
                json!({"id": c.channel.id, "name": c.channel.name, "space": space.map(|s| &s.name),
                    "kind": c.channel.kind, "topic": c.channel.topic, "is_member": c.is_member, "unread": c.unread})
            })
            .collect();
        ok(json!({"you": me.principal.name, "channels": channels}))
    }

    #[tool(
        description = "Top-level messages of a channel, oldest first; page with after/before (seq)."
    )]
    async fn read_messages(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<ReadMessagesArgs>,
    ) -> ToolResult {
        let mut q = format!("limit={}", a.limit.unwrap_or(50));
        if let Some(after) = a.after {
            q.push_str(&format!("&after={after}"));
        }
        if let Some(before) = a.before {
            q.push_str(&format!("&before={before}"));
        }
        answer(
            self.get(
                &ext,
                &format!("/channels/{}/messages?{q}", enc(&a.channel_id)),
            )
            .await?,
        )
    }

    #[tool(description = "A thread: its root message and replies, oldest first.")]
    async fn read_thread(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<ReadThreadArgs>,
    ) -> ToolResult {
        let path = format!(
            "/channels/{}/threads/{}/messages?limit={}",
            enc(&a.channel_id),
            enc(&a.thread_id),
            a.limit.unwrap_or(100)
        );
        answer(self.get(&ext, &path).await?)
    }

    #[tool(
        description = "A thread or a channel's recent messages rendered for an LLM within a token budget, group.md first."
    )]
    async fn get_context(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<ContextArgs>,
    ) -> ToolResult {
        let mut q = format!("format={}", enc(a.format.as_deref().unwrap_or("openai")));
        if let Some(t) = &a.thread_id {
            q.push_str(&format!("&thread_id={}", enc(t)));
        }
        if let Some(m) = a.max_tokens {
            q.push_str(&format!("&max_tokens={m}"));
        }
        answer(
            self.get(
                &ext,
                &format!("/channels/{}/context?{q}", enc(&a.channel_id)),
            )
            .await?,
        )
    }

    #[tool(description = "Posts a message at a channel's top level.")]
    async fn post_message(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<PostArgs>,
    ) -> ToolResult {
        let body = json!({"text": a.text, "client_msg_id": a.client_msg_id});
        let path = format!("/channels/{}/messages", enc(&a.channel_id));
        answer(
            self.client(&ext)?
                .call(Method::POST, &path, Some(&body))
                .await,
        )
    }

    #[tool(description = "Replies in a thread.")]
    async fn reply_in_thread(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<ReplyArgs>,
    ) -> ToolResult {
        let body =
            json!({"text": a.text, "thread_id": a.thread_id, "client_msg_id": a.client_msg_id});
        let path = format!("/channels/{}/messages", enc(&a.channel_id));
        answer(
            self.client(&ext)?
                .call(Method::POST, &path, Some(&body))
                .await,
        )
    }

    #[tool(description = "Adds an emoji reaction to a message.")]
    async fn react(&self, ext: Extensions, Parameters(a): Parameters<ReactArgs>) -> ToolResult {
        let path = format!(
            "/messages/{}/reactions/{}",
            enc(&a.message_id),
            enc(&a.emoji)
        );
        answer(self.client(&ext)?.call(Method::PUT, &path, None).await)
    }

    #[tool(
        description = "Full-text search over the messages you can see: all words must match, \"phrases\", prefix*."
    )]
    async fn search(&self, ext: Extensions, Parameters(a): Parameters<SearchArgs>) -> ToolResult {
        let mut path = format!(
            "/search?q={}&limit={}",
            enc(&a.query),
            a.limit.unwrap_or(20)
        );
        if let Some(c) = &a.channel_id {
            path.push_str(&format!("&channel_id={}", enc(c)));
        }
        answer(self.get(&ext, &path).await?)
    }

    #[tool(
        description = "A channel's group.md (purpose, decisions, action items) and its revision."
    )]
    async fn get_groupmd(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<ChannelArg>,
    ) -> ToolResult {
        answer(
            self.get(&ext, &format!("/channels/{}/groupmd", enc(&a.channel_id)))
                .await?,
        )
    }

    #[tool(
        description = "Proposes a new group.md for a channel, based on the revision you read (compare-and-swap). In a channel whose group.md is in review mode it becomes a pending proposal that members accept or reject; otherwise it is written at once."
    )]
    async fn propose_groupmd(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<ProposeArgs>,
    ) -> ToolResult {
        let token = self.token(&ext)?;
        let revision = match &a.revision {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let channel = enc(&a.channel_id);
        let settings = match self
            .get(&ext, &format!("/channels/{channel}/groupmd/settings"))
            .await?
        {
            Ok(v) => v,
            Err(e) => return refused(e),
        };
        if settings["mode"] == "review" {
            // The base is the revision the caller read, as for a write.
            let base: u64 = revision.trim().trim_matches('"').parse().unwrap_or(0);
            let body = json!({"text": a.text, "base_revision": base});
            return answer(
                self.client(&ext)?
                    .call(
                        Method::POST,
                        &format!("/channels/{channel}/groupmd/proposals"),
                        Some(&body),
                    )
                    .await,
            );
        }
        let url = format!(
            "{}/api/v1/channels/{}/groupmd",
            self.url,
            enc(&a.channel_id)
        );
        let sent = self
            .http
            .put(url)
            .bearer_auth(token)
            .header(http::header::IF_MATCH, revision)
            .json(&json!({"text": a.text}))
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return refused(ClientError::Transport(e)),
        };
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return ok(body);
        }
        let field = |k: &str| body["error"][k].as_str().unwrap_or_default().to_owned();
        refused(ClientError::Api {
            status,
            code: field("code"),
            message: field("message"),
        })
    }

    #[tool(
        description = "Waits (long-poll) for new events and triggers in your channels. Pass back the cursor it returns to acknowledge them and get the next ones."
    )]
    async fn wait_for_events(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<WaitArgs>,
    ) -> ToolResult {
        let client = self.client(&ext)?;
        let mut cursor: BTreeMap<String, u64> = match &a.cursor {
            Some(c) => match serde_json::from_str(c) {
                Ok(c) => c,
                Err(_) => {
                    return Err(ErrorData::invalid_params(
                        "cursor must be the value a previous wait_for_events returned",
                        None,
                    ));
                }
            },
            None => BTreeMap::new(),
        };
        if !cursor.is_empty()
            && let Err(e) = client
                .call::<Value>(
                    Method::POST,
                    "/events/ack",
                    Some(&json!({"cursors": cursor})),
                )
                .await
        {
            return refused(e);
        }
        let wait = a.wait_secs.unwrap_or(30).min(MAX_WAIT_SECS);
        let path = format!("/events?wait={wait}&limit={}", a.limit.unwrap_or(50));
        let page: Value = match client.call(Method::GET, &path, None).await {
            Ok(p) => p,
            Err(e) => return refused(e),
        };
        let items = page["items"].as_array().cloned().unwrap_or_default();
        for item in &items {
            if let (Some(c), Some(seq)) = (item["channel_id"].as_str(), item["seq"].as_u64()) {
                let at = cursor.entry(c.to_owned()).or_insert(seq);
                *at = (*at).max(seq);
            }
        }
        let cursor = serde_json::to_string(&cursor).unwrap_or_default();
        ok(json!({"events": items, "cursor": cursor}))
    }

    #[tool(
        description = "Shows your status line in a channel (\"reading the thread…\"); empty clears it."
    )]
    async fn set_status(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<StatusArgs>,
    ) -> ToolResult {
        let path = format!("/channels/{}/status", enc(&a.channel_id));
        let body = json!({"text": a.text});
        answer(
            self.client(&ext)?
                .call(Method::PUT, &path, Some(&body))
                .await,
        )
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for OctoMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("octo", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Octo team chat. You act as the principal of your token, with its permissions: \
                 list_channels first, then read, post and reply by channel id.",
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(result: ToolResult) -> Value {
        let result = result.expect("a tool result");
        assert_eq!(result.is_error, Some(true));
        let text = result.content[0]
            .as_text()
            .expect("a text block")
            .text
            .clone();
        serde_json::from_str::<Value>(&text).expect("json")["error"].clone()
    }

    /// A refusal keeps the server's code whether it came over HTTP or over
    /// the WebSocket; anything else is `unavailable`.
    #[test]
    fn refusals_keep_the_servers_code() {
        let over_ws = error_of(refused(ClientError::Refused {
            code: "not_found".into(),
            message: "channel not found".into(),
        }));
        assert_eq!(over_ws["code"], "not_found");
        assert_eq!(over_ws["message"], "channel not found");
        let over_http = error_of(refused(ClientError::Api {
            status: reqwest::StatusCode::FORBIDDEN,
            code: "forbidden".into(),
            message: "no".into(),
        }));
        assert_eq!(over_http["code"], "forbidden");
        let other = error_of(refused(ClientError::SubscriptionEnded));
        assert_eq!(other["code"], "unavailable");
    }
}
