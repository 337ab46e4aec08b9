//! First-run setup, login, and the caller's own identity and tokens.

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::password::{hash_password, new_token_secret, token_hash, verify_password};
use crate::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use chrono::Duration;
use octo_core::limits::MAX_DESCRIPTION_CHARS;
use octo_core::model::*;
use octo_core::names::*;
use octo_core::*;
use octo_store::{NewOrg, NewPrincipal, NewToken, Timestamp, now};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub org_name: String,
    /// The owner's handle (what others type after `@`).
    pub name: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SetupResponse {
    pub token: String,
    pub org: Org,
    pub principal: Principal,
}

fn login_throttle(state: &AppState, addr: SocketAddr) -> ApiResult<()> {
    state
        .login_limiter
        .check(&addr.ip().to_string())
        .map_err(ApiError::rate_limited)
}

/// A new human's details, parsed; hashing the password comes last (it is the
/// slow part) in [`NewHuman::into_principal`].
pub struct NewHuman {
    name: Handle,
    email: Email,
    password: Password,
    display_name: Option<String>,
}

impl NewHuman {
    pub fn parse(
        name: &str,
        email: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> ApiResult<Self> {
        Ok(Self {
            name: Handle::parse("name", name)?,
            email: Email::parse(email)?,
            password: Password::parse(password)?,
            display_name: parse_optional_text("display_name", display_name, MAX_DESCRIPTION_CHARS)?,
        })
    }

    pub async fn into_principal(self, org_id: OrgId, role: Role) -> ApiResult<NewPrincipal> {
        let hash = hash_password(self.password.expose().to_owned()).await?;
        Ok(NewPrincipal {
            id: PrincipalId::generate(),
            org_id,
            kind: PrincipalKind::Human,
            name: self.name.to_string(),
            display_name: self.display_name,
            email: Some(self.email.to_string()),
            password_hash: Some(hash),
            role,
            owner_id: None,
            description: None,
            skills: vec![],
            avatar_url: None,
            created_at: now(),
        })
    }
}

/// Issues a token for `principal` and returns its secret (shown once).
pub async fn issue_token(
    state: &AppState,
    principal: &PrincipalId,
    label: &str,
    expires_at: Option<Timestamp>,
) -> ApiResult<(String, TokenInfo)> {
    let secret = new_token_secret();
    let info = state
        .store
        .create_token(NewToken {
            id: TokenId::generate(),
            principal_id: principal.clone(),
            secret_hash: token_hash(&secret),
            label: label.to_owned(),
            created_at: now(),
            expires_at,
        })
        .await?;
    Ok((secret, info))
}

/// First run: creates the org and its owner. Refused once the server is set up.
#[utoipa::path(post, path = "/api/v1/setup", tag = "auth", request_body = SetupRequest,
    responses((status = 201, body = SetupResponse), (status = 409, body = ErrorBody)))]
pub async fn setup(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<SetupRequest>,
) -> ApiResult<(StatusCode, Json<SetupResponse>)> {
    login_throttle(&state, addr)?;
    let org_name = ResourceName::parse("org_name", &req.org_name)?;
    let owner = NewHuman::parse(
        &req.name,
        &req.email,
        &req.password,
        req.display_name.as_deref(),
    )?;
    if state.store.is_set_up().await? {
        return Err(ApiError::Conflict("this server is already set up".into()));
    }
    let org_id = OrgId::generate();
    let owner = owner.into_principal(org_id.clone(), Role::Owner).await?;
    let org = NewOrg {
        id: org_id,
        name: org_name.to_string(),
        created_at: owner.created_at,
    };
    let (org, principal) = state.store.setup(org, owner).await?;
    crate::scribe::create_for_org(&state, &principal).await?;
    let expires = now() + Duration::days(i64::from(state.config.login_token_days));
    let (token, _) = issue_token(&state, &principal.id, "setup", Some(expires)).await?;
    Ok((
        StatusCode::CREATED,
        Json(SetupResponse {
            token,
            org,
            principal,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub principal: Principal,
}

/// Exchanges an email and password for a bearer token. A wrong password and an
/// unknown email get the same answer in about the same time.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    login_throttle(&state, addr)?;
    let wrong = || ApiError::unauthenticated("invalid_credentials", "wrong email or password");
    // An unparseable email can't exist; still do the hashing work so timing
    // tells nothing.
    let found = match Email::parse(&req.email) {
        Ok(email) => state.store.find_login(email.as_str()).await?,
        Err(_) => None,
    };
    let (principal, hash) = match found {
        Some((p, h)) if !p.deactivated => (Some(p), Some(h)),
        _ => (None, None),
    };
    if !verify_password(req.password, hash).await? {
        return Err(wrong());
    }
    let principal = principal.ok_or_else(wrong)?;
    let expires = now() + Duration::days(i64::from(state.config.login_token_days));
    let (token, info) = issue_token(&state, &principal.id, "login", Some(expires)).await?;
    Ok(Json(LoginResponse {
        token,
        expires_at: info.expires_at,
        principal,
    }))
}

/// Revokes the token this request was made with.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    state
        .revoke_token(&caller.principal.id, &caller.token.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub principal: Principal,
    pub org: Org,
    /// The token this request was made with.
    pub token: TokenInfo,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = MeResponse)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<MeResponse>> {
    let org = state
        .store
        .get_org(&caller.principal.org_id)
        .await?
        .ok_or_else(|| ApiError::Internal("principal without org".into()))?;
    Ok(Json(MeResponse {
        principal: caller.principal,
        org,
        token: caller.token,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenInfo>,
    pub next: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for, shown in listings.
    pub label: Option<String>,
    /// Lifetime in days; omitted means it lives until revoked.
    pub expires_in_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct NewTokenResponse {
    /// The secret. Shown only here; Octo keeps only its hash.
    pub token: String,
    pub info: TokenInfo,
}

pub async fn create_token_for(
    state: &AppState,
    principal: &PrincipalId,
    req: NewTokenRequest,
) -> ApiResult<NewTokenResponse> {
    let label =
        parse_optional_text("label", req.label.as_deref(), 100)?.unwrap_or_else(|| "api".into());
    let expires_at = match req.expires_in_days {
        Some(0) => {
            return Err(ApiError::bad_request(
                "invalid_expires_in_days",
                "must be at least 1",
            ));
        }
        Some(d) if d > 3650 => {
            return Err(ApiError::bad_request(
                "invalid_expires_in_days",
                "must be at most 3650",
            ));
        }
        Some(d) => Some(now() + Duration::days(i64::from(d))),
        None => None,
    };
    let (token, info) = issue_token(state, principal, &label, expires_at).await?;
    Ok(NewTokenResponse { token, info })
}

#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "auth", responses((status = 200, body = TokenList)))]
pub async fn list_my_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<TokenList>> {
    let items = state.store.list_tokens(&caller.principal.id).await?;
    Ok(Json(TokenList { items, next: None }))
}

#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "auth", request_body = NewTokenRequest,
    responses((status = 201, body = NewTokenResponse)))]
pub async fn create_my_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewTokenResponse>)> {
    let created = create_token_for(&state, &caller.principal.id, req).await?;
    crate::audit::record(
        &state,
        &caller,
        "token.created",
        "token",
        &created.info.id,
        None,
        Some(serde_json::json!({"label": created.info.label, "principal_id": caller.principal.id})),
    )
    .await;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "auth",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_my_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let token = TokenId::from_string(id);
    if state.revoke_token(&caller.principal.id, &token).await? {
        crate::audit::record(
            &state,
            &caller,
            "token.revoked",
            "token",
            &token,
            None,
            None,
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("token"))
    }
}
