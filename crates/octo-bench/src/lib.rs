//! A load generator for Octo, loopback only.
//!
//! [`run`] starts the real `octo serve` as a child process with a temporary data
//! directory and a config that lifts the per-principal rate limit, sets up an org
//! over the public API, connects `members × channels` WebSockets (one principal
//! each), and has `senders` principals post messages for a fixed time, over HTTP
//! or as `send` frames on a WebSocket each ([`SendOver`]). It measures
//! send→ack latency at the senders, send→delivered latency at every member (the
//! send time rides in the message's `data.t`), and the server's memory and CPU
//! from `/proc`. [`run_idle`] opens many idle authenticated WebSockets and
//! measures what each one costs the server in memory.
//!
//! Every phase has a time limit; the server is stopped (SIGTERM, then SIGKILL if
//! it does not exit) however the run ends.

use anyhow::{Context, Result, anyhow, bail};
use futures::{SinkExt, StreamExt};
use octo_client::Client;
use reqwest::Method;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What the server is started with: lifts the per-principal request rate limit
/// (default burst 200, 50/s) so that it does not shape the load, and by default
/// gives each connection a deeper mailbox than the server's 1024 frames.
pub const RATE_LIMIT_BURST: u32 = 10_000_000;
pub const RATE_LIMIT_PER_SECOND: f64 = 10_000_000.0;
pub const DEFAULT_SEND_QUEUE: usize = 8192;

/// How long after the send phase the members may take to receive what was sent.
pub const DRAIN: Duration = Duration::from_secs(10);
/// How long one HTTP request or one WebSocket handshake may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the server's VmRSS is read during a run, for its peak.
pub const PEAK_SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// Appends one formatted line to a `String`.
macro_rules! emit {
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}

pub mod cli;
pub mod compare;
pub mod context;
pub mod jetstream;
pub mod nats_server;
pub mod nodes;

use nodes::Nodes;

/// The load to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Principals that post messages (each posts one at a time).
    pub senders: usize,
    /// WebSocket members per channel, each its own principal.
    pub members: usize,
    /// Channels; every sender posts to all of them in turn.
    pub channels: usize,
    /// Bytes of message text.
    pub payload: usize,
    /// Length of the send phase.
    pub duration: Duration,
    /// Target messages per second over all senders; 0: as fast as they can.
    pub rate: f64,
    /// Time allowed for starting the server, setting up the org and connecting.
    pub setup_timeout: Duration,
    /// The server's `[limits.realtime] send_queue` (frames per connection).
    pub send_queue: usize,
    /// Scale-out mode: where the server keeps its data and fans out. `None`:
    /// the embedded default (SQLite + in-process).
    pub scale_out: Option<ScaleOut>,
    /// How the senders send (Octo only; JetStream publishes as it always does).
    pub send_over: SendOver,
    /// Sends each sender keeps awaiting their acks (1: one at a time). More
    /// than 1 needs [`SendOver::Ws`] for Octo; JetStream keeps as many
    /// publishes awaiting their PubAcks.
    pub in_flight: usize,
}

/// How Octo's senders send their messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SendOver {
    /// `POST /api/v1/channels/{id}/messages`, one request at a time.
    #[default]
    Http,
    /// A `send` frame on the sender's own WebSocket, then its `sent` answer,
    /// one at a time. The socket's hello names no channels, so it receives no
    /// events.
    Ws,
}

impl SendOver {
    /// How the report names it.
    pub fn label(self) -> &'static str {
        match self {
            SendOver::Http => "HTTP POST",
            SendOver::Ws => "WebSocket send",
        }
    }
}

/// `octo serve --database postgres://… [--broker nats://…]`, on a schema of
/// its own that is dropped after the run.
#[derive(Debug, Clone)]
pub struct ScaleOut {
    pub database: String,
    pub broker: Option<String>,
    /// Nodes sharing the database and broker (more than one needs a broker).
    pub nodes: usize,
}

impl ScaleOut {
    /// How the report names the server's mode.
    pub fn label(scale_out: Option<&ScaleOut>) -> &'static str {
        match scale_out {
            None => "embedded SQLite",
            Some(ScaleOut { broker: None, .. }) => "PostgreSQL, in-process fan-out",
            Some(_) => "PostgreSQL + NATS",
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            senders: 4,
            members: 10,
            channels: 1,
            payload: 200,
            duration: Duration::from_secs(10),
            rate: 0.0,
            setup_timeout: Duration::from_secs(60),
            send_queue: DEFAULT_SEND_QUEUE,
            scale_out: None,
            send_over: SendOver::Http,
            in_flight: 1,
        }
    }
}

/// Latency percentiles of one measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

impl Latency {
    /// From samples in nanoseconds (sorted here).
    pub fn of(mut nanos: Vec<u64>) -> Self {
        nanos.sort_unstable();
        let at = |q: f64| {
            if nanos.is_empty() {
                return Duration::ZERO;
            }
            let rank = ((q * nanos.len() as f64).ceil() as usize).clamp(1, nanos.len());
            Duration::from_nanos(nanos[rank - 1])
        };
        Self {
            count: nanos.len(),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: nanos
                .last()
                .map_or(Duration::ZERO, |n| Duration::from_nanos(*n)),
        }
    }
}

/// The server's resource use, read from `/proc/PID`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// Resident set, bytes (VmRSS).
    pub rss: u64,
    /// Peak resident set since the process started, bytes (VmHWM).
    pub hwm: u64,
    /// User + system CPU time used so far.
    pub cpu: Duration,
    /// Threads.
    pub threads: u64,
}

/// What a [`run`] measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub config: Config,
    /// The first node's URL.
    pub url: String,
    /// Server processes; memory and CPU figures are their sums.
    pub nodes: usize,
    /// Messages acknowledged by the server (201, or a `sent` frame).
    pub sent: u64,
    /// Sends that failed (any error or timeout); `first_error` says what.
    pub send_errors: u64,
    pub first_error: Option<String>,
    /// Length of the send phase as it ran.
    pub send_elapsed: Duration,
    pub ack: Latency,
    /// Deliveries expected: every acknowledged message times the members of its
    /// channel.
    pub expected_deliveries: u64,
    /// Distinct deliveries received (one per message per member).
    pub delivered: u64,
    /// Events received a second time, or out of seq order, by the same member.
    pub duplicates: u64,
    /// Member sockets that ended before the run did (e.g. closed as slow consumers).
    pub members_lost: u64,
    pub delivery: Latency,
    /// From the first send to the last delivery.
    pub delivery_elapsed: Duration,
    /// The server once everything is connected, before the first send.
    pub server_idle: ProcSample,
    /// The server after the last delivery (its `hwm` is the peak since it
    /// started, setup included).
    pub server_end: ProcSample,
    /// The highest VmRSS read every [`PEAK_SAMPLE_EVERY`] from the first send
    /// to the end of the drain.
    pub server_peak_rss: u64,
    /// CPU the bench itself used from the first send to the last delivery (it
    /// shares the machine with the server).
    pub bench_cpu: Duration,
}

