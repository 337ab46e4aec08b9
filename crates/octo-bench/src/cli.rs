//! The command line, shared by the `octo-bench` binary and `octo bench`.

use crate::jetstream::DEFAULT_NATS_URL;
use crate::{Config, DEFAULT_SEND_QUEUE, DRAIN, config_text, raise_fd_limit};
use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Starts `octo serve` on 127.0.0.1:0 with a temporary data directory, sets up an
/// org over the API, connects `members × channels` WebSockets (each its own
/// principal) and has `senders` principals post messages for `duration` seconds
/// (over HTTP, or with `--send-over ws` as `send` frames on a WebSocket each);
/// prints send→ack and send→delivered latency, throughput, and the server's
/// memory and CPU. With `--idle-connections C` it instead opens C idle
/// authenticated WebSockets and prints what they cost the server in memory.
/// `compare` runs the same workload through Octo and through NATS JetStream.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Instead of the load run: open this many idle authenticated WebSockets
    /// (one principal) and measure the server's RSS before and after
    /// (e.g. 2000; capped by the open-file limit).
    #[arg(long)]
    pub idle_connections: Option<usize>,
    /// Seconds to wait before each RSS reading in the idle-connections mode.
    #[arg(long, default_value_t = 2.0)]
    pub settle: f64,
    /// Run the server's built-in scribe agent (off by default: it joins every
    /// new channel and reads every message).
    #[arg(long, global = true)]
    pub scribe: bool,
    /// The embedded server's `[storage] sqlite_synchronous`: `full` (an fsync
    /// per group commit, the server's default) or `normal` (no fsync at
    /// commit; a power loss may lose the last commits, as JetStream's default
    /// file store may). Ignored with --database.
    #[arg(long, global = true, value_enum, default_value_t = crate::SqliteSync::Full)]
    pub sqlite_synchronous: crate::SqliteSync,
    /// The embedded server's `[limits.realtime] coalesce_ms` (how long a busy
    /// socket gathers events into one write; 0 = write at once). Omitted: the
    /// server's default.
    #[arg(long, global = true)]
    pub coalesce_ms: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// The same workload through Octo (a fresh `octo serve`, embedded SQLite)
    /// and through NATS JetStream, one after the other, side by side.
    ///
    /// JetStream side (async-nats): a stream of its own per run
    /// (`OCTO_BENCH_<run>`, file storage, 1 replica, subjects
    /// `octobench.<run>.<k>` for the K channels), deleted at the end; senders
    /// publish with ack (one publish awaiting its PubAck at a time, like Octo's
    /// one request at a time; with --in-flight N, up to N async publishes); one ordered push consumer per member (ephemeral,
    /// ack none, deliver all, flow control), each member on its own NATS
    /// connection, filtered to its channel's subject. By default nats-server
    /// is not started: it must run at --nats (loopback only). With
    /// --nats-server PATH or --jetstream-sync-always the bench starts a
    /// private nats-server for each JetStream run (127.0.0.1, a free port, a
    /// temporary store, stopped after the run). Prints every system's figures
    /// and, last, `ratios octo/jetstream: throughput=R p99=R deliveries=R
    /// rss=R`, always against the JetStream run with its default fsync timer
    /// (sync_interval 2 min); with --jetstream-sync-always the line before it
    /// is `ratios octo/jetstream-sync-always: …`.
    Compare(CompareArgs),
    /// Fills one thread with a root and --replies replies over the API, then
    /// times `GET /channels/{id}/context?thread_id=…` (one request at a time,
    /// loopback round trip) for each --budget.
    Context(ContextArgs),
}

#[derive(Args, Debug)]
pub struct ContextArgs {
    /// The octo binary to run (as for the load run).
    #[arg(long)]
    pub octo: Option<PathBuf>,
    /// Replies in the thread (1 to 100,000).
    #[arg(long, default_value_t = 9_999)]
    pub replies: usize,
    /// Timed requests per budget (1 to 10,000).
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Token budgets (`max_tokens`), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4000,32000")]
    pub budget: Vec<usize>,
}

