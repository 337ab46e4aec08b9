//! group.md review mode: the per-channel mode and proposals, each change with
//! its events in the same transaction. Proposals and resolutions of one
//! document take the document's lock, so they take turns with its writers.

use crate::db::{self, Db};
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
use tokio_postgres::Row;

const COLS: &str = "id, channel_id, thread_id, base_revision, text, summary, diff, author_id, \
                    created_at, status, resolved_by, resolved_at, revision";

async fn channel_exists(c: &impl Db, channel: &ChannelId) -> Res<bool> {
    Ok(db::query_opt(
        c,
        "SELECT 1 FROM channels WHERE id = $1",
        &[&channel.as_str()],
    )
    .await?
    .is_some())
}

pub(crate) async fn mode(c: &impl Db, channel: &ChannelId) -> Res<GroupmdMode> {
    if !channel_exists(c, channel).await? {
        return Err(StoreError::NotFound.into());
    }
    let stored = db::query_opt(
        c,
        "SELECT mode FROM groupmd_settings WHERE channel_id = $1",
        &[&channel.as_str()],
    )
    .await?;
    match stored {
        None => Ok(GroupmdMode::default()),
        Some(row) => {
            let s: String = row.try_get(0)?;
            GroupmdMode::parse(&s).ok_or_else(|| corrupt("group.md mode", &s))
        }
    }
}

pub(crate) async fn set_mode(
    c: &impl Db,
    channel: &ChannelId,
    mode: GroupmdMode,
    actor: &PrincipalId,
) -> Res<()> {
    if !channel_exists(c, channel).await? {
        return Err(StoreError::NotFound.into());
    }
    db::execute(
        c,
        "INSERT INTO groupmd_settings (channel_id, mode, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id) DO UPDATE SET \
         mode = excluded.mode, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        &[
            &channel.as_str(),
            &mode.as_str(),
            &actor.as_str(),
            &ms(now()),
        ],
    )
    .await?;
    Ok(())
}

fn opt_time(r: &Row, idx: usize) -> Res<Option<chrono::DateTime<chrono::Utc>>> {
    Ok(r.try_get::<_, Option<i64>>(idx)?
        .and_then(DateTime::from_timestamp_millis))
}

fn row(r: &Row) -> Res<GroupmdProposal> {
    let thread: String = r.try_get(2)?;
    let status: String = r.try_get(9)?;
    Ok(GroupmdProposal {
        id: ProposalId::from_string(r.try_get::<_, String>(0)?),
        channel_id: ChannelId::from_string(r.try_get::<_, String>(1)?),
        thread_root_id: (!thread.is_empty()).then(|| MessageId::from_string(thread)),
        base_revision: crate::rows::u64_at(r, 3)?,
        text: r.try_get(4)?,
        summary: r.try_get(5)?,
        diff: r.try_get(6)?,
        author_id: PrincipalId::from_string(r.try_get::<_, String>(7)?),
        created_at: opt_time(r, 8)?.unwrap_or_default(),
        status: ProposalStatus::parse(&status)
            .ok_or_else(|| corrupt("proposal status", &status))?,
        resolved_by: r
            .try_get::<_, Option<String>>(10)?
            .map(PrincipalId::from_string),
        resolved_at: opt_time(r, 11)?,
        revision: r
            .try_get::<_, Option<i64>>(12)?
            .and_then(|n| u64::try_from(n).ok()),
    })
}

pub(crate) async fn get(c: &impl Db, id: &ProposalId) -> Res<Option<GroupmdProposal>> {
    let sql = format!("SELECT {COLS} FROM groupmd_proposals WHERE id = $1");
    db::query_opt_map(c, &sql, &[&id.as_str()], row).await
}

pub(crate) async fn list(
    c: &impl Db,
    scope: &GroupmdScope,
    status: Option<ProposalStatus>,
    limit: u32,
) -> Res<Vec<GroupmdProposal>> {
    let sql = format!(
        "SELECT {COLS} FROM groupmd_proposals WHERE channel_id = $1 AND thread_id = $2 \
         AND ($3::TEXT IS NULL OR status = $3) ORDER BY created_at DESC, id DESC LIMIT $4"
    );
    db::query_map(
        c,
        &sql,
        &[
            &scope.channel.as_str(),
            &thread_key(scope),
            &status.map(ProposalStatus::as_str),
            &i64::from(limit),
        ],
        row,
    )
    .await
}

