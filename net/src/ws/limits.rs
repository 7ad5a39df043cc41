//! Per-connection rate limits (token buckets from `governor`).

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// One connection's buckets: inputs, chat and signalling are limited separately.
#[derive(Debug)]
pub(crate) struct ConnLimits {
    pub(crate) inputs: DefaultDirectRateLimiter,
    pub(crate) chat: DefaultDirectRateLimiter,
    pub(crate) signals: DefaultDirectRateLimiter,
    pub(crate) frames: DefaultDirectRateLimiter,
}

fn bucket(per_second: u32, burst: u32) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(per_second.max(1)).expect("max(1) is non-zero");
    let burst = NonZeroU32::new(burst.max(1)).expect("max(1) is non-zero");
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

impl ConnLimits {
    pub(crate) fn new(limits: &super::SessionLimits) -> ConnLimits {
        ConnLimits {
            inputs: bucket(limits.inputs_per_second, limits.inputs_per_second * 2),
            chat: bucket(limits.chat_per_second, limits.chat_per_second * 3),
            signals: bucket(limits.signals_per_second, limits.signals_per_second * 3),
            frames: bucket(limits.frames_per_second, limits.frames_per_second * 2),
        }
    }
}
