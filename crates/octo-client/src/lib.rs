//! A typed client for Octo's public REST API, used by the CLI and by tests.
//!
//! It speaks only the public API, like any other client, so whatever works here
//! works for agents written in any language.
#![forbid(unsafe_code)]

mod groupmd_review;
mod realtime;
pub mod webhook;

pub use realtime::{
    Frame, MAX_SENDS_IN_FLIGHT, PresenceStatus, ReadyChannel, Sent, SubscribeOptions, Subscription,
    SubscriptionHandle, TriggerDetail, close,
};

use octo_core::model::*;
use octo_core::*;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error (`code` is the stable part).
    #[error("{status}: {code}: {message}")]
    Api {
        status: StatusCode,
        code: String,
        message: String,
    },
    #[error("could not reach the server: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    /// The WebSocket could not be opened or set up.
    #[error("real-time connection failed: {0}")]
    WebSocket(String),
    /// The server refused the subscription (close 4400 bad hello, 4401
    /// unauthenticated); `reason` is e.g. `token_revoked`.
    #[error("the server refused the subscription ({code}): {reason}")]
    Rejected { code: u16, reason: String },
    /// The subscription this handle sends on has ended.
    #[error("the subscription has ended")]
    SubscriptionEnded,
    /// The server refused a `send` made on the WebSocket (its `error` answer):
    /// `code` is the one the HTTP API would answer, e.g. `not_found`.
    #[error("refused: {code}: {message}")]
    Refused { code: String, message: String },
}

