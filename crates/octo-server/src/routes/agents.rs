//! Agents: creation, profiles, tokens, and their status line in a channel.

use super::auth::{NewTokenRequest, NewTokenResponse, TokenList, create_token_for};
use crate::access::{authorize_channel, authorize_org};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use octo_core::limits::*;
use octo_core::model::*;
use octo_core::names::*;
use octo_core::perm::{Scope, authorize};
use octo_core::*;
use octo_store::{NewPrincipal, ProfilePatch, now};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most skills on a profile, and the longest one.
const MAX_SKILLS: usize = 20;
const MAX_SKILL_CHARS: usize = 40;
/// Longest status line.
const MAX_STATUS_CHARS: usize = 140;

fn parse_skills(raw: Vec<String>) -> Result<Vec<String>, InvalidInput> {
    if raw.len() > MAX_SKILLS {
        return Err(InvalidInput::new(
            "skills",
            format!("at most {MAX_SKILLS} skills"),
        ));
    }
    let mut skills: Vec<String> = Vec::with_capacity(raw.len());
    for s in raw {
        let s = parse_optional_text("skills", Some(&s), MAX_SKILL_CHARS)?
            .ok_or_else(|| InvalidInput::new("skills", "a skill must not be empty"))?;
        if !skills.contains(&s) {
            skills.push(s);
        }
    }
    Ok(skills)
}

fn parse_avatar_url(raw: Option<&str>) -> Result<Option<String>, InvalidInput> {
    let Some(url) = parse_optional_text("avatar_url", raw, 2048)? else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
    {
        return Err(InvalidInput::new("avatar_url", "must be an http(s) URL"));
    }
    Ok(Some(url))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentRequest {
    pub name: String,
    pub description: Option<String>,
    pub display_name: Option<String>,
    /// What it is good at (each 1–40 characters, at most 20).
    pub skills: Option<Vec<String>>,
    pub avatar_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NewAgentResponse {
    pub principal: Principal,
    /// The agent's first token. Shown only here.
    pub token: String,
}

/// Creates an agent owned by the caller, with its first token.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/agents", tag = "agents", request_body = NewAgentRequest,
    responses((status = 201, body = NewAgentResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<NewAgentRequest>,
) -> ApiResult<(StatusCode, Json<NewAgentResponse>)> {
    let org = OrgId::from_string(org);
    authorize_org(&caller, &org, Action::CreateAgent)?;
    let name = Handle::parse("name", &req.name)?;
    let description = parse_optional_text(
        "description",
        req.description.as_deref(),
        MAX_DESCRIPTION_CHARS,
    )?;
    let display_name = parse_optional_text(
        "display_name",
        req.display_name.as_deref(),
        MAX_DESCRIPTION_CHARS,
    )?;
    let skills = parse_skills(req.skills.unwrap_or_default())?;
    let avatar_url = parse_avatar_url(req.avatar_url.as_deref())?;
    let principal = state
        .store
        .create_principal(NewPrincipal {
            id: PrincipalId::generate(),
            org_id: org,
            kind: PrincipalKind::Agent,
            name: name.to_string(),
            display_name,
            email: None,
            password_hash: None,
            role: Role::Agent,
            owner_id: Some(caller.principal.id.clone()),
            description,
            skills,
            avatar_url,
            created_at: now(),
        })
        .await?;
    let created = create_token_for(
        &state,
        &principal.id,
        NewTokenRequest {
            label: Some("agent".into()),
            expires_in_days: None,
        },
    )
    .await?;
    crate::audit::record(
        &state,
        &caller,
        "agent.created",
        "principal",
        &principal.id,
        None,
        Some(serde_json::json!({"name": principal.name, "owner_id": principal.owner_id})),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(NewAgentResponse {
            principal,
            token: created.token,
        }),
    ))
}

/// An agent's tokens are managed by its owner, or by whoever may manage agents.
async fn managed_agent(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Principal> {
    let agent = state
        .store
        .get_principal(&PrincipalId::from_string(id))
        .await?
        .filter(|p| p.org_id == caller.principal.org_id && p.kind == PrincipalKind::Agent)
        .ok_or(ApiError::NotFound("agent"))?;
    let owns = agent.owner_id.as_ref() == Some(&caller.principal.id);
    if !owns && !authorize(&caller.subject(), Action::ManageAgents, &Scope::Org).is_allowed() {
        return Err(ApiError::Forbidden(Action::ManageAgents.as_str()));
    }
    Ok(agent)
}

#[utoipa::path(get, path = "/api/v1/agents/{id}/tokens", tag = "agents", responses((status = 200, body = TokenList)))]
pub async fn list_agent_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenList>> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let items = state.store.list_tokens(&agent.id).await?;
    Ok(Json(TokenList { items, next: None }))
}

#[utoipa::path(post, path = "/api/v1/agents/{id}/tokens", tag = "agents", request_body = NewTokenRequest,
    responses((status = 201, body = NewTokenResponse)))]
