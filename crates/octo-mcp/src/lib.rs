//! Octo as an MCP server. Every tool is one or two calls of the public REST
//! API made with the caller's own token, so what a tool may read or write is
//! decided by the server exactly as for any other client.
//!
//! Two ways in: [`serve_stdio`] (`octo mcp`, token from `OCTO_TOKEN`) and
//! [`http_service`] (streamable HTTP at `/mcp`, token from each request's
//! `Authorization: Bearer` header).
#![forbid(unsafe_code)]

mod tools;

pub use tools::{MAX_WAIT_SECS, OctoMcp};

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("the MCP session failed: {0}")]
    Session(String),
}

/// Serves MCP over stdin/stdout until the client goes away.
pub async fn serve_stdio(url: &str, token: &str) -> Result<(), McpError> {
    let server = OctoMcp::with_token(url, token);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| McpError::Session(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| McpError::Session(e.to_string()))?;
    Ok(())
}

/// Ends every MCP session of an [`http_service`] (open SSE streams would
/// otherwise hold a graceful shutdown up).
#[derive(Clone)]
pub struct McpStop(CancellationToken);

impl McpStop {
    pub fn stop(&self) {
        self.0.cancel();
    }
}

/// The streamable HTTP endpoint, to mount at `/mcp`; tools call the API at
/// `api_url` (the server itself) with each request's bearer token.
///
/// The Host check against DNS rebinding is off: every request must carry a
/// bearer token (the server checks it before this service), which a page in
/// a browser tricked into calling us does not have.
pub fn http_service(
    api_url: &str,
) -> (StreamableHttpService<OctoMcp, LocalSessionManager>, McpStop) {
    let url = api_url.to_owned();
    let stop = CancellationToken::new();
    let service = StreamableHttpService::new(
        move || Ok(OctoMcp::from_requests(&url)),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .disable_allowed_hosts()
            .with_cancellation_token(stop.child_token()),
    );
    (service, McpStop(stop))
}
