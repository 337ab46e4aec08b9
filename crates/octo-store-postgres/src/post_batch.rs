//! Group commit for posts.
//!
//! Why: a post bumps its channel's `last_seq`, a row lock held to COMMIT, and
//! COMMIT waits for PostgreSQL's WAL fsync, so posts to one channel took turns
//! at a few round trips and an fsync each. Here posts queue for one task per
//! node that takes the first, drains whatever else is queued (up to
//! [`MAX_BATCH`]), runs them all in one transaction and commits once: one
//! fsync, the channel row locked once per batch, every caller answered only
//! after that commit (an answer still means durable).
//!
//! A failing post fails alone, without a savepoint per post (a round trip
//! each, and past 64 in one transaction PostgreSQL's subtransaction cache
//! overflows, which slows every session). Posts can be run again (they depend
//! on nothing but the database and their input), so when one fails the batch
//! is rolled back, that post gets its error and the others run again without
//! it. If COMMIT fails, every post of the batch gets the error.
//!
//! Order: posts queue synchronously when first polled and batches run one
//! after another, so a node commits posts in call order. Within a batch they
//! run grouped by channel id, in queue order within each channel: seqs follow
//! the queue, and every batch (on any node) locks channel rows in one order,
//! so two batches cannot deadlock on them. A deadlock that order cannot rule
//! out (two nodes retrying one `client_msg_id`) reruns the batch.

use crate::error::Error;
use crate::messages;
use crate::pooled;
use deadpool_postgres::{Client, Pool, Transaction};
use futures::future::join_all;
use octo_store::{NewMessage, Posted, StoreError, next_hop};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Most posts in one transaction.
pub(crate) const MAX_BATCH: usize = 64;

/// Times a batch is run again after losing a deadlock before the post that
/// lost it gets the error.
const DEADLOCK_RERUNS: u32 = 3;

/// A post waiting for its batch, and where its outcome goes.
struct Job {
    message: NewMessage,
    reply: oneshot::Sender<Result<Posted, StoreError>>,
}

/// The queue of posts and the task that commits them.
pub(crate) struct PostBatcher {
    /// `None` once closed: new posts are refused.
    jobs: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl PostBatcher {
    /// Starts the task (on the current Tokio runtime) that commits posts on
    /// connections of `pool`.
    ///
    /// The queue is unbounded on purpose: every job is a caller awaiting its
    /// answer, so callers bound it, and a bounded queue's waiting senders
    /// could be let in out of call order.
    pub(crate) fn start(pool: Pool) -> PostBatcher {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(pool, rx));
        PostBatcher {
            jobs: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
        }
    }

    /// Posts `message` in the next batch; answers after its commit. The post
    /// is queued in the first poll, before anything is awaited.
    pub(crate) async fn post(&self, message: NewMessage) -> Result<Posted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue(Job { message, reply })?;
        answer.await.map_err(|_| {
            StoreError::Backend("the post batch ended without an answer (see the log)".into())
        })?
    }

    fn queue(&self, job: Job) -> Result<(), StoreError> {
        let jobs = self
            .jobs
            .lock()
            .map_err(|_| StoreError::Backend("the post queue is poisoned".into()))?;
        let sender = jobs.as_ref().ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)
    }

    /// Refuses new posts. Those already queued are answered (Closed, once the
    /// pool is closed too), then the task ends.
    pub(crate) fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }

    /// Waits for the task to end (after [`PostBatcher::close`]).
    pub(crate) async fn stopped(&self) {
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the post batch task did not end cleanly");
        }
    }
}

/// Until every sender is gone and the queue is empty: one batch at a time.
async fn run(pool: Pool, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch = std::mem::replace(&mut jobs, Vec::with_capacity(MAX_BATCH));
        // A task of its own, so that a panic loses this batch (its callers
        // get an error) and not every later post of the node.
        if let Err(e) = tokio::spawn(commit(pool.clone(), batch)).await {
            tracing::error!(error = %e, "a post batch failed");
        }
    }
}

