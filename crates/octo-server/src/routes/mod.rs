//! The REST routes of `/api/v1`, in one table.

pub mod agents;
pub mod audit;
pub mod auth;
pub mod capabilities;
pub mod channels;
pub mod context;
pub mod files;
pub mod groupmd;
pub mod groupmd_proposals;
pub mod groupmd_settings;
pub mod messages;
pub mod orgs;
pub mod search;
pub mod spaces;
pub mod voice;

use crate::error::ApiError;
use crate::realtime;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};

pub fn api(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let max_upload = state.config.files.max_upload_bytes;
    Router::new()
        .route("/setup", post(auth::setup))
        .route("/capabilities", get(capabilities::capabilities))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route(
            "/me/tokens",
            get(auth::list_my_tokens).post(auth::create_my_token),
        )
        .route("/me/tokens/{id}", delete(auth::revoke_my_token))
        .route(
            "/orgs/{org}/members",
            get(orgs::list_members).post(orgs::add_member),
        )
        .route(
            "/orgs/{org}/agents",
            get(agents::list_agents).post(agents::create_agent),
        )
        .route(
            "/agents/{id}",
            get(agents::get_agent).patch(agents::update_agent),
        )
        .route("/agents/{id}/channels", get(agents::list_agent_channels))
        .route("/channels/{id}/status", put(agents::set_status))
        .route("/channels/{id}/context", get(context::get_context))
        .route(
            "/channels/{id}/groupmd",
            get(groupmd::get_groupmd).put(groupmd::put_groupmd),
        )
        .route(
            "/channels/{id}/threads/{root}/groupmd",
            get(groupmd::get_thread_groupmd).put(groupmd::put_thread_groupmd),
        )
        .route(
            "/channels/{id}/groupmd/revisions",
            get(groupmd::list_revisions),
        )
        .route(
            "/channels/{id}/groupmd/revisions/{n}",
            get(groupmd::get_revision),
        )
        .route(
            "/channels/{id}/groupmd/revisions/{n}/restore",
            post(groupmd::restore_revision),
        )
        .route(
            "/channels/{id}/threads/{root}/groupmd/revisions",
            get(groupmd::list_thread_revisions),
        )
        .route(
            "/channels/{id}/threads/{root}/groupmd/revisions/{n}",
            get(groupmd::get_thread_revision),
        )
        .route(
            "/channels/{id}/threads/{root}/groupmd/revisions/{n}/restore",
            post(groupmd::restore_thread_revision),
        )
        .route(
            "/agents/{id}/webhook",
            get(agents::get_webhook)
                .put(agents::put_webhook)
                .delete(agents::delete_webhook),
        )
        .route(
            "/agents/{id}/webhook/deliveries",
            get(agents::list_deliveries),
        )
        .route(
            "/agents/{id}/webhook/deliveries/{delivery_id}/replay",
            post(agents::replay_delivery),
        )
        .route("/orgs/{org}/tree", get(orgs::tree))
        .route("/orgs/{org}/dms", post(orgs::open_dm))
        .route("/orgs/{org}/spaces", post(spaces::create_space))
        .route(
            "/agents/{id}/tokens",
            get(agents::list_agent_tokens).post(agents::create_agent_token),
        )
        .route(
            "/agents/{id}/tokens/{token_id}",
            delete(agents::revoke_agent_token),
        )
        .route("/spaces/{id}", get(spaces::get_space))
        .route(
            "/spaces/{id}/members",
            get(spaces::list_space_members).post(spaces::add_space_member),
        )
        .route(
            "/spaces/{id}/members/{principal_id}",
            delete(spaces::remove_space_member),
        )
        .route("/spaces/{id}/categories", post(spaces::create_category))
        .route("/spaces/{id}/channels", post(spaces::create_channel))
        .route(
            "/{level}/{id}/overrides",
            get(spaces::get_overrides).put(spaces::put_overrides),
        )
        .route(
            "/channels/{id}",
            get(channels::get_channel).patch(channels::update_channel),
        )
        .route("/channels/{id}/permissions", get(channels::permissions))
        .route(
            "/channels/{id}/members",
            get(channels::list_members).post(channels::add_member),
        )
        .route(
            "/channels/{id}/members/{principal_id}",
            delete(channels::remove_member),
        )
        .route("/channels/{id}/cursor", put(channels::put_cursor))
        .route("/channels/{id}/events", get(channels::list_events))
        .route(
            "/channels/{id}/messages",
            get(messages::list_messages).post(messages::post_message),
        )
        .route("/channels/{id}/threads", get(messages::list_threads))
        .route(
            "/channels/{id}/threads/{thread_id}/messages",
            get(messages::thread_messages),
        )
        .route(
            "/messages/{id}",
            get(messages::get_message)
                .patch(messages::edit_message)
                .delete(messages::delete_message),
        )
        .route("/messages/{id}/deltas", post(messages::append_delta))
        .route("/messages/{id}/finish", post(messages::finish_stream))
        .route(
            "/messages/{id}/reactions/{emoji}",
            put(messages::add_reaction).delete(messages::remove_reaction),
        )
        .route("/ws", get(realtime::ws::upgrade))
        .route("/events", get(realtime::longpoll::poll))
        .route("/events/ack", post(realtime::longpoll::ack))
        .route("/orgs/{org}/presence", get(realtime::longpoll::presence))
        .route("/channels/{id}/typing", post(realtime::longpoll::typing))
        .route("/search", get(search::search))
        .route("/orgs/{org}/audit", get(audit::list))
        .route(
            "/orgs/{org}/members/{id}",
            axum::routing::patch(audit::set_role),
        )
        .route("/files/{id}", get(files::download))
        .route(
            "/channels/{id}/files",
            get(files::list)
                .post(files::upload)
                .layer(DefaultBodyLimit::max(max_upload)),
        )
        .route(
            "/channels/{id}/transcribe",
            post(voice::transcribe).layer(DefaultBodyLimit::max(voice::MAX_AUDIO_BYTES)),
        )
        .route("/openapi.json", get(crate::openapi::serve))
        .merge(groupmd_proposals::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A new channel's first events (its members joining) go out like any others,
/// so its members' sessions pick it up; a public channel is news to everyone
/// who can see its space.
pub async fn announce_new_channel(
    state: &AppState,
    channel: &octo_core::model::Channel,
) -> crate::error::ApiResult<()> {
    let events = state.store.list_events(&channel.id, 0, 500).await?;
    state.publish(events).await;
    if !channel.private {
        state.access_changed(None).await;
    }
    Ok(())
}
