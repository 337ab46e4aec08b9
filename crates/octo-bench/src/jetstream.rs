//! The same workload as [`crate::run`], through NATS JetStream (`async-nats`).
//!
//! One run creates a stream of its own (`OCTO_BENCH_<run>`: file storage, one
//! replica, subjects `octobench.<run>.<k>` for channels `k = 0..K`), one
//! **ordered push consumer** per member (ephemeral, `AckPolicy::None`, deliver
//! all, flow control and idle heartbeats, as `async-nats` sets them up for
//! ordered consumers) filtered to its channel's subject, each member on its own
//! NATS connection as each Octo member has its own WebSocket, and N senders on
//! their own connections that publish with ack (`publish` then wait for the
//! `PubAck`, one in flight per sender, like Octo's one request at a time; with
//! `--in-flight N`, up to N publishes awaiting their PubAcks each). The
//! send time rides in the first 8 bytes of the payload. The stream is deleted at
//! the end however the run ends (it also ages out by itself, `max_age`).
//!
//! The server is the long-running `nats-server` at `--nats` (loopback only),
//! whose memory and CPU come from `/proc` of the process named `nats-server`,
//! or a private one that [`crate::nats_server`] started for this run (its pid
//! is known).

use crate::nats_server::JsSync;
use crate::{
    Config, DRAIN, Latency, MemberResult, PeakSampler, ProcSample, REQUEST_TIMEOUT, SenderResult,
    fmt_bytes, fmt_dur, outcome, own_cpu, per_second, rand_u16, sample,
};
use anyhow::{Context as _, Result, anyhow, bail};
use async_nats::jetstream::{self, Context, consumer, stream};
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the bench looks for NATS unless told otherwise.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
/// The stream's size cap (discard old beyond it): a run cannot fill the disk.
pub const STREAM_MAX_BYTES: i64 = 1 << 30;

/// The `nats-server` process, read from `/proc`.
#[derive(Debug, Clone, Copy)]
pub struct NatsProcess {
    pub pid: u32,
    /// Once everything is connected, before the first publish.
    pub before: ProcSample,
    /// After the drain; its `hwm` is the peak over the process's whole life.
    pub end: ProcSample,
    /// The highest VmRSS read during the run (first publish to end of drain).
    pub peak_rss: u64,
}

/// What a [`run`] measured.
#[derive(Debug, Clone)]
pub struct JsReport {
    pub config: Config,
    pub url: String,
    pub server_version: String,
    pub stream: String,
    /// Publishes acknowledged by JetStream (persisted to the stream).
    pub sent: u64,
    pub send_errors: u64,
    pub first_error: Option<String>,
    pub send_elapsed: Duration,
    pub ack: Latency,
    pub expected_deliveries: u64,
    pub delivered: u64,
    /// Messages received again, or out of stream order, by the same member.
    pub duplicates: u64,
    /// Members whose message stream ended before the run did.
    pub members_lost: u64,
    /// Errors the ordered consumers reported (missed heartbeats, recreations).
    pub consumer_errors: u64,
    pub delivery: Latency,
    pub delivery_elapsed: Duration,
    /// `None` when no process named `nats-server` was found.
    pub server: Option<NatsProcess>,
    pub bench_cpu: Duration,
    /// `Err(why)` if deleting the stream at the end failed.
    pub stream_deleted: Result<(), String>,
    /// `Some` when the server was a private one started for this run, with
    /// its fsync setting; `None`: the shared server at `url`.
    pub private: Option<JsSync>,
}

impl JsReport {
    pub fn send_rate(&self) -> f64 {
        per_second(self.sent, self.send_elapsed)
    }

    pub fn delivery_rate(&self) -> f64 {
        per_second(self.delivered, self.delivery_elapsed)
    }

    pub fn server_cpu(&self) -> Option<Duration> {
        self.server.map(|s| s.end.cpu.saturating_sub(s.before.cpu))
    }

