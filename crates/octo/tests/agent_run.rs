//! `octo agent run` as a user runs it: the real binary bridges a shell-script
//! agent into a real `octo serve`, and stops cleanly on SIGTERM.

mod common;

use common::{OCTO, start};
use octo_client::{Client, SendOptions};
use octo_core::model::Visibility;
use reqwest::Method;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn the_bridge_binary_answers_a_mention_and_stops_on_sigterm() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let anon = Client::new(&server.url, None);
    let setup = anon
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anon.with_token(setup.token);
    let scout = owner
        .create_agent(&setup.org.id, "scout", None)
        .await
        .expect("agent");
    let space = owner
        .create_space(&setup.org.id, "Eng", Visibility::Open)
        .await
        .expect("space");
    let channel = owner
        .create_channel(&space.id, "general", None, false)
        .await
        .expect("channel");
    owner
        .add_channel_member(&channel.id, &scout.principal.id)
        .await
        .expect("join");

    let config = data.path().join("agents.toml");
    std::fs::write(
        &config,
        format!(
            "url = \"{}\"\n[[agents]]\nname = \"scout\"\ntoken_env = \"SCOUT_TOKEN\"\n\
             connector = \"command\"\ncommand = [\"sh\", \"-c\", \"cat >/dev/null; echo pong\"]\n",
            server.url
        ),
    )
    .expect("write config");
    let mut bridge = Command::new(OCTO)
        .args(["agent", "run", "--config"])
        .arg(&config)
        .env("SCOUT_TOKEN", &scout.token)
        .env("OCTO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the bridge");

    let ping = owner
        .send(&channel.id, "@scout ping", SendOptions::default())
        .await
        .expect("send");
    let path = format!("/channels/{}/threads/{}/messages", channel.id, ping.id);
    let mut answer = None;
    for _ in 0..200 {
        let page: Value = owner.call(Method::GET, &path, None).await.expect("thread");
        answer = page["items"]
            .as_array()
            .and_then(|items| items.iter().find(|m| m["stream"] == "finished").cloned());
        if answer.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = answer.expect("scout answered within 10 s");
    assert_eq!(answer["text"], "pong\n");
    assert_eq!(answer["author_id"], scout.principal.id.to_string());

    let status = Command::new("kill")
        .args(["-TERM", &bridge.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut exited = None;
    for _ in 0..200 {
        exited = bridge.try_wait().expect("wait");
        if exited.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = bridge.kill();
    assert!(exited.expect("the bridge stops on SIGTERM").success());
    server.stop();
}

#[test]
fn a_bad_config_is_refused_naming_the_agent_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("agents.toml");
    std::fs::write(
        &config,
        "url = \"http://127.0.0.1:9\"\n[[agents]]\nname = \"scout\"\ntoken = \"t\"\nconnector = \"command\"\n",
    )
    .expect("write");
    let out = Command::new(OCTO)
        .args(["agent", "run", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scout") && err.contains("command"), "{err}");
}
