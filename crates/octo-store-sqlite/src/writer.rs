//! The one writer: a thread that owns the write connection and group-commits.
//!
//! Jobs arrive on a channel. The thread blocks for the first, drains whatever
//! else is queued (up to `max_batch`), runs them all in one `BEGIN IMMEDIATE`
//! transaction, each inside its own SAVEPOINT so a failing job only undoes
//! itself, commits once, and only then replies to every caller: an
//! acknowledgement means the write is durable. When every sender is gone (the
//! store was closed or dropped) it finishes the queue, checkpoints and exits.

use crate::error::Res;
use octo_store::StoreError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, TryRecvError};
use tokio::sync::oneshot;

/// Delivers a job's outcome once the batch's fate is known: `Ok` if it
/// committed, else the commit's error text.
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A unit of work run on the writer connection, inside the batch's transaction.
/// Returns whether it succeeded (so the writer knows whether to keep its
/// savepoint) and how to reply. Given `None`, it does not run: the batch has
/// already failed and the job only needs its reply.
pub(crate) type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Reply) + Send>;

/// Wraps a typed closure as a [`Job`] whose result arrives on the returned
/// receiver after commit.
pub(crate) fn job<T, F>(f: F) -> (Job, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Res<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |conn: Option<&Connection>| {
        // A panicking job must not take the writer (and every later write) down.
        let result: Result<T, StoreError> = match conn {
            None => Err(StoreError::Backend("not run: its batch failed".into())),
            Some(conn) => match catch_unwind(AssertUnwindSafe(|| f(conn))) {
                Ok(r) => r.map_err(StoreError::from),
                Err(_) => Err(StoreError::Backend("a write job panicked".into())),
            },
        };
        let ok = result.is_ok();
        let reply: Reply = Box::new(move |commit: Result<(), String>| {
            let outcome = match commit {
                Ok(()) => result,
                Err(msg) => Err(StoreError::Backend(msg)),
            };
            // The caller may have gone away (cancelled request); the write stands.
            let _ = tx.send(outcome);
        });
        (ok, reply)
    });
    (job, rx)
}

/// The writer thread's body.
pub(crate) fn run(conn: Connection, jobs: Receiver<Job>, max_batch: usize) {
    let max_batch = max_batch.max(1);
    let mut batch = Vec::with_capacity(max_batch);
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        run_batch(&conn, batch.drain(..));
    }
    // Fold the WAL back into the main file so a closed database is one file.
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
        tracing::warn!(error = %e, "final WAL checkpoint failed");
    }
}

fn run_batch(conn: &Connection, batch: impl Iterator<Item = Job>) {
    let mut replies = Vec::new();
    let mut failure: Option<String> = None;
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        failure = Some(format!("could not begin a transaction: {e}"));
    }
    for job in batch {
        if failure.is_some() {
            // The transaction is unusable; the job is answered with the failure.
            replies.push(job(None).1);
            continue;
        }
        match run_in_savepoint(conn, job) {
            Ok(reply) => replies.push(reply),
            Err((reply, e)) => {
                replies.push(reply);
                failure = Some(e);
            }
        }
    }
    let outcome = match failure {
        None => conn.execute_batch("COMMIT").map_err(|e| format!("commit failed: {e}")),
        Some(e) => Err(e),
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "write batch failed; every job in it is refused");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    for reply in replies {
        reply(outcome.clone());
    }
}

/// Runs one job in its own savepoint. An `Err` means the savepoint machinery
/// itself failed, which poisons the whole batch.
fn run_in_savepoint(conn: &Connection, job: Job) -> Result<Reply, (Reply, String)> {
    if let Err(e) = conn.execute_batch("SAVEPOINT job") {
        return Err((job(None).1, format!("savepoint failed: {e}")));
    }
    let (ok, reply) = job(Some(conn));
    let end = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
    match conn.execute_batch(end) {
        Ok(()) => Ok(reply),
        Err(e) => Err((reply, format!("savepoint release failed: {e}"))),
    }
}

/// Turns a dropped reply (writer gone mid-batch) into an error for the caller.
pub(crate) fn lost(_: oneshot::error::RecvError) -> StoreError {
    StoreError::Backend("the writer stopped before answering".into())
}
