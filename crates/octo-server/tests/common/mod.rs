//! `spawn_app()`: a real server on 127.0.0.1:0 with a temp data dir, and small
//! helpers to talk JSON to it. `spawn_app_on(Backend::Postgres)` runs the same
//! server on PostgreSQL (a throwaway schema) and NATS (a prefix of its own).
#![allow(dead_code, unused_macros)]

use octo_broker::{Broker, MemoryBroker};
use octo_broker_nats::{NatsBroker, NatsOptions};
use octo_server::{AppState, ServerConfig};
use octo_store::Store;
use octo_store_postgres::testing::TempSchema;
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where a test server keeps its data and fans out its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite in the temp dir, in-process broker.
    Sqlite,
    /// PostgreSQL at `OCTO_TEST_POSTGRES` (see `octo_store_postgres::testing`)
    /// and NATS at `OCTO_TEST_NATS` (default `nats://127.0.0.1:4222`).
    Postgres,
}

/// What a PostgreSQL app keeps across restarts.
struct PgBackend {
    schema: TempSchema,
    nats_prefix: String,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub dir: TempDir,
    config: ServerConfig,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    // Last, so the store's pool is gone before the schema is dropped.
    pg: Option<PgBackend>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerConfig::default()).await
}

pub async fn spawn_app_with(config: ServerConfig) -> TestApp {
    spawn_app_on_with(Backend::Sqlite, config).await
}

pub async fn spawn_app_on(backend: Backend) -> TestApp {
    spawn_app_on_with(backend, ServerConfig::default()).await
}

pub async fn spawn_app_on_with(backend: Backend, config: ServerConfig) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let schema = TempSchema::new();
            // The schema name is unique, so it also keeps this test's NATS
            // subjects apart from every other test's.
            let nats_prefix = schema.name.clone();
            Some(PgBackend {
                schema,
                nats_prefix,
            })
        }
    };
    start_with(dir, config, None, pg).await
}

/// Runs the scenario `async fn $name(app: TestApp)` once per backend, as the
/// tests `$name::on_sqlite` and `$name::on_postgres` (a module may share the
/// function's name: they live in different namespaces). Optionally on the
/// multi-threaded runtime, and with a config other than the default.
macro_rules! on_both_backends {
    (@ [$($test:tt)*] $name:ident, $config:expr) => {
        mod $name {
            use super::*;

            #[$($test)*]
            async fn on_sqlite() {
                super::$name(spawn_app_on_with(Backend::Sqlite, $config).await).await;
            }

            #[$($test)*]
            async fn on_postgres() {
                super::$name(spawn_app_on_with(Backend::Postgres, $config).await).await;
            }
        }
    };
    (multi_thread $name:ident $(, $config:expr)?) => {
        on_both_backends!(@ [tokio::test(flavor = "multi_thread", worker_threads = 2)] $name,
            on_both_backends!(@config $($config)?));
    };
    (@config) => { octo_server::ServerConfig::default() };
    (@config $config:expr) => { $config };
    ($name:ident $(, $config:expr)?) => {
        on_both_backends!(@ [tokio::test] $name, on_both_backends!(@config $($config)?));
    };
}

/// A server whose voice route uses this engine (e.g. a local
/// OpenAI-compatible transcription server) instead of pocketsphinx.
pub async fn spawn_app_with_voice(voice: octo_voice::Voice) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    start_with(dir, ServerConfig::default(), Some(voice), None).await
}

