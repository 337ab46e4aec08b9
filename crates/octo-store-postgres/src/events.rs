//! The log: seq allocation and appends. Always called inside a write
//! transaction, so the seq bump, the event row and the read-model change
//! commit together.

use crate::db::{self, Db};
use crate::error::Res;
use crate::rows::{self, EVENT_COLS, ms, seq_param};
use octo_core::*;
use octo_store::{StoreError, Timestamp, now};
use serde_json::Value;

/// The statement of [`next_seq`] (a post sends it pipelined with its reads).
pub(crate) const NEXT_SEQ: &str =
    "UPDATE channels SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq";

/// Takes the channel's next seq; NotFound if there is no such channel. The
/// bumped row stays locked until commit, so a second writer to the channel
/// (on any node) waits here and gets the next seq: gapless, in commit order.
pub(crate) async fn next_seq(c: &impl Db, channel: &ChannelId) -> Res<u64> {
    let row = db::query_opt(c, NEXT_SEQ, &[&channel.as_str()])
        .await?
        .ok_or(StoreError::NotFound)?;
    rows::u64_at(&row, 0)
}

/// Writes an event whose seq was taken with [`next_seq`].
pub(crate) async fn insert(c: &impl Db, e: &Event) -> Res<()> {
    db::execute(
        c,
        "INSERT INTO events (channel_id, seq, id, kind, actor_id, at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &e.channel_id.as_str(),
            &seq_param(e.seq),
            &e.id.as_str(),
            &e.kind.as_str(),
            &e.actor.as_str(),
            &ms(e.at),
            &serde_json::to_string(&e.payload)?,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) fn build(
    channel: &ChannelId,
    seq: u64,
    kind: EventKind,
    actor: &PrincipalId,
    at: Timestamp,
    payload: Value,
) -> Event {
    Event {
        id: EventId::generate(),
        channel_id: channel.clone(),
        seq,
        kind,
        at,
        actor: actor.clone(),
        payload,
    }
}

/// Appends an event at a seq already taken (so the channel is already locked).
pub(crate) async fn append_at(
    c: &impl Db,
    channel: &ChannelId,
    seq: u64,
    kind: EventKind,
    actor: &PrincipalId,
    payload: Value,
) -> Res<Event> {
    let event = build(channel, seq, kind, actor, now(), payload);
    insert(c, &event).await?;
    Ok(event)
}

/// Takes the next seq and appends an event whose payload does not depend on it.
pub(crate) async fn append(
    c: &impl Db,
    channel: &ChannelId,
    kind: EventKind,
    actor: &PrincipalId,
    payload: Value,
) -> Res<Event> {
    let seq = next_seq(c, channel).await?;
    append_at(c, channel, seq, kind, actor, payload).await
}

pub(crate) async fn list(
    c: &impl Db,
    channel: &ChannelId,
    after: u64,
    limit: u32,
) -> Res<Vec<Event>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events WHERE channel_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    );
    db::query_map(
        c,
        &sql,
        &[&channel.as_str(), &seq_param(after), &i64::from(limit)],
        rows::event,
    )
    .await
}
