//! How a committed event reaches every node that has someone to deliver it to.
//!
//! The broker is only a hint (DESIGN §1): the log in the store is the truth. A
//! receiver that sees a gap in `seq`, lags behind the broker, or reconnects reads
//! the log again from its cursor. So a broker may drop, and a receiver must
//! tolerate duplicates; what it must not do is reorder one channel's events.
#![forbid(unsafe_code)]

mod memory;

pub use memory::{DEFAULT_CAPACITY, MemoryBroker};

use async_trait::async_trait;
use octo_core::trigger::Trigger;
use octo_core::{ChannelId, Event, OrgId, PrincipalId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast;

/// What travels between nodes: committed events, and ephemeral signals that are
/// never stored (typing, presence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Signal {
    /// A committed event of a channel's log.
    Event(Arc<Event>),
    /// Someone is typing in a channel (or one of its threads).
    Typing {
        channel_id: ChannelId,
        principal_id: PrincipalId,
        thread_id: Option<String>,
    },
    /// A principal's presence, as one node sees it (the node id lets the
    /// receivers combine what several nodes say).
    Presence {
        node: String,
        org_id: OrgId,
        principal_id: PrincipalId,
        status: Presence,
    },
    /// An agent was woken by a committed event.
    Trigger { trigger: Trigger, event: Arc<Event> },
    /// Permissions or memberships changed outside any channel's log (overrides,
    /// space memberships): connections of `principal_id` (or everyone, when
    /// `None`) must re-check what they may see.
    AccessChanged { principal_id: Option<PrincipalId> },
    /// Signals may have been lost on the way to this node (a broker
    /// reconnect, a slow subscription): every receiver re-reads the log.
    /// Raised by a broker for its own node; never sent between nodes.
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Online,
    Away,
    Offline,
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
}

/// A stream of signals for this node. `Lagged` means signals were dropped: the
/// receiver must treat every channel as possibly gapped and re-read the log.
pub type Subscription = broadcast::Receiver<Signal>;

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Hands a signal to every node, this one included. Called only after the
    /// event it carries is committed.
    async fn publish(&self, signal: Signal) -> Result<(), BrokerError>;

    /// Signals for this node from now on.
    fn subscribe(&self) -> Subscription;

    /// A hint that this node now has (or no longer has) someone to deliver a
    /// channel's events to; a broker may use it to narrow what it receives.
    async fn interest(&self, _channel: &ChannelId, _wanted: bool) {}

    /// Whether this broker brings only the channels of [`Broker::interest`]:
    /// then events committed before a channel's interest took effect never
    /// came here, and its sessions re-read the log once it has.
    fn narrows_by_interest(&self) -> bool {
        false
    }
}