    pub fn peak_rss(&self) -> u64 {
        self.server.map_or(0, |s| s.peak_rss)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let c = &self.config;
        match self.private {
            None => emit!(
                out,
                "server:           nats-server {} at {} (not started by the bench)",
                self.server_version,
                self.url
            ),
            Some(sync) => emit!(
                out,
                "server:           nats-server {} at {}, started by the bench for this run (JetStream in a temporary directory, {})",
                self.server_version,
                self.url,
                sync.label()
            ),
        }
        emit!(
            out,
            "stream:           {}: file storage, 1 replica, {} subject(s) octobench.<run>.<k>; deleted at the end: {}",
            self.stream,
            c.channels,
            match &self.stream_deleted {
                Ok(()) => "yes".to_owned(),
                Err(e) => format!("NO ({e})"),
            }
        );
        emit!(
            out,
            "consumers:        one ordered push consumer per member (ephemeral, ack none, deliver all, flow control), each member on its own connection"
        );
        emit!(
            out,
            "load: {} senders, {} channels x {} members ({} consumers), {} B payload, {:.0} s, rate {}",
            c.senders,
            c.channels,
            c.members,
            c.channels * c.members,
            c.payload.max(8),
            c.duration.as_secs_f64(),
            if c.rate > 0.0 {
                format!("{} msg/s target", c.rate)
            } else {
                match c.in_flight {
                    1 => "unlimited (closed loop, one publish awaiting its ack per sender)".into(),
                    n => format!(
                        "unlimited (closed loop, up to {n} publishes awaiting their acks per sender)"
                    ),
                }
            }
        );
        emit!(
            out,
            "publish->ack:     {} msgs in {:.2} s = {:.0} msgs/s; p50 {}, p99 {}, max {}; errors {}",
            self.sent,
            self.send_elapsed.as_secs_f64(),
            self.send_rate(),
            fmt_dur(self.ack.p50),
            fmt_dur(self.ack.p99),
            fmt_dur(self.ack.max),
            self.send_errors
        );
        if let Some(e) = &self.first_error {
            emit!(out, "  first publish error: {e}");
        }
        emit!(
            out,
            "publish->delivered: {} of {} deliveries ({} duplicate, {} members lost, {} consumer errors); p50 {}, p99 {}, p999 {}, max {}",
            self.delivered,
            self.expected_deliveries,
            self.duplicates,
            self.members_lost,
            self.consumer_errors,
            fmt_dur(self.delivery.p50),
            fmt_dur(self.delivery.p99),
            fmt_dur(self.delivery.p999),
            fmt_dur(self.delivery.max)
        );
        emit!(
            out,
            "deliveries/s:     {:.0} (first publish to last delivery, {:.2} s)",
            self.delivery_rate(),
            self.delivery_elapsed.as_secs_f64()
        );
        let wall = self.delivery_elapsed.as_secs_f64().max(1e-9);
        match &self.server {
            Some(s) if self.private.is_some() => {
                emit!(
                    out,
                    "server memory:    nats-server pid {} (private): RSS before the run {}, at end {}, peak sampled during the run {}, peak (VmHWM, since start) {}; {} threads",
                    s.pid,
                    fmt_bytes(s.before.rss),
                    fmt_bytes(s.end.rss),
                    fmt_bytes(s.peak_rss),
                    fmt_bytes(s.end.hwm),
                    s.end.threads
                );
                self.render_cpu(&mut out, s, wall);
            }
            Some(s) => {
                emit!(
                    out,
                    "server memory:    nats-server pid {} is shared and long-running: RSS before the run {}, at end {}, peak sampled during the run {}; VmHWM {} is its peak over its whole lifetime, not this run's; {} threads",
                    s.pid,
                    fmt_bytes(s.before.rss),
                    fmt_bytes(s.end.rss),
                    fmt_bytes(s.peak_rss),
                    fmt_bytes(s.end.hwm),
                    s.end.threads
                );
                self.render_cpu(&mut out, s, wall);
            }
            None => emit!(
                out,
                "server memory:    no process named nats-server found in /proc: not measured"
            ),
        }
        out
    }

    fn render_cpu(&self, out: &mut String, s: &NatsProcess, wall: f64) {
        let cpu = s.end.cpu.saturating_sub(s.before.cpu).as_secs_f64();
        emit!(
            out,
            "server CPU:       {:.2} s during the run ({:.0}% of one core); bench itself {:.2} s ({:.0}%)",
            cpu,
            100.0 * cpu / wall,
            self.bench_cpu.as_secs_f64(),
            100.0 * self.bench_cpu.as_secs_f64() / wall
        );
    }
}

