//! Opening a fresh store per test, on either backend.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use persistence::{Store, StoreConfig};

/// The PostgreSQL the tests use: `DATABASE_URL`, else the local default.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A store on a temporary SQLite file (kept alive by the returned dir).
pub async fn sqlite(chat_history: u32) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("plaza.db").display());
    let mut config = StoreConfig::new(url);
    config.chat_history = chat_history;
    let store = Store::connect(&config).await.expect("open SQLite store");
    (store, dir)
}

/// A store in a fresh schema of the test PostgreSQL. Panics with a clear message when
/// PostgreSQL is not reachable: these tests must never pass without it.
pub async fn postgres(test: &str, chat_history: u32) -> PgSchema {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "t_{}_{}_{}",
        test,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let url = database_url();
    let mut config = StoreConfig::new(url.clone());
    config.chat_history = chat_history;
    config.max_connections = 4;
    config.pg_schema = Some(schema.clone());
    let store = match Store::connect(&config).await {
        Ok(store) => store,
        Err(e) => panic!(
            "PostgreSQL is required for this test and is not usable at {url} \
             (set DATABASE_URL to a postgres:// URL of a server where this role may create schemas): {e}"
        ),
    };
    PgSchema { store, schema, url }
}

/// A store in its own PostgreSQL schema; [`PgSchema::drop`] removes the schema.
pub struct PgSchema {
    /// The store, with `search_path` set to the schema.
    pub store: Store,
    schema: String,
    url: String,
}

impl PgSchema {
    /// Closes the store and drops the schema (call at the end of a passing test; a failed
    /// test leaves its schema behind for inspection).
    pub async fn drop(self) {
        self.store.close().await;
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url)
            .await
            .expect("reconnect to drop schema");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.schema
        )))
        .execute(&mut conn)
        .await
        .expect("drop test schema");
    }
}
