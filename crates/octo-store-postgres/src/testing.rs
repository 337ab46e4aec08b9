//! A throwaway schema per test, so tests run in parallel against one
//! database and leave nothing behind.

use crate::{PgOptions, PgStore};
use octo_store::StoreError;

/// Where tests find PostgreSQL unless `OCTO_TEST_POSTGRES` says otherwise.
pub const DEFAULT_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test database URL: `OCTO_TEST_POSTGRES`, else [`DEFAULT_TEST_URL`].
pub fn test_url() -> String {
    std::env::var("OCTO_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_TEST_URL.to_owned())
}

/// Drops its schema (and everything in it) when dropped.
pub struct TempSchema {
    url: String,
    pub name: String,
}

impl TempSchema {
    /// A fresh, unique schema name on the test database (created by the
    /// store's migration when it opens).
    pub fn new() -> TempSchema {
        let mut bytes = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        TempSchema {
            url: test_url(),
            name: format!("octo_test_{suffix}"),
        }
    }

    /// A store on this schema.
    pub async fn open(&self, options: PgOptions) -> Result<PgStore, StoreError> {
        PgStore::open(
            &self.url,
            PgOptions {
                schema: Some(self.name.clone()),
                ..options
            },
        )
        .await
    }

    /// A store on this schema with 8 connections, as the tests use it; panics
    /// saying which PostgreSQL is needed when it cannot be reached.
    pub async fn open_for_tests(&self) -> PgStore {
        let options = PgOptions {
            max_connections: 8,
            ..PgOptions::default()
        };
        self.open(options).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} is needed for these tests (set OCTO_TEST_POSTGRES): {e}",
                test_url()
            )
        })
    }
}

impl Default for TempSchema {
    fn default() -> Self {
        TempSchema::new()
    }
}

impl Drop for TempSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop may run inside a runtime, which must not block on another:
        // the cleanup gets a thread and a small runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                else {
                    return;
                };
                let conn = tokio::spawn(conn);
                let dropped = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await;
                if let Err(e) = dropped {
                    eprintln!("could not drop test schema {name}: {e}");
                }
                drop(client);
                let _ = conn.await;
            });
        });
        let _ = cleanup.join();
    }
}
