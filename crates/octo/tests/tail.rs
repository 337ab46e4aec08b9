//! Real-time through the public client against the real `octo` binary: a
//! subscription sees what others send, resumes across a server restart without
//! losing or repeating anything, and `octo tail` prints a channel live.

mod common;

use common::{OCTO, lines_of, start};
use octo_client::{
    Client, ClientError, Frame, PresenceStatus, SendOptions, SubscribeOptions, Subscription,
};
use octo_core::model::{Channel, Visibility};
use octo_core::perm::Role;
use octo_core::{ChannelId, Event, EventKind};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// An org with an owner (olivia) and a member (bob), both in Eng/general.
struct World {
    owner: Client,
    owner_token: String,
    bob: Client,
    bob_token: String,
    channel: Channel,
}

impl World {
    /// Bob on a fresh connection pool: after a restart the old pool may hold
    /// connections the stopped server closed.
    fn bob_at(&self, url: &str) -> Client {
        Client::new(url, Some(self.bob_token.clone()))
    }
}

async fn world(url: &str) -> World {
    let anon = Client::new(url, None);
    let setup = anon
        .setup("Acme", "olivia", "olivia@acme.test", "owner-pass-1")
        .await
        .expect("setup");
    let owner = anon.with_token(&setup.token);
    let bob = owner
        .add_member(
            &setup.org.id,
            "bob",
            "bob@acme.test",
            "bob-pass-123",
            Role::Member,
        )
        .await
        .expect("add bob");
    let bob_token = anon
        .login("bob@acme.test", "bob-pass-123")
        .await
        .expect("bob logs in")
        .token;
    let space = owner
        .create_space(&setup.org.id, "Eng", Visibility::Open)
        .await
        .expect("space");
    let channel = owner
        .create_channel(&space.id, "general", None, false)
        .await
        .expect("channel");
    owner
        .add_channel_member(&channel.id, &bob.id)
        .await
        .expect("add bob to general");
    World {
        owner,
        owner_token: setup.token,
        bob: anon.with_token(&bob_token),
        bob_token,
        channel,
    }
}

/// The channel's newest seq right now.
async fn last_seq(client: &Client, channel: &ChannelId) -> u64 {
    let events = client.events(channel, 0, 500).await.expect("events");
    events.items.last().map_or(0, |e| e.seq)
}

async fn send_all(client: &Client, channel: &ChannelId, texts: &[String]) {
    for text in texts {
        client
            .send(channel, text, SendOptions::default())
            .await
            .expect("send");
    }
}

fn texts(prefix: &str, range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("{prefix} {i}")).collect()
}

/// Everything a subscription yields within `wait`, until `done` says enough.
async fn collect(
    sub: &mut Subscription,
    wait: Duration,
    mut done: impl FnMut(&[Frame]) -> bool,
) -> Vec<Frame> {
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while !done(&frames) {
        match tokio::time::timeout_at(deadline, sub.next()).await {
            Err(_) => break,
            Ok(Some(Ok(frame))) => frames.push(frame),
            Ok(Some(Err(e))) => panic!("the subscription failed: {e}"),
            Ok(None) => panic!("the subscription ended"),
        }
    }
    frames
}

/// The `message.created` events of `channel` among `frames`.
fn messages<'a>(frames: &'a [Frame], channel: &ChannelId) -> Vec<&'a Event> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Event(e) if e.channel_id == *channel && e.kind == EventKind::MessageCreated => {
                Some(e)
            }
            _ => None,
        })
        .collect()
}

fn text_of(event: &Event) -> &str {
    event.payload["message"]["text"].as_str().unwrap_or("")
}

/// Every event of `channel` among `frames`, checked to be one seq after the
/// other, starting right after `after`.
fn assert_contiguous(frames: &[Frame], channel: &ChannelId, after: u64) -> u64 {
    let seqs: Vec<u64> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Event(e) if e.channel_id == *channel => Some(e.seq),
            _ => None,
        })
        .collect();
    let expected: Vec<u64> = (after + 1..after + 1 + seqs.len() as u64).collect();
    assert_eq!(
        seqs, expected,
        "each event once, in seq order, none missing"
    );
    seqs.last().copied().unwrap_or(after)
}

