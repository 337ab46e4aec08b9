//! A "done" reply in an action item's thread closes the item through the
//! running scribe (the deterministic maintainer).

mod common;

use std::time::Duration;

use common::world;
use octo_scribe::ScribeConfig;

#[tokio::test]
async fn a_done_reply_in_the_items_thread_closes_it() {
    let w = world().await;
    let _stop = w.start_scribe(ScribeConfig {
        every_messages: 1000,
        idle: Duration::from_secs(3600),
        ..ScribeConfig::default()
    });
    let todo = w.say("TODO: @olivia renew the TLS certificate").await;
    w.say("/groupmd").await;
    let (_, doc) = w
        .groupmd_until("the open item", |t| {
            t.lines()
                .any(|l| l.starts_with("- [ ] ") && l.contains("TLS certificate"))
        })
        .await;
    assert!(doc.contains(&format!("from #{}", todo.id)), "{doc}");

    w.say_in(&todo, "done").await;
    w.say("/groupmd").await;
    let (_, doc) = w
        .groupmd_until("the item closed", |t| {
            t.lines()
                .any(|l| l.starts_with("- [x] ") && l.contains("TLS certificate"))
        })
        .await;
    assert!(
        !doc.lines().any(|l| l.starts_with("- [ ] ")),
        "no item is left open:\n{doc}"
    );
}
