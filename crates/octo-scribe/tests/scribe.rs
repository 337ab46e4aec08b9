//! The scribe against a real server (the server library on 127.0.0.1:0 with a
//! temp SQLite store), reached only through octo-client with its own token.

use std::sync::Arc;
use std::time::Duration;

use octo_broker::MemoryBroker;
use octo_client::{Client, SendOptions};
use octo_core::model::Message;
use octo_core::{ChannelId, PrincipalId};
use octo_scribe::ScribeConfig;
use octo_server::{AppState, ServerConfig};
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(15);
const STEP: Duration = Duration::from_millis(100);

struct World {
    base: String,
    owner: Client,
    scribe_id: PrincipalId,
    scribe_token: String,
    channel: ChannelId,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open(dir.path(), SqliteOptions::default())
            .await
            .expect("store"),
    );
    let files = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("files");
    let config = ServerConfig {
        scribe_joins_channels: true,
        ..ServerConfig::default()
    };
    let state = AppState::new(
        store,
        Arc::new(MemoryBroker::default()),
        Arc::new(files),
        config,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        octo_server::serve(listener, state, std::future::pending())
            .await
            .expect("serve");
    });
    let anonymous = Client::new(base.clone(), None);
    let setup = anonymous
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anonymous.with_token(setup.token);
    let org = setup.org.id;
    let scribe = owner
        .members(&org)
        .await
        .expect("members")
        .items
        .into_iter()
        .find(|p| p.name == "scribe")
        .expect("the org has a scribe");
    let minted: Value = owner
        .call(
            Method::POST,
            &format!("/agents/{}/tokens", scribe.id),
            Some(&json!({"label": "scribe"})),
        )
        .await
        .expect("scribe token");
    let space: Value = owner
        .call(
            Method::POST,
            &format!("/orgs/{org}/spaces"),
            Some(&json!({"name": "Team", "visibility": "open"})),
        )
        .await
        .expect("space");
    let channel: Value = owner
        .call(
            Method::POST,
            &format!("/spaces/{}/channels", space["id"].as_str().expect("id")),
            Some(&json!({"name": "general"})),
        )
        .await
        .expect("channel");
    World {
        base,
        owner,
        scribe_id: scribe.id,
        scribe_token: minted["token"].as_str().expect("token").to_owned(),
        channel: ChannelId::from_string(channel["id"].as_str().expect("id")),
        _dir: dir,
    }
}

impl World {
    /// Runs the scribe until the returned sender is dropped or fired.
    fn start_scribe(&self, config: ScribeConfig) -> oneshot::Sender<()> {
        let client = Client::new(self.base.clone(), Some(self.scribe_token.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            octo_scribe::run(client, config, shutdown)
                .await
                .expect("scribe runs");
        });
        stop
    }

    async fn say(&self, text: &str) -> Message {
        self.owner
            .send(&self.channel, text, SendOptions::default())
            .await
            .expect("send")
    }

    async fn groupmd(&self) -> String {
        self.owner
            .groupmd(&self.channel)
            .await
            .expect("groupmd")
            .text
    }

    /// Waits (bounded) until group.md satisfies `ok`; returns it.
    async fn groupmd_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut text = String::new();
        for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
            text = self.groupmd().await;
            if ok(&text) {
                return text;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!("group.md never got {what}:\n{text}");
    }

    /// Waits (bounded) for a message by the scribe (top level, or in `thread`)
    /// whose text satisfies `ok`.
    async fn scribe_said(&self, thread: Option<&Message>, ok: impl Fn(&str) -> bool) -> Message {
        for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
            let page = match thread {
                Some(root) => self.owner.thread(&self.channel, &root.id).await,
                None => self.owner.messages(&self.channel, "limit=100").await,
            }
            .expect("history");
            if let Some(m) = page
                .items
                .into_iter()
                .find(|m| m.author_id == self.scribe_id && ok(&m.text))
            {
                return m;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!("the scribe never said it");
    }
}

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

    let doc = w
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
    let doc = w
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
