//! One very short `compare` round: Octo (the real `octo` binary) and NATS
//! JetStream (the server at `OCTO_BENCH_NATS`, default 127.0.0.1:4222) each
//! deliver every message to every member exactly once, and the ratio line comes
//! last. Asserts counts, never timings. Skips, saying so, when either the octo
//! binary or NATS is not there.

use octo_bench::Config;
use octo_bench::compare::{JetStreamSide, compare};
use octo_bench::jetstream::DEFAULT_NATS_URL;
use std::path::PathBuf;
use std::time::Duration;

fn octo_binary() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = octo_bench::default_octo_path() {
        candidates.push(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    candidates.push(target.join("debug/octo"));
    candidates.into_iter().find(|p| p.is_file())
}

/// Whether something accepts TCP connections where NATS should be.
async fn nats_reachable(url: &str) -> bool {
    let addr = url.strip_prefix("nats://").unwrap_or(url).to_owned();
    matches!(
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_delivers_everything_on_both_systems() -> anyhow::Result<()> {
    let Some(octo) = octo_binary() else {
        println!("skipped: build octo first (cargo build -p octo)");
        return Ok(());
    };
    let url = std::env::var("OCTO_BENCH_NATS").unwrap_or_else(|_| DEFAULT_NATS_URL.to_owned());
    if !nats_reachable(&url).await {
        println!(
            "skipped: no NATS server at {url} (start nats-server -js, or set OCTO_BENCH_NATS)"
        );
        return Ok(());
    }
    let config = Config {
        senders: 1,
        members: 2,
        channels: 1,
        payload: 50,
        duration: Duration::from_secs(1),
        rate: 0.0,
        ..Config::default()
    };
    let report = compare(&config, &octo, &JetStreamSide::shared(&url)).await?;
    let text = report.render();
    print!("{text}");

    let o = &report.octo;
    assert_eq!(o.send_errors, 0, "{:?}", o.first_error);
    assert!(o.sent > 0, "something was sent to Octo");
    assert_eq!(o.expected_deliveries, o.sent * 2, "two members");
    assert_eq!(o.delivered, o.expected_deliveries);
    assert_eq!((o.duplicates, o.members_lost), (0, 0));

    let j = &report.jetstream;
    assert_eq!(j.send_errors, 0, "{:?}", j.first_error);
    assert!(j.sent > 0, "something was published to JetStream");
    assert_eq!(j.expected_deliveries, j.sent * 2, "two members");
    assert_eq!(j.delivered, j.expected_deliveries);
    assert_eq!((j.duplicates, j.members_lost), (0, 0));
    assert_eq!(j.stream_deleted, Ok(()), "the run's stream was deleted");
    assert!(report.complete());

    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("ratios octo/jetstream: throughput=")
            && last.contains(" p99=")
            && last.contains(" deliveries=")
            && last.contains(" rss="),
        "last line: {last}"
    );
    assert_eq!(last, report.ratios().line());
    Ok(())
}
