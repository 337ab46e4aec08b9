//! A channel's (or a thread's) group.md: read it, write it with compare-and-swap
//! (`If-Match`), browse, view and restore revisions. Revision 0 is the empty
//! template. The thread routes run the same code on the thread's scope.

use crate::access::authorize_channel;
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use octo_core::*;
use octo_groupmd::{MAX_BYTES, TEMPLATE, line_diff};
use octo_store::{GroupmdRevision, GroupmdScope, NewGroupmdRevision, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutGroupmd {
    pub text: String,
}

/// One revision as the API shows it.
#[derive(Serialize)]
pub struct GroupmdView {
    pub revision: u64,
    /// `null` for revision 0.
    pub base_revision: Option<u64>,
    pub author_id: Option<String>,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl GroupmdView {
    fn template() -> Self {
        Self {
            revision: 0,
            base_revision: None,
            author_id: None,
            created_at: None,
            text: Some(TEMPLATE.to_owned()),
            diff: None,
        }
    }

    fn of(r: GroupmdRevision, with_diff: bool) -> Self {
        Self {
            revision: r.revision,
            base_revision: Some(r.base_revision),
            author_id: Some(r.author.as_str().to_owned()),
            created_at: Some(r.created_at),
            text: Some(r.text),
            diff: with_diff.then_some(r.diff),
        }
    }
}

fn scope(channel: &ChannelId) -> GroupmdScope {
    GroupmdScope {
        channel: channel.clone(),
        thread: None,
    }
}

fn with_etag(status: StatusCode, view: GroupmdView) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", view.revision));
    let mut response = (status, Json(view)).into_response();
    if let Ok(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

async fn current(state: &AppState, scope: &GroupmdScope) -> ApiResult<GroupmdView> {
    Ok(state
        .store
        .groupmd_revision(scope, None)
        .await?
        .map_or_else(GroupmdView::template, |r| GroupmdView::of(r, false)))
}

/// `If-Match: "3"`, `W/"3"` or `3`.
fn if_match(headers: &HeaderMap) -> ApiResult<u64> {
    let raw = headers
        .get(header::IF_MATCH)
        .ok_or_else(|| {
            ApiError::bad_request(
                "if_match_required",
                "send If-Match with the revision you edited (the ETag of GET)",
            )
        })?
        .to_str()
        .unwrap_or("");
    let bare = raw.trim().trim_start_matches("W/").trim_matches('"');
    bare.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_if_match",
            format!("If-Match must be a revision number, not {raw:?}"),
        )
    })
}

pub async fn get_groupmd(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    Ok(with_etag(
        StatusCode::OK,
        current(&state, &scope(&view.channel.id)).await?,
    ))
}

pub async fn put_groupmd(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PutGroupmd>,
) -> ApiResult<Response> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::EditGroupmd,
    )
    .await?;
    let base = if_match(&headers)?;
    write(&state, &caller, scope(&view.channel.id), base, req.text).await
}

