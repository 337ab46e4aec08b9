//! `[voice] engine = "openai"` in the config file: `octo serve` sends channel
//! audio to that endpoint, with the channel's words as the biasing prompt.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use common::{OCTO, lines_of};
use octo_client::{Client, SendOptions};
use octo_core::model::Visibility;
use serde_json::json;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Prompts = Arc<Mutex<Vec<String>>>;

/// The `prompt` form field of a multipart body, if any.
fn prompt_of(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find("name=\"prompt\"\r\n\r\n")? + "name=\"prompt\"\r\n\r\n".len();
    let end = start + text[start..].find("\r\n--")?;
    Some(text[start..end].to_owned())
}

async fn transcriptions(State(seen): State<Prompts>, body: Bytes) -> axum::Json<serde_json::Value> {
    seen.lock()
        .expect("lock")
        .push(prompt_of(&body).unwrap_or_default());
    axum::Json(json!({"text": "please restart the pig bouncer"}))
}

/// One second of a quiet 16 kHz mono tone.
fn wav() -> Vec<u8> {
    let samples: Vec<i16> = (0..16_000)
        .map(|i| ((f64::from(i) * 0.17).sin() * 3000.0) as i16)
        .collect();
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&32_000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

#[tokio::test]
async fn the_configured_openai_engine_hears_the_channels_words() {
    let seen: Prompts = Arc::default();
    let app = Router::new()
        .route("/v1/audio/transcriptions", post(transcriptions))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let whisper = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("octo.toml");
    std::fs::write(
        &config,
        format!("[voice]\nengine = \"openai\"\nbase_url = \"{whisper}\"\n"),
    )
    .expect("config");
    let mut child = Command::new(OCTO)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(dir.path().join("data"))
        .env("OCTO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start octo serve");
    let line = lines_of(child.stdout.take().expect("stdout"))
        .recv_timeout(Duration::from_secs(10))
        .expect("octo serve prints where it listens");
    let url = line
        .trim()
        .strip_prefix("octo listening on ")
        .expect("listening line")
        .to_owned();

    let anon = Client::new(&url, None);
    let setup = anon
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anon.with_token(setup.token);
    let space = owner
        .create_space(&setup.org.id, "Ops", Visibility::Open)
        .await
        .expect("space");
    let channel = owner
        .create_channel(&space.id, "db", None, false)
        .await
        .expect("channel");
    for text in [
        "pgbouncer is dropping connections again",
        "I restarted pgbouncer on the replica",
    ] {
        owner
            .send(&channel.id, text, SendOptions::default())
            .await
            .expect("send");
    }
    let heard = owner
        .transcribe(&channel.id, wav(), false)
        .await
        .expect("transcribe");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    assert_eq!(heard["engine"], "openai", "{heard}");
    assert_eq!(heard["raw"], "please restart the pig bouncer", "{heard}");
    assert_eq!(heard["text"], "please restart the pgbouncer", "{heard}");
    let prompts = seen.lock().expect("lock").clone();
    assert!(
        prompts.iter().any(|p| p.contains("pgbouncer")),
        "the endpoint was asked with the channel's words: {prompts:?}"
    );
}
