//! `compare`: the same workload through Octo and through NATS JetStream, one
//! after the other in one run, side by side.

use crate::jetstream::{self, JsReport};
use crate::{Config, Report, fmt_bytes, fmt_dur};
use anyhow::Result;
use std::path::Path;
use std::time::Duration;

/// Both systems' reports.
#[derive(Debug, Clone)]
pub struct CompareReport {
    /// The Octo server's mode ([`crate::ScaleOut::label`]).
    pub octo_mode: &'static str,
    pub octo: Report,
    pub jetstream: JsReport,
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
        format!(
            "ratios octo/jetstream: throughput={:.2} p99={:.2} deliveries={:.2} rss={:.2}",
            self.throughput, self.p99, self.deliveries, self.rss
        )
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl CompareReport {
    pub fn ratios(&self) -> Ratios {
        let (o, j) = (&self.octo, &self.jetstream);
        Ratios {
            throughput: ratio(o.send_rate(), j.send_rate()),
            p99: ratio(secs(o.delivery.p99), secs(j.delivery.p99)),
            deliveries: ratio(o.delivery_rate(), j.delivery_rate()),
            rss: ratio(o.server_peak_rss as f64, j.peak_rss() as f64),
        }
    }

    /// Whether every acknowledged message reached every member of its channel
    /// exactly once, on both systems.
    pub fn complete(&self) -> bool {
        let (o, j) = (&self.octo, &self.jetstream);
        o.delivered == o.expected_deliveries
            && o.duplicates == 0
            && j.delivered == j.expected_deliveries
            && j.duplicates == 0
    }

    /// Everything `compare` prints; the last line is [`Ratios::line`].
    pub fn render(&self) -> String {
        let (o, j) = (&self.octo, &self.jetstream);
        let mut out = String::new();
        emit!(
            out,
            "== Octo: octo serve ({}), REST senders, WebSocket members ==",
            self.octo_mode
        );
        out.push_str(&o.render());
        emit!(out, "");
        emit!(out, "== NATS JetStream (async-nats) ==");
        out.push_str(&j.render());
        emit!(out, "");
        emit!(out, "== side by side ==");
        emit!(
            out,
            "note: an Octo ack follows a {}; a JetStream PubAck follows the write to its file store, which fsyncs on a timer (sync_interval, 2 min by default).",
            if self.octo_mode == crate::ScaleOut::label(None) {
                "SQLite commit with synchronous=FULL (fsync)"
            } else {
                "PostgreSQL commit (synchronous_commit on: the WAL is flushed)"
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
        emit!(
            out,
            "{:<38} {:>12} {:>12} {:>10}",
            "figure",
            "octo",
            "jetstream",
            "octo/js"
        );
        let mut row = |name: &str, a: String, b: String, r: f64| {
            emit!(out, "{name:<38} {a:>12} {b:>12} {r:>10.2}");
        };
        row(
            "persisted publish->ack (msgs/s)",
            format!("{:.0}", o.send_rate()),
            format!("{:.0}", j.send_rate()),
            ratio(o.send_rate(), j.send_rate()),
        );
        for (name, a, b) in [
            ("publish->ack p50", o.ack.p50, j.ack.p50),
            ("publish->ack p99", o.ack.p99, j.ack.p99),
            ("publish->delivered p50", o.delivery.p50, j.delivery.p50),
            ("publish->delivered p99", o.delivery.p99, j.delivery.p99),
            ("publish->delivered p999", o.delivery.p999, j.delivery.p999),
        ] {
            row(name, fmt_dur(a), fmt_dur(b), ratio(secs(a), secs(b)));
        }
        row(
            "deliveries/s",
            format!("{:.0}", o.delivery_rate()),
            format!("{:.0}", j.delivery_rate()),
            ratio(o.delivery_rate(), j.delivery_rate()),
        );
        row(
            "server peak RSS during the run",
            fmt_bytes(o.server_peak_rss),
            fmt_bytes(j.peak_rss()),
            ratio(o.server_peak_rss as f64, j.peak_rss() as f64),
        );
        if let Some(jcpu) = j.server_cpu() {
            let ocpu = o.server_cpu();
            row(
                "server CPU during the run (s)",
                format!("{:.2}", secs(ocpu)),
                format!("{:.2}", secs(jcpu)),
                ratio(secs(ocpu), secs(jcpu)),
            );
            let per = |cpu: Duration, n: u64| {
                if n == 0 {
                    0.0
                } else {
                    secs(cpu) * 1e6 / n as f64
                }
            };
            let (a, b) = (per(ocpu, o.delivered), per(jcpu, j.delivered));
            row(
                "server CPU per delivery (µs)",
                format!("{a:.1}"),
                format!("{b:.1}"),
                ratio(a, b),
            );
        }
        if !self.complete() {
            emit!(
                out,
                "WARNING: not every message reached every member exactly once (octo {}/{} with {} duplicates, jetstream {}/{} with {} duplicates)",
                o.delivered,
                o.expected_deliveries,
                o.duplicates,
                j.delivered,
                j.expected_deliveries,
                j.duplicates
            );
        }
        out.push_str(&self.ratios().line());
        out.push('\n');
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// Runs the workload through a fresh `octo serve` started from `octo`, then
/// through JetStream at `nats_url` (loopback), and reports both.
pub async fn compare(config: &Config, octo: &Path, nats_url: &str) -> Result<CompareReport> {
    // Fail before the Octo half if NATS is not there.
    let version = jetstream::probe(nats_url).await?;
    eprintln!("compare: nats-server {version} with JetStream at {nats_url}");
    eprintln!(
        "compare: running the workload through Octo ({})",
        octo.display()
    );
    let octo_report = crate::run(config, octo).await?;
    // Let the machine settle between the two.
    tokio::time::sleep(Duration::from_secs(1)).await;
    eprintln!("compare: running the workload through NATS JetStream at {nats_url}");
    let js_report = jetstream::run(config, nats_url).await?;
    Ok(CompareReport {
        octo_mode: crate::ScaleOut::label(config.scale_out.as_ref()),
        octo: octo_report,
        jetstream: js_report,
    })
}
