//! A small non-streaming client for an OpenAI-compatible
//! `POST {base_url}/chat/completions`: one system and one user message in,
//! `choices[0].message.content` out. 429, 5xx and unreachable endpoints are
//! retried a bounded number of times with backoff.

use std::time::Duration;

use serde_json::{Value, json};
use thiserror::Error;

use crate::config::OpenAiMaintainer;

/// The longest wait between attempts, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

#[derive(Debug, Error)]
pub enum LlmError {
    #[error("the model endpoint failed after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("the model endpoint refused the request ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("the model's answer is not chat/completions JSON: {0}")]
    NotJson(String),
    #[error("the model's answer has no choices[0].message.content")]
    NoContent,
    #[error("the model's answer is over {0} bytes")]
    TooLarge(usize),
}

pub struct ChatClient {
    config: OpenAiMaintainer,
    http: reqwest::Client,
}

impl ChatClient {
    pub fn new(config: OpenAiMaintainer) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        Self { config, http }
    }

    /// One completion at temperature 0.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let body = json!({
            "model": self.config.model,
            "temperature": 0,
            "stream": false,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
        });
        let bytes = self.send(&body).await?;
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|_| LlmError::NotJson(clip(&String::from_utf8_lossy(&bytes), 200)))?;
        answer["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or(LlmError::NoContent)
    }

    /// POSTs `body`; returns the successful answer's bytes.
    async fn send(&self, body: &Value) -> Result<Vec<u8>, LlmError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let attempts = self.config.max_attempts.max(1);
        let mut delay = FIRST_BACKOFF;
        let mut last = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
            let mut req = self.http.post(&url).json(body);
            if let Some(key) = &self.config.api_key {
                req = req.bearer_auth(key);
            }
            let mut resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("cannot reach it: {e}");
                    continue;
                }
            };
            let status = resp.status();
            if status.as_u16() == 429 || status.is_server_error() {
                if let Some(secs) = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                {
                    delay = Duration::from_secs(secs).min(MAX_BACKOFF);
                }
                last = format!("it answered {status}");
                continue;
            }
            let limit = self.config.max_response_bytes;
            let mut bytes = Vec::new();
            let mut broke = false;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        if bytes.len() + chunk.len() > limit {
                            return Err(LlmError::TooLarge(limit));
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        last = format!("its answer broke off: {e}");
                        broke = true;
                        break;
                    }
                }
            }
            if broke {
                continue;
            }
            if !status.is_success() {
                return Err(LlmError::Refused {
                    status: status.as_u16(),
                    body: clip(&String::from_utf8_lossy(&bytes), 200),
                });
            }
            return Ok(bytes);
        }
        Err(LlmError::Unavailable { attempts, last })
    }
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