#[tokio::test]
async fn a_subscription_sees_what_another_member_sends_in_order() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let w = world(&server.url).await;
    let start_seq = last_seq(&w.owner, &w.channel.id).await;

    let mut sub = w
        .owner
        .subscribe(SubscribeOptions::default().cursor(&w.channel.id, start_seq))
        .await
        .expect("subscribe");
    let ready = collect(&mut sub, WAIT, |f| !f.is_empty()).await;
    assert!(
        matches!(&ready[..], [Frame::Ready { channels, .. }]
            if channels.iter().any(|c| c.channel_id == w.channel.id && c.from_seq == start_seq)),
        "ready comes first and starts general at the cursor: {ready:?}"
    );

    let sent = texts("from bob", 1..=20);
    send_all(&w.bob, &w.channel.id, &sent).await;
    let frames = collect(&mut sub, WAIT, |f| messages(f, &w.channel.id).len() >= 20).await;
    let got: Vec<&str> = messages(&frames, &w.channel.id)
        .into_iter()
        .map(text_of)
        .collect();
    assert_eq!(got, sent);
    assert_contiguous(&frames, &w.channel.id, start_seq);
    let bob_id = w.bob.me().await.expect("me").principal.id;
    assert!(
        messages(&frames, &w.channel.id)
            .iter()
            .all(|e| e.actor == bob_id)
    );
    server.stop();
}

#[tokio::test]
async fn a_subscription_resumes_across_a_server_restart_without_loss_or_repeats() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let url = server.url.clone();
    let port = server.port;
    let w = world(&url).await;
    let start_seq = last_seq(&w.owner, &w.channel.id).await;

    let mut sub = w
        .owner
        .subscribe(SubscribeOptions::default().cursor(&w.channel.id, start_seq))
        .await
        .expect("subscribe");
    let before = texts("before", 1..=10);
    send_all(&w.bob, &w.channel.id, &before).await;
    let frames = collect(&mut sub, WAIT, |f| messages(f, &w.channel.id).len() >= 10).await;
    let got: Vec<&str> = messages(&frames, &w.channel.id)
        .into_iter()
        .map(text_of)
        .collect();
    assert_eq!(got, before);
    let seen = assert_contiguous(&frames, &w.channel.id, start_seq);

    // The server goes away; nothing is sent while it is down.
    server.stop();
    let down = collect(&mut sub, WAIT, |f| {
        f.iter().any(|f| matches!(f, Frame::Reconnecting { .. }))
    })
    .await;
    assert!(
        down.iter().any(|f| matches!(f, Frame::Reconnecting { .. })),
        "the subscription notices the server left: {down:?}"
    );
    assert!(messages(&down, &w.channel.id).is_empty());

    // Down long enough for a few attempts to fail.
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Same port, same data; 50 more messages, right away.
    let server = start(data.path(), port);
    assert_eq!(server.url, url);
    let after = texts("after", 1..=50);
    send_all(&w.bob_at(&url), &w.channel.id, &after).await;

    let frames = collect(&mut sub, WAIT, |f| messages(f, &w.channel.id).len() >= 50).await;
    assert!(
        frames.iter().any(|f| matches!(f, Frame::Ready { .. })),
        "a new session started: {frames:?}"
    );
    assert!(
        down.iter()
            .chain(&frames)
            .any(|f| matches!(f, Frame::Reconnecting { attempt, .. } if *attempt >= 2)),
        "it kept trying while the server was down"
    );
    let got: Vec<&str> = messages(&frames, &w.channel.id)
        .into_iter()
        .map(text_of)
        .collect();
    assert_eq!(got, after, "exactly the missing messages, in order");
    let last = assert_contiguous(&frames, &w.channel.id, seen);
    assert_eq!(last, last_seq(&w.bob_at(&url), &w.channel.id).await);

    // And nothing more: no copies trickle in later.
    let extra = collect(&mut sub, Duration::from_millis(500), |_| false).await;
    assert!(
        extra.iter().all(|f| !matches!(f, Frame::Event(_))),
        "no event twice: {extra:?}"
    );
    server.stop();
}

