//! `GET /api/v1/search`: full-text search over exactly what the caller can see.

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::state::AppState;
use crate::visibility::Snapshot;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use octo_core::search::parse_query;
use octo_core::{ChannelId, MessageId, PrincipalId};
use octo_store::{SearchHit, SearchRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words (all required), `"a phrase"`, `prefix*`.
    pub q: String,
    pub channel_id: Option<ChannelId>,
    pub author_id: Option<PrincipalId>,
    /// Only this thread (its root's id).
    pub thread_id: Option<MessageId>,
    pub has_attachment: Option<bool>,
    /// RFC 3339.
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    /// Results to skip (paging), at most 10,000.
    pub offset: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
    /// Pass as `offset` for the next page; null at the end.
    pub next: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery),
    responses((status = 200, body = SearchResults)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchResults>> {
    let terms = parse_query(&q.q).map_err(|e| ApiError::bad_request("invalid_q", e.to_string()))?;
    let limit = match q.limit {
        None => 20,
        Some(l) if (1..=100).contains(&l) => l,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_limit",
                "limit must be between 1 and 100",
            ));
        }
    };
    let offset = q.offset.unwrap_or(0);
    if offset > 10_000 {
        return Err(ApiError::bad_request(
            "invalid_offset",
            "offset must be at most 10000",
        ));
    }
    let snapshot = Snapshot::load(&state, &caller).await?;
    let mut channels: Vec<ChannelId> = snapshot
        .visible_channels()
        .into_iter()
        .map(|v| v.channel.id)
        .collect();
    if let Some(only) = &q.channel_id {
        // An invisible channel looks exactly like an unknown one.
        if !channels.contains(only) {
            return Err(ApiError::NotFound("channel"));
        }
        channels = vec![only.clone()];
    }
    let items = state
        .store
        .search(SearchRequest {
            channels,
            terms,
            author: q.author_id,
            thread: q.thread_id,
            has_attachment: q.has_attachment,
            before: q.before,
            after: q.after,
            limit,
            offset,
        })
        .await?;
    let next = (items.len() == limit as usize).then_some(offset + limit);
    Ok(Json(SearchResults { items, next }))
}
