//! Conformance of group.md review mode: the channel's mode, proposals, and
//! their resolution (accept stores a revision, reject does not; once only).

use super::{World, assert_conflict, assert_not_found, channel, msg, post, reply, world};
use crate::*;
use octo_core::groupmd::{GroupmdMode, ProposalStatus};
use octo_core::model::*;
use octo_core::*;
use std::sync::Arc;

fn scope_of(c: &Channel) -> GroupmdScope {
    GroupmdScope {
        channel: c.id.clone(),
        thread: None,
    }
}

fn proposal(scope: &GroupmdScope, base: u64, author: &Principal, text: &str) -> NewGroupmdProposal {
    NewGroupmdProposal {
        id: ProposalId::generate(),
        scope: scope.clone(),
        base_revision: base,
        text: text.into(),
        summary: Some(format!("{} proposes", author.name)),
        diff: format!("+{text}"),
        author: author.id.clone(),
    }
}

fn accept(
    p: &octo_core::groupmd::GroupmdProposal,
    base: u64,
    resolver: &Principal,
) -> ProposalResolution {
    ProposalResolution {
        proposal: p.id.clone(),
        resolver: resolver.id.clone(),
        outcome: ProposalOutcome::Accept(NewGroupmdRevision {
            scope: GroupmdScope {
                channel: p.channel_id.clone(),
                thread: p.thread_root_id.clone(),
            },
            base_revision: base,
            author: p.author_id.clone(),
            text: p.text.clone(),
            diff: p.diff.clone(),
        }),
    }
}

fn reject(p: &octo_core::groupmd::GroupmdProposal, resolver: &Principal) -> ProposalResolution {
    ProposalResolution {
        proposal: p.id.clone(),
        resolver: resolver.id.clone(),
        outcome: ProposalOutcome::Reject,
    }
}

async fn propose(store: &dyn Store, p: NewGroupmdProposal) -> Proposed {
    store.propose_groupmd(p).await.unwrap()
}

async fn setup(store: &dyn Store, name: &str) -> (World, Channel) {
    let w = world(store).await;
    let c = channel(store, &w, name).await;
    (w, c)
}

pub async fn groupmd_mode_defaults_to_auto_and_is_set(store: Arc<dyn Store>) {
    let (w, c) = setup(&*store, "modes").await;
    let other = channel(&*store, &w, "other").await;
    assert_eq!(store.groupmd_mode(&c.id).await.unwrap(), GroupmdMode::Auto);
    store
        .set_groupmd_mode(&c.id, GroupmdMode::Review, &w.owner.id)
        .await
        .unwrap();
    assert_eq!(
        store.groupmd_mode(&c.id).await.unwrap(),
        GroupmdMode::Review
    );
    assert_eq!(
        store.groupmd_mode(&other.id).await.unwrap(),
        GroupmdMode::Auto,
        "each channel has its own mode"
    );
    store
        .set_groupmd_mode(&c.id, GroupmdMode::Auto, &w.alice.id)
        .await
        .unwrap();
    assert_eq!(store.groupmd_mode(&c.id).await.unwrap(), GroupmdMode::Auto);
    let missing = ChannelId::generate();
    assert_not_found(store.groupmd_mode(&missing).await);
    assert_not_found(
        store
            .set_groupmd_mode(&missing, GroupmdMode::Review, &w.owner.id)
            .await,
    );
}