pub async fn create_agent_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewTokenResponse>)> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let created = create_token_for(&state, &agent.id, req).await?;
    crate::audit::record(
        &state,
        &caller,
        "token.created",
        "token",
        &created.info.id,
        None,
        Some(serde_json::json!({"label": created.info.label, "principal_id": agent.id})),
    )
    .await;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/api/v1/agents/{id}/tokens/{token_id}", tag = "agents",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_agent_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, token_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let token = TokenId::from_string(token_id);
    if state.revoke_token(&agent.id, &token).await? {
        crate::audit::record(
            &state,
            &caller,
            "token.revoked",
            "token",
            &token,
            Some(serde_json::json!({"principal_id": agent.id})),
            None,
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("token"))
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/agents", tag = "agents",
    responses((status = 200, body = super::orgs::PrincipalList)))]
pub async fn list_agents(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<super::orgs::PrincipalList>> {
    let org = OrgId::from_string(org);
    authorize_org(&caller, &org, Action::Read)?;
    let items = state
        .store
        .list_principals(&org)
        .await?
        .into_iter()
        .filter(|p| p.kind == PrincipalKind::Agent)
        .collect();
    Ok(Json(super::orgs::PrincipalList { items, next: None }))
}

/// An agent of the caller's org, which the caller may read; anything else is
/// 404 (another org's agent, a person).
async fn agent_in_callers_org(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> ApiResult<Principal> {
    authorize_org(caller, &caller.principal.org_id.clone(), Action::Read)?;
    state
        .store
        .get_principal(&PrincipalId::from_string(id))
        .await?
        .filter(|p| p.org_id == caller.principal.org_id && p.kind == PrincipalKind::Agent)
        .ok_or(ApiError::NotFound("agent"))
}

#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents",
    responses((status = 200, body = Principal), (status = 404, body = ErrorBody)))]
pub async fn get_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Principal>> {
    let agent = agent_in_callers_org(&state, &caller, id).await?;
    Ok(Json(agent))
}

#[derive(Serialize, ToSchema)]
pub struct AgentChannel {
    pub channel_id: ChannelId,
    pub kind: ChannelKind,
    /// None for DMs.
    pub name: Option<String>,
    pub private: bool,
    /// When the agent is woken in this channel.
    pub trigger: TriggerPolicy,
    /// `last_seq - acked_seq`: events the agent has not yet taken.
    pub lag: u64,
    /// Whether the caller is a member too (a channel in common).
    pub with_you: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AgentChannelList {
    pub items: Vec<AgentChannel>,
    pub next: Option<String>,
}

/// The channels an agent is in, as far as the caller can see them (a channel
/// the caller may not read is left out, as everywhere): its profile's
/// "channels in common", with the trigger and backlog per channel.
#[utoipa::path(get, path = "/api/v1/agents/{id}/channels", tag = "agents",
    responses((status = 200, body = AgentChannelList), (status = 404, body = ErrorBody)))]
pub async fn list_agent_channels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentChannelList>> {
    let agent = agent_in_callers_org(&state, &caller, id).await?;
    let mut items = Vec::new();
    for member in state.store.memberships_of(&agent.id).await? {
        let view = match authorize_channel(&state, &caller, &member.channel_id, Action::Read).await
        {
            Ok(view) => view,
            Err(ApiError::NotFound(_) | ApiError::Forbidden(_)) => continue,
            Err(e) => return Err(e),
        };
        items.push(AgentChannel {
            lag: view.channel.last_seq.saturating_sub(member.acked_seq),
            with_you: view.membership.is_some(),
            channel_id: view.channel.id,
            kind: view.channel.kind,
            name: view.channel.name,
            private: view.channel.private,
            trigger: member.trigger,
        });
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(AgentChannelList { items, next: None }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    /// Empty strings clear a field.
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub skills: Option<Vec<String>>,
    pub avatar_url: Option<String>,
}

/// The owner (or whoever may manage agents) edits an agent's profile.
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents", request_body = ProfileRequest,
    responses((status = 200, body = Principal), (status = 403, body = ErrorBody)))]
pub async fn update_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ProfileRequest>,
) -> ApiResult<Json<Principal>> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let patch = ProfilePatch {
        display_name: req
            .display_name
            .map(|d| parse_optional_text("display_name", Some(&d), MAX_DESCRIPTION_CHARS))
            .transpose()?,
        description: req
            .description
            .map(|d| parse_optional_text("description", Some(&d), MAX_DESCRIPTION_CHARS))
            .transpose()?,
        skills: req.skills.map(parse_skills).transpose()?,
        avatar_url: req
            .avatar_url
            .map(|u| parse_avatar_url(Some(&u)))
            .transpose()?,
    };
    let updated = state.store.update_profile(&agent.id, patch).await?;
    // Cached callers carry the profile.
    state.access_changed(Some(agent.id.clone())).await;
    let profile = |p: &Principal| serde_json::json!({"display_name": p.display_name, "description": p.description, "skills": p.skills, "avatar_url": p.avatar_url});
    crate::audit::record(
        &state,
        &caller,
        "agent.updated",
        "principal",
        &agent.id,
        Some(profile(&agent)),
        Some(profile(&updated)),
    )
    .await;
    Ok(Json(updated))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// A short line such as "reading the thread…"; empty clears it.
    pub text: String,
}

