//! `octo groupmd extract`, as the evaluation runs it.

use std::process::Command;

const OCTO: &str = env!("CARGO_BIN_EXE_octo");

fn extract(file: &std::path::Path) -> std::process::Output {
    Command::new(OCTO)
        .args(["groupmd", "extract", "--input"])
        .arg(file)
        .output()
        .expect("run octo")
}

#[test]
fn extract_prints_items_and_never_uses_the_answer_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("conv.json");
    let conversation = serde_json::json!({
        "channel": "garden",
        "members": [{"name": "Ana", "kind": "human"}, {"name": "Bo", "kind": "human"},
                    {"name": "helper", "kind": "agent"}],
        "messages": [
            {"id": 1, "author": "Ana", "text": "Decision: the gate is locked at 9pm",
             "thread_id": null, "reactions": []},
            {"id": 2, "author": "Bo", "text": "I'll oil the gate hinges",
             "thread_id": null, "reactions": []},
            {"id": 3, "author": "Bo", "text": "done, hinges oiled",
             "thread_id": 2, "reactions": [{"emoji": "\u{2705}", "by": "Ana"}]},
            {"id": 4, "author": "Ana", "text": "Question: who has the spare key?",
             "thread_id": null, "reactions": []}
        ],
        // A decoy answer key: none of it may show up in the output.
        "expected": {"decisions": ["DECOY decision"], "action_items": [], "open_questions": []}
    });
    std::fs::write(&file, conversation.to_string()).expect("write");
    let out = extract(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        printed,
        serde_json::json!({
            "decisions": ["The gate is locked at 9pm"],
            "action_items": [{"owner": "Bo", "text": "Oil the gate hinges", "done": true}],
            "open_questions": ["Who has the spare key?"]
        })
    );
}

#[test]
fn extract_refuses_a_file_that_is_not_a_conversation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("conv.json");
    std::fs::write(&file, "{\"messages\": 3}").expect("write");
    let out = extract(&file);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a conversation file"), "{err}");
}

/// A local server speaking OpenAI's `chat/completions`: it answers every
/// request with `answer` and keeps what it was sent.
struct Model {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

async fn start_model(answer: &'static str) -> Model {
    use axum::Json;
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |Json(body): Json<serde_json::Value>| {
            let kept = kept.clone();
            async move {
                let model = body["model"].clone();
                kept.lock().expect("lock").push(body);
                Json(serde_json::json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer}}],
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("model serves");
    });
    Model { url, seen }
}

/// `extract --llm-url` run off the test's runtime, which serves the model.
async fn extract_with_model(file: &std::path::Path, url: &str) -> std::process::Output {
    let (file, url) = (file.to_owned(), url.to_owned());
    tokio::task::spawn_blocking(move || {
        Command::new(OCTO)
            .args(["groupmd", "extract", "--input"])
            .arg(&file)
            .args(["--llm-url", &url, "--model", "local-model"])
            .output()
            .expect("run octo")
    })
    .await
    .expect("join")
}

fn garden(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("conv.json");
    let conversation = serde_json::json!({
        "channel": "garden",
        "members": [{"name": "Ana", "kind": "human"}, {"name": "Bo", "kind": "human"}],
        "messages": [
            {"id": 1, "author": "Ana", "text": "we lock the gate at nine from now on",
             "thread_id": null, "reactions": []},
            {"id": 2, "author": "Bo", "text": "I'll oil the hinges tomorrow",
             "thread_id": null, "reactions": [{"emoji": "\u{2705}", "by": "Ana"}]}
        ],
        "expected": {"decisions": ["DECOY decision"], "action_items": [], "open_questions": []}
    });
    std::fs::write(&file, conversation.to_string()).expect("write");
    file
}

/// With `--llm-url`, the model reads the conversation (and nothing of the
/// answer key) and its document's items are printed as the rules' would be.
#[tokio::test]
async fn extract_with_an_llm_prints_the_items_of_the_models_document() {
    let model = start_model(
        "# group.md\n\n## Purpose\n\n## Decisions\n- The garden gate is locked at 9pm (from #1)\n\n\
         ## Working agreements\n\n## Open questions\n- Who keeps the spare key? (from #1)\n\n\
         ## Action items\n- [x] Oil the gate hinges (@Bo, from #2)\n\n## Glossary\n",
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = extract_with_model(&garden(dir.path()), &model.url).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        printed,
        serde_json::json!({
            "decisions": ["The garden gate is locked at 9pm"],
            "action_items": [{"owner": "Bo", "text": "Oil the gate hinges", "done": true}],
            "open_questions": ["Who keeps the spare key?"]
        })
    );
    let seen = model.seen.lock().expect("lock");
    assert_eq!(seen.len(), 1, "one pass, one request");
    assert_eq!(seen[0]["model"], "local-model");
    let asked = seen[0].to_string();
    assert!(
        asked.contains("we lock the gate at nine from now on"),
        "{asked}"
    );
    assert!(asked.contains("I'll oil the hinges tomorrow"), "{asked}");
    assert!(!asked.contains("DECOY"), "the answer key reached the model");
}

/// A document the scribe would refuse (here a standard section is missing)
/// fails the command, saying why, instead of falling back to the rules.
#[tokio::test]
async fn extract_with_an_llm_refuses_an_invalid_document() {
    let model = start_model("# group.md\n\n## Decisions\n- Lock the gate at 9pm\n").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = extract_with_model(&garden(dir.path()), &model.url).await;
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "nothing is printed for a refused document"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("refused"), "{said}");
}
