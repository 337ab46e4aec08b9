//! The scribe in a channel whose group.md is in review mode: it proposes
//! instead of writing, keeps one pending proposal of its own (a later pass
//! supersedes it with both changes), and accepting makes the revision.

use std::sync::Arc;
use std::time::Duration;

use octo_broker::MemoryBroker;
use octo_client::{Client, SendOptions};
use octo_core::groupmd::{GroupmdMode, GroupmdProposal, ProposalStatus};
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
    owner: Client,
    scribe: Client,
    scribe_id: PrincipalId,
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
    let scribe = owner
        .members(&setup.org.id)
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
            &format!("/orgs/{}/spaces", setup.org.id),
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
        owner,
        scribe: Client::new(base, Some(minted["token"].as_str().expect("token").into())),
        scribe_id: scribe.id,
        channel: ChannelId::from_string(channel["id"].as_str().expect("id")),
        _dir: dir,
    }
}

impl World {
    fn start_scribe(&self) -> oneshot::Sender<()> {
        let client = self.scribe.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        // Only `/groupmd` triggers a pass (thresholds out of reach).
        let config = ScribeConfig {
            every_messages: 1000,
            idle: Duration::from_secs(3600),
            ..ScribeConfig::default()
        };
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

    async fn say(&self, text: &str) {
        self.owner
            .send(&self.channel, text, SendOptions::default())
            .await
            .expect("send");
    }

    /// Waits (bounded) for the scribe's pending proposal to satisfy `ok`.
    async fn proposal_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> GroupmdProposal {
        for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
            let pending = self
                .owner
                .groupmd_proposals(&self.channel, "pending")
                .await
                .expect("proposals");
            if let Some(p) = pending
                .into_iter()
                .find(|p| p.author_id == self.scribe_id && ok(&p.text))
            {
                return p;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!("the scribe never proposed {what}");
    }

    async fn scribe_said(&self, ok: impl Fn(&str) -> bool) -> String {
        for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
            let page = self
                .owner
                .messages(&self.channel, "limit=100")
                .await
                .expect("history");
            if let Some(m) = page
                .items
                .into_iter()
                .find(|m| m.author_id == self.scribe_id && ok(&m.text))
            {
                return m.text;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!("the scribe never said it");
    }
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
    let _stop = w.start_scribe();

    w.say("Decision: we ship the beta on Fridays").await;
    w.say("/groupmd").await;
    let first = w
        .proposal_until("the decision", |t| t.contains("ship the beta on Fridays"))
        .await;
    assert_eq!(first.base_revision, 0);
    assert_eq!(first.summary.as_deref(), Some("+1 decision"));
    let note = w
        .scribe_said(|t| t.starts_with("group.md change proposed:"))
        .await;
    assert!(note.contains("+1 decision"), "{note}");
    assert!(note.contains(first.id.as_str()), "{note}");
    let doc = w.owner.groupmd(&w.channel).await.expect("groupmd");
    assert_eq!(doc.revision, 0, "a proposal is not a revision");

    // A second pass builds on its pending proposal and replaces it.
    w.say("Decision: demos are on Tuesdays").await;
    w.say("/groupmd").await;
    let second = w
        .proposal_until("both decisions", |t| {
            t.contains("ship the beta on Fridays")
                && t.to_lowercase().contains("demos are on tuesdays")
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
