//! `send` frames: messages posted over a WebSocket.
//!
//! Each one takes exactly the path of `POST /channels/{id}/messages`: the
//! token is checked again (a revoked token is refused from the next send on),
//! one request is spent from the principal's rate-limit bucket, then
//! [`routes::messages::post`] authorizes, validates, commits (idempotent by
//! `client_msg_id`), fans out and wakes agents.
//!
//! A connection's sends are committed in the order they were received and
//! answered in that order, but they need not wait for one another's commits:
//! the checks of each (token, rate limit, [`routes::messages::prepare`]) run
//! one at a time in receive order, and as soon as a send is prepared its
//! commit ([`routes::messages::commit`]) starts while the next one is being
//! prepared, so sends pipelined on one connection share the store's group
//! commits. Everything is a future polled by the session's own select loop,
//! next to its mailbox and socket, so delivery goes on while sends commit and
//! no task or channel sits between the frame and the commit.

use super::frames::{SendFrame, SendRef, ServerFrame};
use crate::caller::{authenticate, spend_request};
use crate::error::{ApiError, ApiResult};
use crate::routes;
use crate::routes::messages::{PostMessageRequest, Prepared, Sent};
use crate::state::AppState;
use axum::extract::ws::Utf8Bytes;
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use octo_core::ChannelId;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Sends a connection may have waiting, those being prepared and committed
/// included. What it bounds is memory: at most this many frames (each at
/// most `max_frame_bytes`, 64 KiB by default: 4 MiB) held per connection.
/// Past it a send is answered at once with `too_many_in_flight`.
pub const MAX_PENDING_SENDS: usize = 64;

/// Commits one connection may have in flight at once (when the store keeps
/// their order, see [`octo_store::Store::posts_commit_in_call_order`]). One
/// group commit takes whatever is queued, so a window this deep already fills
/// a batch from a pipelining client; past it more in flight would only hold
/// more of the writer's queue (and of the other connections' batches) for
/// one connection. Sends past it wait, unprepared, in the pending bound above.
pub const MAX_COMMITS_IN_FLIGHT: usize = 32;

type Preparing = Pin<Box<dyn Future<Output = ApiResult<Prepared>> + Send>>;
type Commit = Pin<Box<dyn Future<Output = (SendRef, ApiResult<Sent>)> + Send>>;

struct Queued {
    reference: SendRef,
    channel: ChannelId,
    req: PostMessageRequest,
}

impl Queued {
    fn has_attachments(&self) -> bool {
        self.req.attachments.as_ref().is_some_and(|a| !a.is_empty())
    }
}

/// One connection's sends: those waiting, the one being prepared, and those
/// being committed.
pub struct Sends {
    /// The secret the connection authenticated with, checked again per send.
    token: Arc<str>,
    /// Shared by the sends of this connection (one clone of the state per
    /// connection that sends, not per send); made on the first send.
    state: Option<Arc<AppState>>,
    waiting: VecDeque<Queued>,
    preparing: Option<(SendRef, Preparing)>,
    /// Answers leave in the order the sends were received. A send refused
    /// while being prepared joins as a ready outcome, so its answer does not
    /// overtake those of the sends before it.
    committing: FuturesOrdered<Commit>,
}

impl Sends {
    pub fn new(token: Arc<str>) -> Self {
        Self {
            token,
            state: None,
            waiting: VecDeque::new(),
            preparing: None,
            committing: FuturesOrdered::new(),
        }
    }

    /// The secret the connection authenticated with.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether any send is waiting for its answer.
    pub fn busy(&self) -> bool {
        self.pending() > 0
    }

    fn pending(&self) -> usize {
        self.waiting.len() + usize::from(self.preparing.is_some()) + self.committing.len()
    }

    /// Takes a `send`: it waits its turn to be prepared. Past
    /// [`MAX_PENDING_SENDS`] it is refused; the refusal is returned to be
    /// written at once.
    pub fn push(&mut self, state: &AppState, frame: SendFrame) -> Option<Utf8Bytes> {
        if self.pending() >= MAX_PENDING_SENDS {
            let message = format!(
                "{MAX_PENDING_SENDS} sends are already waiting on this connection; wait for their answers"
            );
            return Some(error_frame(
                "too_many_in_flight",
                &message,
                frame.reference.as_str(),
            ));
        }
        self.state.get_or_insert_with(|| Arc::new(state.clone()));
        let (reference, channel, req) = frame.into_parts();
        self.waiting.push_back(Queued {
            reference,
            channel,
            req,
        });
        None
    }

