//! The NATS backend of the [`Broker`] trait: how committed events reach the
//! other nodes of a cluster.
//!
//! Subjects (under a configurable prefix, `octo` by default):
//! - `<prefix>.ch.<channel id>`: a channel's events and typing. A node
//!   subscribes to a channel's subject only while it has someone to deliver
//!   it to (the [`Broker::interest`] hint, reference-counted).
//! - `<prefix>.all`: presence, agent triggers and access changes, which every
//!   node needs.
//!
//! NATS core is at-most-once, and that is enough: the log is the truth. A seq
//! gap is filled from the store by the receiving session; a reconnect to NATS
//! or a subscription NATS had to drop messages from (slow consumer) raises
//! [`Signal::Resync`] on this node, so every session re-reads the log from its
//! cursor. Clients see a delay, never a gap.
#![forbid(unsafe_code)]

use async_nats::{Client, ConnectOptions, Event as NatsEvent};
use async_trait::async_trait;
use futures::StreamExt;
use octo_broker::{Broker, BrokerError, Signal, Subscription};
use octo_core::ChannelId;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// How the broker connects.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// Subject prefix: clusters sharing one NATS keep apart by prefix.
    pub prefix: String,
    /// How many signals a slow local subscriber may fall behind before it
    /// lags (and re-reads the log).
    pub capacity: usize,
    /// Messages NATS buffers per subscription before it drops (and this
    /// broker raises a resync).
    pub subscription_capacity: usize,
    /// Longest wait for the first connection.
    pub connect_timeout: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            prefix: "octo".into(),
            capacity: octo_broker::DEFAULT_CAPACITY,
            subscription_capacity: 64 * 1024,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

struct Interest {
    /// How many local holders want the channel.
    holders: usize,
    /// Forwards the channel's subject into the local fan-out.
    task: JoinHandle<()>,
}

pub struct NatsBroker {
    client: Client,
    prefix: String,
    local: broadcast::Sender<Signal>,
    channels: Mutex<HashMap<ChannelId, Interest>>,
    all: JoinHandle<()>,
}

impl NatsBroker {
    /// Connects to `url` (`nats://host:port`) and starts receiving the
    /// cluster-wide subject.
    pub async fn connect(url: &str, options: NatsOptions) -> Result<NatsBroker, BrokerError> {
        let prefix = valid_prefix(&options.prefix)?;
        let (local, _) = broadcast::channel(options.capacity.max(1));
        let events = local.clone();
        let connect = ConnectOptions::new()
            .name("octo")
            .subscription_capacity(options.subscription_capacity.max(1))
            .connection_timeout(options.connect_timeout)
            // Reconnect forever: a node without NATS still serves its own
            // clients from the log.
            .max_reconnects(None)
            .event_callback(move |event| {
                let events = events.clone();
                async move { on_connection_event(&events, event) }
            });
        let client = tokio::time::timeout(options.connect_timeout, connect.connect(url))
            .await
            .map_err(|_| BrokerError::Unavailable(format!("no answer from NATS at {url}")))?
            .map_err(|e| BrokerError::Unavailable(format!("NATS at {url}: {e}")))?;
        let all = subscribe_forward(&client, format!("{prefix}.all"), local.clone()).await?;
        Ok(NatsBroker {
            client,
            prefix,
            local,
            channels: Mutex::new(HashMap::new()),
            all,
        })
    }

    fn channel_subject(&self, channel: &ChannelId) -> String {
        format!("{}.ch.{}", self.prefix, channel.as_str())
    }

    fn subject_of(&self, signal: &Signal) -> Option<String> {
        match signal {
            Signal::Event(e) => Some(self.channel_subject(&e.channel_id)),
            Signal::Typing { channel_id, .. } => Some(self.channel_subject(channel_id)),
            Signal::Presence { .. } | Signal::Trigger { .. } | Signal::AccessChanged { .. } => {
                Some(format!("{}.all", self.prefix))
            }
            // A node's own affair.
            Signal::Resync => None,
        }
    }

    fn channels(&self) -> MutexGuard<'_, HashMap<ChannelId, Interest>> {
        // The map is consistent between statements; a panic elsewhere must
        // not stop delivery.
        self.channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Channels this node receives now (for tests and diagnostics).
    pub fn subscribed_channels(&self) -> usize {
        self.channels().len()
    }
}

