//! Long-poll for scripts and simple clients: `GET /api/v1/events?wait=SECONDS`
//! answers the events after the caller's server-side delivery cursors, waiting
//! up to `wait` seconds for one to arrive; `POST /api/v1/events/ack` moves the
//! cursors. Nothing is lost between polls: until acked, events come again.

use super::frames::{event_frame, trigger_frame};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::messages::page_limit;
use crate::state::AppState;
use crate::visibility::Snapshot;
use axum::Json;
use axum::extract::State;
use octo_broker::{Presence, Signal};
use octo_core::model::PrincipalKind;
use octo_core::{ChannelId, PrincipalId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PollQuery {
    /// Seconds to wait when nothing is pending (0 to 60; default 0).
    pub wait: Option<u64>,
    /// Most events to return (1 to 500; default 50).
    pub limit: Option<u32>,
}

/// Pending events (and, for agents, triggers) of every channel the caller is a
/// member of and can see, as frames.
async fn pending(
    state: &AppState,
    caller: &Caller,
    limit: u32,
) -> ApiResult<(Vec<Value>, HashSet<ChannelId>)> {
    let snapshot = Snapshot::load(state, caller).await?;
    let mut items = Vec::new();
    let mut channels = HashSet::new();
    let is_agent = caller.principal.kind == PrincipalKind::Agent;
    let keys = if is_agent {
        Some(state.turn_keys().await?)
    } else {
        None
    };
    let expires_at =
        octo_store::now() + chrono::Duration::seconds(state.config.agents.turn_token_secs as i64);
    for v in snapshot.visible_channels() {
        let Some(member) = v.membership else { continue };
        channels.insert(v.channel.id.clone());
        let remaining = limit.saturating_sub(items.len() as u32);
        if remaining == 0 || member.acked_seq >= v.channel.last_seq {
            continue;
        }
        let events = state
            .store
            .list_events(&v.channel.id, member.acked_seq, remaining)
            .await?;
        items.extend(events.iter().map(|e| to_value(&event_frame(e))));
        if let Some(keys) = keys {
            let triggers = state
                .store
                .list_triggers(
                    &caller.principal.id,
                    &v.channel.id,
                    member.acked_seq,
                    remaining,
                )
                .await?;
            items.extend(triggers.iter().map(|(t, e)| {
                to_value(&trigger_frame(
                    t,
                    e,
                    &keys.mint(&t.agent_id, &t.channel_id, expires_at),
                    expires_at,
                ))
            }));
        }
    }
    Ok((items, channels))
}

fn to_value(frame: &str) -> Value {
    serde_json::from_str(frame).unwrap_or(Value::Null)
}

#[derive(Serialize, ToSchema)]
pub struct PollAnswer {
    /// Event frames (`"type": "event"`) and, for agents, trigger frames
    /// (`"type": "trigger"`), oldest first within a channel.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub next: Option<String>,
}

/// Events after the caller's delivery cursors, and the triggers among them.
#[utoipa::path(get, path = "/api/v1/events", tag = "realtime", params(PollQuery),
    responses((status = 200, body = PollAnswer)))]
