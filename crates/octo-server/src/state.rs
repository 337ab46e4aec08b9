//! What every handler shares.

use crate::cache::AccessCache;
use crate::ratelimit::{RateLimit, RateLimiter};
use crate::realtime::hub::Hub;
use crate::triggers::TriggerGate;
use crate::turn::TurnKeys;
use object_store::ObjectStore;
use octo_broker::{Broker, Signal};
use octo_core::{Event, PrincipalId};
use octo_store::Store;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{Notify, OnceCell, watch};

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
    pub realtime: RealtimeConfig,
    pub agents: AgentsConfig,
    pub files: FilesConfig,
    /// New channels get the org's `scribe` agent as a member. The binary sets
    /// it from `[scribe] enabled` (off, the scribe would be a member nobody
    /// runs); not a `[limits]` key.
    #[serde(skip)]
    pub scribe_joins_channels: bool,
}

/// Attachments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// Largest upload, in bytes.
    pub max_upload_bytes: usize,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 25 * 1024 * 1024,
        }
    }
}

/// Agent-facing timings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsConfig {
    /// A stream with no delta for this long is closed as interrupted.
    pub stream_idle_secs: u64,
    /// How long a trigger's turn token lives.
    pub turn_token_secs: u64,
    /// A webhook receiver that takes longer than this to answer has failed.
    pub webhook_timeout_ms: u64,
    /// The first retry's wait; each next one doubles it.
    pub webhook_retry_base_ms: u64,
    /// Attempts before a delivery is dead-lettered.
    pub webhook_max_attempts: u32,
    /// One node of a cluster sends webhooks at a time: the holder of the
    /// sender's lease, renewed every third of this. A dead holder's work is
    /// taken over this long after its last renewal.
    pub webhook_lease_ms: u64,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            stream_idle_secs: 60,
            turn_token_secs: 15 * 60,
            webhook_timeout_ms: 10_000,
            webhook_retry_base_ms: 1_000,
            webhook_max_attempts: 9,
            webhook_lease_ms: 30_000,
        }
    }
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
            realtime: RealtimeConfig::default(),
            agents: AgentsConfig::default(),
            files: FilesConfig::default(),
            scribe_joins_channels: false,
        }
    }
}

