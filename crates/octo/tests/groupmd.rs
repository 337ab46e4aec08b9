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
