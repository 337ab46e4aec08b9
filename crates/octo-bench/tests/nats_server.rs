//! The private nats-server of `compare --jetstream-sync-always`: started on
//! loopback, a short JetStream round delivers every message to every member
//! exactly once with the server's own pid measured, and the server is gone
//! after `stop`. The binary is `OCTO_BENCH_NATS_SERVER`, else `nats-server` on
//! PATH or /usr/sbin; skips, saying so, when there is none. Asserts counts,
//! never timings.

use octo_bench::Config;
use octo_bench::nats_server::{self, JsSync, NatsServer};
use std::path::PathBuf;
use std::time::Duration;

fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("OCTO_BENCH_NATS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(nats_server::default_binary);
    path.is_file().then_some(path)
}

async fn round_on(binary: &std::path::Path, sync: JsSync, in_flight: usize) -> anyhow::Result<()> {
    let config = Config {
        in_flight,
        senders: 1,
        members: 2,
        channels: 2,
        payload: 50,
        duration: Duration::from_secs(1),
        rate: 0.0,
        ..Config::default()
    };
    let server = NatsServer::start(binary, sync).await?;
    let pid = server.pid;
    assert!(
        server.url.starts_with("nats://127.0.0.1:"),
        "{}",
        server.url
    );
    let report = octo_bench::jetstream::run(&config, &server.url, Some((pid, sync))).await;
    server.stop().await;
    let report = report?;
    print!("{}", report.render());
    assert_eq!(report.send_errors, 0, "{:?}", report.first_error);
    assert!(report.sent > 0, "something was published");
    assert_eq!(report.expected_deliveries, report.sent * 2, "two members");
    assert_eq!(report.delivered, report.expected_deliveries);
    assert_eq!((report.duplicates, report.members_lost), (0, 0));
    assert_eq!(report.private, Some(sync));
    let measured = report.server.map(|s| s.pid);
    assert_eq!(measured, Some(pid), "the private server itself is measured");
    assert!(report.render().contains("started by the bench"));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the private server is stopped"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_server_with_the_default_timer_runs_the_workload() -> anyhow::Result<()> {
    let Some(binary) = binary() else {
        println!(
            "skipped: no nats-server binary (install nats-server or set OCTO_BENCH_NATS_SERVER)"
        );
        return Ok(());
    };
    round_on(&binary, JsSync::Default, 1).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_always_runs_or_is_refused_clearly_before_anything_starts() -> anyhow::Result<()> {
    let Some(binary) = binary() else {
        println!(
            "skipped: no nats-server binary (install nats-server or set OCTO_BENCH_NATS_SERVER)"
        );
        return Ok(());
    };
    match nats_server::check(&binary, JsSync::Always).await {
        Ok(version) => {
            println!("nats-server {version} knows sync_interval: always");
            round_on(&binary, JsSync::Always, 1).await
        }
        Err(e) => {
            // Servers before 2.10 do not know the setting: the bench says so.
            let said = format!("{e:#}");
            assert!(
                said.contains("sync_interval needs nats-server 2.10"),
                "{said}"
            );
            Ok(())
        }
    }
}

/// Up to 8 async publishes awaiting their PubAcks per sender: every ack is
/// still a message every member gets once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_in_flight_are_each_acked_and_delivered_once() -> anyhow::Result<()> {
    let Some(binary) = binary() else {
        println!(
            "skipped: no nats-server binary (install nats-server or set OCTO_BENCH_NATS_SERVER)"
        );
        return Ok(());
    };
    round_on(&binary, JsSync::Default, 8).await
}