pub async fn groupmd_proposals_are_recorded_listed_and_logged(store: Arc<dyn Store>) {
    let (w, c) = setup(&*store, "proposals").await;
    let scope = scope_of(&c);
    assert!(
        store
            .groupmd_proposals(&scope, None, 50)
            .await
            .unwrap()
            .is_empty()
    );

    let first = propose(&*store, proposal(&scope, 0, &w.alice, "# alice\n")).await;
    assert!(first.created);
    let p = &first.proposal;
    assert_eq!(p.status, ProposalStatus::Pending);
    assert_eq!(
        (p.base_revision, p.author_id.clone()),
        (0, w.alice.id.clone())
    );
    assert_eq!(p.summary.as_deref(), Some("Alice proposes"));
    assert_eq!((p.resolved_by.clone(), p.revision), (None, None));
    assert_eq!(first.events.len(), 1);
    let event = &first.events[0];
    assert_eq!(event.kind, EventKind::GroupmdProposed);
    assert_eq!(event.actor, w.alice.id);
    assert_eq!(event.payload["proposal_id"], p.id.as_str());
    let log = store.list_events(&c.id, 0, 100).await.unwrap();
    assert_eq!(log.last().map(|e| e.seq), Some(event.seq), "logged");

    let second = propose(&*store, proposal(&scope, 0, &w.bot, "# bot\n")).await;
    let listed = store
        .groupmd_proposals(&scope, Some(ProposalStatus::Pending), 50)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        [second.proposal.id.clone(), p.id.clone()],
        "newest first"
    );
    assert_eq!(listed[1], *p, "reads back as stored");
    assert_eq!(
        store.groupmd_proposal(&p.id).await.unwrap().as_ref(),
        Some(p)
    );
    assert_eq!(
        store
            .groupmd_proposals(&scope, Some(ProposalStatus::Pending), 1)
            .await
            .unwrap()
            .len(),
        1,
        "the limit holds"
    );
    assert!(
        store
            .groupmd_proposals(&scope, Some(ProposalStatus::Accepted), 50)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .groupmd_proposal(&ProposalId::generate())
            .await
            .unwrap(),
        None
    );

    // A thread's document has its own proposals; only a root has one.
    let root = post(&*store, msg(&c.id, &w.alice, "root")).await;
    let answer = post(&*store, reply(&c.id, &root.id, &w.owner, "reply")).await;
    let thread = GroupmdScope {
        channel: c.id.clone(),
        thread: Some(root.id.clone()),
    };
    let in_thread = propose(&*store, proposal(&thread, 0, &w.alice, "# t\n")).await;
    assert_eq!(in_thread.proposal.thread_root_id, Some(root.id.clone()));
    assert_eq!(
        store
            .groupmd_proposals(&thread, None, 50)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .groupmd_proposals(&scope, None, 50)
            .await
            .unwrap()
            .len(),
        2,
        "the channel's list is its own"
    );
    let not_root = GroupmdScope {
        channel: c.id.clone(),
        thread: Some(answer.id),
    };
    assert_not_found(
        store
            .propose_groupmd(proposal(&not_root, 0, &w.alice, "x"))
            .await,
    );
    let missing = GroupmdScope {
        channel: ChannelId::generate(),
        thread: None,
    };
    assert_not_found(
        store
            .propose_groupmd(proposal(&missing, 0, &w.alice, "x"))
            .await,
    );
}

pub async fn a_new_proposal_supersedes_the_authors_older_pending_one(store: Arc<dyn Store>) {
    let (w, c) = setup(&*store, "supersede").await;
    let scope = scope_of(&c);
    let old = propose(&*store, proposal(&scope, 0, &w.bot, "# one\n")).await;
    let others = propose(&*store, proposal(&scope, 0, &w.alice, "# alice\n")).await;
    let new = propose(&*store, proposal(&scope, 0, &w.bot, "# one\n# two\n")).await;
    assert!(new.created);
    assert_eq!(
        new.events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            EventKind::GroupmdProposalResolved,
            EventKind::GroupmdProposed
        ]
    );
    assert_eq!(new.events[0].payload["status"], "superseded");
    assert_eq!(
        new.events[0].payload["proposal_id"],
        old.proposal.id.as_str()
    );
    let was = store
        .groupmd_proposal(&old.proposal.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(was.status, ProposalStatus::Superseded);
    assert_eq!(was.resolved_by, Some(w.bot.id.clone()));
    assert!(was.resolved_at.is_some());
    let pending = store
        .groupmd_proposals(&scope, Some(ProposalStatus::Pending), 50)
        .await
        .unwrap();
    assert_eq!(
        pending.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        [new.proposal.id.clone(), others.proposal.id.clone()],
        "another author's proposal is untouched"
    );

    // The same text again is the same proposal: nothing new, nothing logged.
    let last_seq = store.list_events(&c.id, 0, 500).await.unwrap().len();
    let again = propose(&*store, proposal(&scope, 0, &w.bot, "# one\n# two\n")).await;
    assert!(!again.created);
    assert!(again.events.is_empty());
    assert_eq!(again.proposal.id, new.proposal.id);
    assert_eq!(
        store.list_events(&c.id, 0, 500).await.unwrap().len(),
        last_seq
    );
}

