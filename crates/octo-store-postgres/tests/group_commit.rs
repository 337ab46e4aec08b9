//! Group commit of posts: posts queued together share one transaction, each
//! still gets its own outcome, seqs follow the queue, and a closed store
//! answers Closed. Needs the PostgreSQL of `OCTO_TEST_POSTGRES` (default
//! postgres://postgres@127.0.0.1:5432/test); each test has its own schema.

use octo_core::*;
use octo_store::conformance::{channel, msg, world};
use octo_store::{NewMessage, Posted, Store, StoreError};
use octo_store_postgres::PgStore;
use octo_store_postgres::testing::{TempSchema, test_url};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};

async fn open(schema: &TempSchema) -> PgStore {
    schema.open_for_tests().await
}

/// A plain connection to the schema, for what the store does not show.
async fn sql(schema: &TempSchema) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&test_url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("SET search_path TO {}", schema.name))
        .await
        .expect("search path");
    client
}

/// How many transactions wrote the channel's messages (rows written by one
/// transaction share its `xmin`).
async fn transactions(db: &tokio_postgres::Client, channel: &ChannelId) -> usize {
    db.query_one(
        "SELECT count(DISTINCT xmin::text) FROM messages WHERE channel_id = $1",
        &[&channel.as_str()],
    )
    .await
    .expect("count")
    .get::<_, i64>(0) as usize
}

/// How many of the tasks' posts were new, and how many distinct messages they
/// answered with.
async fn new_and_distinct(tasks: Vec<tokio::task::JoinHandle<Posted>>) -> (usize, usize) {
    let mut created = 0;
    let mut ids = HashSet::new();
    for t in tasks {
        let posted = t.await.expect("task");
        created += usize::from(posted.event.is_some());
        ids.insert(posted.message.id);
    }
    (created, ids.len())
}

/// The channel's newest seq, as the store has it now.
async fn last_seq(store: &dyn Store, channel: &ChannelId) -> u64 {
    store
        .get_channel(channel)
        .await
        .expect("get")
        .expect("channel")
        .last_seq
}

type Pending<'a> = Pin<Box<dyn Future<Output = Result<Posted, StoreError>> + Send + 'a>>;

/// Starts every post (one poll each, in order) before any is awaited: on a
/// current-thread runtime the batch task cannot run in between, so they all
/// land in one batch.
async fn in_one_batch<'a>(
    store: &'a dyn Store,
    posts: Vec<NewMessage>,
) -> Vec<Result<Posted, StoreError>> {
    let mut started: Vec<Pending<'a>> = posts.into_iter().map(|m| store.post_message(m)).collect();
    let mut cx = Context::from_waker(Waker::noop());
    for post in &mut started {
        assert!(post.as_mut().poll(&mut cx).is_pending(), "waits for commit");
    }
    let mut outcomes = Vec::new();
    for post in started {
        outcomes.push(post.await);
    }
    outcomes
}

/// 200 posts from 8 tasks into one channel: all commit, each caller gets its
/// own message back, seqs are gapless and each task's are increasing, and
/// fewer transactions than posts wrote them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_share_commits_and_get_gapless_seqs() {
    const TASKS: usize = 8;
    const EACH: usize = 25;
    let schema = TempSchema::new();
    let store: Arc<dyn Store> = Arc::new(open(&schema).await);
    let w = world(&*store).await;
    let c = channel(&*store, &w, "busy").await;
    let authors = [w.owner.clone(), w.alice.clone()];
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            let channel = c.id.clone();
            let author = authors[t % 2].clone();
            tokio::spawn(async move {
                let mut seqs = Vec::with_capacity(EACH);
                for i in 0..EACH {
                    let new = msg(&channel, &author, &format!("{t}-{i}"));
                    let posted = store.post_message(new.clone()).await.expect("post");
                    let event = posted.event.expect("a new message");
                    assert_eq!(posted.message.id, new.id, "the caller's own message");
                    assert_eq!(posted.message.text, new.text);
                    assert_eq!(event.seq, posted.message.seq);
                    seqs.push(event.seq);
                }
                seqs
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        let mine = t.await.expect("task");
        assert!(
            mine.windows(2).all(|p| p[0] < p[1]),
            "a task's posts are in order"
        );
        seqs.extend(mine);
    }
    seqs.sort_unstable();
    let total = (TASKS * EACH) as u64;
    let first = c.last_seq + 1;
    assert_eq!(seqs, (first..first + total).collect::<Vec<_>>(), "gapless");
    let events = store.list_events(&c.id, 0, 1_000).await.expect("events");
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..first + total).collect::<Vec<_>>()
    );
    assert_eq!(last_seq(&*store, &c.id).await, c.last_seq + total);
    let db = sql(&schema).await;
    let txs = transactions(&db, &c.id).await;
    assert!(
        txs < TASKS * EACH,
        "concurrent posts share transactions ({txs} for {total} posts)"
    );
    store.close().await;
}

