//! The one writer: a thread that owns the write connection and group-commits.
//!
//! Jobs arrive on a channel. The thread blocks for the first, drains whatever
//! else is queued (up to `max_batch`), runs them all in one `BEGIN IMMEDIATE`
//! transaction, each inside its own SAVEPOINT so a failing job only undoes
//! itself (a job alone in its batch needs none: a rollback undoes just it),
//! commits once, and only then replies to every caller: an
//! acknowledgement means the write is durable. When every sender is gone (the
//! store was closed or dropped) it finishes the queue, checkpoints and exits.

use crate::error::Res;
use octo_store::StoreError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};
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

/// Work the writer does on its own behalf, in a transaction of its own: every
/// `every` while it is busy or idle, and once more before it exits.
pub(crate) struct Chore {
    pub every: Duration,
    pub work: fn(&Connection) -> Res<()>,
}

/// The writer thread's body.
pub(crate) fn run(conn: Connection, jobs: Receiver<Job>, max_batch: usize, chore: Option<Chore>) {
    let max_batch = max_batch.max(1);
    let mut batch = Vec::with_capacity(max_batch);
    let mut last_chore = Instant::now();
    loop {
        let first = match &chore {
            None => jobs.recv().ok(),
            Some(c) => match jobs.recv_timeout(c.every) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        match first {
            Some(first) => {
                batch.push(first);
                while batch.len() < max_batch {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                    }
                }
                if batch.len() == 1 {
                    if let Some(job) = batch.pop() {
                        run_alone(&conn, job);
                    }
                } else {
                    run_batch(&conn, batch.drain(..));
                }
            }
            None if chore.is_none() => break,
            None => {}
        }
        if let Some(c) = &chore
            && last_chore.elapsed() >= c.every
        {
            run_chore(&conn, c);
            last_chore = Instant::now();
        }
    }
    if let Some(c) = &chore {
        run_chore(&conn, c);
    }
    // Fold the WAL back into the main file so a closed database is one file.
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
        tracing::warn!(error = %e, "final WAL checkpoint failed");
    }
}

/// A deferred transaction: a chore with nothing to do only reads.
fn run_chore(conn: &Connection, chore: &Chore) {
    let done = exec(conn, "BEGIN")
        .map_err(crate::error::Error::from)
        .and_then(|()| (chore.work)(conn))
        .and_then(|()| exec(conn, "COMMIT").map_err(Into::into));
    if let Err(e) = done {
        let e = StoreError::from(e);
        tracing::warn!(error = %e, "the writer's own work failed; it will try again");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

/// Runs one statement that takes no parameters and returns no rows, prepared
/// once per connection (these run several times per commit).
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// A batch of one needs no savepoint: if the job fails, rolling back the
/// transaction undoes exactly that job. (A savepoint also makes FTS5 flush its
/// pending index data at each release.)
fn run_alone(conn: &Connection, job: Job) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        let reply = job(None).1;
        tracing::error!(error = %e, "could not begin a transaction");
        reply(Err(format!("could not begin a transaction: {e}")));
        return;
    }
    let (ok, reply) = job(Some(conn));
    let outcome = if ok {
        exec(conn, "COMMIT").map_err(|e| format!("commit failed: {e}"))
    } else {
        // The reply carries the job's own error; nothing else was in the
        // transaction.
        Ok(())
    };
    if (!ok || outcome.is_err()) && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "write failed");
    }
    reply(outcome);
}

