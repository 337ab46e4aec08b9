//! The `a2a` connector against a small A2A agent written for this test: an
//! Agent Card and JSON-RPC `message/stream` answered with SSE.

mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use common::*;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Agent {
    addr: SocketAddr,
    /// Every `params.message` received.
    seen: Arc<Mutex<Vec<Value>>>,
}

async fn card(State(a): State<Agent>) -> Json<Value> {
    Json(
        json!({"name": "remote", "description": "a test agent", "version": "1.0.0",
        "protocolVersion": "0.3.0", "url": format!("http://{}/a2a", a.addr),
        "capabilities": {"streaming": true}, "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"], "skills": []}),
    )
}

fn rpc(id: &Value, result: Value) -> String {
    format!(
        "data: {}\n\n",
        json!({"jsonrpc": "2.0", "id": id, "result": result})
    )
}

fn status(task: &str, ctx: &str, state: &str, text: Option<&str>, last: bool) -> Value {
    let mut s = json!({"state": state});
    if let Some(t) = text {
        s["message"] = json!({"kind": "message", "role": "agent", "messageId": format!("{task}-{state}"),
            "parts": [{"kind": "text", "text": t}]});
    }
    json!({"kind": "status-update", "taskId": task, "contextId": ctx, "status": s, "final": last})
}

fn artifact(task: &str, ctx: &str, text: &str, append: bool) -> Value {
    json!({"kind": "artifact-update", "taskId": task, "contextId": ctx, "append": append,
        "artifact": {"artifactId": "a1", "parts": [{"kind": "text", "text": text}]}})
}

/// "deploy" asks which environment (input-required); the answer in the same
/// task deploys there; anything else is summarized in two artifact pieces.
async fn jsonrpc(State(a): State<Agent>, Json(req): Json<Value>) -> Response {
    let id = req["id"].clone();
    let message = req["params"]["message"].clone();
    a.seen.lock().expect("lock").push(message.clone());
    assert_eq!(req["method"], "message/stream");
    let ctx = message["contextId"].as_str().unwrap_or_default().to_owned();
    let text = message["parts"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut events = Vec::new();
    if let Some(task) = message["taskId"].as_str() {
        events.push(rpc(&id, status(task, &ctx, "working", None, false)));
        let env = if text.contains("staging") {
            "staging"
        } else {
            "production"
        };
        events.push(rpc(
            &id,
            artifact(task, &ctx, &format!("Deployed to {env}."), false),
        ));
        events.push(rpc(&id, status(task, &ctx, "completed", None, true)));
    } else if text.contains("deploy") {
        let task = "task-deploy";
        events.push(rpc(
            &id,
            json!({"kind": "task", "id": task, "contextId": ctx,
            "status": {"state": "submitted"}}),
        ));
        events.push(rpc(
            &id,
            status(
                task,
                &ctx,
                "input-required",
                Some("Which environment: staging or production?"),
                true,
            ),
        ));
    } else {
        let task = "task-sum";
        events.push(rpc(
            &id,
            json!({"kind": "task", "id": task, "contextId": ctx,
            "status": {"state": "submitted"}}),
        ));
        events.push(rpc(&id, status(task, &ctx, "working", None, false)));
        events.push(rpc(&id, artifact(task, &ctx, "Summary: all", false)));
        events.push(rpc(&id, artifact(task, &ctx, " quiet.", true)));
        events.push(rpc(&id, status(task, &ctx, "completed", None, true)));
    }
    let chunks: Vec<Result<String, std::io::Error>> = events.into_iter().map(Ok).collect();
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(futures::stream::iter(chunks)),
    )
        .into_response()
}

async fn start_agent() -> Agent {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let agent = Agent {
        addr: listener.local_addr().expect("addr"),
        seen: Arc::default(),
    };
    let router = Router::new()
        .route("/.well-known/agent-card.json", get(card))
        .route("/a2a", post(jsonrpc))
        .with_state(agent.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    agent
}

fn finished_by(replies: Vec<Value>, author: &str, n: usize) -> Option<Vec<Value>> {
    let mine: Vec<Value> = replies
        .into_iter()
        .filter(|m| m["author_id"] == author && m["stream"] == "finished")
        .collect();
    (mine.len() >= n).then_some(mine)
}

#[tokio::test]
async fn a_thread_is_an_a2a_context_and_input_required_is_a_question() {
    let agent = start_agent().await;
    let app = spawn_app().await;
    let (remote, token) = app.agent("remote").await;
    let channel = app.channel(&[&remote]).await;
    let config = format!(
        "url = \"{}\"\n[[agents]]\nname = \"remote\"\ntoken = \"{token}\"\nconnector = \"a2a\"\nagent_url = \"http://{}\"\n",
        app.url, agent.addr
    );
    let bridge = start_bridge(&config).await;

    // A task whose streamed artifact becomes the reply.
    let first = app.say(&channel, "@remote summarize the week", None).await;
    let first = first["id"].as_str().expect("id").to_owned();
    let replies = eventually("the summary", || async {
        finished_by(app.replies(&channel, &first).await, &remote, 1)
    })
    .await;
    assert_eq!(replies[0]["text"], "Summary: all quiet.");

    // input-required: the question is asked in the thread…
    let second = app.say(&channel, "@remote deploy the release", None).await;
    let second = second["id"].as_str().expect("id").to_owned();
    let replies = eventually("the question", || async {
        finished_by(app.replies(&channel, &second).await, &remote, 1)
    })
    .await;
    assert_eq!(
        replies[0]["text"],
        "Which environment: staging or production?"
    );
    // …and the answer in that thread continues the same task.
    app.say(&channel, "@remote staging please", Some(&second))
        .await;
    let replies = eventually("the deployment", || async {
        finished_by(app.replies(&channel, &second).await, &remote, 2)
    })
    .await;
    assert_eq!(replies[1]["text"], "Deployed to staging.");

    let seen = agent.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3);
    assert_ne!(
        seen[0]["contextId"], seen[1]["contextId"],
        "two threads, two contexts"
    );
    assert_eq!(
        seen[1]["contextId"], seen[2]["contextId"],
        "one thread, one context"
    );
    assert_eq!(seen[2]["taskId"], "task-deploy");
    assert_eq!(seen[0]["parts"][0]["text"], "@remote summarize the week");

    // Task states showed as the agent's status.
    let statuses: Vec<String> = app
        .events(&channel)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "agent.status")
        .filter_map(|e| e["payload"]["text"].as_str().map(str::to_owned))
        .collect();
    assert!(
        statuses.iter().any(|s| s == "remote task: working"),
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .any(|s| s == "waiting for an answer in the thread"),
        "{statuses:?}"
    );
    bridge.stop().await;
}