/// Sets the caller's status line in a channel; members see it as an
/// `agent.status` event.
#[utoipa::path(put, path = "/api/v1/channels/{id}/status", tag = "agents", request_body = StatusRequest,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Post).await?;
    if view.membership.is_none() {
        return Err(ApiError::bad_request(
            "not_a_member",
            "join the channel to show a status in it",
        ));
    }
    let text = parse_optional_text("text", Some(&req.text), MAX_STATUS_CHARS)?;
    let payload = serde_json::json!({"principal_id": caller.principal.id, "text": text});
    let event = state
        .store
        .append_note(
            &view.channel.id,
            EventKind::AgentStatus,
            &caller.principal.id,
            payload.clone(),
        )
        .await?;
    state.publish([event]).await;
    Ok(Json(payload))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where triggers are POSTed (http or https).
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookInfo {
    pub url: String,
    /// The signing secret: shown when set, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn parse_webhook_url(raw: &str) -> Result<String, InvalidInput> {
    let bad = || InvalidInput::new("url", "must be an http(s) URL with a host");
    if raw.len() > 2048 {
        return Err(InvalidInput::new("url", "must be at most 2048 bytes"));
    }
    let url = reqwest::Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(url.to_string())
}

/// Sets (or replaces, with a new secret) the agent's webhook.
#[utoipa::path(put, path = "/api/v1/agents/{id}/webhook", tag = "agents", request_body = WebhookRequest,
    responses((status = 200, body = WebhookInfo), (status = 403, body = ErrorBody)))]
pub async fn put_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> ApiResult<Json<WebhookInfo>> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let url = parse_webhook_url(&req.url)?;
    let secret = format!(
        "whsec_{}",
        crate::password::new_token_secret().trim_start_matches(crate::password::TOKEN_PREFIX)
    );
    let created_at = now();
    let before = state
        .store
        .get_webhook(&agent.id)
        .await?
        .map(|w| serde_json::json!({"url": w.url}));
    state
        .store
        .set_webhook(
            &agent.id,
            Some(octo_store::Webhook {
                agent_id: agent.id.clone(),
                url: url.clone(),
                secret: secret.clone(),
                created_at,
            }),
        )
        .await?;
    crate::audit::record(
        &state,
        &caller,
        "webhook.set",
        "principal",
        &agent.id,
        before,
        Some(serde_json::json!({"url": url})),
    )
    .await;
    Ok(Json(WebhookInfo {
        url,
        secret: Some(secret),
        created_at,
    }))
}

#[utoipa::path(get, path = "/api/v1/agents/{id}/webhook", tag = "agents",
    responses((status = 200, body = WebhookInfo), (status = 404, body = ErrorBody)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookInfo>> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let webhook = state
        .store
        .get_webhook(&agent.id)
        .await?
        .ok_or(ApiError::NotFound("webhook"))?;
    Ok(Json(WebhookInfo {
        url: webhook.url,
        secret: None,
        created_at: webhook.created_at,
    }))
}

#[utoipa::path(delete, path = "/api/v1/agents/{id}/webhook", tag = "agents", responses((status = 204)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let before = state
        .store
        .get_webhook(&agent.id)
        .await?
        .map(|w| serde_json::json!({"url": w.url}));
    state.store.set_webhook(&agent.id, None).await?;
    crate::audit::record(
        &state,
        &caller,
        "webhook.removed",
        "principal",
        &agent.id,
        before,
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// pending, delivered or dead.
    pub status: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<octo_store::Delivery>,
    pub next: Option<String>,
}

/// The agent's webhook deliveries, newest first: the dead-letter list is
/// `?status=dead`.
#[utoipa::path(get, path = "/api/v1/agents/{id}/webhook/deliveries", tag = "agents", params(DeliveriesQuery),
    responses((status = 200, body = DeliveryList)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<DeliveryList>> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(octo_store::DeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request("invalid_status", "status is pending, delivered or dead")
        })?),
    };
    let limit = super::messages::page_limit(q.limit)?;
    let items = state
        .store
        .list_deliveries(&agent.id, status, limit)
        .await?;
    Ok(Json(DeliveryList { items, next: None }))
}

/// Sends a dead (or delivered) delivery again.
#[utoipa::path(post, path = "/api/v1/agents/{id}/webhook/deliveries/{delivery_id}/replay", tag = "agents",
    responses((status = 200, body = octo_store::Delivery), (status = 404, body = ErrorBody)))]
pub async fn replay_delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<Json<octo_store::Delivery>> {
    let agent = managed_agent(&state, &caller, &id).await?;
    let delivery = state.store.replay_delivery(&agent.id, &delivery_id).await?;
    state.webhook_wake.notify_one();
    Ok(Json(delivery))
}
