//! Real-time: a WebSocket subscription that reconnects and resumes by itself.
//!
//! [`Client::subscribe`] connects to `/api/v1/ws`, says `hello` and waits for
//! `ready`; after that a background task keeps the connection. It remembers, per
//! channel, the last seq it handed over, and on any disconnect (server restart,
//! slow-consumer or idle close, network error) it reconnects with backoff and
//! says `hello` with those cursors, so the caller sees every event once and in
//! seq order per channel. Only a rejected hello (close 4400 or 4401) ends the
//! subscription, with an error.
//!
//! Messages can be sent on the same socket ([`SubscriptionHandle::send`]),
//! from many tasks at once: the task gives each send a `ref`, keeps up to
//! [`MAX_SENDS_IN_FLIGHT`] written and unanswered (the rest wait in order), and
//! hands each answer to its caller. Every send carries a `client_msg_id`, so
//! after a reconnect the unanswered ones are written again, first and in their
//! order, and one the server had already committed comes back `replayed`
//! instead of being posted twice.
//!
//! The wire protocol is described in ARCHITECTURE.md, "Real-time protocol".

use crate::{Client, ClientError, Result, SendOptions};
use chrono::{DateTime, Utc};
use futures::{SinkExt, Stream, StreamExt};
use octo_core::trigger::TriggerReason;
use octo_core::{ChannelId, Event, EventKind, MessageId, PrincipalId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// WebSocket close codes the server uses.
pub mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const TOO_BIG: u16 = 1009;
    pub const BAD_HELLO: u16 = 4400;
    pub const UNAUTHENTICATED: u16 = 4401;
    pub const HELLO_TIMEOUT: u16 = 4408;
    pub const SLOW_CONSUMER: u16 = 4409;
    pub const IDLE_TIMEOUT: u16 = 4410;

    /// Closes after which connecting again cannot help.
    pub fn is_fatal(code: u16) -> bool {
        matches!(code, BAD_HELLO | UNAUTHENTICATED)
    }
}

/// How to subscribe. `Default` starts every channel from the server-side
/// delivery cursors, does not ack, and reconnects after 100 ms doubling to 5 s.
#[derive(Debug, Clone)]
pub struct SubscribeOptions {
    /// Channel → last seq already seen; replay starts after it. Channels left
    /// out resume from the server-side cursor (members) or start live.
    pub cursors: Option<HashMap<ChannelId, u64>>,
    /// Ack the events handed to the caller (moves the server-side cursors),
    /// batched at most every 200 ms.
    pub auto_ack: bool,
    /// The first reconnect waits this long (with jitter)…
    pub backoff_min: Duration,
    /// …doubling up to this.
    pub backoff_max: Duration,
    /// Connecting and getting `ready` must take at most this long.
    pub connect_timeout: Duration,
    /// With nothing heard from the server for this long, the connection is
    /// presumed dead and replaced (a `ping` goes out halfway through).
    pub idle_timeout: Duration,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        Self {
            cursors: None,
            auto_ack: false,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl SubscribeOptions {
    /// Starts `channel` after `seq` (0 replays its whole log).
    pub fn cursor(mut self, channel: &ChannelId, seq: u64) -> Self {
        self.cursors
            .get_or_insert_with(HashMap::new)
            .insert(channel.clone(), seq);
        self
    }

    pub fn auto_ack(mut self, on: bool) -> Self {
        self.auto_ack = on;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

/// Where a channel starts in a session (from `ready`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReadyChannel {
    pub channel_id: ChannelId,
    /// Replay starts after this seq.
    pub from_seq: u64,
    /// The channel's newest seq when the session started.
    pub last_seq: u64,
}

/// What a [`Subscription`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A session started: first, and again after every reconnect.
    Ready {
        principal_id: PrincipalId,
        session_id: u64,
        channels: Vec<ReadyChannel>,
    },
    /// An event of a channel's log; never a seq already yielded.
    Event(Event),
    /// For agents: an event (already yielded as [`Frame::Event`]) woke this
    /// agent; act on it with `trigger.turn_token`.
    Trigger {
        event: Event,
        trigger: TriggerDetail,
    },
    /// A channel became visible; its events follow.
    Subscribed {
        channel_id: ChannelId,
        from_seq: u64,
    },
    /// A channel stopped being visible; nothing more of it comes.
    Unsubscribed {
        channel_id: ChannelId,
        reason: String,
    },
    Typing {
        channel_id: ChannelId,
        principal_id: PrincipalId,
        thread_id: Option<MessageId>,
    },
    Presence {
        principal_id: PrincipalId,
        status: PresenceStatus,
    },
    /// The server refused a frame (or a cursor); the session goes on.
    Error {
        code: String,
        message: String,
        channel_id: Option<ChannelId>,
    },
    /// The connection was lost; the next attempt starts after `delay`.
    Reconnecting {
        reason: String,
        attempt: u32,
        delay: Duration,
    },
}

/// Why and how an agent was woken (the `trigger` of a trigger frame).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TriggerDetail {
    pub id: String,
    pub reason: TriggerReason,
    /// How many agent-to-agent steps led here (loop guard).
    pub hop: u32,
    pub message_id: MessageId,
    pub thread_id: Option<MessageId>,
    /// Scoped to this channel; valid until `turn_expires_at`.
    pub turn_token: String,
    pub turn_expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct TriggerWire {
    #[serde(flatten)]
    event: Event,
    trigger: TriggerDetail,
}

/// Server frames as they travel.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    Ready {
        principal_id: PrincipalId,
        session_id: u64,
        channels: Vec<ReadyChannel>,
    },
    Event(Event),
    Trigger(TriggerWire),
    Subscribed {
        channel_id: ChannelId,
        from_seq: u64,
    },
    Unsubscribed {
        channel_id: ChannelId,
        reason: String,
    },
    Typing {
        channel_id: ChannelId,
        principal_id: PrincipalId,
        thread_id: Option<MessageId>,
    },
    Presence {
        principal_id: PrincipalId,
        status: PresenceStatus,
    },
    Error {
        code: String,
        message: String,
        channel_id: Option<ChannelId>,
        /// Set when the error answers a `send`.
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// The answer to a `send`. Only the `ref` is required, and the message
    /// stays JSON here: an answer this client cannot read fails its send
    /// (with [`ClientError::Decode`]) instead of the whole frame, which would
    /// leave the send waiting for ever.
    Sent {
        #[serde(rename = "ref")]
        reference: String,
        #[serde(default)]
        message: serde_json::Value,
        #[serde(default)]
        replayed: bool,
    },
    Pong,
    /// A frame type newer than this client: ignored.
    #[serde(other)]
    Unknown,
}

/// Client frames.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Out<'a> {
    Hello {
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<&'a str>,
        cursors: &'a HashMap<ChannelId, u64>,
    },
    Ack {
        cursors: &'a HashMap<ChannelId, u64>,
    },
    Typing {
        channel_id: &'a ChannelId,
        thread_id: Option<&'a MessageId>,
    },
    Presence {
        status: PresenceStatus,
    },
    /// A message to post: the body of `POST /channels/{id}/messages` plus
    /// `ref` and `channel_id`.
    Send {
        #[serde(rename = "ref")]
        reference: &'a str,
        channel_id: &'a ChannelId,
        text: &'a str,
        #[serde(flatten)]
        options: &'a SendOptions,
    },
    Ping,
}

