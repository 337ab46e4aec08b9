//! group.md revisions: compare-and-swap on the latest revision, with the
//! `groupmd.updated` event in the same transaction.

use crate::error::Res;
use crate::events;
use crate::rows::{ms, seq_param};
use chrono::DateTime;
use octo_core::*;
use octo_store::{GroupmdRevision, GroupmdScope, NewGroupmdRevision, StoreError, now, payload};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLS: &str = "revision, base_revision, author_id, created_at, text, diff";

pub(crate) fn thread_key(scope: &GroupmdScope) -> &str {
    scope.thread.as_ref().map_or("", |t| t.as_str())
}

fn row(scope: &GroupmdScope, r: &Row) -> rusqlite::Result<GroupmdRevision> {
    let revision: i64 = r.get(0)?;
    let base: i64 = r.get(1)?;
    let at: i64 = r.get(3)?;
    Ok(GroupmdRevision {
        scope: scope.clone(),
        revision: u64::try_from(revision).unwrap_or_default(),
        base_revision: u64::try_from(base).unwrap_or_default(),
        author: PrincipalId::from_string(r.get::<_, String>(2)?),
        created_at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
        text: r.get(4)?,
        diff: r.get(5)?,
    })
}

pub(crate) fn latest(conn: &Connection, scope: &GroupmdScope) -> Res<u64> {
    let n: Option<i64> = conn
        .prepare_cached(
            "SELECT MAX(revision) FROM groupmd_revisions WHERE channel_id = ?1 AND thread_id = ?2",
        )?
        .query_row(params![scope.channel.as_str(), thread_key(scope)], |r| {
            r.get(0)
        })?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

pub(crate) fn put(conn: &Connection, r: NewGroupmdRevision) -> Res<(GroupmdRevision, Event)> {
    let stored = insert(conn, r)?;
    let event = events::append(
        conn,
        &stored.scope.channel,
        EventKind::GroupmdUpdated,
        &stored.author,
        payload::groupmd_updated(&stored),
    )?;
    Ok((stored, event))
}

/// Checks the scope and the base, then stores the revision (no event: the
/// caller appends the one that fits).
pub(crate) fn insert(conn: &Connection, r: NewGroupmdRevision) -> Res<GroupmdRevision> {
    check_scope(conn, &r.scope)?;
    let current = latest(conn, &r.scope)?;
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
    conn.prepare_cached(
        "INSERT INTO groupmd_revisions (channel_id, thread_id, revision, base_revision, author_id, \
         created_at, text, diff) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        stored.scope.channel.as_str(),
        thread_key(&stored.scope),
        seq_param(stored.revision),
        seq_param(stored.base_revision),
        stored.author.as_str(),
        ms(stored.created_at),
        stored.text,
        stored.diff,
    ])?;
    Ok(stored)
}

/// NotFound unless the channel exists (and the thread's root is one of its
/// root messages).
pub(crate) fn check_scope(conn: &Connection, scope: &GroupmdScope) -> Res<()> {
    let channel_exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM channels WHERE id = ?1)")?
        .query_row([scope.channel.as_str()], |row| row.get(0))?;
    if !channel_exists {
        return Err(StoreError::NotFound.into());
    }
    if let Some(thread) = &scope.thread {
        let root: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND channel_id = ?2 \
                 AND thread_id IS NULL)",
            )?
            .query_row(params![thread.as_str(), scope.channel.as_str()], |row| {
                row.get(0)
            })?;
        if !root {
            return Err(StoreError::NotFound.into());
        }
    }
    Ok(())
}

pub(crate) fn get(
    conn: &Connection,
    scope: &GroupmdScope,
    revision: Option<u64>,
) -> Res<Option<GroupmdRevision>> {
    let revision = match revision {
        Some(n) => n,
        None => latest(conn, scope)?,
    };
    let sql = format!(
        "SELECT {COLS} FROM groupmd_revisions WHERE channel_id = ?1 AND thread_id = ?2 AND revision = ?3"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![
                scope.channel.as_str(),
                thread_key(scope),
                seq_param(revision)
            ],
            |r| row(scope, r),
        )
        .optional()?)
}

pub(crate) fn list(conn: &Connection, scope: &GroupmdScope) -> Res<Vec<GroupmdRevision>> {
    let sql = format!(
        "SELECT {COLS} FROM groupmd_revisions WHERE channel_id = ?1 AND thread_id = ?2 ORDER BY revision"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![scope.channel.as_str(), thread_key(scope)], |r| {
        row(scope, r)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
