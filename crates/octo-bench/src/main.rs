//! `octo-bench`: load and memory figures for an `octo serve` it starts itself on
//! loopback. See `BENCHMARKS.md` at the repository root for measured figures.

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use octo_bench::{
    Config, DEFAULT_SEND_QUEUE, DRAIN, config_text, default_octo_path, raise_fd_limit,
};
use std::path::PathBuf;
use std::time::Duration;

/// Starts `octo serve` on 127.0.0.1:0 with a temporary data directory, sets up an
/// org over the API, connects `members × channels` WebSockets (each its own
/// principal) and has `senders` principals post messages for `duration` seconds;
/// prints send→ack and send→delivered latency, throughput, and the server's
/// memory and CPU. With `--idle-connections C` it instead opens C idle
/// authenticated WebSockets and prints what they cost the server in memory.
#[derive(Parser, Debug)]
#[command(name = "octo-bench", version)]
struct Args {
    /// The octo binary to run (default: `octo` next to this executable).
    #[arg(long)]
    octo: Option<PathBuf>,
    /// Principals posting messages, each one request at a time.
    #[arg(long, default_value_t = 4)]
    senders: usize,
    /// WebSocket members per channel (each a distinct principal).
    #[arg(long, default_value_t = 10)]
    members: usize,
    /// Channels; each sender posts to all of them in turn.
    #[arg(long, default_value_t = 1)]
    channels: usize,
    /// Bytes of message text (1 to 16000).
    #[arg(long, default_value_t = 200)]
    payload: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Target messages per second over all senders; 0: as fast as possible.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Seconds allowed to start the server, set up the org and connect.
    #[arg(long, default_value_t = 60.0)]
    setup_timeout: f64,
    /// Instead of the load run: open this many idle authenticated WebSockets
    /// (one principal) and measure the server's RSS before and after
    /// (e.g. 2000; capped by the open-file limit).
    #[arg(long)]
    idle_connections: Option<usize>,
    /// The server's `[limits.realtime] send_queue`: frames a connection may
    /// have queued before it is cut off as a slow consumer (server default 1024).
    #[arg(long, default_value_t = DEFAULT_SEND_QUEUE)]
    send_queue: usize,
    /// Seconds to wait before each RSS reading in the idle-connections mode.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
}

fn seconds(name: &str, s: f64, max: f64) -> Result<Duration> {
    if !(s.is_finite() && s > 0.0 && s <= max) {
        return Err(anyhow!(
            "--{name} must be more than 0 and at most {max} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(s))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let octo = match args.octo {
        Some(p) => p,
        None => default_octo_path().context(
            "no octo binary next to octo-bench: build it (cargo build --release -p octo) or pass --octo PATH",
        )?,
    };
    println!(
        "server: {} serve (127.0.0.1:0, temporary data directory)",
        octo.display()
    );
    println!(
        "server config (raises the per-principal rate limit, default burst 200 / 50 per s, and the WebSocket send queue, default 1024):"
    );
    for line in config_text(args.send_queue)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        println!("    {line}");
    }
    let fd_limit = raise_fd_limit();

    if let Some(c) = args.idle_connections {
        let settle = seconds("settle", args.settle, 60.0)?;
        if (c as u64) + 256 > fd_limit {
            println!(
                "open-file limit (ulimit -n) is {fd_limit}: capping at {} connections",
                fd_limit.saturating_sub(256)
            );
        }
        let report = octo_bench::run_idle(c, settle, args.send_queue, &octo).await?;
        report.print();
        return Ok(());
    }

    if args.rate < 0.0 || !args.rate.is_finite() {
        return Err(anyhow!("--rate must be 0 (unlimited) or a positive number"));
    }
    let config = Config {
        senders: args.senders,
        members: args.members,
        channels: args.channels,
        payload: args.payload,
        duration: seconds("duration", args.duration, 3600.0)?,
        rate: args.rate,
        setup_timeout: seconds("setup-timeout", args.setup_timeout, 3600.0)?,
        send_queue: args.send_queue.max(1),
    };
    let connections = (config.members * config.channels) as u64;
    if connections + 256 > fd_limit {
        return Err(anyhow!(
            "{connections} WebSockets need more open files than the limit (ulimit -n {fd_limit}) allows"
        ));
    }
    println!(
        "bounded: setup {:.0} s + send {:.0} s + drain {:.0} s + stop 10 s at most",
        config.setup_timeout.as_secs_f64(),
        config.duration.as_secs_f64(),
        DRAIN.as_secs_f64()
    );
    let report = octo_bench::run(&config, &octo).await?;
    report.print();
    Ok(())
}
