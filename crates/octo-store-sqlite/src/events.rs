//! The log: seq allocation and appends. Always called inside a writer job, so
//! the seq bump, the event row and the read-model change share a transaction.

use crate::error::Res;
use crate::rows::{self, EVENT_COLS, ms, seq_param};
use octo_core::*;
use octo_store::{StoreError, Timestamp, now};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

/// The channel's next seq (one past its newest event); NotFound if there is
/// no such channel. Read, not taken: the caller appends its event before the
/// next call, in the same transaction (two reads in between would get the
/// same seq). Only the writer calls it, so no other transaction interleaves.
pub(crate) fn next_seq(conn: &Connection, channel: &ChannelId) -> Res<u64> {
    let seq: Option<i64> = conn
        .prepare_cached(
            "SELECT (SELECT coalesce(max(seq), 0) FROM events WHERE channel_id = ?1) + 1 \
             FROM channels WHERE id = ?1",
        )?
        .query_row([channel.as_str()], |r| r.get(0))
        .optional()?;
    let seq = seq.ok_or(StoreError::NotFound)?;
    Ok(u64::try_from(seq).unwrap_or_default())
}

/// Writes an event whose seq was taken with [`next_seq`].
pub(crate) fn insert(conn: &Connection, e: &Event) -> Res<()> {
    conn.prepare_cached(
        "INSERT INTO events (channel_id, seq, id, kind, actor_id, at, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.channel_id.as_str(),
        seq_param(e.seq),
        e.id.as_str(),
        e.kind.as_str(),
        e.actor.as_str(),
        ms(e.at),
        serde_json::to_string(&e.payload)?,
    ])?;
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

/// Takes the next seq and appends an event whose payload does not depend on it.
pub(crate) fn append(
    conn: &Connection,
    channel: &ChannelId,
    kind: EventKind,
    actor: &PrincipalId,
    payload: Value,
) -> Res<Event> {
    let seq = next_seq(conn, channel)?;
    let event = build(channel, seq, kind, actor, now(), payload);
    insert(conn, &event)?;
    Ok(event)
}

pub(crate) fn list(
    conn: &Connection,
    channel: &ChannelId,
    after: u64,
    limit: u32,
) -> Res<Vec<Event>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events WHERE channel_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![channel.as_str(), seq_param(after), i64::from(limit)],
        rows::event,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}
