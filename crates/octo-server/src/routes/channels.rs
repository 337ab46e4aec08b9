//! A channel itself: details, settings, members, cursors, its raw log and what
//! the caller may do in it.

use super::spaces::org_principal;
use crate::access::{authorize_channel, load_channel_view};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use octo_core::limits::*;
use octo_core::model::*;
use octo_core::names::*;
use octo_core::perm::{Scope, SpaceScope, authorize};
use octo_core::*;
use octo_store::{ChannelPatch, ResourceRef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels",
    responses((status = 200, body = Channel), (status = 404, body = ErrorBody)))]
pub async fn get_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Channel>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    Ok(Json(view.channel))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelPatchRequest {
    pub name: Option<String>,
    /// An empty string clears the topic.
    pub topic: Option<String>,
    /// Loop guard: messages whose hop reaches this wake no agent (1 to 64).
    pub agent_hop_limit: Option<u32>,
    /// Most triggers one agent gets from this channel per minute (0 to 600; 0
    /// silences agents here).
    pub agent_triggers_per_minute: Option<u32>,
}

#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "channels", request_body = ChannelPatchRequest,
    responses((status = 200, body = Channel), (status = 403, body = ErrorBody)))]
pub async fn update_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ChannelPatchRequest>,
) -> ApiResult<Json<Channel>> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::ManageChannel,
    )
    .await?;
    if view.channel.kind != ChannelKind::Channel && req.name.is_some() {
        return Err(ApiError::bad_request(
            "invalid_name",
            "DMs are named by their members",
        ));
    }
    if req.agent_hop_limit.is_some_and(|h| !(1..=64).contains(&h)) {
        return Err(ApiError::bad_request(
            "invalid_agent_hop_limit",
            "must be between 1 and 64",
        ));
    }
    if req.agent_triggers_per_minute.is_some_and(|r| r > 600) {
        return Err(ApiError::bad_request(
            "invalid_agent_triggers_per_minute",
            "must be between 0 and 600",
        ));
    }
    let patch = ChannelPatch {
        name: req
            .name
            .map(|n| ResourceName::parse("name", &n))
            .transpose()?
            .map(|n| n.to_string()),
        topic: req
            .topic
            .map(|t| parse_optional_text("topic", Some(&t), MAX_TOPIC_CHARS))
            .transpose()?,
        agent_hop_limit: req.agent_hop_limit,
        agent_triggers_per_minute: req.agent_triggers_per_minute,
    };
    if patch.name.is_none()
        && patch.topic.is_none()
        && patch.agent_hop_limit.is_none()
        && patch.agent_triggers_per_minute.is_none()
    {
        return Err(ApiError::bad_request(
            "invalid_body",
            "send at least one field to change",
        ));
    }
    let before = serde_json::json!({
        "name": view.channel.name,
        "topic": view.channel.topic,
        "agent_hop_limit": view.channel.agent_hop_limit,
        "agent_triggers_per_minute": view.channel.agent_triggers_per_minute,
    });
    let (channel, event) = state
        .store
        .update_channel(&view.channel.id, &caller.principal.id, patch)
        .await?;
    let after = event.payload.clone();
    state.publish([event]).await;
    crate::audit::record(
        &state,
        &caller,
        "channel.updated",
        "channel",
        &channel.id,
        Some(before),
        Some(after),
    )
    .await;
    Ok(Json(channel))
}

#[derive(Serialize, ToSchema)]
pub struct Permissions {
    /// Every action the caller may take in this channel.
    pub allowed: Vec<Action>,
}

/// What the caller may do here, so clients can hide what would be refused.
#[utoipa::path(get, path = "/api/v1/channels/{id}/permissions", tag = "permissions",
    responses((status = 200, body = Permissions)))]
pub async fn permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Permissions>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let allowed = Action::ALL
        .into_iter()
        .filter(|a| {
            !matches!(
                a,
                Action::CreateSpace | Action::CreateAgent | Action::ManageOrg
            )
        })
        .filter(|a| view.allows(&caller, *a))
        .collect();
    Ok(Json(Permissions { allowed }))
}

