//! The scribe against a real server (the server library on 127.0.0.1:0 with a
//! temp SQLite store), reached only through octo-client with its own token.

mod common;

use std::time::Duration;

use common::world;
use octo_scribe::ScribeConfig;
use reqwest::Method;
use serde_json::Value;

/// Only `/groupmd` triggers a pass in these tests (thresholds out of reach).
fn on_command_only() -> ScribeConfig {
    ScribeConfig {
        every_messages: 1000,
        idle: Duration::from_secs(3600),
        ..ScribeConfig::default()
    }
}

#[tokio::test]
async fn groupmd_command_records_decisions_and_action_items_and_a_check_closes_them() {
    let w = world().await;
    let _stop = w.start_scribe(on_command_only());
    w.say("Decision: we ship the beta on Fridays").await;
    let todo = w
        .say("TODO: @olivia write the release notes for the beta")
        .await;
    w.say("/groupmd").await;

    let (_, doc) = w
        .groupmd_until("the decision and the action item", |t| {
            t.contains("ship the beta on Fridays") && t.contains("release notes")
        })
        .await;
    assert!(doc.contains("- [ ] "), "the item is open:\n{doc}");
    let note = w
        .scribe_said(None, |t| t.starts_with("group.md updated:"))
        .await;
    assert!(note.text.contains("+1 decision"), "{}", note.text);
    assert!(note.text.contains("+1 action item"), "{}", note.text);

    // A human adds a paragraph outside the standard sections.
    let human = "\nWe keep this file short. *Really* short.\n";
    let current = w.owner.groupmd(&w.channel).await.expect("groupmd");
    let edited = current
        .text
        .replacen("\n## Purpose", &format!("{human}\n## Purpose"), 1);
    w.owner
        .put_groupmd(&w.channel, current.revision, &edited)
        .await
        .expect("human edit");

    // ✅ on the TODO closes it at the next pass.
    let _: Value = w
        .owner
        .call(
            Method::PUT,
            &format!("/messages/{}/reactions/%E2%9C%85", todo.id),
            None,
        )
        .await
        .expect("react");
    w.say("/groupmd").await;
    let (_, doc) = w
        .groupmd_until("the item closed", |t| {
            t.lines()
                .any(|l| l.starts_with("- [x] ") && l.contains("release notes"))
        })
        .await;
    assert!(doc.contains(human), "the human paragraph survives:\n{doc}");
    w.scribe_said(None, |t| t.contains("1 action item closed"))
        .await;
}

#[tokio::test]
async fn a_mention_is_answered_in_its_thread_with_what_was_decided() {
    let w = world().await;
    let _stop = w.start_scribe(on_command_only());
    w.say("Decision: the API stays on version 1 until March")
        .await;
    w.say("TODO: @olivia draft the deprecation notice").await;
    w.say("/groupmd").await;
    w.groupmd_until("the decision", |t| t.contains("version 1 until March"))
        .await;

    let question = w.say("@scribe what did we decide?").await;
    let reply = w.scribe_said(Some(&question), |_| true).await;
    assert_eq!(reply.thread_id.as_ref(), Some(&question.id));
    assert!(
        reply.text.contains("version 1 until March"),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains("@olivia: Draft the deprecation notice"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn enough_new_messages_trigger_a_pass_without_a_command() {
    let w = world().await;
    let _stop = w.start_scribe(ScribeConfig {
        every_messages: 3,
        idle: Duration::from_secs(3600),
        ..ScribeConfig::default()
    });
    w.say("Decision: standups move to 10:00").await;
    w.say("ok").await;
    w.say("sounds good").await;
    w.groupmd_until("the decision", |t| t.contains("Standups move to 10:00"))
        .await;
}

#[tokio::test]
async fn a_quiet_channel_gets_a_pass_after_the_idle_time() {
    let w = world().await;
    let _stop = w.start_scribe(ScribeConfig {
        every_messages: 1000,
        idle: Duration::from_millis(300),
        ..ScribeConfig::default()
    });
    w.say("Decision: the office closes on the 24th").await;
    w.groupmd_until("the decision", |t| t.contains("closes on the 24th"))
        .await;
}