pub async fn accepting_a_proposal_stores_a_revision_and_resolves_it(store: Arc<dyn Store>) {
    let (w, c) = setup(&*store, "accept").await;
    let scope = scope_of(&c);
    let p = propose(&*store, proposal(&scope, 0, &w.bot, "# by bot\n"))
        .await
        .proposal;
    let done = store
        .resolve_groupmd_proposal(accept(&p, 0, &w.alice))
        .await
        .unwrap();
    assert_eq!(done.proposal.status, ProposalStatus::Accepted);
    assert_eq!(done.proposal.resolved_by, Some(w.alice.id.clone()));
    assert_eq!(done.proposal.revision, Some(1));
    let revision = done.revision.unwrap();
    assert_eq!(
        (revision.revision, revision.author.clone()),
        (1, w.bot.id.clone()),
        "the revision is the proposer's"
    );
    assert_eq!(
        done.events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            EventKind::GroupmdUpdated,
            EventKind::GroupmdProposalResolved
        ]
    );
    let updated = &done.events[0];
    assert_eq!(updated.actor, w.alice.id, "the accepter acted");
    assert_eq!(updated.payload["author_id"], w.bot.id.as_str());
    assert_eq!(updated.payload["accepted_by"], w.alice.id.as_str());
    assert_eq!(updated.payload["revision"], 1);
    assert_eq!(done.events[1].payload["status"], "accepted");
    assert_eq!(done.events[1].payload["revision"], 1);
    let current = store.groupmd_revision(&scope, None).await.unwrap().unwrap();
    assert_eq!(current.text, "# by bot\n");
    assert_eq!(
        store.groupmd_proposal(&p.id).await.unwrap().as_ref(),
        Some(&done.proposal)
    );
    let log = store.list_events(&c.id, 0, 500).await.unwrap();
    assert_eq!(
        log.iter().rev().take(2).map(|e| e.seq).collect::<Vec<_>>(),
        [done.events[1].seq, done.events[0].seq]
    );

    // Once resolved, always resolved.
    assert_conflict(
        store
            .resolve_groupmd_proposal(accept(&p, 1, &w.owner))
            .await,
    );
    assert_conflict(store.resolve_groupmd_proposal(reject(&p, &w.owner)).await);
    assert_eq!(
        store.groupmd_revisions(&scope).await.unwrap().len(),
        1,
        "no second revision"
    );
    assert_not_found(
        store
            .resolve_groupmd_proposal(ProposalResolution {
                proposal: ProposalId::generate(),
                resolver: w.owner.id.clone(),
                outcome: ProposalOutcome::Reject,
            })
            .await,
    );
}

pub async fn rejecting_and_stale_accepts_store_no_revision(store: Arc<dyn Store>) {
    let (w, c) = setup(&*store, "reject").await;
    let scope = scope_of(&c);
    let p = propose(&*store, proposal(&scope, 0, &w.bot, "# by bot\n"))
        .await
        .proposal;
    let q = propose(&*store, proposal(&scope, 0, &w.alice, "# by alice\n"))
        .await
        .proposal;
    let rejected = store
        .resolve_groupmd_proposal(reject(&p, &w.owner))
        .await
        .unwrap();
    assert_eq!(rejected.proposal.status, ProposalStatus::Rejected);
    assert_eq!(rejected.proposal.resolved_by, Some(w.owner.id.clone()));
    assert!(rejected.revision.is_none());
    assert_eq!(
        rejected.events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [EventKind::GroupmdProposalResolved]
    );
    assert_eq!(rejected.events[0].payload["status"], "rejected");
    assert_eq!(store.groupmd_revision(&scope, None).await.unwrap(), None);

    // The document moves on; accepting on the old base is refused and the
    // proposal stays pending for a later try.
    store
        .put_groupmd(NewGroupmdRevision {
            scope: scope.clone(),
            base_revision: 0,
            author: w.owner.id.clone(),
            text: "# owner\n".into(),
            diff: "+# owner\n".into(),
        })
        .await
        .unwrap();
    assert_conflict(
        store
            .resolve_groupmd_proposal(accept(&q, 0, &w.owner))
            .await,
    );
    let still = store.groupmd_proposal(&q.id).await.unwrap().unwrap();
    assert_eq!(still.status, ProposalStatus::Pending);
    assert_eq!(store.groupmd_revisions(&scope).await.unwrap().len(), 1);
    // On the current base it goes through.
    let done = store
        .resolve_groupmd_proposal(accept(&q, 1, &w.owner))
        .await
        .unwrap();
    assert_eq!(done.proposal.revision, Some(2));
}

pub async fn concurrent_resolutions_have_one_winner(store: Arc<dyn Store>) {
    let (w, c) = setup(&*store, "race").await;
    let scope = scope_of(&c);
    let p = propose(&*store, proposal(&scope, 0, &w.bot, "# by bot\n"))
        .await
        .proposal;
    let (a, b) = tokio::join!(
        store.resolve_groupmd_proposal(accept(&p, 0, &w.alice)),
        store.resolve_groupmd_proposal(reject(&p, &w.owner)),
    );
    let (winner, loser) = match (a, b) {
        (Ok(won), lost) => (won, lost.map(|r| r.proposal)),
        (lost, Ok(won)) => (won, lost.map(|r| r.proposal)),
        (a, b) => panic!("one resolution must win: {a:?} {b:?}"),
    };
    assert_conflict(loser);
    let stored = store.groupmd_proposal(&p.id).await.unwrap().unwrap();
    assert_eq!(stored, winner.proposal);
    let revisions = store.groupmd_revisions(&scope).await.unwrap().len();
    assert_eq!(
        revisions,
        usize::from(winner.proposal.status == ProposalStatus::Accepted)
    );
}
