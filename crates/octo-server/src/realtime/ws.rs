//! `GET /api/v1/ws`: the WebSocket gateway.
//!
//! After the upgrade the client sends `hello` (with its token unless the upgrade
//! carried a bearer header or the web session cookie). The server answers
//! `ready`, replays from each channel's cursor, joins the hub, catches up with
//! whatever was committed meanwhile, and then streams live — so the seam has no
//! gap and no duplicate.

use super::frames::{ClientFrame, ServerFrame, close};
use super::hub::{Outbound, Registration};
use super::publish_presence;
use super::send::Sends;
use super::session::Session;
use crate::caller::{Caller, authenticate};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::response::Response;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use octo_broker::Signal;
use octo_core::ChannelId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The web app's session cookie.
pub const SESSION_COOKIE: &str = "octo_session";

/// Mailbox items handled per wake-up; their frames go out in one write.
const BATCH: usize = 64;

/// Bytes read from a socket at a time (larger frames still arrive whole).
/// Every idle connection keeps this much resident; client frames (hello,
/// acks, typing, pongs) are a few hundred bytes.
const READ_BUFFER: usize = 4 * 1024;

/// Typing signals from one connection, at most one per channel this often.
const TYPING_EVERY: Duration = Duration::from_secs(2);

#[utoipa::path(get, path = "/api/v1/ws", tag = "realtime",
    responses((status = 101, description = "WebSocket: see ARCHITECTURE.md, \"Real-time protocol\"")))]
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let preauth = upgrade_token(&headers);
    let max = state.config.realtime.max_frame_bytes;
    // tungstenite's default 128 KiB read buffer is zero-filled on every read:
    // 140 KiB per idle connection. Client frames are small; 4 KiB is plenty.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move { run(state, socket, preauth).await })
}

