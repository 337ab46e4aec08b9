//! Spaces, their members and categories, channel creation, and overrides on
//! all three levels.

use crate::access::{authorize_category, authorize_channel, authorize_org, authorize_space};
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
use octo_core::*;
use octo_store::{NewCategory, NewChannel, NewSpace, ResourceRef, now};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSpaceRequest {
    pub name: String,
    pub visibility: Visibility,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/spaces", tag = "spaces", request_body = NewSpaceRequest,
    responses((status = 201, body = Space), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_space(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<NewSpaceRequest>,
) -> ApiResult<(StatusCode, Json<Space>)> {
    let org = OrgId::from_string(org);
    authorize_org(&caller, &org, Action::CreateSpace)?;
    let name = ResourceName::parse("name", &req.name)?;
    let space = state
        .store
        .create_space(NewSpace {
            id: SpaceId::generate(),
            org_id: org,
            name: name.to_string(),
            visibility: req.visibility,
            created_by: caller.principal.id.clone(),
            creator_role: Role::Admin,
            created_at: now(),
        })
        .await?;
    crate::audit::record(
        &state,
        &caller,
        "space.created",
        "space",
        &space.id,
        None,
        Some(serde_json::json!({"name": space.name, "visibility": space.visibility})),
    )
    .await;
    Ok((StatusCode::CREATED, Json(space)))
}

#[utoipa::path(get, path = "/api/v1/spaces/{id}", tag = "spaces", responses((status = 200, body = Space)))]
pub async fn get_space(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Space>> {
    Ok(Json(
        authorize_space(&state, &caller, &SpaceId::from_string(id), Action::Read).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct SpaceMemberList {
    pub items: Vec<SpaceMember>,
    pub next: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/spaces/{id}/members", tag = "spaces", responses((status = 200, body = SpaceMemberList)))]
pub async fn list_space_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SpaceMemberList>> {
    let space = authorize_space(&state, &caller, &SpaceId::from_string(id), Action::Read).await?;
    let items = state.store.list_space_members(&space.id).await?;
    Ok(Json(SpaceMemberList { items, next: None }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceMemberRequest {
    pub principal_id: PrincipalId,
    /// Defaults to the principal's org role (agents stay agents).
    pub role: Option<Role>,
}

/// Looks up an org member to be added somewhere.
pub async fn org_principal(
    state: &AppState,
    caller: &Caller,
    id: &PrincipalId,
) -> ApiResult<Principal> {
    state
        .store
        .get_principal(id)
        .await?
        .filter(|p| p.org_id == caller.principal.org_id && !p.deactivated)
        .ok_or_else(|| {
            ApiError::bad_request("unknown_principal", format!("no member {id} in this org"))
        })
}

#[utoipa::path(post, path = "/api/v1/spaces/{id}/members", tag = "spaces", request_body = SpaceMemberRequest,
    responses((status = 200, body = SpaceMember), (status = 403, body = ErrorBody)))]
pub async fn add_space_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SpaceMemberRequest>,
) -> ApiResult<Json<SpaceMember>> {
    let space = authorize_space(
        &state,
        &caller,
        &SpaceId::from_string(id),
        Action::ManageMembers,
    )
    .await?;
    let principal = org_principal(&state, &caller, &req.principal_id).await?;
    let role = req.role.unwrap_or(principal.role);
    if role == Role::Owner {
        return Err(ApiError::bad_request(
            "invalid_role",
            "a space has admins, not owners",
        ));
    }
    // Granting admin is managing the space itself, not just its membership.
    if role == Role::Admin {
        authorize_space(&state, &caller, &space.id, Action::ManageChannel).await?;
    }
    let before = state
        .store
        .space_member_role(&space.id, &principal.id)
        .await?;
    let member = state
        .store
        .put_space_member(&space.id, &principal.id, role)
        .await?;
    crate::audit::record(
        &state,
        &caller,
        "space.member_set",
        "space",
        &space.id,
        Some(serde_json::json!({"principal_id": principal.id, "role": before})),
        Some(serde_json::json!({"principal_id": principal.id, "role": role})),
    )
    .await;
    state.access_changed(Some(principal.id)).await;
    Ok(Json(member))
}

#[utoipa::path(delete, path = "/api/v1/spaces/{id}/members/{principal_id}", tag = "spaces",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_space_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, principal_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let principal_id = PrincipalId::from_string(principal_id);
    let leaving_self = principal_id == caller.principal.id;
    let action = if leaving_self {
        Action::Read
    } else {
        Action::ManageMembers
    };
    let space = authorize_space(&state, &caller, &SpaceId::from_string(id), action).await?;
    if state
        .store
        .remove_space_member(&space.id, &principal_id)
        .await?
    {
        crate::audit::record(
            &state,
            &caller,
            "space.member_removed",
            "space",
            &space.id,
            Some(serde_json::json!({"principal_id": principal_id})),
            None,
        )
        .await;
        state.access_changed(Some(principal_id)).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("space member"))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryRequest {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/spaces/{id}/categories", tag = "spaces", request_body = NewCategoryRequest,
    responses((status = 201, body = Category), (status = 409, body = ErrorBody)))]
pub async fn create_category(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewCategoryRequest>,
) -> ApiResult<(StatusCode, Json<Category>)> {
    let space = authorize_space(
        &state,
        &caller,
        &SpaceId::from_string(id),
        Action::ManageChannel,
    )
    .await?;
    let name = ResourceName::parse("name", &req.name)?;
    let category = state
        .store
        .create_category(NewCategory {
            id: CategoryId::generate(),
            space_id: space.id,
            name: name.to_string(),
            created_at: now(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(category)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelRequest {
    pub name: String,
    pub category_id: Option<CategoryId>,
    #[serde(default)]
    pub private: bool,
    pub topic: Option<String>,
}

/// Creates a channel; its creator is its first member.
#[utoipa::path(post, path = "/api/v1/spaces/{id}/channels", tag = "channels", request_body = NewChannelRequest,
    responses((status = 201, body = Channel), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewChannelRequest>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let space_id = SpaceId::from_string(id);
    let space = match &req.category_id {
        Some(category_id) => {
            let (category, space) =
                authorize_category(&state, &caller, category_id, Action::CreateChannel).await?;
            if category.space_id != space_id {
                return Err(ApiError::bad_request(
                    "invalid_category_id",
                    "that category belongs to another space",
                ));
            }
            space
        }
        None => authorize_space(&state, &caller, &space_id, Action::CreateChannel).await?,
    };
    let name = ResourceName::parse("name", &req.name)?;
    let topic = parse_optional_text("topic", req.topic.as_deref(), MAX_TOPIC_CHARS)?;
    let created = state
        .store
        .create_channel(NewChannel {
            id: ChannelId::generate(),
            org_id: space.org_id,
            space_id: Some(space.id),
            category_id: req.category_id,
            kind: ChannelKind::Channel,
            name: Some(name.to_string()),
            topic,
            private: req.private,
            created_by: caller.principal.id.clone(),
            created_at: now(),
            members: vec![caller.principal.id.clone()],
            dm_key: None,
        })
        .await?;
    crate::scribe::join_new_channel(&state, &created.value).await?;
    super::announce_new_channel(&state, &created.value).await?;
    Ok((StatusCode::CREATED, Json(created.value)))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideList {
    pub overrides: Vec<Override>,
}

/// Which level an overrides request is about, once authorized.
async fn override_target(
    state: &AppState,
    caller: &Caller,
    level: &str,
    id: String,
    action: Action,
) -> ApiResult<ResourceRef> {
    match level {
        "spaces" => {
            let space = authorize_space(state, caller, &SpaceId::from_string(id), action).await?;
            Ok(ResourceRef::Space(space.id))
        }
        "categories" => {
            let (category, _) =
                authorize_category(state, caller, &CategoryId::from_string(id), action).await?;
            Ok(ResourceRef::Category(category.id))
        }
        "channels" => {
            let view =
                authorize_channel(state, caller, &ChannelId::from_string(id), action).await?;
            Ok(ResourceRef::Channel(view.channel.id))
        }
        _ => Err(ApiError::NotFound("route")),
    }
}

#[utoipa::path(get, path = "/api/v1/{level}/{id}/overrides", tag = "permissions",
    params(("level" = String, Path, description = "spaces, categories or channels")),
    responses((status = 200, body = OverrideList)))]
pub async fn get_overrides(
    State(state): State<AppState>,
    caller: Caller,
    Path((level, id)): Path<(String, String)>,
) -> ApiResult<Json<OverrideList>> {
    let target = override_target(&state, &caller, &level, id, Action::Read).await?;
    Ok(Json(OverrideList {
        overrides: state.store.get_overrides(&target).await?,
    }))
}

/// Replaces every override on a space, category or channel.
#[utoipa::path(put, path = "/api/v1/{level}/{id}/overrides", tag = "permissions", request_body = OverrideList,
    params(("level" = String, Path, description = "spaces, categories or channels")),
    responses((status = 200, body = OverrideList), (status = 403, body = ErrorBody)))]
pub async fn put_overrides(
    State(state): State<AppState>,
    caller: Caller,
    Path((level, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<OverrideList>,
) -> ApiResult<Json<OverrideList>> {
    if req.overrides.len() > MAX_OVERRIDES_PER_RESOURCE {
        return Err(ApiError::bad_request(
            "invalid_overrides",
            format!("at most {MAX_OVERRIDES_PER_RESOURCE} overrides per resource"),
        ));
    }
    if let Some(o) = req
        .overrides
        .iter()
        .find(|o| o.target == OverrideTarget::Role(Role::Owner))
    {
        return Err(ApiError::bad_request(
            "invalid_overrides",
            format!(
                "the owner is never overridden ({} {})",
                o.action.as_str(),
                "owner"
            ),
        ));
    }
    let target = override_target(&state, &caller, &level, id, Action::ManageChannel).await?;
    for o in &req.overrides {
        if let OverrideTarget::Principal(p) = &o.target {
            super::spaces::org_principal(&state, &caller, p).await?;
        }
    }
    let mut overrides = req.overrides;
    overrides.dedup();
    let before = state.store.get_overrides(&target).await?;
    state
        .store
        .set_overrides(&target, overrides.clone())
        .await?;
    crate::audit::record(
        &state,
        &caller,
        "overrides.replaced",
        target.kind(),
        target.id(),
        Some(serde_json::json!(before)),
        Some(serde_json::json!(overrides)),
    )
    .await;
    state.access_changed(None).await;
    Ok(Json(OverrideList { overrides }))
}
