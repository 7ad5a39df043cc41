//! [`RedisConn`]: the command connection behind [`super::Leases`] and [`super::Directory`].
//! Every command has a deadline, so callers notice a vanished Redis within about a second
//! instead of hanging; the connection is re-established on the next command after a failure.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, RedisResult};

use super::ClusterError;

/// How long to wait for a TCP connection to Redis.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long to wait for the answer to one command.
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// The deadline of a whole operation: a reconnect attempt plus the command itself.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// A shared, self-reconnecting Redis connection with per-operation deadlines. Logs a warning
/// when Redis stops answering and an info line when it answers again.
#[derive(Clone)]
pub(crate) struct RedisConn {
    url: Arc<str>,
    manager: ConnectionManager,
    /// Whether the last operation reached Redis.
    healthy: Arc<AtomicBool>,
}

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConn")
            .field("url", &self.url)
            .field("healthy", &self.healthy.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisConn {
    /// Connects to `url`; `ClusterError::Unavailable` when Redis cannot be reached.
    pub(crate) async fn connect(url: &str) -> Result<RedisConn, ClusterError> {
        let unavailable = |source| ClusterError::Unavailable {
            url: url.to_owned(),
            source,
        };
        let client = Client::open(url).map_err(unavailable)?;
        // One attempt per reconnect: a command during an outage fails fast instead of waiting
        // through a retry schedule; the next command tries again.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(0);
        let manager = within(
            OPERATION_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(unavailable)?;
        Ok(RedisConn {
            url: url.into(),
            manager,
            healthy: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Runs `command` on the connection within the operation deadline; `op` names it in errors
    /// and logs.
    pub(crate) async fn run<T, F>(
        &self,
        op: &'static str,
        command: impl FnOnce(ConnectionManager) -> F,
    ) -> Result<T, ClusterError>
    where
        F: Future<Output = RedisResult<T>>,
    {
        let result = tokio::time::timeout(OPERATION_TIMEOUT, command(self.manager.clone())).await;
        let error = match result {
            Ok(Ok(value)) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!(url = %self.url, "Redis answers again");
                }
                return Ok(value);
            }
            Ok(Err(source)) => {
                // A server-side or parse error says nothing about the link.
                let link_down = source.is_io_error();
                let error = self.redis_error(op, source);
                if !link_down {
                    return Err(error);
                }
                error
            }
            Err(_) => ClusterError::Timeout {
                url: self.url.to_string(),
                op,
                after: OPERATION_TIMEOUT,
            },
        };
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(url = %self.url, error = %error_chain(&error), "lost Redis; reconnecting on the next command");
        }
        Err(error)
    }

    fn redis_error(&self, op: &'static str, source: RedisError) -> ClusterError {
        ClusterError::Redis {
            url: self.url.to_string(),
            op,
            source,
        }
    }
}

/// `duration` in whole milliseconds, at least 1 (Redis refuses a zero `PX`).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// `future`, or a timed-out I/O error after `limit`.
pub(crate) async fn within<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {limit:?}"),
            )
            .into())
        })
}

/// `error` and its causes on one line, for logs.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
