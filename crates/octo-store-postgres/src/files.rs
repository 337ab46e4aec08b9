//! Uploaded files: recorded on upload, taken by one message when it is sent,
//! forgotten with the message.

use crate::db::{self, Db};
use crate::error::Res;
use crate::rows::{self, FILE_COLS, ms, prefixed};
use octo_core::model::*;
use octo_core::*;
use octo_store::StoreError;

/// Records the file; its org is its channel's. NotFound if the channel (or the
/// uploader) does not exist.
pub(crate) async fn create(c: &impl Db, f: Attachment) -> Res<Attachment> {
    let size = i64::try_from(f.size)
        .map_err(|_| StoreError::Conflict(format!("the file is too large ({} bytes)", f.size)))?;
    let inserted = db::execute(
        c,
        "INSERT INTO files (id, org_id, channel_id, uploader_id, name, content_type, size, sha256, \
         message_id, created_at) \
         SELECT $1, org_id, id, $3, $4, $5, $6, $7, $8, $9 FROM channels WHERE id = $2",
        &[
            &f.id,
            &f.channel_id.as_str(),
            &f.uploader_id.as_str(),
            &f.name,
            &f.content_type,
            &size,
            &f.sha256,
            &f.message_id.as_ref().map(|m| m.as_str()),
            &ms(f.created_at),
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(f)
}

pub(crate) async fn get(c: &impl Db, id: &str) -> Res<Option<Attachment>> {
    let sql = format!("SELECT {FILE_COLS} FROM files WHERE id = $1");
    db::query_opt_map(c, &sql, &[&id], rows::file).await
}

/// A message's files in upload order.
pub(crate) async fn of_message(c: &impl Db, message: &MessageId) -> Res<Vec<Attachment>> {
    let sql =
        format!("SELECT {FILE_COLS} FROM files WHERE message_id = $1 ORDER BY created_at, pos");
    db::query_map(c, &sql, &[&message.as_str()], rows::file).await
}

/// Whether a message by `author` in `channel` may take these files: each must
/// exist, have been uploaded into that channel by the author, and belong to no
/// message yet. Conflict naming the first file that fails. Called with the
/// channel locked, so two posts cannot both take one file.
pub(crate) async fn check_attachable(
    c: &impl Db,
    ids: &[String],
    channel: &ChannelId,
    author: &PrincipalId,
) -> Res<()> {
    for id in ids {
        let file = get(c, id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("there is no file {id}")))?;
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
pub(crate) async fn attach(c: &impl Db, ids: &[String], message: &MessageId) -> Res<()> {
    if ids.is_empty() {
        return Ok(());
    }
    db::execute(
        c,
        "UPDATE files SET message_id = $2 WHERE id = ANY($1)",
        &[&ids, &message.as_str()],
    )
    .await?;
    Ok(())
}

/// The channel's files that are not yet sent or belong to a live message,
/// newest first.
pub(crate) async fn list(c: &impl Db, channel: &ChannelId, limit: u32) -> Res<Vec<Attachment>> {
    let cols = prefixed("f", FILE_COLS);
    let sql = format!(
        "SELECT {cols} FROM files f LEFT JOIN messages m ON m.id = f.message_id \
         WHERE f.channel_id = $1 AND (f.message_id IS NULL OR NOT m.deleted) \
         ORDER BY f.created_at DESC, f.pos DESC LIMIT $2"
    );
    db::query_map(c, &sql, &[&channel.as_str(), &i64::from(limit)], rows::file).await
}

/// Removes the message's file rows and returns them (in upload order).
pub(crate) async fn delete_of(c: &impl Db, message: &MessageId) -> Res<Vec<Attachment>> {
    let files = of_message(c, message).await?;
    db::execute(
        c,
        "DELETE FROM files WHERE message_id = $1",
        &[&message.as_str()],
    )
    .await?;
    Ok(files)
}