#[tokio::test]
async fn a_bad_token_is_refused_instead_of_retried() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let _ = world(&server.url).await;
    let stranger = Client::new(&server.url, Some("octo_not_a_real_token".into()));
    let refused = tokio::time::timeout(WAIT, stranger.subscribe(SubscribeOptions::default()))
        .await
        .expect("answered in time");
    match refused {
        Err(ClientError::Rejected { code, .. }) => assert_eq!(code, 4401),
        Err(other) => panic!("expected a 4401 refusal, got {other}"),
        Ok(_) => panic!("a bad token must not subscribe"),
    }
    server.stop();
}

#[tokio::test]
async fn auto_ack_lets_the_next_session_start_where_the_last_one_stopped() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let w = world(&server.url).await;
    // A channel bob can see but has not joined: acks there are refused by the
    // server, which must not surface as errors of bob's subscription.
    let space = w.channel.space_id.clone().expect("space");
    let random = w
        .owner
        .create_channel(&space, "random", None, false)
        .await
        .expect("random");
    w.owner
        .send(&w.channel.id, "before bob listens", SendOptions::default())
        .await
        .expect("send");

    let mut sub = w
        .bob
        .subscribe(SubscribeOptions::default().auto_ack(true))
        .await
        .expect("subscribe");
    w.owner
        .send(&random.id, "bob is not in here", SendOptions::default())
        .await
        .expect("send");
    let sent = texts("for bob", 1..=5);
    send_all(&w.owner, &w.channel.id, &sent).await;
    let frames = collect(&mut sub, WAIT, |f| {
        messages(f, &w.channel.id)
            .last()
            .is_some_and(|e| text_of(e) == "for bob 5")
    })
    .await;
    assert_eq!(
        messages(&frames, &random.id).len(),
        1,
        "bob sees random too"
    );
    let last = messages(&frames, &w.channel.id)
        .last()
        .map(|e| e.seq)
        .expect("events");
    // Acks go out within ~200 ms.
    let quiet = collect(&mut sub, Duration::from_millis(600), |_| false).await;
    let errors: Vec<_> = frames
        .iter()
        .chain(&quiet)
        .filter(|f| matches!(f, Frame::Error { .. }))
        .collect();
    assert!(errors.is_empty(), "no errors for bob: {errors:?}");
    drop(sub);

    // A new session without cursors resumes from what was acked.
    let mut again = w
        .bob
        .subscribe(SubscribeOptions::default())
        .await
        .expect("subscribe again");
    let ready = collect(&mut again, WAIT, |f| !f.is_empty()).await;
    match &ready[..] {
        [Frame::Ready { channels, .. }] => {
            let general = channels
                .iter()
                .find(|c| c.channel_id == w.channel.id)
                .expect("general in ready");
            assert_eq!(general.from_seq, last, "starts after the last event seen");
        }
        other => panic!("expected ready, got {other:?}"),
    }
    let replayed = collect(&mut again, Duration::from_millis(300), |_| false).await;
    assert!(messages(&replayed, &w.channel.id).is_empty());
    server.stop();
}

