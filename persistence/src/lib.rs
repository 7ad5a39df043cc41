//! Plaza's stores: SQLite embedded by default, PostgreSQL when `DATABASE_URL` says so.
#![deny(missing_docs)]
