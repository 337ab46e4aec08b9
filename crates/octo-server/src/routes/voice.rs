//! Voice input (DESIGN §5): `POST /channels/{id}/transcribe` takes a WAV body,
//! recognises it with the channel's own words as context, corrects it, and
//! with `?post=true` posts the text as the caller's message.

use crate::access::authorize_channel;
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiBytes, ApiQuery};
use crate::routes::messages::{PostMessageRequest, post};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use octo_core::model::Message;
use octo_core::*;
use octo_store::{MessagePage, ThreadFilter};
use octo_voice::{AudioError, ChannelInput, EngineError, VoiceError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest audio body, in bytes (see `octo_voice::audio::MAX_AUDIO_BYTES`).
pub const MAX_AUDIO_BYTES: usize = octo_voice::audio::MAX_AUDIO_BYTES;
/// The newest top-level messages that make up the channel's context.
pub const CONTEXT_MESSAGES: u32 = 200;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TranscribeQuery {
    /// `true`: also post the corrected text as the caller's message.
    #[param(value_type = Option<bool>)]
    pub post: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TranscribeResponse {
    /// What the engine heard, biased by the channel, before correction.
    pub raw: String,
    /// The corrected text.
    pub text: String,
    /// Each change: `{start, end, before, after, reason}`, where `start..end`
    /// are character offsets of `after` in `text`, and `reason` is
    /// `sounds_like`, `case`, `spoken_symbol` or `mention`.
    #[schema(value_type = Vec<Object>)]
    pub corrections: Vec<octo_voice::Correction>,
    /// Members mentioned (as `@name` in `text`).
    pub mentions: Vec<String>,
    /// `pocketsphinx` or `openai`.
    pub engine: String,
    /// Milliseconds spent on decoding, recognition and correction.
    pub ms: u64,
    pub audio_seconds: f64,
    /// The posted message, with `post=true`.
    pub message: Option<Message>,
}

fn wants_post(raw: Option<&str>) -> ApiResult<bool> {
    match raw {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "invalid_post",
            "post must be true or false",
        )),
    }
}

fn voice_error(e: VoiceError) -> ApiError {
    match e {
        VoiceError::Audio(a) => {
            let message = a.to_string();
            match a {
                AudioError::Empty => ApiError::bad_request("empty_audio", message),
                AudioError::NotWav(_) => ApiError::bad_request("invalid_audio", message),
                AudioError::Unsupported(_) => ApiError::bad_request("unsupported_audio", message),
                AudioError::TooLong { .. } => ApiError::TooLarge {
                    code: "audio_too_long",
                    message,
                },
                AudioError::TooLarge { .. } => ApiError::TooLarge {
                    code: "audio_too_large",
                    message,
                },
            }
        }
        VoiceError::Engine(EngineError::Unavailable(m)) => ApiError::ServiceUnavailable {
            code: "engine_unavailable",
            message: format!("speech engine unavailable: {m}"),
        },
        VoiceError::Engine(EngineError::Failed(m)) => ApiError::ServiceUnavailable {
            code: "engine_failed",
            message: format!("speech engine failed: {m}"),
        },
    }
}

/// The channel as the recogniser should know it: member handles, recent
/// messages (oldest first) and the topic's words.
async fn channel_input(
    state: &AppState,
    channel: &octo_core::model::Channel,
) -> ApiResult<ChannelInput> {
    let mut messages = state
        .store
        .list_messages(
            &channel.id,
            MessagePage {
                filter: ThreadFilter::TopLevel,
                after: None,
                before: None,
                limit: CONTEXT_MESSAGES,
            },
        )
        .await?;
    messages.sort_by_key(|m| m.seq);
    let mut members = Vec::new();
    for member in state.store.list_channel_members(&channel.id).await? {
        if let Some(p) = state.store.get_principal(&member.principal_id).await? {
            members.push(p.name);
        }
    }
    let glossary = channel
        .topic
        .as_deref()
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    Ok(ChannelInput {
        members,
        messages: messages
            .into_iter()
            .filter(|m| !m.deleted)
            .map(|m| m.text)
            .collect(),
        glossary,
    })
}

/// Transcribes a WAV (PCM 8/16/24/32-bit or float32, any rate and channel
/// count, at most 60 s and 24 MiB) with the channel's words as context.
#[utoipa::path(post, path = "/api/v1/channels/{id}/transcribe", tag = "voice",
    params(("id" = String, Path), TranscribeQuery),
    request_body(content = Vec<u8>, content_type = "audio/wav"),
    responses(
        (status = 200, body = TranscribeResponse),
        (status = 400, description = "empty, not WAV, or an unsupported format", body = ErrorBody),
        (status = 413, description = "longer than 60 s or larger than 24 MiB", body = ErrorBody),
        (status = 503, description = "the speech engine is unavailable", body = ErrorBody),
    ))]
pub async fn transcribe(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<TranscribeQuery>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<TranscribeResponse>> {
    let posting = wants_post(q.post.as_deref())?;
    let action = if posting { Action::Post } else { Action::Read };
    let view = authorize_channel(&state, &caller, &ChannelId::from_string(id), action).await?;
    let input = channel_input(&state, &view.channel).await?;
    let voice = state.voice().await;
    let transcript = voice
        .transcribe(&body, Some(&input))
        .await
        .map_err(voice_error)?;
    let message = if posting && !transcript.text.trim().is_empty() {
        let req = PostMessageRequest {
            text: transcript.text.clone(),
            thread_id: None,
            client_msg_id: None,
            data: None,
            attachments: None,
            stream: false,
        };
        Some(post(&state, &caller, &view.channel.id, req).await?.message)
    } else {
        None
    };
    Ok(Json(TranscribeResponse {
        raw: transcript.raw,
        text: transcript.text,
        corrections: transcript.corrections,
        mentions: transcript.mentions,
        engine: transcript.engine,
        ms: transcript.ms,
        audio_seconds: transcript.audio_seconds,
        message,
    }))
}
