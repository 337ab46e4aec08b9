//! `octo-client` sending on its WebSocket subscription, against a real server:
//! answers, pipelining from many tasks, refusals with the HTTP API's codes,
//! idempotent retries, and sends that outlive a dropped connection.

mod common;

use common::*;
use futures::future::join_all;
use octo_client::{Client, Frame, SendOptions, Sent, SubscribeOptions, Subscription};
use octo_core::ChannelId;
use octo_server::{RateLimit, ServerConfig};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(20);

/// Enough rate-limit room for a hundred sends and their retries.
fn busy_config() -> ServerConfig {
    ServerConfig {
        rate_limit: RateLimit {
            burst: 100_000,
            per_second: 100_000.0,
        },
        ..ServerConfig::default()
    }
}

fn client(addr: SocketAddr, token: &str) -> Client {
    Client::new(format!("http://{addr}"), Some(token.to_owned()))
}

async fn subscribe(addr: SocketAddr, token: &str) -> Subscription {
    let options = SubscribeOptions {
        backoff_min: Duration::from_millis(10),
        ..SubscribeOptions::default()
    };
    tokio::time::timeout(WAIT, client(addr, token).subscribe(options))
        .await
        .expect("subscribed in time")
        .expect("subscribe")
}

/// Reads the subscription's frames while the test sends (the task that
/// routes the answers also hands over the frames); gives them back on stop.
fn read_frames(mut sub: Subscription) -> (oneshot::Sender<()>, JoinHandle<Vec<Frame>>) {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let reader = tokio::spawn(async move {
        let mut frames = Vec::new();
        let deadline = tokio::time::Instant::now() + 3 * WAIT;
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                () = tokio::time::sleep_until(deadline) => break,
                frame = sub.next() => match frame {
                    Some(Ok(frame)) => frames.push(frame),
                    other => panic!("the subscription ended: {other:?}"),
                },
            }
        }
        frames
    });
    (stop, reader)
}

async fn send(sub: &Subscription, channel: &ChannelId, text: &str) -> octo_client::Result<Sent> {
    send_with(sub, channel, text, SendOptions::default()).await
}

async fn send_with(
    sub: &Subscription,
    channel: &ChannelId,
    text: &str,
    options: SendOptions,
) -> octo_client::Result<Sent> {
    tokio::time::timeout(WAIT, sub.send(channel, text, options))
        .await
        .expect("answered in time")
}

/// The channel's top-level messages, oldest first.
async fn history(
    addr: SocketAddr,
    channel: &ChannelId,
    token: &str,
) -> Vec<octo_core::model::Message> {
    let page = client(addr, token)
        .messages(channel, "limit=500")
        .await
        .expect("history");
    let mut items = page.items;
    items.sort_by_key(|m| m.seq);
    items
}

/// What identifies a message in these tests (timestamps may be stored at
/// another precision than answered).
fn key(m: &octo_core::model::Message) -> (String, u64, String) {
    (m.id.to_string(), m.seq, m.text.clone())
}

/// How many times each text is in history.
fn counts(history: &[octo_core::model::Message]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for m in history {
        *counts.entry(m.text.as_str()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn a_send_is_answered_with_the_message_and_lands_in_history() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let channel = ChannelId::from_string(&ch);
    let sub = subscribe(app.addr, &org.owner_token).await;

    let sent = send(&sub, &channel, "hello over the socket")
        .await
        .expect("sent");
    assert!(!sent.replayed);
    assert_eq!(sent.message.text, "hello over the socket");
    assert_eq!(sent.message.channel_id, channel);
    assert_eq!(sent.message.author_id.as_str(), org.owner_id);
    assert!(
        sent.message.client_msg_id.is_some(),
        "the client gives every send an idempotency key"
    );

    let history = history(app.addr, &channel, &org.owner_token).await;
    let keys: Vec<_> = history.iter().map(key).collect();
    assert_eq!(keys, [key(&sent.message)]);
}

#[tokio::test]
async fn a_hundred_sends_from_several_tasks_are_each_posted_once_in_issue_order() {
    const TASKS: usize = 4;
    const PER_TASK: usize = 25;
    let app = spawn_app_with(busy_config()).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let channel = ChannelId::from_string(&ch);
    let sub = subscribe(app.addr, &org.owner_token).await;
    let handle = sub.handle();
    let (stop, reader) = read_frames(sub);

    // Each task issues its sends all at once (pipelined), in order.
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let handle = handle.clone();
            let channel = channel.clone();
            tokio::spawn(async move {
                let sends = (0..PER_TASK).map(|i| {
                    let handle = handle.clone();
                    let channel = channel.clone();
                    async move {
                        let text = format!("task {t} send {i}");
                        handle.send(&channel, &text, SendOptions::default()).await
                    }
                });
                tokio::time::timeout(WAIT, join_all(sends))
                    .await
                    .expect("every send answered in time")
            })
        })
        .collect();
    let mut all = Vec::new();
    for (t, task) in tasks.into_iter().enumerate() {
        let results = task.await.expect("task");
        let seqs: Vec<u64> = results
            .into_iter()
            .map(|r| r.expect("sent"))
            .inspect(|sent| assert!(!sent.replayed))
            .map(|sent| {
                all.push(sent.message.clone());
                sent.message.seq
            })
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "task {t}'s sends are committed in the order it issued them: {seqs:?}"
        );
    }
    let _ = stop.send(());
    reader.await.expect("reader");

    let history = history(app.addr, &channel, &org.owner_token).await;
    assert_eq!(history.len(), TASKS * PER_TASK);
    let counts = counts(&history);
    for t in 0..TASKS {
        for i in 0..PER_TASK {
            assert_eq!(counts.get(format!("task {t} send {i}").as_str()), Some(&1));
        }
    }
    let in_history: BTreeSet<_> = history.iter().map(key).collect();
    let answered: BTreeSet<_> = all.iter().map(key).collect();
    assert_eq!(in_history, answered, "the answers are the messages");
}

