//! `compare`: the same workload through Octo and through NATS JetStream, one
//! after the other in one run, side by side.

use crate::jetstream::{self, JsReport};
use crate::nats_server::{self, JsSync, NatsServer};
use crate::{Config, Report, fmt_bytes, fmt_dur};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the JetStream side runs.
#[derive(Debug, Clone)]
pub struct JetStreamSide {
    /// The shared server, used unless `private` names a binary.
    pub url: String,
    /// Start a private `nats-server` from this binary for each JetStream run
    /// (127.0.0.1, a free port, a temporary store) instead of using `url`.
    pub private: Option<PathBuf>,
    /// Also run the workload on a private server with `sync_interval: always`
    /// (needs `private`).
    pub sync_always: bool,
}

impl JetStreamSide {
    /// The shared server at `url`, as before.
    pub fn shared(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            private: None,
            sync_always: false,
        }
    }
}

/// Both systems' reports.
#[derive(Debug, Clone)]
pub struct CompareReport {
    /// The Octo server's mode ([`crate::ScaleOut::label`]).
    pub octo_mode: &'static str,
    pub octo: Report,
    /// The JetStream run the last line compares with: the server's default
    /// fsync on a timer (shared, or private with default settings).
    pub jetstream: JsReport,
    /// The run on a private server with `sync_interval: always`, if asked for.
    pub jetstream_sync: Option<JsReport>,
}

/// Octo's figure divided by JetStream's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratios {
    /// Persisted publish→ack messages per second.
    pub throughput: f64,
    /// Publish→delivered p99.
    pub p99: f64,
    /// Deliveries per second.
    pub deliveries: f64,
    /// Peak server RSS sampled during the run.
    pub rss: f64,
}

impl Ratios {
    /// The line `compare` prints last.
    pub fn line(&self) -> String {
        self.line_named("jetstream")
    }

    fn line_named(&self, name: &str) -> String {
        format!(
            "ratios octo/{name}: throughput={:.2} p99={:.2} deliveries={:.2} rss={:.2}",
            self.throughput, self.p99, self.deliveries, self.rss
        )
    }

