//! `octo serve` runs the built-in scribe in-process: it reaches the server
//! through its loopback URL with its own token and keeps group.md current.

mod common;

use common::{OCTO, Server, lines_of};
use octo_client::{Client, SendOptions};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const STEP: Duration = Duration::from_millis(100);

/// `octo serve` with a config file whose short scribe lease makes it start
/// soon after setup.
fn start_with_scribe(data: &std::path::Path, port: u16) -> Server {
    let config = data.join("octo.toml");
    std::fs::write(
        &config,
        "[scribe]\nenabled = true\nevery_messages = 1000\nidle_secs = 3600\nlease_ms = 300\n",
    )
    .expect("config");
    let mut child = Command::new(OCTO)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .arg("--config")
        .arg(&config)
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

#[tokio::test]
async fn serve_runs_the_scribe_which_answers_groupmd() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start_with_scribe(data.path(), 0);
    let anon = Client::new(&server.url, None);
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
        .expect("channel");
    owner
        .send(
            &channel.id,
            "Decision: releases go out on Tuesdays",
            SendOptions::default(),
        )
        .await
        .expect("send");
    // The scribe starts within a lease tick; `/groupmd` until it has answered
    // (a command sent before it subscribed is replayed from its cursor anyway).
    owner
        .send(&channel.id, "/groupmd", SendOptions::default())
        .await
        .expect("send");
    let mut doc = String::new();
    for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
        doc = owner.groupmd(&channel.id).await.expect("groupmd").text;
        if doc.to_lowercase().contains("releases go out on tuesdays") {
            break;
        }
        tokio::time::sleep(STEP).await;
    }
    assert!(
        doc.to_lowercase().contains("releases go out on tuesdays"),
        "{doc}"
    );
    let mut noted = false;
    for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
        let page = owner
            .messages(&channel.id, "limit=50")
            .await
            .expect("history");
        if page
            .items
            .iter()
            .any(|m| m.author_id == scribe.id && m.text.starts_with("group.md updated:"))
        {
            noted = true;
            break;
        }
        tokio::time::sleep(STEP).await;
    }
    assert!(noted, "the scribe posted its note");

    // A channel created while the scribe is connected is kept up to date too.
    let later = owner
        .create_channel(&space.id, "later", None, false)
        .await
        .expect("channel");
    for text in ["Decision: the demo moves to Friday", "/groupmd"] {
        owner
            .send(&later.id, text, SendOptions::default())
            .await
            .expect("send");
    }
    let mut doc = String::new();
    for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
        doc = owner.groupmd(&later.id).await.expect("groupmd").text;
        if doc.to_lowercase().contains("the demo moves to friday") {
            break;
        }
        tokio::time::sleep(STEP).await;
    }
    assert!(
        doc.to_lowercase().contains("the demo moves to friday"),
        "{doc}"
    );
    server.stop();
}
