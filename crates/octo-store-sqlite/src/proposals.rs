//! group.md review mode: the per-channel mode and proposals, each change with
//! its events in the same transaction.

use crate::error::{Res, corrupt};
use crate::events;
use crate::groupmd::{self, thread_key};
use crate::rows::{ms, seq_param};
use chrono::DateTime;
use octo_core::groupmd::{GroupmdMode, GroupmdProposal, ProposalStatus};
use octo_core::*;
use octo_store::{
    GroupmdScope, NewGroupmdProposal, ProposalOutcome, ProposalResolution, Proposed, Resolved,
    StoreError, now, proposal_payload,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLS: &str = "id, channel_id, thread_id, base_revision, text, summary, diff, author_id, \
                    created_at, status, resolved_by, resolved_at, revision";

fn channel_exists(conn: &Connection, channel: &ChannelId) -> Res<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM channels WHERE id = ?1)")?
        .query_row([channel.as_str()], |row| row.get(0))?)
}

pub(crate) fn mode(conn: &Connection, channel: &ChannelId) -> Res<GroupmdMode> {
    if !channel_exists(conn, channel)? {
        return Err(StoreError::NotFound.into());
    }
    let stored: Option<String> = conn
        .prepare_cached("SELECT mode FROM groupmd_settings WHERE channel_id = ?1")?
        .query_row([channel.as_str()], |r| r.get(0))
        .optional()?;
    match stored {
        None => Ok(GroupmdMode::default()),
        Some(s) => GroupmdMode::parse(&s).ok_or_else(|| corrupt("group.md mode", &s)),
    }
}

pub(crate) fn set_mode(
    conn: &Connection,
    channel: &ChannelId,
    mode: GroupmdMode,
    actor: &PrincipalId,
) -> Res<()> {
    if !channel_exists(conn, channel)? {
        return Err(StoreError::NotFound.into());
    }
    conn.prepare_cached(
        "INSERT INTO groupmd_settings (channel_id, mode, updated_by, updated_at) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (channel_id) DO UPDATE SET \
         mode = excluded.mode, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )?
    .execute(params![
        channel.as_str(),
        mode.as_str(),
        actor.as_str(),
        ms(now())
    ])?;
    Ok(())
}

fn time_at(r: &Row, idx: usize) -> rusqlite::Result<Option<chrono::DateTime<chrono::Utc>>> {
    Ok(r.get::<_, Option<i64>>(idx)?
        .and_then(DateTime::from_timestamp_millis))
}

fn row(r: &Row) -> rusqlite::Result<(GroupmdProposal, String)> {
    let thread: String = r.get(2)?;
    let status: String = r.get(9)?;
    let proposal = GroupmdProposal {
        id: ProposalId::from_string(r.get::<_, String>(0)?),
        channel_id: ChannelId::from_string(r.get::<_, String>(1)?),
        thread_root_id: (!thread.is_empty()).then(|| MessageId::from_string(thread)),
        base_revision: u64::try_from(r.get::<_, i64>(3)?).unwrap_or_default(),
        text: r.get(4)?,
        summary: r.get(5)?,
        diff: r.get(6)?,
        author_id: PrincipalId::from_string(r.get::<_, String>(7)?),
        created_at: time_at(r, 8)?.unwrap_or_default(),
        // Checked by the caller, which can say what it found.
        status: ProposalStatus::parse(&status).unwrap_or(ProposalStatus::Pending),
        resolved_by: r
            .get::<_, Option<String>>(10)?
            .map(PrincipalId::from_string),
        resolved_at: time_at(r, 11)?,
        revision: r
            .get::<_, Option<i64>>(12)?
            .and_then(|n| u64::try_from(n).ok()),
    };
    Ok((proposal, status))
}

fn checked(found: (GroupmdProposal, String)) -> Res<GroupmdProposal> {
    let (p, status) = found;
    match ProposalStatus::parse(&status) {
        Some(_) => Ok(p),
        None => Err(corrupt("proposal status", &status)),
    }
}

pub(crate) fn get(conn: &Connection, id: &ProposalId) -> Res<Option<GroupmdProposal>> {
    let sql = format!("SELECT {COLS} FROM groupmd_proposals WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id.as_str()], row)
        .optional()?
        .map(checked)
        .transpose()
}

pub(crate) fn list(
    conn: &Connection,
    scope: &GroupmdScope,
    status: Option<ProposalStatus>,
    limit: u32,
) -> Res<Vec<GroupmdProposal>> {
    let sql = format!(
        "SELECT {COLS} FROM groupmd_proposals WHERE channel_id = ?1 AND thread_id = ?2 \
         AND (?3 IS NULL OR status = ?3) ORDER BY created_at DESC, id DESC LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            scope.channel.as_str(),
            thread_key(scope),
            status.map(ProposalStatus::as_str),
            i64::from(limit)
        ],
        row,
    )?;
    rows.map(|r| checked(r?)).collect()
}

fn mark(conn: &Connection, p: &GroupmdProposal) -> Res<()> {
    conn.prepare_cached(
        "UPDATE groupmd_proposals SET status = ?2, resolved_by = ?3, resolved_at = ?4, \
         revision = ?5 WHERE id = ?1",
    )?
    .execute(params![
        p.id.as_str(),
        p.status.as_str(),
        p.resolved_by.as_ref().map(PrincipalId::as_str),
        p.resolved_at.map(ms),
        p.revision.map(seq_param),
    ])?;
    Ok(())
}

pub(crate) fn propose(conn: &Connection, n: NewGroupmdProposal) -> Res<Proposed> {
    groupmd::check_scope(conn, &n.scope)?;
    let sql = format!(
        "SELECT {COLS} FROM groupmd_proposals WHERE channel_id = ?1 AND thread_id = ?2 \
         AND author_id = ?3 AND status = 'pending' ORDER BY created_at, id"
    );
    let older: Vec<GroupmdProposal> = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                n.scope.channel.as_str(),
                thread_key(&n.scope),
                n.author.as_str()
            ],
            row,
        )?
        .map(|r| checked(r?))
        .collect::<Res<_>>()?;
    if let Some(same) = older.iter().find(|p| p.text == n.text) {
        return Ok(Proposed {
            proposal: same.clone(),
            created: false,
            events: Vec::new(),
        });
    }
    let at = now();
    let mut appended = Vec::new();
    for mut old in older {
        old.status = ProposalStatus::Superseded;
        old.resolved_by = Some(n.author.clone());
        old.resolved_at = Some(at);
        mark(conn, &old)?;
        appended.push(events::append(
            conn,
            &old.channel_id,
            EventKind::GroupmdProposalResolved,
            &n.author,
            proposal_payload::resolved(&old),
        )?);
    }
    let proposal = GroupmdProposal {
        id: n.id,
        channel_id: n.scope.channel.clone(),
        thread_root_id: n.scope.thread.clone(),
        base_revision: n.base_revision,
        text: n.text,
        summary: n.summary,
        diff: n.diff,
        author_id: n.author,
        created_at: at,
        status: ProposalStatus::Pending,
        resolved_by: None,
        resolved_at: None,
        revision: None,
    };
    conn.prepare_cached(
        "INSERT INTO groupmd_proposals (id, channel_id, thread_id, base_revision, text, summary, \
         diff, author_id, created_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
    )?
    .execute(params![
        proposal.id.as_str(),
        proposal.channel_id.as_str(),
        thread_key(&n.scope),
        seq_param(proposal.base_revision),
        proposal.text,
        proposal.summary,
        proposal.diff,
        proposal.author_id.as_str(),
        ms(at),
    ])?;
    appended.push(events::append(
        conn,
        &proposal.channel_id,
        EventKind::GroupmdProposed,
        &proposal.author_id,
        proposal_payload::proposed(&proposal),
    )?);
    Ok(Proposed {
        proposal,
        created: true,
        events: appended,
    })
}

