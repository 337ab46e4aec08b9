//! Messages: posting (idempotent, hop-counted, thread-aware), editing,
//! tombstoning, and the paged views of a channel's history.

use crate::error::Res;
use crate::events;
use crate::files;
use crate::reactions;
use crate::rows::{self, MESSAGE_COLS, ms, seq_param};
use octo_core::model::*;
use octo_core::*;
use octo_store::{
    MessageEdit, MessagePage, NewMessage, Posted, StoreError, ThreadFilter, next_hop, now, payload,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

/// The message row without reactions and attachments, deleted or not.
pub(crate) fn get_bare(conn: &Connection, id: &MessageId) -> Res<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], rows::message)
        .optional()?)
}

/// A message that can still be changed: NotFound if missing or deleted.
pub(crate) fn live(conn: &Connection, id: &MessageId) -> Res<Message> {
    match get_bare(conn, id)? {
        Some(m) if !m.deleted => Ok(m),
        _ => Err(StoreError::NotFound.into()),
    }
}

/// Fills in what lives in other tables: reactions and attachments. A deleted
/// message shows neither (its files are gone, or about to be).
pub(crate) fn with_details(conn: &Connection, mut m: Message) -> Res<Message> {
    if m.deleted {
        return Ok(m);
    }
    m.reactions = reactions::load(conn, &m.id)?;
    m.attachments = files::of_message(conn, &m.id)?;
    Ok(m)
}

/// [`with_details`] for a page: two queries in all, not two per message.
fn with_details_all(conn: &Connection, mut page: Vec<Message>) -> Res<Vec<Message>> {
    let ids: Vec<&str> = page
        .iter()
        .filter(|m| !m.deleted)
        .map(|m| m.id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(page);
    }
    let ids = serde_json::to_string(&ids)?;
    let mut reactions = reactions::load_many(conn, &ids)?;
    let mut files = files::of_messages(conn, &ids)?;
    for m in page.iter_mut().filter(|m| !m.deleted) {
        m.reactions = reactions.remove(m.id.as_str()).unwrap_or_default();
        m.attachments = files.remove(m.id.as_str()).unwrap_or_default();
    }
    Ok(page)
}

pub(crate) fn get(conn: &Connection, id: &MessageId) -> Res<Option<Message>> {
    get_bare(conn, id)?
        .map(|m| with_details(conn, m))
        .transpose()
}

fn hop_of_newest(conn: &Connection, sql: &str, key: &str) -> Res<Option<u32>> {
    let hop: Option<i64> = conn
        .prepare_cached(sql)?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(hop.map(|h| u32::try_from(h).unwrap_or(u32::MAX)))
}

/// The hop of the message a new one follows: the newest reply of its thread
/// (else the root itself), or for a top-level message the newest top-level one.
fn previous_hop(conn: &Connection, m: &NewMessage) -> Res<Option<u32>> {
    match &m.thread_id {
        Some(root_id) => {
            // Replies hang off a top-level message of the same channel.
            let root = get_bare(conn, root_id)?
                .filter(|r| r.channel_id == m.channel_id && r.thread_id.is_none())
                .ok_or(StoreError::NotFound)?;
            let newest_reply = hop_of_newest(
                conn,
                "SELECT hop FROM messages WHERE thread_id = ?1 ORDER BY seq DESC LIMIT 1",
                root_id.as_str(),
            )?;
            Ok(Some(newest_reply.unwrap_or(root.hop)))
        }
        None => hop_of_newest(
            conn,
            "SELECT hop FROM messages WHERE channel_id = ?1 AND thread_id IS NULL ORDER BY seq DESC LIMIT 1",
            m.channel_id.as_str(),
        ),
    }
}