impl Out<'_> {
    fn message(&self) -> Message {
        // Plain structs and maps with string keys always serialize.
        Message::Text(serde_json::to_string(self).unwrap_or_default().into())
    }
}

/// Requests from the caller to the connection task.
#[derive(Debug)]
enum Cmd {
    Typing(ChannelId, Option<MessageId>),
    Presence(PresenceStatus),
    Ack(HashMap<ChannelId, u64>),
    /// An event was handed to the caller (auto-ack).
    Delivered(ChannelId, u64),
    Send(SendRequest),
}

/// A message a caller waits to see posted.
#[derive(Debug)]
struct SendRequest {
    channel: ChannelId,
    text: String,
    /// Always with a `client_msg_id`: it is what makes a resend safe.
    options: SendOptions,
    reply: oneshot::Sender<Result<Sent>>,
}

/// The answer to [`SubscriptionHandle::send`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// Exactly what `POST /channels/{id}/messages` would have answered.
    pub message: octo_core::model::Message,
    /// The `client_msg_id` had been posted before (by an earlier try, perhaps
    /// on a connection that was lost before its answer): `message` is that
    /// first message, and nothing new was posted.
    pub replayed: bool,
}

/// Sends a subscription keeps written and unanswered on one connection; more
/// wait, in order, in the subscription's task (in memory, unbounded: callers
/// bound them by awaiting). The server accepts at most
/// `octo_server::realtime::send::MAX_PENDING_SENDS` (64) per connection and
/// answers the rest `too_many_in_flight`; staying within it, the client never
/// sees that code.
pub const MAX_SENDS_IN_FLIGHT: usize = 64;

/// A live subscription. Yields frames through [`Subscription::next`] or as a
/// [`Stream`]; `None` once it has ended (after an `Err` for a fatal close).
/// Dropping it closes the connection.
pub struct Subscription {
    frames: mpsc::Receiver<Result<Frame>>,
    handle: SubscriptionHandle,
    auto_ack: bool,
}

/// Sends frames on a subscription's connection; cheap to clone, usable from
/// other tasks. While disconnected, presence and acks wait for the next
/// connection and typing signals are dropped.
#[derive(Clone, Debug)]
pub struct SubscriptionHandle {
    cmds: mpsc::UnboundedSender<Cmd>,
}

impl SubscriptionHandle {
    fn cmd(&self, cmd: Cmd) -> Result<()> {
        self.cmds
            .send(cmd)
            .map_err(|_| ClientError::SubscriptionEnded)
    }

    /// Tells the channel's members that the caller is typing (in `thread`).
    pub fn typing(&self, channel: &ChannelId, thread: Option<&MessageId>) -> Result<()> {
        self.cmd(Cmd::Typing(channel.clone(), thread.cloned()))
    }

    /// This connection's presence; kept across reconnects.
    pub fn set_presence(&self, status: PresenceStatus) -> Result<()> {
        self.cmd(Cmd::Presence(status))
    }