/// The NATS the PostgreSQL tests use.
fn test_nats_url() -> String {
    std::env::var("OCTO_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

async fn start_with(
    dir: TempDir,
    config: ServerConfig,
    voice: Option<octo_voice::Voice>,
    pg: Option<PgBackend>,
) -> TestApp {
    let (store, broker): (Arc<dyn Store>, Arc<dyn Broker>) = match &pg {
        None => (
            Arc::new(
                SqliteStore::open(dir.path(), SqliteOptions::default())
                    .await
                    .expect("open store"),
            ),
            Arc::new(MemoryBroker::default()),
        ),
        Some(pg) => {
            let store = pg.schema.open_for_tests().await;
            let options = NatsOptions {
                prefix: pg.nats_prefix.clone(),
                ..NatsOptions::default()
            };
            let url = test_nats_url();
            let broker = NatsBroker::connect(&url, options)
                .await
                .unwrap_or_else(|e| panic!("NATS at {url} is needed for these tests: {e}"));
            (Arc::new(store), Arc::new(broker))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let files =
        object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("files dir");
    let mut state = AppState::new(store.clone(), broker, Arc::new(files), config.clone());
    if let Some(voice) = voice {
        state = state.with_voice(voice);
    }
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        octo_server::serve(listener, state, shutdown)
            .await
            .expect("serve");
    });
    TestApp {
        addr,
        http: reqwest::Client::new(),
        store,
        dir,
        config,
        stop: Some(stop),
        task: Some(task),
        pg,
    }
}

/// What a call answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        self.body
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        assert_eq!(self.code(), code, "unexpected answer: {}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "errors carry a message: {}",
            self.body
        );
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, self.url(&format!("/api/v1{path}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        Self::answer(resp).await
    }

    pub async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Graceful stop (in-flight requests finish, the store drains), then a
    /// fresh server on the same data directory (or PostgreSQL schema).
    pub async fn restart(mut self) -> TestApp {
        self.stop_server().await;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let pg = self.pg.take();
        start_with(dir, self.config.clone(), None, pg).await
    }

    async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        self.store.close().await;
    }
}

/// An org with its owner, set up through the API.
pub struct Org {
    pub id: String,
    pub owner_token: String,
    pub owner_id: String,
}

pub async fn setup(app: &TestApp) -> Org {
    let body = app
        .call(
            Method::POST,
            "/setup",
            None,
            Some(json!({"org_name": "Acme", "name": "olivia", "email": "olivia@acme.test", "password": "owner-pass-1"})),
        )
        .await
        .expect(201);
    Org {
        id: body["org"]["id"].as_str().expect("org id").into(),
        owner_token: body["token"].as_str().expect("token").into(),
        owner_id: body["principal"]["id"].as_str().expect("id").into(),
    }
}

/// A human added by the owner with `role`; returns (id, token).
pub async fn add_human(app: &TestApp, org: &Org, name: &str, role: &str) -> (String, String) {
    let email = format!("{name}@acme.test");
    let body = app
        .post(
            &format!("/orgs/{}/members", org.id),
            &org.owner_token,
            json!({"name": name, "email": email, "password": "member-pass-1", "role": role}),
        )
        .await
        .expect(201);
    let id = body["id"].as_str().expect("id").to_owned();
    let login = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": email, "password": "member-pass-1"})),
        )
        .await
        .expect(200);
    (id, login["token"].as_str().expect("token").to_owned())
}

/// An agent created by the owner; returns (id, token).
pub async fn add_agent(app: &TestApp, org: &Org, name: &str) -> (String, String) {
    let body = app
        .post(
            &format!("/orgs/{}/agents", org.id),
            &org.owner_token,
            json!({"name": name, "description": "helps"}),
        )
        .await
        .expect(201);
    (
        body["principal"]["id"].as_str().expect("id").to_owned(),
        body["token"].as_str().expect("token").to_owned(),
    )
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

pub mod ws;

/// A space with one channel (public or private), the owner in it.
pub async fn space_and_channel(app: &TestApp, org: &Org, private: bool) -> (String, String) {
    let space = id(&app
        .post(
            &format!("/orgs/{}/spaces", org.id),
            &org.owner_token,
            json!({"name": format!("S{}", uuid_suffix()), "visibility": "open"}),
        )
        .await
        .expect(201));
    let channel = id(&app
        .post(
            &format!("/spaces/{space}/channels"),
            &org.owner_token,
            json!({"name": "general", "private": private}),
        )
        .await
        .expect(201));
    (space, channel)
}

fn uuid_suffix() -> String {
    let id = octo_core::MessageId::generate().to_string();
    // The head of a UUIDv7 is its timestamp; the tail is random.
    id[id.len() - 8..].to_owned()
}

/// Adds a principal to a channel.
pub async fn join(app: &TestApp, org: &Org, channel: &str, principal: &str) {
    let status = app
        .post(
            &format!("/channels/{channel}/members"),
            &org.owner_token,
            json!({"principal_id": principal}),
        )
        .await
        .status;
    assert!(status.is_success(), "join: {status}");
}

pub async fn say(app: &TestApp, channel: &str, token: &str, text: &str) -> Value {
    app.post(
        &format!("/channels/{channel}/messages"),
        token,
        json!({"text": text}),
    )
    .await
    .expect(201)
}
