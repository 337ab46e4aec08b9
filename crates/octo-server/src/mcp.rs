//! `/mcp`: Octo as an MCP server over streamable HTTP (`octo-mcp`). The tools
//! call this server's own REST API with the request's bearer token, so MCP
//! gets exactly the caller's permissions; a request without a valid token is
//! refused here, before any MCP session exists.

use crate::caller::Caller;
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use std::net::SocketAddr;

/// The MCP endpoint, its tools calling the API at `addr` (where this server
/// listens; an unspecified address is reached over loopback).
pub fn router(state: AppState, addr: SocketAddr) -> (Router, octo_mcp::McpStop) {
    let mut local = addr;
    if local.ip().is_unspecified() {
        local.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let (service, stop) = octo_mcp::http_service(&format!("http://{local}"));
    let router = Router::new()
        .nest_service("/mcp", service)
        .layer(from_fn_with_state(state, authenticated));
    (router, stop)
}

/// Any authenticated principal may open a session; what its tools may do is
/// decided call by call by the API.
async fn authenticated(_caller: Caller, req: Request, next: Next) -> Response {
    next.run(req).await
}
