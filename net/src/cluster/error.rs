//! Errors of the cluster layer: [`BusError`] for the message bus, [`ClusterError`] for leases
//! and the directory. Messages say what an operator should check.

use std::time::Duration;

/// Why the cluster bus could not take a message or could not start.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis could not be reached (or the URL is not a Redis URL) when the bus started.
    #[error("cannot reach Redis at {url} — is it running? set --redis-url / REDIS_URL")]
    Unavailable {
        /// The Redis URL that was tried.
        url: String,
        /// What the Redis client reported.
        source: redis::RedisError,
    },
    /// The bus has lost Redis; the message was dropped, not queued (it reconnects by itself).
    #[error("the cluster bus has lost its Redis connection; message dropped (reconnecting)")]
    Disconnected,
    /// More messages are waiting to be sent than the bus buffers; this one was dropped.
    #[error("the cluster bus is backed up ({0} messages waiting for Redis); message dropped")]
    Backlog(usize),
}

/// Why a lease or directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The database failed while the cluster needed it (a region snapshot).
    #[error("database: {0}")]
    Backend(String),
    /// Redis could not be reached (or the URL is not a Redis URL) at start.
    #[error("cannot reach Redis at {url} — is it running? set --redis-url / REDIS_URL")]
    Unavailable {
        /// The Redis URL that was tried.
        url: String,
        /// What the Redis client reported.
        source: redis::RedisError,
    },
    /// A Redis command failed (connection lost, server error).
    #[error("Redis at {url} failed on {op} — is it still running?")]
    Redis {
        /// The Redis URL.
        url: String,
        /// The operation that failed (e.g. `lease acquire`).
        op: &'static str,
        /// What the Redis client reported.
        source: redis::RedisError,
    },
    /// Redis did not answer in time.
    #[error(
        "Redis at {url} did not answer {op} within {after:?} — is it overloaded or unreachable?"
    )]
    Timeout {
        /// The Redis URL.
        url: String,
        /// The operation that timed out.
        op: &'static str,
        /// How long we waited.
        after: Duration,
    },
    /// A key held a value this code never writes (another program, or a different version).
    #[error(
        "unexpected value {value:?} in Redis key {key} — is another program using this key prefix?"
    )]
    Corrupt {
        /// The key.
        key: String,
        /// What it held.
        value: String,
    },
}
