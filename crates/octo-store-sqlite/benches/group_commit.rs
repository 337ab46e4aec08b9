//! Sustained, persisted `post_message` throughput into SQLite: group commit
//! (many writes per transaction) against one transaction per write, with one
//! and with sixteen concurrent senders. Every counted message was acknowledged,
//! i.e. committed with `synchronous=FULL`.
//!
//! Run: `cargo bench -p octo-store-sqlite --bench group_commit`
//! (`OCTO_BENCH_SECS` and `OCTO_BENCH_MAX` bound each run; the temp dir is
//! made under `OCTO_BENCH_DIR` or the system temp dir).

use octo_core::model::*;
use octo_core::*;
use octo_store::*;
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Run {
    mode: &'static str,
    senders: usize,
    messages: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn set_up(store: &SqliteStore) -> Result<(PrincipalId, ChannelId)> {
    let org = NewOrg {
        id: OrgId::generate(),
        name: "Bench".into(),
        created_at: now(),
    };
    let owner = NewPrincipal {
        id: PrincipalId::generate(),
        org_id: org.id.clone(),
        kind: PrincipalKind::Human,
        name: "owner".into(),
        display_name: None,
        email: Some("owner@example.com".into()),
        password_hash: Some("x".into()),
        role: Role::Owner,
        owner_id: None,
        description: None,
        skills: Vec::new(),
        avatar_url: None,
        created_at: now(),
    };
    let (org, owner) = store.setup(org, owner).await?;
    let channel = NewChannel {
        id: ChannelId::generate(),
        org_id: org.id,
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
    let channel = store.create_channel(channel).await?.value;
    Ok((owner.id, channel.id))
}

async fn run(
    mode: &'static str,
    max_batch: usize,
    senders: usize,
    budget: Duration,
    max: usize,
) -> Result<Run> {
    let base = std::env::var_os("OCTO_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base).map_err(|e| StoreError::Backend(e.to_string()))?;
    let options = SqliteOptions {
        max_batch,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open(dir.path(), options).await?);
    let (author, channel) = set_up(&store).await?;
    let claimed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (store, author, channel, claimed) = (
                store.clone(),
                author.clone(),
                channel.clone(),
                claimed.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while start.elapsed() < budget && claimed.fetch_add(1, Ordering::Relaxed) < max {
                    let m = NewMessage {
                        id: MessageId::generate(),
                        channel_id: channel.clone(),
                        thread_id: None,
                        author_id: author.clone(),
                        author_kind: PrincipalKind::Human,
                        text: "the quick brown fox jumps over the lazy dog".into(),
                        data: None,
                        mentions: Mentions::default(),
                        client_msg_id: None,
                        stream: false,
                        attachments: Vec::new(),
                        created_at: now(),
                    };
                    let sent = Instant::now();
                    store.post_message(m).await?;
                    latencies.push(sent.elapsed());
                }
                Ok::<_, StoreError>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        let mine = t.await.map_err(|e| StoreError::Backend(e.to_string()))??;
        latencies.extend(mine);
    }
    let seconds = start.elapsed().as_secs_f64();
    store.close().await;
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
    };
    Ok(Run {
        mode,
        senders,
        messages: latencies.len(),
        seconds,
        p50: at(0.50).copied().unwrap_or_default(),
        p99: at(0.99).copied().unwrap_or_default(),
    })
}

fn main() -> Result<()> {
    let budget = Duration::from_secs_f64(env_or("OCTO_BENCH_SECS", 3.0));
    let max = env_or("OCTO_BENCH_MAX", 200_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut runs = Vec::new();
    for (mode, max_batch) in [("group commit (512)", 512), ("txn per message", 1)] {
        for senders in [1, 16] {
            runs.push(rt.block_on(run(mode, max_batch, senders, budget, max))?);
        }
    }
    println!(
        "{:<20} {:>7} {:>9} {:>8} {:>10} {:>10} {:>10}",
        "mode", "senders", "messages", "seconds", "msgs/s", "p50 ack", "p99 ack"
    );
    for r in &runs {
        println!(
            "{:<20} {:>7} {:>9} {:>8.2} {:>10.0} {:>10.2?} {:>10.2?}",
            r.mode,
            r.senders,
            r.messages,
            r.seconds,
            r.messages as f64 / r.seconds,
            r.p50,
            r.p99
        );
    }
    Ok(())
}
