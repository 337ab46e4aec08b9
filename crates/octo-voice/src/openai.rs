//! Any OpenAI-compatible `/v1/audio/transcriptions` endpoint (whisper.cpp
//! server, faster-whisper, hosted): multipart upload of a 16 kHz WAV, the
//! channel's vocabulary as the biasing `prompt`.

use crate::audio::Audio;
use crate::context::ChannelContext;
use crate::engine::{Engine, EngineError};
use serde::Deserialize;
use std::time::Duration;

/// A transcription that takes longer than this is abandoned.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub struct OpenAiEngine {
    client: reqwest::Client,
    /// e.g. `http://127.0.0.1:8080` (the path is appended).
    base_url: String,
    api_key: Option<String>,
    model: String,
}

#[derive(Deserialize)]
struct TranscriptionResponse {
    text: String,
}

impl OpenAiEngine {
    pub fn new(base_url: &str, api_key: Option<String>, model: &str) -> OpenAiEngine {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        OpenAiEngine {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            model: model.to_string(),
        }
    }
}

/// One `multipart/form-data` body; built by hand since the parts are few.
fn multipart(boundary: &str, fields: &[(&str, &str)], wav: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(wav.len() + 1024);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(wav);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[async_trait::async_trait]
impl Engine for OpenAiEngine {
    fn name(&self) -> &'static str {
        "openai"
    }

    async fn transcribe(
        &self,
        audio: &Audio,
        context: Option<&ChannelContext>,
    ) -> Result<String, EngineError> {
        let boundary = "octo-voice-7f3a9c2e5b1d";
        let prompt = context.map(ChannelContext::prompt).unwrap_or_default();
        let mut fields = vec![("model", self.model.as_str()), ("response_format", "json")];
        if !prompt.is_empty() {
            fields.push(("prompt", prompt.as_str()));
        }
        let body = multipart(boundary, &fields, &audio.to_wav());
        let mut request = self
            .client
            .post(format!("{}/v1/audio/transcriptions", self.base_url))
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                EngineError::Unavailable(format!("cannot reach {}: {e}", self.base_url))
            } else {
                EngineError::Failed(e.to_string())
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(EngineError::Failed(format!(
                "the transcription endpoint answered {status}"
            )));
        }
        let parsed: TranscriptionResponse = response
            .json()
            .await
            .map_err(|e| EngineError::Failed(format!("unreadable transcription: {e}")))?;
        Ok(parsed.text.trim().to_string())
    }
}
