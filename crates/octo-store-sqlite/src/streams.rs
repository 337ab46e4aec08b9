//! Streaming messages: opened by a post, grown by deltas, closed once as
//! finished or interrupted. Each step appends its own event.

use crate::error::Res;
use crate::events;
use crate::messages;
use crate::rows::{MESSAGE_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{StoreError, Timestamp, now, payload};
use rusqlite::types::Value;
use rusqlite::{Connection, params};

/// A live message that is still an open stream; Conflict otherwise.
fn open_stream(conn: &Connection, id: &MessageId) -> Res<Message> {
    let m = messages::live(conn, id)?;
    match m.stream {
        Some(StreamStatus::Open) => Ok(m),
        Some(status) => Err(StoreError::Conflict(format!(
            "the message's stream is already {}",
            status.as_str()
        ))
        .into()),
        None => Err(StoreError::Conflict("the message is not a stream".into()).into()),
    }
}

pub(crate) fn append_delta(
    conn: &Connection,
    id: &MessageId,
    actor: &PrincipalId,
    delta: &str,
) -> Res<(Message, Event)> {
    let mut m = open_stream(conn, id)?;
    conn.prepare_cached(
        "UPDATE messages SET text = text || ?2, stream_updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id.as_str(), delta, ms(now())])?;
    m.text.push_str(delta);
    let event = events::append(
        conn,
        &m.channel_id,
        EventKind::MessageDelta,
        actor,
        payload::message_delta(&m, delta),
    )?;
    Ok((messages::with_details(conn, m)?, event))
}

pub(crate) fn finish(
    conn: &Connection,
    id: &MessageId,
    actor: &PrincipalId,
    text: Option<String>,
    status: StreamStatus,
) -> Res<(Message, Event)> {
    if status == StreamStatus::Open {
        return Err(StoreError::Conflict(
            "a stream can only be closed as finished or interrupted".into(),
        )
        .into());
    }
    let mut m = open_stream(conn, id)?;
    if let Some(text) = text {
        m.text = text;
    }
    m.stream = Some(status);
    conn.execute(
        "UPDATE messages SET text = ?2, stream = ?3, stream_updated_at = ?4 WHERE id = ?1",
        params![id.as_str(), m.text, status.as_str(), ms(now())],
    )?;
    let event = events::append(
        conn,
        &m.channel_id,
        EventKind::MessageFinished,
        actor,
        payload::message_finished(&m),
    )?;
    Ok((messages::with_details(conn, m)?, event))
}

pub(crate) fn idle(conn: &Connection, before: Timestamp, limit: u32) -> Res<Vec<Message>> {
    // Served by the partial index on open streams.
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE stream = 'open' AND stream_updated_at < ? \
         ORDER BY stream_updated_at, rowid LIMIT ?"
    );
    messages::query_messages(
        conn,
        &sql,
        vec![Value::Integer(ms(before)), Value::Integer(i64::from(limit))],
    )
}
