//! The store's error type.

/// What can go wrong in a [`Store`](crate::Store) call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is already taken (for example a username).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A row the call refers to does not exist (unknown space or account).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The call's arguments were rejected before reaching the database.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The database URL names no supported backend.
    #[error("unsupported database URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// A stored value could not be understood (for example an unknown role string).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Applying the migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Database(err)
    }
}

impl StoreError {
    /// Maps unique-key and foreign-key violations to [`StoreError::Conflict`] and
    /// [`StoreError::NotFound`] with the given names; anything else stays a database error.
    pub(crate) fn on_constraint(
        err: sqlx::Error,
        conflict: &'static str,
        missing: &'static str,
    ) -> StoreError {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return StoreError::Conflict(conflict);
            }
            if db.is_foreign_key_violation() {
                return StoreError::NotFound(missing);
            }
        }
        StoreError::Database(err)
    }

    /// True when the database could not be reached or failed (as opposed to bad input).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            StoreError::Database(_) | StoreError::Migrate(_) | StoreError::Corrupt(_)
        )
    }
}