/// Refuses anything but loopback: the bench is not a load tool for other hosts.
fn check_loopback(url: &str) -> Result<()> {
    let rest = url.strip_prefix("nats://").unwrap_or(url);
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let ok = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !ok {
        bail!("--nats must be a loopback address (127.0.0.1, ::1, localhost), not {url}");
    }
    Ok(())
}

/// The port in a `nats://host:port` URL (4222 without one).
fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or(4222)
}

/// The pid of the process named `nats-server`; with several, the one whose
/// command line names `port`.
pub fn find_nats_server(port: u16) -> Option<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim_end() == "nats-server" {
            found.push(pid);
        }
    }
    if found.len() > 1 {
        let port = port.to_string();
        if let Some(pid) = found.iter().copied().find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0).any(|arg| {
                    arg == port.as_bytes() || arg.ends_with(format!(":{port}").as_bytes())
                })
            })
        }) {
            return Some(pid);
        }
    }
    found.first().copied()
}

/// Connects one client (one TCP connection) with bounded waits.
async fn connect(url: &str, name: &str) -> Result<async_nats::Client> {
    let options = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(REQUEST_TIMEOUT)
        .request_timeout(Some(REQUEST_TIMEOUT))
        // Loopback: a lost connection is a failed run, not something to ride out.
        .max_reconnects(Some(3));
    tokio::time::timeout(REQUEST_TIMEOUT, options.connect(url))
        .await
        .map_err(|_| anyhow!("NATS at {url}: no connection within {REQUEST_TIMEOUT:?}"))?
        .with_context(|| format!("connecting to NATS at {url}"))
}

/// Checks that NATS answers at `url` (loopback) with JetStream enabled;
/// returns the server's version.
pub async fn probe(url: &str) -> Result<String> {
    check_loopback(url)?;
    let client = connect(url, "octo-bench-probe").await?;
    // `$JS.API.INFO` answers with the account's JetStream usage, or an error
    // (or no responders) without JetStream. Read as JSON: the typed answer of
    // async-nats expects fields that older servers do not send.
    let answer = tokio::time::timeout(
        REQUEST_TIMEOUT,
        client.request("$JS.API.INFO", Vec::new().into()),
    )
    .await
    .map_err(|_| anyhow!("JetStream at {url}: no answer within {REQUEST_TIMEOUT:?}"))?
    .with_context(|| format!("JetStream at {url} (is it enabled, -js?)"))?;
    let info: serde_json::Value = serde_json::from_slice(&answer.payload)
        .with_context(|| format!("JetStream at {url}: unexpected answer to $JS.API.INFO"))?;
    if let Some(e) = info.get("error") {
        bail!("JetStream at {url}: {e}");
    }
    let version = client.server_info().version;
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, client.drain()).await;
    Ok(version)
}

/// Runs the workload once through JetStream at `url` (loopback). `private`:
/// the pid and fsync setting of the server the bench started for this run;
/// `None` measures the process named `nats-server` instead.
pub async fn run(config: &Config, url: &str, private: Option<(u32, JsSync)>) -> Result<JsReport> {
    if config.senders == 0 || config.members == 0 || config.channels == 0 {
        bail!("senders, members and channels must be at least 1");
    }
    if config.payload == 0 || config.payload > 16_000 {
        bail!("payload must be 1 to 16000 bytes");
    }
    check_loopback(url)?;
    let admin = connect(url, "octo-bench-admin").await?;
    let server_version = admin.server_info().version;
    let js = jetstream::new(admin.clone());
    let run_id = u64::from(std::process::id()) << 20 | u64::from(rand_u16());
    let stream_name = format!("OCTO_BENCH_{run_id}");
    let bound = config.setup_timeout + config.duration + DRAIN + Duration::from_secs(10);
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        js.create_stream(stream::Config {
            name: stream_name.clone(),
            subjects: vec![format!("octobench.{run_id}.>")],
            storage: stream::StorageType::File,
            num_replicas: 1,
            max_bytes: STREAM_MAX_BYTES,
            discard: stream::DiscardPolicy::Old,
            // Ages out by itself should the bench die before deleting it.
            max_age: bound + Duration::from_secs(300),
            ..Default::default()
        }),
    )
    .await
    .map_err(|_| anyhow!("creating the stream: no answer within {REQUEST_TIMEOUT:?}"))?
    .with_context(|| format!("creating stream {stream_name} (is JetStream enabled?)"))?;

    let pid = private.map(|(pid, _)| pid);
    let result = tokio::time::timeout(bound, round(config, url, &stream_name, run_id, pid))
        .await
        .unwrap_or_else(|_| Err(anyhow!("the JetStream run overran its time limit")));
    let deleted = match tokio::time::timeout(REQUEST_TIMEOUT, js.delete_stream(&stream_name)).await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {REQUEST_TIMEOUT:?}")),
    };
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, admin.drain()).await;
    let mut report = result?;
    report.server_version = server_version;
    report.url = url.to_owned();
    report.stream_deleted = deleted;
    report.private = private.map(|(_, sync)| sync);
    Ok(report)
}