/// Runs and commits one batch and answers each of its posts.
async fn commit(pool: Pool, mut jobs: Vec<Job>) {
    // Stable: posts to one channel keep their queue order.
    jobs.sort_by(|a, b| {
        a.message
            .channel_id
            .as_str()
            .cmp(b.message.channel_id.as_str())
    });
    let mut client = match pooled(&pool).await {
        Ok(client) => client,
        Err(e) => return fail_all(jobs, &e),
    };
    let mut deadlocks = 0;
    while !jobs.is_empty() {
        match attempt(&mut client, &jobs).await {
            Attempt::Committed(posted) => {
                for (job, posted) in jobs.into_iter().zip(posted) {
                    // A caller that stopped waiting has its post all the same.
                    let _ = job.reply.send(Ok(posted));
                }
                return;
            }
            Attempt::Failed(_, e) if e.is_deadlock() && deadlocks < DEADLOCK_RERUNS => {
                deadlocks += 1;
                tracing::info!("a post batch lost a deadlock; running it again");
            }
            Attempt::Failed(index, e) => {
                let job = jobs.remove(index);
                let _ = job.reply.send(Err(e.into()));
            }
            Attempt::Broken(e) => return fail_all(jobs, &e),
        }
    }
}

enum Attempt {
    /// Every post's outcome, in the order of the jobs.
    Committed(Vec<Posted>),
    /// The post at this index failed; the transaction was rolled back.
    Failed(usize, Error),
    /// BEGIN or COMMIT failed: no post of the batch is committed.
    Broken(StoreError),
}

/// What a batch's posts came to inside its transaction: every post's
/// outcome, or the first post that failed.
type Outcome = Result<Vec<Posted>, (usize, Error)>;

async fn attempt(client: &mut Client, jobs: &[Job]) -> Attempt {
    let tx = match client.transaction().await {
        Ok(tx) => tx,
        Err(e) => return Attempt::Broken(Error::from(e).into()),
    };
    let (tx, outcome) = match pipelined(&tx, jobs).await {
        Pipelined::Done(outcome) => (tx, outcome),
        Pipelined::OneByOne => {
            // Nothing of the pipelined try may stay: not even a seq taken.
            if let Err(e) = tx.rollback().await {
                return Attempt::Broken(Error::from(e).into());
            }
            let tx = match client.transaction().await {
                Ok(tx) => tx,
                Err(e) => return Attempt::Broken(Error::from(e).into()),
            };
            let outcome = one_by_one(&tx, jobs).await;
            (tx, outcome)
        }
    };
    match outcome {
        Ok(posted) => match tx.commit().await {
            Ok(()) => Attempt::Committed(posted),
            Err(e) => Attempt::Broken(Error::from(e).into()),
        },
        Err((index, e)) => {
            // Should this fail, the connection is gone and the next BEGIN
            // says so.
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a post batch failed");
            }
            Attempt::Failed(index, e)
        }
    }
}

/// Each post after the one before: the way for batches the pipelined way
/// leaves alone (retries, a `client_msg_id` twice).
async fn one_by_one(tx: &Transaction<'_>, jobs: &[Job]) -> Outcome {
    let mut posted = Vec::with_capacity(jobs.len());
    for (index, job) in jobs.iter().enumerate() {
        posted.push(
            messages::post(tx, job.message.clone())
                .await
                .map_err(|e| (index, e))?,
        );
    }
    Ok(posted)
}

enum Pipelined {
    /// Every post's outcome, or the first post that failed (the transaction
    /// is then aborted).
    Done(Outcome),
    /// Roll back and run the batch one post at a time.
    OneByOne,
}

