//! Octo's HTTP server: the REST API of `/api/v1`, its authentication, rate
//! limits and OpenAPI document.
//!
//! [`serve`] takes an already-bound listener and a shutdown signal, so tests bind
//! `127.0.0.1:0` and the binary binds whatever it was told.
#![forbid(unsafe_code)]

pub mod access;
pub mod audit;
pub mod cache;
pub mod caller;
pub mod error;
pub mod extract;
pub mod mcp;
pub mod openapi;
pub mod password;
pub mod ratelimit;
pub mod realtime;
pub mod routes;
pub mod scribe;
pub mod state;
pub mod triggers;
pub mod turn;
pub mod visibility;
pub mod web;
pub mod webhooks;

pub use ratelimit::RateLimit;
pub use state::{AgentsConfig, AppState, FilesConfig, RealtimeConfig, ServerConfig};

use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(state.clone())
        .nest("/api/v1", routes::api(state))
        .fallback(web::fallback)
}

async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, error::ApiError> {
    state.store.is_set_up().await?;
    Ok("ok")
}

/// Serves until `shutdown` resolves, then stops accepting, tells WebSocket and
/// long-poll clients to go, and lets requests in flight finish. The caller closes
/// the store afterwards, which drains writes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let dispatcher = tokio::spawn(realtime::run_dispatcher(state.clone()));
    let sweeper = tokio::spawn(routes::messages::sweep_idle_streams(state.clone()));
    let webhooks = tokio::spawn(webhooks::run(state.clone()));
    let (mcp, mcp_stop) = mcp::router(state.clone(), listener.local_addr()?);
    let stopping = state.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.begin_shutdown();
        mcp_stop.stop();
    };
    // Without TCP_NODELAY a small frame written while the previous one is
    // unacknowledged waits for the peer's delayed ACK (up to 40 ms on Linux):
    // real-time delivery is a stream of small frames.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let served = axum::serve(
        listener,
        app(state)
            .merge(mcp)
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    dispatcher.abort();
    sweeper.abort();
    webhooks.abort();
    served
}
