//! This node's live connections and what each is subscribed to.
//!
//! The dispatcher task feeds every broker signal to [`Hub::dispatch`], which
//! hands it to the mailboxes of the connections that want it. Events are
//! serialized once and shared by every recipient. A mailbox that is full belongs
//! to a consumer that stopped reading: it is cut off (kicked) rather than
//! allowed to slow anyone else. Nothing here awaits while holding the lock.

use super::frames::{ServerFrame, event_frame};
use axum::extract::ws::Utf8Bytes;
use octo_broker::{Presence, Signal};
use octo_core::{ChannelId, Event, EventKind, OrgId, PrincipalId};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

pub type ConnId = u64;

/// What a connection's mailbox carries.
#[derive(Debug)]
pub enum Outbound {
    /// A committed event and its frame, shared by every recipient.
    Event { event: Arc<Event>, frame: Utf8Bytes },
    /// An ephemeral frame (typing, presence) to pass on as it is.
    Frame(Utf8Bytes),
    /// What this connection may see may have changed: check again.
    AccessChanged,
    /// Signals were lost on the way here: re-read the log of every channel.
    Resync,
    /// This connection's agent was woken in a channel.
    Trigger(ChannelId),
}

/// Why the hub cut a connection off.
pub const KICK_SLOW: &str =
    "slow_consumer: the connection fell too far behind; reconnect to resume";

struct Conn {
    principal: PrincipalId,
    org: OrgId,
    tx: mpsc::Sender<Outbound>,
    kick: Option<oneshot::Sender<&'static str>>,
    channels: HashSet<ChannelId>,
    status: Presence,
}

/// Handlers publish after their own commits, so two sends into one channel can
/// reach the hub out of order. Holding a later seq back briefly until the
/// earlier one arrives keeps every session from filling the same gap from the
/// store on its own.
#[derive(Default)]
struct Order {
    /// The last seq handed to sessions.
    last: u64,
    held: BTreeMap<u64, Arc<Event>>,
    held_since: Option<Instant>,
}

/// How long an event waits for the ones before it.
pub const HOLD: Duration = Duration::from_millis(20);

#[derive(Default)]
struct Inner {
    order: HashMap<ChannelId, Order>,
    next: ConnId,
    conns: HashMap<ConnId, Conn>,
    by_channel: HashMap<ChannelId, HashSet<ConnId>>,
    by_principal: HashMap<PrincipalId, HashSet<ConnId>>,
    /// What every node says of each principal (this node included, through the
    /// broker like everyone else).
    presence: HashMap<PrincipalId, (OrgId, HashMap<String, Presence>)>,
    /// Channels this node starts (true) or stops (false) having subscribers
    /// for, in order: the broker's interest hint (see `run_dispatcher`).
    interest: Option<mpsc::UnboundedSender<(ChannelId, bool)>>,
}

impl Inner {
    fn interest(&self, channel: &ChannelId, wanted: bool) {
        if let Some(tx) = &self.interest {
            let _ = tx.send((channel.clone(), wanted));
        }
    }
}

/// A registered connection's receiving ends.
pub struct Registration {
    pub id: ConnId,
    pub mailbox: mpsc::Receiver<Outbound>,
    pub kicked: oneshot::Receiver<&'static str>,
}

pub struct Hub {
    node: String,
    inner: Mutex<Inner>,
    interest_changes: Mutex<Option<mpsc::UnboundedReceiver<(ChannelId, bool)>>>,
}

/// A presence change this node must tell the cluster about.
pub type PresenceChange = Signal;

/// Online if anything says online, else away if anything says away.
fn combined(statuses: impl IntoIterator<Item = Presence>) -> Presence {
    statuses
        .into_iter()
        .fold(Presence::Offline, |acc, s| match (acc, s) {
            (Presence::Online, _) | (_, Presence::Online) => Presence::Online,
            (Presence::Away, _) | (_, Presence::Away) => Presence::Away,
            _ => Presence::Offline,
        })
}

impl Hub {
    pub fn new(node: impl Into<String>) -> Self {
        let (interest, changes) = mpsc::unbounded_channel();
        Self {
            node: node.into(),
            inner: Mutex::new(Inner {
                interest: Some(interest),
                ..Inner::default()
            }),
            interest_changes: Mutex::new(Some(changes)),
        }
    }

