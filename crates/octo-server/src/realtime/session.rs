//! One connected client's delivery state: which channels it gets, the last seq
//! sent of each, and how it catches up from the log.

use super::frames::{ReadyChannel, ServerFrame, event_frame, trigger_frame};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::visibility::{Snapshot, Visible};
use octo_core::model::PrincipalKind;
use octo_core::{ChannelId, Event};
use std::collections::HashMap;

/// How many events one store read brings back while catching up.
const PAGE: u32 = 500;

/// Where one channel's delivery starts.
pub struct Start {
    pub channel: ChannelId,
    /// Events after this seq are sent.
    pub from_seq: u64,
    /// Triggers after this seq are sent: never past the member's acked cursor,
    /// so a trigger whose event the client saw but never acked comes again.
    pub triggers_from: u64,
    pub last_seq: u64,
}

/// Where each channel's delivery starts, and the frames to tell the client.
pub struct Plan {
    pub starts: Vec<Start>,
    /// Error frames for cursors that name nothing the caller can see.
    pub errors: Vec<String>,
}

/// What a live event asks the session to send.
#[derive(Default)]
pub struct Delivery {
    /// Events read from the log to fill a gap, oldest first.
    pub backfill: Vec<String>,
    /// Then the event's own (shared) frame.
    pub send_event: bool,
}

pub struct Session {
    pub state: AppState,
    pub caller: Caller,
    /// Last seq sent, per subscribed channel.
    pub delivered: HashMap<ChannelId, u64>,
    /// The channels the client asked for, if it named any.
    only: Option<std::collections::HashSet<ChannelId>>,
    /// Seq of the last trigger sent, per channel (agents only).
    triggered: HashMap<ChannelId, u64>,
}

impl Session {
    pub fn new(state: AppState, caller: Caller) -> Self {
        Self {
            state,
            caller,
            delivered: HashMap::new(),
            only: None,
            triggered: HashMap::new(),
        }
    }

    /// Decides where each visible channel resumes: the client's cursor, else the
    /// member's server-side delivery cursor, else live from now.
    pub async fn plan(
        &mut self,
        cursors: Option<HashMap<ChannelId, u64>>,
        only: Option<Vec<ChannelId>>,
    ) -> Result<Plan, ApiError> {
        let snapshot = Snapshot::load(&self.state, &self.caller).await?;
        self.only = only.map(|o| o.into_iter().collect());
        let visible: Vec<Visible> = snapshot
            .visible_channels()
            .into_iter()
            .filter(|v| self.wants(&v.channel.id))
            .collect();
        let mut cursors = cursors.unwrap_or_default();
        let mut starts = Vec::with_capacity(visible.len());
        let mut errors = Vec::new();
        for v in &visible {
            let last = v.channel.last_seq;
            let start = match cursors.remove(&v.channel.id) {
                Some(seq) if seq > last => {
                    errors.push(
                        ServerFrame::Error {
                            code: "cursor_ahead",
                            message: "that cursor is past the channel's last seq; resuming from the end",
                            channel_id: Some(&v.channel.id),
                            reference: None,
                        }
                        .to_text(),
                    );
                    last
                }
                Some(seq) => seq,
                None => v
                    .membership
                    .as_ref()
                    .map_or(last, |m| m.acked_seq.min(last)),
            };
            let triggers_from = v
                .membership
                .as_ref()
                .map_or(start, |m| m.acked_seq.min(start));
            starts.push(Start {
                channel: v.channel.id.clone(),
                from_seq: start,
                triggers_from,
                last_seq: last,
            });
        }
        // Unknown and invisible channels get the same answer: nothing leaks.
        let named = self
            .only
            .iter()
            .flatten()
            .filter(|c| !visible.iter().any(|v| &v.channel.id == *c));
        for channel in cursors.keys().chain(named) {
            errors.push(
                ServerFrame::Error {
                    code: "unknown_channel",
                    message: "no such channel; its cursor is ignored",
                    channel_id: Some(channel),
                    reference: None,
                }
                .to_text(),
            );
        }
        Ok(Plan { starts, errors })
    }

    /// Starts delivering `channel`: events after `events_after`, triggers after
    /// `triggers_after`.
    pub fn start_channel(&mut self, channel: &ChannelId, events_after: u64, triggers_after: u64) {
        self.delivered.insert(channel.clone(), events_after);
        self.triggered.insert(channel.clone(), triggers_after);
    }