#[derive(Serialize, ToSchema)]
pub struct MemberEntry {
    #[serde(flatten)]
    pub member: ChannelMember,
    /// `last_seq - read_seq`: how far behind this member is.
    pub lag: u64,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberEntry>,
    pub next: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/channels/{id}/members", tag = "channels", responses((status = 200, body = MemberList)))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let last_seq = view.channel.last_seq;
    let items = state
        .store
        .list_channel_members(&view.channel.id)
        .await?
        .into_iter()
        .map(|member| MemberEntry {
            lag: last_seq.saturating_sub(member.read_seq),
            member,
        })
        .collect();
    Ok(Json(MemberList { items, next: None }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    pub principal_id: PrincipalId,
    /// When an agent member is woken (default `mention`).
    pub trigger: Option<TriggerPolicy>,
}

/// Adds a member. The new member must be able to see the channel's space.
#[utoipa::path(post, path = "/api/v1/channels/{id}/members", tag = "channels", request_body = AddMemberRequest,
    responses((status = 201, body = ChannelMember), (status = 200, body = ChannelMember), (status = 403, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> ApiResult<(StatusCode, Json<ChannelMember>)> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::ManageMembers,
    )
    .await?;
    if view.channel.kind != ChannelKind::Channel {
        return Err(ApiError::bad_request(
            "dm_members_fixed",
            "a DM's members are fixed; open a new group DM instead",
        ));
    }
    let principal = org_principal(&state, &caller, &req.principal_id).await?;
    if let Some(space_id) = &view.channel.space_id {
        let space = state
            .store
            .get_space(space_id)
            .await?
            .ok_or(ApiError::NotFound("channel"))?;
        let member_role = state
            .store
            .space_member_role(space_id, &principal.id)
            .await?;
        let subject = octo_core::perm::Subject {
            id: principal.id.clone(),
            org_role: principal.role,
        };
        let scope = Scope::Space(SpaceScope {
            visibility: space.visibility,
            member_role,
            overrides: state
                .store
                .get_overrides(&ResourceRef::Space(space.id.clone()))
                .await?,
        });
        if !authorize(&subject, Action::Read, &scope).is_allowed() {
            return Err(ApiError::bad_request(
                "not_in_space",
                "add this principal to the space first",
            ));
        }
    }
    let trigger = req.trigger.unwrap_or(TriggerPolicy::Mention);
    let (member, event) = state
        .store
        .add_channel_member(
            &view.channel.id,
            &principal.id,
            trigger,
            &caller.principal.id,
        )
        .await?;
    let status = if event.is_some() {
        StatusCode::CREATED
    } else {
        // An existing member's trigger policy may have changed: no event
        // says so, so tell the caches here.
        state.access_changed(Some(principal.id.clone())).await;
        StatusCode::OK
    };
    state.publish(event).await;
    Ok((status, Json(member)))
}

/// Removes a member; anyone may remove themselves (leave).
#[utoipa::path(delete, path = "/api/v1/channels/{id}/members/{principal_id}", tag = "channels",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, principal_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let principal_id = PrincipalId::from_string(principal_id);
    let leaving = principal_id == caller.principal.id;
    let action = if leaving {
        Action::Read
    } else {
        Action::ManageMembers
    };
    let view = authorize_channel(&state, &caller, &ChannelId::from_string(id), action).await?;
    match state
        .store
        .remove_channel_member(&view.channel.id, &principal_id, &caller.principal.id)
        .await?
    {
        Some(event) => {
            state.publish([event]).await;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::NotFound("channel member")),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CursorRequest {
    pub seq: u64,
}

#[derive(Serialize, ToSchema)]
pub struct CursorResponse {
    pub read_seq: u64,
    pub last_seq: u64,
    pub unread: u64,
}

/// Moves the caller's read cursor (backwards too, to mark unread).
#[utoipa::path(put, path = "/api/v1/channels/{id}/cursor", tag = "channels", request_body = CursorRequest,
    responses((status = 200, body = CursorResponse)))]
pub async fn put_cursor(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CursorRequest>,
) -> ApiResult<Json<CursorResponse>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    if view.membership.is_none() {
        return Err(ApiError::bad_request(
            "not_a_member",
            "join the channel to keep a read cursor in it",
        ));
    }
    let read_seq = state
        .store
        .set_cursor(&view.channel.id, &caller.principal.id, req.seq)
        .await?;
    let last_seq = view.channel.last_seq.max(read_seq);
    Ok(Json(CursorResponse {
        read_seq,
        last_seq,
        unread: last_seq - read_seq,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events with `seq > after` (default 0: from the start).
    pub after: Option<u64>,
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct EventFrame {
    /// Always `event` here.
    #[serde(rename = "type")]
    pub frame_type: &'static str,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub items: Vec<EventFrame>,
    /// Pass as `after` for the next page; null at the end of the log.
    pub next: Option<u64>,
}

/// The channel's log itself, oldest first: the replay source.
#[utoipa::path(get, path = "/api/v1/channels/{id}/events", tag = "channels", params(EventsQuery),
    responses((status = 200, body = EventList)))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Json<EventList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let limit = super::messages::page_limit(q.limit)?;
    let events = state
        .store
        .list_events(&view.channel.id, q.after.unwrap_or(0), limit)
        .await?;
    let next = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    let items = events
        .into_iter()
        .map(|event| EventFrame {
            frame_type: "event",
            event,
        })
        .collect();
    Ok(Json(EventList { items, next }))
}

/// Used by handlers that learned of a channel another way (e.g. a message).
pub async fn view_of(
    state: &AppState,
    caller: &Caller,
    channel: &ChannelId,
) -> ApiResult<crate::access::ChannelView> {
    let channel = state
        .store
        .get_channel(channel)
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    load_channel_view(state, caller, channel).await
}