impl Report {
    pub fn send_rate(&self) -> f64 {
        per_second(self.sent, self.send_elapsed)
    }

    pub fn delivery_rate(&self) -> f64 {
        per_second(self.delivered, self.delivery_elapsed)
    }

    pub fn server_cpu(&self) -> Duration {
        self.server_end.cpu.saturating_sub(self.server_idle.cpu)
    }

    /// Prints the report for people.
    pub fn print(&self) {
        print!("{}", self.render());
    }

    /// The report for people, one figure per line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let c = &self.config;
        emit!(
            out,
            "load: {} senders ({}), {} channels x {} WebSocket members ({} connections), {} B text, {:.0} s, rate {}",
            c.senders,
            c.send_over.label(),
            c.channels,
            c.members,
            c.channels * c.members,
            c.payload,
            c.duration.as_secs_f64(),
            if c.rate > 0.0 {
                format!("{} msg/s target", c.rate)
            } else {
                match c.in_flight {
                    1 => "unlimited (closed loop, one request in flight per sender)".into(),
                    n => format!(
                        "unlimited (closed loop, up to {n} sends awaiting their acks per sender)"
                    ),
                }
            }
        );
        if self.nodes > 1 {
            emit!(
                out,
                "nodes: {} octo serve processes on one database and broker; member and sender i use node i mod {}; memory and CPU below are their sums",
                self.nodes,
                self.nodes
            );
        }
        emit!(
            out,
            "send->ack:        {} msgs in {:.2} s = {:.0} msgs/s; p50 {}, p99 {}, max {}; errors {}",
            self.sent,
            self.send_elapsed.as_secs_f64(),
            self.send_rate(),
            fmt_dur(self.ack.p50),
            fmt_dur(self.ack.p99),
            fmt_dur(self.ack.max),
            self.send_errors
        );
        if let Some(e) = &self.first_error {
            emit!(out, "  first send error: {e}");
        }
        emit!(
            out,
            "send->delivered:  {} of {} deliveries ({} duplicate, {} member sockets lost); p50 {}, p99 {}, p999 {}, max {}",
            self.delivered,
            self.expected_deliveries,
            self.duplicates,
            self.members_lost,
            fmt_dur(self.delivery.p50),
            fmt_dur(self.delivery.p99),
            fmt_dur(self.delivery.p999),
            fmt_dur(self.delivery.max)
        );
        emit!(
            out,
            "deliveries/s:     {:.0} (first send to last delivery, {:.2} s)",
            self.delivery_rate(),
            self.delivery_elapsed.as_secs_f64()
        );
        emit!(
            out,
            "server memory:    RSS at idle after setup {}, at end {}, peak sampled during the run {}, peak (VmHWM, since start) {}; {} threads",
            fmt_bytes(self.server_idle.rss),
            fmt_bytes(self.server_end.rss),
            fmt_bytes(self.server_peak_rss),
            fmt_bytes(self.server_end.hwm),
            self.server_end.threads
        );
        let wall = self.delivery_elapsed.as_secs_f64().max(1e-9);
        emit!(
            out,
            "server CPU:       {:.2} s during the run ({:.0}% of one core); bench itself {:.2} s ({:.0}%)",
            self.server_cpu().as_secs_f64(),
            100.0 * self.server_cpu().as_secs_f64() / wall,
            self.bench_cpu.as_secs_f64(),
            100.0 * self.bench_cpu.as_secs_f64() / wall
        );
        out
    }
}

/// What a [`run_idle`] measured.
#[derive(Debug, Clone)]
pub struct IdleReport {
    pub requested: usize,
    pub opened: usize,
    pub fd_limit: u64,
    pub before: ProcSample,
    pub after: ProcSample,
    pub connect_elapsed: Duration,
}

impl IdleReport {
    pub fn bytes_per_connection(&self) -> f64 {
        if self.opened == 0 {
            return 0.0;
        }
        self.after.rss.saturating_sub(self.before.rss) as f64 / self.opened as f64
    }

    pub fn print(&self) {
        println!(
            "idle connections: {} of {} opened and authenticated in {:.2} s (open-file limit {})",
            self.opened,
            self.requested,
            self.connect_elapsed.as_secs_f64(),
            self.fd_limit
        );
        println!(
            "server RSS:       before {}, after {} (+{}), peak (VmHWM) {}; threads {} -> {}",
            fmt_bytes(self.before.rss),
            fmt_bytes(self.after.rss),
            fmt_bytes(self.after.rss.saturating_sub(self.before.rss)),
            fmt_bytes(self.after.hwm),
            self.before.threads,
            self.after.threads
        );
        println!(
            "per connection:   {:.1} KiB of server RSS",
            self.bytes_per_connection() / 1024.0
        );
    }
}

pub(crate) fn per_second(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

pub fn fmt_dur(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 1e6 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

pub fn fmt_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// The `octo` binary next to this executable (as cargo lays them out).
pub fn default_octo_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // Test and bench executables live one level further down, in `deps/`.
    [dir.join("octo"), dir.parent()?.join("octo")]
        .into_iter()
        .find(|p| p.is_file())
}

// ---------------------------------------------------------------------------
// /proc

/// Reads the resource use of process `pid`.
pub fn sample(pid: u32) -> Result<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    Ok(ProcSample {
        rss: kib("VmRSS:") * 1024,
        hwm: kib("VmHWM:") * 1024,
        cpu: cpu_of_stat(&stat)?,
        threads: kib("Threads:"),
    })
}

