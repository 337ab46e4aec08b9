//! `octo transcribe` (through the server's API) and `octo eval voice`
//! (offline, through the same `octo_voice::Voice::transcribe` the route uses).

use anyhow::Context as _;
use octo_voice::{ChannelInput, Voice};
use serde::Deserialize;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

pub async fn transcribe(file: &Path, channel: &str, post: bool) -> anyhow::Result<()> {
    let wav = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let client = crate::cli::client()?;
    let channel = octo_core::ChannelId::from_string(channel.to_string());
    let answer = client.transcribe(&channel, wav, post).await?;
    println!("{}", answer["text"].as_str().unwrap_or_default());
    if let Some(fixes) = answer["corrections"].as_array() {
        for c in fixes {
            eprintln!("  {} -> {} ({})", c["before"], c["after"], c["reason"]);
        }
    }
    Ok(())
}

/// One evaluation case. Only what a channel would know is read: the answer
/// key (`reference`, `domain_terms`) is not a field here, so it is never
/// deserialised.
#[derive(Deserialize)]
struct EvalCase {
    id: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    recent_messages: Vec<String>,
    #[serde(default)]
    vocabulary: Vec<String>,
}

pub async fn eval(cases: &Path, audio: &Path, out: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(cases)
        .with_context(|| format!("cannot read {}", cases.display()))?;
    let voice = tokio::task::spawn_blocking(Voice::pocketsphinx).await?;
    let mut lines = Vec::new();
    let mut audio_secs = 0.0;
    let mut latencies = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: EvalCase = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a case", cases.display(), n + 1))?;
        let wav_path = audio.join(format!("{}.wav", case.id));
        let wav = std::fs::read(&wav_path)
            .with_context(|| format!("cannot read {}", wav_path.display()))?;
        // raw: the engine alone, with no channel context at all.
        let raw = voice.transcribe(&wav, None).await?;
        let input = ChannelInput {
            members: case.members,
            messages: case.recent_messages,
            glossary: case.vocabulary,
        };
        let started = Instant::now();
        let full = voice.transcribe(&wav, Some(&input)).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        audio_secs += full.audio_seconds;
        latencies.push(ms);
        eprintln!(
            "{}: {:.0} ms for {:.1} s | {}",
            case.id, ms, full.audio_seconds, full.text
        );
        lines.push(
            serde_json::json!({"id": case.id, "raw": raw.text, "text": full.text}).to_string(),
        );
    }
    let mut file = std::fs::File::create(out)?;
    for l in &lines {
        writeln!(file, "{l}")?;
    }
    if !latencies.is_empty() {
        let total: f64 = latencies.iter().sum();
        latencies.sort_by(f64::total_cmp);
        eprintln!(
            "{} cases, real-time factor {:.2} (with context), latency per utterance: mean {:.0} ms, median {:.0} ms, max {:.0} ms",
            latencies.len(),
            total / 1000.0 / audio_secs.max(1e-9),
            total / latencies.len() as f64,
            latencies[latencies.len() / 2],
            latencies[latencies.len() - 1]
        );
    }
    Ok(())
}
