//! Messages: send (idempotent), history, threads, edits, deletes, reactions.

use super::channels::view_of;
use crate::access::{ChannelView, authorize_channel, authorize_channel_cached};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use octo_core::limits::*;
use octo_core::mention::parse_mentions;
use octo_core::model::*;
use octo_core::names::*;
use octo_core::*;
use octo_store::{MessageEdit, MessagePage, NewMessage, Posted, ThreadFilter, now};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// Markdown, 1 to 16,000 characters.
    pub text: String,
    /// Reply in this thread (the root's id; a reply's id is followed to its root).
    pub thread_id: Option<MessageId>,
    /// The sender's idempotency key: a retry with the same key returns the first
    /// message instead of posting twice.
    pub client_msg_id: Option<String>,
    /// Structured data for programs (at most 16 KiB as JSON).
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    /// Ids of files the sender uploaded into this channel
    /// (`POST /channels/{id}/files`), at most 10.
    pub attachments: Option<Vec<String>>,
    /// Open the message as a stream: `text` may be empty, deltas follow
    /// (`POST /messages/{id}/deltas`) until `POST /messages/{id}/finish`.
    #[serde(default)]
    pub stream: bool,
}

/// Resolves `@name`s to principals of the org; unknown names are plain text.
async fn resolve_mentions(
    state: &AppState,
    view: &ChannelView,
    caller: &Caller,
    text: &str,
) -> ApiResult<Mentions> {
    let parsed = parse_mentions(text);
    if parsed.all || parsed.agents {
        view.check(caller, Action::MentionAll)?;
    }
    let principal_ids = if parsed.names.is_empty() {
        vec![]
    } else {
        let found = state
            .store
            .find_principals_by_names(&view.channel.org_id, &parsed.names)
            .await?;
        // Keep the order the names appear in the text.
        parsed
            .names
            .iter()
            .filter_map(|n| {
                found
                    .iter()
                    .find(|p| p.name.to_lowercase() == *n)
                    .map(|p| p.id.clone())
            })
            .collect()
    };
    Ok(Mentions {
        principal_ids,
        all: parsed.all,
        agents: parsed.agents,
    })
}

/// Marks a response as the replay of an earlier send.
const REPLAYED: &str = "idempotent-replayed";