/// Reads VmRSS of `pid` every [`PEAK_SAMPLE_EVERY`] until stopped; keeps the
/// highest.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl PeakSampler {
    pub fn start(pid: u32) -> Self {
        Self::start_all(vec![pid])
    }

    /// The peak of the processes' summed VmRSS (the nodes of a cluster).
    pub fn start_all(pids: Vec<u32>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak = 0;
            // Bounded: the caller stops it; a vanished process ends it too.
            'sampling: while !flag.load(Ordering::Relaxed) {
                let mut total = 0;
                for &pid in &pids {
                    match sample(pid) {
                        Ok(s) => total += s.rss,
                        Err(_) => break 'sampling,
                    }
                }
                peak = peak.max(total);
                tokio::time::sleep(PEAK_SAMPLE_EVERY).await;
            }
            peak
        });
        Self { stop, task }
    }

    /// Stops sampling; the highest VmRSS seen (0 if none was read).
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or(0)
    }
}

/// CPU time used by this process.
pub fn own_cpu() -> Result<Duration> {
    cpu_of_stat(&std::fs::read_to_string("/proc/self/stat")?)
}

/// utime + stime out of a `/proc/PID/stat` line (fields 14 and 15, in clock
/// ticks). The command name in field 2 may contain spaces: count after its `)`.
fn cpu_of_stat(stat: &str) -> Result<Duration> {
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("odd /proc stat line"))?;
    // `rest` starts with field 3 (state).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> Result<u64> {
        fields
            .get(i - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| anyhow!("no field {i} in /proc stat"))
    };
    let ticks = tick(14)? + tick(15)?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks()))
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// Raises the soft open-file limit to the hard one (children inherit it, so do
/// this before starting the server); returns the soft limit in force.
pub fn raise_fd_limit() -> u64 {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
}

// ---------------------------------------------------------------------------
// The server

/// A running `octo serve`; stopped by [`Server::stop`], killed if dropped.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub url: String,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `octo serve` on 127.0.0.1:0 with a temporary data directory and a
    /// config file that lifts the rate limit (see [`RATE_LIMIT_BURST`]).
    pub async fn start(
        octo: &Path,
        wait: Duration,
        send_queue: usize,
        scale_out: Option<(&ScaleOut, &str)>,
    ) -> Result<Self> {
        if !octo.is_file() {
            bail!("no octo binary at {}", octo.display());
        }
        let dir = tempfile::tempdir().context("temp dir")?;
        let config = dir.path().join("octo.toml");
        std::fs::write(&config, config_text(send_queue)).context("writing the config")?;
        let mut mode: Vec<String> = Vec::new();
        if let Some((s, schema)) = scale_out {
            mode.extend(["--database".into(), s.database.clone()]);
            mode.extend(["--database-schema".into(), schema.to_owned()]);
            if let Some(broker) = &s.broker {
                mode.extend(["--broker".into(), broker.clone()]);
                mode.extend(["--broker-prefix".into(), schema.to_owned()]);
            }
        }
        let mut child = Command::new(octo)
            .arg("serve")
            .args(&mode)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env("OCTO_LOG", "warn")
            .env("OCTO_SCRIBE", if scribe() { "true" } else { "false" })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", octo.display()))?;
        let pid = child.id().ok_or_else(|| anyhow!("octo exited at once"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(wait, lines.next_line())
            .await
            .map_err(|_| anyhow!("octo did not say where it listens within {wait:?}"))??
            .ok_or_else(|| anyhow!("octo exited before listening"))?;
        let url = first
            .trim()
            .strip_prefix("octo listening on ")
            .ok_or_else(|| anyhow!("unexpected first line from octo: {first:?}"))?
            .to_owned();
        // Keep reading stdout so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addr = url
            .strip_prefix("http://")
            .unwrap_or(&url)
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            child,
            pid,
            url,
            addr,
            _dir: dir,
        })
    }

    pub fn sample(&self) -> Result<ProcSample> {
        sample(self.pid)
    }

    /// SIGTERM, then up to 10 s for a clean exit, then SIGKILL.
    pub async fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        self.wait_stopped().await
    }

    async fn wait_stopped(&mut self) -> Result<()> {
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("octo exited with {status} after SIGTERM");
                }
                Ok(())
            }
            Err(_) => {
                let _ = self.child.kill().await;
                bail!("octo did not stop within 10 s of SIGTERM; killed it")
            }
        }
    }
}

/// Whether the servers the bench starts run the built-in scribe agent (off
/// unless `--scribe`): it is a member of every new channel that reads every
/// message and rewrites group.md, work the JetStream side has no match for.
static SCRIBE: AtomicBool = AtomicBool::new(false);

pub fn set_scribe(on: bool) {
    SCRIBE.store(on, Ordering::Relaxed);
}

pub fn scribe() -> bool {
    SCRIBE.load(Ordering::Relaxed)
}

/// The embedded server's `[storage] sqlite_synchronous`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSync {
    /// An fsync per group commit (the server's default).
    #[default]
    Full,
    /// No fsync at commit: JetStream's default durability class.
    Normal,
}

impl SqliteSync {
    pub fn as_str(self) -> &'static str {
        match self {
            SqliteSync::Full => "full",
            SqliteSync::Normal => "normal",
        }
    }
}

/// What the servers the bench starts use for `[storage] sqlite_synchronous`
/// (set once from the command line, like the scribe).
static SQLITE_NORMAL: AtomicBool = AtomicBool::new(false);

pub fn set_sqlite_sync(sync: SqliteSync) {
    SQLITE_NORMAL.store(sync == SqliteSync::Normal, Ordering::Relaxed);
}

pub fn sqlite_sync() -> SqliteSync {
    if SQLITE_NORMAL.load(Ordering::Relaxed) {
        SqliteSync::Normal
    } else {
        SqliteSync::Full
    }
}

/// The servers' `[limits.realtime] coalesce_ms`; `u64::MAX`: their default.
static COALESCE_MS: AtomicU64 = AtomicU64::new(u64::MAX);