/// The promise of `posts_commit_in_call_order`: seqs follow the first polls,
/// not the order the posts are awaited in, and a second post with the same
/// `client_msg_id` in the same batch answers the first's message, no event.
#[tokio::test]
async fn posts_commit_in_the_order_of_their_first_polls() {
    let schema = TempSchema::new();
    let store = open(&schema).await;
    assert!(store.posts_commit_in_call_order());
    let w = world(&store).await;
    let c = channel(&store, &w, "general").await;
    let mut keyed = msg(&c.id, &w.alice, "keyed");
    keyed.client_msg_id = Some("once".into());
    let mut again = msg(&c.id, &w.alice, "keyed again");
    again.client_msg_id = Some("once".into());
    let mut posts = vec![
        store.post_message(msg(&c.id, &w.alice, "a")),
        store.post_message(keyed),
        store.post_message(again),
        store.post_message(msg(&c.id, &w.owner, "b")),
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
    assert_eq!(
        (seq(3), seq(2), seq(0)),
        (c.last_seq + 1, c.last_seq + 2, c.last_seq + 3),
        "seqs follow first polls"
    );
    assert!(outcomes[2].event.is_some(), "the first with the key is new");
    assert!(outcomes[1].event.is_none(), "the second is its replay");
    assert_eq!(outcomes[1].message, outcomes[2].message);
    let db = sql(&schema).await;
    assert_eq!(transactions(&db, &c.id).await, 1, "one batch, one commit");
    Store::close(&store).await;
}

/// In one batch: a post to a missing channel, one attaching a file that does
/// not exist and a reply to a missing thread each get their own error, and
/// the good posts around them commit, together, with gapless seqs.
#[tokio::test]
async fn a_failing_post_fails_alone_and_its_batch_commits() {
    let schema = TempSchema::new();
    let store = open(&schema).await;
    let w = world(&store).await;
    let c = channel(&store, &w, "general").await;
    let mut bad_file = msg(&c.id, &w.alice, "with a file");
    bad_file.attachments = vec!["no-such-file".into()];
    let mut bad_thread = msg(&c.id, &w.alice, "a reply");
    bad_thread.thread_id = Some(MessageId::generate());
    let posts = vec![
        msg(&c.id, &w.alice, "one"),
        msg(&ChannelId::generate(), &w.alice, "nowhere"),
        msg(&c.id, &w.owner, "two"),
        bad_file,
        msg(&c.id, &w.alice, "three"),
        bad_thread,
        msg(&c.id, &w.owner, "four"),
    ];
    let outcomes = in_one_batch(&store, posts).await;
    assert!(
        matches!(outcomes[1], Err(StoreError::NotFound)),
        "{:?}",
        outcomes[1]
    );
    assert!(
        matches!(outcomes[3], Err(StoreError::Conflict(_))),
        "{:?}",
        outcomes[3]
    );
    assert!(
        matches!(outcomes[5], Err(StoreError::NotFound)),
        "{:?}",
        outcomes[5]
    );
    let good: Vec<&Posted> = [0, 2, 4, 6]
        .iter()
        .map(|&i| outcomes[i].as_ref().expect("a good post commits"))
        .collect();
    assert_eq!(
        good.iter().map(|p| p.message.seq).collect::<Vec<_>>(),
        (c.last_seq + 1..=c.last_seq + 4).collect::<Vec<_>>()
    );
    assert_eq!(
        good.iter()
            .map(|p| p.message.text.as_str())
            .collect::<Vec<_>>(),
        ["one", "two", "three", "four"]
    );
    let stored = store
        .list_events(&c.id, c.last_seq, 100)
        .await
        .expect("events");
    assert_eq!(stored.len(), 4, "only the good posts are in the log");
    let db = sql(&schema).await;
    assert_eq!(transactions(&db, &c.id).await, 1, "still one commit");
    Store::close(&store).await;
}

/// Agents' posts in one batch each follow the one before, as posted one by
/// one: a batch's look-ups go to the server together, before any of its rows,
/// so the hop of a post that follows an earlier post of the same batch is
/// settled in the batch, per channel for top-level posts and per thread for
/// replies; a human's post starts the count again.
#[tokio::test]
async fn hops_count_through_a_batch_as_they_do_one_by_one() {
    let schema = TempSchema::new();
    let store = open(&schema).await;
    let w = world(&store).await;
    let c = channel(&store, &w, "agents").await;
    let root = store
        .post_message(msg(&c.id, &w.alice, "root"))
        .await
        .expect("root")
        .message;
    let reply = |author: &octo_core::model::Principal, text: &str| {
        let mut m = msg(&c.id, author, text);
        m.thread_id = Some(root.id.clone());
        m
    };
    let posts = vec![
        msg(&c.id, &w.bot, "top 1"),
        reply(&w.bot, "reply 1"),
        msg(&c.id, &w.bot2, "top 2"),
        reply(&w.bot2, "reply 2"),
        msg(&c.id, &w.bot, "top 3"),
        msg(&c.id, &w.alice, "a human"),
        msg(&c.id, &w.bot2, "top after the human"),
        reply(&w.bot, "reply 3"),
    ];
    let hops: Vec<(String, u32)> = in_one_batch(&store, posts)
        .await
        .into_iter()
        .map(|p| {
            let m = p.expect("posted").message;
            (m.text, m.hop)
        })
        .collect();
    let expected = [
        ("top 1", 1),
        ("reply 1", 1),
        ("top 2", 2),
        ("reply 2", 2),
        ("top 3", 3),
        ("a human", 0),
        ("top after the human", 1),
        ("reply 3", 3),
    ];
    assert_eq!(
        hops,
        expected.map(|(t, h)| (t.to_owned(), h)).to_vec(),
        "(text, hop) in queue order"
    );
    let db = sql(&schema).await;
    // The batch also counted the replies on the root: every row of the
    // channel was last written by that one transaction.
    assert_eq!(transactions(&db, &c.id).await, 1, "one batch");
    Store::close(&store).await;
}

/// Ten posts with one `client_msg_id` at once (some in one batch, maybe some
/// in the next): one message, one event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_with_one_client_msg_id_make_one_message() {
    let schema = TempSchema::new();
    let store: Arc<dyn Store> = Arc::new(open(&schema).await);
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let mut m = msg(&c.id, &w.alice, &format!("try {i}"));
            m.client_msg_id = Some("same".into());
            tokio::spawn(async move { store.post_message(m).await.expect("post") })
        })
        .collect();
    assert_eq!(new_and_distinct(tasks).await, (1, 1));
    let events = store
        .list_events(&c.id, c.last_seq, 100)
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
    store.close().await;
}

