//! Which agents a committed write wakes, decided once, on the node that made the
//! write, and recorded — so WebSocket, long-poll, webhooks and a replay after a
//! restart all agree on the same triggers.
//!
//! The rule itself is pure (`octo_core::trigger`); this adds what needs state:
//! thread participation from the store, the per-agent-per-channel rate limit,
//! and the loop guard's visible note.

use crate::error::ApiResult;
use crate::state::AppState;
use octo_broker::Signal;
use octo_core::model::{Channel, Message, PrincipalKind};
use octo_core::trigger::{AgentMember, Trigger, TriggerReason, Wake, message_wakes};
use octo_core::{ChannelId, Event, EventId, EventKind, PrincipalId};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Rate-limit state and a cache of principal kinds (a principal's kind never
/// changes, so the cache can't go stale).
#[derive(Default)]
pub struct TriggerGate {
    kinds: Mutex<HashMap<PrincipalId, PrincipalKind>>,
    buckets: Mutex<HashMap<(PrincipalId, ChannelId), Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
    /// A note already says this agent is held back (since it was last woken).
    noted: bool,
}

/// What the rate limit says about one wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowance {
    Allowed,
    /// Held back; `first` is true for the first one since the agent was last
    /// woken: only that one is worth a note (a note on every message of a busy
    /// channel would be a second write per send).
    Limited {
        first: bool,
    },
}

impl TriggerGate {
    /// Takes one trigger from the agent's allowance in this channel
    /// (`per_minute` of them, refilled evenly).
    fn allow(&self, agent: &PrincipalId, channel: &ChannelId, per_minute: u32) -> Allowance {
        let cap = f64::from(per_minute);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets
            .entry((agent.clone(), channel.clone()))
            .or_insert(Bucket {
                tokens: cap,
                at: now,
                noted: false,
            });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * cap / 60.0).min(cap);
        b.at = now;
        if per_minute > 0 && b.tokens >= 1.0 {
            b.tokens -= 1.0;
            b.noted = false;
            Allowance::Allowed
        } else {
            let first = !b.noted;
            b.noted = true;
            Allowance::Limited { first }
        }
    }

    async fn kind(&self, state: &AppState, id: &PrincipalId) -> ApiResult<Option<PrincipalKind>> {
        if let Some(kind) = self.kinds.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Ok(Some(*kind));
        }
        let Some(p) = state.store.get_principal(id).await? else {
            return Ok(None);
        };
        self.kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), p.kind);
        Ok(Some(p.kind))
    }
}

fn trigger(agent: &PrincipalId, message: &Message, seq: u64, reason: TriggerReason) -> Trigger {
    Trigger {
        id: EventId::generate().to_string(),
        agent_id: agent.clone(),
        channel_id: message.channel_id.clone(),
        seq,
        message_id: message.id.clone(),
        thread_id: message.thread_id.clone(),
        reason,
        hop: message.hop,
        created_at: octo_store::now(),
    }
}

