//! The one writer: a thread that owns the write connection and group-commits.
//!
//! Jobs arrive on a channel. The thread blocks for the first, drains whatever
//! else is queued (up to `max_batch`), runs them all in one `BEGIN IMMEDIATE`
//! transaction so that a failing job only undoes itself (a job alone in its
//! batch needs nothing more: a rollback undoes just it), commits once, and only
//! then replies to every caller: an acknowledgement means the write is
//! durable. When every sender is gone (the store was closed or dropped) it
//! finishes the queue, checkpoints and exits.
//!
//! How a failing job is kept to itself depends on the job. One that may run
//! only once gets a SAVEPOINT of its own. That costs a copy of every page it
//! touches into the savepoint journal, which for a message post was a tenth of
//! the server's CPU. So a job that can be run again ([`job_rerunnable`]: it
//! depends only on the database and its own inputs) shares one savepoint with
//! its re-runnable neighbours, or none at the start of the transaction, and if
//! any of them fails they are all rolled back and run again one savepoint
//! each. Failures are rare (an unknown thread, a missing channel), so the
//! common batch pays for no savepoint at all.

use crate::error::Res;
use octo_store::StoreError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A unit of work run on the writer connection, inside the batch's
/// transaction, and answered once the batch's fate is known.
pub(crate) trait Work: Send {
    /// Runs in the current transaction; false if it failed (its outcome says
    /// why). Called again only if [`Work::rerunnable`], after the effects of
    /// the earlier run were rolled back: the new outcome replaces the old.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Whether [`Work::run`] may be called more than once.
    fn rerunnable(&self) -> bool;
    /// Answers the caller: the last run's outcome if the batch committed, the
    /// commit's error if not.
    fn reply(self: Box<Self>, commit: Result<(), String>);
}

pub(crate) type Job = Box<dyn Work>;

/// Runs `f` once, inside the batch's transaction; the outcome arrives on the
/// returned receiver after commit.
pub(crate) fn job<T, F>(f: F) -> (Job, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Res<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let mut f = Some(f);
    let run = move |conn: &Connection| match f.take() {
        Some(f) => f(conn),
        None => Err(StoreError::Backend("a write job was run twice".into()).into()),
    };
    let task = Task {
        run,
        rerunnable: false,
        outcome: None,
        tx,
    };
    (Box::new(task), rx)
}

/// Like [`job`], for work that may be run again after a rollback (see the
/// module docs): `f` must depend on nothing but the connection and what it
/// captured, and change nothing outside the database.
pub(crate) fn job_rerunnable<T, F>(f: F) -> (Job, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnMut(&Connection) -> Res<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let task = Task {
        run: f,
        rerunnable: true,
        outcome: None,
        tx,
    };
    (Box::new(task), rx)
}

struct Task<T, F> {
    run: F,
    rerunnable: bool,
    /// The last run's outcome; `None` if it never ran (its batch failed first).
    outcome: Option<Result<T, StoreError>>,
    tx: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Work for Task<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection) -> Res<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        // A panicking job must not take the writer (and every later write) down.
        let outcome = match catch_unwind(AssertUnwindSafe(|| (self.run)(conn))) {
            Ok(r) => r.map_err(StoreError::from),
            Err(_) => Err(StoreError::Backend("a write job panicked".into())),
        };
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn rerunnable(&self) -> bool {
        self.rerunnable
    }

    fn reply(self: Box<Self>, commit: Result<(), String>) {
        let outcome = match (commit, self.outcome) {
            (Err(msg), _) => Err(StoreError::Backend(msg)),
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(StoreError::Backend("not run: its batch failed".into())),
        };
        // The caller may have gone away (cancelled request); the write stands.
        let _ = self.tx.send(outcome);
    }
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
                    run_batch(&conn, &mut batch);
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
fn run_alone(conn: &Connection, mut job: Job) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "could not begin a transaction");
        job.reply(Err(format!("could not begin a transaction: {e}")));
        return;
    }
    let outcome = if job.run(conn) {
        exec(conn, "COMMIT").map_err(|e| format!("commit failed: {e}"))
    } else {
        // The reply carries the job's own error; nothing else was in the
        // transaction.
        Ok(())
    };
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "write failed");
    }
    job.reply(outcome);
}

