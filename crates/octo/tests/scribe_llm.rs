//! `octo serve` with `[scribe] maintainer = "openai"` against a local server
//! speaking OpenAI's `chat/completions`, and the scribe's tokens across
//! restarts.

mod common;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use common::{OCTO, Server, lines_of};
use octo_client::{Client, SendOptions};
use octo_core::model::Principal;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const STEP: Duration = Duration::from_millis(100);
const TRIES: u128 = WAIT.as_millis() / STEP.as_millis();

/// `octo serve` on any port with `config` (the scribe's lease short, so it
/// starts soon) and `env`.
fn serve(data: &Path, config: &str, env: &[(&str, &str)]) -> Server {
    let path = data.join("octo.toml");
    std::fs::write(&path, config).expect("config");
    let mut child = Command::new(OCTO)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--config")
        .arg(&path)
        .envs(env.iter().copied())
        .env("OCTO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start octo serve");
    let stdout = child.stdout.take().expect("stdout");
    let line = lines_of(stdout)
        .recv_timeout(Duration::from_secs(10))
        .expect("octo serve prints where it listens");
    let url = line
        .trim()
        .strip_prefix("octo listening on ")
        .expect("listening line")
        .to_owned();
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    Server { child, url, port }
}

const RULES: &str =
    "[scribe]\nenabled = true\nevery_messages = 1000\nidle_secs = 3600\nlease_ms = 300\n";

/// What the local model was sent, and the answers it gives in turn.
#[derive(Default)]
struct Model {
    answers: Mutex<VecDeque<String>>,
    seen: Mutex<Vec<(Value, Option<String>)>>,
}

async fn completions(
    State(model): State<Arc<Model>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (axum::http::StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    model.seen.lock().expect("lock").push((body.clone(), auth));
    match model.answers.lock().expect("lock").pop_front() {
        Some(content) => (
            axum::http::StatusCode::OK,
            Json(json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
            })),
        ),
        None => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"message": "no answer queued"}})),
        ),
    }
}

async fn start_model() -> (String, Arc<Model>) {
    let model = Arc::new(Model::default());
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("model serves");
    });
    (url, model)
}

struct Org {
    token: String,
    owner: Client,
    scribe: Principal,
    channel: octo_core::ChannelId,
}

async fn org_with_channel(url: &str) -> Org {
    let anon = Client::new(url, None);
    let setup = anon
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anon.with_token(&setup.token);
    let scribe = owner
        .members(&setup.org.id)
        .await
        .expect("members")
        .items
        .into_iter()
        .find(|p| p.name == "scribe")
        .expect("the org has a scribe");
    let space = owner
        .create_space(&setup.org.id, "Eng", octo_core::model::Visibility::Open)
        .await
        .expect("space");
    let channel = owner
        .create_channel(&space.id, "general", None, false)
        .await
        .expect("channel")
        .id;
    Org {
        token: setup.token,
        owner,
        scribe,
        channel,
    }
}