#[utoipa::path(post, path = "/api/v1/channels/{id}/messages", tag = "messages", request_body = PostMessageRequest,
    responses((status = 201, body = Message), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PostMessageRequest>,
) -> ApiResult<(StatusCode, HeaderMap, Json<Message>)> {
    let sent = post(&state, &caller, &ChannelId::from_string(id), req).await?;
    let mut headers = HeaderMap::new();
    if sent.replayed {
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok((StatusCode::CREATED, headers, Json(sent.message)))
}

/// Sending, for every way in: checks, commit, fan-out, triggers.
pub async fn post(
    state: &AppState,
    caller: &Caller,
    channel: &ChannelId,
    req: PostMessageRequest,
) -> ApiResult<Sent> {
    let prepared = prepare(state, caller, channel, req).await?;
    commit(state, prepared).await
}

/// What a send did.
pub struct Sent {
    pub message: Message,
    /// The send repeated an earlier one (same `client_msg_id`), whose message
    /// this is: nothing new was committed or fanned out.
    pub replayed: bool,
}

/// A send that passed every check, ready to commit.
pub struct Prepared {
    channel: Channel,
    message: NewMessage,
}

/// The first half of [`post`]: authorizes, validates, resolves mentions and
/// the thread root, and builds the message. Reads the store, writes nothing.
pub async fn prepare(
    state: &AppState,
    caller: &Caller,
    channel: &ChannelId,
    req: PostMessageRequest,
) -> ApiResult<Prepared> {
    let view = authorize_channel_cached(state, caller, channel, Action::Post).await?;
    // A stream may start empty; whatever text it has obeys the usual rules.
    let text = if req.stream && req.text.is_empty() {
        String::new()
    } else {
        MessageText::parse(&req.text)?.to_string()
    };
    let client_msg_id = req
        .client_msg_id
        .as_deref()
        .map(ClientMsgId::parse)
        .transpose()?;
    if let Some(data) = &req.data
        && serde_json::to_vec(data).map_or(true, |b| b.len() > MAX_MESSAGE_DATA_BYTES)
    {
        return Err(ApiError::bad_request(
            "invalid_data",
            format!("data must be at most {MAX_MESSAGE_DATA_BYTES} bytes of JSON"),
        ));
    }
    let attachments = req.attachments.clone().unwrap_or_default();
    check_attachments(state, caller, &view.channel.id, &attachments).await?;
    let thread_id = match req.thread_id {
        Some(tid) => {
            view.check(caller, Action::CreateThread)?;
            let root = state
                .store
                .get_message(&tid)
                .await?
                .filter(|m| m.channel_id == view.channel.id)
                .ok_or_else(|| {
                    ApiError::bad_request("unknown_thread", "no such message in this channel")
                })?;
            Some(root.thread_id.unwrap_or(root.id))
        }
        None => None,
    };
    let mentions = resolve_mentions(state, &view, caller, &text).await?;
    let message = NewMessage {
        id: MessageId::generate(),
        channel_id: view.channel.id.clone(),
        thread_id,
        author_id: caller.principal.id.clone(),
        author_kind: caller.principal.kind,
        text,
        data: req.data,
        mentions,
        client_msg_id: client_msg_id.map(|c| c.to_string()),
        stream: req.stream,
        attachments,
        created_at: now(),
    };
    Ok(Prepared {
        channel: view.channel,
        message,
    })
}

/// The second half of [`post`]: commits (idempotent by `client_msg_id`), fans
/// out and wakes agents.
///
/// The store is the first thing it awaits: a WebSocket session that pipelines
/// sends relies on the first poll of this future reaching the first poll of
/// `post_message` (see `realtime::send`). Keep anything awaited before it out.
pub async fn commit(state: &AppState, prepared: Prepared) -> ApiResult<Sent> {
    let Prepared { channel, message } = prepared;
    let Posted { message, event } = state.store.post_message(message).await?;
    // Shared, not cloned: the hub and the triggers read the same event (a
    // deep copy of its JSON payload was a fifth of a post's allocations).
    let event = event.map(Arc::new);
    if let Some(event) = &event {
        state.publish([event.clone()]).await;
    }
    crate::triggers::on_message(state, &channel, &message, event.as_deref()).await?;
    Ok(Sent {
        message,
        replayed: event.is_none(),
    })
}

/// Most files on one message.
const MAX_ATTACHMENTS: usize = 10;

/// Each attachment must be the sender's own upload into this channel, not yet
/// sent. The store checks again atomically; this gives the clear error.
async fn check_attachments(
    state: &AppState,
    caller: &Caller,
    channel: &ChannelId,
    ids: &[String],
) -> ApiResult<()> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(ApiError::bad_request(
            "invalid_attachments",
            format!("at most {MAX_ATTACHMENTS} files per message"),
        ));
    }
    for id in ids {
        let usable = state.store.get_file(id).await?.is_some_and(|f| {
            &f.channel_id == channel
                && f.uploader_id == caller.principal.id
                && f.message_id.is_none()
        });
        if !usable {
            return Err(ApiError::bad_request(
                "unknown_attachment",
                format!("{id} is not a file you uploaded here and have not sent yet"),
            ));
        }
    }
    Ok(())
}

/// Posts as an agent acting within one channel (a webhook's reply), with the
/// same checks as any send: it is as if it used a turn token for `channel`.
pub async fn post_as_agent(
    state: &AppState,
    agent: &PrincipalId,
    channel: &ChannelId,
    thread: Option<MessageId>,
    text: MessageText,
    client_msg_id: String,
) -> ApiResult<Sent> {
    let principal = state
        .store
        .get_principal(agent)
        .await?
        .filter(|p| !p.deactivated)
        .ok_or(ApiError::NotFound("agent"))?;
    let caller = Caller {
        token: TokenInfo {
            id: TokenId::from_string("webhook"),
            principal_id: principal.id.clone(),
            label: "webhook reply".into(),
            created_at: now(),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        },
        principal,
        scope: Some(channel.clone()),
    };
    let req = PostMessageRequest {
        text: text.to_string(),
        thread_id: thread,
        client_msg_id: Some(client_msg_id),
        data: None,
        attachments: None,
        stream: false,
    };
    post(state, &caller, channel, req).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Messages with `seq > after`, oldest first (reading forward).
    pub after: Option<u64>,
    /// Messages with `seq < before` (scrolling back). Neither: the newest.
    pub before: Option<u64>,
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    /// Oldest first.
    pub items: Vec<Message>,
    /// When the page is full: pass as `after` (if you sent `after`) or as
    /// `before` (otherwise) to get the next page. Null when there is no more.
    pub next: Option<u64>,
}

pub fn page_limit(limit: Option<u32>) -> ApiResult<u32> {
    match limit {
        None => Ok(DEFAULT_PAGE_LIMIT),
        Some(l) if (1..=MAX_PAGE_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE_LIMIT}"),
        )),
    }
}

