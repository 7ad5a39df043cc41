//! A small per-IP token bucket for the auth endpoints.
//!
//! Each client IP may make `burst` requests at once and then `per_minute` a minute. The
//! client IP is the peer address (`ConnectInfo`); requests without one (in-process tests)
//! share one bucket. The table is swept when it grows, so it stays bounded.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::state::AppState;

/// Clients tracked before stale entries are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Per-IP token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `burst` requests at once, refilled at `per_minute` a minute.
    pub fn new(burst: u32, per_minute: u32) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip` at `now`; on refusal, says how long to wait.
    pub fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= SWEEP_AT {
            let full_after = Duration::from_secs_f64(self.burst / self.per_sec);
            buckets.retain(|_, b| now.saturating_duration_since(b.last) < full_after);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_sec,
            ))
        }
    }

    /// Takes a token for `ip` now.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }
}

/// Middleware: 429 with `Retry-After` when the caller's bucket is empty.
pub async fn limit_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match state.auth_limiter.check(ip) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            state.metrics.auth_rate_limited.inc();
            ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            }
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills() {
        let limiter = RateLimiter::new(2, 60);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        assert!(limiter.check_at(ip, t0).is_ok());
        assert!(limiter.check_at(ip, t0).is_ok());
        let wait = limiter.check_at(ip, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check_at(other, t0).is_ok(), "buckets are per IP");
        assert!(
            limiter
                .check_at(ip, t0 + Duration::from_millis(1100))
                .is_ok()
        );
        assert!(
            limiter
                .check_at(ip, t0 + Duration::from_millis(1100))
                .is_err()
        );
    }
}
