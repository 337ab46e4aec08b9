//! `GET /api/v1/capabilities`: what this server offers, asked before login so
//! the web app can show first-run setup and hide what isn't there.

use crate::error::ApiResult;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Capabilities {
    /// False until `POST /setup` has created the org and its owner.
    pub set_up: bool,
    /// Whether this binary carries the built web app.
    pub web: bool,
    /// Features by name; clients show a feature's UI only when it is `true`.
    pub features: Features,
}

#[derive(Serialize, ToSchema)]
pub struct Features {
    pub agents: bool,
    pub streaming: bool,
    pub search: bool,
    pub files: bool,
    pub audit: bool,
    /// The shared group.md document (revisions, the `scribe` agent).
    pub group_md: bool,
    /// Voice input with transcription (not in this server yet).
    pub voice: bool,
}

#[utoipa::path(get, path = "/api/v1/capabilities", tag = "auth", security(()),
    responses((status = 200, body = Capabilities)))]
pub async fn capabilities(State(state): State<AppState>) -> ApiResult<Json<Capabilities>> {
    Ok(Json(Capabilities {
        set_up: state.store.is_set_up().await?,
        web: crate::web::is_embedded(),
        features: Features {
            agents: true,
            streaming: true,
            search: true,
            files: true,
            audit: true,
            group_md: true,
            voice: false,
        },
    }))
}