/// A batch whose COMMIT fails (here a deferred constraint trigger refuses one
/// of its posts at commit) tells every caller so, and nothing is stored.
#[tokio::test]
async fn a_failed_commit_fails_every_post_of_the_batch() {
    let schema = TempSchema::new();
    let store = open(&schema).await;
    let w = world(&store).await;
    let c = channel(&store, &w, "general").await;
    let db = sql(&schema).await;
    db.batch_execute(
        "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.text = 'refused at commit' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NULL; END $$; \
         CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON messages \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();",
    )
    .await
    .expect("trigger");
    let posts = vec![
        msg(&c.id, &w.alice, "one"),
        msg(&c.id, &w.alice, "refused at commit"),
        msg(&c.id, &w.owner, "two"),
    ];
    for outcome in in_one_batch(&store, posts).await {
        assert!(
            matches!(outcome, Err(StoreError::Backend(_))),
            "{outcome:?}"
        );
    }
    assert_eq!(
        last_seq(&store, &c.id).await,
        c.last_seq,
        "nothing committed"
    );
    // The next batch is unaffected.
    let posted = store
        .post_message(msg(&c.id, &w.alice, "after"))
        .await
        .expect("post");
    assert_eq!(posted.message.seq, c.last_seq + 1);
    Store::close(&store).await;
}