/// The workload, shared by the load run and `compare`.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// The octo binary to run (default: `octo` next to this executable, or
    /// this executable itself under `octo bench`).
    #[arg(long)]
    pub octo: Option<PathBuf>,
    /// Principals posting messages, each one request at a time (see
    /// --in-flight).
    #[arg(long, default_value_t = 4)]
    pub senders: usize,
    /// Members per channel (each a distinct principal and connection).
    #[arg(long, default_value_t = 10)]
    pub members: usize,
    /// Channels (JetStream: subjects); each sender posts to all of them in turn.
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// Bytes of message text (JetStream: of payload, at least 8) (1 to 16000).
    #[arg(long, default_value_t = 200)]
    pub payload: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Target messages per second over all senders; 0: as fast as possible.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Seconds allowed to start the server, set up and connect.
    #[arg(long, default_value_t = 60.0)]
    pub setup_timeout: f64,
    /// The server's `[limits.realtime] send_queue`: frames a connection may
    /// have queued before it is cut off as a slow consumer (server default 1024).
    #[arg(long, default_value_t = DEFAULT_SEND_QUEUE)]
    pub send_queue: usize,
    /// Run Octo in scale-out mode on this PostgreSQL (loopback only), in a
    /// schema of its own that is dropped after the run. Default: embedded SQLite.
    #[arg(long, env = "OCTO_BENCH_DATABASE")]
    pub database: Option<String>,
    /// With --database: fan out through this NATS (loopback only) instead of
    /// in process.
    #[arg(long, requires = "database")]
    pub broker: Option<String>,
    /// With --database and --broker: run this many nodes on the same database
    /// and broker (1 to 8); members and senders are spread over them.
    #[arg(long, default_value_t = 1, requires = "database")]
    pub nodes: usize,
    /// How Octo's senders send: `http` (`POST /api/v1/channels/{id}/messages`,
    /// one request at a time) or `ws` (each sender holds one WebSocket whose
    /// hello names no channels, so it receives no events, and writes one `send`
    /// frame at a time, timing it to its `sent` answer; an `error` answer or
    /// no answer within 10 s counts as an error). In `compare` only the Octo
    /// side; JetStream always publishes with ack.
    #[arg(long, value_enum, default_value_t = crate::SendOver::Http)]
    pub send_over: crate::SendOver,
    /// Sends each sender keeps awaiting their acks (1 to 1024): with N > 1 a
    /// sender writes its next `send` frame without waiting for the previous
    /// answer, up to N unanswered, each still timed from its frame to its own
    /// answer. Needs `--send-over ws` (an HTTP sender has one request at a
    /// time). In `compare` the JetStream senders keep up to N async publishes
    /// awaiting their PubAcks, each timed from its publish to its ack.
    #[arg(long, default_value_t = 1)]
    pub in_flight: usize,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// NATS with JetStream to compare with (loopback only); not used when the
    /// bench starts its own (--nats-server, --jetstream-sync-always).
    #[arg(long, env = "OCTO_BENCH_NATS", default_value = DEFAULT_NATS_URL)]
    pub nats: String,
    /// Start a private nats-server from this binary for each JetStream run
    /// instead of using --nats (with --jetstream-sync-always the default is
    /// `nats-server` on PATH, else /usr/sbin/nats-server).
    #[arg(long)]
    pub nats_server: Option<PathBuf>,
    /// Also run JetStream with `sync_interval: always` (fsync of every write
    /// before its PubAck, as Octo's default commit), on a private server; the
    /// default-timer run then uses a private server of the same binary too.
    /// Needs nats-server 2.10 or later.
    #[arg(long)]
    pub jetstream_sync_always: bool,
}

impl CompareArgs {
    pub fn side(&self) -> crate::compare::JetStreamSide {
        let private = match (&self.nats_server, self.jetstream_sync_always) {
            (Some(path), _) => Some(path.clone()),
            (None, true) => Some(crate::nats_server::default_binary()),
            (None, false) => None,
        };
        crate::compare::JetStreamSide {
            url: self.nats.clone(),
            private,
            sync_always: self.jetstream_sync_always,
        }
    }
}