fn run_batch(conn: &Connection, batch: impl Iterator<Item = Job>) {
    let mut replies = Vec::new();
    let mut failure: Option<String> = None;
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
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
        None => exec(conn, "COMMIT").map_err(|e| format!("commit failed: {e}")),
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
    if let Err(e) = exec(conn, "SAVEPOINT job") {
        return Err((job(None).1, format!("savepoint failed: {e}")));
    }
    let (ok, reply) = job(Some(conn));
    let end = if ok {
        exec(conn, "RELEASE job")
    } else {
        conn.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    match end {
        Ok(()) => Ok(reply),
        Err(e) => Err((reply, format!("savepoint release failed: {e}"))),
    }
}

/// Turns a dropped reply (writer gone mid-batch) into an error for the caller.
pub(crate) fn lost(_: oneshot::error::RecvError) -> StoreError {
    StoreError::Backend("the writer stopped before answering".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::mpsc;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
            .unwrap();
        (dir, conn)
    }

    fn insert(v: i64) -> impl FnOnce(&Connection) -> Res<i64> + Send + 'static {
        move |c: &Connection| {
            c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(v)
        }
    }

    /// Queues every job before the writer starts, so they share one batch.
    fn run_one_batch(conn: Connection, jobs: Vec<Job>) -> Connection {
        let (tx, rx) = mpsc::channel();
        for j in jobs {
            tx.send(j).unwrap();
        }
        drop(tx);
        let path = conn.path().unwrap().to_owned();
        run(conn, rx, 512, None);
        Connection::open(path).unwrap()
    }

    fn values(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn a_failing_job_only_undoes_itself() {
        let (_dir, conn) = db();
        let (j1, r1) = job(insert(1));
        // Inserts, then fails: its insert must be rolled back.
        let (j2, r2) = job(|c: &Connection| -> Res<()> {
            c.execute("INSERT INTO t (v) VALUES (2)", [])?;
            Err(Error::Store(StoreError::Conflict("no".into())))
        });
        let (j3, r3) = job(insert(1)); // duplicate: a constraint error
        let (j4, r4) = job(insert(4));
        let (j5, r5) = job(|_: &Connection| -> Res<()> { panic!("boom") });
        let conn = run_one_batch(conn, vec![j1, j2, j3, j4, j5]);
        assert_eq!(r1.blocking_recv().unwrap().unwrap(), 1);
        assert!(matches!(
            r2.blocking_recv().unwrap(),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            r3.blocking_recv().unwrap(),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(r4.blocking_recv().unwrap().unwrap(), 4);
        assert!(matches!(
            r5.blocking_recv().unwrap(),
            Err(StoreError::Backend(_))
        ));
        assert_eq!(values(&conn), vec![1, 4]);
    }

    #[test]
    fn a_job_alone_commits_or_undoes_itself() {
        let (_dir, conn) = db();
        let (j, r) = job(insert(7));
        let conn = run_one_batch(conn, vec![j]);
        assert_eq!(r.blocking_recv().unwrap().unwrap(), 7);
        // Inserts, then fails: alone in its batch, it is still undone.
        let (j, r) = job(|c: &Connection| -> Res<()> {
            c.execute("INSERT INTO t (v) VALUES (8)", [])?;
            Err(Error::Store(StoreError::Conflict("no".into())))
        });
        let conn = run_one_batch(conn, vec![j]);
        assert!(matches!(
            r.blocking_recv().unwrap(),
            Err(StoreError::Conflict(_))
        ));
        let (j, r) = job(|_: &Connection| -> Res<()> { panic!("boom") });
        let conn = run_one_batch(conn, vec![j]);
        assert!(matches!(
            r.blocking_recv().unwrap(),
            Err(StoreError::Backend(_))
        ));
        // Ending the transaction itself: the commit fails and says so.
        let (j, r) = job(|c: &Connection| -> Res<()> {
            c.execute("INSERT INTO t (v) VALUES (9)", [])?;
            Ok(c.execute_batch("ROLLBACK")?)
        });
        let conn = run_one_batch(conn, vec![j]);
        assert!(matches!(
            r.blocking_recv().unwrap(),
            Err(StoreError::Backend(_))
        ));
        assert_eq!(values(&conn), vec![7]);
        // And the writer goes on with the next batch.
        let (j, r) = job(insert(10));
        let conn = run_one_batch(conn, vec![j]);
        assert_eq!(r.blocking_recv().unwrap().unwrap(), 10);
        assert_eq!(values(&conn), vec![7, 10]);
    }

    #[test]
    fn a_broken_transaction_fails_the_whole_batch() {
        let (_dir, conn) = db();
        let (j1, r1) = job(insert(1));
        // Ending the transaction from inside a job breaks the batch.
        let (j2, r2) = job(|c: &Connection| -> Res<()> { Ok(c.execute_batch("ROLLBACK")?) });
        let (j3, r3) = job(insert(3));
        let conn = run_one_batch(conn, vec![j1, j2, j3]);
        for r in [
            r1.blocking_recv().unwrap().map(drop),
            r2.blocking_recv().unwrap(),
            r3.blocking_recv().unwrap().map(drop),
        ] {
            assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
        }
        assert!(values(&conn).is_empty());
    }

    /// What a reader on another connection sees committed while each job runs.
    fn committed_seen_by_jobs(max_batch: usize) -> Vec<i64> {
        let (_dir, conn) = db();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        let path = conn.path().unwrap().to_owned();
        let (tx, rx) = mpsc::channel();
        let mut replies = Vec::new();
        for v in 0..6 {
            let path = path.clone();
            let (j, r) = job(move |c: &Connection| {
                c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                let reader = Connection::open(&path)?;
                Ok(reader.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
            });
            tx.send(j).unwrap();
            replies.push(r);
        }
        drop(tx);
        run(conn, rx, max_batch, None);
        replies
            .into_iter()
            .map(|r| r.blocking_recv().unwrap().unwrap())
            .collect()
    }

    #[test]
    fn queued_jobs_share_one_commit() {
        assert_eq!(committed_seen_by_jobs(512), vec![0; 6]);
    }

    #[test]
    fn max_batch_one_commits_every_job_alone() {
        assert_eq!(committed_seen_by_jobs(1), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn batches_are_capped_at_max_batch() {
        assert_eq!(committed_seen_by_jobs(4), vec![0, 0, 0, 0, 4, 4]);
    }
}
