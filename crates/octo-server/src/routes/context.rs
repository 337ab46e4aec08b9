//! The context window: a thread, or a channel's recent top level, rendered for
//! an LLM within a token budget (`octo-context` does the rendering).

use crate::access::authorize_channel;
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use octo_context::{ContextBuilder, ContextRequest, Format};
use octo_core::*;
use octo_store::{MessagePage, ThreadFilter};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

pub const DEFAULT_MAX_TOKENS: usize = 4_000;
pub const MIN_MAX_TOKENS: usize = 100;
pub const MAX_MAX_TOKENS: usize = 200_000;
/// Messages read from the store at a time, newest first, until the budget is full.
const PAGE: u32 = 200;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContextQuery {
    /// A thread root of this channel. Without it: the channel's recent top level.
    pub thread_id: Option<String>,
    /// The budget in `o200k_base` tokens, 100 to 200,000 (default 4,000).
    #[param(value_type = Option<u32>)]
    pub max_tokens: Option<String>,
    /// `openai` (default), `anthropic` or `text`.
    #[param(value_type = Option<String>)]
    pub format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ContextResponse {
    /// `openai`, `anthropic` or `text`.
    pub format: &'static str,
    /// The tokens of `context` (`text`: exactly its `o200k_base` count; JSON
    /// formats: 4 per message + content + name, + 3 for the reply).
    pub tokens: usize,
    pub max_tokens: usize,
    /// Messages rendered, the thread root included.
    pub kept: usize,
    /// Older messages left out for the budget. For a thread: every older
    /// reply (deleted ones included); for the top level: those read before the
    /// budget was full (more may exist).
    pub dropped: usize,
    /// The root alone exceeded the budget and was cut.
    pub truncated_root: bool,
    /// The group.md heading the context: the thread's if it has one, else the
    /// channel's; null while only the empty template exists.
    pub groupmd: Option<String>,
    /// `openai`: `{"messages": […]}`; `anthropic`: `{"system"?: …, "messages": […]}`;
    /// `text`: a string.
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
}

fn max_tokens(raw: Option<&str>) -> ApiResult<usize> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_MAX_TOKENS);
    };
    match raw.parse::<usize>() {
        Ok(n) if (MIN_MAX_TOKENS..=MAX_MAX_TOKENS).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(
            "invalid_max_tokens",
            format!("max_tokens must be between {MIN_MAX_TOKENS} and {MAX_MAX_TOKENS}"),
        )),
    }
}

fn format(raw: Option<String>) -> ApiResult<Format> {
    match raw {
        None => Ok(Format::default()),
        Some(f) => serde_json::from_value(serde_json::Value::String(f)).map_err(|_| {
            ApiError::bad_request("invalid_format", "format must be openai, anthropic or text")
        }),
    }
}

/// The thread (root always kept, newest replies first) or the channel's recent
/// top level, rendered for the caller within `max_tokens`; the caller's own
/// messages are `assistant`.
#[utoipa::path(get, path = "/api/v1/channels/{id}/context", tag = "messages", params(ContextQuery),
    responses((status = 200, body = ContextResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_context(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ContextQuery>,
) -> ApiResult<Json<ContextResponse>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let max_tokens = max_tokens(q.max_tokens.as_deref())?;
    let format = format(q.format)?;
    let root = match q.thread_id {
        Some(tid) => Some(
            state
                .store
                .get_message(&MessageId::from_string(tid))
                .await?
                .filter(|m| m.channel_id == view.channel.id && m.thread_id.is_none())
                .ok_or(ApiError::NotFound("thread"))?,
        ),
        None => None,
    };
    let handles: HashMap<PrincipalId, String> = state
        .store
        .list_principals(&view.channel.org_id)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    // Building the tokenizer takes a moment, once: not on a runtime thread.
    tokio::task::spawn_blocking(octo_context::warm_up)
        .await
        .map_err(|e| ApiError::Internal(format!("tokenizer: {e}")))?;

    let groupmd = heading_groupmd(&state, &view.channel.id, root.as_ref()).await?;
    let mut builder = ContextBuilder::new(ContextRequest {
        groupmd: groupmd.as_deref(),
        root: root.as_ref(),
        handles: &handles,
        asking: &caller.principal.id,
        max_tokens,
        format,
    });
    let filter = match &root {
        Some(r) => ThreadFilter::Thread(r.id.clone()),
        None => ThreadFilter::TopLevel,
    };
    let mut before = None;
    // Replies offered (a thread's listing holds its root too).
    let mut offered = 0usize;
    loop {
        let page = state
            .store
            .list_messages(
                &view.channel.id,
                MessagePage {
                    filter: filter.clone(),
                    after: None,
                    before,
                    limit: PAGE,
                },
            )
            .await?;
        before = page.first().map(|m| m.seq);
        let mut newest_first = page
            .iter()
            .rev()
            .filter(|m| root.as_ref().is_none_or(|r| r.id != m.id));
        let mut full = false;
        for m in newest_first.by_ref() {
            offered += 1;
            if !builder.offer(m) {
                full = true;
                break;
            }
        }
        if full {
            // The rest of this page was read anyway; a thread knows how many
            // replies it has.
            let rest = newest_first.count();
            offered += rest;
            builder.add_unseen(rest);
            if let Some(r) = &root {
                builder.add_unseen((r.reply_count as usize).saturating_sub(offered));
            }
            break;
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    let context = builder.finish();
    Ok(Json(ContextResponse {
        format: format.as_str(),
        tokens: context.tokens,
        max_tokens,
        kept: context.kept,
        dropped: context.dropped,
        truncated_root: context.truncated_root,
        groupmd,
        context: context.body,
    }))
}

/// The thread's stored group.md, else the channel's (revision 0, the empty
/// template, is left out: it would only cost tokens).
async fn heading_groupmd(
    state: &AppState,
    channel: &ChannelId,
    root: Option<&octo_core::model::Message>,
) -> ApiResult<Option<String>> {
    let scope = |thread: Option<MessageId>| octo_store::GroupmdScope {
        channel: channel.clone(),
        thread,
    };
    if let Some(root) = root
        && let Some(r) = state
            .store
            .groupmd_revision(&scope(Some(root.id.clone())), None)
            .await?
    {
        return Ok(Some(r.text));
    }
    Ok(state
        .store
        .groupmd_revision(&scope(None), None)
        .await?
        .map(|r| r.text))
}
