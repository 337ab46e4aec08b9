//! Reading the org audit log, and the one admin change that lives only here:
//! a member's org role.

use crate::access::authorize_org;
use crate::audit;
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use octo_core::model::{AuditEntry, Principal, PrincipalKind};
use octo_core::{Action, OrgId, PrincipalId, Role};
use octo_store::AuditFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor_id: Option<PrincipalId>,
    /// e.g. `member.role_changed`.
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEntry>,
    pub next: Option<String>,
}

/// Admins only.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit", tag = "orgs", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditList>> {
    let org = OrgId::from_string(org);
    authorize_org(&caller, &org, Action::ManageOrg)?;
    let filter = AuditFilter {
        actor: q.actor_id,
        action: q.action,
        target_id: q.target_id,
        before: q.before,
        after: q.after,
        limit: super::messages::page_limit(q.limit)?,
    };
    let items = state.store.list_audit(&org, filter).await?;
    Ok(Json(AuditList { items, next: None }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// admin, member or guest.
    pub role: Role,
}

/// Changes a human's org role. Only the owner makes or unmakes admins.
#[utoipa::path(patch, path = "/api/v1/orgs/{org}/members/{id}", tag = "orgs", request_body = RoleRequest,
    responses((status = 200, body = Principal), (status = 403, body = ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> ApiResult<Json<Principal>> {
    let org = OrgId::from_string(org);
    authorize_org(&caller, &org, Action::ManageOrg)?;
    let target = state
        .store
        .get_principal(&PrincipalId::from_string(id))
        .await?
        .filter(|p| p.org_id == org)
        .ok_or(ApiError::NotFound("member"))?;
    if target.kind == PrincipalKind::Agent || matches!(req.role, Role::Owner | Role::Agent) {
        return Err(ApiError::bad_request(
            "invalid_role",
            "a human's role is admin, member or guest",
        ));
    }
    if target.role == Role::Owner {
        return Err(ApiError::bad_request(
            "invalid_role",
            "the owner's role does not change",
        ));
    }
    let touches_admin = target.role == Role::Admin || req.role == Role::Admin;
    if touches_admin && caller.principal.role != Role::Owner {
        return Err(ApiError::Forbidden("make or unmake admins"));
    }
    let updated = state.store.set_role(&target.id, req.role).await?;
    audit::record(
        &state,
        &caller,
        "member.role_changed",
        "principal",
        &target.id,
        Some(serde_json::json!({"role": target.role})),
        Some(serde_json::json!({"role": updated.role})),
    )
    .await;
    // What the member may see can change with its role.
    state.access_changed(Some(updated.id.clone())).await;
    Ok(Json(updated))
}