async fn mark(c: &impl Db, p: &GroupmdProposal) -> Res<()> {
    db::execute(
        c,
        "UPDATE groupmd_proposals SET status = $2, resolved_by = $3, resolved_at = $4, \
         revision = $5 WHERE id = $1",
        &[
            &p.id.as_str(),
            &p.status.as_str(),
            &p.resolved_by.as_ref().map(PrincipalId::as_str),
            &p.resolved_at.map(ms),
            &p.revision.map(seq_param),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn propose(c: &impl Db, n: NewGroupmdProposal) -> Res<Proposed> {
    groupmd::lock_scope(c, &n.scope).await?;
    groupmd::check_scope(c, &n.scope).await?;
    let sql = format!(
        "SELECT {COLS} FROM groupmd_proposals WHERE channel_id = $1 AND thread_id = $2 \
         AND author_id = $3 AND status = 'pending' ORDER BY created_at, id"
    );
    let older = db::query_map(
        c,
        &sql,
        &[
            &n.scope.channel.as_str(),
            &thread_key(&n.scope),
            &n.author.as_str(),
        ],
        row,
    )
    .await?;
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
        mark(c, &old).await?;
        appended.push(
            events::append(
                c,
                &old.channel_id,
                EventKind::GroupmdProposalResolved,
                &n.author,
                proposal_payload::resolved(&old),
            )
            .await?,
        );
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
    db::execute(
        c,
        "INSERT INTO groupmd_proposals (id, channel_id, thread_id, base_revision, text, summary, \
         diff, author_id, created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')",
        &[
            &proposal.id.as_str(),
            &proposal.channel_id.as_str(),
            &thread_key(&n.scope),
            &seq_param(proposal.base_revision),
            &proposal.text,
            &proposal.summary,
            &proposal.diff,
            &proposal.author_id.as_str(),
            &ms(at),
        ],
    )
    .await?;
    appended.push(
        events::append(
            c,
            &proposal.channel_id,
            EventKind::GroupmdProposed,
            &proposal.author_id,
            proposal_payload::proposed(&proposal),
        )
        .await?,
    );
    Ok(Proposed {
        proposal,
        created: true,
        events: appended,
    })
}

pub(crate) async fn resolve(c: &impl Db, r: ProposalResolution) -> Res<Resolved> {
    let first = get(c, &r.proposal).await?.ok_or(StoreError::NotFound)?;
    let scope = GroupmdScope {
        channel: first.channel_id.clone(),
        thread: first.thread_root_id.clone(),
    };
    // Read again under the document's lock: a concurrent resolution has
    // either committed by now or waits for us.
    groupmd::lock_scope(c, &scope).await?;
    let mut p = get(c, &r.proposal).await?.ok_or(StoreError::NotFound)?;
    if p.status != ProposalStatus::Pending {
        return Err(StoreError::Conflict(format!("the proposal is already {}", p.status)).into());
    }
    let mut appended = Vec::new();
    let revision = match r.outcome {
        ProposalOutcome::Accept(new) => {
            if new.scope != scope {
                return Err(StoreError::Conflict(
                    "the revision is not for the proposal's document".into(),
                )
                .into());
            }
            let stored = groupmd::insert(c, new).await?;
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
    mark(c, &p).await?;
    if let Some(stored) = &revision {
        appended.push(
            events::append(
                c,
                &p.channel_id,
                EventKind::GroupmdUpdated,
                &r.resolver,
                proposal_payload::accepted(stored, &p),
            )
            .await?,
        );
    }
    appended.push(
        events::append(
            c,
            &p.channel_id,
            EventKind::GroupmdProposalResolved,
            &r.resolver,
            proposal_payload::resolved(&p),
        )
        .await?,
    );
    Ok(Resolved {
        proposal: p,
        revision,
        events: appended,
    })
}
