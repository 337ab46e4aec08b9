//! The shared Store conformance suite, run against SQLite.

use octo_store::conformance::Fixture;
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use std::sync::Arc;

/// A fresh store in its own temp dir; the dir lives as long as the fixture.
async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path(), SqliteOptions::default())
        .await
        .expect("open store");
    Fixture::new(Arc::new(store), dir)
}

octo_store::conformance_tests!(sqlite());
