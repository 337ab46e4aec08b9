//! Octo as an MCP server, driven by rmcp's own client: over HTTP at `/mcp`
//! of a real `octo serve`, and over stdio through `octo mcp`.

mod common;

use common::{OCTO, start};
use octo_client::{Client, SendOptions};
use octo_core::model::Visibility;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};
use std::time::Duration;

const TOOLS: [&str; 12] = [
    "list_channels",
    "read_messages",
    "read_thread",
    "get_context",
    "post_message",
    "reply_in_thread",
    "react",
    "search",
    "get_groupmd",
    "propose_groupmd",
    "wait_for_events",
    "set_status",
];

type Mcp = RunningService<RoleClient, ClientConfig>;

/// An org whose agent `helper` is in `open` but not in the private `secret`.
struct World {
    owner: Client,
    helper_token: String,
    open: String,
    secret: String,
}

async fn world(url: &str) -> World {
    let anon = Client::new(url, None);
    let setup = anon
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anon.with_token(setup.token);
    let org = setup.org.id;
    let helper = owner
        .create_agent(&org, "helper", None)
        .await
        .expect("agent");
    let space = owner
        .create_space(&org, "Eng", Visibility::Open)
        .await
        .expect("space");
    let open = owner
        .create_channel(&space.id, "general", None, false)
        .await
        .expect("channel");
    owner
        .add_channel_member(&open.id, &helper.principal.id)
        .await
        .expect("join");
    let secret = owner
        .create_channel(&space.id, "secret", None, true)
        .await
        .expect("private channel");
    owner
        .send(
            &secret.id,
            "the launch date is a secret",
            SendOptions::default(),
        )
        .await
        .expect("send");
    World {
        owner,
        helper_token: helper.token,
        open: open.id.to_string(),
        secret: secret.id.to_string(),
    }
}

async fn call(mcp: &Mcp, tool: &'static str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments are an object")
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        mcp.call_tool(CallToolRequestParams::new(tool).with_arguments(args)),
    )
    .await
    .expect("the tool answers in time")
    .expect("a tool result")
}

/// The JSON a tool answered (its one text block).
fn json_of(result: &CallToolResult) -> Value {
    let text = result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .expect("a text result");
    serde_json::from_str(&text).expect("JSON text")
}

