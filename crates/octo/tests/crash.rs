//! Crash safety: senders retry with `client_msg_id` while the server is killed
//! with SIGKILL and restarted. Afterwards every acknowledged message is there
//! exactly once and the log has no gap.
//!
//! Sizes come from `OCTO_CRASH_SENDERS`, `OCTO_CRASH_MESSAGES` and
//! `OCTO_CRASH_KILLS` (`scripts/crash-test.sh` runs a longer round and prints
//! the counts).

mod common;

use common::start;
use octo_client::{Client, ClientError, SendOptions};
use octo_core::Role;
use octo_core::model::Visibility;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sends until the server acknowledges, retrying on anything but a 4xx.
async fn send_until_acked(
    client: &Client,
    channel: &octo_core::ChannelId,
    text: &str,
    key: &str,
) -> (String, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let options = SendOptions {
            client_msg_id: Some(key.to_owned()),
            ..SendOptions::default()
        };
        match client.send(channel, text, options).await {
            Ok(m) => return (m.id.to_string(), m.seq),
            Err(ClientError::Api { status, code, .. })
                if status.is_client_error() && status != 429 =>
            {
                panic!("the server refused {key}: {status} {code}")
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("gave up on {key}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill_exactly_once() {
    let senders = env_or("OCTO_CRASH_SENDERS", 5);
    let per_sender = env_or("OCTO_CRASH_MESSAGES", 60);
    let kills = env_or("OCTO_CRASH_KILLS", 3);

    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), 0);
    let port = server.port;
    let anon = Client::new(&server.url, None);
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
        .create_channel(&space.id, "load", None, false)
        .await
        .expect("channel");
    let mut clients = Vec::new();
    for n in 0..senders {
        let name = format!("sender{n}");
        let email = format!("{name}@acme.test");
        let p = owner
            .add_member(&setup.org.id, &name, &email, "sender-pass-1", Role::Member)
            .await
            .expect("member");
        owner
            .add_channel_member(&channel.id, &p.id)
            .await
            .expect("join");
        let login = anon.login(&email, "sender-pass-1").await.expect("login");
        clients.push(anon.with_token(login.token));
    }

    // Set once every kill is done.
    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (n, client) in clients.into_iter().enumerate() {
        let channel = channel.id.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            // At least `per_sender` messages, and on until every kill is done,
            // so that each kill lands in the middle of traffic.
            let mut i = 0;
            while i < per_sender || !done.load(Ordering::Relaxed) {
                let key = format!("s{n}-{i}");
                let (id, seq) =
                    send_until_acked(&client, &channel, &format!("message {key}"), &key).await;
                acked.push((key, id, seq));
                i += 1;
            }
            acked
        }));
    }

    // Kill the server mid-traffic, and bring it back on the same port.
    let killer = {
        let done = done.clone();
        let data = data.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut server = server;
            for _ in 0..kills {
                std::thread::sleep(Duration::from_millis(150));
                server.crash();
                server = start(&data, port);
            }
            done.store(true, Ordering::Relaxed);
            server
        })
    };

    let server = killer.await.expect("killer");
    let mut acked: Vec<(String, String, u64)> = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("sender"));
    }

    // Read back the whole channel.
    let reader = Client::new(&server.url, Some(setup.token.clone()));
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page = reader
            .events(&channel.id, after, 500)
            .await
            .expect("events");
        let Some(last) = page.items.last().map(|e| e.seq) else {
            break;
        };
        stored.extend(page.items);
        after = last;
    }
    let seqs: Vec<u64> = stored.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "the log has no gap"
    );
    let mut by_key: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    for e in stored
        .iter()
        .filter(|e| e.kind == octo_core::EventKind::MessageCreated)
    {
        let m = &e.payload["message"];
        let key = m["client_msg_id"].as_str().unwrap_or_default().to_owned();
        by_key
            .entry(key)
            .or_default()
            .push((m["id"].as_str().unwrap_or_default().to_owned(), e.seq));
    }
    for (key, id, seq) in &acked {
        let found = by_key.get(key).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            found,
            [(id.clone(), *seq)],
            "{key} is stored exactly once, as acknowledged"
        );
    }
    assert_eq!(
        by_key.len(),
        acked.len(),
        "no message that was never acknowledged"
    );
    println!(
        "crash test: {} senders, {} SIGKILL restarts mid-traffic; {} acknowledged, {} stored once each, log 1..{} gapless",
        senders,
        kills,
        acked.len(),
        by_key.len(),
        seqs.len()
    );
    server.stop();
}
