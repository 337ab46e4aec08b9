//! Octo's embedded storage: SQLite in WAL mode behind one group-committing
//! writer thread and a small pool of read connections.
//!
//! Every write is a job run by the writer inside a batch transaction and is
//! acknowledged only after the batch commits. With the default
//! `synchronous=FULL` the commit is fsynced, so an answer means "durable";
//! [`Synchronous::Normal`] trades that for speed (see there). Reads run on
//! read-only connections in blocking threads and see every acknowledged write.
#![forbid(unsafe_code)]

mod audit;
mod channels;
mod checkpoint;
mod deliveries;
mod error;
mod events;
mod files;
mod groupmd;
mod leases;
mod members;
mod messages;
mod migrate;
mod orgs;
mod overrides;
mod principals;
mod proposals;
mod reactions;
mod read_pool;
mod rows;
mod search;
mod search_index;
mod secrets;
mod spaces;
mod store;
mod streams;
mod tokens;
mod triggers;
mod webhooks;
mod writer;

use error::Res;
use octo_store::StoreError;
use read_pool::ReadPool;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;
use writer::Job;

/// When a commit reaches the disk: SQLite's `synchronous` in WAL mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `FULL`: every (group) commit is fsynced before it is acknowledged; an
    /// acknowledged write survives a power loss.
    #[default]
    Full,
    /// `NORMAL`: commits go to the WAL without an fsync (the WAL is fsynced
    /// at checkpoints). A crash of the process loses nothing acknowledged; a
    /// power loss or OS crash may lose the last commits (the database stays
    /// consistent).
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// How the store runs.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Most writes committed in one transaction (1 = a transaction per write).
    pub max_batch: usize,
    /// Read-only connections, i.e. how many reads run at once.
    pub read_connections: usize,
    /// Whether a commit waits for an fsync.
    pub synchronous: Synchronous,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            max_batch: 512,
            read_connections: 4,
            synchronous: Synchronous::Full,
        }
    }
}

/// The file the store keeps in its data directory.
pub const DB_FILE: &str = "octo.db";

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    /// `None` once closed: new writes are refused.
    jobs: Mutex<Option<Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    checkpointer: Mutex<Option<checkpoint::Checkpointer>>,
    reads: ReadPool,
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/octo.db`, migrates it, and starts the writer.
    pub async fn open(dir: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let path = dir.join(DB_FILE);
        tokio::task::spawn_blocking(move || Self::open_blocking(&path, options))
            .await
            .map_err(|e| StoreError::Backend(format!("opening the database failed: {e}")))?
    }

    fn open_blocking(path: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let mut write = Connection::open(path).map_err(error::Error::from)?;
        configure(&write, Some(options.synchronous))?;
        migrate::migrate(&mut write)?;
        let mut readers = Vec::new();
        for _ in 0..options.read_connections.max(1) {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags).map_err(error::Error::from)?;
            configure(&conn, None)?;
            readers.push(conn);
        }
        let checkpointer = checkpoint::Checkpointer::start(path, options.synchronous)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let max_batch = options.max_batch;
        let handle = std::thread::Builder::new()
            .name("octo-sqlite-writer".into())
            .spawn(move || {
                let chore = writer::Chore {
                    every: search_index::EVERY,
                    work: |c| search_index::catch_up(c).map(drop),
                };
                writer::run(write, rx, max_batch, Some(chore))
            })
            .map_err(|e| StoreError::Backend(format!("could not start the writer thread: {e}")))?;
        Ok(SqliteStore {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some(checkpointer)),
            reads: ReadPool::new(readers),
        })
    }

    /// Stops taking writes, lets every queued write commit and answer,
    /// checkpoints the WAL and waits for the writer thread to end.
    pub async fn close(&self) {
        // First, so that the writer's final checkpoint runs alone.
        let checkpointer = self.checkpointer.lock().ok().and_then(|mut c| c.take());
        if let Some(checkpointer) = checkpointer {
            let _ = tokio::task::spawn_blocking(move || checkpointer.stop()).await;
        }
        // Dropping the only sender ends the writer's loop once the queue is empty.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let joined = tokio::task::spawn_blocking(move || handle.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the sqlite writer thread did not end cleanly");
            }
        }
    }

    /// Runs `f` on the writer inside the current batch's transaction; answers
    /// after commit.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Res<T> + Send + 'static,
    {
        let (job, reply) = writer::job(f);
        self.queue(job)?;
        reply.await.map_err(writer::lost)?
    }

    /// [`SqliteStore::write`] for work that can be run again after a rollback
    /// (it reads and writes nothing but the database and what it captured):
    /// such jobs share a batch without a savepoint each (see `writer`).
    pub(crate) async fn write_rerunnable<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Res<T> + Send + 'static,
    {
        let (job, reply) = writer::job_rerunnable(f);
        self.queue(job)?;
        reply.await.map_err(writer::lost)?
    }

    /// Hands a job to the writer, synchronously: writes queued by one task
    /// reach the writer in the order they were called.
    fn queue(&self, job: Job) -> Result<(), StoreError> {
        let jobs = self
            .jobs
            .lock()
            .map_err(|_| StoreError::Backend("writer queue poisoned".into()))?;
        let sender = jobs.as_ref().ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)
    }

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Res<T> + Send + 'static,
    {
        self.reads.read(f).await
    }
}

/// `writer`: the writer's `synchronous`; `None` for a read connection.
fn configure(conn: &Connection, writer: Option<Synchronous>) -> Res<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if let Some(sync) = writer {
        // WAL lets readers run beside the writer; FULL makes a commit durable.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(error::corrupt("journal mode (WAL refused)", &mode));
        }
        conn.pragma_update(None, "synchronous", sync.pragma())?;
        // A batch's savepoints journal the pages they change; past 64 KiB
        // that journal spills to a temp file, opened and unlinked per batch,
        // unless temp storage is memory.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // The checkpointer thread keeps the WAL short; the writer checkpoints
        // (inside a commit, fsyncs included) only if it falls far behind.
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpoint::WRITER_BACKSTOP_PAGES,
        )?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer's `PRAGMA synchronous` (1 = NORMAL, 2 = FULL).
    async fn writer_synchronous(store: &SqliteStore) -> i64 {
        store
            .write(|c| Ok(c.pragma_query_value(None, "synchronous", |r| r.get(0))?))
            .await
            .expect("pragma")
    }

    #[tokio::test]
    async fn the_writer_commits_as_configured() {
        let dir = tempfile::tempdir().expect("dir");
        let full = SqliteStore::open(dir.path(), SqliteOptions::default())
            .await
            .expect("open");
        assert_eq!(writer_synchronous(&full).await, 2, "FULL by default");
        full.close().await;
        let options = SqliteOptions {
            synchronous: Synchronous::Normal,
            ..SqliteOptions::default()
        };
        let normal = SqliteStore::open(dir.path(), options)
            .await
            .expect("reopen");
        assert_eq!(writer_synchronous(&normal).await, 1, "NORMAL when asked");
        normal.close().await;
    }
}
