//! The org: its members (humans and agents), its tree, and its DMs.

use super::auth::NewHuman;
use crate::access::authorize_org;
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::visibility::Snapshot;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use octo_core::limits::*;
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewChannel, now};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct PrincipalList {
    pub items: Vec<Principal>,
    pub next: Option<String>,
}

/// Emails are for admins; everyone else sees handles and names.
fn redact_for(caller: &Caller, mut p: Principal) -> Principal {
    if !caller.principal.role.is_org_admin() && p.id != caller.principal.id {
        p.email = None;
    }
    p
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/members", tag = "orgs",
    responses((status = 200, body = PrincipalList)))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<PrincipalList>> {
    let org = OrgId::from_string(org);
    authorize_org(&caller, &org, Action::Read)?;
    let items = state
        .store
        .list_principals(&org)
        .await?
        .into_iter()
        .map(|p| redact_for(&caller, p))
        .collect();
    Ok(Json(PrincipalList { items, next: None }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberRequest {
    pub name: String,
    pub email: String,
    pub password: String,
    /// admin, member or guest (default member).
    pub role: Option<Role>,
    pub display_name: Option<String>,
}

/// An admin adds a human to the org.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/members", tag = "orgs", request_body = NewMemberRequest,
    responses((status = 201, body = Principal), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<NewMemberRequest>,
) -> ApiResult<(StatusCode, Json<Principal>)> {
    let org = OrgId::from_string(org);
    authorize_org(&caller, &org, Action::ManageOrg)?;
    let role = req.role.unwrap_or(Role::Member);
    match role {
        Role::Owner => {
            return Err(ApiError::bad_request(
                "invalid_role",
                "an org has one owner; add an admin instead",
            ));
        }
        Role::Agent => {
            return Err(ApiError::bad_request(
                "invalid_role",
                "agents are created with POST /orgs/{org}/agents",
            ));
        }
        _ => {}
    }
    let human = NewHuman::parse(
        &req.name,
        &req.email,
        &req.password,
        req.display_name.as_deref(),
    )?;
    let principal = state
        .store
        .create_principal(human.into_principal(org, role).await?)
        .await?;
    crate::audit::record(
        &state,
        &caller,
        "member.added",
        "principal",
        &principal.id,
        None,
        Some(serde_json::json!({"name": principal.name, "role": principal.role})),
    )
    .await;
    Ok((StatusCode::CREATED, Json(principal)))
}

#[derive(Serialize, ToSchema)]
pub struct TreeChannel {
    #[serde(flatten)]
    pub channel: Channel,
    pub is_member: bool,
    /// `last_seq - read_seq` for members; 0 otherwise.
    pub unread: u64,
}

#[derive(Serialize, ToSchema)]
pub struct TreeCategory {
    #[serde(flatten)]
    pub category: Category,
    pub channels: Vec<TreeChannel>,
}

#[derive(Serialize, ToSchema)]
pub struct TreeSpace {
    #[serde(flatten)]
    pub space: Space,
    /// The caller's role in the space, if it is a member.
    pub role: Option<Role>,
    pub categories: Vec<TreeCategory>,
    /// Channels in no category.
    pub channels: Vec<TreeChannel>,
}

#[derive(Serialize, ToSchema)]
pub struct Tree {
    pub org: Org,
    pub spaces: Vec<TreeSpace>,
    /// DMs and group DMs the caller is in.
    pub dms: Vec<TreeChannel>,
}

/// Spaces → categories → channels, and DMs: only what the caller can see.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/tree", tag = "orgs", responses((status = 200, body = Tree)))]
pub async fn tree(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Tree>> {
    let org_id = OrgId::from_string(org);
    authorize_org(&caller, &org_id, Action::Read)?;
    let org = state
        .store
        .get_org(&org_id)
        .await?
        .ok_or(ApiError::NotFound("org"))?;
    let snapshot = Snapshot::load(&state, &caller).await?;
    let mut spaces = Vec::new();
    for space in snapshot.spaces.iter().filter(|s| snapshot.can_see_space(s)) {
        let categories = state.store.list_categories(&space.id).await?;
        spaces.push(TreeSpace {
            role: snapshot.space_role(&space.id),
            categories: categories
                .into_iter()
                .map(|category| TreeCategory {
                    category,
                    channels: vec![],
                })
                .collect(),
            channels: vec![],
            space: space.clone(),
        });
    }
    let mut dms = Vec::new();
    for visible in snapshot.visible_channels() {
        let entry = TreeChannel {
            is_member: visible.membership.is_some(),
            unread: visible
                .membership
                .as_ref()
                .map_or(0, |m| visible.channel.last_seq.saturating_sub(m.read_seq)),
            channel: visible.channel,
        };
        let Some(space_id) = entry.channel.space_id.clone() else {
            dms.push(entry);
            continue;
        };
        let Some(space) = spaces.iter_mut().find(|s| s.space.id == space_id) else {
            continue;
        };
        match entry
            .channel
            .category_id
            .as_ref()
            .and_then(|c| space.categories.iter_mut().find(|tc| &tc.category.id == c))
        {
            Some(category) => category.channels.push(entry),
            None => space.channels.push(entry),
        }
    }
    Ok(Json(Tree { org, spaces, dms }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDmRequest {
    /// The other participants (the caller is added). One other → a DM; more → a
    /// group DM; none → a note-to-self.
    pub principal_ids: Vec<PrincipalId>,
}

/// Opens (or finds) the DM or group DM between the caller and others.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/dms", tag = "channels", request_body = NewDmRequest,
    responses((status = 201, body = Channel), (status = 200, body = Channel)))]
pub async fn open_dm(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<NewDmRequest>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let org = OrgId::from_string(org);
    authorize_org(&caller, &org, Action::Post)?;
    let mut members: BTreeSet<PrincipalId> = req.principal_ids.into_iter().collect();
    members.insert(caller.principal.id.clone());
    if members.len() > MAX_GROUP_DM_MEMBERS {
        return Err(ApiError::bad_request(
            "invalid_principal_ids",
            format!("a group DM holds at most {MAX_GROUP_DM_MEMBERS} members"),
        ));
    }
    for id in &members {
        let found = state.store.get_principal(id).await?;
        if !found.is_some_and(|p| p.org_id == org && !p.deactivated) {
            return Err(ApiError::bad_request(
                "unknown_principal",
                format!("no member {id} in this org"),
            ));
        }
    }
    let kind = if members.len() <= 2 {
        ChannelKind::Dm
    } else {
        ChannelKind::GroupDm
    };
    let dm_key = members
        .iter()
        .map(PrincipalId::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let mut ordered: Vec<PrincipalId> = vec![caller.principal.id.clone()];
    ordered.extend(members.into_iter().filter(|m| m != &caller.principal.id));
    let created = state
        .store
        .create_channel(NewChannel {
            id: ChannelId::generate(),
            org_id: org,
            space_id: None,
            category_id: None,
            kind,
            name: None,
            topic: None,
            private: true,
            created_by: caller.principal.id.clone(),
            created_at: now(),
            members: ordered,
            dm_key: Some(dm_key),
        })
        .await?;
    let status = if created.created {
        super::announce_new_channel(&state, &created.value).await?;
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(created.value)))
}
