//! The real `octo` binary, as a new user runs it: serve, set up, use the CLI,
//! stop with SIGTERM, start again.

mod common;

use common::{OCTO, start};
use octo_client::{Client, SendOptions};
use std::process::Command;

fn cli(url: &str, token: &str, config_dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(OCTO)
        .args(args)
        .env("OCTO_URL", url)
        .env("OCTO_TOKEN", token)
        .env("OCTO_CONFIG_DIR", config_dir)
        .output()
        .expect("run octo");
    assert!(
        out.status.success(),
        "octo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn serve_setup_cli_sigterm_and_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let config_dir = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);

    let anon = Client::new(&server.url, None);
    let setup = anon
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anon.with_token(&setup.token);
    let space = owner
        .create_space(&setup.org.id, "Eng", octo_core::model::Visibility::Open)
        .await
        .expect("space");
    let channel = owner
        .create_channel(&space.id, "general", None, false)
        .await
        .expect("channel");

    // `octo login` stores a token that the other commands then use.
    let login = Command::new(OCTO)
        .args(["login", "--url", &server.url, "--email", "olivia@acme.test"])
        .env("OCTO_PASSWORD", "owner-pass-1")
        .env("OCTO_CONFIG_DIR", config_dir.path())
        .env_remove("OCTO_URL")
        .output()
        .expect("login");
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let saved = std::fs::read_to_string(config_dir.path().join("login.json")).expect("login file");
    assert!(saved.contains("octo_"));
    let listed = Command::new(OCTO)
        .arg("channels")
        .env("OCTO_CONFIG_DIR", config_dir.path())
        .env_remove("OCTO_URL")
        .env_remove("OCTO_TOKEN")
        .output()
        .expect("channels");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("Eng/general"));

    let created = cli(
        &server.url,
        &setup.token,
        config_dir.path(),
        &["agent", "create", "scout", "--description", "finds things"],
    );
    let agent_token = created
        .lines()
        .find_map(|l| l.strip_prefix("token (shown once; store it now): "))
        .expect("token printed")
        .to_owned();
    let agent = owner.with_token(&agent_token);
    let me = agent.me().await.expect("agent token works");
    owner
        .add_channel_member(&channel.id, &me.principal.id)
        .await
        .expect("add agent");

    cli(
        &server.url,
        &setup.token,
        config_dir.path(),
        &["send", "Eng/general", "hello @scout"],
    );
    cli(
        &server.url,
        &agent_token,
        config_dir.path(),
        &["send", "general", "hello, human"],
    );
    let page = owner.messages(&channel.id, "").await.expect("history");
    let texts: Vec<_> = page.items.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["hello @scout", "hello, human"]);
    let last_seq = page.items.last().map(|m| m.seq).expect("seq");
    let found = cli(
        &server.url,
        &setup.token,
        config_dir.path(),
        &["search", "human", "--channel", "Eng/general"],
    );
    assert!(found.contains("hello, human"), "{found}");
    let none = cli(
        &server.url,
        &setup.token,
        config_dir.path(),
        &["search", "zebra"],
    );
    assert!(none.contains("no messages found"), "{none}");

    server.stop();
    let server = start(data.path(), 0);
    let owner = Client::new(&server.url, Some(setup.token.clone()));
    let next = owner
        .send(&channel.id, "after restart", SendOptions::default())
        .await
        .expect("send after restart");
    assert_eq!(next.seq, last_seq + 1);
    let events = owner.events(&channel.id, 0, 500).await.expect("events");
    let seqs: Vec<u64> = events.items.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=last_seq + 1).collect::<Vec<_>>());
    server.stop();
}

#[test]
fn config_example_is_printed() {
    let out = Command::new(OCTO)
        .args(["config", "example"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen = \"127.0.0.1:8080\""));
    assert!(text.contains("[limits.rate_limit]"));
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("octo.toml");
    std::fs::write(&path, "listen = 12\n").expect("write");
    let out = Command::new(OCTO)
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("octo.toml"));
}
