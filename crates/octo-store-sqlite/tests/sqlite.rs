//! What only the SQLite backend promises: durability across close and reopen,
//! an orderly shutdown, and group commit that isolates failures.

use octo_core::model::*;
use octo_core::*;
use octo_store::*;
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::Path;
use std::sync::Arc;

struct Setup {
    owner: Principal,
    channel: Channel,
}

async fn open(dir: &Path, max_batch: usize) -> Arc<SqliteStore> {
    let options = SqliteOptions {
        max_batch,
        ..SqliteOptions::default()
    };
    Arc::new(SqliteStore::open(dir, options).await.expect("open"))
}

async fn set_up(store: &SqliteStore) -> Setup {
    let org = NewOrg {
        id: OrgId::generate(),
        name: "Acme".into(),
        created_at: now(),
    };
    let owner = NewPrincipal {
        id: PrincipalId::generate(),
        org_id: org.id.clone(),
        kind: PrincipalKind::Human,
        name: "owner".into(),
        display_name: None,
        email: Some("owner@example.com".into()),
        password_hash: Some("hash".into()),
        role: Role::Owner,
        owner_id: None,
        description: None,
        skills: Vec::new(),
        avatar_url: None,
        created_at: now(),
    };
    let (org, owner) = store.setup(org, owner).await.expect("setup");
    let channel = NewChannel {
        id: ChannelId::generate(),
        org_id: org.id.clone(),
        space_id: None,
        category_id: None,
        kind: ChannelKind::Channel,
        name: Some("general".into()),
        topic: None,
        private: false,
        created_by: owner.id.clone(),
        created_at: now(),
        members: vec![owner.id.clone()],
        dm_key: None,
    };
    let channel = store.create_channel(channel).await.expect("channel").value;
    Setup { owner, channel }
}

fn msg(s: &Setup, text: &str) -> NewMessage {
    NewMessage {
        id: MessageId::generate(),
        channel_id: s.channel.id.clone(),
        thread_id: None,
        author_id: s.owner.id.clone(),
        author_kind: PrincipalKind::Human,
        text: text.into(),
        data: None,
        mentions: Mentions::default(),
        client_msg_id: None,
        stream: false,
        attachments: Vec::new(),
        created_at: now(),
    }
}

