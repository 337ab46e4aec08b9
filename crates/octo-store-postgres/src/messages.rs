//! Messages: posting (idempotent, hop-counted, thread-aware), editing,
//! tombstoning, and the paged views of a channel's history.
//!
//! Every change to an existing message first locks its channel row, then
//! re-reads the message: concurrent changes
//! to one channel's messages take turns, always locking the channel before any
//! message row, so they cannot deadlock.

use crate::db::{self, Db};
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
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// The message row without reactions and attachments, deleted or not.
pub(crate) async fn get_bare(c: &impl Db, id: &MessageId) -> Res<Option<Message>> {
    db::query_opt_map(c, &bare_sql(), &[&id.as_str()], rows::message).await
}

/// Locks the message's channel row, then reads the message as it is now that
/// no one else can change it (deleted or not); NotFound if missing.
pub(crate) async fn lock_bare(c: &impl Db, id: &MessageId) -> Res<Message> {
    db::query_opt(
        c,
        "SELECT 1 FROM channels WHERE id = (SELECT channel_id FROM messages WHERE id = $1) FOR UPDATE",
        &[&id.as_str()],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    get_bare(c, id)
        .await?
        .ok_or_else(|| StoreError::NotFound.into())
}

/// [`lock_bare`], for a message that can still be changed.
pub(crate) async fn lock_live(c: &impl Db, id: &MessageId) -> Res<Message> {
    match lock_bare(c, id).await? {
        m if !m.deleted => Ok(m),
        _ => Err(StoreError::NotFound.into()),
    }
}

/// Fills in what lives in other tables: reactions and attachments. A deleted
/// message shows neither (its files are gone, or about to be).
pub(crate) async fn with_details(c: &impl Db, mut m: Message) -> Res<Message> {
    if m.deleted {
        return Ok(m);
    }
    m.reactions = reactions::load(c, &m.id).await?;
    m.attachments = files::of_message(c, &m.id).await?;
    Ok(m)
}

pub(crate) async fn get(c: &impl Db, id: &MessageId) -> Res<Option<Message>> {
    match get_bare(c, id).await? {
        Some(m) => Ok(Some(with_details(c, m).await?)),
        None => Ok(None),
    }
}

fn hop_at(row: Option<Row>) -> Res<Option<u32>> {
    let hop = row.map(|r| r.try_get::<_, i64>(0)).transpose()?;
    Ok(hop.map(|h| u32::try_from(h).unwrap_or(u32::MAX)))
}

const NEWEST_TOP_LEVEL_HOP: &str = "SELECT hop FROM messages WHERE channel_id = $1 AND thread_id IS NULL ORDER BY seq DESC LIMIT 1";
const NEWEST_REPLY_HOP: &str =
    "SELECT hop FROM messages WHERE thread_id = $1 ORDER BY seq DESC LIMIT 1";

fn bare_sql() -> String {
    format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = $1")
}

fn earlier_sql() -> String {
    format!("SELECT {MESSAGE_COLS} FROM messages WHERE author_id = $1 AND client_msg_id = $2")
}

/// Prepares (on this connection, once) every statement [`look`] sends, so
/// that a `look` sends its statements in its first poll: looks polled in
/// order then reach the server in that order.
pub(crate) async fn prepare_look(c: &impl Db) -> Res<()> {
    let (bare, earlier) = (bare_sql(), earlier_sql());
    tokio::try_join!(
        c.prepare_cached(events::NEXT_SEQ),
        c.prepare_cached(NEWEST_TOP_LEVEL_HOP),
        c.prepare_cached(NEWEST_REPLY_HOP),
        c.prepare_cached(&bare),
        c.prepare_cached(db::LOCK),
        c.prepare_cached(&earlier),
    )?;
    Ok(())
}

/// The channel's next seq (taking its row lock) and the hop of the message the
/// new one follows: the newest reply of its thread (else the root itself), or
/// for a top-level message the newest top-level one. The reads are sent with
/// the seq's UPDATE and run after it, so they see the channel settled. The
/// outer error means no seq was taken; the inner one (a missing or misplaced
/// thread root) comes after the seq was.
async fn seq_and_previous_hop(c: &impl Db, m: &NewMessage) -> Res<(u64, Res<Option<u32>>)> {
    let channel = m.channel_id.as_str();
    let by_channel: [&(dyn ToSql + Sync); 1] = [&channel];
    let seq_of =
        |row: Option<Row>| -> Res<u64> { rows::u64_at(&row.ok_or(StoreError::NotFound)?, 0) };
    match &m.thread_id {
        None => {
            let (bump, newest) = tokio::try_join!(
                c.prepare_cached(events::NEXT_SEQ),
                c.prepare_cached(NEWEST_TOP_LEVEL_HOP),
            )?;
            let (seq, previous) = tokio::join!(
                c.query_opt(&bump, &by_channel),
                c.query_opt(&newest, &by_channel)
            );
            let seq = seq_of(seq?)?;
            Ok((seq, previous.map_err(Into::into).and_then(hop_at)))
        }
        Some(root_id) => {
            let bare_sql = bare_sql();
            let (bump, bare, newest) = tokio::try_join!(
                c.prepare_cached(events::NEXT_SEQ),
                c.prepare_cached(&bare_sql),
                c.prepare_cached(NEWEST_REPLY_HOP),
            )?;
            let root_id = root_id.as_str();
            let by_root: [&(dyn ToSql + Sync); 1] = [&root_id];
            let (seq, root, newest) = tokio::join!(
                c.query_opt(&bump, &by_channel),
                c.query_opt(&bare, &by_root),
                c.query_opt(&newest, &by_root),
            );
            let seq = seq_of(seq?)?;
            let previous = async {
                // Replies hang off a top-level message of the same channel.
                let root = root?
                    .as_ref()
                    .map(rows::message)
                    .transpose()?
                    .filter(|r| r.channel_id == m.channel_id && r.thread_id.is_none())
                    .ok_or(StoreError::NotFound)?;
                Ok(Some(hop_at(newest?)?.unwrap_or(root.hop)))
            };
            Ok((seq, previous.await))
        }
    }
}

/// A message by `author` with this `client_msg_id`, looked up under the
/// advisory lock that makes concurrent retries of one post (through any node)
/// take turns: both go in one round trip, the look-up after the lock.
async fn earlier_post(
    c: &impl Db,
    author: &PrincipalId,
    client_msg_id: Option<&str>,
) -> Res<Option<Message>> {
    let Some(client_msg_id) = client_msg_id else {
        return Ok(None);
    };
    let key = format!("octo-post:{}:{client_msg_id}", author.as_str());
    let earlier_sql = earlier_sql();
    let (lock, look) =
        tokio::try_join!(c.prepare_cached(db::LOCK), c.prepare_cached(&earlier_sql))?;
    let author = author.as_str();
    let lock_params: [&(dyn ToSql + Sync); 1] = [&key];
    let look_params: [&(dyn ToSql + Sync); 2] = [&author, &client_msg_id];
    // Sent in this order (tokio-postgres sends in the order of first polls,
    // and both statements are prepared): the server runs the look-up second.
    let (locked, found) = tokio::join!(
        c.execute(&lock, &lock_params),
        c.query_opt(&look, &look_params),
    );
    locked?;
    found?.as_ref().map(rows::message).transpose()
}

/// What a post's first round trip found.
pub(crate) enum Looked {
    /// This `client_msg_id` was posted before (the bare row). `seq_taken` is
    /// the seq this attempt took, still to be given back.
    Earlier {
        message: Box<Message>,
        seq_taken: Option<u64>,
    },
    /// A new post at `seq`; `previous` is the hop of the message it follows,
    /// or why it cannot be posted (a missing or misplaced thread root).
    New {
        seq: u64,
        previous: Res<Option<u32>>,
    },
}

/// A post's first round trip: the look-up of an earlier post with this
/// `client_msg_id` and the seq (with the channel locked, the previous message
/// is settled), sent in that order once their statements are prepared.
pub(crate) async fn look(c: &impl Db, m: &NewMessage) -> Res<Looked> {
    let (earlier, next) = tokio::join!(
        earlier_post(c, &m.author_id, m.client_msg_id.as_deref()),
        seq_and_previous_hop(c, m),
    );
    let earlier = match earlier {
        // Aborted by the seq's failure, which says more.
        Err(e) if e.is_aborted_transaction() => return Err(next.err().unwrap_or(e)),
        earlier => earlier?,
    };
    Ok(match earlier {
        Some(message) => Looked::Earlier {
            message: Box::new(message),
            seq_taken: next.ok().map(|(seq, _)| seq),
        },
        None => {
            let (seq, previous) = next?;
            Looked::New { seq, previous }
        }
    })
}

pub(crate) async fn post(c: &impl Db, m: NewMessage) -> Res<Posted> {
    // A post in a group commit waits on the server, not on two trips; a retry
    // gives its seq back.
    match look(c, &m).await? {
        Looked::Earlier { message, seq_taken } => replay(c, &m, *message, seq_taken).await,
        Looked::New { seq, previous } => write(c, m, seq, previous?).await,
    }
}

/// Answers a retried post with the first one, giving back the seq it took.
async fn replay(
    c: &impl Db,
    m: &NewMessage,
    earlier: Message,
    seq_taken: Option<u64>,
) -> Res<Posted> {
    if let Some(seq) = seq_taken {
        // Still this transaction's to give back: the row is locked.
        db::execute(
            c,
            "UPDATE channels SET last_seq = $2 WHERE id = $1",
            &[&m.channel_id.as_str(), &seq_param(seq.saturating_sub(1))],
        )
        .await?;
    }
    Ok(Posted {
        message: with_details(c, earlier).await?,
        event: None,
    })
}

/// A post's second round trip (more with files): its rows and its event, at
/// `seq`, following a message of hop `previous`.
pub(crate) async fn write(
    c: &impl Db,
    mut m: NewMessage,
    seq: u64,
    previous: Option<u32>,
) -> Res<Posted> {
    let hop = next_hop(m.author_kind, previous);
    files::check_attachable(c, &m.attachments, &m.channel_id, &m.author_id).await?;
    let files = std::mem::take(&mut m.attachments);
    let mut message = m.stored(seq, hop, Vec::new());
    let event = |message: &Message| {
        events::build(
            &message.channel_id,
            seq,
            EventKind::MessageCreated,
            &message.author_id,
            now(),
            payload::message_created(message),
        )
    };
    // Without files the event is known before any write, so it goes with them.
    let early = files.is_empty().then(|| event(&message));
    write_new(c, &message, early.as_ref()).await?;
    let event = match early {
        Some(event) => event,
        None => {
            // The files point at the message row, so they follow it.
            files::attach(c, &files, &message.id).await?;
            message.attachments = files::of_message(c, &message.id).await?;
            let event = event(&message);
            events::insert(c, &event).await?;
            event
        }
    };
    Ok(Posted {
        message,
        event: Some(event),
    })
}

/// The rows of a new message: the message, its thread root's reply count, the
/// author's read cursor (whoever writes has read the channel up to their own
/// message) and, when given, its event. None depends on another, so they go
/// to the server together: one round trip instead of four.
async fn write_new(c: &impl Db, message: &Message, event: Option<&Event>) -> Res<()> {
    let seq = seq_param(message.seq);
    let data = message
        .data
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    let mentions = serde_json::to_string(&message.mentions)?;
    let hop = i64::from(message.hop);
    let created_at = ms(message.created_at);
    let stream = message.stream.map(StreamStatus::as_str);
    let stream_updated_at = message.stream.map(|_| created_at);
    let (channel, author) = (message.channel_id.as_str(), message.author_id.as_str());
    let insert: [&(dyn ToSql + Sync); 13] = [
        &message.id.as_str(),
        &channel,
        &seq,
        &message.thread_id.as_ref().map(|t| t.as_str()),
        &author,
        &message.text,
        &data,
        &mentions,
        &message.client_msg_id,
        &hop,
        &created_at,
        &stream,
        &stream_updated_at,
    ];
    let read_params: [&(dyn ToSql + Sync); 3] = [&channel, &author, &seq];
    let (inserted, replied, read, logged) = tokio::join!(
        db::execute(
            c,
            "INSERT INTO messages (id, channel_id, seq, thread_id, author_id, text, data, mentions, client_msg_id, \
             hop, created_at, stream, stream_updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &insert,
        ),
        async {
            let Some(root) = &message.thread_id else {
                return Ok(0);
            };
            db::execute(
                c,
                "UPDATE messages SET reply_count = reply_count + 1, last_reply_at = $2, last_reply_seq = $3 WHERE id = $1",
                &[&root.as_str(), &created_at, &seq],
            )
            .await
        },
        db::execute(
            c,
            "UPDATE channel_members SET read_seq = $3 \
             WHERE channel_id = $1 AND principal_id = $2 AND read_seq < $3",
            &read_params,
        ),
        async {
            match event {
                Some(event) => events::insert(c, event).await,
                None => Ok(()),
            }
        },
    );
    db::first_failure([
        inserted.map(drop),
        replied.map(drop),
        read.map(drop),
        logged,
    ])
}

pub(crate) async fn edit(
    c: &impl Db,
    id: &MessageId,
    actor: &PrincipalId,
    edit: MessageEdit,
) -> Res<(Message, Event)> {
    let mut m = lock_live(c, id).await?;
    db::execute(
        c,
        "UPDATE messages SET text = $2, mentions = $3, edited_at = $4 WHERE id = $1",
        &[
            &id.as_str(),
            &edit.text,
            &serde_json::to_string(&edit.mentions)?,
            &ms(edit.edited_at),
        ],
    )
    .await?;
    m.text = edit.text;
    m.mentions = edit.mentions;
    m.edited_at = Some(edit.edited_at);
    let event = events::append(
        c,
        &m.channel_id,
        EventKind::MessageEdited,
        actor,
        payload::message_edited(&m),
    )
    .await?;
    Ok((with_details(c, m).await?, event))
}

/// Tombstones the message. The row stays so its seq and thread links hold; a
/// root's reply_count is left as is when a reply is deleted. An open stream is
/// closed as interrupted: nothing can finish it any more.
pub(crate) async fn delete(
    c: &impl Db,
    id: &MessageId,
    actor: &PrincipalId,
) -> Res<(Message, Event)> {
    let mut m = lock_live(c, id).await?;
    if m.stream == Some(StreamStatus::Open) {
        m.stream = Some(StreamStatus::Interrupted);
    }
    db::execute(
        c,
        "UPDATE messages SET text = '', data = NULL, mentions = $2, deleted = TRUE, stream = $3 WHERE id = $1",
        &[
            &id.as_str(),
            &serde_json::to_string(&Mentions::default())?,
            &m.stream.map(StreamStatus::as_str),
        ],
    )
    .await?;
    db::execute(
        c,
        "DELETE FROM reactions WHERE message_id = $1",
        &[&id.as_str()],
    )
    .await?;
    redact_log(c, &m).await?;
    m.text = String::new();
    m.data = None;
    m.mentions = Mentions::default();
    m.deleted = true;
    m.reactions = Vec::new();
    m.attachments = Vec::new();
    let event = events::append(
        c,
        &m.channel_id,
        EventKind::MessageDeleted,
        actor,
        payload::message_deleted(&m),
    )
    .await?;
    Ok((m, event))
}

/// A deleted message's words leave the log too, not just the read model: the
/// events that carried them (created, edited, deltas, finished) keep their
/// place and seq but lose the content (and the created event its attachments,
/// whose files are about to go), so a replay shows a deleted message.
async fn redact_log(c: &impl Db, m: &Message) -> Res<()> {
    let no_mentions = serde_json::to_string(&Mentions::default())?;
    db::execute(
        c,
        "UPDATE events SET payload = jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(payload::jsonb, \
           '{message,text}', '\"\"'), '{message,data}', 'null'), '{message,mentions}', $3::text::jsonb), \
           '{message,deleted}', 'true'), '{message,attachments}', '[]')::text \
         WHERE channel_id = $1 AND seq = $2",
        &[&m.channel_id.as_str(), &seq_param(m.seq), &no_mentions],
    )
    .await?;
    db::execute(
        c,
        "UPDATE events SET payload = (CASE kind \
           WHEN 'message.delta' THEN jsonb_set(payload::jsonb, '{delta}', '\"\"') \
           WHEN 'message.finished' THEN jsonb_set(payload::jsonb, '{text}', '\"\"') \
           ELSE jsonb_set(jsonb_set(payload::jsonb, '{text}', '\"\"'), '{mentions}', $3::text::jsonb) END)::text \
         WHERE channel_id = $1 AND kind IN ('message.edited', 'message.delta', 'message.finished') \
           AND payload::jsonb ->> 'message_id' = $2",
        &[&m.channel_id.as_str(), &m.id.as_str(), &no_mentions],
    )
    .await?;
    Ok(())
}

pub(crate) async fn query_messages(
    c: &impl Db,
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Res<Vec<Message>> {
    let bare = db::query_map(c, sql, args, rows::message).await?;
    let mut out = Vec::with_capacity(bare.len());
    for m in bare {
        out.push(with_details(c, m).await?);
    }
    Ok(out)
}

pub(crate) async fn list(c: &impl Db, channel: &ChannelId, page: MessagePage) -> Res<Vec<Message>> {
    let root = match &page.filter {
        ThreadFilter::TopLevel => None,
        ThreadFilter::Thread(root) => Some(root.as_str().to_owned()),
    };
    let thread_clause = if root.is_some() {
        "AND (id = $2 OR thread_id = $2)"
    } else {
        "AND thread_id IS NULL AND $2::text IS NULL"
    };
    // `after` pages forward from a point; otherwise the page is the newest
    // `limit` (before a point, if given), flipped to oldest-first below.
    let (bound, order, point, newest_first) = match (page.after, page.before) {
        (Some(after), _) => ("AND seq > $3", "ASC", seq_param(after), false),
        (None, Some(before)) => ("AND seq < $3", "DESC", seq_param(before), true),
        (None, None) => ("AND $3::bigint IS NOT NULL", "DESC", 0, true),
    };
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE channel_id = $1 {thread_clause} {bound} \
         ORDER BY seq {order} LIMIT $4"
    );
    let mut messages = query_messages(
        c,
        &sql,
        &[&channel.as_str(), &root, &point, &i64::from(page.limit)],
    )
    .await?;
    if newest_first {
        messages.reverse();
    }
    Ok(messages)
}

pub(crate) async fn list_threads(
    c: &impl Db,
    channel: &ChannelId,
    limit: u32,
) -> Res<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE channel_id = $1 AND thread_id IS NULL \
         AND last_reply_seq IS NOT NULL ORDER BY last_reply_seq DESC LIMIT $2"
    );
    query_messages(c, &sql, &[&channel.as_str(), &i64::from(limit)]).await
}

/// Whether `principal` wrote the thread's root or any reply in it (deleted
/// ones included: it took part all the same).
pub(crate) async fn took_part_in_thread(
    c: &impl Db,
    principal: &PrincipalId,
    root: &MessageId,
) -> Res<bool> {
    Ok(db::query_one(
        c,
        "SELECT EXISTS (SELECT 1 FROM messages WHERE id = $2 AND thread_id IS NULL AND author_id = $1) \
         OR EXISTS (SELECT 1 FROM messages WHERE thread_id = $2 AND author_id = $1)",
        &[&principal.as_str(), &root.as_str()],
    )
    .await?
    .try_get(0)?)
}