impl ClientError {
    /// The server's stable error code, for errors the server answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } | ClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

#[derive(Debug, Clone, Deserialize)]
pub struct SetupResponse {
    pub token: String,
    pub org: Org,
    pub principal: Principal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub principal: Principal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub principal: Principal,
    pub org: Org,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewAgent {
    pub principal: Principal,
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TreeChannel {
    #[serde(flatten)]
    pub channel: Channel,
    pub is_member: bool,
    pub unread: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TreeCategory {
    #[serde(flatten)]
    pub category: Category,
    pub channels: Vec<TreeChannel>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TreeSpace {
    #[serde(flatten)]
    pub space: Space,
    pub categories: Vec<TreeCategory>,
    pub channels: Vec<TreeChannel>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tree {
    pub org: Org,
    pub spaces: Vec<TreeSpace>,
    pub dms: Vec<TreeChannel>,
}

impl Tree {
    /// Every channel in the tree, with the name of the space it is in.
    pub fn channels(&self) -> impl Iterator<Item = (Option<&Space>, &TreeChannel)> {
        let in_spaces = self.spaces.iter().flat_map(|s| {
            s.channels
                .iter()
                .chain(s.categories.iter().flat_map(|c| c.channels.iter()))
                .map(move |c| (Some(&s.space), c))
        });
        in_spaces.chain(self.dms.iter().map(|c| (None, c)))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Value>,
}

/// A search result.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchHit {
    pub message: Message,
    pub snippet: String,
    pub highlights: Vec<(u32, u32)>,
    pub score: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
    pub next: Option<u32>,
}

/// Options of a send beyond the text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<MessageId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// `base` is the server's root URL, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: impl Into<String>, token: Option<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into().trim_end_matches('/').to_owned(),
            token,
        }
    }

    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            token: Some(token.into()),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Any API call: `path` is below `/api/v1`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
            let field = |k: &str| {
                parsed
                    .as_ref()
                    .and_then(|v| v["error"][k].as_str())
                    .map(str::to_owned)
            };
            return Err(ClientError::Api {
                status,
                code: field("code").unwrap_or_else(|| "unknown".into()),
                message: field("message")
                    .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned()),
            });
        }
        let bytes = if bytes.is_empty() {
            &b"null"[..]
        } else {
            &bytes[..]
        };
        serde_json::from_slice(bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// `POST /channels/{id}/transcribe`: a WAV in, `{raw, text, corrections,
    /// mentions, engine, ms}` out; with `post`, the text is also sent.
    pub async fn transcribe(&self, channel: &ChannelId, wav: Vec<u8>, post: bool) -> Result<Value> {
        let mut req = self
            .http
            .post(format!(
                "{}/api/v1/channels/{channel}/transcribe?post={post}",
                self.base
            ))
            .header(reqwest::header::CONTENT_TYPE, "audio/wav")
            .body(wav);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        if !status.is_success() {
            let field = |k: &str| body["error"][k].as_str().unwrap_or("unknown").to_owned();
            return Err(ClientError::Api {
                status,
                code: field("code"),
                message: field("message"),
            });
        }
        Ok(body)
    }

    pub async fn setup(
        &self,
        org_name: &str,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<SetupResponse> {
        let body =
            json!({"org_name": org_name, "name": name, "email": email, "password": password});
        self.call(Method::POST, "/setup", Some(&body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<LoginResponse> {
        let body = json!({"email": email, "password": password});
        self.call(Method::POST, "/auth/login", Some(&body)).await
    }

    pub async fn me(&self) -> Result<Me> {
        self.call(Method::GET, "/me", None).await
    }

    pub async fn tree(&self, org: &OrgId) -> Result<Tree> {
        self.call(Method::GET, &format!("/orgs/{org}/tree"), None)
            .await
    }

    /// Everyone in the organization (humans and agents).
    pub async fn members(&self, org: &OrgId) -> Result<Page<Principal>> {
        self.call(Method::GET, &format!("/orgs/{org}/members"), None)
            .await
    }

    pub async fn create_agent(
        &self,
        org: &OrgId,
        name: &str,
        description: Option<&str>,
    ) -> Result<NewAgent> {
        let body = json!({"name": name, "description": description});
        self.call(Method::POST, &format!("/orgs/{org}/agents"), Some(&body))
            .await
    }

    pub async fn add_member(
        &self,
        org: &OrgId,
        name: &str,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<Principal> {
        let body = json!({"name": name, "email": email, "password": password, "role": role});
        self.call(Method::POST, &format!("/orgs/{org}/members"), Some(&body))
            .await
    }

    pub async fn create_space(
        &self,
        org: &OrgId,
        name: &str,
        visibility: Visibility,
    ) -> Result<Space> {
        let body = json!({"name": name, "visibility": visibility});
        self.call(Method::POST, &format!("/orgs/{org}/spaces"), Some(&body))
            .await
    }

    pub async fn add_space_member(
        &self,
        space: &SpaceId,
        principal: &PrincipalId,
        role: Option<Role>,
    ) -> Result<SpaceMember> {
        let body = json!({"principal_id": principal, "role": role});
        self.call(
            Method::POST,
            &format!("/spaces/{space}/members"),
            Some(&body),
        )
        .await
    }

    pub async fn create_category(&self, space: &SpaceId, name: &str) -> Result<Category> {
        let body = json!({"name": name});
        self.call(
            Method::POST,
            &format!("/spaces/{space}/categories"),
            Some(&body),
        )
        .await
    }

    pub async fn create_channel(
        &self,
        space: &SpaceId,
        name: &str,
        category: Option<&CategoryId>,
        private: bool,
    ) -> Result<Channel> {
        let body = json!({"name": name, "category_id": category, "private": private});
        self.call(
            Method::POST,
            &format!("/spaces/{space}/channels"),
            Some(&body),
        )
        .await
    }

    pub async fn add_channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
    ) -> Result<ChannelMember> {
        let body = json!({"principal_id": principal});
        self.call(
            Method::POST,
            &format!("/channels/{channel}/members"),
            Some(&body),
        )
        .await
    }

    pub async fn open_dm(&self, org: &OrgId, others: &[PrincipalId]) -> Result<Channel> {
        let body = json!({"principal_ids": others});
        self.call(Method::POST, &format!("/orgs/{org}/dms"), Some(&body))
            .await
    }

    pub async fn send(
        &self,
        channel: &ChannelId,
        text: &str,
        options: SendOptions,
    ) -> Result<Message> {
        let mut body =
            serde_json::to_value(&options).map_err(|e| ClientError::Decode(e.to_string()))?;
        body["text"] = Value::String(text.to_owned());
        self.call(
            Method::POST,
            &format!("/channels/{channel}/messages"),
            Some(&body),
        )
        .await
    }

    /// Top-level history; `query` is e.g. `after=10&limit=100`.
    pub async fn messages(&self, channel: &ChannelId, query: &str) -> Result<Page<Message>> {
        self.call(
            Method::GET,
            &format!("/channels/{channel}/messages?{query}"),
            None,
        )
        .await
    }

    pub async fn events(&self, channel: &ChannelId, after: u64, limit: u32) -> Result<Page<Event>> {
        self.call(
            Method::GET,
            &format!("/channels/{channel}/events?after={after}&limit={limit}"),
            None,
        )
        .await
    }
}

/// A channel's group.md at one revision (`GET /channels/{id}/groupmd`).
#[derive(Debug, Clone, Deserialize)]
pub struct Groupmd {
    pub revision: u64,
    pub text: String,
}

impl Client {
    /// The channel's current group.md (revision 0 is the template).
    pub async fn groupmd(&self, channel: &ChannelId) -> Result<Groupmd> {
        self.call(Method::GET, &format!("/channels/{channel}/groupmd"), None)
            .await
    }

    /// Writes group.md on top of revision `base` (`If-Match`). Someone else's
    /// newer revision answers [`ClientError::Api`] with code `stale_revision`.
    pub async fn put_groupmd(&self, channel: &ChannelId, base: u64, text: &str) -> Result<Groupmd> {
        let mut req = self
            .http
            .put(format!("{}/api/v1/channels/{channel}/groupmd", self.base))
            .header(reqwest::header::IF_MATCH, format!("\"{base}\""))
            .json(&json!({ "text": text }));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        if !status.is_success() {
            let field = |k: &str| body["error"][k].as_str().unwrap_or("unknown").to_owned();
            return Err(ClientError::Api {
                status,
                code: field("code"),
                message: field("message"),
            });
        }
        serde_json::from_value(body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// A thread's root and replies, oldest first.
    pub async fn thread(&self, channel: &ChannelId, root: &MessageId) -> Result<Page<Message>> {
        self.call(
            Method::GET,
            &format!("/channels/{channel}/threads/{root}/messages?limit=200"),
            None,
        )
        .await
    }
}

impl Client {
    /// Full-text search over what this client's principal can see.
    pub async fn search(
        &self,
        query: &str,
        channel: Option<&ChannelId>,
        limit: u32,
    ) -> Result<SearchResults> {
        let mut url = format!("/search?q={}&limit={limit}", encode(query));
        if let Some(c) = channel {
            url.push_str(&format!("&channel_id={}", encode(c.as_str())));
        }
        self.call(Method::GET, &url, None).await
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
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