    /// This node's name (in presence signals and leases).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The channels this node gains or loses its first or last subscriber in,
    /// in order; the first caller gets them all, later callers `None`.
    pub fn take_interest_changes(&self) -> Option<mpsc::UnboundedReceiver<(ChannelId, bool)>> {
        self.interest_changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The maps stay consistent between statements; a panic elsewhere must
        // not take real-time delivery down with it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This node's view of a principal's presence: what its connections say.
    fn local_presence(
        &self,
        inner: &Inner,
        principal: &PrincipalId,
        org: &OrgId,
    ) -> PresenceChange {
        let status = combined(
            inner
                .by_principal
                .get(principal)
                .into_iter()
                .flatten()
                .filter_map(|id| inner.conns.get(id))
                .map(|c| c.status),
        );
        Signal::Presence {
            node: self.node.clone(),
            org_id: org.clone(),
            principal_id: principal.clone(),
            status,
        }
    }

    pub fn register(
        &self,
        principal: &PrincipalId,
        org: &OrgId,
        queue: usize,
    ) -> (Registration, PresenceChange) {
        let (tx, mailbox) = mpsc::channel(queue.max(1));
        let (kick, kicked) = oneshot::channel();
        let mut inner = self.lock();
        inner.next += 1;
        let id = inner.next;
        inner.conns.insert(
            id,
            Conn {
                principal: principal.clone(),
                org: org.clone(),
                tx,
                kick: Some(kick),
                channels: HashSet::new(),
                status: Presence::Online,
            },
        );
        inner
            .by_principal
            .entry(principal.clone())
            .or_default()
            .insert(id);
        let change = self.local_presence(&inner, principal, org);
        (
            Registration {
                id,
                mailbox,
                kicked,
            },
            change,
        )
    }

    /// Forgets a connection; returns the presence change to publish.
    pub fn unregister(&self, id: ConnId) -> Option<PresenceChange> {
        let mut inner = self.lock();
        let conn = Self::remove(&mut inner, id)?;
        Some(self.local_presence(&inner, &conn.principal, &conn.org))
    }

    fn remove(inner: &mut Inner, id: ConnId) -> Option<Conn> {
        let conn = inner.conns.remove(&id)?;
        for ch in &conn.channels {
            if let Some(set) = inner.by_channel.get_mut(ch) {
                set.remove(&id);
                if set.is_empty() {
                    inner.by_channel.remove(ch);
                    inner.interest(ch, false);
                }
            }
        }
        if let Some(set) = inner.by_principal.get_mut(&conn.principal) {
            set.remove(&id);
            if set.is_empty() {
                inner.by_principal.remove(&conn.principal);
            }
        }
        Some(conn)
    }

    pub fn subscribe(&self, id: ConnId, channel: &ChannelId) {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.get_mut(&id) else {
            return;
        };
        if conn.channels.insert(channel.clone()) {
            let subscribers = inner.by_channel.entry(channel.clone()).or_default();
            let first = subscribers.is_empty();
            subscribers.insert(id);
            if first {
                inner.interest(channel, true);
            }
        }
    }

    pub fn unsubscribe(&self, id: ConnId, channel: &ChannelId) {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.get_mut(&id) else {
            return;
        };
        if conn.channels.remove(channel)
            && let Some(set) = inner.by_channel.get_mut(channel)
        {
            set.remove(&id);
            if set.is_empty() {
                inner.by_channel.remove(channel);
                inner.interest(channel, false);
            }
        }
    }

    /// A connection declares itself online or away.
    pub fn set_status(&self, id: ConnId, status: Presence) -> Option<PresenceChange> {
        let mut inner = self.lock();
        let conn = inner.conns.get_mut(&id)?;
        conn.status = status;
        let (principal, org) = (conn.principal.clone(), conn.org.clone());
        Some(self.local_presence(&inner, &principal, &org))
    }

    /// Who in the org is online or away (offline principals are left out).
    pub fn presence(&self, org: &OrgId) -> Vec<(PrincipalId, Presence)> {
        let inner = self.lock();
        let mut out: Vec<_> = inner
            .presence
            .iter()
            .filter(|(_, (o, _))| o == org)
            .map(|(p, (_, nodes))| (p.clone(), combined(nodes.values().copied())))
            .filter(|(_, s)| *s != Presence::Offline)
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    /// Hands a signal to the connections that want it.
    pub fn dispatch(&self, signal: Signal) {
        match signal {
            Signal::Event(event) => self.dispatch_in_order(event),
            Signal::Typing {
                channel_id,
                principal_id,
                thread_id,
            } => {
                let frame: Utf8Bytes = ServerFrame::Typing {
                    channel_id: &channel_id,
                    principal_id: &principal_id,
                    thread_id: thread_id.as_deref(),
                }
                .to_text()
                .into();
                let mut inner = self.lock();
                let targets: Vec<ConnId> = inner
                    .by_channel
                    .get(&channel_id)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|id| {
                        inner
                            .conns
                            .get(id)
                            .is_some_and(|c| c.principal != principal_id)
                    })
                    .collect();
                Self::deliver(&mut inner, &targets, |_| Outbound::Frame(frame.clone()));
            }
            Signal::Presence {
                node,
                org_id,
                principal_id,
                status,
            } => self.dispatch_presence(node, org_id, principal_id, status),
            Signal::Trigger { trigger, .. } => {
                let mut inner = self.lock();
                let targets: Vec<ConnId> = inner
                    .by_principal
                    .get(&trigger.agent_id)
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                Self::deliver(&mut inner, &targets, |_| {
                    Outbound::Trigger(trigger.channel_id.clone())
                });
            }
            Signal::AccessChanged { principal_id } => {
                let mut inner = self.lock();
                let targets: Vec<ConnId> = match &principal_id {
                    Some(p) => inner
                        .by_principal
                        .get(p)
                        .into_iter()
                        .flatten()
                        .copied()
                        .collect(),
                    None => inner.conns.keys().copied().collect(),
                };
                Self::deliver(&mut inner, &targets, |_| Outbound::AccessChanged);
            }
            Signal::Resync => self.resync_all(),
        }
    }

    /// Puts a channel's events in seq order: releases the event and whatever
    /// it unblocks, or holds it until the seq before it arrives (or `HOLD`
    /// passes: see `release_held`).
    fn dispatch_in_order(&self, event: Arc<Event>) {
        let ready = {
            let mut inner = self.lock();
            let order = inner
                .order
                .entry(event.channel_id.clone())
                .or_insert_with(|| Order {
                    last: event.seq.saturating_sub(1),
                    ..Order::default()
                });
            if event.seq <= order.last {
                return; // already passed on; sessions dedupe anyway
            }
            if event.seq > order.last + 1 {
                order.held.insert(event.seq, event);
                order.held_since.get_or_insert_with(Instant::now);
                return;
            }
            order.last = event.seq;
            let mut ready = vec![event];
            while let Some(next) = order.held.remove(&(order.last + 1)) {
                order.last = next.seq;
                ready.push(next);
            }
            if order.held.is_empty() {
                order.held_since = None;
            }
            ready
        };
        for e in ready {
            self.dispatch_event(e);
        }
    }

    /// Lets held events go once they have waited `HOLD`: the missing ones may
    /// never come (lost by the broker); sessions fill such gaps from the store.
    pub fn release_held(&self) {
        let now = Instant::now();
        let ready: Vec<Arc<Event>> = {
            let mut inner = self.lock();
            let mut ready = Vec::new();
            for order in inner.order.values_mut() {
                if order
                    .held_since
                    .is_some_and(|t| now.duration_since(t) >= HOLD)
                {
                    let held = std::mem::take(&mut order.held);
                    if let Some(last) = held.keys().next_back() {
                        order.last = *last;
                    }
                    order.held_since = None;
                    ready.extend(held.into_values());
                }
            }
            ready
        };
        for e in ready {
            self.dispatch_event(e);
        }
    }

    fn dispatch_event(&self, event: Arc<Event>) {
        let frame: Utf8Bytes = event_frame(&event).into();
        let mut inner = self.lock();
        let targets: Vec<ConnId> = inner
            .by_channel
            .get(&event.channel_id)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        Self::deliver(&mut inner, &targets, |_| Outbound::Event {
            event: event.clone(),
            frame: frame.clone(),
        });
        // Membership changes take effect at once: a member who left gets its own
        // `member.left` (above) and nothing after it until it is re-checked.
        let member = event.payload["principal_id"]
            .as_str()
            .map(PrincipalId::from_string);
        if let Some(member) = member
            && matches!(event.kind, EventKind::MemberLeft | EventKind::MemberJoined)
        {
            let conns: Vec<ConnId> = inner
                .by_principal
                .get(&member)
                .into_iter()
                .flatten()
                .copied()
                .collect();
            if event.kind == EventKind::MemberLeft {
                for id in &conns {
                    if let Some(conn) = inner.conns.get_mut(id) {
                        conn.channels.remove(&event.channel_id);
                    }
                    if let Some(set) = inner.by_channel.get_mut(&event.channel_id) {
                        set.remove(id);
                    }
                }
            }
            Self::deliver(&mut inner, &conns, |_| Outbound::AccessChanged);
        }
    }

    fn dispatch_presence(
        &self,
        node: String,
        org: OrgId,
        principal: PrincipalId,
        status: Presence,
    ) {
        let mut inner = self.lock();
        let entry = inner
            .presence
            .entry(principal.clone())
            .or_insert_with(|| (org.clone(), HashMap::new()));
        let before = combined(entry.1.values().copied());
        if status == Presence::Offline {
            entry.1.remove(&node);
        } else {
            entry.1.insert(node, status);
        }
        let after = combined(entry.1.values().copied());
        if entry.1.is_empty() {
            inner.presence.remove(&principal);
        }
        if before == after {
            return;
        }
        let frame: Utf8Bytes = ServerFrame::Presence {
            principal_id: &principal,
            status: after,
        }
        .to_text()
        .into();
        let targets: Vec<ConnId> = inner
            .conns
            .iter()
            .filter(|(_, c)| c.org == org)
            .map(|(id, _)| *id)
            .collect();
        Self::deliver(&mut inner, &targets, |_| Outbound::Frame(frame.clone()));
    }

    /// The connections subscribed to any of `channels` must re-read the log.
    pub fn resync_channels(&self, channels: &[ChannelId]) {
        let mut inner = self.lock();
        let targets: HashSet<ConnId> = channels
            .iter()
            .filter_map(|c| inner.by_channel.get(c))
            .flatten()
            .copied()
            .collect();
        let targets: Vec<ConnId> = targets.into_iter().collect();
        Self::deliver(&mut inner, &targets, |_| Outbound::Resync);
    }

    /// Every connection must re-read the log (signals were lost).
    pub fn resync_all(&self) {
        let mut inner = self.lock();
        let targets: Vec<ConnId> = inner.conns.keys().copied().collect();
        Self::deliver(&mut inner, &targets, |_| Outbound::Resync);
    }

    /// Puts one item in each target's mailbox; a full mailbox gets its
    /// connection kicked, a closed one is forgotten.
    fn deliver(inner: &mut Inner, targets: &[ConnId], make: impl Fn(ConnId) -> Outbound) {
        let mut cut = Vec::new();
        for id in targets {
            let Some(conn) = inner.conns.get(id) else {
                continue;
            };
            match conn.tx.try_send(make(*id)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => cut.push((*id, true)),
                Err(mpsc::error::TrySendError::Closed(_)) => cut.push((*id, false)),
            }
        }
        for (id, slow) in cut {
            if let Some(mut conn) = Self::remove(inner, id)
                && slow
                && let Some(kick) = conn.kick.take()
            {
                tracing::info!(principal = %conn.principal, "cutting off a consumer that stopped reading");
                let _ = kick.send(KICK_SLOW);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use octo_core::EventId;

    fn event(channel: &ChannelId, seq: u64) -> Arc<Event> {
        Arc::new(Event {
            id: EventId::generate(),
            channel_id: channel.clone(),
            seq,
            kind: EventKind::MessageCreated,
            at: chrono::Utc::now(),
            actor: PrincipalId::from_string("a"),
            payload: serde_json::json!({}),
        })
    }

    #[test]
    fn events_reach_subscribers_only_and_a_full_mailbox_is_kicked() {
        let hub = Hub::new("n1");
        let org = OrgId::from_string("o");
        let ch = ChannelId::from_string("c");
        let (mut fast, _) = hub.register(&PrincipalId::from_string("p1"), &org, 8);
        let (mut slow, _) = hub.register(&PrincipalId::from_string("p2"), &org, 2);
        let (mut other, _) = hub.register(&PrincipalId::from_string("p3"), &org, 8);
        hub.subscribe(fast.id, &ch);
        hub.subscribe(slow.id, &ch);
        for seq in 1..=3 {
            hub.dispatch(Signal::Event(event(&ch, seq)));
        }
        for seq in 1..=3 {
            match fast.mailbox.try_recv() {
                Ok(Outbound::Event { event, .. }) => assert_eq!(event.seq, seq),
                other => panic!("expected event {seq}, got {other:?}"),
            }
        }
        assert!(
            other.mailbox.try_recv().is_err(),
            "not subscribed, nothing delivered"
        );
        assert_eq!(slow.kicked.try_recv(), Ok(KICK_SLOW));
        assert_eq!(hub.connection_count(), 2);
    }

    #[test]
    fn presence_combines_connections_and_nodes() {
        let hub = Hub::new("n1");
        let org = OrgId::from_string("o");
        let p = PrincipalId::from_string("p");
        let (reg, change) = hub.register(&p, &org, 8);
        hub.dispatch(change);
        assert_eq!(hub.presence(&org), vec![(p.clone(), Presence::Online)]);
        if let Some(change) = hub.set_status(reg.id, Presence::Away) {
            hub.dispatch(change);
        }
        assert_eq!(hub.presence(&org), vec![(p.clone(), Presence::Away)]);
        hub.dispatch(Signal::Presence {
            node: "n2".into(),
            org_id: org.clone(),
            principal_id: p.clone(),
            status: Presence::Online,
        });
        assert_eq!(hub.presence(&org), vec![(p.clone(), Presence::Online)]);
        if let Some(change) = hub.unregister(reg.id) {
            hub.dispatch(change);
        }
        hub.dispatch(Signal::Presence {
            node: "n2".into(),
            org_id: org.clone(),
            principal_id: p.clone(),
            status: Presence::Offline,
        });
        assert!(hub.presence(&org).is_empty());
    }

    /// The broker hears of a channel when its first subscriber on this node
    /// arrives and when its last one leaves (unsubscribing or disconnecting).
    #[test]
    fn the_first_and_last_subscriber_of_a_channel_change_interest() {
        let hub = Hub::new("n1");
        let mut changes = hub.take_interest_changes().expect("first take");
        assert!(hub.take_interest_changes().is_none());
        let (org, p) = (OrgId::from_string("o"), PrincipalId::from_string("p"));
        let ch = ChannelId::from_string("c");
        let (a, _) = hub.register(&p, &org, 8);
        let (b, _) = hub.register(&p, &org, 8);
        hub.subscribe(a.id, &ch);
        hub.subscribe(b.id, &ch);
        hub.unsubscribe(a.id, &ch);
        assert_eq!(changes.try_recv().ok(), Some((ch.clone(), true)));
        assert!(changes.try_recv().is_err(), "b still wants it");
        hub.unregister(b.id);
        assert_eq!(changes.try_recv().ok(), Some((ch.clone(), false)));
        assert!(changes.try_recv().is_err());
    }

    fn seqs_received(reg: &mut Registration) -> Vec<u64> {
        let mut out = Vec::new();
        while let Ok(Outbound::Event { event, .. }) = reg.mailbox.try_recv() {
            out.push(event.seq);
        }
        out
    }

    #[test]
    fn events_published_out_of_order_reach_sessions_in_order() {
        let hub = Hub::new("n1");
        let ch = ChannelId::from_string("c");
        let (mut reg, _) =
            hub.register(&PrincipalId::from_string("p"), &OrgId::from_string("o"), 64);
        hub.subscribe(reg.id, &ch);
        for seq in [1, 3, 2, 4] {
            hub.dispatch(Signal::Event(event(&ch, seq)));
        }
        assert_eq!(seqs_received(&mut reg), [1, 2, 3, 4]);
        // A seq that never comes holds the next back only for a moment.
        hub.dispatch(Signal::Event(event(&ch, 6)));
        hub.release_held();
        assert!(
            seqs_received(&mut reg).is_empty(),
            "held while the gap may still fill"
        );
        std::thread::sleep(HOLD + Duration::from_millis(5));
        hub.release_held();
        assert_eq!(seqs_received(&mut reg), [6]);
        hub.dispatch(Signal::Event(event(&ch, 5)));
        assert!(
            seqs_received(&mut reg).is_empty(),
            "too late: the session fills it from the log"
        );
    }
}
