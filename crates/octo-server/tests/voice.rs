//! `POST /channels/{id}/transcribe`: audio in, the channel's words out.
//! The engine is a local server speaking the OpenAI transcription protocol
//! (multipart upload, JSON answer), so what the server sends it is checked
//! too; one test runs the embedded pocketsphinx on flite speech when both are
//! installed, and otherwise checks the clear "engine unavailable" answer.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use common::*;
use octo_voice::{Pronouncer, Voice};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// What the fake transcription server saw in one request.
#[derive(Debug, Clone, Default)]
struct Seen {
    prompt: Option<String>,
    model: Option<String>,
    wav_rate: u32,
    wav_channels: u16,
}

#[derive(Clone)]
struct Fake {
    reply: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn field(body: &[u8], name: &str) -> Option<Vec<u8>> {
    let marker = format!("name=\"{name}\"");
    let text = body;
    let at = find(text, marker.as_bytes())?;
    let start = at + find(&text[at..], b"\r\n\r\n")? + 4;
    let end = start + find(&text[start..], b"\r\n--")?;
    Some(text[start..end].to_vec())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn transcriptions(State(fake): State<Fake>, body: Bytes) -> axum::Json<Value> {
    let file = field(&body, "file").unwrap_or_default();
    let seen = Seen {
        prompt: field(&body, "prompt").map(|p| String::from_utf8_lossy(&p).into_owned()),
        model: field(&body, "model").map(|p| String::from_utf8_lossy(&p).into_owned()),
        wav_channels: file
            .get(22..24)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]])),
        wav_rate: file
            .get(24..28)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    };
    fake.seen.lock().expect("seen lock").push(seen);
    axum::Json(json!({"text": fake.reply}))
}

/// Starts the fake transcription endpoint on loopback; returns its base URL.
async fn fake_whisper(reply: &str) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = Fake {
        reply: reply.to_string(),
        seen: seen.clone(),
    };
    let app = Router::new()
        .route("/v1/audio/transcriptions", post(transcriptions))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn openai_voice(url: &str) -> Voice {
    let pronouncer = Arc::new(Pronouncer::default_dict());
    let engine = octo_voice::openai::OpenAiEngine::new(url, None, "whisper-1");
    Voice::new(Arc::new(engine), pronouncer)
}

