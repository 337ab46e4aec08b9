//! The shared Store conformance suite, run against PostgreSQL: each test gets
//! a schema of its own on `OCTO_TEST_POSTGRES` (default
//! postgres://postgres@127.0.0.1:5432/test), dropped afterwards.

use octo_store::conformance::Fixture;
use octo_store_postgres::PgOptions;
use octo_store_postgres::testing::{TempSchema, test_url};
use std::sync::Arc;

async fn postgres() -> Fixture {
    let schema = TempSchema::new();
    let store = schema
        .open(PgOptions {
            max_connections: 8,
            ..PgOptions::default()
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} is needed for these tests (set OCTO_TEST_POSTGRES): {e}",
                test_url()
            )
        });
    Fixture::new(Arc::new(store), schema)
}

octo_store::conformance_tests!(postgres());
