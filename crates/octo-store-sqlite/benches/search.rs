//! Full-text search latency over a large corpus: `OCTO_BENCH_MESSAGES`
//! (default 1,000,000) messages of generated words in 50 channels, then
//! `OCTO_BENCH_QUERIES` (default 200) two-word queries through
//! [`Store::search`] as a caller who sees 20 of the channels, one at a time.
//!
//! Words follow a Zipf distribution over a 20,000-word vocabulary, like text.
//! Query words are drawn by frequency from outside the 100 most common words
//! (people search for content words, not "the"); queries with one or two of
//! the ten most common words are timed separately as the worst cases.
//!
//! The corpus is written straight into the database file with rusqlite, in big
//! transactions (the search index is filled by the same triggers the store
//! uses), and the store is then reopened on it.
//!
//! Run: `cargo bench -p octo-store-sqlite --bench search` (the temp dir is made
//! under `OCTO_BENCH_DIR` or the system temp dir, and left in place when
//! `OCTO_BENCH_KEEP` is set).

use octo_core::model::*;
use octo_core::search::SearchTerm;
use octo_core::*;
use octo_store::*;
use octo_store_sqlite::{DB_FILE, SqliteOptions, SqliteStore};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};

const CHANNELS: usize = 50;
const VISIBLE_CHANNELS: usize = 20;
const VOCABULARY: usize = 20_000;
const BATCH: usize = 50_000;
const PAGE: u32 = 20;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Pronounceable made-up words, all distinct.
fn vocabulary(rng: &mut StdRng) -> Vec<String> {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "ba", "do", "fe", "gu", "hi", "jo",
        "pe", "qua", "ri", "so", "tu", "wa", "xe", "yo", "ze",
    ];
    let mut words = std::collections::HashSet::new();
    while words.len() < VOCABULARY {
        let n = rng.random_range(2..=4);
        let word: String = (0..n)
            .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
            .collect();
        words.insert(word);
    }
    let mut words: Vec<String> = words.into_iter().collect();
    words.sort();
    // A fixed but arbitrary frequency order.
    for i in (1..words.len()).rev() {
        words.swap(i, rng.random_range(0..=i));
    }
    words
}

/// Samples ranks `from..` of a Zipf(1) distribution over the vocabulary.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(from: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..VOCABULARY)
            .map(|rank| {
                if rank >= from {
                    total += 1.0 / (rank + 1) as f64;
                }
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative[VOCABULARY - 1];
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(VOCABULARY - 1)
    }
}

async fn set_up(store: &SqliteStore) -> Result<(PrincipalId, Vec<ChannelId>)> {
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
    let mut channels = Vec::new();
    for i in 0..CHANNELS {
        let channel = NewChannel {
            id: ChannelId::generate(),
            org_id: org.id.clone(),
            space_id: None,
            category_id: None,
            kind: ChannelKind::Channel,
            name: Some(format!("channel-{i}")),
            topic: None,
            private: false,
            created_by: owner.id.clone(),
            created_at: now(),
            members: vec![owner.id.clone()],
            dm_key: None,
        };
        channels.push(store.create_channel(channel).await?.value.id);
    }
    Ok((owner.id, channels))
}

/// Writes the corpus directly, in transactions of [`BATCH`] messages.
fn write_corpus(
    path: &Path,
    author: &PrincipalId,
    channels: &[ChannelId],
    words: &[String],
    messages: usize,
    rng: &mut StdRng,
) -> Result<()> {
    let mut conn = rusqlite::Connection::open(path).map_err(backend)?;
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")
        .map_err(backend)?;
    let zipf = Zipf::new(0);
    let mentions = serde_json::to_string(&Mentions::default()).map_err(backend)?;
    // Channel seqs continue after each channel's join event. Only messages
    // are written (the bench only searches), not their events.
    let mut seqs = vec![1_i64; channels.len()];
    let start = now().timestamp_millis() - 365 * 24 * 3600 * 1000;
    let mut text = String::new();
    let mut written = 0;
    while written < messages {
        let tx = conn.transaction().map_err(backend)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO messages (id, channel_id, seq, author_id, text, mentions, hop, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
                )
                .map_err(backend)?;
            for _ in 0..BATCH.min(messages - written) {
                let c = rng.random_range(0..channels.len());
                seqs[c] += 1;
                text.clear();
                for i in 0..rng.random_range(5..=25) {
                    if i > 0 {
                        text.push(' ');
                    }
                    text.push_str(&words[zipf.sample(rng)]);
                }
                insert
                    .execute(rusqlite::params![
                        MessageId::generate().as_str(),
                        channels[c].as_str(),
                        seqs[c],
                        author.as_str(),
                        text,
                        mentions,
                        start + written as i64 * 30,
                    ])
                    .map_err(backend)?;
                written += 1;
            }
        }
        tx.commit().map_err(backend)?;
    }
    // Merge the index segments, as a long-lived index ends up.
    conn.execute_batch(
        "INSERT INTO message_search (message_search) VALUES ('optimize'); PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .map_err(backend)?;
    Ok(())
}