    fn of(o: &Report, j: &JsReport) -> Self {
        Ratios {
            throughput: ratio(o.send_rate(), j.send_rate()),
            p99: ratio(secs(o.delivery.p99), secs(j.delivery.p99)),
            deliveries: ratio(o.delivery_rate(), j.delivery_rate()),
            rss: ratio(o.server_peak_rss as f64, j.peak_rss() as f64),
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl CompareReport {
    /// Against the default-fsync JetStream run (the last line).
    pub fn ratios(&self) -> Ratios {
        Ratios::of(&self.octo, &self.jetstream)
    }

    /// Against the `sync_interval: always` run, if there was one.
    pub fn ratios_sync(&self) -> Option<Ratios> {
        self.jetstream_sync
            .as_ref()
            .map(|j| Ratios::of(&self.octo, j))
    }

    /// Whether every acknowledged message reached every member of its channel
    /// exactly once, on every system.
    pub fn complete(&self) -> bool {
        let o = &self.octo;
        let js_complete = |j: &JsReport| j.delivered == j.expected_deliveries && j.duplicates == 0;
        o.delivered == o.expected_deliveries
            && o.duplicates == 0
            && js_complete(&self.jetstream)
            && self.jetstream_sync.as_ref().is_none_or(js_complete)
    }

    /// Everything `compare` prints; the last line is [`Ratios::line`].
    pub fn render(&self) -> String {
        let (o, j) = (&self.octo, &self.jetstream);
        let js2 = self.jetstream_sync.as_ref();
        let mut out = String::new();
        emit!(
            out,
            "== Octo: octo serve ({}), senders over {}, WebSocket members ==",
            self.octo_mode,
            match o.config.send_over {
                crate::SendOver::Http => "HTTP",
                crate::SendOver::Ws => "WebSocket",
            }
        );
        out.push_str(&o.render());
        emit!(out, "");
        emit!(
            out,
            "== NATS JetStream (async-nats), {} ==",
            JsSync::Default.label()
        );
        out.push_str(&j.render());
        if let Some(j2) = js2 {
            emit!(out, "");
            emit!(
                out,
                "== NATS JetStream (async-nats), {} ==",
                JsSync::Always.label()
            );
            out.push_str(&j2.render());
        }
        emit!(out, "");
        emit!(out, "== side by side ==");
        emit!(
            out,
            "note: an Octo ack follows a {}; a JetStream PubAck follows the write to its file store, which fsyncs on a timer (sync_interval, 2 min by default){}.",
            if self.octo_mode != crate::ScaleOut::label(None) {
                "PostgreSQL commit (synchronous_commit on: the WAL is flushed)"
            } else if crate::sqlite_sync() == crate::SqliteSync::Normal {
                "SQLite commit with synchronous=NORMAL (no fsync: the WAL is fsynced at checkpoints)"
            } else {
                "SQLite commit with synchronous=FULL (fsync)"
            },
            if js2.is_some() {
                "; with sync_interval: always it fsyncs every write before the PubAck"
            } else {
                ""
            }
        );
        emit!(
            out,
            "note: Octo's payload is {} B of text inside a JSON event (with ids, actor, timestamps); JetStream's is {} B of raw payload.",
            o.config.payload,
            j.config.payload.max(8)
        );
        emit!(
            out,
            "note: peak RSS is the highest VmRSS read every 50 ms from the first publish to the end of the drain (nats-server's VmHWM covers its whole life)."
        );
        if js2.is_some() {
            emit!(
                out,
                "note: js = JetStream with its default fsync timer, js-sync = sync_interval: always; the last line compares with js."
            );
            emit!(
                out,
                "{:<38} {:>12} {:>12} {:>12} {:>10} {:>12}",
                "figure",
                "octo",
                "js",
                "js-sync",
                "octo/js",
                "octo/js-sync"
            );
        } else {
            emit!(
                out,
                "{:<38} {:>12} {:>12} {:>10}",
                "figure",
                "octo",
                "jetstream",
                "octo/js"
            );
        }
        // One row: Octo's figure, each JetStream run's, and the ratios.
        let mut row =
            |name: &str, a: (String, f64), b: (String, f64), c: Option<(String, f64)>| match c {
                Some((cs, cv)) => emit!(
                    out,
                    "{name:<38} {:>12} {:>12} {:>12} {:>10.2} {:>12.2}",
                    a.0,
                    b.0,
                    cs,
                    ratio(a.1, b.1),
                    ratio(a.1, cv)
                ),
                None => emit!(
                    out,
                    "{name:<38} {:>12} {:>12} {:>10.2}",
                    a.0,
                    b.0,
                    ratio(a.1, b.1)
                ),
            };
        let rate = |v: f64| (format!("{v:.0}"), v);
        let dur = |d: Duration| (fmt_dur(d), secs(d));
        let bytes = |b: u64| (fmt_bytes(b), b as f64);
        row(
            "persisted publish->ack (msgs/s)",
            rate(o.send_rate()),
            rate(j.send_rate()),
            js2.map(|j| rate(j.send_rate())),
        );
        type Pick = fn(&crate::Latency) -> Duration;
        let picks: [(&str, bool, Pick); 5] = [
            ("publish->ack p50", false, |l| l.p50),
            ("publish->ack p99", false, |l| l.p99),
            ("publish->delivered p50", true, |l| l.p50),
            ("publish->delivered p99", true, |l| l.p99),
            ("publish->delivered p999", true, |l| l.p999),
        ];
        for (name, delivered, pick) in picks {
            let of = |j: &JsReport| dur(pick(if delivered { &j.delivery } else { &j.ack }));
            row(
                name,
                dur(pick(if delivered { &o.delivery } else { &o.ack })),
                of(j),
                js2.map(of),
            );
        }
        row(
            "deliveries/s",
            rate(o.delivery_rate()),
            rate(j.delivery_rate()),
            js2.map(|j| rate(j.delivery_rate())),
        );
        row(
            "server peak RSS during the run",
            bytes(o.server_peak_rss),
            bytes(j.peak_rss()),
            js2.map(|j| bytes(j.peak_rss())),
        );
        if let Some(jcpu) = j.server_cpu() {
            let ocpu = o.server_cpu();
            let cpu = |d: Duration| (format!("{:.2}", secs(d)), secs(d));
            row(
                "server CPU during the run (s)",
                cpu(ocpu),
                cpu(jcpu),
                js2.and_then(|j| j.server_cpu()).map(cpu),
            );
            let per = |cpu: Duration, n: u64| {
                let v = if n == 0 {
                    0.0
                } else {
                    secs(cpu) * 1e6 / n as f64
                };
                (format!("{v:.1}"), v)
            };
            row(
                "server CPU per delivery (µs)",
                per(ocpu, o.delivered),
                per(jcpu, j.delivered),
                js2.and_then(|j| Some(per(j.server_cpu()?, j.delivered))),
            );
        }
        if !self.complete() {
            emit!(
                out,
                "WARNING: not every message reached every member exactly once (octo {}/{} with {} duplicates, jetstream {}/{} with {} duplicates{})",
                o.delivered,
                o.expected_deliveries,
                o.duplicates,
                j.delivered,
                j.expected_deliveries,
                j.duplicates,
                js2.map_or(String::new(), |j| format!(
                    ", jetstream sync always {}/{} with {} duplicates",
                    j.delivered, j.expected_deliveries, j.duplicates
                ))
            );
        }
        if let Some(r) = self.ratios_sync() {
            emit!(out, "{}", r.line_named("jetstream-sync-always"));
        }
        out.push_str(&self.ratios().line());
        out.push('\n');
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// One JetStream run on the side's server of kind `sync`: the shared one, or
/// a private one started (and stopped) around the run.
async fn run_jetstream(config: &Config, side: &JetStreamSide, sync: JsSync) -> Result<JsReport> {
    let Some(binary) = &side.private else {
        eprintln!(
            "compare: running the workload through NATS JetStream at {}",
            side.url
        );
        return jetstream::run(config, &side.url, None).await;
    };
    let server = NatsServer::start(binary, sync).await?;
    eprintln!(
        "compare: running the workload through a private nats-server {} at {} ({})",
        server.version,
        server.url,
        sync.label()
    );
    let report = jetstream::run(config, &server.url, Some((server.pid, sync))).await;
    server.stop().await;
    report
}

/// Runs the workload through a fresh `octo serve` started from `octo`, then
/// through JetStream as `side` says (loopback), and reports both.
pub async fn compare(config: &Config, octo: &Path, side: &JetStreamSide) -> Result<CompareReport> {
    crate::check_in_flight(config)?;
    // Fail before the Octo half if NATS is not there (or cannot do what is asked).
    match &side.private {
        None => {
            anyhow::ensure!(
                !side.sync_always,
                "sync_interval: always needs a private nats-server (a binary to start)"
            );
            let version = jetstream::probe(&side.url).await?;
            eprintln!(
                "compare: nats-server {version} with JetStream at {}",
                side.url
            );
        }
        Some(binary) => {
            let version = nats_server::check(binary, JsSync::Default).await?;
            if side.sync_always {
                nats_server::check(binary, JsSync::Always).await?;
            }
            eprintln!(
                "compare: private nats-server {version} from {} for each JetStream run",
                binary.display()
            );
        }
    }
    eprintln!(
        "compare: running the workload through Octo ({})",
        octo.display()
    );
    let octo_report = crate::run(config, octo).await?;
    // Let the machine settle between runs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let js_report = run_jetstream(config, side, JsSync::Default).await?;
    let js_sync = if side.sync_always {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some(run_jetstream(config, side, JsSync::Always).await?)
    } else {
        None
    };
    Ok(CompareReport {
        octo_mode: crate::ScaleOut::label(config.scale_out.as_ref()),
        octo: octo_report,
        jetstream: js_report,
        jetstream_sync: js_sync,
    })
}