/// A token carried by the upgrade request itself: a bearer header, or the
/// session cookie when the page asking is from this same server (a cookie
/// alone would let any site's page connect as the user).
fn upgrade_token(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    {
        return Some(token.trim().to_owned());
    }
    let host = headers.get(HOST)?.to_str().ok()?;
    let origin = headers.get(ORIGIN)?.to_str().ok()?;
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if origin_host != host {
        return None;
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
        .map(str::to_owned)
}

type Sink = SplitSink<WebSocket, Message>;

/// What the client asked for in `hello`, besides its identity.
struct Hello {
    cursors: Option<HashMap<ChannelId, u64>>,
    channels: Option<Vec<ChannelId>>,
    /// The secret the connection authenticated with: each `send` is checked
    /// with it again, as each HTTP request is.
    token: Arc<str>,
}

/// Why a session ended, and what to tell the client.
enum End {
    Close(u16, String),
    /// The client is gone; nothing to send.
    Gone,
}

impl From<ApiError> for End {
    fn from(e: ApiError) -> Self {
        tracing::warn!(error = %e, "a real-time session failed");
        End::Close(1011, "internal error; reconnect to resume".into())
    }
}

async fn run(state: AppState, socket: WebSocket, preauth: Option<String>) {
    let (mut sink, mut stream) = socket.split();
    let end = match hello(&state, &mut stream, preauth).await {
        Ok((caller, hello)) => serve(state, caller, hello, &mut sink, &mut stream).await,
        Err(end) => end,
    };
    if let End::Close(code, reason) = end {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
}

async fn hello(
    state: &AppState,
    stream: &mut SplitStream<WebSocket>,
    preauth: Option<String>,
) -> Result<(Caller, Hello), End> {
    let wait = Duration::from_millis(state.config.realtime.hello_timeout_ms);
    let first = match tokio::time::timeout(wait, stream.next()).await {
        Err(_) => return Err(End::Close(close::HELLO_TIMEOUT, "no hello in time".into())),
        Ok(None) | Ok(Some(Err(_))) => return Err(End::Gone),
        Ok(Some(Ok(msg))) => msg,
    };
    let Message::Text(text) = first else {
        return Err(End::Close(
            close::BAD_HELLO,
            "the first frame must be a JSON hello".into(),
        ));
    };
    let (token, cursors, channels) = match serde_json::from_str::<ClientFrame>(&text) {
        Ok(ClientFrame::Hello {
            token,
            cursors,
            channels,
        }) => (token, cursors, channels),
        Ok(_) => {
            return Err(End::Close(
                close::BAD_HELLO,
                "the first frame must be hello".into(),
            ));
        }
        Err(e) => return Err(End::Close(close::BAD_HELLO, format!("bad hello: {e}"))),
    };
    let Some(token) = token.or(preauth) else {
        return Err(End::Close(
            close::UNAUTHENTICATED,
            "unauthenticated: send a token in hello".into(),
        ));
    };
    match authenticate(state, &token).await {
        Ok(caller) => Ok((
            caller,
            Hello {
                cursors,
                channels,
                token: token.into(),
            },
        )),
        Err(ApiError::Unauthenticated { code, .. }) => {
            Err(End::Close(close::UNAUTHENTICATED, code.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Queues one frame for the socket (written at the next flush, or sooner when
/// the write buffer fills), unless the hub kicked us or the client stopped
/// reading.
async fn send(
    state: &AppState,
    sink: &mut Sink,
    kicked: &mut tokio::sync::oneshot::Receiver<&'static str>,
    msg: Message,
) -> Result<(), End> {
    guarded(state, kicked, sink.feed(msg)).await
}

/// Writes everything queued: one syscall for a burst of frames instead of one
/// per frame.
async fn flush(
    state: &AppState,
    sink: &mut Sink,
    kicked: &mut tokio::sync::oneshot::Receiver<&'static str>,
) -> Result<(), End> {
    guarded(state, kicked, SinkExt::<Message>::flush(sink)).await
}

/// A socket write that gives up when the hub kicks the connection or the
/// write takes longer than the send timeout.
async fn guarded(
    state: &AppState,
    kicked: &mut tokio::sync::oneshot::Receiver<&'static str>,
    write: impl std::future::Future<Output = Result<(), axum::Error>>,
) -> Result<(), End> {
    let timeout = Duration::from_millis(state.config.realtime.send_timeout_ms);
    tokio::select! {
        biased;
        reason = kicked => Err(End::Close(close::SLOW_CONSUMER, reason.unwrap_or("closed").to_owned())),
        sent = tokio::time::timeout(timeout, write) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(
                close::SLOW_CONSUMER,
                super::hub::KICK_SLOW.to_owned(),
            )),
        },
    }
}

async fn send_all(
    state: &AppState,
    sink: &mut Sink,
    kicked: &mut tokio::sync::oneshot::Receiver<&'static str>,
    frames: Vec<String>,
) -> Result<(), End> {
    let frames = frames.into_iter().map(|f| Message::Text(f.into()));
    queue_all(state, sink, kicked, frames).await?;
    flush(state, sink, kicked).await
}

/// Queues frames for the socket without flushing: the caller flushes once
/// for everything it queued. One guard (and so one timer) for them all: a
/// timer per frame was a measurable part of a delivery.
async fn queue_all(
    state: &AppState,
    sink: &mut Sink,
    kicked: &mut tokio::sync::oneshot::Receiver<&'static str>,
    frames: impl IntoIterator<Item = Message>,
) -> Result<(), End> {
    let feed_all = async {
        for frame in frames {
            sink.feed(frame).await?;
        }
        Ok(())
    };
    guarded(state, kicked, feed_all).await
}

async fn serve(
    state: AppState,
    caller: Caller,
    hello: Hello,
    sink: &mut Sink,
    stream: &mut SplitStream<WebSocket>,
) -> End {
    let (registration, presence) = state.hub.register(
        &caller.principal.id,
        &caller.principal.org_id,
        state.config.realtime.send_queue,
    );
    publish_presence(&state, Some(presence)).await;
    let id = registration.id;
    let end = stream_session(state.clone(), caller, hello, registration, sink, stream).await;
    publish_presence(&state, state.hub.unregister(id)).await;
    end
}

async fn stream_session(
    state: AppState,
    caller: Caller,
    hello: Hello,
    registration: Registration,
    sink: &mut Sink,
    stream: &mut SplitStream<WebSocket>,
) -> End {
    match stream_session_inner(state, caller, hello, registration, sink, stream).await {
        Ok(()) => End::Gone,
        Err(end) => end,
    }
}

async fn stream_session_inner(
    state: AppState,
    caller: Caller,
    hello: Hello,
    registration: Registration,
    sink: &mut Sink,
    stream: &mut SplitStream<WebSocket>,
) -> Result<(), End> {
    let Registration {
        id,
        mut mailbox,
        mut kicked,
    } = registration;
    let mut session = Session::new(state.clone(), caller);
    // Dropped with the session: sends still committing then finish alone.
    let mut sends = Sends::new(hello.token);

    // 1. Tell the client where each channel starts, and replay from the log.
    let plan = session.plan(hello.cursors, hello.channels).await?;
    send(
        &state,
        sink,
        &mut kicked,
        Message::Text(session.ready_frame(id, &plan).into()),
    )
    .await?;
    send_all(&state, sink, &mut kicked, plan.errors.clone()).await?;
    for start in &plan.starts {
        session.start_channel(&start.channel, start.from_seq, start.triggers_from);
        let frames = session.catch_up(&start.channel, start.last_seq).await?;
        send_all(&state, sink, &mut kicked, frames).await?;
        let frames = session.catch_up_triggers(&start.channel).await?;
        send_all(&state, sink, &mut kicked, frames).await?;
    }
    // 2. Join the hub, then catch up with what was committed meanwhile; from
    //    here on duplicates are dropped by seq and gaps filled from the log.
    for channel in session.delivered.keys() {
        state.hub.subscribe(id, channel);
    }
    let frames = session.catch_up_all().await?;
    send_all(&state, sink, &mut kicked, frames).await?;

    // 3. Live.
    let realtime = &state.config.realtime;
    let mut ping = tokio::time::interval(Duration::from_millis(realtime.ping_interval_ms));
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let idle_timeout = Duration::from_millis(realtime.idle_timeout_ms);
    let mut last_heard = Instant::now();
    let mut last_typing: HashMap<ChannelId, Instant> = HashMap::new();
    let shutting_down = super::shutting_down(state.shutting_down.clone());
    tokio::pin!(shutting_down);
    // A token that expires ends its sessions when it does, as a request with
    // it would be refused from then on.
    let expires_in = session
        .caller
        .token
        .expires_at
        .map(|at| (at - octo_store::now()).to_std().unwrap_or(Duration::ZERO));
    let expired = async move {
        match expires_in {
            Some(wait) => tokio::time::sleep(wait).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    let mut batch = Vec::with_capacity(BATCH);
    let coalesce = Duration::from_millis(realtime.coalesce_ms);
    let mut last_flush = Instant::now();
    // Events wait in `batch` until then (see the select arm below).
    let mut hold_until: Option<tokio::time::Instant> = None;
    let mut flush_events = false;
    loop {
        tokio::select! {
            biased;
            reason = &mut kicked => {
                return Err(End::Close(close::SLOW_CONSUMER, reason.unwrap_or("closed").to_owned()));
            }
            () = &mut shutting_down => {
                return Err(End::Close(close::GOING_AWAY, "server shutting down; reconnect to resume".into()));
            }
            () = &mut expired => {
                return Err(End::Close(close::UNAUTHENTICATED, "token_expired".into()));
            }
            // Before the mailbox, so that a busy mailbox never keeps the
            // sends from being polled. Their answers go out at once (not
            // coalesced): the sender is waiting for them.
            replies = sends.answers(), if sends.busy() => {
                for reply in replies {
                    send(&state, sink, &mut kicked, Message::Text(reply)).await?;
                }
                flush(&state, sink, &mut kicked).await?;
            }
            // A socket written to less than `coalesce` ago is busy: what
            // arrives in the rest of that window shares the next write (a
            // write per event was most of a delivery's cost; with
            // TCP_NODELAY nothing else coalesces). The wait is an arm of its
            // own, not a sleep in this one, so that sends, their answers and
            // client frames go on meanwhile. A quiet socket is written at
            // once, after one yield that lets the rest of a group commit's
            // events land.
            () = tokio::time::sleep_until(hold_until.unwrap_or_else(tokio::time::Instant::now)), if hold_until.is_some() => {
                hold_until = None;
                flush_events = true;
            }
            received = mailbox.recv_many(&mut batch, BATCH), if hold_until.is_none() => {
                if received == 0 {
                    return Err(End::Close(close::SLOW_CONSUMER, super::hub::KICK_SLOW.to_owned()));
                }
                let since = last_flush.elapsed();
                if since < coalesce {
                    hold_until = Some(tokio::time::Instant::now() + (coalesce - since));
                } else {
                    tokio::task::yield_now().await;
                    flush_events = true;
                }
            }
            incoming = stream.next() => {
                let msg = match incoming {
                    None => return Ok(()),
                    Some(Err(e)) => {
                        let text = e.to_string();
                        return Err(if text.contains("too long") || text.contains("too big") {
                            End::Close(close::TOO_BIG, format!("frame too large (limit {} bytes)", realtime.max_frame_bytes))
                        } else {
                            End::Gone
                        });
                    }
                    Some(Ok(msg)) => msg,
                };
                last_heard = Instant::now();
                let replies = match msg {
                    Message::Text(text) => on_client_frame(&state, &session, id, &text, &mut last_typing, &mut sends).await,
                    Message::Binary(_) => vec![error_frame("bad_frame", "binary frames are not supported; send JSON text", None)],
                    Message::Close(_) => return Ok(()),
                    Message::Ping(_) | Message::Pong(_) => vec![],
                };
                for reply in replies {
                    send(&state, sink, &mut kicked, Message::Text(reply)).await?;
                }
                flush(&state, sink, &mut kicked).await?;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > idle_timeout {
                    return Err(End::Close(close::IDLE_TIMEOUT, "idle_timeout: nothing heard from the client".into()));
                }
                send(&state, sink, &mut kicked, Message::Ping(Default::default())).await?;
                flush(&state, sink, &mut kicked).await?;
            }
        }
        if !flush_events {
            continue;
        }
        flush_events = false;
        while batch.len() < BATCH {
            match mailbox.try_recv() {
                Ok(out) => batch.push(out),
                Err(_) => break,
            }
        }
        // Event frames gather here and are written (flushed once, after
        // the whole batch) before anything else is sent, keeping order.
        let mut events = Vec::new();
        for out in batch.drain(..) {
            if !matches!(out, Outbound::Event { .. }) {
                queue_all(&state, sink, &mut kicked, events.drain(..)).await?;
            }
            match out {
                Outbound::Event { event, frame } => {
                    let delivery = session.on_event(&event).await?;
                    events.extend(
                        delivery
                            .backfill
                            .into_iter()
                            .map(|f| Message::Text(f.into())),
                    );
                    if delivery.send_event {
                        events.push(Message::Text(frame));
                    }
                }
                Outbound::Frame(frame) => {
                    send(&state, sink, &mut kicked, Message::Text(frame)).await?
                }
                Outbound::Resync => {
                    let frames = session.catch_up_all().await?;
                    send_all(&state, sink, &mut kicked, frames).await?;
                    let channels: Vec<ChannelId> = session.delivered.keys().cloned().collect();
                    for channel in channels {
                        let frames = session.catch_up_triggers(&channel).await?;
                        send_all(&state, sink, &mut kicked, frames).await?;
                    }
                }
                Outbound::Trigger(channel) => {
                    // Events first, so the trigger never overtakes its event.
                    if let Some(last) = state
                        .store
                        .get_channel(&channel)
                        .await
                        .map_err(ApiError::from)?
                        .map(|c| c.last_seq)
                    {
                        let frames = session.catch_up(&channel, last).await?;
                        send_all(&state, sink, &mut kicked, frames).await?;
                    }
                    let frames = session.catch_up_triggers(&channel).await?;
                    send_all(&state, sink, &mut kicked, frames).await?;
                }
                Outbound::AccessChanged => {
                    // A token revoked meanwhile ends the session (revoking
                    // is an access change of its principal).
                    match authenticate(&state, sends.token()).await {
                        Ok(_) => {}
                        Err(ApiError::Unauthenticated { code, .. }) => {
                            return Err(End::Close(close::UNAUTHENTICATED, code.to_owned()));
                        }
                        Err(e) => return Err(e.into()),
                    }
                    let (lost, gained) = session.recheck().await?;
                    for channel in &lost {
                        state.hub.unsubscribe(id, channel);
                        let frame = ServerFrame::Unsubscribed {
                            channel_id: channel,
                            reason: "no_access",
                        }
                        .to_text();
                        send(&state, sink, &mut kicked, Message::Text(frame.into())).await?;
                    }
                    for (channel, from_seq) in &gained {
                        state.hub.subscribe(id, channel);
                        let frame = ServerFrame::Subscribed {
                            channel_id: channel,
                            from_seq: *from_seq,
                        }
                        .to_text();
                        send(&state, sink, &mut kicked, Message::Text(frame.into())).await?;
                    }
                    if !gained.is_empty() {
                        let frames = session.catch_up_all().await?;
                        send_all(&state, sink, &mut kicked, frames).await?;
                        for (channel, _) in &gained {
                            let frames = session.catch_up_triggers(channel).await?;
                            send_all(&state, sink, &mut kicked, frames).await?;
                        }
                    }
                }
            }
        }
        queue_all(&state, sink, &mut kicked, events).await?;
        flush(&state, sink, &mut kicked).await?;
        last_flush = Instant::now();
    }
}

fn error_frame(code: &str, message: &str, reference: Option<&str>) -> Utf8Bytes {
    ServerFrame::Error {
        code,
        message,
        channel_id: None,
        reference,
    }
    .to_text()
    .into()
}

/// The `ref` of a frame that did not parse, if it has one that is a string
/// (a `send` with a missing field, or a ref too long), so that the client can
/// tell which of its sends the error answers.
fn readable_ref(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Lenient<'a> {
        #[serde(rename = "ref", borrow)]
        reference: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Lenient>(text)
        .ok()?
        .reference
        .map(std::borrow::Cow::into_owned)
}

/// Handles a frame after hello; returns a reply, if any. Bad frames get an
/// error frame and the session goes on.
async fn on_client_frame(
    state: &AppState,
    session: &Session,
    id: super::hub::ConnId,
    text: &str,
    last_typing: &mut HashMap<ChannelId, Instant>,
    sends: &mut Sends,
) -> Vec<Utf8Bytes> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(e) => {
            let reference = readable_ref(text);
            return vec![error_frame(
                "bad_frame",
                &e.to_string(),
                reference.as_deref(),
            )];
        }
    };
    match frame {
        ClientFrame::Hello { .. } => {
            vec![error_frame("bad_frame", "hello was already received", None)]
        }
        ClientFrame::Send(frame) => sends.push(state, frame).into_iter().collect(),
        ClientFrame::Ping => vec![ServerFrame::Pong.to_text().into()],
        ClientFrame::Ack { cursors } => {
            // Each channel on its own: one refused ack must not drop the others.
            let mut errors = Vec::new();
            for (channel, seq) in cursors {
                let refused = if !session.delivered.contains_key(&channel) {
                    Some(("unknown_channel", "no such channel"))
                } else {
                    match state
                        .store
                        .ack_cursor(&channel, &session.caller.principal.id, seq)
                        .await
                    {
                        Ok(_) => None,
                        Err(octo_store::StoreError::NotFound) => {
                            Some(("not_a_member", "only members keep a delivery cursor"))
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "ack failed");
                            Some(("internal", "the ack was not stored; send it again"))
                        }
                    }
                };
                if let Some((code, message)) = refused {
                    errors.push(channel_error(code, message, &channel));
                }
            }
            errors
        }
        ClientFrame::Typing {
            channel_id,
            thread_id,
        } => {
            if !session.delivered.contains_key(&channel_id) {
                return vec![channel_error(
                    "unknown_channel",
                    "no such channel",
                    &channel_id,
                )];
            }
            let now = Instant::now();
            if last_typing
                .get(&channel_id)
                .is_some_and(|t| now.duration_since(*t) < TYPING_EVERY)
            {
                return vec![];
            }
            last_typing.insert(channel_id.clone(), now);
            let signal = Signal::Typing {
                channel_id,
                principal_id: session.caller.principal.id.clone(),
                thread_id,
            };
            if let Err(e) = state.broker.publish(signal).await {
                tracing::debug!(error = %e, "typing not published");
            }
            vec![]
        }
        ClientFrame::Presence { status } => {
            publish_presence(state, state.hub.set_status(id, status)).await;
            vec![]
        }
    }
}

fn channel_error(code: &str, message: &str, channel: &ChannelId) -> Utf8Bytes {
    ServerFrame::Error {
        code,
        message,
        channel_id: Some(channel),
        reference: None,
    }
    .to_text()
    .into()
}
