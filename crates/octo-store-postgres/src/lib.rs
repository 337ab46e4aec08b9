//! Octo's scale-out storage: PostgreSQL, shared by any number of identical
//! nodes.
//!
//! Every write runs in one READ COMMITTED transaction on a pooled connection
//! and answers after commit; posts share theirs with the posts queued beside
//! them (a group commit, see `post_batch`). A channel's seq is its row's
//! `last_seq`, bumped with `UPDATE … RETURNING` inside the append transaction:
//! the row lock is held to commit, so concurrent writers (on any node) get
//! gapless seqs in the order they commit. Races the SQLite backend rules out
//! with its single writer are ruled out here with transaction-scoped advisory
//! locks (first setup, idempotent posts, DM creation) or unique constraints.
#![forbid(unsafe_code)]

mod audit;
mod channels;
mod db;
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
mod post_batch;
mod principals;
mod proposals;
mod reactions;
mod rows;
mod search;
mod secrets;
mod spaces;
mod store;
mod streams;
mod tokens;
mod triggers;
mod webhooks;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use octo_store::StoreError;
use std::time::Duration;
use tokio_postgres::NoTls;

/// How the store connects.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections this node holds open (so at most this many queries
    /// run at once; the rest wait for a connection).
    pub max_connections: usize,
    /// The schema the tables live in (created if missing). `None` uses the
    /// connection's default (`public`). Letters, digits and `_` only.
    pub schema: Option<String>,
    /// Longest wait for a free connection before a request fails.
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            schema: None,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

pub struct PgStore {
    pool: Pool,
    posts: post_batch::PostBatcher,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`), migrates the schema
    /// (safe when several nodes start at once) and returns the store.
    pub async fn open(url: &str, options: PgOptions) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("bad PostgreSQL URL: {e}")))?;
        if let Some(schema) = &options.schema {
            if schema.is_empty()
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::Backend(format!(
                    "bad schema name {schema:?}: letters, digits and _ only"
                )));
            }
            // Unqualified names resolve here and only here: Octo uses no
            // extension, and a stray copy of its tables in `public` (another
            // deployment's, an old run's) must never answer for this one.
            config.options(format!("-c search_path={schema}"));
        }
        config.application_name("octo");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .wait_timeout(Some(options.acquire_timeout))
            .create_timeout(Some(options.acquire_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("could not build the pool: {e}")))?;
        {
            let mut client = pooled(&pool).await?;
            migrate::migrate(&mut client, options.schema.as_deref()).await?;
        }
        let posts = post_batch::PostBatcher::start(pool.clone());
        Ok(PgStore { pool, posts })
    }

    /// A pooled connection; Closed once the store is closed.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        pooled(&self.pool).await
    }

    /// Refuses new work; connections close as their current query ends, and
    /// posts still queued for a group commit are answered Closed.
    pub fn close(&self) {
        self.posts.close();
        self.pool.close();
    }
}

/// A connection from `pool`; Closed once the pool is closed.
async fn pooled(pool: &Pool) -> Result<deadpool_postgres::Client, StoreError> {
    if pool.is_closed() {
        return Err(StoreError::Closed);
    }
    pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Closed => StoreError::Closed,
        e => {
            tracing::error!(error = %e, "no PostgreSQL connection");
            StoreError::Backend(format!("no database connection: {e}"))
        }
    })
}

/// Helpers for tests (in this crate and in others) that need a PostgreSQL
/// store of their own.
pub mod testing;
