//! One very short bench round against the real `octo` binary: everything sent
//! is acknowledged and delivered exactly once to every member. Asserts counts,
//! never timings.

use octo_bench::{Config, run};
use std::path::PathBuf;
use std::time::Duration;

/// `octo` from the same cargo target directory (built by `cargo build -p octo`,
/// or by `cargo nextest run --workspace` for octo's own tests).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_round_delivers_everything_once() -> anyhow::Result<()> {
    let Some(octo) = octo_binary() else {
        println!("skipped: build octo first (cargo build -p octo)");
        return Ok(());
    };
    let config = Config {
        senders: 1,
        members: 2,
        channels: 2,
        payload: 50,
        duration: Duration::from_secs(1),
        rate: 0.0,
        ..Config::default()
    };
    let report = run(&config, &octo).await?;
    report.print();
    assert_eq!(report.send_errors, 0, "{:?}", report.first_error);
    assert!(report.sent > 0, "something was sent");
    assert_eq!(report.ack.count as u64, report.sent);
    assert_eq!(
        report.expected_deliveries,
        report.sent * 2,
        "two members per channel"
    );
    assert_eq!(report.delivered, report.expected_deliveries);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.members_lost, 0);
    assert!(report.server_end.hwm >= report.server_end.rss && report.server_end.rss > 0);
    Ok(())
}

/// The same with the senders on WebSockets (`send` frames): every `sent` is a
/// message that reaches every member once, and the senders' own sockets, which
/// follow no channel, take none of the fan-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_round_sending_over_websockets_delivers_everything_once() -> anyhow::Result<()> {
    let Some(octo) = octo_binary() else {
        println!("skipped: build octo first (cargo build -p octo)");
        return Ok(());
    };
    let config = Config {
        senders: 2,
        members: 2,
        channels: 2,
        payload: 50,
        duration: Duration::from_secs(1),
        rate: 0.0,
        send_over: octo_bench::SendOver::Ws,
        ..Config::default()
    };
    let report = run(&config, &octo).await?;
    let text = report.render();
    print!("{text}");
    assert!(text.contains("WebSocket send"), "the report says how");
    assert_eq!(report.send_errors, 0, "{:?}", report.first_error);
    assert!(report.sent > 0, "something was sent");
    assert_eq!(report.ack.count as u64, report.sent);
    assert_eq!(report.expected_deliveries, report.sent * 2);
    assert_eq!(report.delivered, report.expected_deliveries);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.members_lost, 0);
    Ok(())
}

/// Three nodes on the machine's PostgreSQL and NATS (`OCTO_TEST_POSTGRES`,
/// `OCTO_TEST_NATS` to point elsewhere on loopback): members sit on different
/// nodes, so every delivery to two of them crosses NATS; still exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_round_on_three_nodes_delivers_everything_once() -> anyhow::Result<()> {
    let Some(octo) = octo_binary() else {
        println!("skipped: build octo first (cargo build -p octo)");
        return Ok(());
    };
    let database = std::env::var("OCTO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let broker = std::env::var("OCTO_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let config = Config {
        senders: 3,
        members: 3,
        channels: 1,
        payload: 50,
        duration: Duration::from_secs(1),
        rate: 0.0,
        scale_out: Some(octo_bench::ScaleOut {
            database,
            broker: Some(broker),
            nodes: 3,
        }),
        ..Config::default()
    };
    let report = run(&config, &octo).await?;
    report.print();
    assert_eq!(report.nodes, 3);
    assert_eq!(report.send_errors, 0, "{:?}", report.first_error);
    assert!(report.sent > 0, "something was sent");
    assert_eq!(report.expected_deliveries, report.sent * 3);
    assert_eq!(report.delivered, report.expected_deliveries);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.members_lost, 0);
    Ok(())
}

/// Senders on WebSockets keeping 8 sends awaiting their answers: every `sent`
/// is still a message that reaches every member once, each timed to its own
/// answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_round_with_eight_sends_in_flight_delivers_everything_once() -> anyhow::Result<()> {
    let Some(octo) = octo_binary() else {
        println!("skipped: build octo first (cargo build -p octo)");
        return Ok(());
    };
    let config = Config {
        senders: 2,
        members: 2,
        channels: 2,
        payload: 50,
        duration: Duration::from_secs(1),
        rate: 0.0,
        send_over: octo_bench::SendOver::Ws,
        in_flight: 8,
        ..Config::default()
    };
    let report = run(&config, &octo).await?;
    let text = report.render();
    print!("{text}");
    assert!(
        text.contains("up to 8 sends awaiting"),
        "the report says how"
    );
    assert_eq!(report.send_errors, 0, "{:?}", report.first_error);
    assert!(report.sent > 0, "something was sent");
    assert_eq!(report.ack.count as u64, report.sent);
    assert_eq!(report.expected_deliveries, report.sent * 2);
    assert_eq!(report.delivered, report.expected_deliveries);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.members_lost, 0);
    Ok(())
}

#[tokio::test]
async fn sends_in_flight_need_websockets() {
    let config = Config {
        in_flight: 4,
        ..Config::default()
    };
    let octo = std::path::Path::new("/nonexistent/octo");
    let e = run(&config, octo).await.expect_err("refused");
    assert!(
        e.to_string().contains("--send-over ws"),
        "says what to do: {e}"
    );
    let ws = Config {
        send_over: octo_bench::SendOver::Ws,
        in_flight: 0,
        ..config
    };
    assert!(run(&ws, octo).await.is_err(), "0 is refused");
}