    /// Moves the server-side delivery cursors forward.
    pub fn ack(&self, cursors: HashMap<ChannelId, u64>) -> Result<()> {
        self.cmd(Cmd::Ack(cursors))
    }

    /// Posts a message on the subscription's socket, as
    /// [`Client::send`] would over HTTP, and waits for the answer.
    ///
    /// Sends from any number of tasks are pipelined: those issued one after
    /// another (from one task, or by polling in order) are committed in that
    /// order. Without a `client_msg_id` in `options` one is made up (a UUIDv7),
    /// so the send can be retried safely. While disconnected it waits for the
    /// next connection, where it is written again if it had been written
    /// before (the server answers `replayed` if the first one was committed).
    ///
    /// Errors: [`ClientError::Refused`] with the HTTP API's code (`not_found`,
    /// `forbidden`, `rate_limited`, …); [`ClientError::SubscriptionEnded`]
    /// once the subscription is dropped or closed for good. Dropping the
    /// future gives up on the answer: the message may or may not be posted.
    /// The subscription must be read meanwhile: a caller that stops reading
    /// frames also stops the task that routes the answers.
    pub async fn send(
        &self,
        channel: &ChannelId,
        text: &str,
        mut options: SendOptions,
    ) -> Result<Sent> {
        if options.client_msg_id.is_none() {
            options.client_msg_id = Some(MessageId::generate().to_string());
        }
        let (reply, answer) = oneshot::channel();
        self.cmd(Cmd::Send(SendRequest {
            channel: channel.clone(),
            text: text.to_owned(),
            options,
            reply,
        }))?;
        answer.await.map_err(|_| ClientError::SubscriptionEnded)?
    }
}

impl Subscription {
    /// The next frame; `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<Result<Frame>> {
        std::future::poll_fn(|cx| self.poll_frame(cx)).await
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame>>> {
        let item = std::task::ready!(self.frames.poll_recv(cx));
        if self.auto_ack
            && let Some(Ok(Frame::Event(event))) = &item
        {
            // Only fails once the task is gone, and then nothing is to be acked.
            let _ = self
                .handle
                .cmd(Cmd::Delivered(event.channel_id.clone(), event.seq));
        }
        Poll::Ready(item)
    }

    pub fn handle(&self) -> SubscriptionHandle {
        self.handle.clone()
    }

    pub fn typing(&self, channel: &ChannelId, thread: Option<&MessageId>) -> Result<()> {
        self.handle.typing(channel, thread)
    }

    pub fn set_presence(&self, status: PresenceStatus) -> Result<()> {
        self.handle.set_presence(status)
    }

    pub fn ack(&self, cursors: HashMap<ChannelId, u64>) -> Result<()> {
        self.handle.ack(cursors)
    }

    /// See [`SubscriptionHandle::send`].
    pub async fn send(
        &self,
        channel: &ChannelId,
        text: &str,
        options: SendOptions,
    ) -> Result<Sent> {
        self.handle.send(channel, text, options).await
    }
}

impl Stream for Subscription {
    type Item = Result<Frame>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_frame(cx)
    }
}

impl Client {
    /// The WebSocket URL: `ws://…/api/v1/ws` for an `http://…` base.
    pub fn ws_url(&self) -> String {
        let base = &self.base;
        let rest = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.clone()
        };
        format!("{rest}/api/v1/ws")
    }

    /// Connects, says hello and waits for `ready` (yielded first). Fails if the
    /// server cannot be reached or refuses the hello; after that, reconnects
    /// by itself.
    pub async fn subscribe(&self, options: SubscribeOptions) -> Result<Subscription> {
        let (frames_tx, frames) = mpsc::channel(FRAME_QUEUE);
        let (cmds_tx, cmds) = mpsc::unbounded_channel();
        let auto_ack = options.auto_ack;
        let mut worker = Worker {
            url: self.ws_url(),
            token: self.token.clone(),
            cursors: options.cursors.clone().unwrap_or_default(),
            options,
            presence: None,
            user_acks: HashMap::new(),
            auto_acks: HashMap::new(),
            no_ack: HashSet::new(),
            principal: None,
            markers: VecDeque::new(),
            last_gap: None,
            triggered: HashMap::new(),
            sends: Sends::default(),
            out: frames_tx,
            cmds,
        };
        let (socket, ready) = match worker.connect().await {
            Ok(connected) => connected,
            Err(Lost::Fatal(e)) => return Err(e),
            Err(Lost::Transient(reason)) => return Err(ClientError::WebSocket(reason)),
        };
        let ready = worker.on_ready(ready);
        // The queue is empty and large: this cannot fail.
        let _ = worker.out.try_send(Ok(ready));
        tokio::spawn(worker.run(socket));
        Ok(Subscription {
            frames,
            handle: SubscriptionHandle { cmds: cmds_tx },
            auto_ack,
        })
    }
}

