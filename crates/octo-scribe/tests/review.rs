//! The scribe in a channel whose group.md is in review mode: it proposes
//! instead of writing, keeps one pending proposal of its own (a later pass
//! supersedes it with both changes), and accepting makes the revision.

mod common;

use std::time::Duration;

use common::{STEP, WAIT, World, world};
use octo_core::groupmd::{GroupmdMode, GroupmdProposal, ProposalStatus};
use octo_scribe::ScribeConfig;
use reqwest::Method;
use serde_json::Value;

/// Waits (bounded) for the scribe's pending proposal to satisfy `ok`.
async fn proposal_until(w: &World, what: &str, ok: impl Fn(&str) -> bool) -> GroupmdProposal {
    for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
        let pending = w
            .owner
            .groupmd_proposals(&w.channel, "pending")
            .await
            .expect("proposals");
        if let Some(p) = pending
            .into_iter()
            .find(|p| p.author_id == w.scribe_id && ok(&p.text))
        {
            return p;
        }
        tokio::time::sleep(STEP).await;
    }
    panic!("the scribe never proposed {what}");
}

#[tokio::test]
async fn in_review_mode_the_scribe_proposes_and_accepting_makes_the_revision() {
    let w = world().await;
    let mode = w
        .owner
        .set_groupmd_mode(&w.channel, GroupmdMode::Review)
        .await
        .expect("review mode");
    assert_eq!(mode, GroupmdMode::Review);
    // Only `/groupmd` triggers a pass (thresholds out of reach).
    let _stop = w.start_scribe(ScribeConfig {
        every_messages: 1000,
        idle: Duration::from_secs(3600),
        ..ScribeConfig::default()
    });

    w.say("Decision: we ship the beta on Fridays").await;
    w.say("/groupmd").await;
    let first = proposal_until(&w, "the decision", |t| {
        t.contains("ship the beta on Fridays")
    })
    .await;
    assert_eq!(first.base_revision, 0);
    assert_eq!(first.summary.as_deref(), Some("+1 decision"));
    let note = w
        .scribe_said(None, |t| t.starts_with("group.md change proposed:"))
        .await
        .text;
    assert!(note.contains("+1 decision"), "{note}");
    assert!(note.contains(first.id.as_str()), "{note}");
    let doc = w.owner.groupmd(&w.channel).await.expect("groupmd");
    assert_eq!(doc.revision, 0, "a proposal is not a revision");

    // A second pass builds on its pending proposal and replaces it.
    w.say("Decision: demos are on Tuesdays").await;
    w.say("/groupmd").await;
    let second = proposal_until(&w, "both decisions", |t| {
        t.contains("ship the beta on Fridays") && t.to_lowercase().contains("demos are on tuesdays")
    })
    .await;
    assert_ne!(second.id, first.id);
    assert_eq!(second.summary.as_deref(), Some("+2 decisions"));
    let all = w
        .owner
        .groupmd_proposals(&w.channel, "all")
        .await
        .expect("all");
    let mine: Vec<_> = all.iter().filter(|p| p.author_id == w.scribe_id).collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(
        mine.iter()
            .filter(|p| p.status == ProposalStatus::Pending)
            .count(),
        1,
        "one pending proposal of the scribe's at a time"
    );
    let old = mine.iter().find(|p| p.id == first.id).expect("the first");
    assert_eq!(old.status, ProposalStatus::Superseded);

    // The owner accepts: the scribe's text becomes revision 1, by the scribe.
    let accepted = w
        .owner
        .accept_groupmd_proposal(&w.channel, &second.id)
        .await
        .expect("accept");
    assert_eq!(accepted.status, ProposalStatus::Accepted);
    assert_eq!(accepted.revision, Some(1));
    let doc = w.owner.groupmd(&w.channel).await.expect("groupmd");
    assert_eq!(doc.revision, 1);
    assert!(
        doc.text.to_lowercase().contains("demos are on tuesdays"),
        "{}",
        doc.text
    );
    assert!(
        doc.text.contains("ship the beta on Fridays"),
        "{}",
        doc.text
    );
    let revisions: Value = w
        .owner
        .call(
            Method::GET,
            &format!("/channels/{}/groupmd/revisions", w.channel),
            None,
        )
        .await
        .expect("revisions");
    assert_eq!(revisions["revisions"][1]["author_id"], w.scribe_id.as_str());

    // Back in auto mode the scribe writes directly again.
    w.owner
        .set_groupmd_mode(&w.channel, GroupmdMode::Auto)
        .await
        .expect("auto mode");
    w.say("Decision: the changelog lives in the repo").await;
    w.say("/groupmd").await;
    for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
        let doc = w.owner.groupmd(&w.channel).await.expect("groupmd");
        if doc
            .text
            .to_lowercase()
            .contains("changelog lives in the repo")
        {
            assert_eq!(doc.revision, 2);
            let pending = w
                .owner
                .groupmd_proposals(&w.channel, "pending")
                .await
                .expect("pending");
            assert!(pending.is_empty(), "{pending:?}");
            return;
        }
        tokio::time::sleep(STEP).await;
    }
    panic!("the scribe never wrote in auto mode");
}