struct Timed {
    latencies: Vec<Duration>,
    hits: usize,
}

impl Timed {
    fn at(&self, q: f64) -> Duration {
        let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1);
        self.latencies[i]
    }
}

async fn time_queries(
    store: &SqliteStore,
    visible: &[ChannelId],
    queries: &[(String, String)],
) -> Result<Timed> {
    let mut latencies = Vec::with_capacity(queries.len());
    let mut hits = 0;
    for (a, b) in queries {
        let request = SearchRequest {
            channels: visible.to_vec(),
            terms: vec![SearchTerm::Word(a.clone()), SearchTerm::Word(b.clone())],
            author: None,
            thread: None,
            has_attachment: None,
            before: None,
            after: None,
            limit: PAGE,
            offset: 0,
        };
        let started = Instant::now();
        let found = store.search(request).await?;
        latencies.push(started.elapsed());
        hits += found.len();
    }
    latencies.sort_unstable();
    Ok(Timed { latencies, hits })
}

fn main() -> Result<()> {
    let messages: usize = env_or("OCTO_BENCH_MESSAGES", 1_000_000);
    let queries: usize = env_or("OCTO_BENCH_QUERIES", 200).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(backend)?;
    let base = std::env::var_os("OCTO_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let temp = tempfile::tempdir_in(base).map_err(backend)?;
    let dir = temp.path().to_owned();
    // Keeps the corpus for a look with the sqlite3 shell.
    let _guard = if std::env::var_os("OCTO_BENCH_KEEP").is_some() {
        println!("keeping {}", temp.keep().display());
        None
    } else {
        Some(temp)
    };
    let mut rng = StdRng::seed_from_u64(7);
    let words = vocabulary(&mut rng);

    let built = Instant::now();
    let store = rt.block_on(SqliteStore::open(dir.as_path(), SqliteOptions::default()))?;
    let (author, channels) = rt.block_on(set_up(&store))?;
    rt.block_on(store.close());
    drop(store);
    write_corpus(
        &dir.as_path().join(DB_FILE),
        &author,
        &channels,
        &words,
        messages,
        &mut rng,
    )?;
    let build_secs = built.elapsed().as_secs_f64();
    let size = std::fs::metadata(dir.as_path().join(DB_FILE))
        .map(|m| m.len())
        .unwrap_or(0);

    let store = rt.block_on(SqliteStore::open(dir.as_path(), SqliteOptions::default()))?;
    let visible = &channels[..VISIBLE_CHANNELS];
    let content = Zipf::new(100);
    let pair = |rng: &mut StdRng, zipf: &Zipf| {
        (
            words[zipf.sample(rng)].clone(),
            words[zipf.sample(rng)].clone(),
        )
    };
    let typical: Vec<_> = (0..queries).map(|_| pair(&mut rng, &content)).collect();
    let common: Vec<_> = (0..10)
        .map(|i| (words[i].clone(), words[(i + 1) % 10].clone()))
        .collect();
    let mixed: Vec<_> = (0..20)
        .map(|i| {
            (
                words[i % 10].clone(),
                words[content.sample(&mut rng)].clone(),
            )
        })
        .collect();
    // Warm the page cache the way a running server's would be.
    let warm: Vec<_> = (0..20).map(|_| pair(&mut rng, &content)).collect();
    rt.block_on(time_queries(&store, visible, &warm))?;
    let t = rt.block_on(time_queries(&store, visible, &typical))?;
    let worst = rt.block_on(time_queries(&store, visible, &common))?;
    let one_common = rt.block_on(time_queries(&store, visible, &mixed))?;
    rt.block_on(store.close());

    println!(
        "corpus: {messages} messages in {CHANNELS} channels, {:.0} MB, built in {build_secs:.1}s; \
         searching {VISIBLE_CHANNELS} channels, page of {PAGE}",
        size as f64 / 1e6
    );
    println!(
        "{:<34} {:>7} {:>9} {:>10} {:>10} {:>10}",
        "queries", "count", "hits/q", "p50", "p99", "max"
    );
    for (name, r) in [
        ("two content words", &t),
        ("a top-10 word and a content word", &one_common),
        ("two of the 10 most common words", &worst),
    ] {
        println!(
            "{:<34} {:>7} {:>9.1} {:>10.2?} {:>10.2?} {:>10.2?}",
            name,
            r.latencies.len(),
            r.hits as f64 / r.latencies.len() as f64,
            r.at(0.50),
            r.at(0.99),
            r.at(1.0),
        );
    }
    Ok(())
}
