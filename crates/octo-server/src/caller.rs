//! Who is asking: the bearer token resolved to a principal, rate-limited.

use crate::error::ApiError;
use crate::state::AppState;
use crate::turn::{TURN_PREFIX, TurnError};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use octo_core::model::{Principal, TokenInfo};
use octo_core::perm::Subject;
use octo_core::{ChannelId, TokenId};
use octo_store::now;

/// An authenticated principal. Extracting it checks the token and spends one
/// request from the principal's own rate-limit bucket.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub token: TokenInfo,
    /// Set for a turn token: the one channel this caller may touch.
    pub scope: Option<ChannelId>,
}

impl Caller {
    pub fn subject(&self) -> Subject {
        Subject {
            id: self.principal.id.clone(),
            org_role: self.principal.role,
        }
    }
}

/// `last_used_at` is a hint for people auditing tokens; writing it on every
/// request would put a write on every read.
const TOUCH_EVERY_SECS: i64 = 60;

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthenticated("unauthenticated", "send Authorization: Bearer <token>")
    })?;
    let value = header.to_str().map_err(|_| {
        ApiError::unauthenticated("invalid_token", "the Authorization header is not text")
    })?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        ApiError::unauthenticated("invalid_token", "expected Authorization: Bearer <token>")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthenticated(
            "invalid_token",
            "expected Authorization: Bearer <token>",
        ));
    }
    Ok(token.trim())
}

/// Resolves a bearer secret to its principal; shared by the header extractor
/// and any transport that carries the token elsewhere.
pub async fn authenticate(state: &AppState, secret: &str) -> Result<Caller, ApiError> {
    if secret.starts_with(TURN_PREFIX) {
        return authenticate_turn(state, secret).await;
    }
    let hash = crate::password::token_hash(secret);
    let (token, principal) = match state.cache.token(&hash) {
        Some(found) => found,
        None => {
            let epoch = state.cache.epoch();
            let found = state.store.find_token(&hash).await?.ok_or_else(|| {
                ApiError::unauthenticated("invalid_token", "this token is not valid")
            })?;
            state.cache.put_token(hash.clone(), epoch, found.clone());
            found
        }
    };
    let at = now();
    if token.revoked_at.is_some() {
        return Err(ApiError::unauthenticated(
            "token_revoked",
            "this token was revoked",
        ));
    }
    if token.expires_at.is_some_and(|e| e <= at) {
        return Err(ApiError::unauthenticated(
            "token_expired",
            "this token has expired; log in again",
        ));
    }
    if principal.deactivated {
        return Err(ApiError::unauthenticated(
            "account_deactivated",
            "this account is deactivated",
        ));
    }
    if token
        .last_used_at
        .is_none_or(|t| (at - t).num_seconds() >= TOUCH_EVERY_SECS)
    {
        state.cache.touched(&hash, at);
        let store = state.store.clone();
        let id = token.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(&id, at).await {
                tracing::debug!(error = %e, "could not record token use");
            }
        });
    }
    Ok(Caller {
        principal,
        token,
        scope: None,
    })
}

/// A turn token: checked by signature, no lookup of the token itself.
async fn authenticate_turn(state: &AppState, secret: &str) -> Result<Caller, ApiError> {
    let keys = state.turn_keys().await?;
    let at = now();
    let turn = keys.verify(secret, at).map_err(|e| match e {
        TurnError::Expired => {
            ApiError::unauthenticated("token_expired", "this turn token has expired")
        }
        TurnError::Malformed | TurnError::BadSignature => {
            ApiError::unauthenticated("invalid_token", "this token is not valid")
        }
    })?;
    let principal = state
        .store
        .get_principal(&turn.agent)
        .await?
        .filter(|p| !p.deactivated)
        .ok_or_else(|| ApiError::unauthenticated("invalid_token", "this token is not valid"))?;
    let token = TokenInfo {
        id: TokenId::from_string("turn"),
        principal_id: principal.id.clone(),
        label: "turn".into(),
        created_at: at,
        expires_at: Some(turn.expires_at),
        last_used_at: None,
        revoked_at: None,
    };
    Ok(Caller {
        principal,
        token,
        scope: Some(turn.channel),
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = authenticate(state, bearer(parts)?).await?;
        spend_request(state, &caller)?;
        Ok(caller)
    }
}

/// Spends one request from the principal's rate-limit bucket, or refuses
/// (429 `rate_limited`) when it is empty: every authenticated HTTP request, and
/// every message sent over a WebSocket.
pub fn spend_request(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    state
        .limiter
        .check(caller.principal.id.as_str())
        .map_err(ApiError::rate_limited)
}
