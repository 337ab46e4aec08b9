//! group.md revisions: compare-and-swap on the latest revision, with the
//! `groupmd.updated` event in the same transaction.

use crate::db::{self, Db};
use crate::error::Res;
use crate::events;
use crate::rows::{ms, seq_param, u64_at};
use chrono::DateTime;
use octo_core::*;
use octo_store::{GroupmdRevision, GroupmdScope, NewGroupmdRevision, StoreError, now, payload};
use tokio_postgres::Row;

const COLS: &str = "revision, base_revision, author_id, created_at, text, diff";

/// '' stands for the channel's own document, so one primary key covers both.
pub(crate) fn thread_key(scope: &GroupmdScope) -> &str {
    scope.thread.as_ref().map_or("", |t| t.as_str())
}

fn row(scope: &GroupmdScope, r: &Row) -> Res<GroupmdRevision> {
    let at: i64 = r.try_get(3)?;
    Ok(GroupmdRevision {
        scope: scope.clone(),
        revision: u64_at(r, 0)?,
        base_revision: u64_at(r, 1)?,
        author: PrincipalId::from_string(r.try_get::<_, String>(2)?),
        created_at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
        text: r.try_get(4)?,
        diff: r.try_get(5)?,
    })
}

async fn latest(c: &impl Db, scope: &GroupmdScope) -> Res<u64> {
    let row = db::query_one(
        c,
        "SELECT COALESCE(MAX(revision), 0) FROM groupmd_revisions WHERE channel_id = $1 AND thread_id = $2",
        &[&scope.channel.as_str(), &thread_key(scope)],
    )
    .await?;
    u64_at(&row, 0)
}

pub(crate) async fn put(c: &impl Db, r: NewGroupmdRevision) -> Res<(GroupmdRevision, Event)> {
    let stored = insert(c, r).await?;
    let event = events::append(
        c,
        &stored.scope.channel,
        EventKind::GroupmdUpdated,
        &stored.author,
        payload::groupmd_updated(&stored),
    )
    .await?;
    Ok((stored, event))
}

/// Holds the scope's lock until commit: writers (and proposal resolutions)
/// of one document take turns, on any node.
pub(crate) async fn lock_scope(c: &impl Db, scope: &GroupmdScope) -> Res<()> {
    db::lock(
        c,
        &format!("groupmd:{}:{}", scope.channel.as_str(), thread_key(scope)),
    )
    .await
}

/// Checks the scope and the base, then stores the revision (no event: the
/// caller appends the one that fits).
pub(crate) async fn insert(c: &impl Db, r: NewGroupmdRevision) -> Res<GroupmdRevision> {
    // Writers on other nodes with the same base wait here; the loser then sees
    // the winner's revision and gets the conflict, not a key violation.
    lock_scope(c, &r.scope).await?;
    check_scope(c, &r.scope).await?;
    let current = latest(c, &r.scope).await?;
    if r.base_revision != current {
        return Err(StoreError::Conflict(format!(
            "group.md is at revision {current}, not {}",
            r.base_revision
        ))
        .into());
    }
    let stored = GroupmdRevision {
        revision: current + 1,
        base_revision: current,
        created_at: now(),
        scope: r.scope,
        author: r.author,
        text: r.text,
        diff: r.diff,
    };
    db::execute(
        c,
        "INSERT INTO groupmd_revisions (channel_id, thread_id, revision, base_revision, author_id, \
         created_at, text, diff) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &stored.scope.channel.as_str(),
            &thread_key(&stored.scope),
            &seq_param(stored.revision),
            &seq_param(stored.base_revision),
            &stored.author.as_str(),
            &ms(stored.created_at),
            &stored.text,
            &stored.diff,
        ],
    )
    .await?;
    Ok(stored)
}

/// NotFound unless the channel exists (and the thread's root is one of its
/// root messages).
pub(crate) async fn check_scope(c: &impl Db, scope: &GroupmdScope) -> Res<()> {
    let channel = db::query_opt(
        c,
        "SELECT 1 FROM channels WHERE id = $1",
        &[&scope.channel.as_str()],
    )
    .await?;
    if channel.is_none() {
        return Err(StoreError::NotFound.into());
    }
    if let Some(thread) = &scope.thread {
        let root = db::query_opt(
            c,
            "SELECT 1 FROM messages WHERE id = $1 AND channel_id = $2 AND thread_id IS NULL",
            &[&thread.as_str(), &scope.channel.as_str()],
        )
        .await?;
        if root.is_none() {
            return Err(StoreError::NotFound.into());
        }
    }
    Ok(())
}

pub(crate) async fn get(
    c: &impl Db,
    scope: &GroupmdScope,
    revision: Option<u64>,
) -> Res<Option<GroupmdRevision>> {
    let revision = match revision {
        Some(n) => n,
        None => latest(c, scope).await?,
    };
    let sql = format!(
        "SELECT {COLS} FROM groupmd_revisions WHERE channel_id = $1 AND thread_id = $2 AND revision = $3"
    );
    let found = db::query_opt(
        c,
        &sql,
        &[
            &scope.channel.as_str(),
            &thread_key(scope),
            &seq_param(revision),
        ],
    )
    .await?;
    found.as_ref().map(|r| row(scope, r)).transpose()
}

pub(crate) async fn list(c: &impl Db, scope: &GroupmdScope) -> Res<Vec<GroupmdRevision>> {
    let sql = format!(
        "SELECT {COLS} FROM groupmd_revisions WHERE channel_id = $1 AND thread_id = $2 ORDER BY revision"
    );
    db::query(c, &sql, &[&scope.channel.as_str(), &thread_key(scope)])
        .await?
        .iter()
        .map(|r| row(scope, r))
        .collect()
}