/// Frames waiting for the caller; a full queue stops reading the socket, and
/// the server then cuts the connection off (4409), to be resumed later.
const FRAME_QUEUE: usize = 1024;
/// The server's default frame limit (`[limits.realtime]`); a bigger frame
/// would be answered with close 1009, again on every reconnect.
const MAX_FRAME_BYTES: usize = 64 * 1024;
/// A session this long resets the reconnect backoff.
const STABLE_SESSION: Duration = Duration::from_secs(10);
/// Auto-acks go out at most this often.
const ACK_EVERY: Duration = Duration::from_millis(200);

type StdResult<T, E> = std::result::Result<T, E>;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why a connection ended.
enum Lost {
    /// Connecting again may help.
    Transient(String),
    /// It will not: the subscription ends with this error.
    Fatal(ClientError),
}

/// How a session ended.
enum Ended {
    Lost(Lost),
    /// The caller dropped the subscription.
    Dropped,
}

impl From<Lost> for Ended {
    fn from(lost: Lost) -> Self {
        Ended::Lost(lost)
    }
}

/// Frames sent that the server may answer with an `error`. Each is followed by
/// a `ping`, and the server answers frames in order, so an `error` arriving
/// before that ping's `pong` is about that frame.
#[derive(Debug)]
enum Marker {
    /// An ack the caller did not ask for: its errors are not the caller's
    /// business (e.g. `not_a_member` for a visible channel it has not joined).
    AutoAck(ChannelId),
    Caller,
}

struct Worker {
    url: String,
    token: Option<String>,
    options: SubscribeOptions,
    /// Channel → last seq handed over (or where the session said it starts).
    cursors: HashMap<ChannelId, u64>,
    presence: Option<PresenceStatus>,
    /// Acks asked for while disconnected.
    user_acks: HashMap<ChannelId, u64>,
    /// Delivered events not acked yet.
    auto_acks: HashMap<ChannelId, u64>,
    /// Channels the server refused an ack for (not a member).
    no_ack: HashSet<ChannelId>,
    principal: Option<PrincipalId>,
    markers: VecDeque<Marker>,
    /// The last gap a reconnect was tried for: if the server sends it again,
    /// it is taken as it is rather than reconnecting forever.
    last_gap: Option<(ChannelId, u64)>,
    /// Channel → the last trigger yielded (event seq, trigger id).
    triggered: HashMap<ChannelId, (u64, String)>,
    sends: Sends,
    out: mpsc::Sender<Result<Frame>>,
    cmds: mpsc::UnboundedReceiver<Cmd>,
}

/// A subscription's sends, across its connections. Each gets a number when
/// the task takes it, used as its `ref` on every connection it is written on:
/// numbers grow with the order sends were issued, so sorting by them is that
/// order.
#[derive(Default)]
struct Sends {
    next_ref: u64,
    /// Not written on this connection yet, oldest first.
    waiting: VecDeque<(u64, SendRequest)>,
    /// Written on this connection and not answered yet (at most
    /// [`MAX_SENDS_IN_FLIGHT`]); every one is older than every waiting one.
    written: BTreeMap<u64, SendRequest>,
}

impl Sends {
    fn push(&mut self, request: SendRequest) {
        self.waiting.push_back((self.next_ref, request));
        self.next_ref += 1;
    }

    /// A new connection: what was written on the last one and not answered
    /// may or may not have been committed, so it is written again (its
    /// `client_msg_id` makes that safe), first and in its order.
    fn rewrite_unanswered(&mut self) {
        let written = std::mem::take(&mut self.written);
        for entry in written.into_iter().rev() {
            self.waiting.push_front(entry);
        }
    }

    /// The next send to write, while the window has room. Sends whose caller
    /// stopped waiting are dropped rather than written.
    fn next_to_write(&mut self) -> Option<(u64, SendRequest)> {
        while self.written.len() < MAX_SENDS_IN_FLIGHT {
            let (reference, request) = self.waiting.pop_front()?;
            if !request.reply.is_closed() {
                return Some((reference, request));
            }
        }
        None
    }

    /// Hands an answer to the send with this `ref`. Anything else (a ref this
    /// task did not write on this connection) is not for anyone here.
    fn answer(&mut self, reference: &str, outcome: Result<Sent>) {
        let Ok(reference) = reference.parse::<u64>() else {
            return;
        };
        if let Some(request) = self.written.remove(&reference) {
            // The caller may have stopped waiting: nothing to tell then.
            let _ = request.reply.send(outcome);
        }
    }
}

fn transient(context: &str, e: impl std::fmt::Display) -> Lost {
    Lost::Transient(format!("{context}: {e}"))
}

fn closed(frame: Option<&CloseFrame>) -> Lost {
    match frame {
        Some(frame) => {
            let code = u16::from(frame.code);
            let reason = frame.reason.to_string();
            if close::is_fatal(code) {
                Lost::Fatal(ClientError::Rejected { code, reason })
            } else {
                Lost::Transient(format!("closed by the server ({code}: {reason})"))
            }
        }
        None => Lost::Transient("closed by the server".into()),
    }
}

/// `delay` scaled by a factor in [0.5, 1): reconnecting clients spread out.
fn jitter(delay: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(delay.as_nanos());
    let fraction = (hasher.finish() % 1000) as f64 / 2000.0;
    delay.mul_f64(0.5 + fraction)
}

