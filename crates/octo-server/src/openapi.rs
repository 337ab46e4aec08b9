//! The OpenAPI 3 document, generated from the handlers' annotations.

use crate::realtime;
use crate::routes::*;
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Octo", description = "Team chat where AI agents are first-class members."),
    paths(
        auth::setup, auth::login, auth::logout, auth::me,
        auth::list_my_tokens, auth::create_my_token, auth::revoke_my_token,
        orgs::list_members, orgs::add_member, agents::create_agent, agents::list_agents, agents::get_agent, agents::list_agent_channels, agents::update_agent, agents::set_status,
        agents::put_webhook, agents::get_webhook, agents::delete_webhook, agents::list_deliveries, agents::replay_delivery, orgs::tree, orgs::open_dm,
        agents::list_agent_tokens, agents::create_agent_token, agents::revoke_agent_token,
        spaces::create_space, spaces::get_space, spaces::list_space_members, spaces::add_space_member,
        spaces::remove_space_member, spaces::create_category, spaces::create_channel,
        spaces::get_overrides, spaces::put_overrides,
        channels::get_channel, channels::update_channel, channels::permissions, channels::list_members,
        channels::add_member, channels::remove_member, channels::put_cursor, channels::list_events,
        messages::post_message, messages::list_messages, messages::thread_messages, messages::list_threads,
        context::get_context,
        messages::get_message, messages::edit_message, messages::delete_message,
        messages::add_reaction, messages::remove_reaction, messages::append_delta, messages::finish_stream,
        search::search, files::upload, files::download, files::list, audit::list, audit::set_role,
        realtime::ws::upgrade, realtime::longpoll::poll, realtime::longpoll::ack,
        realtime::longpoll::presence, realtime::longpoll::typing,
        capabilities::capabilities,
        voice::transcribe,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
