//! The NATS broker against real NATS servers: the machine's (127.0.0.1:4222,
//! or `OCTO_TEST_NATS`), each test under a subject prefix of its own, and a
//! private `nats-server` started by the test where it must be killed.

use octo_broker::{Broker, Presence, Signal, Subscription};
use octo_broker_nats::{NatsBroker, NatsOptions};
use octo_core::{ChannelId, Event, EventId, EventKind, OrgId, PrincipalId};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::TryRecvError;

const WAIT: Duration = Duration::from_secs(10);

fn nats_url() -> String {
    std::env::var("OCTO_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn options(prefix: &str) -> NatsOptions {
    NatsOptions {
        prefix: prefix.into(),
        ..NatsOptions::default()
    }
}

fn unique_prefix() -> String {
    format!("octotest-{:016x}", rand::random::<u64>())
}

async fn connect(url: &str, prefix: &str) -> NatsBroker {
    NatsBroker::connect(url, options(prefix))
        .await
        .unwrap_or_else(|e| panic!("NATS at {url} is needed for these tests (OCTO_TEST_NATS): {e}"))
}

fn event(channel: &ChannelId, seq: u64) -> Signal {
    Signal::Event(Arc::new(Event {
        id: EventId::generate(),
        channel_id: channel.clone(),
        seq,
        kind: EventKind::MessageCreated,
        at: chrono::Utc::now(),
        actor: PrincipalId::from_string("p"),
        payload: serde_json::json!({ "n": seq }),
    }))
}

fn presence() -> Signal {
    Signal::Presence {
        node: "n1".into(),
        org_id: OrgId::from_string("o"),
        principal_id: PrincipalId::from_string("p"),
        status: Presence::Online,
    }
}

/// The next signal that is not a resync (connecting raises one).
async fn next_signal(sub: &mut Subscription) -> Signal {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = tokio::time::timeout_at(deadline, sub.recv())
            .await
            .expect("a signal within the wait")
            .expect("the subscription is open");
        if got != Signal::Resync {
            return got;
        }
    }
}

/// Publishes `probe` until the receiver gets it back (NATS applies a
/// subscription asynchronously), then drains what is still on the way.
async fn barrier(sender: &NatsBroker, sub: &mut Subscription, probe: Signal) {
    let mut through = false;
    for _ in 0..50 {
        sender.publish(probe.clone()).await.expect("publish");
        if let Ok(Ok(got)) = tokio::time::timeout(Duration::from_millis(200), sub.recv()).await
            && got == probe
        {
            through = true;
            break;
        }
    }
    assert!(through, "signals never got through");
    tokio::time::sleep(Duration::from_millis(300)).await;
    while sub.try_recv().is_ok() {}
}

fn seq_of(signal: &Signal) -> u64 {
    match signal {
        Signal::Event(e) => e.seq,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_node_receives_only_the_channels_it_has_interest_in() {
    let prefix = unique_prefix();
    let url = nats_url();
    let sender = connect(&url, &prefix).await;
    let receiver = connect(&url, &prefix).await;
    let wanted = ChannelId::generate();
    let other = ChannelId::generate();
    receiver.interest(&wanted, true).await;
    let mut sub = receiver.subscribe();
    // NATS applies a subscription asynchronously; a flush round trip on the
    // receiver's connection is not exposed, so send until the first arrives.
    let mut first = None;
    for attempt in 1..=50u64 {
        sender
            .publish(event(&wanted, attempt))
            .await
            .expect("publish");
        if let Ok(Ok(got)) = tokio::time::timeout(Duration::from_millis(200), sub.recv()).await
            && got != Signal::Resync
        {
            first = Some(seq_of(&got));
            break;
        }
    }
    let first = first.expect("the wanted channel's events arrive");
    // Drain whatever of the probing is still on the way.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while sub.try_recv().is_ok() {}

    sender.publish(event(&other, 1)).await.expect("publish");
    sender.publish(event(&wanted, 1000)).await.expect("publish");
    sender.publish(presence()).await.expect("publish");
    assert_eq!(seq_of(&next_signal(&mut sub).await), 1000);
    assert_eq!(next_signal(&mut sub).await, presence());
    assert!(first >= 1);
    assert!(
        matches!(sub.try_recv(), Err(TryRecvError::Empty)),
        "nothing of the channel without interest"
    );

    // Interest is counted: one holder letting go keeps the subscription.
    receiver.interest(&wanted, true).await;
    receiver.interest(&wanted, false).await;
    assert_eq!(receiver.subscribed_channels(), 1);
    receiver.interest(&wanted, false).await;
    assert_eq!(receiver.subscribed_channels(), 0);
}

#[tokio::test]
async fn one_channels_events_arrive_in_publish_order() {
    let prefix = unique_prefix();
    let url = nats_url();
    let sender = connect(&url, &prefix).await;
    let receiver = connect(&url, &prefix).await;
    let channel = ChannelId::generate();
    receiver.interest(&channel, true).await;
    let mut sub = receiver.subscribe();
    barrier(&sender, &mut sub, event(&channel, 0)).await;
    for seq in 1..=200 {
        sender.publish(event(&channel, seq)).await.expect("publish");
    }
    let mut seen = Vec::new();
    while seen.len() < 200 {
        seen.push(seq_of(&next_signal(&mut sub).await));
    }
    assert_eq!(seen, (1..=200).collect::<Vec<_>>());
}

/// A private NATS server, killed with its test.
struct PrivateNats {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivateNats {
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    fn start(port: u16, dir: tempfile::TempDir) -> PrivateNats {
        let child = Command::new("/usr/sbin/nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/sbin/nats-server runs");
        PrivateNats {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server and starts a new one on the same port.
    fn restart(mut self) -> PrivateNats {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("temp dir");
        PrivateNats::start(self.port, dir)
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect_when_up(url: &str, prefix: &str) -> NatsBroker {
    for _ in 0..50 {
        if let Ok(b) = NatsBroker::connect(url, options(prefix)).await {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the private nats-server at {url} did not come up");
}

#[tokio::test]
async fn a_nats_restart_makes_the_node_reread_the_log_and_delivery_resumes() {
    let server = PrivateNats::start(
        PrivateNats::free_port(),
        tempfile::tempdir().expect("temp dir"),
    );
    let url = server.url();
    let prefix = unique_prefix();
    let sender = connect_when_up(&url, &prefix).await;
    let receiver = connect_when_up(&url, &prefix).await;
    let mut sub = receiver.subscribe();
    // Signals flow, and the resync of the first connect is behind us.
    barrier(&sender, &mut sub, presence()).await;

    let server = server.restart();
    // Both reconnect on their own; the receiver tells its sessions that
    // whatever was published meanwhile must be read from the log.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = tokio::time::timeout_at(deadline, sub.recv())
            .await
            .expect("a resync after the restart")
            .expect("open");
        if got == Signal::Resync {
            break;
        }
    }
    // Signals flow again after the reconnect (the sender may need a moment).
    let mut delivered = false;
    for _ in 0..100 {
        let _ = sender.publish(presence()).await;
        if let Ok(Ok(got)) = tokio::time::timeout(Duration::from_millis(200), sub.recv()).await
            && got == presence()
        {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "signals flow after NATS came back");
    drop(server);
}
