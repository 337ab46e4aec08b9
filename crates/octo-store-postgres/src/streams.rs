//! Streaming messages: opened by a post, grown by deltas, closed once as
//! finished or interrupted. Each step appends its own event.

use crate::db::{self, Db};
use crate::error::Res;
use crate::events;
use crate::messages;
use crate::rows::{MESSAGE_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::{StoreError, Timestamp, now, payload};

/// A live message that is still an open stream (its channel locked);
/// Conflict otherwise.
async fn open_stream(c: &impl Db, id: &MessageId) -> Res<Message> {
    let m = messages::lock_live(c, id).await?;
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

pub(crate) async fn append_delta(
    c: &impl Db,
    id: &MessageId,
    actor: &PrincipalId,
    delta: &str,
) -> Res<(Message, Event)> {
    let mut m = open_stream(c, id).await?;
    db::execute(
        c,
        "UPDATE messages SET text = text || $2, stream_updated_at = $3 WHERE id = $1",
        &[&id.as_str(), &delta, &ms(now())],
    )
    .await?;
    m.text.push_str(delta);
    let event = events::append(
        c,
        &m.channel_id,
        EventKind::MessageDelta,
        actor,
        payload::message_delta(&m, delta),
    )
    .await?;
    Ok((messages::with_details(c, m).await?, event))
}

pub(crate) async fn finish(
    c: &impl Db,
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
    let mut m = open_stream(c, id).await?;
    if let Some(text) = text {
        m.text = text;
    }
    m.stream = Some(status);
    db::execute(
        c,
        "UPDATE messages SET text = $2, stream = $3, stream_updated_at = $4 WHERE id = $1",
        &[&id.as_str(), &m.text, &status.as_str(), &ms(now())],
    )
    .await?;
    let event = events::append(
        c,
        &m.channel_id,
        EventKind::MessageFinished,
        actor,
        payload::message_finished(&m),
    )
    .await?;
    Ok((messages::with_details(c, m).await?, event))
}

pub(crate) async fn idle(c: &impl Db, before: Timestamp, limit: u32) -> Res<Vec<Message>> {
    // Served by the partial index on open streams.
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE stream = 'open' AND stream_updated_at < $1 \
         ORDER BY stream_updated_at, pos LIMIT $2"
    );
    messages::query_messages(c, &sql, &[&ms(before), &i64::from(limit)]).await
}