/// Stores `text` on top of `base`; a stale base answers 409 with the current revision.
async fn write(
    state: &AppState,
    caller: &Caller,
    target: GroupmdScope,
    base: u64,
    text: String,
) -> ApiResult<Response> {
    if text.len() > MAX_BYTES {
        return Err(ApiError::TooLarge {
            code: "groupmd_too_large",
            message: format!("group.md is {} bytes; the limit is {MAX_BYTES}", text.len()),
        });
    }
    let before = current(state, &target).await?;
    let diff = line_diff(before.text.as_deref().unwrap_or(""), &text);
    let put = state
        .store
        .put_groupmd(NewGroupmdRevision {
            scope: target.clone(),
            base_revision: base,
            author: caller.principal.id.clone(),
            text,
            diff,
        })
        .await;
    match put {
        Ok((stored, event)) => {
            state.publish([event]).await;
            Ok(with_etag(StatusCode::OK, GroupmdView::of(stored, true)))
        }
        Err(StoreError::Conflict(_)) => {
            let now = current(state, &target).await?;
            let body = serde_json::json!({
                "error": {
                    "code": "stale_revision",
                    "message": format!(
                        "group.md is at revision {}, not {base}: merge your change into it and retry",
                        now.revision
                    ),
                },
                "current": now,
            });
            let mut response = (StatusCode::CONFLICT, Json(body)).into_response();
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", now.revision)) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
pub struct RevisionList {
    /// Oldest first, without texts (view one for its text and diff).
    pub revisions: Vec<GroupmdView>,
}

pub async fn list_revisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RevisionList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    list(&state, &scope(&view.channel.id)).await
}

async fn list(state: &AppState, target: &GroupmdScope) -> ApiResult<Json<RevisionList>> {
    let stored = state.store.groupmd_revisions(target).await?;
    let mut template = GroupmdView::template();
    template.text = None;
    let revisions = std::iter::once(template)
        .chain(stored.into_iter().map(|r| GroupmdView {
            text: None,
            ..GroupmdView::of(r, false)
        }))
        .collect();
    Ok(Json(RevisionList { revisions }))
}

async fn revision(state: &AppState, target: &GroupmdScope, n: &str) -> ApiResult<GroupmdView> {
    let n: u64 = n
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_revision", "a revision is a number"))?;
    if n == 0 {
        return Ok(GroupmdView::template());
    }
    state
        .store
        .groupmd_revision(target, Some(n))
        .await?
        .map(|r| GroupmdView::of(r, true))
        .ok_or(ApiError::NotFound("revision"))
}

pub async fn get_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult<Json<GroupmdView>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    Ok(Json(revision(&state, &scope(&view.channel.id), &n).await?))
}

/// Makes an old revision's text the newest revision (history is never rewritten).
pub async fn restore_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::EditGroupmd,
    )
    .await?;
    restore(&state, &caller, scope(&view.channel.id), &n, &headers).await
}

async fn restore(
    state: &AppState,
    caller: &Caller,
    target: GroupmdScope,
    n: &str,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let base = if_match(headers)?;
    let old = revision(state, &target, n).await?;
    let text = old.text.unwrap_or_default();
    write(state, caller, target, base, text).await
}

/// A thread's own group.md: `root` must be a root message of the channel.
async fn thread_scope(
    state: &AppState,
    channel: &ChannelId,
    root: String,
) -> ApiResult<GroupmdScope> {
    let root = state
        .store
        .get_message(&MessageId::from_string(root))
        .await?
        .filter(|m| m.channel_id == *channel && m.thread_id.is_none())
        .ok_or(ApiError::NotFound("thread"))?;
    Ok(GroupmdScope {
        channel: channel.clone(),
        thread: Some(root.id),
    })
}

pub async fn get_thread_groupmd(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root)): Path<(String, String)>,
) -> ApiResult<Response> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let target = thread_scope(&state, &view.channel.id, root).await?;
    Ok(with_etag(StatusCode::OK, current(&state, &target).await?))
}

pub async fn put_thread_groupmd(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PutGroupmd>,
) -> ApiResult<Response> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::EditGroupmd,
    )
    .await?;
    let target = thread_scope(&state, &view.channel.id, root).await?;
    let base = if_match(&headers)?;
    write(&state, &caller, target, base, req.text).await
}

pub async fn list_thread_revisions(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root)): Path<(String, String)>,
) -> ApiResult<Json<RevisionList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let target = thread_scope(&state, &view.channel.id, root).await?;
    list(&state, &target).await
}

pub async fn get_thread_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root, n)): Path<(String, String, String)>,
) -> ApiResult<Json<GroupmdView>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let target = thread_scope(&state, &view.channel.id, root).await?;
    Ok(Json(revision(&state, &target, &n).await?))
}

pub async fn restore_thread_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root, n)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::EditGroupmd,
    )
    .await?;
    let target = thread_scope(&state, &view.channel.id, root).await?;
    restore(&state, &caller, target, &n, &headers).await
}