impl Worker {
    /// Connects, says hello with the current cursors and reads up to `ready`.
    async fn connect(&mut self) -> StdResult<(Socket, Wire), Lost> {
        let wait = self.options.connect_timeout;
        match tokio::time::timeout(wait, self.connect_inner()).await {
            Ok(result) => result,
            Err(_) => Err(Lost::Transient(format!(
                "no ready within {} ms",
                wait.as_millis()
            ))),
        }
    }

    async fn connect_inner(&mut self) -> StdResult<(Socket, Wire), Lost> {
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(self.url.as_str(), None, true)
                .await
                .map_err(|e| transient("connecting", e))?;
        let hello = Out::Hello {
            token: self.token.as_deref(),
            cursors: &self.cursors,
        }
        .message();
        if hello.len() > MAX_FRAME_BYTES {
            // The server would close with 1009, again and again.
            return Err(Lost::Fatal(ClientError::WebSocket(format!(
                "hello with {} cursors is over the server's {MAX_FRAME_BYTES}-byte frame limit",
                self.cursors.len()
            ))));
        }
        socket
            .send(hello)
            .await
            .map_err(|e| transient("sending hello", e))?;
        loop {
            match socket.next().await {
                None => return Err(Lost::Transient("connection lost before ready".into())),
                Some(Err(e)) => return Err(transient("waiting for ready", e)),
                Some(Ok(Message::Close(frame))) => return Err(closed(frame.as_ref())),
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Wire>(&text) {
                    Ok(ready @ Wire::Ready { .. }) => return Ok((socket, ready)),
                    Ok(other) => {
                        return Err(Lost::Transient(format!("expected ready, got {other:?}")));
                    }
                    Err(e) => return Err(transient("bad frame from the server", e)),
                },
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Takes the session's starting points as the cursors.
    fn on_ready(&mut self, ready: Wire) -> Frame {
        let Wire::Ready {
            principal_id,
            session_id,
            channels,
        } = ready
        else {
            return Frame::Error {
                code: "internal".into(),
                message: "not a ready frame".into(),
                channel_id: None,
            };
        };
        // Channels missing from ready are no longer visible (the server also
        // says so with an `unknown_channel` error).
        self.cursors = channels
            .iter()
            .map(|c| (c.channel_id.clone(), c.from_seq))
            .collect();
        self.principal = Some(principal_id.clone());
        Frame::Ready {
            principal_id,
            session_id,
            channels,
        }
    }

    async fn run(mut self, first: Socket) {
        let mut socket = first;
        let mut delay = self.options.backoff_min;
        loop {
            let started = tokio::time::Instant::now();
            let ended = self.session(&mut socket).await;
            // A server that takes the connection and drops it at once must not
            // be hammered: the backoff starts over only after a lasting session.
            if started.elapsed() >= STABLE_SESSION {
                delay = self.options.backoff_min;
            }
            let mut reason = match ended {
                Ended::Dropped => return,
                Ended::Lost(Lost::Fatal(e)) => {
                    let _ = self.out.send(Err(e)).await;
                    return;
                }
                Ended::Lost(Lost::Transient(reason)) => reason,
            };
            let mut attempt = 0;
            socket = loop {
                attempt += 1;
                let notice = Frame::Reconnecting {
                    reason: reason.clone(),
                    attempt,
                    delay,
                };
                if self.out.send(Ok(notice)).await.is_err() {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(jitter(delay)) => {}
                    () = self.out.closed() => return,
                }
                self.drain_commands();
                let connected = self.connect().await;
                delay = (delay * 2).min(self.options.backoff_max);
                match connected {
                    Ok((socket, ready)) => {
                        let ready = self.on_ready(ready);
                        if self.out.send(Ok(ready)).await.is_err() {
                            return;
                        }
                        break socket;
                    }
                    Err(Lost::Fatal(e)) => {
                        let _ = self.out.send(Err(e)).await;
                        return;
                    }
                    Err(Lost::Transient(why)) => reason = why,
                }
            };
        }
    }

    /// While disconnected: keep presence and acks for the next connection,
    /// drop typing (stale by then).
    fn drain_commands(&mut self) {
        while let Ok(cmd) = self.cmds.try_recv() {
            match cmd {
                Cmd::Typing(..) => {}
                Cmd::Presence(status) => self.presence = Some(status),
                Cmd::Ack(cursors) => merge(&mut self.user_acks, cursors),
                Cmd::Delivered(channel, seq) => {
                    merge(&mut self.auto_acks, [(channel, seq)]);
                }
                // Sends wait for the next connection.
                Cmd::Send(request) => self.sends.push(request),
            }
        }
    }

    /// Writes waiting sends while fewer than [`MAX_SENDS_IN_FLIGHT`] are
    /// unanswered, in order, with one flush.
    async fn write_sends(&mut self, socket: &mut Socket) -> StdResult<(), Lost> {
        let mut wrote = false;
        while let Some((reference, request)) = self.sends.next_to_write() {
            let frame = Out::Send {
                reference: &reference.to_string(),
                channel_id: &request.channel,
                text: &request.text,
                options: &request.options,
            }
            .message();
            if frame.len() > MAX_FRAME_BYTES {
                // The server would close the connection (1009), and the
                // resend would close the next one: refuse it here instead.
                let e = ClientError::WebSocket(format!(
                    "a send of {} bytes is over the server's {MAX_FRAME_BYTES}-byte frame limit",
                    frame.len()
                ));
                let _ = request.reply.send(Err(e));
                continue;
            }
            // Counted as written before the write: if the write fails, the
            // send is written again on the next connection.
            self.sends.written.insert(reference, request);
            socket
                .feed(frame)
                .await
                .map_err(|e| transient("sending", e))?;
            wrote = true;
        }
        if wrote {
            socket.flush().await.map_err(|e| transient("sending", e))?;
        }
        Ok(())
    }

    async fn send(
        &mut self,
        socket: &mut Socket,
        frame: Out<'_>,
        marker: Marker,
    ) -> StdResult<(), Lost> {
        socket
            .send(frame.message())
            .await
            .map_err(|e| transient("sending", e))?;
        socket
            .send(Out::Ping.message())
            .await
            .map_err(|e| transient("sending", e))?;
        self.markers.push_back(marker);
        Ok(())
    }

    async fn session(&mut self, socket: &mut Socket) -> Ended {
        self.markers.clear();
        self.sends.rewrite_unanswered();
        match self.session_inner(socket).await {
            Ok(()) | Err(Ended::Dropped) => {
                let goodbye = Message::Close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                }));
                let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(goodbye)).await;
                Ended::Dropped
            }
            Err(ended) => ended,
        }
    }

    /// One connection, after `ready`: `Ok` when the caller is gone.
    async fn session_inner(&mut self, socket: &mut Socket) -> StdResult<(), Ended> {
        // What the caller asked for while there was no connection.
        if let Some(status) = self.presence {
            self.send(socket, Out::Presence { status }, Marker::Caller)
                .await?;
        }
        if !self.user_acks.is_empty() {
            let cursors = std::mem::take(&mut self.user_acks);
            self.send(socket, Out::Ack { cursors: &cursors }, Marker::Caller)
                .await?;
        }
        self.write_sends(socket).await?;
        let mut ack_tick = tokio::time::interval(ACK_EVERY);
        ack_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Half the idle timeout without a word from the server: ping it; the
        // other half too: the connection is dead.
        let quiet = self.options.idle_timeout / 2;
        let mut heard = tokio::time::Instant::now();
        let mut pinged = false;
        loop {
            tokio::select! {
                () = self.out.closed() => return Ok(()),
                () = tokio::time::sleep_until(heard + quiet) => {
                    if pinged {
                        return Err(Lost::Transient(format!(
                            "nothing heard from the server for {} ms",
                            self.options.idle_timeout.as_millis()
                        )).into());
                    }
                    pinged = true;
                    heard = tokio::time::Instant::now();
                    socket.send(Out::Ping.message()).await.map_err(|e| transient("sending", e))?;
                }
                incoming = socket.next() => {
                    let msg = match incoming {
                        None => return Err(Lost::Transient("connection lost".into()).into()),
                        Some(Err(e)) => return Err(transient("reading", e).into()),
                        Some(Ok(msg)) => msg,
                    };
                    heard = tokio::time::Instant::now();
                    pinged = false;
                    match msg {
                        Message::Text(text) => {
                            self.on_text(&text).await?;
                            // An answer may have made room for a waiting send.
                            self.write_sends(socket).await?;
                        }
                        Message::Close(frame) => return Err(closed(frame.as_ref()).into()),
                        _ => {}
                    }
                }
                cmd = self.cmds.recv() => match cmd {
                    // Every handle is gone, the subscription with them.
                    None => return Ok(()),
                    Some(Cmd::Typing(channel_id, thread_id)) => {
                        let frame = Out::Typing { channel_id: &channel_id, thread_id: thread_id.as_ref() };
                        self.send(socket, frame, Marker::Caller).await?;
                    }
                    Some(Cmd::Presence(status)) => {
                        self.presence = Some(status);
                        self.send(socket, Out::Presence { status }, Marker::Caller).await?;
                    }
                    Some(Cmd::Ack(cursors)) => {
                        self.send(socket, Out::Ack { cursors: &cursors }, Marker::Caller).await?;
                    }
                    Some(Cmd::Delivered(channel, seq)) => merge(&mut self.auto_acks, [(channel, seq)]),
                    Some(Cmd::Send(request)) => {
                        self.sends.push(request);
                        self.write_sends(socket).await?;
                    }
                },
                _ = ack_tick.tick(), if !self.auto_acks.is_empty() => {
                    // One frame per channel: the server stops at the first
                    // channel it refuses, and says not which one.
                    for (channel, seq) in std::mem::take(&mut self.auto_acks) {
                        if self.no_ack.contains(&channel) || !self.cursors.contains_key(&channel) {
                            continue;
                        }
                        let cursors = HashMap::from([(channel.clone(), seq)]);
                        self.send(socket, Out::Ack { cursors: &cursors }, Marker::AutoAck(channel)).await?;
                    }
                }
            }
        }
    }

    async fn deliver(&mut self, frame: Frame) -> StdResult<(), Ended> {
        self.out.send(Ok(frame)).await.map_err(|_| Ended::Dropped)
    }

    async fn on_text(&mut self, text: &str) -> StdResult<(), Ended> {
        let wire = match serde_json::from_str::<Wire>(text) {
            Ok(wire) => wire,
            // Reconnecting would bring the same frame again: say so, go on.
            // (A lost event leaves a gap, which is retried once by resuming.)
            Err(e) => {
                return self
                    .deliver(Frame::Error {
                        code: "undecodable_frame".into(),
                        message: format!("a frame from the server could not be read: {e}"),
                        channel_id: None,
                    })
                    .await;
            }
        };
        match wire {
            Wire::Event(event) => self.on_event(event).await,
            Wire::Trigger(TriggerWire { event, trigger }) => {
                // Once per trigger across reconnects.
                let channel = event.channel_id.clone();
                let seen = self.triggered.get(&channel).is_some_and(|(seq, id)| {
                    event.seq < *seq || (event.seq == *seq && *id == trigger.id)
                });
                if seen {
                    return Ok(());
                }
                self.triggered
                    .insert(channel, (event.seq, trigger.id.clone()));
                self.deliver(Frame::Trigger { event, trigger }).await
            }
            Wire::Ready { .. } => {
                Err(Lost::Transient("a second ready in one session".into()).into())
            }
            Wire::Subscribed {
                channel_id,
                from_seq,
            } => {
                self.cursors.insert(channel_id.clone(), from_seq);
                self.no_ack.remove(&channel_id);
                self.deliver(Frame::Subscribed {
                    channel_id,
                    from_seq,
                })
                .await
            }
            Wire::Unsubscribed { channel_id, reason } => {
                self.cursors.remove(&channel_id);
                self.auto_acks.remove(&channel_id);
                self.deliver(Frame::Unsubscribed { channel_id, reason })
                    .await
            }
            Wire::Typing {
                channel_id,
                principal_id,
                thread_id,
            } => {
                self.deliver(Frame::Typing {
                    channel_id,
                    principal_id,
                    thread_id,
                })
                .await
            }
            Wire::Presence {
                principal_id,
                status,
            } => {
                self.deliver(Frame::Presence {
                    principal_id,
                    status,
                })
                .await
            }
            Wire::Sent {
                reference,
                message,
                replayed,
            } => {
                let outcome = serde_json::from_value(message)
                    .map(|message| Sent { message, replayed })
                    .map_err(|e| ClientError::Decode(format!("the sent message: {e}")));
                self.sends.answer(&reference, outcome);
                Ok(())
            }
            Wire::Error {
                reference: Some(reference),
                code,
                message,
                ..
            } => {
                // The answer to a send; the ping markers are not involved.
                self.sends
                    .answer(&reference, Err(ClientError::Refused { code, message }));
                Ok(())
            }
            Wire::Error {
                code,
                message,
                channel_id,
                reference: None,
            } => {
                if let Some(Marker::AutoAck(channel)) = self.markers.front() {
                    // Not the caller's doing: stop acking that channel.
                    self.no_ack.insert(channel.clone());
                    return Ok(());
                }
                self.deliver(Frame::Error {
                    code,
                    message,
                    channel_id,
                })
                .await
            }
            Wire::Pong => {
                self.markers.pop_front();
                Ok(())
            }
            Wire::Unknown => Ok(()),
        }
    }

    /// Hands an event over unless it was already; a gap (which the server
    /// should never leave) is closed by resuming from the log.
    async fn on_event(&mut self, event: Event) -> StdResult<(), Ended> {
        let channel = event.channel_id.clone();
        if let Some(&last) = self.cursors.get(&channel) {
            if event.seq <= last {
                return Ok(());
            }
            if event.seq > last + 1 {
                let gap = (channel.clone(), last);
                if self.last_gap.as_ref() != Some(&gap) {
                    self.last_gap = Some(gap);
                    return Err(Lost::Transient(format!(
                        "gap in channel {channel}: got seq {} after {last}; resuming",
                        event.seq
                    ))
                    .into());
                }
            }
        }
        if event.kind == EventKind::MemberJoined
            && self
                .principal
                .as_ref()
                .is_some_and(|me| event.payload["principal_id"].as_str() == Some(me.as_str()))
        {
            self.no_ack.remove(&channel);
        }
        self.cursors.insert(channel, event.seq);
        self.deliver(Frame::Event(event)).await
    }
}

