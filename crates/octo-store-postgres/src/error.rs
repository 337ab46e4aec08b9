//! The crate's internal error: lets `?` work on tokio-postgres, serde_json and
//! StoreError alike, and maps to [`StoreError`] at the boundary.

use octo_store::StoreError;
use tokio_postgres::error::SqlState;

#[derive(Debug)]
pub(crate) enum Error {
    Store(StoreError),
    Db(tokio_postgres::Error),
    Json(serde_json::Error),
}

pub(crate) type Res<T> = Result<T, Error>;

impl Error {
    /// The answer to a statement sent after an earlier one of its transaction
    /// failed.
    pub(crate) fn is_aborted_transaction(&self) -> bool {
        matches!(self, Error::Db(e) if e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION))
    }

    /// PostgreSQL broke a lock cycle by failing this statement: nothing the
    /// statement itself did wrong, so its transaction may be run again.
    pub(crate) fn is_deadlock(&self) -> bool {
        matches!(self, Error::Db(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Db(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(e) => e,
            Error::Db(e) => from_db(e),
            Error::Json(e) => {
                tracing::error!(error = %e, "stored JSON is unreadable");
                StoreError::Backend(format!("stored JSON is unreadable: {e}"))
            }
        }
    }
}

/// Constraint failures the code did not anticipate with a precise check (or
/// lost a race on) still get the right kind: a missing referenced row is
/// NotFound, a duplicate is a Conflict. Everything else is the backend's fault.
fn from_db(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::FOREIGN_KEY_VIOLATION {
            // Expected when a client names a row that is gone; worth a line
            // in the log anyway, since a bug in the store looks the same.
            tracing::info!(
                table = db.table().unwrap_or("?"),
                constraint = db.constraint().unwrap_or("?"),
                detail = db.detail().unwrap_or(""),
                "a referenced row is missing; answering not found"
            );
            return StoreError::NotFound;
        }
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            let what = db.constraint().unwrap_or("a uniqueness rule");
            return StoreError::Conflict(format!("already exists ({what})"));
        }
    }
    tracing::error!(error = %e, "postgres failed");
    StoreError::Backend(e.to_string())
}

/// A value read back from the database that the code cannot understand.
pub(crate) fn corrupt(what: &str, value: &str) -> Error {
    Error::Store(StoreError::Backend(format!(
        "unexpected {what} in the database: {value:?}"
    )))
}
