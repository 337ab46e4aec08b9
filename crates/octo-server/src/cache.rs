//! This node's cache of what every send would otherwise read from the store:
//! a token's principal, a channel's permission inputs for one principal, and a
//! channel's member list (for the trigger check).
//!
//! One rule keeps it correct: every entry carries the *epoch* it was read in,
//! and any change to tokens, memberships, roles, overrides or a channel's
//! settings bumps the epoch, which makes every entry stale at once. Changes
//! are rare next to sends, so a coarse invalidation costs little and leaves
//! nothing to forget. The epoch is read *before* the store read, so a change
//! that lands during the read leaves the new entry already stale.
//!
//! Who bumps it: the handler that made the change, before it answers (so this
//! node refuses a revoked token or a removed member on the very next request),
//! and the dispatcher for signals from other nodes (`observe`). A signal the
//! broker lost is bounded by [`TTL`]: no entry is used longer than that.

use octo_broker::Signal;
use octo_core::model::{Channel, ChannelMember, Principal, TokenInfo};
use octo_core::perm::Scope;
use octo_core::{ChannelId, EventKind, PrincipalId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest an entry is trusted: how late another node may still accept a
/// token revoked (or a member removed) on this one if the broker's signal
/// about it is lost.
pub const TTL: Duration = Duration::from_secs(5);

/// Most entries per map; a full map is emptied (refilled on demand).
pub const MAX_ENTRIES: usize = 10_000;

/// What a channel's permission check needs about one principal.
#[derive(Debug, Clone)]
pub struct ChannelInputs {
    pub channel: Channel,
    pub membership: Option<ChannelMember>,
    pub scope: Scope,
}

struct Entry<V> {
    epoch: u64,
    at: Instant,
    value: V,
}

struct Map<K, V>(Mutex<HashMap<K, Entry<V>>>);

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<V>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q, epoch: u64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        let map = self.lock();
        let e = map.get(key)?;
        (e.epoch == epoch && e.at.elapsed() < TTL).then(|| e.value.clone())
    }

    fn put(&self, key: K, epoch: u64, value: V) {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(
            key,
            Entry {
                epoch,
                at: Instant::now(),
                value,
            },
        );
    }
}

pub struct AccessCache {
    epoch: AtomicU64,
    tokens: Map<Vec<u8>, (TokenInfo, Principal)>,
    channels: Map<(ChannelId, PrincipalId), Arc<ChannelInputs>>,
    members: Map<ChannelId, Arc<Vec<ChannelMember>>>,
}

impl Default for AccessCache {
    fn default() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            tokens: Map::new(),
            channels: Map::new(),
            members: Map::new(),
        }
    }
}

impl AccessCache {
    /// The epoch to tag a store read with; take it before reading.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Makes every entry stale.
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Invalidates on the signals that say access may have changed somewhere.
    pub fn observe(&self, signal: &Signal) {
        let changes = match signal {
            Signal::Event(e) => changes_access(e.kind),
            Signal::AccessChanged { .. } | Signal::Resync => true,
            Signal::Typing { .. } | Signal::Presence { .. } | Signal::Trigger { .. } => false,
        };
        if changes {
            self.invalidate();
        }
    }

    pub fn token(&self, hash: &[u8]) -> Option<(TokenInfo, Principal)> {
        self.tokens.get(hash, self.epoch())
    }

    pub fn put_token(&self, hash: Vec<u8>, epoch: u64, found: (TokenInfo, Principal)) {
        self.tokens.put(hash, epoch, found);
    }

    /// Records that a cached token's use was written, so the next requests
    /// don't write it again.
    pub fn touched(&self, hash: &[u8], at: octo_store::Timestamp) {
        if let Some(e) = self.tokens.lock().get_mut(hash) {
            e.value.0.last_used_at = Some(at);
        }
    }

    pub fn channel(&self, channel: &ChannelId, who: &PrincipalId) -> Option<Arc<ChannelInputs>> {
        self.channels
            .get(&(channel.clone(), who.clone()), self.epoch())
    }

    pub fn put_channel(&self, who: &PrincipalId, epoch: u64, inputs: Arc<ChannelInputs>) {
        self.channels
            .put((inputs.channel.id.clone(), who.clone()), epoch, inputs);
    }

    pub fn members(&self, channel: &ChannelId) -> Option<Arc<Vec<ChannelMember>>> {
        self.members.get(channel, self.epoch())
    }

    pub fn put_members(&self, channel: ChannelId, epoch: u64, members: Arc<Vec<ChannelMember>>) {
        self.members.put(channel, epoch, members);
    }
}

/// The channel events after which cached permission inputs or member lists
/// may be wrong.
pub fn changes_access(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::MemberJoined | EventKind::MemberLeft | EventKind::ChannelUpdated
    )
}
