//! Three `octo serve` nodes on one PostgreSQL and one NATS, as in production:
//! members on different nodes see the same messages in the same order, sends
//! through every node get one gapless seq, and a node killed with SIGKILL
//! loses nothing for members who move to another node.
//!
//! Needs the machine's PostgreSQL (`OCTO_TEST_POSTGRES`, default
//! postgres://postgres@127.0.0.1:5432/test) and NATS (`OCTO_TEST_NATS`,
//! default nats://127.0.0.1:4222). Each test uses a schema and a subject
//! prefix of its own; a missing service fails the test with a clear message.

mod common;

use common::{OCTO, lines_of};
use octo_client::{Client, SendOptions, SetupResponse};
use octo_client::{Frame, SubscribeOptions, Subscription};
use octo_core::model::Visibility;
use octo_core::{ChannelId, EventKind, Role};
use octo_store_postgres::testing::{TempSchema, test_url};
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn nats_url() -> String {
    std::env::var("OCTO_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

struct Node {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Node {
    fn crash(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cluster's nodes, and the schema they share (dropped last).
struct Cluster {
    nodes: Vec<Node>,
    _schema: TempSchema,
}

/// Starts `n` nodes at once (so they race to migrate) and waits for each to
/// listen.
fn start_cluster(n: usize) -> Cluster {
    let schema = TempSchema::new();
    let prefix = format!("octotest-{:016x}", rand_u64());
    let mut started = Vec::new();
    for _ in 0..n {
        let data = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(OCTO)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            .args(["--database", &test_url(), "--database-schema", &schema.name])
            .args(["--broker", &nats_url(), "--broker-prefix", &prefix])
            .env("OCTO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start octo serve");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        started.push((child, data, lines));
    }
    let nodes = started
        .into_iter()
        .map(|(child, data, lines)| {
            let line = lines.recv_timeout(WAIT).unwrap_or_else(|_| {
                panic!(
                    "a node did not start: PostgreSQL ({}) and NATS ({}) must be reachable",
                    test_url(),
                    nats_url()
                )
            });
            let url = line
                .trim()
                .strip_prefix("octo listening on ")
                .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
                .to_owned();
            Node {
                child,
                url,
                _data: data,
            }
        })
        .collect();
    Cluster {
        nodes,
        _schema: schema,
    }
}

fn rand_u64() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// An org with a channel and `members` who can log in, set up through node 0.
struct World {
    setup: SetupResponse,
    channel: ChannelId,
    tokens: Vec<String>,
}

async fn world(cluster: &Cluster, members: usize) -> World {
    let anon = Client::new(&cluster.nodes[0].url, None);
    let setup = anon
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anon.with_token(&setup.token);
    let space = owner
        .create_space(&setup.org.id, "Eng", Visibility::Open)
        .await
        .expect("space");
    let channel = owner
        .create_channel(&space.id, "general", None, false)
        .await
        .expect("channel");
    let mut tokens = Vec::new();
    for n in 0..members {
        let email = format!("m{n}@acme.test");
        let p = owner
            .add_member(
                &setup.org.id,
                &format!("m{n}"),
                &email,
                "member-pass-1",
                Role::Member,
            )
            .await
            .expect("member");
        owner
            .add_channel_member(&channel.id, &p.id)
            .await
            .expect("join");
        tokens.push(
            anon.login(&email, "member-pass-1")
                .await
                .expect("login")
                .token,
        );
    }
    World {
        setup,
        channel: channel.id,
        tokens,
    }
}

/// The seqs of `count` new messages in `channel`, in the order the
/// subscription yields them.
async fn message_seqs(sub: &mut Subscription, channel: &ChannelId, count: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while seqs.len() < count {
        let frame = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} messages arrived", seqs.len()))
            .expect("subscription open")
            .expect("frame");
        if let Frame::Event(e) = frame
            && e.channel_id == *channel
            && e.kind == EventKind::MessageCreated
        {
            seqs.push(e.seq);
        }
    }
    seqs
}

async fn send(client: &Client, channel: &ChannelId, text: &str) -> u64 {
    client
        .send(channel, text, SendOptions::default())
        .await
        .expect("send")
        .seq
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_on_different_nodes_see_the_same_messages_in_the_same_order() {
    let cluster = start_cluster(3);
    let w = world(&cluster, 2).await;
    let ann = Client::new(&cluster.nodes[0].url, Some(w.tokens[0].clone()));
    let bob = Client::new(&cluster.nodes[2].url, Some(w.tokens[1].clone()));
    let mut ann_sub = ann
        .subscribe(SubscribeOptions::default())
        .await
        .expect("ann subscribes");
    let mut bob_sub = bob
        .subscribe(SubscribeOptions::default())
        .await
        .expect("bob subscribes");

    let per_member = 15;
    let (ann_sent, bob_sent) = tokio::join!(
        async {
            let mut seqs = Vec::new();
            for i in 0..per_member {
                seqs.push(send(&ann, &w.channel, &format!("ann {i}")).await);
            }
            seqs
        },
        async {
            let mut seqs = Vec::new();
            for i in 0..per_member {
                seqs.push(send(&bob, &w.channel, &format!("bob {i}")).await);
            }
            seqs
        }
    );
    let ann_saw = message_seqs(&mut ann_sub, &w.channel, 2 * per_member).await;
    let bob_saw = message_seqs(&mut bob_sub, &w.channel, 2 * per_member).await;
    assert_eq!(ann_saw, bob_saw, "both nodes deliver one order");
    assert!(
        ann_saw.windows(2).all(|p| p[0] < p[1]),
        "in seq order: {ann_saw:?}"
    );
    let sent: HashSet<u64> = ann_sent.into_iter().chain(bob_sent).collect();
    assert_eq!(
        sent,
        ann_saw.iter().copied().collect(),
        "everyone's messages, once"
    );
    drop(w.setup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_through_three_nodes_get_a_gapless_seq() {
    let cluster = start_cluster(3);
    let w = world(&cluster, 3).await;
    let per_sender = 25;
    let mut tasks = Vec::new();
    for (n, token) in w.tokens.iter().enumerate() {
        let client = Client::new(&cluster.nodes[n].url, Some(token.clone()));
        let channel = w.channel.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..per_sender {
                seqs.push(send(&client, &channel, &format!("{n}/{i}")).await);
            }
            seqs
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("sender"));
    }
    let reader = Client::new(&cluster.nodes[1].url, Some(w.setup.token.clone()));
    let events = reader
        .events(&w.channel, 0, 500)
        .await
        .expect("events")
        .items;
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "gapless");
    let created: HashSet<u64> = events
        .iter()
        .filter(|e| e.kind == EventKind::MessageCreated)
        .map(|e| e.seq)
        .collect();
    assert_eq!(created.len(), 3 * per_sender);
    assert_eq!(
        created,
        acked.into_iter().collect(),
        "every acked send, once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_a_killed_node_resume_on_another_with_nothing_lost_or_doubled() {
    let mut cluster = start_cluster(3);
    let w = world(&cluster, 2).await;
    let ann = Client::new(&cluster.nodes[0].url, Some(w.tokens[0].clone()));
    let bob_on_2 = Client::new(&cluster.nodes[1].url, Some(w.tokens[1].clone()));
    let mut bob_sub = bob_on_2
        .subscribe(SubscribeOptions::default())
        .await
        .expect("bob subscribes to node 2");

    let total = 40;
    let sender = {
        let ann = ann.clone();
        let channel = w.channel.clone();
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..total {
                seqs.push(send(&ann, &channel, &format!("ann {i}")).await);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            seqs
        })
    };
    // Bob reads a part on node 2, then node 2 dies mid-traffic.
    let before = message_seqs(&mut bob_sub, &w.channel, 10).await;
    cluster.nodes[1].crash();
    drop(bob_sub);
    // Bob's client moves to node 3 and resumes after the last seq it saw.
    let last = *before.last().expect("some messages");
    let bob_on_3 = Client::new(&cluster.nodes[2].url, Some(w.tokens[1].clone()));
    let mut resumed = bob_on_3
        .subscribe(SubscribeOptions::default().cursor(&w.channel, last))
        .await
        .expect("bob resumes on node 3");
    let sent = sender.await.expect("sender");
    let after = message_seqs(&mut resumed, &w.channel, total - before.len()).await;
    let mut seen = before.clone();
    seen.extend(&after);
    let unique: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "nothing doubled: {seen:?}");
    assert_eq!(seen, sent, "nothing lost, in order");
}