async fn round(
    config: &Config,
    url: &str,
    stream_name: &str,
    run_id: u64,
    private_pid: Option<u32>,
) -> Result<JsReport> {
    let subjects: Arc<Vec<String>> = Arc::new(
        (0..config.channels)
            .map(|k| format!("octobench.{run_id}.{k}"))
            .collect(),
    );
    let setup = async {
        let members: Vec<(async_nats::Client, consumer::push::Ordered)> =
            futures::stream::iter(0..config.members * config.channels)
                .map(|i| {
                    let subject = subjects[i / config.members].clone();
                    async move {
                        let client = connect(url, &format!("octo-bench-member-{i}")).await?;
                        let member_js = jetstream::new(client.clone());
                        let stream = member_js.get_stream(stream_name).await?;
                        let consumer = stream
                            .create_consumer(consumer::push::OrderedConfig {
                                deliver_subject: client.new_inbox(),
                                filter_subject: subject,
                                deliver_policy: consumer::DeliverPolicy::All,
                                ..Default::default()
                            })
                            .await
                            .context("creating an ordered push consumer")?;
                        let messages = consumer.messages().await?;
                        Ok::<_, anyhow::Error>((client, messages))
                    }
                })
                .buffered(16)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_>>()?;
        let mut senders = Vec::with_capacity(config.senders);
        for i in 0..config.senders {
            senders.push(connect(url, &format!("octo-bench-sender-{i}")).await?);
        }
        Ok::<_, anyhow::Error>((members, senders))
    };
    let (members, senders) = tokio::time::timeout(config.setup_timeout, setup)
        .await
        .map_err(|_| {
            anyhow!(
                "JetStream setup took longer than {:?}",
                config.setup_timeout
            )
        })??;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = private_pid.or_else(|| find_nats_server(port_of(url)));
    let before = pid.and_then(|p| sample(p).ok());
    let peak = pid.map(PeakSampler::start);
    let bench_cpu_before = own_cpu()?;

    let clock = Instant::now();
    let send_end = clock + config.duration;
    let member_deadline = send_end + DRAIN;
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Vec<Arc<AtomicU64>> = (0..members.len())
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let mut clients = Vec::with_capacity(members.len());
    let member_tasks: Vec<_> = members
        .into_iter()
        .zip(&counters)
        .map(|((client, messages), count)| {
            clients.push(client);
            tokio::spawn(member(
                messages,
                clock,
                count.clone(),
                stop.clone(),
                member_deadline,
            ))
        })
        .collect();

    let sent_per_channel: Arc<Vec<AtomicU64>> =
        Arc::new((0..config.channels).map(|_| AtomicU64::new(0)).collect());
    let interval =
        (config.rate > 0.0).then(|| Duration::from_secs_f64(config.senders as f64 / config.rate));
    let payload_len = config.payload.max(8);
    let sender_tasks: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(i, client)| {
            let (js, subjects) = (jetstream::new(client.clone()), subjects.clone());
            let sent = sent_per_channel.clone();
            let window = config.in_flight;
            tokio::spawn(async move {
                if window > 1 {
                    sender_windowed(
                        js,
                        window,
                        i,
                        subjects,
                        sent,
                        clock,
                        send_end,
                        interval,
                        payload_len,
                    )
                    .await
                } else {
                    sender(
                        js,
                        i,
                        subjects,
                        sent,
                        clock,
                        send_end,
                        interval,
                        payload_len,
                    )
                    .await
                }
            })
        })
        .collect();
    let mut ack = Vec::new();
    let (mut send_errors, mut first_error) = (0, None);
    for t in sender_tasks {
        let r = t.await?;
        ack.extend(r.latencies);
        send_errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
    }
    let send_elapsed = clock.elapsed();

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
    let (mut duplicates, mut members_lost, mut consumer_errors, mut last_at) = (0, 0, 0, 0);
    for t in member_tasks {
        let (r, errors) = t.await?;
        delivery.extend(r.latencies);
        duplicates += r.duplicates;
        members_lost += u64::from(r.lost);
        consumer_errors += errors;
        last_at = last_at.max(r.last_at);
    }
    let end = pid.and_then(|p| sample(p).ok());
    let peak_rss = match peak {
        Some(p) => p.stop().await,
        None => 0,
    };
    let bench_cpu = own_cpu()?.saturating_sub(bench_cpu_before);
    for c in clients.into_iter().chain(senders) {
        let _ = tokio::time::timeout(Duration::from_secs(2), c.drain()).await;
    }
    let server = match (pid, before, end) {
        (Some(pid), Some(before), Some(end)) => Some(NatsProcess {
            pid,
            before,
            end,
            peak_rss: peak_rss.max(end.rss),
        }),
        _ => None,
    };
    Ok(JsReport {
        config: config.clone(),
        url: String::new(),
        server_version: String::new(),
        stream: stream_name.to_owned(),
        sent: ack.len() as u64,
        send_errors,
        first_error,
        send_elapsed,
        ack: Latency::of(ack),
        expected_deliveries,
        delivered: delivery.len() as u64,
        duplicates,
        members_lost,
        consumer_errors,
        delivery: Latency::of(delivery),
        delivery_elapsed: Duration::from_nanos(last_at).max(send_elapsed),
        server,
        bench_cpu,
        stream_deleted: Ok(()),
        private: None,
    })
}