/// Two nodes on one database post into two channels at once, in opposite
/// orders: every post commits (batches lock channels in one order, so they
/// cannot deadlock), with gapless seqs in each channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_batching_into_two_channels_stay_gapless() {
    const EACH: usize = 40;
    let schema = TempSchema::new();
    let one: Arc<dyn Store> = Arc::new(open(&schema).await);
    let two: Arc<dyn Store> = Arc::new(open(&schema).await);
    let w = world(&*one).await;
    let a = channel(&*one, &w, "a").await;
    let b = channel(&*one, &w, "b").await;
    let mut tasks = Vec::new();
    for (n, node) in [one.clone(), two.clone()].into_iter().enumerate() {
        for t in 0..3 {
            let node = node.clone();
            let (first, second) = if (n + t) % 2 == 0 {
                (a.id.clone(), b.id.clone())
            } else {
                (b.id.clone(), a.id.clone())
            };
            let author = if t % 2 == 0 {
                w.alice.clone()
            } else {
                w.owner.clone()
            };
            tasks.push(tokio::spawn(async move {
                for i in 0..EACH {
                    let channel = if i % 2 == 0 { &first } else { &second };
                    node.post_message(msg(channel, &author, &format!("{n}-{t}-{i}")))
                        .await
                        .expect("post");
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("task");
    }
    for c in [&a, &b] {
        let events = one.list_events(&c.id, 0, 1_000).await.expect("events");
        let total = (2 * 3 * EACH / 2) as u64;
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=c.last_seq + total).collect::<Vec<_>>()
        );
    }
    one.close().await;
    two.close().await;
}

/// Retries of one post through two nodes at once, each among other posts
/// (so some share a batch with them): one message for the key, every other
/// post commits, seqs stay gapless.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_through_two_nodes_make_one_message() {
    let schema = TempSchema::new();
    let one: Arc<dyn Store> = Arc::new(open(&schema).await);
    let two: Arc<dyn Store> = Arc::new(open(&schema).await);
    let w = world(&*one).await;
    let c = channel(&*one, &w, "general").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let node = if i % 2 == 0 { one.clone() } else { two.clone() };
        let mut keyed = msg(&c.id, &w.alice, &format!("retry {i}"));
        keyed.client_msg_id = Some("same".into());
        let plain = msg(&c.id, &w.owner, &format!("plain {i}"));
        tasks.push(tokio::spawn(async move {
            let (keyed, plain) = tokio::join!(node.post_message(keyed), node.post_message(plain));
            plain.expect("plain post");
            keyed.expect("keyed post")
        }));
    }
    assert_eq!(new_and_distinct(tasks).await, (1, 1));
    let events = one.list_events(&c.id, 0, 100).await.expect("events");
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=c.last_seq + 13).collect::<Vec<_>>(),
        "the 12 plain posts and one keyed one, gapless"
    );
    one.close().await;
    two.close().await;
}

/// A batch that loses a deadlock is run again, and its posts commit: here
/// another transaction holds the advisory lock of a keyed post (its key as
/// `messages::earlier_post` spells it) and then waits for the channel row the
/// batch locked for an earlier post. PostgreSQL fails the batch's wait (it
/// waited first); the batch rolls back, the other transaction gets the row
/// and ends, and the rerun goes through.
/// (On one thread, so both posts queue before the batch task runs.)
#[tokio::test]
async fn a_batch_that_loses_a_deadlock_runs_again() {
    let schema = TempSchema::new();
    let store = Arc::new(open(&schema).await);
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let other = sql(&schema).await;
    other.batch_execute("BEGIN").await.expect("begin");
    let key = format!("octo-post:{}:k", w.alice.id.as_str());
    other
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&key],
        )
        .await
        .expect("advisory lock");
    let mut keyed = msg(&c.id, &w.alice, "keyed");
    keyed.client_msg_id = Some("k".into());
    let plain = msg(&c.id, &w.owner, "plain");
    let batch = {
        let store = store.clone();
        tokio::spawn(async move {
            let store: &dyn Store = &*store;
            tokio::join!(store.post_message(plain), store.post_message(keyed))
        })
    };
    // Let the batch lock the channel and wait for the advisory lock.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    other
        .execute(
            "UPDATE channels SET topic = topic WHERE id = $1",
            &[&c.id.as_str()],
        )
        .await
        .expect("the channel row, once the batch gave it up");
    other.batch_execute("ROLLBACK").await.expect("rollback");
    let (plain, keyed) = batch.await.expect("task");
    let (plain, keyed) = (plain.expect("plain"), keyed.expect("keyed"));
    let mut seqs = [plain.message.seq, keyed.message.seq];
    seqs.sort_unstable();
    assert_eq!(seqs, [c.last_seq + 1, c.last_seq + 2]);
    Store::close(&*store).await;
}

/// Posts queued when the store closes are answered Closed, the task ends
/// (`close` returns), and later posts are Closed too.
#[tokio::test]
async fn closing_answers_queued_and_later_posts_closed() {
    let schema = TempSchema::new();
    let store = open(&schema).await;
    let w = world(&store).await;
    let c = channel(&store, &w, "general").await;
    let mut queued = vec![
        store.post_message(msg(&c.id, &w.alice, "one")),
        store.post_message(msg(&c.id, &w.alice, "two")),
    ];
    let mut cx = Context::from_waker(Waker::noop());
    for post in &mut queued {
        assert!(post.as_mut().poll(&mut cx).is_pending());
    }
    PgStore::close(&store);
    for post in queued {
        assert!(matches!(post.await, Err(StoreError::Closed)));
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), Store::close(&store))
        .await
        .expect("the post task ends");
    let later = store.post_message(msg(&c.id, &w.alice, "late")).await;
    assert!(matches!(later, Err(StoreError::Closed)), "{later:?}");
}