pub fn set_coalesce_ms(ms: Option<u64>) {
    COALESCE_MS.store(ms.unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// The config file the bench starts the server with.
pub fn config_text(send_queue: usize) -> String {
    let coalesce = match COALESCE_MS.load(Ordering::Relaxed) {
        u64::MAX => String::new(),
        ms => format!("coalesce_ms = {ms}\n"),
    };
    format!(
        "# written by octo-bench: the per-principal rate limit would otherwise shape the load\n\
         [limits.rate_limit]\nburst = {RATE_LIMIT_BURST}\nper_second = {RATE_LIMIT_PER_SECOND:.1}\n\n\
         [limits.realtime]\nsend_queue = {send_queue}\n{coalesce}\n\
         [storage]\nsqlite_synchronous = \"{}\"\n",
        sqlite_sync().as_str()
    )
}

// ---------------------------------------------------------------------------
// Setup over the API

struct Org {
    owner: Client,
    org: String,
}

/// The bench reads only ids and tokens from the answers (as JSON), so that it
/// keeps working against servers whose models have grown since.
async fn post(client: &Client, path: &str, body: Value) -> Result<Value> {
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        client.call(Method::POST, path, Some(&body)),
    )
    .await
    .map_err(|_| anyhow!("POST {path}: no answer within {REQUEST_TIMEOUT:?}"))?
    .with_context(|| format!("POST {path}"))
}

fn str_at(v: &Value, pointer: &str) -> Result<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no {pointer} in {v}"))
}

async fn setup_org(url: &str) -> Result<Org> {
    let anon = Client::new(url, None);
    let setup = post(
        &anon,
        "/setup",
        json!({"org_name": "Bench", "name": "bench-owner",
               "email": "owner@bench.test", "password": "bench-owner-pass"}),
    )
    .await?;
    Ok(Org {
        owner: anon.with_token(str_at(&setup, "/token")?),
        org: str_at(&setup, "/org/id")?,
    })
}

/// Creates agents named `{prefix}{i}`: (id, token) each, a few at a time.
async fn agents(org: &Org, prefix: &str, n: usize) -> Result<Vec<(String, String)>> {
    let path = format!("/orgs/{}/agents", org.org);
    futures::stream::iter(0..n)
        .map(|i| {
            let path = &path;
            async move {
                let a = post(&org.owner, path, json!({"name": format!("{prefix}{i}")})).await?;
                Ok::<_, anyhow::Error>((str_at(&a, "/principal/id")?, str_at(&a, "/token")?))
            }
        })
        .buffered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

async fn join_all(org: &Org, pairs: Vec<(String, String)>) -> Result<()> {
    let results: Vec<Result<Value>> = futures::stream::iter(pairs)
        .map(|(ch, p)| async move {
            post(
                &org.owner,
                &format!("/channels/{ch}/members"),
                json!({"principal_id": p}),
            )
            .await
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().try_for_each(|r| r.map(drop))
}

// ---------------------------------------------------------------------------
// WebSockets

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A member's WebSocket read buffer: a few coalesced event frames.
const READ_BUFFER: usize = 16 * 1024;

/// Connects, says hello and waits for `ready`.
async fn connect(addr: &str, token: &str) -> Result<Socket> {
    connect_with(addr, json!({"type": "hello", "token": token}), false).await
}

/// Connects a sender: its hello names no channels, so the socket is told of
/// no events (the fan-out is the members' to measure) and only carries the
/// sender's `send` frames and their answers. Nagle's algorithm is off, as on
/// the HTTP senders' sockets (reqwest sets TCP_NODELAY): a small frame must
/// not wait for the ACK of the one before.
async fn connect_sender(addr: &str, token: &str) -> Result<Socket> {
    connect_with(
        addr,
        json!({"type": "hello", "token": token, "channels": []}),
        true,
    )
    .await
}

async fn connect_with(addr: &str, hello: Value, nodelay: bool) -> Result<Socket> {
    let go = async {
        // tungstenite zero-fills its whole read buffer (128 KiB by default)
        // before every read: with hundreds of members that memset was a
        // quarter of the bench's CPU, on the cores the server needs.
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let url = format!("ws://{addr}/api/v1/ws");
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), nodelay)
            .await
            .context("WebSocket connect")?;
        ws.send(WsMessage::Text(hello.to_string().into())).await?;
        while let Some(msg) = ws.next().await {
            if let WsMessage::Text(t) = msg? {
                let frame: Frame = serde_json::from_str(t.as_str())?;
                if frame.kind == "ready" {
                    return Ok(ws);
                }
                bail!("expected ready, got {}", t.as_str());
            }
        }
        bail!("socket closed before ready")
    };
    tokio::time::timeout(REQUEST_TIMEOUT, go)
        .await
        .map_err(|_| anyhow!("no ready within {REQUEST_TIMEOUT:?}"))?
}

/// The parts of a server frame the bench looks at (serde skips the rest).
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    channel_id: Option<&'a str>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    payload: Option<Payload>,
}

#[derive(Deserialize)]
struct Payload {
    message: Option<PayloadMessage>,
}

#[derive(Deserialize)]
struct PayloadMessage {
    data: Option<BenchData>,
}

/// What every bench message carries in `data`.
#[derive(Deserialize)]
struct BenchData {
    /// The run, so that nothing else is counted.
    bench: u64,
    /// Send time: nanoseconds since the run's clock started.
    t: u64,
}

/// What one member saw.
#[derive(Default)]
pub(crate) struct MemberResult {
    pub(crate) latencies: Vec<u64>,
    pub(crate) duplicates: u64,
    pub(crate) lost: bool,
    pub(crate) last_at: u64,
}

/// Reads frames until `stop`, timing every bench message.
async fn member(
    mut ws: Socket,
    run_id: u64,
    clock: Instant,
    delivered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    deadline: Instant,
) -> MemberResult {
    let mut out = MemberResult::default();
    // Per channel: the highest seq seen (a member sees only its own channel,
    // but a duplicate check should not depend on that).
    let mut last_seq: HashMap<String, u64> = HashMap::new();
    let deadline = tokio::time::Instant::from_std(deadline);
    // One timer for the whole loop, not one per frame: at hundreds of
    // thousands of frames a second the bench's own timers were a visible
    // share of the cores it shares with the server.
    let mut check = tokio::time::interval(Duration::from_millis(100));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        let next = tokio::select! {
            biased;
            next = ws.next() => next,
            _ = check.tick() => {
                if tokio::time::Instant::now() >= deadline {
                    break;
                }
                continue;
            }
        };
        let msg = match next {
            None | Some(Err(_)) => {
                out.lost = true;
                break;
            }
            Some(Ok(m)) => m,
        };
        let text = match &msg {
            WsMessage::Text(t) => t.as_str(),
            WsMessage::Close(_) => {
                out.lost = true;
                break;
            }
            _ => continue,
        };
        let now = clock.elapsed().as_nanos() as u64;
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            continue;
        };
        if frame.kind != "event" {
            continue;
        }
        let Some(data) = frame
            .payload
            .and_then(|p| p.message)
            .and_then(|m| m.data)
            .filter(|d| d.bench == run_id)
        else {
            continue;
        };
        let seq = frame.seq.unwrap_or(0);
        let last = match last_seq.get_mut(frame.channel_id.unwrap_or_default()) {
            Some(last) => last,
            None => last_seq
                .entry(frame.channel_id.unwrap_or_default().to_owned())
                .or_default(),
        };
        if seq <= *last {
            out.duplicates += 1;
            continue;
        }
        *last = seq;
        out.latencies.push(now.saturating_sub(data.t));
        out.last_at = now;
        delivered.fetch_add(1, Ordering::Relaxed);
    }
    let _ = ws.close(None).await;
    out
}