impl Drop for NatsBroker {
    fn drop(&mut self) {
        self.all.abort();
        for (_, interest) in self.channels().drain() {
            interest.task.abort();
        }
    }
}

/// Subject tokens may not contain `.`, `*`, `>` or whitespace.
fn valid_prefix(prefix: &str) -> Result<String, BrokerError> {
    let ok = !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(prefix.to_owned())
    } else {
        Err(BrokerError::Unavailable(format!(
            "bad NATS subject prefix {prefix:?}: letters, digits, _ and - only"
        )))
    }
}

fn on_connection_event(local: &broadcast::Sender<Signal>, event: NatsEvent) {
    match event {
        // Whatever was published while we were away never reached us.
        NatsEvent::Connected => {
            tracing::info!("connected to NATS; sessions re-read the log");
            let _ = local.send(Signal::Resync);
        }
        NatsEvent::SlowConsumer(sid) => {
            tracing::warn!(
                sid,
                "NATS dropped signals for this node; sessions re-read the log"
            );
            let _ = local.send(Signal::Resync);
        }
        NatsEvent::Disconnected => tracing::warn!("lost NATS; reconnecting"),
        other => tracing::info!(event = %other, "NATS"),
    }
}

/// Subscribes to `subject` and forwards what arrives into `local` until the
/// returned task is aborted (which unsubscribes).
async fn subscribe_forward(
    client: &Client,
    subject: String,
    local: broadcast::Sender<Signal>,
) -> Result<JoinHandle<()>, BrokerError> {
    let mut sub = client
        .subscribe(subject.clone())
        .await
        .map_err(|e| BrokerError::Unavailable(format!("NATS subscribe {subject}: {e}")))?;
    // A round trip to the server: when it returns, the server has the
    // subscription, so nothing published from now on misses this node.
    client
        .flush()
        .await
        .map_err(|e| BrokerError::Unavailable(format!("NATS flush after subscribing: {e}")))?;
    Ok(tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            match serde_json::from_slice::<Signal>(&msg.payload) {
                Ok(signal) => {
                    // No local subscriber is not an error: nobody is connected.
                    let _ = local.send(signal);
                }
                Err(e) => tracing::warn!(%subject, error = %e, "unreadable signal from NATS"),
            }
        }
    }))
}

#[async_trait]
impl Broker for NatsBroker {
    async fn publish(&self, signal: Signal) -> Result<(), BrokerError> {
        let Some(subject) = self.subject_of(&signal) else {
            let _ = self.local.send(signal);
            return Ok(());
        };
        let payload = serde_json::to_vec(&signal)
            .map_err(|e| BrokerError::Unavailable(format!("unserializable signal: {e}")))?;
        self.client
            .publish(subject, payload.into())
            .await
            .map_err(|e| BrokerError::Unavailable(format!("NATS publish: {e}")))
    }

    fn subscribe(&self) -> Subscription {
        self.local.subscribe()
    }

    fn narrows_by_interest(&self) -> bool {
        true
    }

    async fn interest(&self, channel: &ChannelId, wanted: bool) {
        if wanted {
            if let Some(interest) = self.channels().get_mut(channel) {
                interest.holders += 1;
                return;
            }
            let subject = self.channel_subject(channel);
            let task = match subscribe_forward(&self.client, subject, self.local.clone()).await {
                Ok(task) => task,
                Err(e) => {
                    // The node still delivers, from the log, when sessions
                    // resync; say so loudly.
                    tracing::error!(error = %e, "could not subscribe to a channel");
                    return;
                }
            };
            let mut channels = self.channels();
            match channels.get_mut(channel) {
                // Someone else subscribed while we awaited: keep theirs.
                Some(interest) => {
                    interest.holders += 1;
                    task.abort();
                }
                None => {
                    channels.insert(channel.clone(), Interest { holders: 1, task });
                }
            }
        } else {
            let mut channels = self.channels();
            let last = match channels.get_mut(channel) {
                Some(interest) => {
                    interest.holders = interest.holders.saturating_sub(1);
                    interest.holders == 0
                }
                None => false,
            };
            if last && let Some(interest) = channels.remove(channel) {
                interest.task.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_single_subject_tokens() {
        assert!(valid_prefix("octo").is_ok());
        assert!(valid_prefix("octo-test_1").is_ok());
        for bad in ["", "a.b", "a*", ">", "a b"] {
            assert!(valid_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
