//! The `command` connector against a real server: real processes, real
//! WebSocket triggers, replies read back through the API.

mod common;

use common::*;
use serde_json::Value;

fn config(url: &str, token: &str, command: &str, extra: &str) -> String {
    let command = serde_json::to_string(command).expect("json string");
    format!(
        "url = \"{url}\"\n[[agents]]\nname = \"scout\"\ntoken = \"{token}\"\nconnector = \"command\"\n\
         command = [\"sh\", \"-c\", {command}]\n{extra}\n"
    )
}

fn finished(m: &Value) -> bool {
    m["stream"] == "finished"
}

#[tokio::test]
async fn a_shell_script_agent_answers_a_mention_in_its_thread() {
    let app = spawn_app().await;
    let (scout, token) = app.agent("scout").await;
    let channel = app.channel(&[&scout]).await;
    // Reads the thread as text on stdin; answers from it and its environment.
    let script = r#"ctx=$(cat); printf 'scout in %s: ' "$OCTO_TRIGGER_REASON"; case "$ctx" in *rollback*) echo "the plan says rollback";; *) echo "no plan seen";; esac"#;
    let bridge = start_bridge(&config(&app.url, &token, script, "input = \"text\"")).await;

    let root = app
        .say(&channel, "the plan: rollback on failure", None)
        .await;
    let root = root["id"].as_str().expect("id").to_owned();
    let ask = app
        .say(&channel, "@scout what is the plan?", Some(&root))
        .await;

    let reply = eventually("scout's reply", || async {
        app.replies(&channel, &root)
            .await
            .into_iter()
            .find(|m| m["author_id"] == scout.as_str() && finished(m))
    })
    .await;
    assert_eq!(reply["text"], "scout in mention: the plan says rollback\n");
    assert_eq!(reply["thread_id"], root.as_str());
    // Streamed: members saw at least one delta before the finish.
    let events = app.events(&channel).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "message.delta" && e["payload"]["message_id"] == reply["id"]),
        "no delta for {reply}: {events:?}"
    );
    // Acked once answered: a restart would not bring this turn again.
    let seq = ask["seq"].as_u64().expect("seq");
    eventually("the ack", || async {
        (app.acked(&channel, &scout).await >= seq).then_some(())
    })
    .await;
    bridge.stop().await;
}

#[tokio::test]
async fn a_hung_command_is_killed_at_its_timeout_and_the_channel_says_why() {
    let app = spawn_app().await;
    let (scout, token) = app.agent("scout").await;
    let channel = app.channel(&[&scout]).await;
    let pidfile = tempfile::NamedTempFile::new().expect("pid file");
    let pidpath = pidfile.path().display().to_string();
    // A child of the script that would outlive a kill of the script alone.
    let script = format!("sleep 300 & echo $! > {pidpath}; wait");
    let bridge = start_bridge(&config(&app.url, &token, &script, "timeout_secs = 1")).await;

    app.say(&channel, "@scout this will hang", None).await;
    let status = eventually("a status event", || async {
        app.events(&channel)
            .await
            .into_iter()
            .find(|e| e["kind"] == "agent.status" && e["actor"] == scout.as_str())
    })
    .await;
    let text = status["payload"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("timed out after 1 s"), "{status}");

    // The whole process group went, the sleeping grandchild included.
    let pid = std::fs::read_to_string(&pidpath)
        .expect("pid")
        .trim()
        .to_owned();
    eventually("the grandchild to die", || async {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie nobody reaped yet: either way not running.
        let alive = state.split_whitespace().nth(2).is_some_and(|s| s != "Z");
        (!alive).then_some(())
    })
    .await;
    bridge.stop().await;
}

#[tokio::test]
async fn a_failing_command_shows_its_exit_and_last_error_line() {
    let app = spawn_app().await;
    let (scout, token) = app.agent("scout").await;
    let channel = app.channel(&[&scout]).await;
    let script = "cat >/dev/null; echo 'model not configured' >&2; exit 3";
    let bridge = start_bridge(&config(&app.url, &token, script, "")).await;
    app.say(&channel, "@scout hello", None).await;
    let status = eventually("a status event", || async {
        app.events(&channel)
            .await
            .into_iter()
            .find(|e| e["kind"] == "agent.status" && e["actor"] == scout.as_str())
    })
    .await;
    assert_eq!(
        status["payload"]["text"],
        "the command failed (exit status 3): model not configured"
    );
    bridge.stop().await;
}

#[tokio::test]
async fn a_restarted_bridge_loses_no_mention_and_answers_none_twice() {
    let app = spawn_app().await;
    let (scout, token) = app.agent("scout").await;
    let channel = app.channel(&[&scout]).await;
    let script = r#"cat >/dev/null; echo "answer to $OCTO_MESSAGE_ID""#;
    let conf = config(&app.url, &token, script, "concurrency = 4");

    let mut asked = Vec::new();
    let bridge = start_bridge(&conf).await;
    for i in 0..4 {
        asked.push(
            app.say(&channel, &format!("@scout question {i}"), None)
                .await,
        );
    }
    // Crash while some of these are being answered.
    let first = asked[0]["id"].as_str().expect("id").to_owned();
    eventually("a first answer", || async {
        (!app.replies(&channel, &first).await.is_empty()).then_some(())
    })
    .await;
    bridge.kill();
    // Asked while no bridge runs.
    for i in 4..7 {
        asked.push(
            app.say(&channel, &format!("@scout question {i}"), None)
                .await,
        );
    }
    let bridge = start_bridge(&conf).await;
    for i in 7..9 {
        asked.push(
            app.say(&channel, &format!("@scout question {i}"), None)
                .await,
        );
    }
    let last = asked
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .max()
        .expect("seqs");
    eventually("every trigger acked", || async {
        (app.acked(&channel, &scout).await >= last).then_some(())
    })
    .await;
    bridge.stop().await;

    for m in &asked {
        let id = m["id"].as_str().expect("id");
        let replies = app.replies(&channel, id).await;
        assert_eq!(replies.len(), 1, "{}: {replies:?}", m["text"]);
        assert_eq!(replies[0]["text"], format!("answer to {id}\n"));
        assert!(finished(&replies[0]), "{:?}", replies[0]);
    }
}
