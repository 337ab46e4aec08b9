//! The scribe's loop: one WebSocket subscription, per-channel buffers of the
//! messages since the last pass, and a pass when a threshold is reached.

use std::collections::HashMap;
use std::future::Future;

use octo_client::{Client, ClientError, Frame, SendOptions, SubscribeOptions};
use octo_core::groupmd::GroupmdMode;
use octo_core::model::Message;
use octo_core::{ChannelId, EventKind, MessageId, OrgId, PrincipalId};
use octo_groupmd::Document;

use crate::maintainer::{Maintainer, PassInput};
use thiserror::Error;
use tokio::time::Instant;

use crate::ScribeConfig;
use crate::convert::Names;

mod review;

/// The command that asks for a pass now.
const COMMAND: &str = "/groupmd";
/// How many recent messages per channel are kept to apply later reactions to.
const RECENT: usize = 500;

#[derive(Debug, Error)]
pub enum ScribeError {
    #[error("octo API: {0}")]
    Client(#[from] ClientError),
}

/// What the scribe holds for one channel between passes.
#[derive(Default)]
struct ChannelState {
    /// Messages (and reacted-to messages) since the last pass, in order.
    pending: Vec<Message>,
    /// Recent messages by id, to see a later ✅ on them.
    recent: Vec<Message>,
    /// The last event seq read; acked once `pending` is in group.md.
    last_seq: u64,
    /// When the last message arrived (the idle timer runs from it).
    last_message: Option<Instant>,
}

struct Scribe {
    client: Client,
    config: ScribeConfig,
    me: PrincipalId,
    org: OrgId,
    names: Names,
    channels: HashMap<ChannelId, ChannelState>,
    maintainer: Maintainer,
}

/// Runs the scribe with `client` (holding the scribe's token) until `shutdown`
/// resolves. Errors of one pass are logged; the loop goes on.
pub async fn run(
    client: Client,
    config: ScribeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ScribeError> {
    let me = client.me().await?;
    let mut scribe = Scribe {
        client: client.clone(),
        maintainer: Maintainer::new(&config.maintainer),
        config,
        me: me.principal.id,
        org: me.org.id,
        names: Names::default(),
        channels: HashMap::new(),
    };
    scribe.refresh_names().await?;
    let mut sub = client.subscribe(SubscribeOptions::default()).await?;
    tokio::pin!(shutdown);
    loop {
        let deadline = scribe.next_idle_deadline();
        tokio::select! {
            () = &mut shutdown => break,
            frame = sub.next() => match frame {
                None => break,
                Some(Ok(Frame::Event(event))) => {
                    let channel = event.channel_id.clone();
                    let seq = event.seq;
                    if let Err(e) = scribe.on_event(event).await {
                        tracing::warn!(%channel, error = %e, "scribe: event not handled");
                    }
                    scribe.state(&channel).last_seq = seq;
                    if let Some(cursor) = scribe.ackable(&channel)
                        && let Err(e) = sub.ack(HashMap::from([(channel, cursor)]))
                    {
                        tracing::warn!(error = %e, "scribe: ack failed");
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => tracing::warn!(error = %e, "scribe: subscription"),
            },
            () = sleep_until(deadline) => {
                for channel in scribe.idle_channels() {
                    if let Err(e) = scribe.pass(&channel).await {
                        tracing::warn!(%channel, error = %e, "scribe: idle pass failed");
                    }
                    if let Some(cursor) = scribe.ackable(&channel)
                        && let Err(e) = sub.ack(HashMap::from([(channel, cursor)]))
                    {
                        tracing::warn!(error = %e, "scribe: ack failed");
                    }
                }
            }
        }
    }
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Scribe {
    fn state(&mut self, channel: &ChannelId) -> &mut ChannelState {
        self.channels.entry(channel.clone()).or_default()
    }

    /// The cursor to ack: only when nothing of the channel waits for a pass.
    fn ackable(&self, channel: &ChannelId) -> Option<u64> {
        let state = self.channels.get(channel)?;
        (state.pending.is_empty() && state.last_seq > 0).then_some(state.last_seq)
    }

    fn next_idle_deadline(&self) -> Option<Instant> {
        self.channels
            .values()
            .filter(|s| !s.pending.is_empty())
            .filter_map(|s| s.last_message)
            .map(|at| at + self.config.idle)
            .min()
    }

    fn idle_channels(&self) -> Vec<ChannelId> {
        let now = Instant::now();
        self.channels
            .iter()
            .filter(|(_, s)| !s.pending.is_empty())
            .filter(|(_, s)| {
                s.last_message
                    .is_some_and(|at| at + self.config.idle <= now)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    async fn refresh_names(&mut self) -> Result<(), ScribeError> {
        let members = self.client.members(&self.org).await?;
        self.names = Names::new(members.items);
        Ok(())
    }

    async fn on_event(&mut self, event: octo_core::event::Event) -> Result<(), ScribeError> {
        match event.kind {
            EventKind::MessageCreated => {
                let Ok(message) =
                    serde_json::from_value::<Message>(event.payload["message"].clone())
                else {
                    return Ok(());
                };
                self.on_message(message).await
            }
            EventKind::ReactionAdded => {
                let Some(id) = event.payload["message_id"].as_str() else {
                    return Ok(());
                };
                let emoji = event.payload["emoji"].as_str().unwrap_or_default();
                self.on_reaction(
                    &event.channel_id,
                    MessageId::from_string(id.to_owned()),
                    emoji,
                    &event.actor,
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn on_message(&mut self, message: Message) -> Result<(), ScribeError> {
        // The scribe never reads its own notes and answers.
        if message.author_id == self.me || message.deleted {
            return Ok(());
        }
        if !self.names.knows(&message.author_id) {
            self.refresh_names().await?;
        }
        let channel = message.channel_id.clone();
        if message.text.trim() == COMMAND {
            return self.pass(&channel).await;
        }
        if mentions_me(&message.text) {
            return self.answer(&message).await;
        }
        let every = self.config.every_messages.max(1);
        let state = self.state(&channel);
        state.last_message = Some(Instant::now());
        state.recent.push(message.clone());
        if state.recent.len() > RECENT {
            state.recent.remove(0);
        }
        state.pending.push(message);
        if state.pending.len() >= every {
            self.pass(&channel).await?;
        }
        Ok(())
    }

    /// A reaction on a message the scribe has seen: the message is read again
    /// at the next pass, with the reaction (a ✅ closes its item).
    fn on_reaction(&mut self, channel: &ChannelId, id: MessageId, emoji: &str, by: &PrincipalId) {
        let state = self.state(channel);
        let Some(message) = state.recent.iter_mut().find(|m| m.id == id) else {
            return;
        };
        match message.reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) if !r.principal_ids.contains(by) => {
                r.principal_ids.push(by.clone());
                r.count += 1;
            }
            Some(_) => {}
            None => message.reactions.push(octo_core::model::Reaction {
                emoji: emoji.to_owned(),
                count: 1,
                principal_ids: vec![by.clone()],
            }),
        }
        let updated = message.clone();
        match state.pending.iter_mut().find(|m| m.id == id) {
            Some(pending) => *pending = updated,
            None => state.pending.push(updated),
        }
        state.last_message = Some(Instant::now());
    }

    /// Reads the pending messages into group.md: PUT with If-Match, and on a
    /// concurrent edit re-read and redo once. Posts a note when items changed.
    /// In a channel in review mode it proposes the change instead.
    async fn pass(&mut self, channel: &ChannelId) -> Result<(), ScribeError> {
        if self.client.groupmd_mode(channel).await? == GroupmdMode::Review {
            return self.propose_pass(channel).await;
        }
        let pending = std::mem::take(&mut self.state(channel).pending);
        let members = self.names.members();
        let messages: Vec<_> = pending.iter().map(|m| self.names.message(m)).collect();
        let mut attempt = 0;
        let written = loop {
            attempt += 1;
            let current = self.client.groupmd(channel).await?;
            let before = Document::parse(&current.text);
            let input = PassInput {
                scope: channel.as_str(),
                current: &current.text,
                members: &members,
                messages: &messages,
            };
            let Some(after) = self.maintainer.revise(&input).await else {
                break None;
            };
            match self
                .client
                .put_groupmd(channel, current.revision, &after.render())
                .await
            {
                Ok(stored) => break Some((before, after, stored.revision)),
                Err(ClientError::Api { code, .. }) if code == "stale_revision" && attempt < 2 => {
                    continue;
                }
                Err(e) => {
                    // Keep the messages for the next pass.
                    let state = self.state(channel);
                    let newer = std::mem::take(&mut state.pending);
                    state.pending = pending;
                    state.pending.extend(newer);
                    return Err(e.into());
                }
            }
        };
        if let Some((before, after, revision)) = written
            && let Some(summary) = crate::note::summary(&before, &after)
        {
            let text = format!(
                "group.md updated: {summary} (revision {revision}: /api/v1/channels/{channel}/groupmd/revisions/{revision})"
            );
            self.client
                .send(channel, &text, SendOptions::default())
                .await?;
        }
        Ok(())
    }

    /// Answers in the mention's thread from group.md plus the thread itself.
    async fn answer(&mut self, message: &Message) -> Result<(), ScribeError> {
        let channel = &message.channel_id;
        let root = message
            .thread_id
            .clone()
            .unwrap_or_else(|| message.id.clone());
        let current = self.client.groupmd(channel).await?;
        let mut doc = Document::parse(&current.text);
        let thread = self.client.thread(channel, &root).await?;
        let messages: Vec<_> = thread
            .items
            .iter()
            .filter(|m| m.author_id != self.me && !mentions_me(&m.text))
            .map(|m| self.names.message(m))
            .collect();
        if let Some(found) =
            crate::maintainer::extract_guarded(&self.names.members(), &messages, &doc)
        {
            doc.apply(&found);
        }
        let text = crate::answer::answer(&doc);
        self.client
            .send(
                channel,
                &text,
                SendOptions {
                    thread_id: Some(root),
                    ..SendOptions::default()
                },
            )
            .await?;
        Ok(())
    }
}

/// `@scribe` as a word (not `@scribes`, not an email).
fn mentions_me(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.match_indices("@scribe").any(|(at, m)| {
        let before_ok = at == 0
            || !lower[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric());
        let after_ok = !lower[at + m.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::mentions_me;

    #[test]
    fn a_mention_is_the_whole_handle() {
        assert!(mentions_me("@scribe what did we decide?"));
        assert!(mentions_me("hey @Scribe, what's open"));
        assert!(!mentions_me("@scribes are busy"));
        assert!(!mentions_me("mail bob@scribe.example"));
    }
}
