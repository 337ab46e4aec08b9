//! group.md proposals: any member who may post proposes a new text; members
//! with `edit_groupmd` accept it (it becomes a revision authored by the
//! proposer, replayed onto the current revision if the document moved on) or
//! reject it. The same routes exist for a thread's own group.md.

use crate::access::{ChannelView, authorize_channel};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use octo_core::groupmd::{GroupmdProposal, ProposalStatus};
use octo_core::*;
use octo_groupmd::{MAX_BYTES, TEMPLATE, line_diff, merge3};
use octo_store::{
    GroupmdScope, NewGroupmdProposal, NewGroupmdRevision, ProposalOutcome, ProposalResolution,
    StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// The longest summary accepted, in characters.
pub const MAX_SUMMARY_CHARS: usize = 200;
/// The most proposals one list answers with.
const MAX_LIST: u32 = 200;
const DEFAULT_LIST: u32 = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeRequest {
    pub text: String,
    pub base_revision: u64,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending` (default), `accepted`, `rejected`, `superseded` or `all`.
    pub status: Option<String>,
    pub limit: Option<u32>,
}

/// A proposal as the list shows it.
#[derive(Serialize)]
pub struct ProposalView {
    #[serde(flatten)]
    pub proposal: GroupmdProposal,
    /// For a pending proposal: whether accepting it now would go through
    /// (its base is current, or its change replays cleanly on the current
    /// revision). `null` once resolved.
    pub applies_cleanly: Option<bool>,
}

#[derive(Serialize)]
pub struct ProposalList {
    /// Newest first.
    pub proposals: Vec<ProposalView>,
    /// The document's current revision, which `applies_cleanly` was judged on.
    pub current_revision: u64,
}

/// The document as it stands: its revision, text, and the stored row (none
/// at revision 0, the template).
struct Current {
    revision: u64,
    text: String,
    stored: Option<octo_store::GroupmdRevision>,
}

async fn current(state: &AppState, scope: &GroupmdScope) -> ApiResult<Current> {
    Ok(match state.store.groupmd_revision(scope, None).await? {
        Some(r) => Current {
            revision: r.revision,
            text: r.text.clone(),
            stored: Some(r),
        },
        None => Current {
            revision: 0,
            text: TEMPLATE.to_owned(),
            stored: None,
        },
    })
}

/// The text of revision `n`, or `None` if there is no such revision.
async fn text_at(state: &AppState, scope: &GroupmdScope, n: u64) -> ApiResult<Option<String>> {
    if n == 0 {
        return Ok(Some(TEMPLATE.to_owned()));
    }
    Ok(state
        .store
        .groupmd_revision(scope, Some(n))
        .await?
        .map(|r| r.text))
}

fn channel_scope(view: &ChannelView) -> GroupmdScope {
    GroupmdScope {
        channel: view.channel.id.clone(),
        thread: None,
    }
}

/// A thread's own group.md: `root` must be a root message of the channel.
async fn thread_scope(state: &AppState, view: &ChannelView, root: &str) -> ApiResult<GroupmdScope> {
    let root = state
        .store
        .get_message(&MessageId::from_string(root))
        .await?
        .filter(|m| m.channel_id == view.channel.id && m.thread_id.is_none())
        .ok_or(ApiError::NotFound("thread"))?;
    Ok(GroupmdScope {
        channel: view.channel.id.clone(),
        thread: Some(root.id),
    })
}

fn conflict(code: &str, message: String, extra: (&str, serde_json::Value)) -> Response {
    let mut body = json!({ "error": { "code": code, "message": message } });
    body[extra.0] = extra.1;
    (StatusCode::CONFLICT, Json(body)).into_response()
}

/// 409 `stale_revision` with the current document, as a stale PUT answers.
fn stale(now: &Current, base: u64) -> Response {
    let current = json!({
        "revision": now.revision,
        "base_revision": now.stored.as_ref().map(|r| r.base_revision),
        "author_id": now.stored.as_ref().map(|r| r.author.clone()),
        "created_at": now.stored.as_ref().map(|r| r.created_at),
        "text": now.text,
    });
    let mut response = conflict(
        "stale_revision",
        format!(
            "group.md moved on to revision {} since this proposal's base {base}, and the \
             changes overlap: propose again on top of the current text",
            now.revision
        ),
        ("current", current),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", now.revision)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

fn already_resolved(p: &GroupmdProposal) -> Response {
    conflict(
        "proposal_resolved",
        format!("this proposal was already {}", p.status),
        ("proposal", json!(p)),
    )
}

// ---- propose --------------------------------------------------------------

async fn propose(
    state: &AppState,
    caller: &Caller,
    scope: GroupmdScope,
    req: ProposeRequest,
) -> ApiResult<Response> {
    if req.text.len() > MAX_BYTES {
        return Err(ApiError::TooLarge {
            code: "groupmd_too_large",
            message: format!(
                "group.md is {} bytes; the limit is {MAX_BYTES}",
                req.text.len()
            ),
        });
    }
    let summary = req
        .summary
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if summary
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_SUMMARY_CHARS)
    {
        return Err(ApiError::bad_request(
            "invalid_summary",
            format!("a summary is at most {MAX_SUMMARY_CHARS} characters"),
        ));
    }
    let now = current(state, &scope).await?;
    if req.base_revision > now.revision {
        return Err(ApiError::bad_request(
            "invalid_base_revision",
            format!(
                "group.md has no revision {} (it is at {})",
                req.base_revision, now.revision
            ),
        ));
    }
    let base_text = if req.base_revision == now.revision {
        now.text.clone()
    } else {
        text_at(state, &scope, req.base_revision)
            .await?
            .ok_or_else(|| {
                ApiError::bad_request("invalid_base_revision", "no such revision of group.md")
            })?
    };
    if req.text == base_text || req.text == now.text {
        return Err(ApiError::bad_request(
            "unchanged",
            "the proposed text is the document as it stands: nothing to review",
        ));
    }
    let diff = line_diff(&base_text, &req.text);
    let proposed = state
        .store
        .propose_groupmd(NewGroupmdProposal {
            id: ProposalId::generate(),
            scope,
            base_revision: req.base_revision,
            text: req.text,
            summary,
            diff,
            author: caller.principal.id.clone(),
        })
        .await?;
    state.publish(proposed.events).await;
    let status = if proposed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(proposed.proposal)).into_response())
}

pub async fn propose_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ProposeRequest>,
) -> ApiResult<Response> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Post).await?;
    propose(&state, &caller, channel_scope(&view), req).await
}

pub async fn propose_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root)): Path<(String, String)>,
    ApiJson(req): ApiJson<ProposeRequest>,
) -> ApiResult<Response> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Post).await?;
    let scope = thread_scope(&state, &view, &root).await?;
    propose(&state, &caller, scope, req).await
}

// ---- list -----------------------------------------------------------------

async fn list(state: &AppState, scope: GroupmdScope, q: ListQuery) -> ApiResult<ProposalList> {
    let status = match q.status.as_deref() {
        None => Some(ProposalStatus::Pending),
        Some("all") => None,
        Some(s) => Some(ProposalStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                "status is pending, accepted, rejected, superseded or all",
            )
        })?),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIST);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit is between 1 and {MAX_LIST}"),
        ));
    }
    let proposals = state.store.groupmd_proposals(&scope, status, limit).await?;
    let now = current(state, &scope).await?;
    // The bases the pending ones were written on, to judge them.
    let mut bases: HashMap<u64, String> = HashMap::new();
    for p in &proposals {
        if p.status == ProposalStatus::Pending
            && p.base_revision != now.revision
            && !bases.contains_key(&p.base_revision)
            && let Some(text) = text_at(state, &scope, p.base_revision).await?
        {
            bases.insert(p.base_revision, text);
        }
    }
    let current_revision = now.revision;
    // Replaying is a line diff per proposal: off the async workers.
    let judged = tokio::task::spawn_blocking(move || {
        proposals
            .into_iter()
            .map(|p| {
                let applies_cleanly = (p.status == ProposalStatus::Pending).then(|| {
                    p.base_revision == now.revision
                        || bases
                            .get(&p.base_revision)
                            .is_some_and(|base| merge3(base, &now.text, &p.text).is_some())
                });
                ProposalView {
                    proposal: p,
                    applies_cleanly,
                }
            })
            .collect()
    })
    .await
    .map_err(|e| ApiError::Internal(format!("judging proposals: {e}")))?;
    Ok(ProposalList {
        proposals: judged,
        current_revision,
    })
}

pub async fn list_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<ProposalList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    Ok(Json(list(&state, channel_scope(&view), q).await?))
}

pub async fn list_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<ProposalList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let scope = thread_scope(&state, &view, &root).await?;
    Ok(Json(list(&state, scope, q).await?))
}

// ---- view, accept, reject ----------------------------------------------------

/// The proposal `pid` of the scope; 404 for another scope's (or none).
async fn load(state: &AppState, scope: &GroupmdScope, pid: &str) -> ApiResult<GroupmdProposal> {
    state
        .store
        .groupmd_proposal(&ProposalId::from_string(pid))
        .await?
        .filter(|p| p.channel_id == scope.channel && p.thread_root_id == scope.thread)
        .ok_or(ApiError::NotFound("proposal"))
}

async fn accept(
    state: &AppState,
    caller: &Caller,
    scope: GroupmdScope,
    pid: &str,
) -> ApiResult<Response> {
    let p = load(state, &scope, pid).await?;
    if p.status != ProposalStatus::Pending {
        return Ok(already_resolved(&p));
    }
    let now = current(state, &scope).await?;
    let text = if p.base_revision == now.revision {
        p.text.clone()
    } else {
        let base = text_at(state, &scope, p.base_revision)
            .await?
            .unwrap_or_default();
        let (ours, theirs) = (now.text.clone(), p.text.clone());
        let merged = tokio::task::spawn_blocking(move || merge3(&base, &ours, &theirs))
            .await
            .map_err(|e| ApiError::Internal(format!("merging a proposal: {e}")))?;
        match merged {
            Some(text) => text,
            None => return Ok(stale(&now, p.base_revision)),
        }
    };
    if text.len() > MAX_BYTES {
        return Err(ApiError::TooLarge {
            code: "groupmd_too_large",
            message: format!(
                "accepting would make group.md {} bytes; the limit is {MAX_BYTES}",
                text.len()
            ),
        });
    }
    let diff = line_diff(&now.text, &text);
    let resolved = state
        .store
        .resolve_groupmd_proposal(ProposalResolution {
            proposal: p.id.clone(),
            resolver: caller.principal.id.clone(),
            outcome: ProposalOutcome::Accept(NewGroupmdRevision {
                scope: scope.clone(),
                base_revision: now.revision,
                author: p.author_id.clone(),
                text,
                diff,
            }),
        })
        .await;
    let resolved = match resolved {
        Ok(r) => r,
        Err(StoreError::Conflict(_)) => return raced(state, &scope, &p).await,
        Err(e) => return Err(e.into()),
    };
    state.publish(resolved.events).await;
    let revision = resolved.proposal.revision;
    crate::audit::record(
        state,
        caller,
        "groupmd.proposal_accepted",
        "groupmd_proposal",
        &resolved.proposal.id,
        Some(json!({ "status": "pending", "base_revision": p.base_revision })),
        Some(json!({
            "status": "accepted",
            "revision": revision,
            "author_id": resolved.proposal.author_id,
            "channel_id": resolved.proposal.channel_id,
            "thread_id": resolved.proposal.thread_root_id,
        })),
    )
    .await;
    let mut response = Json(resolved.proposal).into_response();
    if let Some(n) = revision
        && let Ok(etag) = HeaderValue::from_str(&format!("\"{n}\""))
    {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// A resolution lost a race: someone resolved the proposal first, or wrote
/// a revision between our read and our write.
async fn raced(state: &AppState, scope: &GroupmdScope, p: &GroupmdProposal) -> ApiResult<Response> {
    let again = load(state, scope, p.id.as_str()).await?;
    if again.status != ProposalStatus::Pending {
        return Ok(already_resolved(&again));
    }
    Ok(stale(&current(state, scope).await?, p.base_revision))
}

async fn reject(
    state: &AppState,
    caller: &Caller,
    scope: GroupmdScope,
    pid: &str,
) -> ApiResult<Response> {
    let p = load(state, &scope, pid).await?;
    if p.status != ProposalStatus::Pending {
        return Ok(already_resolved(&p));
    }
    let resolved = state
        .store
        .resolve_groupmd_proposal(ProposalResolution {
            proposal: p.id.clone(),
            resolver: caller.principal.id.clone(),
            outcome: ProposalOutcome::Reject,
        })
        .await;
    let resolved = match resolved {
        Ok(r) => r,
        Err(StoreError::Conflict(_)) => return raced(state, &scope, &p).await,
        Err(e) => return Err(e.into()),
    };
    state.publish(resolved.events).await;
    crate::audit::record(
        state,
        caller,
        "groupmd.proposal_rejected",
        "groupmd_proposal",
        &resolved.proposal.id,
        Some(json!({ "status": "pending" })),
        Some(json!({
            "status": "rejected",
            "author_id": resolved.proposal.author_id,
            "channel_id": resolved.proposal.channel_id,
            "thread_id": resolved.proposal.thread_root_id,
        })),
    )
    .await;
    Ok(Json(resolved.proposal).into_response())
}

pub async fn get_channel_proposal(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, pid)): Path<(String, String)>,
) -> ApiResult<Json<GroupmdProposal>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    Ok(Json(load(&state, &channel_scope(&view), &pid).await?))
}

pub async fn accept_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, pid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::EditGroupmd,
    )
    .await?;
    accept(&state, &caller, channel_scope(&view), &pid).await
}

pub async fn reject_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, pid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::EditGroupmd,
    )
    .await?;
    reject(&state, &caller, channel_scope(&view), &pid).await
}

pub async fn accept_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root, pid)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::EditGroupmd,
    )
    .await?;
    let scope = thread_scope(&state, &view, &root).await?;
    accept(&state, &caller, scope, &pid).await
}

pub async fn reject_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, root, pid)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::EditGroupmd,
    )
    .await?;
    let scope = thread_scope(&state, &view, &root).await?;
    reject(&state, &caller, scope, &pid).await
}

/// The routes of review mode, merged into `/api/v1`.
pub fn routes() -> axum::Router<AppState> {
    use super::groupmd_settings::{get_settings, put_settings};
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/channels/{id}/groupmd/settings",
            get(get_settings).put(put_settings),
        )
        .route(
            "/channels/{id}/groupmd/proposals",
            get(list_channel).post(propose_channel),
        )
        .route(
            "/channels/{id}/groupmd/proposals/{pid}",
            get(get_channel_proposal),
        )
        .route(
            "/channels/{id}/groupmd/proposals/{pid}/accept",
            post(accept_channel),
        )
        .route(
            "/channels/{id}/groupmd/proposals/{pid}/reject",
            post(reject_channel),
        )
        .route(
            "/channels/{id}/threads/{root}/groupmd/proposals",
            get(list_thread).post(propose_thread),
        )
        .route(
            "/channels/{id}/threads/{root}/groupmd/proposals/{pid}/accept",
            post(accept_thread),
        )
        .route(
            "/channels/{id}/threads/{root}/groupmd/proposals/{pid}/reject",
            post(reject_thread),
        )
}