#[tokio::test]
async fn a_refused_send_carries_the_http_code_and_later_sends_still_work() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, private) = space_and_channel(&app, &org, true).await;
    let (_, open) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &open, &bob_id).await;
    let sub = subscribe(app.addr, &bob).await;

    let unknown = ChannelId::from_string("no-such-channel");
    let e = send(&sub, &unknown, "anyone?").await.expect_err("refused");
    assert_eq!(e.code(), Some("not_found"), "{e}");

    // A private channel bob is not in: the same code as over HTTP.
    let http = app
        .post(
            &format!("/channels/{private}/messages"),
            &bob,
            json!({"text": "let me in"}),
        )
        .await;
    assert!(!http.status.is_success());
    let e = send(&sub, &ChannelId::from_string(&private), "let me in")
        .await
        .expect_err("refused");
    assert_eq!(e.code(), Some(http.code()), "{e}");

    // Text over the limit: HTTP's validation code too.
    let long = "x".repeat(16_001);
    let http = app
        .post(
            &format!("/channels/{open}/messages"),
            &bob,
            json!({ "text": long }),
        )
        .await;
    assert_eq!(http.status.as_u16(), 400);
    let open = ChannelId::from_string(&open);
    let e = send(&sub, &open, &long).await.expect_err("refused");
    assert_eq!(e.code(), Some(http.code()), "{e}");

    let sent = send(&sub, &open, "still here").await.expect("sent");
    let keys: Vec<_> = history(app.addr, &open, &bob)
        .await
        .iter()
        .map(key)
        .collect();
    assert_eq!(keys, [key(&sent.message)], "only the good one");
}

#[tokio::test]
async fn a_repeated_client_msg_id_is_replayed_with_the_same_message() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let channel = ChannelId::from_string(&ch);
    let sub = subscribe(app.addr, &org.owner_token).await;
    let options = SendOptions {
        client_msg_id: Some("my-key-1".into()),
        ..SendOptions::default()
    };

    let first = send_with(&sub, &channel, "once", options.clone())
        .await
        .expect("sent");
    let second = send_with(&sub, &channel, "once", options)
        .await
        .expect("sent");
    assert!(!first.replayed);
    assert!(second.replayed);
    assert_eq!(second.message.id, first.message.id);
    assert_eq!(first.message.client_msg_id.as_deref(), Some("my-key-1"));
    assert_eq!(history(app.addr, &channel, &org.owner_token).await.len(), 1);
}

/// A TCP proxy to `upstream` that cuts its first connection the moment the
/// server answers a send on it, before that answer reaches the client: the
/// send is committed, and the client cannot know. Later connections pass
/// through. `cut` says whether that happened.
async fn cutting_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let cut = Arc::new(AtomicBool::new(false));
    let flag = cut.clone();
    tokio::spawn(async move {
        let mut first = true;
        // Bounded: the test makes a handful of connections.
        for _ in 0..20 {
            let Ok((downstream, _)) = listener.accept().await else {
                return;
            };
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            if std::mem::take(&mut first) {
                tokio::spawn(cut_at_first_answer(downstream, server, flag.clone()));
            } else {
                tokio::spawn(async move {
                    let (mut downstream, mut server) = (downstream, server);
                    let _ = tokio::io::copy_bidirectional(&mut downstream, &mut server).await;
                });
            }
        }
    });
    (addr, cut)
}

/// Forwards both ways until the server's bytes hold a `sent` frame, then
/// drops both sockets without forwarding them.
async fn cut_at_first_answer(client: TcpStream, server: TcpStream, cut: Arc<AtomicBool>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Server frames are not masked: the JSON is there as it was written.
        if buf[..n].windows(13).any(|w| w == br#""type":"sent""#) {
            cut.store(true, Ordering::SeqCst);
            break;
        }
        if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    upstream.abort();
}

