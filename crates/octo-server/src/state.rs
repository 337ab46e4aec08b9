//! What every handler shares.

use crate::ratelimit::{RateLimit, RateLimiter};
use octo_store::Store;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The server's tunables. The binary reads them from its config file (`[limits]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Per principal, for every authenticated request.
    pub rate_limit: RateLimit,
    /// Per client address, for login and setup attempts.
    pub login_rate_limit: RateLimit,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a token from `POST /auth/login` lives.
    pub login_token_days: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            rate_limit: RateLimit {
                burst: 200,
                per_second: 50.0,
            },
            login_rate_limit: RateLimit {
                burst: 20,
                per_second: 0.5,
            },
            max_body_bytes: 1024 * 1024,
            login_token_days: 30,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub limiter: Arc<RateLimiter>,
    pub login_limiter: Arc<RateLimiter>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        Self {
            store,
            limiter: Arc::new(RateLimiter::new(config.rate_limit)),
            login_limiter: Arc::new(RateLimiter::new(config.login_rate_limit)),
            config: Arc::new(config),
        }
    }
}