async fn seqs(store: &SqliteStore, channel: &ChannelId) -> Vec<u64> {
    let events = store
        .list_events(channel, 0, 100_000)
        .await
        .expect("events");
    events.iter().map(|e| e.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_everything_and_seq_continues() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path(), 512).await;
    let s = set_up(&store).await;
    let mut posted = Vec::new();
    for i in 0..5 {
        posted.push(
            store
                .post_message(msg(&s, &format!("m{i}")))
                .await
                .expect("post")
                .message,
        );
    }
    let log = store.list_events(&s.channel.id, 0, 100).await.expect("log");
    store.close().await;
    drop(store);

    let store = open(dir.path(), 512).await;
    assert!(store.is_set_up().await.expect("is_set_up"));
    assert_eq!(
        store.get_principal(&s.owner.id).await.expect("get"),
        Some(s.owner.clone())
    );
    assert_eq!(
        store.list_events(&s.channel.id, 0, 100).await.expect("log"),
        log
    );
    for m in &posted {
        assert_eq!(
            store.get_message(&m.id).await.expect("get").as_ref(),
            Some(m)
        );
    }
    let next = store.post_message(msg(&s, "after")).await.expect("post");
    assert_eq!(
        next.message.seq, 7,
        "1 join + 5 posts before, no gap after reopen"
    );
    assert_eq!(
        seqs(&store, &s.channel.id).await,
        (1..=7).collect::<Vec<_>>()
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_finishes_queued_writes_and_refuses_new_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path(), 512).await;
    let s = Arc::new(set_up(&store).await);
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let (store, s) = (store.clone(), s.clone());
            tokio::spawn(async move { store.post_message(msg(&s, &format!("m{i}"))).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store.close().await;

    let mut acked = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(p) => acked.push(p.message),
            Err(StoreError::Closed) => {}
            Err(e) => panic!("a write failed other than by being refused: {e:?}"),
        }
    }
    assert!(matches!(
        store.post_message(msg(&s, "late")).await,
        Err(StoreError::Closed)
    ));
    drop(store);

    // Every acknowledged write is on disk, with no gap in the log.
    let store = open(dir.path(), 512).await;
    for m in &acked {
        assert_eq!(
            store.get_message(&m.id).await.expect("get").as_ref(),
            Some(m)
        );
    }
    let expected: Vec<u64> = (1..=1 + acked.len() as u64).collect();
    assert_eq!(seqs(&store, &s.channel.id).await, expected);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_without_close_still_persists() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path(), 512).await;
    let s = set_up(&store).await;
    let m = store
        .post_message(msg(&s, "kept"))
        .await
        .expect("post")
        .message;
    drop(store);
    let store = open(dir.path(), 512).await;
    assert_eq!(store.get_message(&m.id).await.expect("get"), Some(m));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_writes_in_a_busy_batch_do_not_fail_the_others() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path(), 512).await;
    let s = Arc::new(set_up(&store).await);
    // Interleave writes bound to fail (unknown channel) with good ones so the
    // writer batches them together.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (store, s) = (store.clone(), s.clone());
            tokio::spawn(async move {
                let mut m = msg(&s, &format!("m{i}"));
                if i % 3 == 0 {
                    m.channel_id = ChannelId::generate();
                }
                (i, store.post_message(m).await)
            })
        })
        .collect();
    let mut good = 0;
    for t in tasks {
        let (i, r) = t.await.expect("task");
        if i % 3 == 0 {
            assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
        } else {
            r.expect("good write");
            good += 1;
        }
    }
    assert_eq!(
        seqs(&store, &s.channel.id).await,
        (1..=1 + good).collect::<Vec<_>>()
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_transaction_per_write_works() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path(), 1).await;
    let s = Arc::new(set_up(&store).await);
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let (store, s) = (store.clone(), s.clone());
            tokio::spawn(async move {
                for i in 0..25 {
                    store
                        .post_message(msg(&s, &format!("{t}-{i}")))
                        .await
                        .expect("post");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(
        seqs(&store, &s.channel.id).await,
        (1..=101).collect::<Vec<_>>()
    );
    store.close().await;
    // Closing twice is harmless.
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployment_secret_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path(), 512).await;
    let secret = store.deployment_secret().await.expect("secret");
    assert_eq!(secret.len(), 32);
    store.close().await;
    drop(store);

    let store = open(dir.path(), 512).await;
    assert_eq!(store.deployment_secret().await.expect("secret"), secret);
    store.close().await;

    // Another deployment makes its own.
    let elsewhere = tempfile::tempdir().expect("dir");
    let other = open(elsewhere.path(), 512).await;
    assert_ne!(other.deployment_secret().await.expect("secret"), secret);
    other.close().await;
}

fn searching(s: &Setup, query: &str) -> SearchRequest {
    SearchRequest {
        channels: vec![s.channel.id.clone()],
        terms: octo_core::search::parse_query(query).expect("query"),
        author: None,
        thread: None,
        has_attachment: None,
        before: None,
        after: None,
        limit: 20,
        offset: 0,
    }
}

async fn found(store: &SqliteStore, s: &Setup, query: &str) -> Vec<MessageId> {
    let hits = store.search(searching(s, query)).await.expect("search");
    hits.into_iter().map(|h| h.message.id).collect()
}

/// The index holds exactly the live messages' words after every kind of
/// change (FTS5 checks itself against the messages table), and survives a
/// reopen; accents are folded, and words match whole or by prefix (no
/// stemming: what people type is what they find).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_index_follows_every_write() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path(), 512).await;
    let s = set_up(&store).await;
    let cafe = store
        .post_message(msg(&s, "Meet at the Café, deployed later"))
        .await
        .expect("post")
        .message;
    let edited = store
        .post_message(msg(&s, "first words"))
        .await
        .expect("post")
        .message;
    let edit = MessageEdit {
        text: "second words".into(),
        mentions: Mentions::default(),
        edited_at: now(),
    };
    store
        .edit_message(&edited.id, &s.owner.id, edit)
        .await
        .expect("edit");
    let streamed = store
        .post_message(NewMessage {
            stream: true,
            ..msg(&s, "")
        })
        .await
        .expect("post")
        .message;
    for delta in ["streamed ", "words ", "here"] {
        store
            .append_delta(&streamed.id, &s.owner.id, delta)
            .await
            .expect("delta");
    }
    let gone = store
        .post_message(msg(&s, "doomed words"))
        .await
        .expect("post")
        .message;
    store
        .delete_message(&gone.id, &s.owner.id)
        .await
        .expect("delete");

    assert_eq!(found(&store, &s, "cafe").await, vec![cafe.id.clone()]);
    assert_eq!(found(&store, &s, "deploy*").await, vec![cafe.id.clone()]);
    assert!(found(&store, &s, "deploying").await.is_empty());
    assert_eq!(found(&store, &s, "words").await.len(), 2);
    assert!(found(&store, &s, "first").await.is_empty());
    assert!(found(&store, &s, "doomed").await.is_empty());
    // A stray marker character in a message never breaks its snippet.
    let odd = store
        .post_message(msg(&s, "odd \u{2}marker\u{3} text"))
        .await
        .expect("post")
        .message;
    let hits = store.search(searching(&s, "marker")).await.expect("search");
    assert_eq!(hits[0].message.id, odd.id);
    assert_eq!(hits[0].snippet, "odd marker text");
    assert!(hits[0].highlights.is_empty());
    store.close().await;
    drop(store);

    let conn = rusqlite::Connection::open(dir.path().join(octo_store_sqlite::DB_FILE)).expect("db");
    conn.execute(
        "INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the index matches the messages");
    drop(conn);
    let store = open(dir.path(), 512).await;
    assert_eq!(found(&store, &s, "cafe").await, vec![cafe.id]);
    store.close().await;
}