fn run_batch(conn: &Connection, batch: &mut Vec<Job>) {
    let mut failure = exec(conn, "BEGIN IMMEDIATE")
        .err()
        .map(|e| format!("could not begin a transaction: {e}"));
    let mut start = 0;
    while start < batch.len() && failure.is_none() {
        let group = batch[start..]
            .iter()
            .take_while(|job| job.rerunnable())
            .count();
        let end = start + group.max(1);
        let ran = if group > 1 {
            run_group(conn, &mut batch[start..end], start == 0)
        } else {
            run_in_savepoint(conn, &mut batch[start])
        };
        failure = ran.err();
        start = end;
    }
    // Jobs after a failure never ran; they are answered with it.
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
    for job in batch.drain(..) {
        job.reply(outcome.clone());
    }
}

/// Runs re-runnable jobs side by side under one savepoint, or under none when
/// they open the transaction (a rollback then undoes just them). If one fails,
/// all of them are undone and run again, a savepoint each, so that only the
/// failing one is left out. An `Err` poisons the whole batch.
fn run_group(conn: &Connection, jobs: &mut [Job], opens_transaction: bool) -> Result<(), String> {
    if !opens_transaction {
        exec(conn, "SAVEPOINT jobs").map_err(|e| format!("savepoint failed: {e}"))?;
    }
    let mut all_ran = true;
    for job in jobs.iter_mut() {
        if !job.run(conn) {
            all_ran = false;
            break;
        }
        if conn.is_autocommit() {
            return Err("a write job ended the batch's transaction".into());
        }
    }
    let undone = if all_ran && opens_transaction {
        return Ok(());
    } else if all_ran {
        return exec(conn, "RELEASE jobs").map_err(|e| format!("savepoint release failed: {e}"));
    } else if opens_transaction {
        conn.execute_batch("ROLLBACK; BEGIN IMMEDIATE")
    } else {
        conn.execute_batch("ROLLBACK TO jobs; RELEASE jobs")
    };
    undone.map_err(|e| format!("could not undo a failed job: {e}"))?;
    for job in jobs.iter_mut() {
        run_in_savepoint(conn, job)?;
    }
    Ok(())
}