pub async fn poll(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PollQuery>,
) -> ApiResult<Json<PollAnswer>> {
    let limit = page_limit(q.limit)?;
    let max_wait = state.config.realtime.longpoll_max_wait_secs;
    let wait = q.wait.unwrap_or(0);
    if wait > max_wait {
        return Err(ApiError::bad_request(
            "invalid_wait",
            format!("wait must be at most {max_wait} seconds"),
        ));
    }
    // Subscribe before reading, so an event committed in between still wakes us.
    let mut signals = state.broker.subscribe();
    let (items, channels) = pending(&state, &caller, limit).await?;
    if !items.is_empty() || wait == 0 {
        return Ok(Json(PollAnswer { items, next: None }));
    }
    let me = caller.principal.id.clone();
    // A clustered broker brings this node only the channels someone here
    // wants: while waiting, this poll is someone.
    let _interest = PollInterest::hold(&state, &channels).await;
    let woke = async {
        loop {
            match signals.recv().await {
                Ok(Signal::Event(e)) if channels.contains(&e.channel_id) => return,
                Ok(Signal::Trigger { trigger, .. }) if trigger.agent_id == me => return,
                Ok(Signal::AccessChanged { .. } | Signal::Resync) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        () = woke => {}
        _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
        () = super::shutting_down(state.shutting_down.clone()) => {}
    }
    let (items, _) = pending(&state, &caller, limit).await?;
    Ok(Json(PollAnswer { items, next: None }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// channel → the last seq processed.
    pub cursors: HashMap<ChannelId, u64>,
}

#[derive(Serialize, ToSchema)]
pub struct AckResponse {
    /// channel → the stored delivery cursor.
    pub cursors: HashMap<ChannelId, u64>,
}

/// Moves the caller's delivery cursors forward (never back).
#[utoipa::path(post, path = "/api/v1/events/ack", tag = "realtime", request_body = AckRequest,
    responses((status = 200, body = AckResponse), (status = 404, body = ErrorBody)))]
pub async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<AckRequest>,
) -> ApiResult<Json<AckResponse>> {
    let snapshot = Snapshot::load(&state, &caller).await?;
    let visible: HashMap<ChannelId, bool> = snapshot
        .visible_channels()
        .into_iter()
        .map(|v| (v.channel.id, v.membership.is_some()))
        .collect();
    // Check everything first, so a bad entry changes nothing.
    for channel in req.cursors.keys() {
        match visible.get(channel) {
            None => return Err(ApiError::NotFound("channel")),
            Some(false) => {
                return Err(ApiError::bad_request(
                    "not_a_member",
                    "only members keep a delivery cursor",
                ));
            }
            Some(true) => {}
        }
    }
    let mut cursors = HashMap::new();
    for (channel, seq) in req.cursors {
        let stored = state
            .store
            .ack_cursor(&channel, &caller.principal.id, seq)
            .await?;
        cursors.insert(channel, stored);
    }
    Ok(Json(AckResponse { cursors }))
}

#[derive(Serialize, ToSchema)]
pub struct PresenceEntry {
    pub principal_id: PrincipalId,
    #[schema(value_type = String)]
    pub status: Presence,
}

#[derive(Serialize, ToSchema)]
pub struct PresenceList {
    /// Principals online or away; everyone else is offline.
    pub items: Vec<PresenceEntry>,
    pub next: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/presence", tag = "realtime",
    responses((status = 200, body = PresenceList)))]
pub async fn presence(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(org): axum::extract::Path<String>,
) -> ApiResult<Json<PresenceList>> {
    let org = octo_core::OrgId::from_string(org);
    crate::access::authorize_org(&caller, &org, octo_core::Action::Read)?;
    let items = state
        .hub
        .presence(&org)
        .into_iter()
        .map(|(principal_id, status)| PresenceEntry {
            principal_id,
            status,
        })
        .collect();
    Ok(Json(PresenceList { items, next: None }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TypingRequest {
    pub thread_id: Option<String>,
}

/// Says the caller is typing (for clients without a WebSocket); ephemeral.
#[utoipa::path(post, path = "/api/v1/channels/{id}/typing", tag = "realtime", request_body = TypingRequest,
    responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn typing(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(req): ApiJson<TypingRequest>,
) -> ApiResult<axum::http::StatusCode> {
    let view = crate::access::authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        octo_core::Action::Post,
    )
    .await?;
    let signal = Signal::Typing {
        channel_id: view.channel.id,
        principal_id: caller.principal.id,
        thread_id: req.thread_id,
    };
    if let Err(e) = state.broker.publish(signal).await {
        tracing::debug!(error = %e, "typing not published");
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The broker interest of one waiting poll, let go when the poll ends (also
/// when its client goes away mid-wait and the handler is dropped).
struct PollInterest {
    broker: std::sync::Arc<dyn octo_broker::Broker>,
    channels: Vec<ChannelId>,
}

impl PollInterest {
    async fn hold(state: &AppState, channels: &HashSet<ChannelId>) -> PollInterest {
        let channels: Vec<ChannelId> = channels.iter().cloned().collect();
        for channel in &channels {
            state.broker.interest(channel, true).await;
        }
        PollInterest {
            broker: state.broker.clone(),
            channels,
        }
    }
}

impl Drop for PollInterest {
    fn drop(&mut self) {
        let (broker, channels) = (self.broker.clone(), std::mem::take(&mut self.channels));
        if channels.is_empty() {
            return;
        }
        tokio::spawn(async move {
            for channel in &channels {
                broker.interest(channel, false).await;
            }
        });
    }
}