async fn history(
    state: &AppState,
    channel: &ChannelId,
    filter: ThreadFilter,
    q: HistoryQuery,
) -> ApiResult<MessageList> {
    if q.after.is_some() && q.before.is_some() {
        return Err(ApiError::bad_request(
            "invalid_query",
            "send after or before, not both",
        ));
    }
    let limit = page_limit(q.limit)?;
    let forward = q.after.is_some();
    let items = state
        .store
        .list_messages(
            channel,
            MessagePage {
                filter,
                after: q.after,
                before: q.before,
                limit,
            },
        )
        .await?;
    let next = if items.len() < limit as usize {
        None
    } else if forward {
        items.last().map(|m| m.seq)
    } else {
        items.first().map(|m| m.seq)
    };
    Ok(MessageList { items, next })
}

/// Top-level history (thread replies are read with the thread endpoint).
#[utoipa::path(get, path = "/api/v1/channels/{id}/messages", tag = "messages", params(HistoryQuery),
    responses((status = 200, body = MessageList)))]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<MessageList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    Ok(Json(
        history(&state, &view.channel.id, ThreadFilter::TopLevel, q).await?,
    ))
}

/// A thread: its root and its replies.
#[utoipa::path(get, path = "/api/v1/channels/{id}/threads/{thread_id}/messages", tag = "messages", params(HistoryQuery),
    responses((status = 200, body = MessageList), (status = 404, body = ErrorBody)))]
pub async fn thread_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, thread_id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<MessageList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let root = state
        .store
        .get_message(&MessageId::from_string(thread_id))
        .await?
        .filter(|m| m.channel_id == view.channel.id && m.thread_id.is_none())
        .ok_or(ApiError::NotFound("thread"))?;
    Ok(Json(
        history(&state, &view.channel.id, ThreadFilter::Thread(root.id), q).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ThreadsQuery {
    pub limit: Option<u32>,
}

/// Thread roots with replies, most recently active first.
#[utoipa::path(get, path = "/api/v1/channels/{id}/threads", tag = "messages", params(ThreadsQuery),
    responses((status = 200, body = MessageList)))]
pub async fn list_threads(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ThreadsQuery>,
) -> ApiResult<Json<MessageList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let items = state
        .store
        .list_threads(&view.channel.id, page_limit(q.limit)?)
        .await?;
    Ok(Json(MessageList { items, next: None }))
}

/// A live message the caller can see, and the channel it is in.
async fn visible_message(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> ApiResult<(Message, ChannelView)> {
    let message = state
        .store
        .get_message(&MessageId::from_string(id))
        .await?
        .filter(|m| !m.deleted)
        .ok_or(ApiError::NotFound("message"))?;
    let view = view_of(state, caller, &message.channel_id)
        .await
        .map_err(|_| ApiError::NotFound("message"))?;
    view.check(caller, Action::Read)
        .map_err(|_| ApiError::NotFound("message"))?;
    Ok((message, view))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messages",
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)))]
pub async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Message>> {
    Ok(Json(visible_message(&state, &caller, id).await?.0))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    pub text: String,
}

/// Authors edit their own messages; nobody edits another's words.
#[utoipa::path(patch, path = "/api/v1/messages/{id}", tag = "messages", request_body = EditMessageRequest,
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<EditMessageRequest>,
) -> ApiResult<Json<Message>> {
    let (message, view) = visible_message(&state, &caller, id).await?;
    if message.author_id != caller.principal.id {
        return Err(ApiError::Forbidden("edit another's message"));
    }
    view.check(&caller, Action::Post)?;
    let text = MessageText::parse(&req.text)?;
    let mentions = resolve_mentions(&state, &view, &caller, text.as_str()).await?;
    let (message, event) = state
        .store
        .edit_message(
            &message.id,
            &caller.principal.id,
            MessageEdit {
                text: text.to_string(),
                mentions,
                edited_at: now(),
            },
        )
        .await?;
    state.publish([event]).await;
    Ok(Json(message))
}

/// Authors delete their own messages; channel managers delete anyone's.
#[utoipa::path(delete, path = "/api/v1/messages/{id}", tag = "messages",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (message, view) = visible_message(&state, &caller, id).await?;
    if message.author_id != caller.principal.id {
        view.check(&caller, Action::ManageChannel)?;
    }
    let (_, event) = state
        .store
        .delete_message(&message.id, &caller.principal.id)
        .await?;
    state.publish([event]).await;
    super::files::delete_files_of(&state, &message.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reaction_target(
    state: &AppState,
    caller: &Caller,
    id: String,
    emoji: &str,
) -> ApiResult<(Message, ChannelView, Emoji)> {
    let (message, view) = visible_message(state, caller, id).await?;
    view.check(caller, Action::React)?;
    let emoji = Emoji::parse(emoji)?;
    Ok((message, view, emoji))
}

#[utoipa::path(put, path = "/api/v1/messages/{id}/reactions/{emoji}", tag = "messages",
    responses((status = 200, body = Message), (status = 403, body = ErrorBody)))]
