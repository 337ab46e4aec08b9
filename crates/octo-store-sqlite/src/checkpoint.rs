//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000
//! WAL pages, on the one writer thread: that commit (and every write queued
//! behind it) waits for the copy into the database file and its fsyncs. Here
//! a thread of its own runs `PRAGMA wal_checkpoint(PASSIVE)` a few times a
//! second on its own connection; a passive checkpoint never blocks the writer
//! or the readers. The writer keeps a far larger automatic threshold as a
//! backstop should this thread fall behind.

use crate::error::Error;
use crate::{BUSY_TIMEOUT, Synchronous};
use octo_store::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the thread checkpoints (a no-op when nothing was written).
/// Under steady writes a passive checkpoint never catches up with the last
/// frames, so the WAL grows to the writer's backstop and the writer copies
/// whatever this thread has not: the more often this runs, the less that is
/// (BENCHMARKS, session 11: 200 ms left the writer 7 % of its time in it).
const EVERY: Duration = Duration::from_millis(50);

/// The writer's own `wal_autocheckpoint` (pages of 4 KiB): only reached if
/// the checkpointer cannot keep up (10x SQLite's default).
pub(crate) const WRITER_BACKSTOP_PAGES: i64 = 10_000;

pub(crate) struct Checkpointer {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path, sync: Synchronous) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(Error::from)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(Error::from)?;
        // The checkpoint's fsyncs follow the store's setting.
        conn.pragma_update(None, "synchronous", sync.pragma())
            .map_err(Error::from)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("octo-sqlite-checkpoint".into())
            .spawn(move || {
                // Ends when told to, or when the store (the sender) is gone.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                    }
                }
            })
            .map_err(|e| {
                StoreError::Backend(format!("could not start the checkpoint thread: {e}"))
            })?;
        Ok(Self { stop, thread })
    }

    /// Stops the thread and waits for it (at most one checkpoint's time).
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            tracing::error!("the sqlite checkpoint thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DB_FILE, SqliteOptions, SqliteStore};
    use rusqlite::{Connection, OpenFlags};
    use std::time::{Duration, Instant};

    /// Rows of `t` in the database file itself, ignoring the WAL.
    fn rows_in_main_file(path: &std::path::Path) -> i64 {
        let uri = format!("file:{}?immutable=1", path.display());
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        Connection::open_with_flags(uri, flags)
            .and_then(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn committed_writes_reach_the_database_file_while_the_store_runs() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(dir.path(), SqliteOptions::default())
            .await
            .expect("open");
        store
            .write(|c| Ok(c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")?))
            .await
            .expect("create");
        for v in 0..50 {
            store
                .write(move |c| Ok(c.execute("INSERT INTO t (v) VALUES (?1)", [v])?))
                .await
                .expect("insert");
        }
        // Far below the writer's own checkpoint threshold: only the
        // checkpointer copies these into the file. Bounded wait.
        let path = dir.path().join(DB_FILE);
        let deadline = Instant::now() + Duration::from_secs(10);
        while rows_in_main_file(&path) < 50 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(rows_in_main_file(&path), 50, "checkpointed before close");
        store.close().await;
    }
}