pub(crate) fn post(conn: &Connection, m: NewMessage) -> Res<Posted> {
    if let Some(client_msg_id) = &m.client_msg_id {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE author_id = ?1 AND client_msg_id = ?2"
        );
        let earlier = conn
            .prepare_cached(&sql)?
            .query_row(params![m.author_id.as_str(), client_msg_id], rows::message)
            .optional()?;
        if let Some(earlier) = earlier {
            return Ok(Posted {
                message: with_details(conn, earlier)?,
                event: None,
            });
        }
    }
    let hop = next_hop(m.author_kind, previous_hop(conn, &m)?);
    let has_files = !m.attachments.is_empty();
    // Refused attachments stop the post before anything is written.
    if has_files {
        files::check_attachable(conn, &m.attachments, &m.channel_id, &m.author_id)?;
    }
    let seq = events::next_seq(conn, &m.channel_id)?;
    let stream = m.stream.then_some(StreamStatus::Open);
    conn.prepare_cached(
        "INSERT INTO messages (id, channel_id, seq, thread_id, author_id, text, data, mentions, client_msg_id, \
         hop, created_at, stream, stream_updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        m.id.as_str(),
        m.channel_id.as_str(),
        seq_param(seq),
        m.thread_id.as_ref().map(|t| t.as_str()),
        m.author_id.as_str(),
        m.text,
        m.data.as_ref().map(serde_json::to_string).transpose()?,
        serde_json::to_string(&m.mentions)?,
        m.client_msg_id,
        i64::from(hop),
        ms(m.created_at),
        stream.map(StreamStatus::as_str),
        stream.map(|_| ms(m.created_at)),
    ])?;
    if has_files {
        files::attach(conn, &m.attachments, &m.id)?;
    }
    if let Some(root) = &m.thread_id {
        conn.prepare_cached(
            "UPDATE messages SET reply_count = reply_count + 1, last_reply_at = ?2, last_reply_seq = ?3 WHERE id = ?1",
        )?
        .execute(params![root.as_str(), ms(m.created_at), seq_param(seq)])?;
    }
    // A new message has no reactions, and files only if it was sent with some.
    let attachments = if has_files {
        files::of_message(conn, &m.id)?
    } else {
        Vec::new()
    };
    let message = m.stored(seq, hop, attachments);
    let event = events::build(
        &message.channel_id,
        seq,
        EventKind::MessageCreated,
        &message.author_id,
        now(),
        payload::message_created(&message),
    );
    events::insert(conn, &event)?;
    // Whoever writes has read the channel up to their own message.
    conn.prepare_cached(
        "UPDATE channel_members SET read_seq = ?3 \
         WHERE channel_id = ?1 AND principal_id = ?2 AND read_seq < ?3",
    )?
    .execute(params![
        message.channel_id.as_str(),
        message.author_id.as_str(),
        seq_param(seq)
    ])?;
    Ok(Posted {
        message,
        event: Some(event),
    })
}

pub(crate) fn edit(
    conn: &Connection,
    id: &MessageId,
    actor: &PrincipalId,
    edit: MessageEdit,
) -> Res<(Message, Event)> {
    let mut m = live(conn, id)?;
    conn.execute(
        "UPDATE messages SET text = ?2, mentions = ?3, edited_at = ?4 WHERE id = ?1",
        params![
            id.as_str(),
            edit.text,
            serde_json::to_string(&edit.mentions)?,
            ms(edit.edited_at)
        ],
    )?;
    m.text = edit.text;
    m.mentions = edit.mentions;
    m.edited_at = Some(edit.edited_at);
    let event = events::append(
        conn,
        &m.channel_id,
        EventKind::MessageEdited,
        actor,
        payload::message_edited(&m),
    )?;
    Ok((with_details(conn, m)?, event))
}

/// Tombstones the message. The row stays so its seq and thread links hold; a
/// root's reply_count is left as is when a reply is deleted. An open stream is
/// closed as interrupted: nothing can finish it any more.
pub(crate) fn delete(
    conn: &Connection,
    id: &MessageId,
    actor: &PrincipalId,
) -> Res<(Message, Event)> {
    let mut m = live(conn, id)?;
    if m.stream == Some(StreamStatus::Open) {
        m.stream = Some(StreamStatus::Interrupted);
    }
    conn.execute(
        "UPDATE messages SET text = '', data = NULL, mentions = ?2, deleted = 1, stream = ?3 WHERE id = ?1",
        params![
            id.as_str(),
            serde_json::to_string(&Mentions::default())?,
            m.stream.map(StreamStatus::as_str),
        ],
    )?;
    conn.execute("DELETE FROM reactions WHERE message_id = ?1", [id.as_str()])?;
    redact_log(conn, &m)?;
    m.text = String::new();
    m.data = None;
    m.mentions = Mentions::default();
    m.deleted = true;
    m.reactions = Vec::new();
    m.attachments = Vec::new();
    let event = events::append(
        conn,
        &m.channel_id,
        EventKind::MessageDeleted,
        actor,
        payload::message_deleted(&m),
    )?;
    Ok((m, event))
}

