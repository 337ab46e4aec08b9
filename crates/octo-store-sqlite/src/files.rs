//! Uploaded files: recorded on upload, taken by one message when it is sent,
//! forgotten with the message.

use crate::error::Res;
use crate::rows::{self, FILE_COLS, ms};
use octo_core::model::*;
use octo_core::*;
use octo_store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

/// Records the file; its org is its channel's. NotFound if the channel (or the
/// uploader) does not exist.
pub(crate) fn create(conn: &Connection, f: Attachment) -> Res<Attachment> {
    let size = i64::try_from(f.size)
        .map_err(|_| StoreError::Conflict(format!("the file is too large ({} bytes)", f.size)))?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO files (id, org_id, channel_id, uploader_id, name, content_type, size, sha256, \
             message_id, created_at) \
             SELECT ?1, org_id, id, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM channels WHERE id = ?2",
        )?
        .execute(params![
            f.id,
            f.channel_id.as_str(),
            f.uploader_id.as_str(),
            f.name,
            f.content_type,
            size,
            f.sha256,
            f.message_id.as_ref().map(|m| m.as_str()),
            ms(f.created_at),
        ])?;
    if inserted == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(f)
}

pub(crate) fn get(conn: &Connection, id: &str) -> Res<Option<Attachment>> {
    let sql = format!("SELECT {FILE_COLS} FROM files WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], rows::file)
        .optional()?)
}

/// A message's files in upload order.
pub(crate) fn of_message(conn: &Connection, message: &MessageId) -> Res<Vec<Attachment>> {
    let sql =
        format!("SELECT {FILE_COLS} FROM files WHERE message_id = ?1 ORDER BY created_at, rowid");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([message.as_str()], rows::file)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// [`of_message`] for many messages in one query; `ids` is a JSON array of ids.
pub(crate) fn of_messages(
    conn: &Connection,
    ids: &str,
) -> Res<std::collections::HashMap<String, Vec<Attachment>>> {
    let sql = format!(
        "SELECT {FILE_COLS} FROM files WHERE message_id IN (SELECT value FROM json_each(?1)) \
         ORDER BY created_at, rowid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([ids], rows::file)?;
    let mut out: std::collections::HashMap<String, Vec<Attachment>> = Default::default();
    for file in rows {
        let file = file?;
        if let Some(m) = &file.message_id {
            out.entry(m.as_str().to_owned()).or_default().push(file);
        }
    }
    Ok(out)
}

/// Whether a message by `author` in `channel` may take these files: each must
/// exist, have been uploaded into that channel by the author, and belong to no
/// message yet. Conflict naming the first file that fails.
pub(crate) fn check_attachable(
    conn: &Connection,
    ids: &[String],
    channel: &ChannelId,
    author: &PrincipalId,
) -> Res<()> {
    for id in ids {
        let file =
            get(conn, id)?.ok_or_else(|| StoreError::Conflict(format!("there is no file {id}")))?;
        let refusal = if file.channel_id != *channel {
            Some("was uploaded into another channel")
        } else if file.uploader_id != *author {
            Some("was uploaded by someone else")
        } else if file.message_id.is_some() {
            Some("is already attached to a message")
        } else {
            None
        };
        if let Some(why) = refusal {
            return Err(StoreError::Conflict(format!("the file {id} {why}")).into());
        }
    }
    Ok(())
}

/// Gives checked files (see [`check_attachable`]) to the message; a file listed
/// twice is taken once.
pub(crate) fn attach(conn: &Connection, ids: &[String], message: &MessageId) -> Res<()> {
    let mut stmt = conn.prepare_cached("UPDATE files SET message_id = ?2 WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id, message.as_str()])?;
    }
    Ok(())
}

/// The channel's files that are not yet sent or belong to a live message,
/// newest first.
pub(crate) fn list(conn: &Connection, channel: &ChannelId, limit: u32) -> Res<Vec<Attachment>> {
    let cols = prefixed("f", FILE_COLS);
    let sql = format!(
        "SELECT {cols} FROM files f LEFT JOIN messages m ON m.id = f.message_id \
         WHERE f.channel_id = ?1 AND (f.message_id IS NULL OR m.deleted = 0) \
         ORDER BY f.created_at DESC, f.rowid DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![channel.as_str(), i64::from(limit)], rows::file)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes the message's file rows and returns them (in upload order).
pub(crate) fn delete_of(conn: &Connection, message: &MessageId) -> Res<Vec<Attachment>> {
    let files = of_message(conn, message)?;
    conn.prepare_cached("DELETE FROM files WHERE message_id = ?1")?
        .execute([message.as_str()])?;
    Ok(files)
}

/// `cols` with every column qualified by `table`, for joins.
fn prefixed(table: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