/// Reads messages until `stop`, timing each; returns what it saw and the
/// errors the ordered consumer reported.
async fn member(
    mut messages: consumer::push::Ordered,
    clock: Instant,
    delivered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    deadline: Instant,
) -> (MemberResult, u64) {
    let mut out = MemberResult::default();
    let mut errors = 0;
    let mut last_seq = 0;
    let deadline = tokio::time::Instant::from_std(deadline);
    while !stop.load(Ordering::Relaxed) {
        let next = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + Duration::from_millis(100)),
            messages.next(),
        )
        .await;
        let msg = match next {
            Err(_) if tokio::time::Instant::now() >= deadline => break,
            Err(_) => continue,
            Ok(None) => {
                out.lost = true;
                break;
            }
            Ok(Some(Err(_))) => {
                errors += 1;
                continue;
            }
            Ok(Some(Ok(m))) => m,
        };
        let now = clock.elapsed().as_nanos() as u64;
        let Some(t) = msg
            .payload
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
        else {
            continue;
        };
        let seq = msg.info().map_or(0, |i| i.stream_sequence);
        if seq <= last_seq {
            out.duplicates += 1;
            continue;
        }
        last_seq = seq;
        out.latencies.push(now.saturating_sub(t));
        out.last_at = now;
        delivered.fetch_add(1, Ordering::Relaxed);
    }
    (out, errors)
}

#[allow(clippy::too_many_arguments)]
async fn sender(
    js: Context,
    index: usize,
    subjects: Arc<Vec<String>>,
    sent_per_channel: Arc<Vec<AtomicU64>>,
    clock: Instant,
    end: Instant,
    interval: Option<Duration>,
    payload_len: usize,
) -> SenderResult {
    let mut out = SenderResult::default();
    let start = Instant::now();
    let mut n: u64 = 0;
    let mut body = vec![b'x'; payload_len];
    while Instant::now() < end && n < 100_000_000 {
        if let Some(iv) = interval {
            let due = start + iv.mul_f64(n as f64);
            if due >= end {
                break;
            }
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        }
        let ch_index = (index + n as usize) % subjects.len();
        let t = clock.elapsed().as_nanos() as u64;
        body[..8].copy_from_slice(&t.to_le_bytes());
        let publish = async {
            js.publish(subjects[ch_index].clone(), body.clone().into())
                .await?
                .await
                .map_err(anyhow::Error::from)
        };
        let res = tokio::time::timeout(REQUEST_TIMEOUT, publish).await;
        let acked = clock.elapsed().as_nanos() as u64;
        out.record(t, acked, &sent_per_channel[ch_index], outcome(res, "ack"));
        n += 1;
    }
    out
}