/// Runs one job in its own savepoint. An `Err` means the savepoint machinery
/// itself failed (or the job ended the transaction), which poisons the whole
/// batch.
fn run_in_savepoint(conn: &Connection, job: &mut Job) -> Result<(), String> {
    exec(conn, "SAVEPOINT job").map_err(|e| format!("savepoint failed: {e}"))?;
    let end = if job.run(conn) {
        exec(conn, "RELEASE job")
    } else {
        conn.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    end.map_err(|e| format!("savepoint release failed: {e}"))
}

/// Turns a dropped reply (writer gone mid-batch) into an error for the caller.
pub(crate) fn lost(_: oneshot::error::RecvError) -> StoreError {
    StoreError::Backend("the writer stopped before answering".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
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

    /// A re-runnable insert that counts its runs.
    fn insert_again(
        v: i64,
        runs: &Arc<AtomicUsize>,
    ) -> impl FnMut(&Connection) -> Res<i64> + Send + 'static {
        let runs = runs.clone();
        move |c: &Connection| {
            runs.fetch_add(1, Ordering::SeqCst);
            c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(v)
        }
    }

    /// Re-runnable jobs share the batch without savepoints; one that fails
    /// (here a duplicate) has every job of its group undone and run again, so
    /// that only it is left out, whether the group opens the transaction or
    /// follows a job that may run only once.
    #[test]
    fn a_failing_rerunnable_job_only_undoes_itself() {
        for after_a_once_job in [false, true] {
            let (_dir, conn) = db();
            let runs = Arc::new(AtomicUsize::new(0));
            let mut jobs = Vec::new();
            let mut replies = Vec::new();
            if after_a_once_job {
                let (j, r) = job(insert(100));
                jobs.push(j);
                replies.push(r);
            }
            for v in [1, 2, 1, 3] {
                let (j, r) = job_rerunnable(insert_again(v, &runs));
                jobs.push(j);
                replies.push(r);
            }
            let conn = run_one_batch(conn, jobs);
            let outcomes: Vec<_> = replies
                .into_iter()
                .map(|r| r.blocking_recv().unwrap())
                .collect();
            let (first, rest) = outcomes.split_at(usize::from(after_a_once_job));
            assert!(first.iter().all(|o| matches!(o, Ok(100))), "{first:?}");
            assert!(matches!(rest[0], Ok(1)), "{rest:?}");
            assert!(matches!(rest[1], Ok(2)), "{rest:?}");
            assert!(matches!(rest[2], Err(StoreError::Conflict(_))), "{rest:?}");
            assert!(matches!(rest[3], Ok(3)), "{rest:?}");
            let mut expected = vec![1, 2, 3];
            if after_a_once_job {
                expected.push(100);
            }
            assert_eq!(values(&conn), expected);
            // Three ran until the duplicate failed; then all four, one by one.
            assert_eq!(runs.load(Ordering::SeqCst), 3 + 4);
        }
    }

    /// Without a failure, re-runnable jobs run once each.
    #[test]
    fn rerunnable_jobs_that_succeed_run_once() {
        let (_dir, conn) = db();
        let runs = Arc::new(AtomicUsize::new(0));
        let (jobs, replies): (Vec<_>, Vec<_>) = (1..=5)
            .map(|v| job_rerunnable(insert_again(v, &runs)))
            .unzip();
        let conn = run_one_batch(conn, jobs);
        for (v, r) in (1..=5).zip(replies) {
            assert_eq!(r.blocking_recv().unwrap().unwrap(), v);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 5);
        assert_eq!(values(&conn), vec![1, 2, 3, 4, 5]);
    }

    /// Either kind of job, from the same closure.
    fn either<T, F>(rerunnable: bool, f: F) -> (Job, oneshot::Receiver<Result<T, StoreError>>)
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Res<T> + Send + 'static,
    {
        if rerunnable {
            job_rerunnable(f)
        } else {
            job(f)
        }
    }

    /// A job of either kind that ends the transaction breaks the batch:
    /// nothing of it is committed, not even what ran after it.
    #[test]
    fn a_job_that_ends_the_transaction_fails_the_whole_batch() {
        for rerunnable in [false, true] {
            let (_dir, conn) = db();
            let runs = Arc::new(AtomicUsize::new(0));
            let (j1, r1) = either(rerunnable, insert_again(1, &runs));
            let (j2, r2) = either(rerunnable, |c: &Connection| -> Res<()> {
                Ok(c.execute_batch("ROLLBACK")?)
            });
            let (j3, r3) = either(rerunnable, insert_again(3, &runs));
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
    }

    /// A panicking re-runnable job is refused; its neighbours commit.
    #[test]
    fn a_panicking_rerunnable_job_is_refused_alone() {
        let (_dir, conn) = db();
        let runs = Arc::new(AtomicUsize::new(0));
        let (j1, r1) = job_rerunnable(insert_again(1, &runs));
        let (j2, r2) = job_rerunnable(|_: &Connection| -> Res<()> { panic!("boom") });
        let (j3, r3) = job_rerunnable(insert_again(3, &runs));
        let conn = run_one_batch(conn, vec![j1, j2, j3]);
        assert_eq!(r1.blocking_recv().unwrap().unwrap(), 1);
        assert!(matches!(
            r2.blocking_recv().unwrap(),
            Err(StoreError::Backend(_))
        ));
        assert_eq!(r3.blocking_recv().unwrap().unwrap(), 3);
        assert_eq!(values(&conn), vec![1, 3]);
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
