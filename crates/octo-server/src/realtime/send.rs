//! `send` frames: messages posted over a WebSocket.
//!
//! Each one takes exactly the path of `POST /channels/{id}/messages`: the
//! token is checked again (a revoked token is refused from the next send on),
//! one request is spent from the principal's rate-limit bucket, then
//! [`routes::messages::post`] authorizes, validates, commits (idempotent by
//! `client_msg_id`), fans out and wakes agents.
//!
//! A connection's sends are committed one at a time, in the order they were
//! received, and answered in that order. The one in flight is a future polled
//! by the session's own select loop, next to its mailbox and socket, so
//! delivery goes on while it commits and no task or channel sits between the
//! frame and the commit.

use super::frames::{SendFrame, SendRef, ServerFrame};
use crate::caller::{authenticate, spend_request};
use crate::error::{ApiError, ApiResult};
use crate::routes;
use crate::routes::messages::PostMessageRequest;
use crate::state::AppState;
use axum::extract::ws::Utf8Bytes;
use futures::future::OptionFuture;
use octo_core::ChannelId;
use octo_store::Posted;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Sends a connection may have waiting, the one being committed included.
/// Commits on one connection are serial, so a deeper pipeline gains nothing;
/// what it bounds is memory: at most this many frames (each at most
/// `max_frame_bytes`, 64 KiB by default: 4 MiB) held per connection. Past it a send is
/// answered at once with `too_many_in_flight`.
pub const MAX_PENDING_SENDS: usize = 64;

type Commit = Pin<Box<dyn Future<Output = ApiResult<Posted>> + Send>>;

struct Queued {
    reference: SendRef,
    channel: ChannelId,
    req: PostMessageRequest,
}

/// One connection's sends: those waiting, and the one being committed.
pub struct Sends {
    /// The secret the connection authenticated with, checked again per send.
    token: Arc<str>,
    /// Shared by the commits of this connection (one clone of the state per
    /// connection that sends, not per send); made on the first send.
    state: Option<Arc<AppState>>,
    waiting: VecDeque<Queued>,
    in_flight: Option<(SendRef, Commit)>,
}

impl Sends {
    pub fn new(token: Arc<str>) -> Self {
        Self {
            token,
            state: None,
            waiting: VecDeque::new(),
            in_flight: None,
        }
    }

    /// The secret the connection authenticated with.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether a send is being committed.
    pub fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Takes a `send`: starts it, or queues it behind the one in flight. Past
    /// [`MAX_PENDING_SENDS`] it is refused; the refusal is returned to be
    /// written at once.
    pub fn push(&mut self, state: &AppState, frame: SendFrame) -> Option<Utf8Bytes> {
        if self.waiting.len() + usize::from(self.busy()) >= MAX_PENDING_SENDS {
            let message = format!(
                "{MAX_PENDING_SENDS} sends are already waiting on this connection; wait for their answers"
            );
            return Some(error_frame(
                "too_many_in_flight",
                &message,
                frame.reference.as_str(),
            ));
        }
        let (reference, channel, req) = frame.into_parts();
        let queued = Queued {
            reference,
            channel,
            req,
        };
        if self.busy() {
            self.waiting.push_back(queued);
        } else {
            self.start(state, queued);
        }
        None
    }

    fn start(&mut self, state: &AppState, queued: Queued) {
        let state = self
            .state
            .get_or_insert_with(|| Arc::new(state.clone()))
            .clone();
        let token = self.token.clone();
        let Queued {
            reference,
            channel,
            req,
        } = queued;
        let commit: Commit = Box::pin(async move {
            let caller = authenticate(&state, &token).await?;
            spend_request(&state, &caller)?;
            routes::messages::post(&state, &caller, &channel, req).await
        });
        self.in_flight = Some((reference, commit));
    }

    /// Resolves with the outcome of the send in flight; with `None` at once if
    /// there is none (guard the select arm with [`Sends::busy`]).
    pub fn committed(&mut self) -> OptionFuture<&mut Commit> {
        OptionFuture::from(self.in_flight.as_mut().map(|(_, commit)| commit))
    }

    /// The answer to the send that was in flight (`sent`, or `error` with the
    /// code HTTP would give); starts the next one waiting.
    pub fn answer(&mut self, state: &AppState, outcome: ApiResult<Posted>) -> Utf8Bytes {
        let reference = self.in_flight.take().map(|(r, _)| r);
        let reference = reference.as_ref().map_or("", SendRef::as_str);
        let frame = match outcome {
            Ok(posted) => ServerFrame::Sent {
                reference,
                message: &posted.message,
                replayed: posted.event.is_none(),
            }
            .to_text()
            .into(),
            Err(e) => {
                if let ApiError::Internal(detail) = &e {
                    tracing::error!(%detail, "internal error in a WebSocket send");
                }
                error_frame(&e.code(), &e.to_string(), reference)
            }
        };
        if let Some(next) = self.waiting.pop_front() {
            self.start(state, next);
        }
        frame
    }
}

impl Drop for Sends {
    /// The send in flight may already be committed: it is finished on its own
    /// so that its fan-out and triggers still happen, though nobody is left to
    /// hear the answer. Sends still waiting were never started; the client
    /// resends them (with the same `client_msg_id`, nothing is doubled).
    fn drop(&mut self) {
        if let Some((_, commit)) = self.in_flight.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(e) = commit.await {
                    tracing::debug!(error = %e, "a send left behind by its connection failed");
                }
            });
        }
    }
}

/// An error answering a `send`.
pub fn error_frame(code: &str, message: &str, reference: &str) -> Utf8Bytes {
    ServerFrame::Error {
        code,
        message,
        channel_id: None,
        reference: Some(reference),
    }
    .to_text()
    .into()
}