/// Like [`sender`], with up to `window` publishes awaiting their PubAcks:
/// async publishes, each ack awaited in publish order; latency is from the
/// publish to its ack, and an ack not in within [`REQUEST_TIMEOUT`] of its
/// publish is an error.
#[allow(clippy::too_many_arguments)]
async fn sender_windowed(
    js: Context,
    window: usize,
    index: usize,
    subjects: Arc<Vec<String>>,
    sent_per_channel: Arc<Vec<AtomicU64>>,
    clock: Instant,
    end: Instant,
    interval: Option<Duration>,
    payload_len: usize,
) -> SenderResult {
    type Acked = (
        usize,
        u64,
        Result<Result<(), String>, tokio::time::error::Elapsed>,
    );
    let mut out = SenderResult::default();
    let start = Instant::now();
    let mut n: u64 = 0;
    let mut body = vec![b'x'; payload_len];
    let mut acks: FuturesOrdered<Pin<Box<dyn Future<Output = Acked> + Send>>> =
        FuturesOrdered::new();
    let record = |out: &mut SenderResult, (ch_index, t, res): Acked| {
        let acked = clock.elapsed().as_nanos() as u64;
        out.record(t, acked, &sent_per_channel[ch_index], outcome(res, "ack"));
    };
    loop {
        let due = interval.map(|iv| start + iv.mul_f64(n as f64));
        let more = Instant::now() < end && n < 100_000_000 && due.is_none_or(|d| d < end);
        if !more && acks.is_empty() {
            break;
        }
        if more && acks.len() < window {
            if let Some(due) = due
                && due > Instant::now()
            {
                // Not due yet: take acks meanwhile.
                tokio::select! {
                    () = tokio::time::sleep_until(tokio::time::Instant::from_std(due)) => {}
                    Some(done) = acks.next(), if !acks.is_empty() => {
                        record(&mut out, done);
                        continue;
                    }
                }
            }
            let ch_index = (index + n as usize) % subjects.len();
            n += 1;
            let t = clock.elapsed().as_nanos() as u64;
            body[..8].copy_from_slice(&t.to_le_bytes());
            let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
            let published = tokio::time::timeout_at(
                deadline,
                js.publish(subjects[ch_index].clone(), body.clone().into()),
            )
            .await;
            let ack: Pin<Box<dyn Future<Output = Acked> + Send>> = match published {
                Ok(Ok(ack)) => Box::pin(async move {
                    let res = tokio::time::timeout_at(deadline, ack).await.map(|r| {
                        r.map(drop)
                            .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
                    });
                    (ch_index, t, res)
                }),
                Ok(Err(e)) => {
                    let e = format!("{:#}", anyhow::Error::from(e));
                    Box::pin(std::future::ready((ch_index, t, Ok(Err(e)))))
                }
                Err(elapsed) => Box::pin(std::future::ready((ch_index, t, Err(elapsed)))),
            };
            acks.push_back(ack);
            continue;
        }
        if let Some(done) = acks.next().await {
            record(&mut out, done);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert!(check_loopback("nats://127.0.0.1:4222").is_ok());
        assert!(check_loopback("nats://localhost:4222").is_ok());
        assert!(check_loopback("nats://[::1]:4222").is_ok());
        assert!(check_loopback("nats://user:pw@127.0.0.1:4222").is_ok());
        assert!(check_loopback("nats://10.0.0.1:4222").is_err());
        assert!(check_loopback("nats://demo.nats.io:4222").is_err());
        assert_eq!(port_of("nats://127.0.0.1:4333"), 4333);
    }
}