#[tokio::test]
async fn serve_writes_the_models_revision_and_refuses_an_invalid_one() {
    let (model_url, model) = start_model().await;
    let data = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "{RULES}maintainer = \"openai\"\n[scribe.openai]\nbase_url = \"{model_url}\"\nmodel = \"local-test\"\napi_key_env = \"OCTO_TEST_SCRIBE_KEY\"\ntimeout_secs = 10\n"
    );
    let server = serve(data.path(), &config, &[("OCTO_TEST_SCRIBE_KEY", "sekrit")]);
    let org = org_with_channel(&server.url).await;
    let said = org
        .owner
        .send(
            &org.channel,
            "Decision: releases go out on Tuesdays",
            SendOptions::default(),
        )
        .await
        .expect("send");
    let template = octo_groupmd::TEMPLATE;
    // First an answer that drops a section: refused. Then a valid one.
    model
        .answers
        .lock()
        .expect("lock")
        .push_back(template.replace("## Glossary\n", ""));
    let valid = template.replace(
        "## Decisions\n",
        &format!(
            "## Decisions\n- Releases go out on Tuesdays (from #{})\n",
            said.id
        ),
    );
    model.answers.lock().expect("lock").push_back(valid.clone());

    org.owner
        .send(&org.channel, "/groupmd", SendOptions::default())
        .await
        .expect("send");
    for _ in 0..TRIES {
        if !model.seen.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(STEP).await;
    }
    let first = model.seen.lock().expect("lock").first().cloned();
    let (body, auth) = first.expect("the model was asked");
    assert_eq!(body["model"], "local-test");
    assert_eq!(auth.as_deref(), Some("Bearer sekrit"));
    let prompt = body["messages"].to_string();
    assert!(prompt.contains("releases go out on Tuesdays"), "{prompt}");
    assert!(prompt.contains(said.id.as_str()), "{prompt}");
    assert!(
        prompt.contains("## Working agreements"),
        "the document: {prompt}"
    );

    // The refused answer wrote nothing: the next pass writes revision 1.
    org.owner
        .send(
            &org.channel,
            "Decision: and hotfixes any day",
            SendOptions::default(),
        )
        .await
        .expect("send");
    org.owner
        .send(&org.channel, "/groupmd", SendOptions::default())
        .await
        .expect("send");
    let mut now = org.owner.groupmd(&org.channel).await.expect("groupmd");
    for _ in 0..TRIES {
        if now.text == valid {
            break;
        }
        tokio::time::sleep(STEP).await;
        now = org.owner.groupmd(&org.channel).await.expect("groupmd");
    }
    assert_eq!(now.text, valid);
    assert_eq!(now.revision, 1, "the refused revision was not written");
    assert_eq!(model.seen.lock().expect("lock").len(), 2);
    server.stop();
}

/// The scribe's tokens minted by `octo serve`: (all, unrevoked).
async fn scribe_tokens(org: &Org) -> (usize, usize) {
    let list: Value = org
        .owner
        .call(
            Method::GET,
            &format!("/agents/{}/tokens", org.scribe.id),
            None,
        )
        .await
        .expect("tokens");
    let ours: Vec<&Value> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|t| t["label"] == "built-in scribe (octo serve)")
        .collect();
    let live = ours.iter().filter(|t| t["revoked_at"].is_null()).count();
    (ours.len(), live)
}

async fn tokens_until(org: &Org, minted: usize) -> (usize, usize) {
    let mut now = (0, 0);
    for _ in 0..TRIES {
        now = scribe_tokens(org).await;
        if now.0 >= minted {
            return now;
        }
        tokio::time::sleep(STEP).await;
    }
    panic!("the scribe's tokens never reached {minted}: {now:?}");
}

#[tokio::test]
async fn restarts_leave_one_live_scribe_token() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = serve(data.path(), RULES, &[]);
    let org = org_with_channel(&server.url).await;
    assert_eq!(tokens_until(&org, 1).await, (1, 1));
    server.stop();

    for started in 2..=3 {
        let again = serve(data.path(), RULES, &[]);
        let org = Org {
            owner: Client::new(&again.url, Some(org.token.clone())),
            token: org.token.clone(),
            scribe: org.scribe.clone(),
            channel: org.channel.clone(),
        };
        assert_eq!(
            tokens_until(&org, started).await,
            (started, 1),
            "start {started}: the earlier tokens are revoked"
        );
        if started == 3 {
            // The one live token is the running scribe's.
            for text in ["Decision: the wiki moves to Octo", "/groupmd"] {
                org.owner
                    .send(&org.channel, text, SendOptions::default())
                    .await
                    .expect("send");
            }
            let mut doc = String::new();
            for _ in 0..TRIES {
                doc = org.owner.groupmd(&org.channel).await.expect("groupmd").text;
                if doc.contains("wiki moves to Octo") {
                    break;
                }
                tokio::time::sleep(STEP).await;
            }
            assert!(doc.contains("wiki moves to Octo"), "{doc}");
        }
        again.stop();
    }
}