/// A WAV of `seconds` of a quiet tone with the given layout.
fn wav(rate: u32, channels: u16, bits: u16, seconds: f64) -> Vec<u8> {
    let frames = (f64::from(rate) * seconds) as usize;
    let mut data = Vec::new();
    for i in 0..frames {
        let v = (i as f64 * 440.0 * 2.0 * std::f64::consts::PI / f64::from(rate)).sin() * 0.2;
        for _ in 0..channels {
            match bits {
                8 => data.push((v * 127.0 + 128.0) as u8),
                _ => data.extend_from_slice(&((v * 32767.0) as i16).to_le_bytes()),
            }
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    let block = channels * bits / 8;
    out.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

async fn send_audio(
    app: &TestApp,
    channel: &str,
    token: &str,
    query: &str,
    body: Vec<u8>,
) -> Answer {
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/channels/{channel}/transcribe{query}")))
        .bearer_auth(token)
        .header("content-type", "audio/wav")
        .body(body)
        .send()
        .await
        .expect("request");
    TestApp::answer(resp).await
}

/// A channel that talks about pgbouncer and node_exporter, with Priya in it.
async fn ops_channel(app: &TestApp) -> (Org, String, String) {
    let org = setup(app).await;
    let (_, channel) = space_and_channel(app, &org, false).await;
    let (priya, priya_token) = add_human(app, &org, "priya", "member").await;
    join(app, &org, &channel, &priya).await;
    say(
        app,
        &channel,
        &org.owner_token,
        "pgbouncer pool is saturated again",
    )
    .await;
    say(
        app,
        &channel,
        &priya_token,
        "restarting pgbouncer now, then node_exporter",
    )
    .await;
    say(
        app,
        &channel,
        &org.owner_token,
        "thanks, the pgbouncer graphs look fine",
    )
    .await;
    (org, channel, priya_token)
}

#[tokio::test]
async fn the_channel_corrects_what_the_engine_heard_and_biases_its_prompt() {
    let (url, seen) = fake_whisper("at priya can you check the pig bouncer pool size").await;
    let app = spawn_app_with_voice(openai_voice(&url)).await;
    let (org, channel, _) = ops_channel(&app).await;

    let body = send_audio(
        &app,
        &channel,
        &org.owner_token,
        "",
        wav(44_100, 2, 16, 1.0),
    )
    .await
    .expect(200);
    assert_eq!(body["engine"], "openai");
    assert_eq!(
        body["raw"],
        "at priya can you check the pig bouncer pool size"
    );
    assert_eq!(body["text"], "@priya can you check the pgbouncer pool size");
    assert_eq!(body["mentions"], json!(["priya"]));
    let corrections = body["corrections"].as_array().unwrap();
    let text = body["text"].as_str().unwrap();
    let fix = corrections
        .iter()
        .find(|c| c["after"] == "pgbouncer")
        .expect("a pgbouncer correction");
    assert_eq!(fix["before"], "pig bouncer");
    assert_eq!(fix["reason"], "sounds_like");
    let (start, end) = (
        fix["start"].as_u64().unwrap() as usize,
        fix["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[start..end], "pgbouncer");
    assert!(
        corrections
            .iter()
            .any(|c| c["reason"] == "mention" && c["after"] == "@priya")
    );

    // The engine got 16 kHz mono and the channel's vocabulary as its prompt.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].wav_rate, seen[0].wav_channels), (16_000, 1));
    assert_eq!(seen[0].model.as_deref(), Some("whisper-1"));
    let prompt = seen[0].prompt.clone().expect("a prompt");
    for word in ["pgbouncer", "node_exporter", "priya"] {
        assert!(prompt.contains(word), "{word} missing from {prompt:?}");
    }
}

#[tokio::test]
async fn ordinary_words_are_not_turned_into_jargon() {
    let (url, _) = fake_whisper("can you share the dashboard link before lunch").await;
    let app = spawn_app_with_voice(openai_voice(&url)).await;
    let (org, channel, _) = ops_channel(&app).await;
    let body = send_audio(
        &app,
        &channel,
        &org.owner_token,
        "",
        wav(16_000, 1, 16, 0.5),
    )
    .await
    .expect(200);
    assert_eq!(
        body["text"],
        "can you share the dashboard link before lunch"
    );
    assert_eq!(body["corrections"], json!([]));
}

#[tokio::test]
async fn post_true_posts_the_corrected_text_as_the_caller() {
    let (url, _) = fake_whisper("restart node underscore exporter please").await;
    let app = spawn_app_with_voice(openai_voice(&url)).await;
    let (org, channel, priya_token) = ops_channel(&app).await;
    let body = send_audio(
        &app,
        &channel,
        &priya_token,
        "?post=true",
        wav(16_000, 1, 16, 0.5),
    )
    .await
    .expect(200);
    assert_eq!(body["text"], "restart node_exporter please");
    let messages = app
        .get(&format!("/channels/{channel}/messages"), &org.owner_token)
        .await
        .expect(200);
    let items = messages["items"].as_array().unwrap();
    let last = items.iter().max_by_key(|m| m["seq"].as_u64()).unwrap();
    assert_eq!(last["text"], "restart node_exporter please");
    assert_eq!(last["id"], body["message"]["id"]);
}

#[tokio::test]
async fn bad_audio_gets_a_clear_error() {
    let (url, seen) = fake_whisper("hello").await;
    let app = spawn_app_with_voice(openai_voice(&url)).await;
    let (org, channel, _) = ops_channel(&app).await;
    let t = &org.owner_token;

    send_audio(&app, &channel, t, "", Vec::new())
        .await
        .expect_error(400, "empty_audio");
    let full = wav(16_000, 1, 16, 0.2);
    send_audio(&app, &channel, t, "", full[..30].to_vec())
        .await
        .expect_error(400, "invalid_audio");
    send_audio(&app, &channel, t, "", b"{\"not\": \"audio\"}".to_vec())
        .await
        .expect_error(400, "invalid_audio");
    // Ten minutes of 8 kHz 8-bit mono fits the size limit but not the length one.
    send_audio(&app, &channel, t, "", wav(8_000, 1, 8, 600.0))
        .await
        .expect_error(413, "audio_too_long");
    // Over the byte limit: refused before it is read whole.
    send_audio(&app, &channel, t, "", vec![0u8; 25 * 1024 * 1024])
        .await
        .expect_error(413, "body_too_large");
    send_audio(&app, &channel, t, "?post=maybe", full.clone())
        .await
        .expect_error(400, "invalid_post");
    assert!(
        seen.lock().unwrap().is_empty(),
        "bad audio never reaches the engine"
    );

    // 8-bit audio is decoded, not refused.
    let body = send_audio(&app, &channel, t, "", wav(16_000, 1, 8, 0.5))
        .await
        .expect(200);
    assert_eq!(body["text"], "hello");
}

#[tokio::test]
async fn only_readers_may_transcribe_and_only_posters_may_post() {
    let (url, _) = fake_whisper("hello").await;
    let app = spawn_app_with_voice(openai_voice(&url)).await;
    let org = setup(&app).await;
    let (_, private) = space_and_channel(&app, &org, true).await;
    let (_, outsider) = add_human(&app, &org, "mallory", "member").await;
    send_audio(&app, &private, &outsider, "", wav(16_000, 1, 16, 0.2))
        .await
        .expect_error(404, "not_found");
    send_audio(
        &app,
        &private,
        &outsider,
        "?post=true",
        wav(16_000, 1, 16, 0.2),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn an_unreachable_engine_is_a_503_with_a_code() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let app = spawn_app_with_voice(openai_voice(&url)).await;
    let org = setup(&app).await;
    let (_, channel) = space_and_channel(&app, &org, false).await;
    send_audio(
        &app,
        &channel,
        &org.owner_token,
        "",
        wav(16_000, 1, 16, 0.2),
    )
    .await
    .expect_error(503, "engine_unavailable");
}

fn flite_wav(text: &str, dir: &std::path::Path) -> Option<Vec<u8>> {
    let out = dir.join("speech.wav");
    let status = std::process::Command::new("flite")
        .args(["-voice", "slt", "-t", text, "-o"])
        .arg(&out)
        .status()
        .ok()?;
    status.success().then(|| std::fs::read(&out).ok()).flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pocketsphinx_hears_the_channel_words_or_says_it_is_unavailable() {
    let app = spawn_app().await;
    let (org, channel, _) = ops_channel(&app).await;
    let sphinx = octo_voice::pocketsphinx::PocketsphinxEngine::new(
        std::path::Path::new(octo_voice::pocketsphinx::DEFAULT_MODEL_DIR),
        Arc::new(Pronouncer::default_dict()),
    );
    let Some(speech) = flite_wav("at priya can you restart pgbouncer", app.dir.path()) else {
        // Without flite there is no speech to test with; silence must still
        // get a definite answer.
        let answer = send_audio(
            &app,
            &channel,
            &org.owner_token,
            "",
            wav(16_000, 1, 16, 0.5),
        )
        .await;
        assert!(answer.status == 200 || answer.code() == "engine_unavailable");
        return;
    };
    let answer = send_audio(&app, &channel, &org.owner_token, "", speech).await;
    if sphinx.check().is_err() {
        answer.expect_error(503, "engine_unavailable");
        return;
    }
    let body = answer.expect(200);
    assert_eq!(body["engine"], "pocketsphinx");
    // Recognition quality is measured by `octo eval voice`; here the route
    // must run the real decoder on real speech and hear words.
    let raw = body["raw"].as_str().unwrap();
    assert!(raw.split_whitespace().count() >= 3, "heard {raw:?}");
    assert!(body["audio_seconds"].as_f64().unwrap() > 1.0);
}

#[tokio::test]
async fn the_route_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let route = &doc["paths"]["/api/v1/channels/{id}/transcribe"]["post"];
    assert!(route.is_object(), "missing: {route}");
    assert!(route["responses"]["503"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_without_messages_still_transcribes() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, channel) = space_and_channel(&app, &org, false).await;
    let Some(speech) = flite_wav("please check the dashboard", app.dir.path()) else {
        return;
    };
    let answer = send_audio(&app, &channel, &org.owner_token, "", speech).await;
    if answer.status == 503 {
        answer.expect_error(503, "engine_unavailable");
        return;
    }
    let body = answer.expect(200);
    assert!(!body["raw"].as_str().unwrap().is_empty());
}
