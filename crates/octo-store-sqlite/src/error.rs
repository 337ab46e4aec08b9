//! The crate's internal error: lets `?` work on rusqlite, serde_json and
//! StoreError alike inside jobs, and maps to [`StoreError`] at the boundary.

use octo_store::StoreError;
use rusqlite::ffi;

#[derive(Debug)]
pub(crate) enum Error {
    Store(StoreError),
    Db(rusqlite::Error),
    Json(serde_json::Error),
}

pub(crate) type Res<T> = Result<T, Error>;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
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

/// Constraint failures the jobs did not anticipate with a precise check still
/// get the right kind: a missing referenced row is NotFound, a duplicate is a
/// Conflict. Everything else is the backend's fault.
fn from_db(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        match f.extended_code {
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StoreError::NotFound,
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                let what = msg.as_deref().unwrap_or("a uniqueness rule");
                return StoreError::Conflict(format!("already exists ({what})"));
            }
            _ => {}
        }
    }
    tracing::error!(error = %e, "sqlite failed");
    StoreError::Backend(e.to_string())
}

/// A value read back from the database that the code cannot understand.
pub(crate) fn corrupt(what: &str, value: &str) -> Error {
    Error::Store(StoreError::Backend(format!(
        "unexpected {what} in the database: {value:?}"
    )))
}