/// Records and announces the triggers of a new message. `event` is None when
/// the post was an idempotent retry: the triggers are recorded again (a no-op
/// if the first attempt got that far) but no second note is written.
pub async fn on_message(
    state: &AppState,
    channel: &Channel,
    message: &Message,
    event: Option<&Event>,
) -> ApiResult<()> {
    let gate = &state.triggers;
    // A cached list that lacks someone the message mentions may predate
    // their joining (on another node, whose signal has not arrived yet): the
    // store answers then, so a just-added agent is woken by its first mention.
    let cached = state.cache.members(&channel.id).filter(|members| {
        message
            .mentions
            .principal_ids
            .iter()
            .all(|m| members.iter().any(|member| &member.principal_id == m))
    });
    let members = match cached {
        Some(members) => members,
        None => {
            let epoch = state.cache.epoch();
            let members = Arc::new(state.store.list_channel_members(&channel.id).await?);
            state
                .cache
                .put_members(channel.id.clone(), epoch, members.clone());
            members
        }
    };
    let mut woken = Vec::new();
    let mut held = Vec::new();
    let mut limited = Vec::new();
    for member in members.iter() {
        // Taking part in the thread only adds a reason to wake, so a member the
        // message would not wake even then is skipped before any lookup: most
        // messages wake nobody, and this loop runs over every member per send.
        let at_most = AgentMember {
            id: &member.principal_id,
            policy: member.trigger,
            took_part_in_thread: true,
        };
        if message_wakes(message, channel.kind, channel.agent_hop_limit, &at_most) == Wake::No {
            continue;
        }
        if gate.kind(state, &member.principal_id).await? != Some(PrincipalKind::Agent) {
            continue;
        }
        let took_part = match &message.thread_id {
            Some(thread) if member.trigger == octo_core::model::TriggerPolicy::Thread => {
                state
                    .store
                    .took_part_in_thread(&member.principal_id, thread)
                    .await?
            }
            _ => false,
        };
        let agent = AgentMember {
            id: &member.principal_id,
            policy: member.trigger,
            took_part_in_thread: took_part,
        };
        match message_wakes(message, channel.kind, channel.agent_hop_limit, &agent) {
            Wake::No => {}
            Wake::HeldByLoopGuard(_) => held.push(member.principal_id.clone()),
            Wake::Yes(reason) => {
                let allowance = if event.is_none() {
                    Allowance::Allowed
                } else {
                    gate.allow(
                        &member.principal_id,
                        &channel.id,
                        channel.agent_triggers_per_minute,
                    )
                };
                match allowance {
                    Allowance::Allowed => {
                        woken.push(trigger(&member.principal_id, message, message.seq, reason))
                    }
                    Allowance::Limited { first: true } => limited.push(member.principal_id.clone()),
                    Allowance::Limited { first: false } => {}
                }
            }
        }
    }
    announce(state, woken, message, event).await?;
    if event.is_some() {
        if !held.is_empty() {
            tracing::info!(channel = %channel.id, hop = message.hop, agents = held.len(), "loop guard held agents back");
            note(state, channel, message, "hop_limit", &held).await?;
        }
        if !limited.is_empty() {
            tracing::info!(channel = %channel.id, agents = limited.len(), "agent trigger rate limit reached");
            note(state, channel, message, "rate_limit", &limited).await?;
        }
    }
    Ok(())
}

/// A human's reaction on an agent's message reaches the agent as feedback.
/// Agents' reactions wake nobody, so two agents can't ping-pong with emoji.
pub async fn on_reaction(
    state: &AppState,
    channel: &Channel,
    message: &Message,
    reactor: &PrincipalId,
    event: &Event,
) -> ApiResult<()> {
    let gate = &state.triggers;
    if &message.author_id == reactor
        || gate.kind(state, reactor).await? != Some(PrincipalKind::Human)
        || gate.kind(state, &message.author_id).await? != Some(PrincipalKind::Agent)
        || state
            .store
            .channel_member(&channel.id, &message.author_id)
            .await?
            .is_none()
    {
        return Ok(());
    }
    if gate.allow(
        &message.author_id,
        &channel.id,
        channel.agent_triggers_per_minute,
    ) != Allowance::Allowed
    {
        return Ok(());
    }
    let t = trigger(
        &message.author_id,
        message,
        event.seq,
        TriggerReason::Reaction,
    );
    announce(state, vec![t], message, Some(event)).await
}

async fn announce(
    state: &AppState,
    triggers: Vec<Trigger>,
    message: &Message,
    event: Option<&Event>,
) -> ApiResult<()> {
    if triggers.is_empty() {
        return Ok(());
    }
    state.store.record_triggers(triggers.clone()).await?;
    if let Some(event) = event {
        for t in &triggers {
            let frame = crate::realtime::frames::trigger_frame(t, event, "", event.at);
            crate::webhooks::enqueue(state, t, frame).await?;
        }
    }
    // On a retry the event isn't at hand; the triggers are recorded, and
    // sessions pick them up from the store when they catch up.
    let Some(event) = event else { return Ok(()) };
    let event = Arc::new(event.clone());
    for trigger in triggers {
        if let Err(e) = state
            .broker
            .publish(Signal::Trigger {
                trigger,
                event: event.clone(),
            })
            .await
        {
            tracing::warn!(error = %e, message = %message.id, "could not publish a trigger");
        }
    }
    Ok(())
}

/// A visible note in the channel saying which agents were held back and why.
async fn note(
    state: &AppState,
    channel: &Channel,
    message: &Message,
    reason: &str,
    agents: &[PrincipalId],
) -> ApiResult<()> {
    let payload = json!({
        "reason": reason,
        "message_id": message.id,
        "thread_id": message.thread_id,
        "hop": message.hop,
        "hop_limit": channel.agent_hop_limit,
        "triggers_per_minute": channel.agent_triggers_per_minute,
        "agent_ids": agents,
    });
    let event = state
        .store
        .append_note(
            &channel.id,
            EventKind::AgentLoopGuard,
            &message.author_id,
            payload,
        )
        .await?;
    state.publish([event]).await;
    Ok(())
}