#[tokio::test]
async fn typing_and_presence_reach_the_other_members() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let w = world(&server.url).await;
    let bob_id = w.bob.me().await.expect("me").principal.id;
    let mut olivia = w
        .owner
        .subscribe(SubscribeOptions::default())
        .await
        .expect("olivia subscribes");
    let mut bob = w
        .bob
        .subscribe(SubscribeOptions::default())
        .await
        .expect("bob subscribes");
    // Typing is ephemeral: sent before bob's session is ready, it is dropped.
    collect(&mut bob, WAIT, |f| {
        f.iter().any(|f| matches!(f, Frame::Ready { .. }))
    })
    .await;

    bob.typing(&w.channel.id, None).expect("typing");
    let frames = collect(&mut olivia, WAIT, |f| {
        f.iter().any(|f| matches!(f, Frame::Typing { .. }))
    })
    .await;
    assert!(
        frames.iter().any(|f| matches!(f,
            Frame::Typing { channel_id, principal_id, thread_id: None }
                if *channel_id == w.channel.id && *principal_id == bob_id)),
        "olivia sees bob typing: {frames:?}"
    );

    bob.set_presence(PresenceStatus::Away).expect("presence");
    let frames = collect(&mut olivia, WAIT, |f| {
        f.iter().any(|f| {
            matches!(
                f,
                Frame::Presence {
                    status: PresenceStatus::Away,
                    ..
                }
            )
        })
    })
    .await;
    assert!(
        frames.iter().any(|f| matches!(f,
            Frame::Presence { principal_id, status: PresenceStatus::Away } if *principal_id == bob_id)),
        "olivia sees bob away: {frames:?}"
    );

    // Once bob's subscription is gone, typing on it says so.
    let handle = bob.handle();
    drop(bob);
    let mut ended = false;
    for _ in 0..100 {
        if handle.typing(&w.channel.id, None).is_err() {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ended, "a dropped subscription stops taking frames");
    server.stop();
}

/// `octo tail` as a child process; killed when dropped.
struct Tail {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tail {
    fn spawn(url: &str, token: &str, args: &[&str]) -> Tail {
        let config = std::env::temp_dir().join("octo-tail-test-no-login");
        let mut child = Command::new(OCTO)
            .arg("tail")
            .args(args)
            .env("OCTO_URL", url)
            .env("OCTO_TOKEN", token)
            .env("OCTO_CONFIG_DIR", config)
            .env("OCTO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start octo tail");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        Tail { child, lines }
    }

    /// The next line printed, within the time limit.
    fn line(&mut self) -> String {
        match self.lines.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(_) => {
                let status = self.child.try_wait().ok().flatten();
                panic!("octo tail printed nothing within {WAIT:?} (exit: {status:?})");
            }
        }
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn octo_tail_from_start_prints_history_then_live_messages_across_a_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let port = server.port;
    let w = world(&server.url).await;
    let history = [
        ("olivia", &w.owner, "good morning"),
        ("bob", &w.bob, "morning! standup at 10?"),
        ("olivia", &w.owner, "yes"),
    ];
    for (_, client, text) in &history {
        client
            .send(&w.channel.id, text, SendOptions::default())
            .await
            .expect("send");
    }
    let page = w.owner.messages(&w.channel.id, "").await.expect("history");
    let seqs: Vec<u64> = page.items.iter().map(|m| m.seq).collect();

    let mut tail = Tail::spawn(
        &server.url,
        &w.owner_token,
        &["Eng/general", "--from-start"],
    );
    // The log starts with membership events; the messages come in order.
    let mut printed = Vec::new();
    while printed.len() < history.len() {
        let line = tail.line();
        if line.contains(": ") {
            printed.push(line);
        }
    }
    let expected: Vec<String> = history
        .iter()
        .zip(&seqs)
        .map(|((who, _, text), seq)| format!("[{seq}] @{who}: {text}"))
        .collect();
    assert_eq!(printed, expected);

    // Live, by another member.
    let live = w
        .bob
        .send(&w.channel.id, "anyone here?", SendOptions::default())
        .await
        .expect("send");
    assert_eq!(tail.line(), format!("[{}] @bob: anyone here?", live.seq));

    // The server restarts; tail keeps going and misses nothing.
    server.stop();
    let server = start(data.path(), port);
    let back = w
        .bob_at(&server.url)
        .send(&w.channel.id, "back online", SendOptions::default())
        .await
        .expect("send after restart");
    assert_eq!(tail.line(), format!("[{}] @bob: back online", back.seq));
    drop(tail);
    server.stop();
}