// ---------------------------------------------------------------------------
// Senders

/// How one sender reaches the server.
pub(crate) enum Via {
    /// `POST /channels/{id}/messages`; the paths, one per channel.
    Http { client: Client, paths: Vec<String> },
    /// `send` frames on the sender's own WebSocket (boxed: a socket is large).
    Ws(Box<WsSender>),
}

impl Via {
    /// Sends one message to channel `ch_index`; `Err` says why it was not
    /// acknowledged.
    async fn send(&mut self, ch_index: usize, body: Value) -> Result<(), String> {
        match self {
            Via::Http { client, paths } => client
                .call::<IgnoredAny>(Method::POST, &paths[ch_index], Some(&body))
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Via::Ws(ws) => ws.send(ch_index, body).await,
        }
    }
}

/// A sender's WebSocket: one `send` frame at a time, answered by `sent` or
/// `error` with the same `ref`.
pub(crate) struct WsSender {
    addr: String,
    token: String,
    channels: Arc<Vec<String>>,
    /// `None` once the socket failed: the next send connects again (and
    /// counts as an error if it cannot), as an HTTP client would.
    socket: Option<Socket>,
    sends: u64,
}

/// The parts of an answer to a `send` the sender reads (serde skips the
/// message itself).
#[derive(Deserialize)]
struct SendAnswer<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(rename = "ref", default, borrow)]
    reference: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    code: Option<std::borrow::Cow<'a, str>>,
}

/// What a sender sends, and where and when.
struct Load {
    index: usize,
    channels: usize,
    sent_per_channel: Arc<Vec<AtomicU64>>,
    run_id: u64,
    clock: Instant,
    end: Instant,
    interval: Option<Duration>,
}

impl Load {
    /// When message `n` is due (open schedule), if there is a rate.
    fn due(&self, start: Instant, n: u64) -> Option<Instant> {
        self.interval.map(|iv| start + iv.mul_f64(n as f64))
    }

    /// Message `n`, stamped now: its channel (index), its send time (ns on
    /// `clock`) and its body.
    fn message(&self, n: u64, text: &str) -> (usize, u64, Value) {
        let ch_index = (self.index + n as usize) % self.channels;
        let t = self.clock.elapsed().as_nanos() as u64;
        let body = json!({
            "text": text,
            "client_msg_id": format!("b{}-{}-{n}", self.run_id, self.index),
            "data": {"bench": self.run_id, "t": t},
        });
        (ch_index, t, body)
    }
}

impl WsSender {
    /// Sends until `load.end`, keeping up to `window` sends awaiting their
    /// answers (answered in order); each one's latency is from its frame to
    /// its answer. A broken socket fails every send awaiting an answer and is
    /// reconnected for the next; a send unanswered after [`REQUEST_TIMEOUT`]
    /// is an error (a late answer is then ignored).
    async fn send_windowed(&mut self, window: usize, load: &Load, text: &str) -> SenderResult {
        let mut out = SenderResult::default();
        let start = Instant::now();
        let mut n: u64 = 0;
        // In send order: the ref, the channel and the send time (ns on `clock`).
        let mut waiting: std::collections::VecDeque<(String, usize, u64)> = Default::default();
        loop {
            let due = load.due(start, n);
            let more =
                Instant::now() < load.end && n < 100_000_000 && due.is_none_or(|d| d < load.end);
            if !more && waiting.is_empty() {
                break;
            }
            let can_send = more && waiting.len() < window;
            let socket = match &mut self.socket {
                Some(socket) => socket,
                None => match connect_sender(&self.addr, &self.token).await {
                    Ok(socket) => self.socket.insert(socket),
                    Err(e) => {
                        out.fail(1, format!("WebSocket reconnect: {e:#}"));
                        n += 1;
                        continue;
                    }
                },
            };
            let oldest = waiting
                .front()
                .map(|w| load.clock + Duration::from_nanos(w.2) + REQUEST_TIMEOUT);
            enum Step {
                Send,
                Heard(Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>),
                TimedOut,
            }
            let step = tokio::select! {
                biased;
                () = async {
                    if let Some(d) = due {
                        tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await;
                    }
                }, if can_send => Step::Send,
                heard = socket.next(), if !waiting.is_empty() => Step::Heard(heard),
                () = async {
                    if let Some(at) = oldest {
                        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                    }
                }, if !waiting.is_empty() => Step::TimedOut,
            };
            match step {
                Step::Send => {
                    let (ch_index, t, body) = load.message(n, text);
                    n += 1;
                    let (reference, frame) = self.frame(ch_index, body);
                    let Some(socket) = self.socket.as_mut() else {
                        continue;
                    };
                    match socket.send(frame).await {
                        Ok(()) => waiting.push_back((reference, ch_index, t)),
                        Err(e) => {
                            let count = waiting.len() as u64 + 1;
                            out.fail(count, format!("WebSocket send: {e}"));
                            waiting.clear();
                            self.socket = None;
                        }
                    }
                }
                Step::Heard(Some(Ok(WsMessage::Text(frame)))) => {
                    let acked = load.clock.elapsed().as_nanos() as u64;
                    let Ok(a) = serde_json::from_str::<SendAnswer>(frame.as_str()) else {
                        continue;
                    };
                    // Answers to sends that timed out, presence, pings.
                    let Some(at) = waiting
                        .iter()
                        .position(|w| a.reference.as_deref() == Some(w.0.as_str()))
                    else {
                        continue;
                    };
                    let Some((_, ch_index, t)) = waiting.remove(at) else {
                        continue;
                    };
                    let answered = if a.kind == "sent" {
                        Ok(())
                    } else {
                        Err(refusal(&a, frame.as_str()))
                    };
                    out.record(t, acked, &load.sent_per_channel[ch_index], answered);
                }
                Step::Heard(Some(Ok(WsMessage::Close(c)))) => {
                    out.fail(
                        waiting.len() as u64,
                        format!("the WebSocket was closed: {c:?}"),
                    );
                    waiting.clear();
                    self.socket = None;
                }
                Step::Heard(Some(Ok(_))) => {}
                Step::Heard(Some(Err(e))) => {
                    out.fail(waiting.len() as u64, format!("WebSocket: {e}"));
                    waiting.clear();
                    self.socket = None;
                }
                Step::Heard(None) => {
                    out.fail(waiting.len() as u64, "the WebSocket was closed".into());
                    waiting.clear();
                    self.socket = None;
                }
                Step::TimedOut => {
                    waiting.pop_front();
                    out.fail(1, format!("no answer within {REQUEST_TIMEOUT:?}"));
                }
            }
        }
        out
    }

