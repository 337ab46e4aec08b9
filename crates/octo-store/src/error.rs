use thiserror::Error;

#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// The thing to change does not exist (or no longer does).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; the text names the rule.
    #[error("{0}")]
    Conflict(String),
    /// `setup` was already done.
    #[error("this server is already set up")]
    AlreadySetUp,
    /// The store is shutting down and takes no more writes.
    #[error("the store is shutting down")]
    Closed,
    /// The database failed. Not the caller's fault; details are logged.
    #[error("storage backend failed: {0}")]
    Backend(String),
}