/// What both transports must do, as the agent `helper`.
async fn exercise(mcp: &Mcp, w: &World) {
    let tools = mcp.list_all_tools().await.expect("tools");
    let mut names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    let mut expected: Vec<_> = TOOLS.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);

    let listed = json_of(&call(mcp, "list_channels", json!({})).await);
    assert_eq!(listed["you"], "helper");
    let ids: Vec<_> = listed["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert!(
        ids.contains(&json!(w.open)) && !ids.contains(&json!(w.secret)),
        "{listed}"
    );

    // Post, reply in its thread, read the thread back.
    let posted = call(
        mcp,
        "post_message",
        json!({"channel_id": w.open, "text": "status report"}),
    )
    .await;
    assert_ne!(posted.is_error, Some(true), "{posted:?}");
    let root = json_of(&posted)["id"].as_str().expect("id").to_owned();
    let replied = call(
        mcp,
        "reply_in_thread",
        json!({"channel_id": w.open, "thread_id": root, "text": "all green"}),
    )
    .await;
    assert_ne!(replied.is_error, Some(true), "{replied:?}");
    let thread = json_of(
        &call(
            mcp,
            "read_thread",
            json!({"channel_id": w.open, "thread_id": root}),
        )
        .await,
    );
    let texts: Vec<_> = thread["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!("status report"), json!("all green")]);

    // group.md: read revision 0 (the template), write on it, and a second
    // write on the same base is refused rather than overwriting the first.
    let doc = json_of(&call(mcp, "get_groupmd", json!({"channel_id": w.open})).await);
    assert_eq!(doc["revision"], 0, "{doc}");
    let template = doc["text"].as_str().expect("text").to_owned();
    let edited = format!("{template}\nThe helper keeps the status report current.\n");
    let proposed = call(
        mcp,
        "propose_groupmd",
        json!({"channel_id": w.open, "text": edited, "revision": 0}),
    )
    .await;
    assert_ne!(proposed.is_error, Some(true), "{proposed:?}");
    assert_eq!(json_of(&proposed)["revision"], 1);
    let stale = call(
        mcp,
        "propose_groupmd",
        json!({"channel_id": w.open, "text": template, "revision": "0"}),
    )
    .await;
    assert_eq!(stale.is_error, Some(true), "{stale:?}");
    assert_eq!(json_of(&stale)["error"]["code"], "stale_revision");
    let doc = json_of(&call(mcp, "get_groupmd", json!({"channel_id": w.open})).await);
    assert_eq!(
        (doc["revision"].clone(), doc["text"].clone()),
        (json!(1), json!(edited))
    );
    // In review mode the same tool proposes: nothing is written until a
    // member accepts.
    w.owner
        .set_groupmd_mode(
            &octo_core::ChannelId::from_string(&w.open),
            octo_core::groupmd::GroupmdMode::Review,
        )
        .await
        .expect("review mode");
    let reviewed = format!("{edited}\nProposed, not written.\n");
    let pending = call(
        mcp,
        "propose_groupmd",
        json!({"channel_id": w.open, "text": reviewed, "revision": 1}),
    )
    .await;
    assert_ne!(pending.is_error, Some(true), "{pending:?}");
    assert_eq!(json_of(&pending)["status"], "pending");
    assert_eq!(json_of(&pending)["base_revision"], 1);
    let doc = json_of(&call(mcp, "get_groupmd", json!({"channel_id": w.open})).await);
    assert_eq!(doc["revision"], 1, "a proposal is not a revision");
    let hidden = call(mcp, "get_groupmd", json!({"channel_id": w.secret})).await;
    assert_eq!(json_of(&hidden)["error"]["code"], "not_found");

    // Wait for an event: drain what is pending, then someone speaks.
    let first = json_of(&call(mcp, "wait_for_events", json!({"wait_secs": 0})).await);
    let cursor = first["cursor"].as_str().expect("cursor").to_owned();
    let owner = w.owner.clone();
    let open = octo_core::ChannelId::from_string(&w.open);
    let speaker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        owner
            .send(&open, "@helper are you there?", SendOptions::default())
            .await
            .expect("send");
    });
    let mut seen = false;
    let mut cursor = cursor;
    for _ in 0..5 {
        let got = json_of(
            &call(
                mcp,
                "wait_for_events",
                json!({"cursor": cursor, "wait_secs": 10}),
            )
            .await,
        );
        cursor = got["cursor"].as_str().expect("cursor").to_owned();
        seen = got["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["payload"]["message"]["text"] == "@helper are you there?");
        if seen {
            break;
        }
    }
    speaker.await.expect("speaker");
    assert!(seen, "the mention arrived through wait_for_events");

    // A channel the agent is not in does not exist for it.
    let hidden = call(mcp, "read_messages", json!({"channel_id": w.secret})).await;
    assert_eq!(hidden.is_error, Some(true));
    assert_eq!(json_of(&hidden)["error"]["code"], "not_found");
    let hidden = call(
        mcp,
        "post_message",
        json!({"channel_id": w.secret, "text": "hi"}),
    )
    .await;
    assert_eq!(json_of(&hidden)["error"]["code"], "not_found");
}

#[tokio::test]
async fn mcp_over_http_acts_as_the_bearer() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let w = world(&server.url).await;

    // No token: refused before any session.
    let resp = reqwest_free_post(&server.url).await;
    assert_eq!(resp, 401);

    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", server.url))
            .auth_header(w.helper_token.clone()),
    );
    let mcp = ClientConfig::default()
        .serve(transport)
        .await
        .expect("MCP session");
    exercise(&mcp, &w).await;
    let _ = mcp.cancel().await;
    server.stop();
}

#[tokio::test]
async fn mcp_over_stdio_acts_as_octo_token() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let w = world(&server.url).await;
    let mut cmd = tokio::process::Command::new(OCTO);
    cmd.arg("mcp")
        .env("OCTO_URL", &server.url)
        .env("OCTO_TOKEN", &w.helper_token)
        .env("OCTO_LOG", "warn");
    let transport = TokioChildProcess::new(cmd).expect("start octo mcp");
    let mcp = ClientConfig::default()
        .serve(transport)
        .await
        .expect("MCP session");
    exercise(&mcp, &w).await;
    let _ = mcp.cancel().await;
    server.stop();
}

/// The status of an MCP initialize sent without a token.
async fn reqwest_free_post(url: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let req = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out)).await;
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