    /// `body` as a `send` frame to channel `ch_index`, with the next ref.
    fn frame(&mut self, ch_index: usize, mut body: Value) -> (String, WsMessage) {
        self.sends += 1;
        let reference = self.sends.to_string();
        if let Some(fields) = body.as_object_mut() {
            fields.insert("type".into(), "send".into());
            fields.insert("ref".into(), reference.clone().into());
            fields.insert("channel_id".into(), self.channels[ch_index].clone().into());
        }
        (reference, WsMessage::Text(body.to_string().into()))
    }

    async fn send(&mut self, ch_index: usize, body: Value) -> Result<(), String> {
        if self.socket.is_none() {
            let socket = connect_sender(&self.addr, &self.token)
                .await
                .map_err(|e| format!("WebSocket reconnect: {e:#}"))?;
            self.socket = Some(socket);
        }
        let (reference, frame) = self.frame(ch_index, body);
        let Some(socket) = self.socket.as_mut() else {
            return Err("no WebSocket".into());
        };
        let answer = async {
            socket
                .send(frame)
                .await
                .map_err(|e| format!("WebSocket send: {e}"))?;
            loop {
                let text = match socket.next().await {
                    Some(Ok(WsMessage::Text(t))) => t,
                    Some(Ok(WsMessage::Close(c))) => {
                        return Err(format!("the WebSocket was closed: {c:?}"));
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(format!("WebSocket: {e}")),
                    None => return Err("the WebSocket was closed".into()),
                };
                let Ok(a) = serde_json::from_str::<SendAnswer>(text.as_str()) else {
                    continue;
                };
                // Answers to earlier sends that timed out, presence, pings.
                if a.reference.as_deref() != Some(reference.as_str()) {
                    continue;
                }
                return Ok(match a.kind.as_ref() {
                    "sent" => Ok(()),
                    _ => Err(refusal(&a, text.as_str())),
                });
            }
        };
        match answer.await {
            Ok(answered) => answered,
            Err(broken) => {
                self.socket = None;
                Err(broken)
            }
        }
    }
}

/// What an answer other than `sent` says, for the report.
fn refusal(a: &SendAnswer, text: &str) -> String {
    let message = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{} {}: {message}", a.kind, a.code.as_deref().unwrap_or(""))
}

#[derive(Default)]
pub(crate) struct SenderResult {
    pub(crate) latencies: Vec<u64>,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

impl SenderResult {
    /// One send sent at `sent_at` and settled at `settled_at` (ns on the run's
    /// clock): its latency and its channel's count if acknowledged, else an
    /// error (the first one is kept for the report).
    pub(crate) fn record(
        &mut self,
        sent_at: u64,
        settled_at: u64,
        channel_count: &AtomicU64,
        outcome: Result<(), String>,
    ) {
        match outcome {
            Ok(()) => {
                self.latencies.push(settled_at.saturating_sub(sent_at));
                channel_count.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.fail(1, e),
        }
    }

    /// `count` sends failed, for the reason `e`.
    pub(crate) fn fail(&mut self, count: u64, e: String) {
        self.errors += count;
        self.first_error.get_or_insert(e);
    }
}

/// A send under its time limit, as [`SenderResult::record`] takes it;
/// `awaited` names what did not come in time ("answer", "ack").
pub(crate) fn outcome<T, E: std::fmt::Display>(
    timed: Result<Result<T, E>, tokio::time::error::Elapsed>,
    awaited: &str,
) -> Result<(), String> {
    match timed {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(format!("no {awaited} within {REQUEST_TIMEOUT:?}")),
    }
}

/// Sends until `load.end`, one message at a time; returns what it measured and its
/// connection (kept open until the run ends, so that no sender leaving shows
/// up in the members' drain).
async fn sender(mut via: Via, load: &Load, text: &str) -> (SenderResult, Via) {
    let mut out = SenderResult::default();
    let start = Instant::now();
    let mut n: u64 = 0;
    // Bounded by time and, for safety, by count.
    while Instant::now() < load.end && n < 100_000_000 {
        if let Some(due) = load.due(start, n) {
            // Open schedule: message n is due at start + n·interval; a sender
            // that falls behind sends at once (it does not skip).
            if due >= load.end {
                break;
            }
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        }
        let (ch_index, t, body) = load.message(n, text);
        let res = tokio::time::timeout(REQUEST_TIMEOUT, via.send(ch_index, body)).await;
        let acked = load.clock.elapsed().as_nanos() as u64;
        out.record(
            t,
            acked,
            &load.sent_per_channel[ch_index],
            outcome(res, "answer"),
        );
        n += 1;
    }
    (out, via)
}

// ---------------------------------------------------------------------------
// The runs

/// Most sends a sender may keep awaiting their acks (`--in-flight`).
pub const MAX_IN_FLIGHT: usize = 1024;

/// `--in-flight` is 1 to [`MAX_IN_FLIGHT`], and more than 1 only on
/// WebSockets: an HTTP sender has one request at a time.
pub fn check_in_flight(config: &Config) -> Result<()> {
    if config.in_flight == 0 || config.in_flight > MAX_IN_FLIGHT {
        bail!("--in-flight must be 1 to {MAX_IN_FLIGHT}");
    }
    if config.in_flight > 1 && config.send_over == SendOver::Http {
        bail!(
            "--in-flight {} needs --send-over ws: an HTTP sender has one request at a time",
            config.in_flight
        );
    }
    Ok(())
}

/// Runs one bench round against a fresh `octo serve` started from `octo`.
pub async fn run(config: &Config, octo: &Path) -> Result<Report> {
    if config.senders == 0 || config.members == 0 || config.channels == 0 {
        bail!("senders, members and channels must be at least 1");
    }
    check_in_flight(config)?;
    if config.payload == 0 || config.payload > 16_000 {
        bail!("payload must be 1 to 16000 bytes (the message text limit)");
    }
    let nodes = Nodes::start(
        octo,
        config.setup_timeout,
        config.send_queue,
        config.scale_out.as_ref(),
    )
    .await?;
    let result = tokio::time::timeout(
        config.setup_timeout + config.duration + DRAIN + Duration::from_secs(10),
        round(config, &nodes),
    )
    .await
    .unwrap_or_else(|_| Err(anyhow!("the run overran its time limit")));
    let stopped = nodes.stop().await;
    let report = result?;
    stopped?;
    Ok(report)
}

async fn round(config: &Config, nodes: &Nodes) -> Result<Report> {
    let run_id = u64::from(std::process::id()) << 20 | u64::from(rand_u16());
    let setup_deadline = Instant::now() + config.setup_timeout;
    let setup = async {
        let org = setup_org(&nodes.node(0).url).await?;
        let space = post(
            &org.owner,
            &format!("/orgs/{}/spaces", org.org),
            json!({"name": "bench", "visibility": "open"}),
        )
        .await?;
        let space = str_at(&space, "/id")?;
        let mut channels = Vec::with_capacity(config.channels);
        for k in 0..config.channels {
            let ch = post(
                &org.owner,
                &format!("/spaces/{space}/channels"),
                // Private: in an open space every org member's socket would
                // also get the events of public channels it has not joined.
                json!({"name": format!("bench-{k}"), "private": true}),
            )
            .await?;
            channels.push(str_at(&ch, "/id")?);
        }
        let senders = agents(&org, "sender-", config.senders).await?;
        let members = agents(&org, "member-", config.members * config.channels).await?;
        let mut pairs = Vec::new();
        for (p, _) in &senders {
            for ch in &channels {
                pairs.push((ch.clone(), p.clone()));
            }
        }
        for (i, (p, _)) in members.iter().enumerate() {
            pairs.push((channels[i / config.members].clone(), p.clone()));
        }
        join_all(&org, pairs).await?;
        let sockets: Vec<Socket> = futures::stream::iter(members.iter().enumerate())
            .map(|(i, (_, token))| connect(&nodes.node(i).addr, token))
            .buffered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        let channels = Arc::new(channels);
        let vias = senders_via(config.send_over, nodes, &senders, &channels).await?;
        Ok::<_, anyhow::Error>((org, channels, vias, members, sockets))
    };
    let (_org, channels, vias, members, sockets) =
        tokio::time::timeout_at(tokio::time::Instant::from_std(setup_deadline), setup)
            .await
            .map_err(|_| anyhow!("setup took longer than {:?}", config.setup_timeout))??;

    // Let the connection burst (presence, replays) settle before measuring idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_idle = nodes.sample()?;
    let bench_cpu_before = own_cpu()?;

    let peak = PeakSampler::start_all(nodes.pids());
    let clock = Instant::now();
    let send_end = clock + config.duration;
    let member_deadline = send_end + DRAIN;
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Vec<Arc<AtomicU64>> = (0..sockets.len())
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let member_tasks: Vec<_> = sockets
        .into_iter()
        .zip(&counters)
        .map(|(ws, count)| {
            tokio::spawn(member(
                ws,
                run_id,
                clock,
                count.clone(),
                stop.clone(),
                member_deadline,
            ))
        })
        .collect();

    let sent_per_channel: Arc<Vec<AtomicU64>> =
        Arc::new((0..channels.len()).map(|_| AtomicU64::new(0)).collect());
    let interval =
        (config.rate > 0.0).then(|| Duration::from_secs_f64(config.senders as f64 / config.rate));
    let text: Arc<str> = "x".repeat(config.payload).into();
    let sender_tasks: Vec<_> = vias
        .into_iter()
        .enumerate()
        .map(|(i, via)| {
            let (sent, text) = (sent_per_channel.clone(), text.clone());
            let k = channels.len();
            let window = config.in_flight;
            tokio::spawn(async move {
                let load = Load {
                    index: i,
                    channels: k,
                    sent_per_channel: sent,
                    run_id,
                    clock,
                    end: send_end,
                    interval,
                };
                match via {
                    Via::Ws(mut ws) if window > 1 => {
                        let out = ws.send_windowed(window, &load, &text).await;
                        (out, Via::Ws(ws))
                    }
                    via => sender(via, &load, &text).await,
                }
            })
        })
        .collect();
    let mut ack = Vec::new();
    let (mut send_errors, mut first_error) = (0, None);
    let mut vias = Vec::new();
    for t in sender_tasks {
        let (r, via) = t.await?;
        vias.push(via);
        ack.extend(r.latencies);
        send_errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
    }
    let send_elapsed = clock.elapsed();

    // Drain: until every member has everything its channel was sent, or DRAIN.
    let expected_of = |i: usize| sent_per_channel[i / config.members].load(Ordering::Relaxed);
    let expected_deliveries: u64 = (0..counters.len()).map(expected_of).sum();
    while Instant::now() < member_deadline {
        let done = counters
            .iter()
            .enumerate()
            .all(|(i, c)| c.load(Ordering::Relaxed) >= expected_of(i));
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut delivery = Vec::new();
    let (mut duplicates, mut members_lost, mut last_at) = (0, 0, 0);
    for t in member_tasks {
        let r = t.await?;
        delivery.extend(r.latencies);
        duplicates += r.duplicates;
        members_lost += u64::from(r.lost);
        last_at = last_at.max(r.last_at);
    }
    let server_end = nodes.sample()?;
    let server_peak_rss = peak.stop().await.max(server_end.rss);
    let bench_cpu = own_cpu()?.saturating_sub(bench_cpu_before);
    drop(vias);
    drop(members);

    Ok(Report {
        config: config.clone(),
        url: nodes.node(0).url.clone(),
        nodes: nodes.len(),
        sent: ack.len() as u64,
        send_errors,
        first_error,
        send_elapsed,
        ack: Latency::of(ack),
        expected_deliveries,
        delivered: delivery.len() as u64,
        duplicates,
        members_lost,
        delivery: Latency::of(delivery),
        delivery_elapsed: Duration::from_nanos(last_at).max(send_elapsed),
        server_idle,
        server_end,
        server_peak_rss,
        bench_cpu,
    })
}

/// The senders' ways in: an HTTP client each, or a WebSocket each (connected
/// here, during setup, so that connecting is not part of the run). Sender `i`
/// uses node `i mod n`.
async fn senders_via(
    send_over: SendOver,
    nodes: &Nodes,
    senders: &[(String, String)],
    channels: &Arc<Vec<String>>,
) -> Result<Vec<Via>> {
    match send_over {
        SendOver::Http => {
            let paths: Vec<String> = channels
                .iter()
                .map(|ch| format!("/channels/{ch}/messages"))
                .collect();
            Ok(senders
                .iter()
                .enumerate()
                .map(|(i, (_, token))| Via::Http {
                    client: Client::new(&nodes.node(i).url, Some(token.clone())),
                    paths: paths.clone(),
                })
                .collect())
        }
        SendOver::Ws => futures::stream::iter(senders.iter().enumerate())
            .map(|(i, (_, token))| async move {
                let addr = nodes.node(i).addr.clone();
                let socket = connect_sender(&addr, token).await?;
                Ok(Via::Ws(Box::new(WsSender {
                    addr,
                    token: token.clone(),
                    channels: channels.clone(),
                    socket: Some(socket),
                    sends: 0,
                })))
            })
            .buffered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect(),
    }
}

/// Opens `connections` idle authenticated WebSockets (one principal) against a
/// fresh server and measures its RSS before and after. Capped to what the
/// open-file limit allows (the server needs one descriptor per connection too,
/// and inherits the limit).
pub async fn run_idle(
    connections: usize,
    settle: Duration,
    send_queue: usize,
    octo: &Path,
) -> Result<IdleReport> {
    let fd_limit = raise_fd_limit();
    let cap = usize::try_from(fd_limit.saturating_sub(256)).unwrap_or(usize::MAX);
    let n = connections.min(cap);
    let server = Server::start(octo, Duration::from_secs(30), send_queue, None).await?;
    let bound = Duration::from_secs(60) + settle + Duration::from_millis(5 * n as u64);
    let result = tokio::time::timeout(bound, idle_round(n, connections, fd_limit, settle, &server))
        .await
        .unwrap_or_else(|_| Err(anyhow!("the idle run overran its time limit of {bound:?}")));
    let stopped = server.stop().await;
    let report = result?;
    stopped?;
    Ok(report)
}

async fn idle_round(
    n: usize,
    requested: usize,
    fd_limit: u64,
    settle: Duration,
    server: &Server,
) -> Result<IdleReport> {
    let org = setup_org(&server.url).await?;
    let (_, token) = agents(&org, "idle-", 1)
        .await?
        .pop()
        .ok_or_else(|| anyhow!("no agent"))?;
    // One connection first, so that what is allocated once is not counted per
    // connection.
    let first = connect(&server.addr, &token).await?;
    tokio::time::sleep(settle).await;
    let before = server.sample()?;
    let started = Instant::now();
    let token = token.as_str();
    let mut sockets: Vec<Socket> = Vec::with_capacity(n);
    let mut stream = futures::stream::iter(1..n)
        .map(|_| connect(&server.addr, token))
        .buffer_unordered(32);
    while let Some(ws) = stream.next().await {
        sockets.push(ws?);
    }
    sockets.push(first);
    let connect_elapsed = started.elapsed();
    tokio::time::sleep(settle).await;
    let after = server.sample()?;
    drop(sockets);
    Ok(IdleReport {
        requested,
        opened: n,
        fd_limit,
        before,
        after,
        connect_elapsed,
    })
}

pub(crate) fn rand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos >> 4) as u16
}

pub(crate) fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// Drops a run's PostgreSQL schema, so benchmarks leave nothing behind.
pub(crate) async fn drop_schema(url: &str, schema: &str) -> Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL to drop the bench schema")?;
    let conn = tokio::spawn(connection);
    // The name was made here from digits and letters: safe to splice.
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .with_context(|| format!("dropping schema {schema}"))?;
    drop(client);
    let _ = conn.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let l = Latency::of((1..=1000).collect());
        assert_eq!(l.p50, Duration::from_nanos(500));
        assert_eq!(l.p99, Duration::from_nanos(990));
        assert_eq!(l.p999, Duration::from_nanos(999));
        assert_eq!(l.max, Duration::from_nanos(1000));
        assert_eq!(Latency::of(vec![]).count, 0);
    }

