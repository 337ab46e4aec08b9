//! The `openai` connector against a small local server written for this test
//! that speaks the chat-completions protocol, SSE streaming included.

mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// What the fake model received: each request's headers and body.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(HeaderMap, Value)>>>);

fn sse(events: Vec<Value>) -> Response {
    let mut chunks: Vec<Result<String, std::io::Error>> = events
        .into_iter()
        .map(|e| Ok(format!("data: {e}\n\n")))
        .collect();
    chunks.push(Ok("data: [DONE]\n\n".into()));
    let body = Body::from_stream(futures::stream::iter(chunks));
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}

/// Serves the model's side on a loopback port of its own.
async fn model_server(model: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, model).await;
    });
    addr
}

/// `agents.toml` for the agent `scout` on the openai connector, plus `extra`
/// lines of its table.
fn scout_config(url: &str, token: &str, model: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"url = "{url}"
[[agents]]
name = "scout"
token = "{token}"
connector = "openai"
base_url = "http://{model}/v1"
model = "tiny"
api_key_env = "TEST_MODEL_KEY"
{extra}"#
    )
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "model": "tiny",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

/// First call: 429 (the bridge must retry). Then a tool call (react 👀) in
/// two argument pieces; after the tool result, the answer in three deltas.
async fn completions(State(seen): State<Seen>, headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let n = {
        let mut seen = seen.0.lock().expect("lock");
        seen.push((headers, body.clone()));
        seen.len()
    };
    if n == 1 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "0")],
            "slow down",
        )
            .into_response();
    }
    let answered_tool = body["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
    if !answered_tool {
        return sse(vec![
            chunk(
                json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "react", "arguments": "{\"emoji\":"}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"👀\"}"}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
        ]);
    }
    sse(vec![
        chunk(json!({"role": "assistant", "content": "The plan"}), None),
        chunk(json!({"content": " is to roll"}), None),
        chunk(json!({"content": " back."}), None),
        chunk(json!({}), Some("stop")),
    ])
}

#[tokio::test]
async fn a_mention_gets_a_streamed_model_reply_built_from_the_thread() {
    let seen = Seen::default();
    let model_addr = model_server(
        Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(seen.clone()),
    )
    .await;

    let app = spawn_app().await;
    let (scout, token) = app.agent("scout").await;
    let channel = app.channel(&[&scout]).await;
    let config = scout_config(
        &app.url,
        &token,
        model_addr,
        "system_prompt = \"You are scout. Be brief.\"\nparameters = { temperature = 0.1 }\n",
    );
    let bridge = start_bridge(&config).await;

    let root = app
        .say(&channel, "the plan: roll back on failure", None)
        .await;
    let root = root["id"].as_str().expect("id").to_owned();
    let ask = app
        .say(&channel, "@scout what is the plan?", Some(&root))
        .await;

    let reply = eventually("scout's reply", || async {
        app.replies(&channel, &root)
            .await
            .into_iter()
            .find(|m| m["author_id"] == scout.as_str() && m["stream"] == "finished")
    })
    .await;
    assert_eq!(reply["text"], "The plan is to roll back.");
    let deltas = app
        .events(&channel)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "message.delta" && e["payload"]["message_id"] == reply["id"])
        .count();
    assert_eq!(deltas, 3, "one delta per streamed piece");

    // The tool call became a reaction on the message that asked.
    let asked = app
        .get(&format!("/messages/{}", ask["id"].as_str().expect("id")))
        .await;
    assert!(
        asked["reactions"].to_string().contains("👀"),
        "{}",
        asked["reactions"]
    );

    let requests = seen.0.lock().expect("lock").clone();
    assert_eq!(
        requests.len(),
        3,
        "429, then the tool round, then the answer"
    );
    let (headers, body) = &requests[1];
    assert_eq!(headers[header::AUTHORIZATION], "Bearer sk-test");
    assert_eq!(body["model"], "tiny");
    assert_eq!(body["stream"], true);
    assert_eq!(body["temperature"], 0.1);
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(
        messages[0],
        json!({"role": "system", "content": "You are scout. Be brief."})
    );
    let said: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        said.iter()
            .any(|c| c.contains("the plan: roll back on failure"))
            && said.iter().any(|c| c.contains("what is the plan?")),
        "the request carried the thread: {said:?}"
    );
    bridge.stop().await;
}

/// The model's only move: propose a group.md with one decision.
async fn proposes(State(seen): State<Seen>, headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let answered_tool = body["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
    seen.0.lock().expect("lock").push((headers, body));
    if answered_tool {
        return sse(vec![
            chunk(json!({"role": "assistant", "content": "Proposed."}), None),
            chunk(json!({}), Some("stop")),
        ]);
    }
    let doc = "# group.md\n\n## Decisions\n\n- Deploys freeze on Fridays\n";
    let args = json!({ "text": doc }).to_string();
    sse(vec![
        chunk(
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "propose_groupmd", "arguments": args}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ])
}

#[tokio::test]
async fn in_review_mode_the_models_group_md_becomes_a_proposal_not_a_revision() {
    let seen = Seen::default();
    let model_addr = model_server(
        Router::new()
            .route("/v1/chat/completions", post(proposes))
            .with_state(seen.clone()),
    )
    .await;

    let app = spawn_app().await;
    let (scout, token) = app.agent("scout").await;
    let channel = app.channel(&[&scout]).await;
    app.call(
        reqwest::Method::PUT,
        &format!("/channels/{channel}/groupmd/settings"),
        Some(&app.owner.clone()),
        Some(json!({"mode": "review"})),
    )
    .await;
    let config = scout_config(&app.url, &token, model_addr, "");
    let bridge = start_bridge(&config).await;
    app.say(&channel, "@scout note that deploys freeze on Fridays", None)
        .await;

    let proposal = eventually("scout's proposal", || async {
        let list = app
            .get(&format!("/channels/{channel}/groupmd/proposals"))
            .await;
        list["proposals"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["author_id"] == scout.as_str()).cloned())
    })
    .await;
    assert_eq!(proposal["status"], "pending");
    assert!(
        proposal["text"]
            .as_str()
            .is_some_and(|t| t.contains("Deploys freeze on Fridays")),
        "{proposal}"
    );
    let doc = app.get(&format!("/channels/{channel}/groupmd")).await;
    assert_eq!(doc["revision"], 0, "nothing was written: {doc}");
    bridge.stop().await;
}
