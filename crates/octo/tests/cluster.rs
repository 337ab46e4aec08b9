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

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{OCTO, lines_of};
use octo_client::{Client, SendOptions, SetupResponse};
use octo_client::{Frame, SubscribeOptions, Subscription};
use octo_core::model::Visibility;
use octo_core::{ChannelId, EventKind, Role};
use octo_store_postgres::testing::{TempSchema, test_url};
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    prefix: String,
    config: Option<tempfile::NamedTempFile>,
    broker: String,
}

/// Starts `n` nodes at once (so they race to migrate) and waits for each to
/// listen.
fn start_cluster(n: usize) -> Cluster {
    let mut cluster = Cluster {
        nodes: Vec::new(),
        _schema: TempSchema::new(),
        prefix: format!("octotest-{:016x}", rand_u64()),
        config: Some(config_file("")),
        broker: nats_url(),
    };
    let started: Vec<_> = (0..n).map(|_| cluster.spawn()).collect();
    for s in started {
        cluster.nodes.push(listening(s));
    }
    cluster
}

impl Cluster {
    /// Spawns one more node of this cluster (not yet listening).
    fn spawn(&self) -> Spawned {
        let data = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(OCTO);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            .args([
                "--database",
                &test_url(),
                "--database-schema",
                &self._schema.name,
            ])
            .args(["--broker", &self.broker, "--broker-prefix", &self.prefix])
            // The scribe runs as it does by default (OCTO_TEST_CLUSTER_SCRIBE=false
            // turns it off), with a short lease so it starts during the test.
            .env(
                "OCTO_SCRIBE",
                std::env::var("OCTO_TEST_CLUSTER_SCRIBE").unwrap_or_else(|_| "true".into()),
            )
            .env(
                "OCTO_LOG",
                std::env::var("OCTO_TEST_CLUSTER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config.path());
        }
        let mut child = cmd.spawn().expect("start octo serve");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        Spawned { child, data, lines }
    }
}

struct Spawned {
    child: Child,
    data: tempfile::TempDir,
    lines: std::sync::mpsc::Receiver<String>,
}

/// Waits (bounded) for a spawned node's "listening" line.
fn listening(s: Spawned) -> Node {
    let line = s.lines.recv_timeout(WAIT).unwrap_or_else(|_| {
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
        child: s.child,
        url,
        _data: s.data,
    }
}

/// A node's config file: `extra`, and a short scribe lease, so that the
/// scribe (when on) starts within half a second and runs during the test
/// instead of ten seconds after it.
fn config_file(extra: &str) -> tempfile::NamedTempFile {
    let mut config = tempfile::NamedTempFile::new().expect("config file");
    let text = format!("[scribe]\nlease_ms = 1500\n{extra}");
    std::io::Write::write_all(&mut config, text.as_bytes()).expect("write config");
    config
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

/// What the webhook receiver saw: (event id, status answered).
#[derive(Clone, Default)]
struct Hooks {
    seen: Arc<Mutex<Vec<(String, u16)>>>,
    accept: Arc<AtomicBool>,
}

async fn hook(State(h): State<Hooks>, headers: HeaderMap) -> StatusCode {
    let id = headers
        .get("x-octo-event-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let status = if h.accept.load(Ordering::SeqCst) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    h.seen.lock().expect("lock").push((id, status.as_u16()));
    status
}

/// Polls (bounded) until `done` holds for what the receiver saw.
async fn until_seen(h: &Hooks, what: &str, done: impl Fn(&[(String, u16)]) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if done(&h.seen.lock().expect("lock")) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_of_a_killed_sender_are_completed_by_another_node_once_per_event() {
    let config =
        config_file("[limits.agents]\nwebhook_lease_ms = 1000\nwebhook_retry_base_ms = 100\n");
    let mut cluster = Cluster {
        nodes: Vec::new(),
        _schema: TempSchema::new(),
        prefix: format!("octotest-{:016x}", rand_u64()),
        config: Some(config),
        broker: nats_url(),
    };
    // Node 0 starts alone, so it is the one that takes the sender's lease.
    let first = cluster.spawn();
    cluster.nodes.push(listening(first));
    let (db, conn) = tokio_postgres::connect(&test_url(), tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL for the test's own checks");
    tokio::spawn(conn);
    let holder_sql = format!(
        "SELECT holder FROM {}.leases WHERE name = 'webhook-sender'",
        cluster._schema.name
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while db
        .query_opt(&holder_sql, &[])
        .await
        .ok()
        .flatten()
        .is_none()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "node 0 never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let more: Vec<_> = (0..2).map(|_| cluster.spawn()).collect();
    for s in more {
        cluster.nodes.push(listening(s));
    }

    let hooks = Hooks::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook_url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(hooks.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let w = world(&cluster, 0).await;
    let owner = Client::new(&cluster.nodes[1].url, Some(w.setup.token.clone()));
    let agent = owner
        .create_agent(&w.setup.org.id, "hooky", None)
        .await
        .expect("agent");
    owner
        .add_channel_member(&w.channel, &agent.principal.id)
        .await
        .expect("agent joins");
    let put = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/agents/{}/webhook",
            cluster.nodes[1].url, agent.principal.id
        ))
        .bearer_auth(&w.setup.token)
        .json(&serde_json::json!({ "url": hook_url }))
        .send()
        .await
        .expect("set webhook");
    assert!(put.status().is_success(), "{}", put.status());

    for i in 0..3 {
        send(&owner, &w.channel, &format!("@hooky job {i}")).await;
    }
    // Node 0 is trying them (and failing, for now).
    until_seen(&hooks, "attempts of 3 events", |seen| {
        seen.iter().map(|(id, _)| id).collect::<HashSet<_>>().len() == 3
    })
    .await;
    cluster.nodes[0].crash();
    hooks.accept.store(true, Ordering::SeqCst);
    // Another node takes the lease over and completes every delivery.
    until_seen(&hooks, "3 delivered events", |seen| {
        seen.iter()
            .filter(|(_, status)| *status == 200)
            .map(|(id, _)| id)
            .collect::<HashSet<_>>()
            .len()
            == 3
    })
    .await;
    // Give a doubled send the time to show (a retry is due every 100 ms).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = hooks.seen.lock().expect("lock").clone();
    let delivered: Vec<&String> = seen
        .iter()
        .filter(|(_, status)| *status == 200)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(delivered.len(), 3, "each event delivered once: {seen:?}");
    let holder: String = db
        .query_one(&holder_sql, &[])
        .await
        .expect("lease row")
        .get(0);
    assert!(!holder.is_empty());
}

/// A private NATS server on a free port, killed with its test.
struct PrivateNats {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivateNats {
    fn start(port: u16) -> PrivateNats {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new("/usr/sbin/nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/sbin/nats-server runs");
        // Bounded wait until it accepts connections.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        PrivateNats {
            child,
            port,
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_during_traffic_loses_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut nats = PrivateNats::start(port);
    let mut cluster = Cluster {
        nodes: Vec::new(),
        _schema: TempSchema::new(),
        prefix: format!("octotest-{:016x}", rand_u64()),
        config: Some(config_file("")),
        broker: format!("nats://127.0.0.1:{port}"),
    };
    let started: Vec<_> = (0..2).map(|_| cluster.spawn()).collect();
    for s in started {
        cluster.nodes.push(listening(s));
    }
    let w = world(&cluster, 2).await;
    let ann = Client::new(&cluster.nodes[0].url, Some(w.tokens[0].clone()));
    let bob = Client::new(&cluster.nodes[1].url, Some(w.tokens[1].clone()));
    let mut bob_sub = bob
        .subscribe(SubscribeOptions::default())
        .await
        .expect("bob subscribes");

    let total = 40;
    let sender = {
        let channel = w.channel.clone();
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..total {
                seqs.push(send(&ann, &channel, &format!("ann {i}")).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seqs
        })
    };
    // Bob (on the other node) hears some, then NATS dies mid-traffic and
    // comes back.
    let mut seen = message_seqs(&mut bob_sub, &w.channel, 5).await;
    nats.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _nats = PrivateNats::start(nats.port);
    let sent = sender.await.expect("sender");
    seen.extend(message_seqs(&mut bob_sub, &w.channel, total - seen.len()).await);
    assert_eq!(seen, sent, "a delay, not a gap: everything, once, in order");
}

/// Two nodes on one database whose brokers never meet (different NATS
/// prefixes): node 1 hears no signal of node 0, as when the broker loses one.
fn deaf_pair() -> Cluster {
    let mut cluster = Cluster {
        nodes: Vec::new(),
        _schema: TempSchema::new(),
        prefix: format!("octotest-{:016x}", rand_u64()),
        config: Some(config_file("")),
        broker: nats_url(),
    };
    let first = cluster.spawn();
    cluster.nodes.push(listening(first));
    cluster.prefix = format!("octotest-{:016x}", rand_u64());
    let second = cluster.spawn();
    cluster.nodes.push(listening(second));
    cluster
}

/// A refusal on one node never outlives the change that lifts it on another:
/// even with the broker's signal lost (here, two nodes on one database but on
/// different NATS prefixes, so node 1 never hears node 0), a member added to a
/// private channel through node 0 posts at once through node 1, which had
/// refused them (and cached why) a moment before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_through_one_node_posts_at_once_through_another_without_its_signal() {
    let cluster = deaf_pair();

    let w = world(&cluster, 0).await;
    let owner = Client::new(&cluster.nodes[0].url, Some(w.setup.token.clone()));
    let space = owner
        .create_space(&w.setup.org.id, "Ops", Visibility::Open)
        .await
        .expect("space");
    let private = owner
        .create_channel(&space.id, "incidents", None, true)
        .await
        .expect("private channel");
    let carol = owner
        .add_member(
            &w.setup.org.id,
            "carol",
            "carol@acme.test",
            "member-pass-1",
            Role::Member,
        )
        .await
        .expect("carol");
    let token = Client::new(&cluster.nodes[0].url, None)
        .login("carol@acme.test", "member-pass-1")
        .await
        .expect("login")
        .token;
    let carol_on_1 = Client::new(&cluster.nodes[1].url, Some(token));
    let refused = carol_on_1
        .send(&private.id, "let me in", SendOptions::default())
        .await
        .expect_err("not a member yet");
    assert!(
        matches!(&refused, octo_client::ClientError::Api { status, .. }
            if *status == StatusCode::FORBIDDEN || *status == StatusCode::NOT_FOUND),
        "{refused}"
    );

    owner
        .add_channel_member(&private.id, &carol.id)
        .await
        .expect("carol joins");
    let sent = carol_on_1
        .send(&private.id, "thanks, I'm in", SendOptions::default())
        .await
        .expect("a member now, on every node");
    assert_eq!(sent.text, "thanks, I'm in");
}

/// Likewise for triggers: an agent added to a channel through node 0 is woken
/// by its first mention through node 1, whose cached member list (read for an
/// earlier message) predates it and whose broker never told it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_added_through_one_node_is_woken_by_a_mention_through_another_without_its_signal()
{
    let cluster = deaf_pair();

    let w = world(&cluster, 0).await;
    let owner_on_0 = Client::new(&cluster.nodes[0].url, Some(w.setup.token.clone()));
    let owner_on_1 = Client::new(&cluster.nodes[1].url, Some(w.setup.token.clone()));
    let helper = owner_on_0
        .create_agent(&w.setup.org.id, "helper", None)
        .await
        .expect("agent");
    send(&owner_on_1, &w.channel, "node 1 reads who is here").await;
    owner_on_0
        .add_channel_member(&w.channel, &helper.principal.id)
        .await
        .expect("helper joins");

    let agent = Client::new(&cluster.nodes[1].url, Some(helper.token.clone()));
    let mut sub = agent
        .subscribe(SubscribeOptions::default())
        .await
        .expect("helper subscribes on node 1");
    let mention = send(&owner_on_1, &w.channel, "@helper please look at this").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, sub.next())
            .await
            .expect("helper is woken by its mention")
            .expect("subscription open")
            .expect("frame");
        if let Frame::Trigger { event, .. } = frame {
            assert_eq!(event.seq, mention);
            break;
        }
    }
}
