//! Channel membership: joins and leaves (each an event), trigger policies and
//! read cursors.

use crate::channels;
use crate::error::Res;
use crate::events;
use crate::rows::{self, MEMBER_COLS, ms, seq_param};
use octo_core::model::*;
use octo_core::*;
use octo_store::{StoreError, Timestamp, now, payload};
use rusqlite::{Connection, OptionalExtension, params};

/// Appends `member.joined` and adds the member. Its cursors start at its own
/// join event: history from before it joined does not count as unread, nor as
/// undelivered.
pub(crate) fn join(
    conn: &Connection,
    channel: &ChannelId,
    principal: &PrincipalId,
    trigger: TriggerPolicy,
    actor: &PrincipalId,
    joined_at: Timestamp,
) -> Res<(ChannelMember, Event)> {
    let event = events::append(
        conn,
        channel,
        EventKind::MemberJoined,
        actor,
        payload::member(principal),
    )?;
    conn.prepare_cached(
        "INSERT INTO channel_members (channel_id, principal_id, trigger, read_seq, acked_seq, joined_at) \
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
    )?
    .execute(params![
        channel.as_str(),
        principal.as_str(),
        trigger.as_str(),
        seq_param(event.seq),
        ms(joined_at),
    ])?;
    let member = ChannelMember {
        channel_id: channel.clone(),
        principal_id: principal.clone(),
        trigger,
        read_seq: event.seq,
        joined_at,
        acked_seq: event.seq,
    };
    Ok((member, event))
}

pub(crate) fn add(
    conn: &Connection,
    channel: &ChannelId,
    principal: &PrincipalId,
    trigger: TriggerPolicy,
    actor: &PrincipalId,
) -> Res<(ChannelMember, Option<Event>)> {
    if channels::get(conn, channel)?.is_none() {
        return Err(StoreError::NotFound.into());
    }
    if let Some(mut existing) = get(conn, channel, principal)? {
        conn.execute(
            "UPDATE channel_members SET trigger = ?3 WHERE channel_id = ?1 AND principal_id = ?2",
            params![channel.as_str(), principal.as_str(), trigger.as_str()],
        )?;
        existing.trigger = trigger;
        return Ok((existing, None));
    }
    let (member, event) = join(conn, channel, principal, trigger, actor, now())?;
    Ok((member, Some(event)))
}

pub(crate) fn remove(
    conn: &Connection,
    channel: &ChannelId,
    principal: &PrincipalId,
    actor: &PrincipalId,
) -> Res<Option<Event>> {
    if channels::get(conn, channel)?.is_none() {
        return Err(StoreError::NotFound.into());
    }
    let removed = conn.execute(
        "DELETE FROM channel_members WHERE channel_id = ?1 AND principal_id = ?2",
        params![channel.as_str(), principal.as_str()],
    )?;
    if removed == 0 {
        return Ok(None);
    }
    let event = events::append(
        conn,
        channel,
        EventKind::MemberLeft,
        actor,
        payload::member(principal),
    )?;
    Ok(Some(event))
}

pub(crate) fn get(
    conn: &Connection,
    channel: &ChannelId,
    principal: &PrincipalId,
) -> Res<Option<ChannelMember>> {
    let sql = format!(
        "SELECT {MEMBER_COLS} FROM channel_members WHERE channel_id = ?1 AND principal_id = ?2"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![channel.as_str(), principal.as_str()], rows::member)
        .optional()?)
}

pub(crate) fn list(conn: &Connection, channel: &ChannelId) -> Res<Vec<ChannelMember>> {
    let sql =
        format!("SELECT {MEMBER_COLS} FROM channel_members WHERE channel_id = ?1 ORDER BY rowid");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([channel.as_str()], rows::member)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn memberships_of(
    conn: &Connection,
    principal: &PrincipalId,
) -> Res<Vec<ChannelMember>> {
    let sql =
        format!("SELECT {MEMBER_COLS} FROM channel_members WHERE principal_id = ?1 ORDER BY rowid");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([principal.as_str()], rows::member)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The channel's last seq, if `principal` is a member of it.
fn last_seq_for_member(
    conn: &Connection,
    channel: &ChannelId,
    principal: &PrincipalId,
) -> Res<u64> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT coalesce(max(seq), 0) FROM events WHERE channel_id = ?1) \
             FROM channel_members WHERE channel_id = ?1 AND principal_id = ?2",
        )?
        .query_row(params![channel.as_str(), principal.as_str()], |r| {
            rows::u64_at(r, 0)
        })
        .optional()?
        .ok_or(StoreError::NotFound)?)
}

pub(crate) fn set_cursor(
    conn: &Connection,
    channel: &ChannelId,
    principal: &PrincipalId,
    seq: u64,
) -> Res<u64> {
    let stored = seq.min(last_seq_for_member(conn, channel, principal)?);
    conn.prepare_cached(
        "UPDATE channel_members SET read_seq = ?3 WHERE channel_id = ?1 AND principal_id = ?2",
    )?
    .execute(params![
        channel.as_str(),
        principal.as_str(),
        seq_param(stored)
    ])?;
    Ok(stored)
}

pub(crate) fn ack_cursor(
    conn: &Connection,
    channel: &ChannelId,
    principal: &PrincipalId,
    seq: u64,
) -> Res<u64> {
    let target = seq.min(last_seq_for_member(conn, channel, principal)?);
    conn.prepare_cached(
        "UPDATE channel_members SET acked_seq = MAX(acked_seq, ?3) WHERE channel_id = ?1 AND principal_id = ?2 \
         RETURNING acked_seq",
    )?
    .query_row(
        params![channel.as_str(), principal.as_str(), seq_param(target)],
        |r| rows::u64_at(r, 0),
    )
    .map_err(Into::into)
}