/// What `posts_commit_in_call_order` promises: a post's write is queued in
/// the first poll of its future, so posts started in some order get seqs in
/// that order though they are awaited in another, and a second post with the
/// same `client_msg_id` queued behind the first (in the same batch) is its
/// replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_commit_in_the_order_of_their_first_polls() {
    use std::task::{Context, Waker};

    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path(), 512).await;
    assert!(store.posts_commit_in_call_order());
    let s = set_up(&store).await;
    let mut keyed = msg(&s, "keyed");
    keyed.client_msg_id = Some("once".into());
    let mut again = msg(&s, "keyed again");
    again.client_msg_id = Some("once".into());
    let mut posts = vec![
        store.post_message(msg(&s, "a")),
        store.post_message(keyed),
        store.post_message(again),
        store.post_message(msg(&s, "b")),
    ];
    // Started back to front: one poll each, nothing awaited in between.
    let mut cx = Context::from_waker(Waker::noop());
    for post in posts.iter_mut().rev() {
        assert!(post.as_mut().poll(&mut cx).is_pending(), "waits for commit");
    }
    let mut outcomes = Vec::new();
    for post in posts {
        outcomes.push(post.await.expect("post"));
    }
    let seq = |i: usize| outcomes[i].message.seq;
    assert!(
        seq(3) < seq(2) && seq(2) < seq(0),
        "seqs follow first polls"
    );
    assert!(outcomes[2].event.is_some(), "the first with the key is new");
    assert!(outcomes[1].event.is_none(), "the second is its replay");
    assert_eq!(outcomes[1].message.id, outcomes[2].message.id);
    store.close().await;
}