/// The batch in two round trips, whatever its size: every post's look-ups
/// and seq go to the server together, in queue order, then every post's
/// rows. A post one by one took two round trips of its own, and with the
/// channel row locked from the first seq to COMMIT, those trips were what a
/// busy channel waited on (BENCHMARKS, session 11).
///
/// The server runs the statements in the order they were sent, so seqs
/// follow the queue as before. What the look-ups of later posts cannot see
/// is settled here instead: the hop a post follows may be an earlier post of
/// the batch. A batch with a retry (its seq is given back, which would leave
/// the later seqs of the channel one too high) or one `client_msg_id` twice
/// goes one by one.
async fn pipelined(tx: &Transaction<'_>, jobs: &[Job]) -> Pipelined {
    let mut keys = HashSet::new();
    let twice = jobs.iter().any(|job| {
        let m = &job.message;
        m.client_msg_id
            .as_deref()
            .is_some_and(|id| !keys.insert((m.author_id.as_str(), id)))
    });
    if twice {
        return Pipelined::OneByOne;
    }
    if messages::prepare_look(tx).await.is_err() {
        // No post's fault: one by one, each gets whatever is wrong.
        return Pipelined::OneByOne;
    }
    // Polled in order, so sent in order (checked below).
    let looked = join_all(jobs.iter().map(|job| messages::look(tx, &job.message))).await;
    let mut steps = Vec::with_capacity(jobs.len());
    let mut failed = Vec::new();
    for (index, looked) in looked.into_iter().enumerate() {
        match looked {
            Ok(messages::Looked::New { seq, previous }) => steps.push((seq, previous)),
            Ok(messages::Looked::Earlier { .. }) => return Pipelined::OneByOne,
            Err(e) => failed.push((index, e)),
        }
    }
    if let Some(failure) = blame(failed) {
        return Pipelined::Done(Err(failure));
    }
    // Seqs in queue order within each channel, or the statements did not go
    // out in order: then trust nothing of this try.
    let mut last_seq: HashMap<&str, u64> = HashMap::new();
    for (job, (seq, _)) in jobs.iter().zip(&steps) {
        let last = last_seq.entry(job.message.channel_id.as_str()).or_default();
        if *seq <= *last {
            tracing::warn!("a pipelined post batch took seqs out of order; running it one by one");
            return Pipelined::OneByOne;
        }
        *last = *seq;
    }
    let mut chain = HopChain::default();
    let mut writes = Vec::with_capacity(jobs.len());
    for (index, (job, (seq, previous))) in jobs.iter().zip(steps).enumerate() {
        let previous = match previous {
            Ok(previous) => chain.previous(&job.message, previous),
            Err(e) => return Pipelined::Done(Err((index, e))),
        };
        chain.add(&job.message, next_hop(job.message.author_kind, previous));
        writes.push(messages::write(tx, job.message.clone(), seq, previous));
    }
    let mut posted = Vec::with_capacity(jobs.len());
    let mut failed = Vec::new();
    for (index, written) in join_all(writes).await.into_iter().enumerate() {
        match written {
            Ok(p) => posted.push(p),
            Err(e) => failed.push((index, e)),
        }
    }
    match blame(failed) {
        Some(failure) => Pipelined::Done(Err(failure)),
        None => Pipelined::Done(Ok(posted)),
    }
}

/// The post to blame for a failed pipelined step: the first whose own
/// statement failed. Statements sent after a failure are refused as
/// "transaction aborted", whichever post they belong to.
fn blame(mut failed: Vec<(usize, Error)>) -> Option<(usize, Error)> {
    let own = failed.iter().position(|(_, e)| !e.is_aborted_transaction());
    match own {
        Some(at) => Some(failed.swap_remove(at)),
        None => failed.into_iter().next(),
    }
}

/// The hops of the batch's earlier posts, which its later posts' look-ups ran
/// too early to see: the newest top-level hop per channel and the newest
/// reply hop per thread.
#[derive(Default)]
struct HopChain {
    top_level: HashMap<String, u32>,
    replies: HashMap<String, u32>,
}

impl HopChain {
    fn previous(&self, m: &NewMessage, looked_up: Option<u32>) -> Option<u32> {
        let earlier = match &m.thread_id {
            None => self.top_level.get(m.channel_id.as_str()),
            Some(root) => self.replies.get(root.as_str()),
        };
        earlier.copied().or(looked_up)
    }

    fn add(&mut self, m: &NewMessage, hop: u32) {
        match &m.thread_id {
            None => self.top_level.insert(m.channel_id.as_str().to_owned(), hop),
            Some(root) => self.replies.insert(root.as_str().to_owned(), hop),
        };
    }
}

fn fail_all(jobs: Vec<Job>, e: &StoreError) {
    for job in jobs {
        let _ = job.reply.send(Err(e.clone()));
    }
}