/// WebSocket and long-poll limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealtimeConfig {
    /// Frames a connection may have queued before it counts as a consumer that
    /// stopped reading and is cut off.
    pub send_queue: usize,
    /// A socket write that takes longer than this cuts the connection off too.
    pub send_timeout_ms: u64,
    /// How often the server pings.
    pub ping_interval_ms: u64,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout_ms: u64,
    /// Time allowed for the `hello` frame.
    pub hello_timeout_ms: u64,
    /// Largest frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// Longest `wait` a long-poll may ask for, in seconds.
    pub longpoll_max_wait_secs: u64,
    /// Events for a socket written to less than this long ago wait out the
    /// rest of the window and go in one write: under load, fewer writes (most
    /// of a delivery's cost) for at most this much latency. 0: write at once.
    pub coalesce_ms: u64,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            send_queue: 1024,
            send_timeout_ms: 10_000,
            ping_interval_ms: 20_000,
            idle_timeout_ms: 60_000,
            hello_timeout_ms: 10_000,
            max_frame_bytes: 64 * 1024,
            longpoll_max_wait_secs: 60,
            coalesce_ms: 1,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    /// Where attachments' bytes live.
    pub files: Arc<dyn ObjectStore>,
    pub hub: Arc<Hub>,
    pub config: Arc<ServerConfig>,
    pub limiter: Arc<RateLimiter>,
    pub login_limiter: Arc<RateLimiter>,
    /// Flips to true when the server starts shutting down, so that long-lived
    /// connections (WebSocket, long-poll) end instead of holding it up.
    pub shutting_down: watch::Receiver<bool>,
    shutdown: Arc<watch::Sender<bool>>,
    /// Decides and records which agents a write wakes.
    pub triggers: Arc<TriggerGate>,
    /// Tokens, channel permission inputs and member lists, read once.
    pub cache: Arc<AccessCache>,
    turn_keys: Arc<OnceCell<TurnKeys>>,
    /// Wakes the webhook worker when something is queued.
    pub webhook_wake: Arc<Notify>,
    /// The speech engine and corrector; pocketsphinx unless [`AppState::with_voice`]
    /// set another. Made on first use (loading the dictionary takes a moment).
    voice: Arc<OnceCell<octo_voice::Voice>>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
        files: Arc<dyn ObjectStore>,
        config: ServerConfig,
    ) -> Self {
        let (shutdown, shutting_down) = watch::channel(false);
        Self {
            store,
            broker,
            files,
            hub: Arc::new(Hub::new(uuid_like_node_id())),
            limiter: Arc::new(RateLimiter::new(config.rate_limit)),
            login_limiter: Arc::new(RateLimiter::new(config.login_rate_limit)),
            config: Arc::new(config),
            shutting_down,
            shutdown: Arc::new(shutdown),
            triggers: Arc::new(TriggerGate::default()),
            cache: Arc::new(AccessCache::default()),
            turn_keys: Arc::new(OnceCell::new()),
            webhook_wake: Arc::new(Notify::new()),
            voice: Arc::new(OnceCell::new()),
        }
    }

    /// Uses this speech engine instead of the embedded pocketsphinx.
    pub fn with_voice(self, voice: octo_voice::Voice) -> Self {
        let _ = self.voice.set(voice);
        self
    }

    /// The speech engine, made on first use.
    pub async fn voice(&self) -> &octo_voice::Voice {
        self.voice
            .get_or_init(|| async {
                match tokio::task::spawn_blocking(octo_voice::Voice::pocketsphinx).await {
                    Ok(voice) => voice,
                    Err(_) => octo_voice::Voice::pocketsphinx(),
                }
            })
            .await
    }

    /// The keys turn tokens are signed with (loaded from the store once).
    pub async fn turn_keys(&self) -> Result<&TurnKeys, octo_store::StoreError> {
        self.turn_keys
            .get_or_try_init(|| async { Ok(TurnKeys::new(self.store.deployment_secret().await?)) })
            .await
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Tells every node about committed events. The broker is a hint, so a
    /// failure is logged, not returned: receivers catch up from the log.
    pub async fn publish(&self, events: impl IntoIterator<Item = impl Into<Arc<Event>>>) {
        for event in events {
            let event: Arc<Event> = event.into();
            let member = crate::cache::changes_access(event.kind).then(|| {
                // Before the handler answers, so this node's next request sees it.
                self.cache.invalidate();
                event.payload["principal_id"]
                    .as_str()
                    .map(PrincipalId::from_string)
            });
            if let Err(e) = self.broker.publish(Signal::Event(event)).await {
                tracing::warn!(error = %e, "could not publish an event; receivers will catch up from the log");
            }
            // Other nodes may not follow this channel; a membership change must
            // still reach their caches (after the event, so the member's own
            // sessions get `member.left` before they re-check).
            if let Some(Some(member)) = member {
                self.access_changed(Some(member)).await;
            }
        }
    }

    /// Revokes a token, then makes every node forget it before answering, so it
    /// is refused from the next request on.
    pub async fn revoke_token(
        &self,
        principal: &PrincipalId,
        token: &octo_core::TokenId,
    ) -> Result<bool, octo_store::StoreError> {
        let revoked = self.store.revoke_token(principal, token).await?;
        self.access_changed(Some(principal.clone())).await;
        Ok(revoked)
    }

    /// Connections of `principal` (or everyone's) must re-check what they see.
    pub async fn access_changed(&self, principal: Option<PrincipalId>) {
        self.cache.invalidate();
        if let Err(e) = self
            .broker
            .publish(Signal::AccessChanged {
                principal_id: principal,
            })
            .await
        {
            tracing::warn!(error = %e, "could not publish an access change");
        }
    }
}

/// Names this node in presence signals.
fn uuid_like_node_id() -> String {
    octo_core::EventId::generate().to_string()
}