pub(crate) fn resolve(conn: &Connection, r: ProposalResolution) -> Res<Resolved> {
    let mut p = get(conn, &r.proposal)?.ok_or(StoreError::NotFound)?;
    if p.status != ProposalStatus::Pending {
        return Err(StoreError::Conflict(format!("the proposal is already {}", p.status)).into());
    }
    let scope = GroupmdScope {
        channel: p.channel_id.clone(),
        thread: p.thread_root_id.clone(),
    };
    let mut appended = Vec::new();
    let revision = match r.outcome {
        ProposalOutcome::Accept(new) => {
            if new.scope != scope {
                return Err(StoreError::Conflict(
                    "the revision is not for the proposal's document".into(),
                )
                .into());
            }
            let stored = groupmd::insert(conn, new)?;
            p.status = ProposalStatus::Accepted;
            p.revision = Some(stored.revision);
            Some(stored)
        }
        ProposalOutcome::Reject => {
            p.status = ProposalStatus::Rejected;
            None
        }
    };
    p.resolved_by = Some(r.resolver.clone());
    p.resolved_at = Some(now());
    mark(conn, &p)?;
    if let Some(stored) = &revision {
        appended.push(events::append(
            conn,
            &p.channel_id,
            EventKind::GroupmdUpdated,
            &r.resolver,
            proposal_payload::accepted(stored, &p),
        )?);
    }
    appended.push(events::append(
        conn,
        &p.channel_id,
        EventKind::GroupmdProposalResolved,
        &r.resolver,
        proposal_payload::resolved(&p),
    )?);
    Ok(Resolved {
        proposal: p,
        revision,
        events: appended,
    })
}