#[tokio::test]
async fn sends_in_flight_when_the_connection_drops_are_each_posted_once() {
    const SENDS: usize = 50;
    let app = spawn_app_with(busy_config()).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let channel = ChannelId::from_string(&ch);
    let (proxy, cut) = cutting_proxy(app.addr).await;
    let sub = subscribe(proxy, &org.owner_token).await;
    let handle = sub.handle();
    let (stop, reader) = read_frames(sub);

    let sends = (0..SENDS).map(|i| {
        let handle = handle.clone();
        let channel = channel.clone();
        async move {
            let text = format!("send {i}");
            handle.send(&channel, &text, SendOptions::default()).await
        }
    });
    let results = tokio::time::timeout(WAIT, join_all(sends))
        .await
        .expect("every send answered in time");
    assert!(cut.load(Ordering::SeqCst), "the first connection was cut");
    let sent: Vec<Sent> = results.into_iter().map(|r| r.expect("sent")).collect();
    // At least the send whose answer was cut off had been committed: its
    // resend was answered with that message.
    assert!(sent.iter().any(|s| s.replayed), "one resend was replayed");
    let seqs: Vec<u64> = sent.iter().map(|s| s.message.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "committed in the order issued, resends included: {seqs:?}"
    );

    let _ = stop.send(());
    let frames = reader.await.expect("reader");
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::Reconnecting { .. })),
        "the subscription reconnected"
    );

    let history = history(app.addr, &channel, &org.owner_token).await;
    assert_eq!(history.len(), SENDS, "none lost, none doubled");
    let counts = counts(&history);
    for i in 0..SENDS {
        assert_eq!(counts.get(format!("send {i}").as_str()), Some(&1));
    }
    let in_history: Vec<_> = history.iter().map(key).collect();
    let answered: Vec<_> = sent.iter().map(|s| key(&s.message)).collect();
    assert_eq!(
        in_history, answered,
        "each answer is the message in history"
    );
}

/// A TCP proxy to whatever `upstream` names when a connection comes in; with
/// `None` it accepts and hangs up at once, as a server that is down would.
async fn switchable_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Option<SocketAddr>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let target = Arc::new(Mutex::new(Some(upstream)));
    let current = target.clone();
    tokio::spawn(async move {
        // Bounded: reconnects back off, so a test makes a few dozen at most.
        for _ in 0..1000 {
            let Ok((mut downstream, _)) = listener.accept().await else {
                return;
            };
            let upstream = *current.lock().expect("lock");
            let Some(upstream) = upstream else {
                continue;
            };
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut downstream, &mut server).await;
                }
            });
        }
    });
    (addr, target)
}

#[tokio::test]
async fn sends_wait_through_a_server_restart_and_are_each_posted_once() {
    const SENDS: usize = 30;
    let app = spawn_app_with(busy_config()).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let channel = ChannelId::from_string(&ch);
    let (proxy, upstream) = switchable_proxy(app.addr).await;
    let mut sub = subscribe(proxy, &org.owner_token).await;
    let before = send(&sub, &channel, "before").await.expect("sent");

    // The server stops (closing the session with 1001) and nothing answers
    // in its place until the test says so.
    *upstream.lock().expect("lock") = None;
    let app = app.restart().await;
    let handle = sub.handle();
    let sends = tokio::spawn({
        let channel = channel.clone();
        async move {
            let sends = (0..SENDS).map(|i| {
                let handle = handle.clone();
                let channel = channel.clone();
                async move {
                    let text = format!("send {i}");
                    handle.send(&channel, &text, SendOptions::default()).await
                }
            });
            join_all(sends).await
        }
    });
    // Several reconnects fail meanwhile; the sends wait through them.
    let mut failed_attempts = 0;
    while failed_attempts < 3 {
        let frame = tokio::time::timeout(WAIT, sub.next())
            .await
            .expect("a frame in time");
        match frame {
            Some(Ok(Frame::Reconnecting { attempt, .. })) if attempt > 1 => failed_attempts += 1,
            Some(Ok(_)) => {}
            other => panic!("the subscription ended: {other:?}"),
        }
    }
    assert!(!sends.is_finished(), "no send failed while disconnected");

    *upstream.lock().expect("lock") = Some(app.addr);
    let (stop, reader) = read_frames(sub);
    let results = tokio::time::timeout(WAIT, sends)
        .await
        .expect("every send answered in time")
        .expect("task");
    let sent: Vec<Sent> = results.into_iter().map(|r| r.expect("sent")).collect();
    let seqs: Vec<u64> = sent.iter().map(|s| s.message.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "committed in the order issued: {seqs:?}"
    );
    let _ = stop.send(());
    reader.await.expect("reader");

    let history = history(app.addr, &channel, &org.owner_token).await;
    let in_history: Vec<_> = history.iter().map(key).collect();
    let answered: Vec<_> = std::iter::once(key(&before.message))
        .chain(sent.iter().map(|s| key(&s.message)))
        .collect();
    assert_eq!(in_history, answered, "each once, in order");
}
