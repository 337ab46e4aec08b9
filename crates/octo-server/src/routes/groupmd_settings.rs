//! A channel's group.md mode: `auto` (writes apply at once) or `review`
//! (changes are proposed and accepted by members with `edit_groupmd`; the
//! scribe proposes instead of writing). Threads follow their channel.

use crate::access::authorize_channel;
use crate::caller::Caller;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use octo_core::groupmd::GroupmdMode;
use octo_core::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupmdSettings {
    pub mode: GroupmdMode,
}

pub async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<GroupmdSettings>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let mode = state.store.groupmd_mode(&view.channel.id).await?;
    Ok(Json(GroupmdSettings { mode }))
}

/// Whoever may manage the channel (rename it, set its loop guard) sets this.
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<GroupmdSettings>,
) -> ApiResult<Json<GroupmdSettings>> {
    let view = authorize_channel(
        &state,
        &caller,
        &ChannelId::from_string(id),
        Action::ManageChannel,
    )
    .await?;
    let channel = &view.channel.id;
    let before = state.store.groupmd_mode(channel).await?;
    state
        .store
        .set_groupmd_mode(channel, req.mode, &caller.principal.id)
        .await?;
    if before != req.mode {
        crate::audit::record(
            &state,
            &caller,
            "groupmd.mode_changed",
            "channel",
            channel,
            Some(json!({ "mode": before })),
            Some(json!({ "mode": req.mode })),
        )
        .await;
    }
    Ok(Json(GroupmdSettings { mode: req.mode }))
}
