//! The shared Store conformance suite, run against PostgreSQL: each test gets
//! a schema of its own on `OCTO_TEST_POSTGRES` (default
//! postgres://postgres@127.0.0.1:5432/test), dropped afterwards.

use octo_store::conformance::Fixture;
use octo_store_postgres::testing::TempSchema;
use std::sync::Arc;

async fn postgres() -> Fixture {
    let schema = TempSchema::new();
    let store = schema.open_for_tests().await;
    Fixture::new(Arc::new(store), schema)
}

octo_store::conformance_tests!(postgres());