    fn wants(&self, channel: &ChannelId) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(channel))
    }

    pub fn ready_frame(&self, session_id: u64, plan: &Plan) -> String {
        ServerFrame::Ready {
            principal_id: &self.caller.principal.id,
            session_id,
            channels: plan
                .starts
                .iter()
                .map(|s| ReadyChannel {
                    channel_id: s.channel.clone(),
                    from_seq: s.from_seq,
                    last_seq: s.last_seq,
                })
                .collect(),
        }
        .to_text()
    }

    /// Events of `channel` after what was delivered, up to `upto` (inclusive),
    /// as frames, oldest first. Moves the delivered mark.
    pub async fn catch_up(
        &mut self,
        channel: &ChannelId,
        upto: u64,
    ) -> Result<Vec<String>, ApiError> {
        let mut frames = Vec::new();
        let Some(mut after) = self.delivered.get(channel).copied() else {
            return Ok(frames);
        };
        while after < upto {
            let events = self.state.store.list_events(channel, after, PAGE).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                break;
            };
            frames.extend(events.iter().filter(|e| e.seq <= upto).map(event_frame));
            after = last.min(upto);
            if events.len() < PAGE as usize {
                break;
            }
        }
        self.delivered.insert(channel.clone(), after);
        Ok(frames)
    }

    /// What to send for a live event: nothing if it was already sent; if there
    /// is a gap, the missing events from the log first, then the event.
    pub async fn on_event(&mut self, event: &Event) -> Result<Delivery, ApiError> {
        let channel = &event.channel_id;
        let Some(&last) = self.delivered.get(channel) else {
            return Ok(Delivery::default()); // not (or no longer) subscribed
        };
        if event.seq <= last {
            return Ok(Delivery::default());
        }
        let backfill = if event.seq > last + 1 {
            self.catch_up(channel, event.seq - 1).await?
        } else {
            Vec::new()
        };
        // The mark is updated in place: this runs once per delivery, and an
        // insert would clone the channel id every time.
        let send_event = match self.delivered.get_mut(channel) {
            Some(mark) if *mark == event.seq - 1 => {
                *mark = event.seq;
                true
            }
            _ => false,
        };
        Ok(Delivery {
            backfill,
            send_event,
        })
    }

    /// Catches every subscribed channel up with the log (after lost signals, or
    /// right after joining the hub, for what arrived in between).
    pub async fn catch_up_all(&mut self) -> Result<Vec<String>, ApiError> {
        let channels = self
            .state
            .store
            .list_channels(&self.caller.principal.org_id)
            .await?;
        let mut frames = Vec::new();
        for c in channels {
            if self.delivered.get(&c.id).is_some_and(|d| *d < c.last_seq) {
                frames.extend(self.catch_up(&c.id, c.last_seq).await?);
            }
        }
        Ok(frames)
    }

    /// Re-checks what the caller can see. Returns channels lost and channels
    /// gained (with where they start).
    pub async fn recheck(&mut self) -> Result<(Vec<ChannelId>, Vec<(ChannelId, u64)>), ApiError> {
        let snapshot = Snapshot::load(&self.state, &self.caller).await?;
        let visible = snapshot.visible_channels();
        let lost: Vec<ChannelId> = self
            .delivered
            .keys()
            .filter(|id| !visible.iter().any(|v| &v.channel.id == *id))
            .cloned()
            .collect();
        for id in &lost {
            self.delivered.remove(id);
            self.triggered.remove(id);
        }
        let mut gained = Vec::new();
        for v in visible {
            if self.delivered.contains_key(&v.channel.id) || !self.wants(&v.channel.id) {
                continue;
            }
            // A member starts just before its delivery cursor, so one who just
            // joined gets its own `member.joined`; others start live.
            let start = v
                .membership
                .as_ref()
                .map_or(v.channel.last_seq, |m| m.acked_seq.saturating_sub(1));
            self.start_channel(&v.channel.id, start, start);
            gained.push((v.channel.id, start));
        }
        Ok((lost, gained))
    }

    /// Triggers of `channel` for this agent not sent yet, as frames, each with
    /// a fresh turn token. Triggers are read from the store, so one that a lost
    /// signal never announced still goes out with the next.
    pub async fn catch_up_triggers(
        &mut self,
        channel: &ChannelId,
    ) -> Result<Vec<String>, ApiError> {
        if self.caller.principal.kind != PrincipalKind::Agent
            || !self.delivered.contains_key(channel)
        {
            return Ok(Vec::new());
        }
        let Some(&after) = self.triggered.get(channel) else {
            return Ok(Vec::new());
        };
        let found = self
            .state
            .store
            .list_triggers(&self.caller.principal.id, channel, after, PAGE)
            .await?;
        let Some(last) = found.last().map(|(t, _)| t.seq) else {
            self.triggered.insert(channel.clone(), after);
            return Ok(Vec::new());
        };
        let keys = self.state.turn_keys().await?;
        let expires_at = octo_store::now()
            + chrono::Duration::seconds(self.state.config.agents.turn_token_secs as i64);
        let frames = found
            .iter()
            .map(|(t, e)| {
                trigger_frame(
                    t,
                    e,
                    &keys.mint(&t.agent_id, &t.channel_id, expires_at),
                    expires_at,
                )
            })
            .collect();
        self.triggered.insert(channel.clone(), last);
        Ok(frames)
    }
}