fn seconds(name: &str, s: f64, max: f64) -> Result<Duration> {
    if !(s.is_finite() && s > 0.0 && s <= max) {
        return Err(anyhow!(
            "--{name} must be more than 0 and at most {max} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(s))
}

impl LoadArgs {
    pub fn config(&self) -> Result<Config> {
        if self.rate < 0.0 || !self.rate.is_finite() {
            return Err(anyhow!("--rate must be 0 (unlimited) or a positive number"));
        }
        if self.nodes == 0 || self.nodes > crate::nodes::MAX_NODES {
            return Err(anyhow!("--nodes must be 1 to {}", crate::nodes::MAX_NODES));
        }
        if self.nodes > 1 && self.broker.is_none() {
            return Err(anyhow!(
                "--nodes {} needs --broker nats://…: nodes fan out to each other through it",
                self.nodes
            ));
        }
        Ok(Config {
            senders: self.senders,
            members: self.members,
            channels: self.channels,
            payload: self.payload,
            duration: seconds("duration", self.duration, 3600.0)?,
            rate: self.rate,
            setup_timeout: seconds("setup-timeout", self.setup_timeout, 3600.0)?,
            send_queue: self.send_queue.max(1),
            scale_out: self.database.clone().map(|database| crate::ScaleOut {
                database,
                broker: self.broker.clone(),
                nodes: self.nodes,
            }),
            send_over: self.send_over,
            in_flight: self.in_flight,
        })
        .and_then(|config| crate::check_in_flight(&config).map(|()| config))
    }

    fn octo(&self, default_octo: Option<PathBuf>) -> Result<PathBuf> {
        self.octo.clone().or(default_octo).context(
            "no octo binary next to octo-bench: build it (cargo build --release -p octo) or pass --octo PATH",
        )
    }
}

fn print_server(octo: &std::path::Path, send_queue: usize, scale_out: Option<&crate::ScaleOut>) {
    println!(
        "server: {} serve (127.0.0.1:0, temporary data directory; {})",
        octo.display(),
        crate::ScaleOut::label(scale_out)
    );
    println!(
        "server config (raises the per-principal rate limit, default burst 200 / 50 per s, and the WebSocket send queue, default 1024):"
    );
    for line in config_text(send_queue)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        println!("    {line}");
    }
}

/// Runs what `args` asks for; `default_octo` is the octo binary to start when
/// `--octo` is not given.
pub async fn run(args: BenchArgs, default_octo: Option<PathBuf>) -> Result<()> {
    let fd_limit = raise_fd_limit();
    crate::set_scribe(args.scribe);
    crate::set_sqlite_sync(args.sqlite_synchronous);
    crate::set_coalesce_ms(args.coalesce_ms);
    println!(
        "scribe: {} (--scribe runs the server's built-in group.md agent)",
        if args.scribe { "on" } else { "off" }
    );
    println!(
        "sqlite_synchronous: {} (--sqlite-synchronous full|normal)",
        args.sqlite_synchronous.as_str()
    );
    if let Some(BenchCommand::Context(c)) = args.command {
        if !(1..=100_000).contains(&c.replies) || !(1..=10_000).contains(&c.requests) {
            return Err(anyhow!(
                "--replies must be 1 to 100000 and --requests 1 to 10000"
            ));
        }
        let octo = c.octo.clone().or(default_octo).context(
            "no octo binary next to octo-bench: build it (cargo build --release -p octo) or pass --octo PATH",
        )?;
        print_server(&octo, DEFAULT_SEND_QUEUE, None);
        let config = crate::context::ContextConfig {
            replies: c.replies,
            requests: c.requests,
            budgets: c.budget,
            setup_timeout: Duration::from_secs(60),
            send_queue: DEFAULT_SEND_QUEUE,
        };
        let report = crate::context::run_context(&config, &octo).await?;
        report.print();
        return Ok(());
    }
    if let Some(BenchCommand::Compare(c)) = args.command {
        let octo = c.load.octo(default_octo)?;
        let config = c.load.config()?;
        check_fds(&config, fd_limit)?;
        print_server(&octo, config.send_queue, config.scale_out.as_ref());
        println!(
            "bounded: per system setup {:.0} s + send {:.0} s + drain {:.0} s + stop/clean-up 10 s at most",
            config.setup_timeout.as_secs_f64(),
            config.duration.as_secs_f64(),
            DRAIN.as_secs_f64()
        );
        let report = crate::compare::compare(&config, &octo, &c.side()).await?;
        report.print();
        return Ok(());
    }

    let octo = args.load.octo(default_octo)?;
    print_server(&octo, args.load.send_queue, None);
    if let Some(c) = args.idle_connections {
        let settle = seconds("settle", args.settle, 60.0)?;
        if (c as u64) + 256 > fd_limit {
            println!(
                "open-file limit (ulimit -n) is {fd_limit}: capping at {} connections",
                fd_limit.saturating_sub(256)
            );
        }
        let report = crate::run_idle(c, settle, args.load.send_queue, &octo).await?;
        report.print();
        return Ok(());
    }

    let config = args.load.config()?;
    check_fds(&config, fd_limit)?;
    println!(
        "bounded: setup {:.0} s + send {:.0} s + drain {:.0} s + stop 10 s at most",
        config.setup_timeout.as_secs_f64(),
        config.duration.as_secs_f64(),
        DRAIN.as_secs_f64()
    );
    let report = crate::run(&config, &octo).await?;
    report.print();
    Ok(())
}

/// The bench holds one descriptor per member connection (and the server,
/// which inherits the limit, one more).
fn check_fds(config: &Config, fd_limit: u64) -> Result<()> {
    let connections = (config.members * config.channels) as u64;
    if connections + 256 > fd_limit {
        return Err(anyhow!(
            "{connections} connections need more open files than the limit (ulimit -n {fd_limit}) allows"
        ));
    }
    Ok(())
}