    #[test]
    fn stat_line() -> Result<()> {
        let line = "123 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        let cpu = cpu_of_stat(line)?;
        assert_eq!(cpu, Duration::from_secs_f64(300.0 / clock_ticks()));
        Ok(())
    }

    #[test]
    fn config_parses_as_toml_keys() {
        let text = config_text(DEFAULT_SEND_QUEUE);
        assert!(text.contains("[limits.rate_limit]") && text.contains("send_queue"));
    }

    #[test]
    fn the_server_config_carries_the_sqlite_synchronous_asked_for() {
        // One test sets the global, so the two states are checked in order here.
        assert!(config_text(1).contains("sqlite_synchronous = \"full\""));
        set_sqlite_sync(SqliteSync::Normal);
        let normal = config_text(1);
        set_sqlite_sync(SqliteSync::Full);
        assert!(normal.contains("[storage]\nsqlite_synchronous = \"normal\""));
        // The same for the coalescing window (same global state, same test).
        assert!(!config_text(1).contains("coalesce_ms"));
        set_coalesce_ms(Some(0));
        let zero: toml::Value = toml::from_str(&config_text(1)).expect("valid TOML");
        set_coalesce_ms(None);
        assert_eq!(
            zero["limits"]["realtime"]["coalesce_ms"].as_integer(),
            Some(0)
        );
    }
}