fn merge(into: &mut HashMap<ChannelId, u64>, cursors: impl IntoIterator<Item = (ChannelId, u64)>) {
    for (channel, seq) in cursors {
        let at = into.entry(channel).or_insert(seq);
        *at = (*at).max(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_frames_decode() {
        let event = r#""id":"e1","channel_id":"c1","seq":7,"kind":"message.created","at":"2025-01-01T00:00:00Z","actor":"p1","payload":{"message":{"text":"hi @scout"}}"#;
        let wire: Wire = serde_json::from_str(&format!(r#"{{"type":"event",{event}}}"#)).unwrap();
        assert!(matches!(wire, Wire::Event(e) if e.seq == 7));

        let trigger = format!(
            r#"{{"type":"trigger",{event},"trigger":{{"id":"t1","reason":"mention","hop":0,"message_id":"m1","thread_id":null,"turn_token":"octo_turn","turn_expires_at":"2025-01-01T00:05:00Z"}}}}"#
        );
        let wire: Wire = serde_json::from_str(&trigger).unwrap();
        match wire {
            Wire::Trigger(t) => {
                assert_eq!(t.event.seq, 7);
                assert_eq!(t.trigger.reason, TriggerReason::Mention);
                assert_eq!(t.trigger.turn_token, "octo_turn");
            }
            other => panic!("{other:?}"),
        }

        let wire: Wire = serde_json::from_str(r#"{"type":"something_new","x":1}"#).unwrap();
        assert!(matches!(wire, Wire::Unknown));
        let wire: Wire =
            serde_json::from_str(r#"{"type":"error","code":"bad_frame","message":"no"}"#).unwrap();
        assert!(matches!(
            wire,
            Wire::Error {
                channel_id: None,
                ..
            }
        ));
    }

    #[test]
    fn client_frames_encode_as_the_server_expects() {
        let cursors = HashMap::from([(ChannelId::from_string("c1"), 3)]);
        let hello = Out::Hello {
            token: Some("octo_x"),
            cursors: &cursors,
        };
        let Message::Text(text) = hello.message() else {
            panic!("text")
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "hello", "token": "octo_x", "cursors": {"c1": 3}})
        );
        let Message::Text(text) = (Out::Presence {
            status: PresenceStatus::Away,
        })
        .message() else {
            panic!("text")
        };
        assert_eq!(&*text, r#"{"type":"presence","status":"away"}"#);
    }

    #[test]
    fn send_frames_carry_the_post_body_and_answers_decode() {
        let options = SendOptions {
            client_msg_id: Some("k1".into()),
            ..SendOptions::default()
        };
        let Message::Text(text) = (Out::Send {
            reference: "7",
            channel_id: &ChannelId::from_string("c1"),
            text: "hi",
            options: &options,
        })
        .message() else {
            panic!("text")
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "send", "ref": "7", "channel_id": "c1", "text": "hi", "client_msg_id": "k1"})
        );

        let wire: Wire = serde_json::from_str(
            r#"{"type":"sent","ref":"7","message":{"id":"m1"},"replayed":true}"#,
        )
        .unwrap();
        assert!(matches!(wire, Wire::Sent { reference, replayed: true, .. } if reference == "7"));
        let wire: Wire =
            serde_json::from_str(r#"{"type":"error","code":"not_found","message":"no","ref":"8"}"#)
                .unwrap();
        assert!(matches!(wire, Wire::Error { reference: Some(r), .. } if r == "8"));
        // An answer that cannot be read still names its send.
        let wire: Wire = serde_json::from_str(r#"{"type":"sent","ref":"9"}"#).unwrap();
        assert!(
            matches!(wire, Wire::Sent { reference, message, .. } if reference == "9" && message.is_null())
        );
    }

    fn request(text: &str) -> (SendRequest, oneshot::Receiver<Result<Sent>>) {
        let (reply, answer) = oneshot::channel();
        let request = SendRequest {
            channel: ChannelId::from_string("c1"),
            text: text.into(),
            options: SendOptions::default(),
            reply,
        };
        (request, answer)
    }

    #[test]
    fn unanswered_sends_go_first_in_their_order_on_the_next_connection() {
        let mut sends = Sends::default();
        let mut answers = Vec::new();
        for i in 0..MAX_SENDS_IN_FLIGHT + 3 {
            let (request, answer) = request(&format!("m{i}"));
            sends.push(request);
            answers.push(answer);
        }
        // The window fills; the rest wait.
        while let Some((reference, request)) = sends.next_to_write() {
            sends.written.insert(reference, request);
        }
        assert_eq!(sends.written.len(), MAX_SENDS_IN_FLIGHT);
        assert_eq!(sends.waiting.len(), 3);
        // One is answered, and the caller of another gives up.
        sends.answer("0", Err(ClientError::SubscriptionEnded));
        sends.answer("not a ref", Err(ClientError::SubscriptionEnded));
        answers.remove(1);

        sends.rewrite_unanswered();
        let mut order = Vec::new();
        while let Some((reference, request)) = sends.next_to_write() {
            order.push((reference, request.text.clone()));
            sends.written.insert(reference, request);
        }
        let expected: Vec<(u64, String)> = (2..MAX_SENDS_IN_FLIGHT as u64 + 2)
            .map(|i| (i, format!("m{i}")))
            .collect();
        assert_eq!(order, expected);
        assert_eq!(sends.waiting.len(), 1);
    }

    #[test]
    fn ws_url_follows_the_base_url() {
        assert_eq!(
            Client::new("http://127.0.0.1:8080/", None).ws_url(),
            "ws://127.0.0.1:8080/api/v1/ws"
        );
        assert_eq!(
            Client::new("https://chat.example", None).ws_url(),
            "wss://chat.example/api/v1/ws"
        );
    }

    #[test]
    fn jitter_stays_within_half_to_full() {
        for _ in 0..100 {
            let d = jitter(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1000));
        }
    }
}
