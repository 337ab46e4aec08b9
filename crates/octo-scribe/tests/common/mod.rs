//! For the scribe's tests: the real server (library, 127.0.0.1:0, temp
//! SQLite) with an org, a channel and the scribe's token, and a small local
//! server speaking OpenAI's `chat/completions` for the LLM maintainer.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use octo_broker::MemoryBroker;
use octo_client::{Client, SendOptions};
use octo_core::model::Message;
use octo_core::{ChannelId, PrincipalId};
use octo_scribe::ScribeConfig;
use octo_server::{AppState, ServerConfig};
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const WAIT: Duration = Duration::from_secs(15);
pub const STEP: Duration = Duration::from_millis(100);

pub struct World {
    pub base: String,
    pub owner: Client,
    pub scribe_id: PrincipalId,
    pub scribe_token: String,
    pub channel: ChannelId,
    _dir: tempfile::TempDir,
}

pub async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open(dir.path(), SqliteOptions::default())
            .await
            .expect("store"),
    );
    let files = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("files");
    let config = ServerConfig {
        scribe_joins_channels: true,
        ..ServerConfig::default()
    };
    let state = AppState::new(
        store,
        Arc::new(MemoryBroker::default()),
        Arc::new(files),
        config,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        octo_server::serve(listener, state, std::future::pending())
            .await
            .expect("serve");
    });
    let anonymous = Client::new(base.clone(), None);
    let setup = anonymous
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anonymous.with_token(setup.token);
    let org = setup.org.id;
    let scribe = owner
        .members(&org)
        .await
        .expect("members")
        .items
        .into_iter()
        .find(|p| p.name == "scribe")
        .expect("the org has a scribe");
    let minted: Value = owner
        .call(
            Method::POST,
            &format!("/agents/{}/tokens", scribe.id),
            Some(&json!({"label": "scribe"})),
        )
        .await
        .expect("scribe token");
    let space: Value = owner
        .call(
            Method::POST,
            &format!("/orgs/{org}/spaces"),
            Some(&json!({"name": "Team", "visibility": "open"})),
        )
        .await
        .expect("space");
    let channel: Value = owner
        .call(
            Method::POST,
            &format!("/spaces/{}/channels", space["id"].as_str().expect("id")),
            Some(&json!({"name": "general"})),
        )
        .await
        .expect("channel");
    World {
        base,
        owner,
        scribe_id: scribe.id,
        scribe_token: minted["token"].as_str().expect("token").to_owned(),
        channel: ChannelId::from_string(channel["id"].as_str().expect("id")),
        _dir: dir,
    }
}

impl World {
    /// Runs the scribe until the returned sender is dropped or fired.
    pub fn start_scribe(&self, config: ScribeConfig) -> oneshot::Sender<()> {
        let client = Client::new(self.base.clone(), Some(self.scribe_token.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            octo_scribe::run(client, config, shutdown)
                .await
                .expect("scribe runs");
        });
        stop
    }

    pub async fn say(&self, text: &str) -> Message {
        self.owner
            .send(&self.channel, text, SendOptions::default())
            .await
            .expect("send")
    }

    pub async fn say_in(&self, root: &Message, text: &str) -> Message {
        self.owner
            .send(
                &self.channel,
                text,
                SendOptions {
                    thread_id: Some(root.id.clone()),
                    ..SendOptions::default()
                },
            )
            .await
            .expect("send")
    }

    /// The current revision and text.
    pub async fn groupmd(&self) -> (u64, String) {
        let g = self.owner.groupmd(&self.channel).await.expect("groupmd");
        (g.revision, g.text)
    }

    /// Waits (bounded) until group.md satisfies `ok`; returns it.
    pub async fn groupmd_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> (u64, String) {
        let mut now = (0, String::new());
        for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
            now = self.groupmd().await;
            if ok(&now.1) {
                return now;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!("group.md never got {what}:\n{}", now.1);
    }

    /// Waits (bounded) for a message by the scribe (top level, or in `thread`)
    /// whose text satisfies `ok`.
    pub async fn scribe_said(
        &self,
        thread: Option<&Message>,
        ok: impl Fn(&str) -> bool,
    ) -> Message {
        for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
            let page = match thread {
                Some(root) => self.owner.thread(&self.channel, &root.id).await,
                None => self.owner.messages(&self.channel, "limit=100").await,
            }
            .expect("history");
            if let Some(m) = page
                .items
                .into_iter()
                .find(|m| m.author_id == self.scribe_id && ok(&m.text))
            {
                return m;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!("the scribe never said it");
    }

    /// The scribe's top-level messages.
    pub async fn scribe_notes(&self) -> Vec<String> {
        let page = self
            .owner
            .messages(&self.channel, "limit=100")
            .await
            .expect("history");
        page.items
            .into_iter()
            .filter(|m| m.author_id == self.scribe_id && m.thread_id.is_none())
            .map(|m| m.text)
            .collect()
    }
}

/// What the local model answers to one request.
pub enum Reply {
    /// 200 with this `choices[0].message.content`.
    Content(String),
    /// This status and body.
    Raw(u16, String),
}

#[derive(Default)]
struct ModelState {
    replies: Mutex<VecDeque<Reply>>,
    /// Each request's JSON body and `Authorization` header.
    requests: Mutex<Vec<(Value, Option<String>)>>,
}

/// A local server speaking `POST /v1/chat/completions`; answers from a queue
/// (503 once it is empty) and keeps what it was sent.
#[derive(Clone)]
pub struct Model {
    pub base_url: String,
    state: Arc<ModelState>,
}

impl Model {
    pub async fn start() -> Self {
        let state = Arc::new(ModelState::default());
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("model serves");
        });
        Self { base_url, state }
    }

    pub fn push(&self, reply: Reply) {
        self.state.replies.lock().expect("lock").push_back(reply);
    }

    pub fn requests(&self) -> Vec<(Value, Option<String>)> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// Waits (bounded) until it has had `n` requests.
    pub async fn wait_requests(&self, n: usize) -> Vec<(Value, Option<String>)> {
        for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
            let seen = self.requests();
            if seen.len() >= n {
                return seen;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!("the model had {} requests, not {n}", self.requests().len());
    }
}

async fn completions(
    State(state): State<Arc<ModelState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state
        .requests
        .lock()
        .expect("lock")
        .push((body.clone(), auth));
    let reply = state.replies.lock().expect("lock").pop_front();
    match reply {
        Some(Reply::Content(content)) => Json(json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }))
        .into_response(),
        Some(Reply::Raw(status, text)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            text,
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no reply queued").into_response(),
    }
}

/// The user message of a request.
pub fn prompt_of(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}
