//! A real Octo server on 127.0.0.1:0 with a temp data dir, an org, and the
//! bridge running in-process against it.
#![allow(dead_code)]

use octo_adapters::BridgeConfig;
use octo_broker::MemoryBroker;
use octo_server::{AppState, ServerConfig};
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use reqwest::Method;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(15);

pub struct App {
    pub url: String,
    pub http: reqwest::Client,
    pub owner: String,
    pub org: String,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

pub async fn spawn_app() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open(dir.path(), SqliteOptions::default())
            .await
            .expect("open store"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let files =
        object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("files dir");
    let state = AppState::new(
        store,
        Arc::new(MemoryBroker::default()),
        Arc::new(files),
        ServerConfig::default(),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = octo_server::serve(listener, state, async {
            let _ = stopped.await;
        })
        .await;
    });
    let mut app = App {
        url: format!("http://{addr}"),
        http: reqwest::Client::new(),
        owner: String::new(),
        org: String::new(),
        _dir: dir,
        _stop: stop,
    };
    let setup = app
        .call(
            Method::POST,
            "/setup",
            None,
            Some(json!({"org_name": "Acme", "name": "olivia",
            "email": "olivia@acme.test", "password": "owner-pass-1"})),
        )
        .await;
    app.owner = setup["token"].as_str().expect("token").to_owned();
    app.org = setup["org"]["id"].as_str().expect("org").to_owned();
    app
}

impl App {
    /// A call that must succeed; answers the body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(Method::GET, path, Some(&self.owner.clone()), None)
            .await
    }

    /// An agent created by the owner: (id, token).
    pub async fn agent(&self, name: &str) -> (String, String) {
        let body = self
            .call(
                Method::POST,
                &format!("/orgs/{}/agents", self.org),
                Some(&self.owner),
                Some(json!({"name": name, "description": "bridged"})),
            )
            .await;
        (
            body["principal"]["id"].as_str().expect("id").to_owned(),
            body["token"].as_str().expect("token").to_owned(),
        )
    }

    /// A fresh channel with the owner and `members` in it.
    pub async fn channel(&self, members: &[&str]) -> String {
        let space = self
            .call(
                Method::POST,
                &format!("/orgs/{}/spaces", self.org),
                Some(&self.owner),
                Some(json!({"name": format!("S{}", rand_suffix()), "visibility": "open"})),
            )
            .await;
        let space = space["id"].as_str().expect("space").to_owned();
        let channel = self
            .call(
                Method::POST,
                &format!("/spaces/{space}/channels"),
                Some(&self.owner),
                Some(json!({"name": "general"})),
            )
            .await;
        let channel = channel["id"].as_str().expect("channel").to_owned();
        for m in members {
            self.call(
                Method::POST,
                &format!("/channels/{channel}/members"),
                Some(&self.owner),
                Some(json!({"principal_id": m})),
            )
            .await;
        }
        channel
    }

    /// The owner says `text` (in `thread`); answers the message.
    pub async fn say(&self, channel: &str, text: &str, thread: Option<&str>) -> Value {
        self.call(
            Method::POST,
            &format!("/channels/{channel}/messages"),
            Some(&self.owner),
            Some(json!({"text": text, "thread_id": thread})),
        )
        .await
    }

    /// Replies of a thread (the root left out).
    pub async fn replies(&self, channel: &str, root: &str) -> Vec<Value> {
        let page = self
            .get(&format!(
                "/channels/{channel}/threads/{root}/messages?limit=500"
            ))
            .await;
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|m| m["id"] != root)
            .cloned()
            .collect()
    }

    /// Every event of the channel.
    pub async fn events(&self, channel: &str) -> Vec<Value> {
        let page = self
            .get(&format!("/channels/{channel}/events?after=0&limit=500"))
            .await;
        page["items"].as_array().expect("items").clone()
    }

    /// `acked_seq` of a member.
    pub async fn acked(&self, channel: &str, member: &str) -> u64 {
        let page = self.get(&format!("/channels/{channel}/members")).await;
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|m| m["principal_id"] == member)
            .and_then(|m| m["acked_seq"].as_u64())
            .expect("a member")
    }
}

fn rand_suffix() -> String {
    let id = octo_core::MessageId::generate().to_string();
    id[id.len() - 8..].to_owned()
}

/// Polls `check` every 50 ms until it gives a value, for at most [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A running bridge: `stop` is graceful, dropping it without stop is a crash.
pub struct Bridge {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), octo_adapters::BridgeError>>,
}

pub async fn start_bridge(config_toml: &str) -> Bridge {
    // The one variable tests name in `api_key_env`.
    let env = |k: &str| (k == "TEST_MODEL_KEY").then(|| "sk-test".to_owned());
    let config = BridgeConfig::parse(config_toml, env).expect("config");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(octo_adapters::run(config, async {
        let _ = stopped.await;
    }));
    Bridge {
        stop: Some(stop),
        task,
    }
}

impl Bridge {
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let ended = tokio::time::timeout(WAIT, &mut self.task).await;
        ended
            .expect("the bridge stops")
            .expect("join")
            .expect("the bridge ran");
    }

    /// Like a crash: the bridge is gone at once, acks and all.
    pub fn kill(self) {
        self.task.abort();
    }
}