    /// Resolves with the answers (`sent`, or `error` with the code HTTP would
    /// give) of the sends done, in the order received, at least one; drives
    /// the preparations meanwhile. Never resolves when nothing is pending
    /// (guard the select arm with [`Sends::busy`]). Dropping it loses nothing.
    pub fn answers(&mut self) -> impl Future<Output = Vec<Utf8Bytes>> + '_ {
        std::future::poll_fn(move |cx| self.poll_answers(cx))
    }

    fn poll_answers(&mut self, cx: &mut Context<'_>) -> Poll<Vec<Utf8Bytes>> {
        let mut answers = Vec::new();
        loop {
            self.poll_prepare(cx);
            match self.committing.poll_next_unpin(cx) {
                Poll::Ready(Some((reference, outcome))) => {
                    answers.push(answer(&reference, outcome));
                }
                // Empty (a preparation is pending and will wake us) or busy.
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        if answers.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(answers)
        }
    }

    /// Whether the next waiting send may start being prepared now.
    fn may_prepare(&self, state: &AppState, next: &Queued) -> bool {
        if self.committing.is_empty() {
            return true;
        }
        // A store that may reorder concurrent posts gets them one at a time.
        if !state.store.posts_commit_in_call_order() {
            return false;
        }
        // A file is checked when the send is prepared and taken when it
        // commits: a send attaching files waits for the commits before it,
        // so that a file sent twice is refused with the same
        // `unknown_attachment` as over HTTP, not with the store's conflict.
        self.committing.len() < MAX_COMMITS_IN_FLIGHT && !next.has_attachments()
    }

    /// Prepares the waiting sends one at a time, in receive order, and starts
    /// the commit of each as soon as it is prepared.
    fn poll_prepare(&mut self, cx: &mut Context<'_>) {
        let Some(state) = self.state.clone() else {
            return;
        };
        loop {
            if self.preparing.is_none() {
                match self.waiting.front() {
                    Some(next) if self.may_prepare(&state, next) => {}
                    _ => return,
                }
                let Some(queued) = self.waiting.pop_front() else {
                    return;
                };
                self.preparing = Some(self.start_preparing(&state, queued));
            }
            let Some((_, preparing)) = self.preparing.as_mut() else {
                return;
            };
            let Poll::Ready(prepared) = preparing.as_mut().poll(cx) else {
                return;
            };
            let Some((reference, _)) = self.preparing.take() else {
                return;
            };
            let commit: Commit = match prepared {
                Ok(prepared) => {
                    let state = state.clone();
                    let mut commit: Commit = Box::pin(async move {
                        let outcome = routes::messages::commit(&state, prepared).await;
                        (reference, outcome)
                    });
                    // The first poll matters: it is the one in which the store
                    // queues the write (SQLite's `write` sends the job to the
                    // writer's channel before awaiting its reply, and
                    // `commit` awaits nothing before `post_message`). Polled
                    // here, this send's write is queued before the next send
                    // is even prepared, so writes reach the writer, and seqs
                    // are given, in receive order, whatever order
                    // `FuturesOrdered` later polls them in. Stores that cannot
                    // promise this never have two commits in flight (see
                    // `may_prepare`).
                    match commit.as_mut().poll(cx) {
                        Poll::Pending => commit,
                        Poll::Ready(done) => Box::pin(std::future::ready(done)),
                    }
                }
                Err(e) => Box::pin(std::future::ready((reference, Err(e)))),
            };
            self.committing.push_back(commit);
        }
    }

    fn start_preparing(&self, state: &Arc<AppState>, queued: Queued) -> (SendRef, Preparing) {
        let state = state.clone();
        let token = self.token.clone();
        let Queued {
            reference,
            channel,
            req,
        } = queued;
        let preparing: Preparing = Box::pin(async move {
            let caller = authenticate(&state, &token).await?;
            spend_request(&state, &caller)?;
            routes::messages::prepare(&state, &caller, &channel, req).await
        });
        (reference, preparing)
    }
}

/// The answer to one send.
fn answer(reference: &SendRef, outcome: ApiResult<Sent>) -> Utf8Bytes {
    let reference = reference.as_str();
    match outcome {
        Ok(sent) => ServerFrame::Sent {
            reference,
            message: &sent.message,
            replayed: sent.replayed,
        }
        .to_text()
        .into(),
        Err(e) => {
            if let ApiError::Internal(detail) = &e {
                tracing::error!(%detail, "internal error in a WebSocket send");
            }
            error_frame(&e.code(), &e.to_string(), reference)
        }
    }
}

impl Drop for Sends {
    /// The sends being committed may already be committed: they are finished
    /// on their own so that their fan-out and triggers still happen, though
    /// nobody is left to hear the answers. Sends waiting or being prepared
    /// were never written; the client resends them (with the same
    /// `client_msg_id`, nothing is doubled).
    fn drop(&mut self) {
        if self.committing.is_empty() {
            return;
        }
        let mut committing = std::mem::take(&mut self.committing);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                while let Some((_, outcome)) = committing.next().await {
                    if let Err(e) = outcome {
                        tracing::debug!(error = %e, "a send left behind by its connection failed");
                    }
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
