//! `octo-bench context`: how long `GET /channels/{id}/context` takes on a long
//! thread (issue 10: a context window from a 10,000-message thread).
//!
//! Starts `octo serve`, posts a root and `replies` replies into one thread over
//! the API, then asks for the thread's context `requests` times per budget,
//! one request at a time, and prints the round-trip latency as the client saw
//! it (loopback HTTP included, so an upper bound of the server's time).

use crate::{Latency, Server, fmt_dur, post, setup_org, str_at};
use anyhow::{Context, Result, anyhow};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// Posts in flight while filling the thread.
const FILL_CONCURRENCY: usize = 8;

pub struct ContextConfig {
    pub replies: usize,
    pub requests: usize,
    /// Token budgets to measure, each `requests` times.
    pub budgets: Vec<usize>,
    pub setup_timeout: Duration,
    pub send_queue: usize,
}

pub struct ContextReport {
    pub replies: usize,
    pub fill: Duration,
    /// Per budget: latency, and the messages the window kept.
    pub rows: Vec<(usize, Latency, u64)>,
}

impl ContextReport {
    pub fn print(&self) {
        println!(
            "thread:           1 root + {} replies, posted in {:.2} s",
            self.replies,
            self.fill.as_secs_f64()
        );
        for (budget, l, kept) in &self.rows {
            println!(
                "context window:   max_tokens {budget}: {} requests, {kept} messages kept; p50 {}, p99 {}, max {}",
                l.count,
                fmt_dur(l.p50),
                fmt_dur(l.p99),
                fmt_dur(l.max)
            );
        }
    }
}

pub async fn run_context(config: &ContextConfig, octo: &Path) -> Result<ContextReport> {
    let server = Server::start(octo, config.setup_timeout, config.send_queue, None).await?;
    let report = round(config, &server).await;
    let stopped = server.stop().await;
    let report = report?;
    stopped?;
    Ok(report)
}

async fn round(config: &ContextConfig, server: &Server) -> Result<ContextReport> {
    let org = setup_org(&server.url).await?;
    let space = post(
        &org.owner,
        &format!("/orgs/{}/spaces", org.org),
        json!({"name": "bench", "visibility": "open"}),
    )
    .await?;
    let space = str_at(&space, "/id")?;
    let ch = post(
        &org.owner,
        &format!("/spaces/{space}/channels"),
        json!({"name": "long-thread"}),
    )
    .await?;
    let ch = str_at(&ch, "/id")?;
    let path = format!("/channels/{ch}/messages");
    let root = post(
        &org.owner,
        &path,
        json!({"text": "root: what should we ship in the next release?"}),
    )
    .await?;
    let root = str_at(&root, "/id")?;

    let started = Instant::now();
    let results: Vec<Result<Value>> = futures::stream::iter(0..config.replies)
        .map(|i| {
            let (path, root, owner) = (&path, &root, &org.owner);
            async move {
                let text = format!(
                    "reply {i}: I looked at the numbers again and think item {} matters most",
                    i % 97
                );
                post(owner, path, json!({"text": text, "thread_id": root})).await
            }
        })
        .buffer_unordered(FILL_CONCURRENCY)
        .collect()
        .await;
    results
        .into_iter()
        .try_for_each(|r| r.map(drop))
        .context("filling the thread")?;
    let fill = started.elapsed();

    let mut rows = Vec::new();
    for &budget in &config.budgets {
        let url = format!("/channels/{ch}/context?thread_id={root}&max_tokens={budget}");
        // The first call builds the tokenizer: not measured.
        let _: Value = get(&org.owner, &url).await?;
        let mut nanos = Vec::with_capacity(config.requests);
        let mut kept = 0;
        for _ in 0..config.requests {
            let t = Instant::now();
            let answer: Value = get(&org.owner, &url).await?;
            nanos.push(t.elapsed().as_nanos() as u64);
            kept = answer["kept"]
                .as_u64()
                .ok_or_else(|| anyhow!("no kept in the context answer"))?;
        }
        rows.push((budget, Latency::of(nanos), kept));
    }
    Ok(ContextReport {
        replies: config.replies,
        fill,
        rows,
    })
}

async fn get(client: &octo_client::Client, path: &str) -> Result<Value> {
    tokio::time::timeout(crate::REQUEST_TIMEOUT, client.call(Method::GET, path, None))
        .await
        .map_err(|_| anyhow!("GET {path}: no answer in time"))?
        .with_context(|| format!("GET {path}"))
}