/// A deleted message's words leave the log too, not just the read model: the
/// events that carried them (created, edited, deltas, finished) keep their
/// place and seq but lose the content (and the created event its attachments,
/// whose files are about to go), so a replay shows a deleted message.
fn redact_log(conn: &Connection, m: &Message) -> Res<()> {
    let no_mentions = serde_json::to_string(&Mentions::default())?;
    conn.prepare_cached(
        "UPDATE events SET payload = json_set(payload, '$.message.text', '', '$.message.data', json('null'), \
         '$.message.mentions', json(?3), '$.message.deleted', json('true'), '$.message.attachments', json('[]')) \
         WHERE channel_id = ?1 AND seq = ?2",
    )?
    .execute(params![m.channel_id.as_str(), seq_param(m.seq), no_mentions])?;
    conn.prepare_cached(
        "UPDATE events SET payload = CASE kind \
           WHEN 'message.delta' THEN json_set(payload, '$.delta', '') \
           WHEN 'message.finished' THEN json_set(payload, '$.text', '') \
           ELSE json_set(payload, '$.text', '', '$.mentions', json(?3)) END \
         WHERE channel_id = ?1 AND kind IN ('message.edited', 'message.delta', 'message.finished') \
           AND json_extract(payload, '$.message_id') = ?2",
    )?
    .execute(params![m.channel_id.as_str(), m.id.as_str(), no_mentions])?;
    Ok(())
}

pub(crate) fn query_messages(conn: &Connection, sql: &str, args: Vec<Value>) -> Res<Vec<Message>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params_from_iter(args), rows::message)?;
    let bare: Vec<Message> = rows.collect::<Result<_, _>>()?;
    with_details_all(conn, bare)
}

pub(crate) fn list(conn: &Connection, channel: &ChannelId, page: MessagePage) -> Res<Vec<Message>> {
    let mut args = vec![Value::Text(channel.as_str().to_owned())];
    let mut sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE channel_id = ?");
    match page.filter {
        ThreadFilter::TopLevel => sql.push_str(" AND thread_id IS NULL"),
        ThreadFilter::Thread(root) => {
            sql.push_str(" AND (id = ? OR thread_id = ?)");
            args.push(Value::Text(root.as_str().to_owned()));
            args.push(Value::Text(root.into()));
        }
    }
    // `after` pages forward from a point; otherwise the page is the newest
    // `limit` (before a point, if given), flipped to oldest-first below.
    let newest_first = match (page.after, page.before) {
        (Some(after), _) => {
            sql.push_str(" AND seq > ? ORDER BY seq ASC");
            args.push(Value::Integer(seq_param(after)));
            false
        }
        (None, Some(before)) => {
            sql.push_str(" AND seq < ? ORDER BY seq DESC");
            args.push(Value::Integer(seq_param(before)));
            true
        }
        (None, None) => {
            sql.push_str(" ORDER BY seq DESC");
            true
        }
    };
    sql.push_str(" LIMIT ?");
    args.push(Value::Integer(i64::from(page.limit)));
    let mut messages = query_messages(conn, &sql, args)?;
    if newest_first {
        messages.reverse();
    }
    Ok(messages)
}

pub(crate) fn list_threads(
    conn: &Connection,
    channel: &ChannelId,
    limit: u32,
) -> Res<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE channel_id = ? AND thread_id IS NULL \
         AND last_reply_seq IS NOT NULL ORDER BY last_reply_seq DESC LIMIT ?"
    );
    query_messages(
        conn,
        &sql,
        vec![
            Value::Text(channel.as_str().to_owned()),
            Value::Integer(i64::from(limit)),
        ],
    )
}

/// Whether `principal` wrote the thread's root or any reply in it (deleted
/// ones included: it took part all the same).
pub(crate) fn took_part_in_thread(
    conn: &Connection,
    principal: &PrincipalId,
    root: &MessageId,
) -> Res<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?2 AND thread_id IS NULL AND author_id = ?1) \
             OR EXISTS (SELECT 1 FROM messages WHERE thread_id = ?2 AND author_id = ?1)",
        )?
        .query_row(params![principal.as_str(), root.as_str()], |r| r.get(0))?)
}