pub async fn add_reaction(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, emoji)): Path<(String, String)>,
) -> ApiResult<Json<Message>> {
    let (message, view, emoji) = reaction_target(&state, &caller, id, &emoji).await?;
    let event = state
        .store
        .add_reaction(&message.id, &caller.principal.id, emoji.as_str())
        .await?;
    if let Some(event) = event {
        state.publish([event.clone()]).await;
        crate::triggers::on_reaction(
            &state,
            &view.channel,
            &message,
            &caller.principal.id,
            &event,
        )
        .await?;
    }
    let message = state
        .store
        .get_message(&message.id)
        .await?
        .ok_or(ApiError::NotFound("message"))?;
    Ok(Json(message))
}

#[utoipa::path(delete, path = "/api/v1/messages/{id}/reactions/{emoji}", tag = "messages",
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)))]
pub async fn remove_reaction(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, emoji)): Path<(String, String)>,
) -> ApiResult<Json<Message>> {
    let (message, _, emoji) = reaction_target(&state, &caller, id, &emoji).await?;
    let Some(event) = state
        .store
        .remove_reaction(&message.id, &caller.principal.id, emoji.as_str())
        .await?
    else {
        return Err(ApiError::NotFound("reaction"));
    };
    state.publish([event]).await;
    let message = state
        .store
        .get_message(&message.id)
        .await?
        .ok_or(ApiError::NotFound("message"))?;
    Ok(Json(message))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeltaRequest {
    /// Text to append to the stream.
    pub text: String,
}

/// The author's own open stream, or why not.
async fn own_stream(state: &AppState, caller: &Caller, id: String) -> ApiResult<Message> {
    let (message, _) = visible_message(state, caller, id).await?;
    if message.author_id != caller.principal.id {
        return Err(ApiError::Forbidden("write into another's stream"));
    }
    if message.stream != Some(StreamStatus::Open) {
        return Err(ApiError::Conflict(
            "this message is not an open stream".into(),
        ));
    }
    Ok(message)
}

/// Appends to a streaming message; members see a `message.delta` event.
#[utoipa::path(post, path = "/api/v1/messages/{id}/deltas", tag = "messages", request_body = DeltaRequest,
    responses((status = 200, body = Message), (status = 409, body = ErrorBody)))]
pub async fn append_delta(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DeltaRequest>,
) -> ApiResult<Json<Message>> {
    let message = own_stream(&state, &caller, id).await?;
    if req.text.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_text",
            "a delta must not be empty",
        ));
    }
    if message.text.chars().count() + req.text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::bad_request(
            "invalid_text",
            format!("a message must be at most {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    let (message, event) = state
        .store
        .append_delta(&message.id, &caller.principal.id, &req.text)
        .await?;
    state.publish([event]).await;
    Ok(Json(message))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FinishRequest {
    /// The final text, if it differs from the deltas so far.
    pub text: Option<String>,
}

/// Completes a streaming message; members see `message.finished`.
#[utoipa::path(post, path = "/api/v1/messages/{id}/finish", tag = "messages", request_body = FinishRequest,
    responses((status = 200, body = Message), (status = 409, body = ErrorBody)))]
pub async fn finish_stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<FinishRequest>,
) -> ApiResult<Json<Message>> {
    let message = own_stream(&state, &caller, id).await?;
    let text = req
        .text
        .as_deref()
        .map(MessageText::parse)
        .transpose()?
        .map(|t| t.to_string());
    if text.is_none() && message.text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_text",
            "a finished message needs some text",
        ));
    }
    let (message, event) = state
        .store
        .finish_stream(
            &message.id,
            &caller.principal.id,
            text,
            StreamStatus::Finished,
        )
        .await?;
    state.publish([event]).await;
    Ok(Json(message))
}

/// Closes streams left idle, so a crashed agent's half-reply shows as
/// interrupted instead of "typing" forever. Runs until the server stops.
pub async fn sweep_idle_streams(state: AppState) {
    let idle = chrono::Duration::seconds(state.config.agents.stream_idle_secs as i64);
    let every =
        std::time::Duration::from_secs((state.config.agents.stream_idle_secs / 4).clamp(1, 15));
    loop {
        tokio::time::sleep(every).await;
        let before = now() - idle;
        let stale = match state.store.idle_streams(before, 100).await {
            Ok(stale) => stale,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for idle streams");
                continue;
            }
        };
        for m in stale {
            match state
                .store
                .finish_stream(&m.id, &m.author_id, None, StreamStatus::Interrupted)
                .await
            {
                Ok((_, event)) => state.publish([event]).await,
                // Finished by its author in the meantime.
                Err(octo_store::StoreError::Conflict(_)) => {}
                Err(e) => {
                    tracing::warn!(error = %e, message = %m.id, "could not close an idle stream")
                }
            }
        }
    }
}
