//! Real-time delivery: the WebSocket gateway, long-poll, presence and typing.
//!
//! The log is the truth and the broker only a hint: every session keeps the last
//! seq it delivered per channel, drops what it has already sent, and fills any
//! gap from the store before it sends what comes after.

pub mod frames;
pub mod hub;
pub mod longpoll;
pub mod send;
mod session;
pub mod ws;

use crate::state::AppState;
use octo_broker::Signal;
use tokio::sync::broadcast::error::RecvError;

/// Feeds this node's hub from the broker until the broker closes.
pub async fn run_dispatcher(state: AppState) {
    let mut signals = state.broker.subscribe();
    // The broker learns which channels this node has subscribers for, so a
    // clustered broker can receive only those.
    if let Some(mut changes) = state.hub.take_interest_changes() {
        let (broker, hub) = (state.broker.clone(), state.hub.clone());
        tokio::spawn(async move {
            while let Some(first) = changes.recv().await {
                // A burst (a session subscribing to many channels) is one batch.
                let mut batch = vec![first];
                while let Ok(more) = changes.try_recv() {
                    batch.push(more);
                }
                let mut gained = Vec::new();
                for (channel, wanted) in batch {
                    broker.interest(&channel, wanted).await;
                    if wanted {
                        gained.push(channel);
                    }
                }
                // What was committed between the sessions' first read of the
                // log and the broker's subscription never reached this node.
                if broker.narrows_by_interest() && !gained.is_empty() {
                    hub.resync_channels(&gained);
                }
            }
        });
    }
    loop {
        let next = tokio::time::timeout(hub::HOLD, signals.recv()).await;
        state.hub.release_held();
        let Ok(next) = next else { continue };
        match next {
            Ok(signal) => {
                // Changes made on other nodes reach this node's cache here.
                state.cache.observe(&signal);
                state.hub.dispatch(signal)
            }
            Err(RecvError::Lagged(missed)) => {
                state.cache.invalidate();
                tracing::warn!(
                    missed,
                    "the hub fell behind the broker; every session re-reads the log"
                );
                state.hub.resync_all();
            }
            Err(RecvError::Closed) => break,
        }
    }
}

/// Publishes a presence change (it comes back through the broker to every
/// node's hub, this one's included).
pub async fn publish_presence(state: &AppState, change: Option<Signal>) {
    if let Some(change) = change
        && let Err(e) = state.broker.publish(change).await
    {
        tracing::warn!(error = %e, "could not publish presence");
    }
}

/// Resolves once the server starts shutting down.
pub async fn shutting_down(mut rx: tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send; drop it here, not in a caller's
    // select!.
    let _ = rx.wait_for(|down| *down).await;
}
