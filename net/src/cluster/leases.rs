//! [`Leases`]: region ownership in Redis with epoch fencing.
//!
//! A region's lease is the key `P:lease:R` holding `node/epoch` with a TTL; its epoch counter
//! `P:epoch:R` is only ever incremented, so every acquisition gets a larger epoch than any
//! before it, and a message or write stamped with an older epoch can be recognised as stale.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::conn::{RedisConn, millis};
use super::{ClusterError, Keys, RegionKey};

/// One region lease: `node` owns `region` under fencing token `epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The region.
    pub region: RegionKey,
    /// The owning node's id.
    pub node: String,
    /// The fencing token: larger than the epoch of every earlier lease of this region.
    pub epoch: u64,
}

impl Lease {
    /// The value stored in the lease key.
    fn value(&self) -> String {
        format!("{}/{}", self.node, self.epoch)
    }
}

/// The outcome of [`Leases::renew`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// The lease is still ours, for another TTL.
    Renewed,
    /// Someone else has acquired the region since: stop simulating it.
    Lost,
}

/// Takes a free lease: `KEYS = [lease, epoch]`, `ARGV = [node, ttl_ms]`; the new epoch, or nil
/// when the lease is held.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
            return false
        end
        local epoch = redis.call('INCR', KEYS[2])
        redis.call('SET', KEYS[1], ARGV[1] .. '/' .. epoch, 'PX', ARGV[2])
        return epoch
        ",
    )
});

/// Extends a lease: `KEYS = [lease, epoch]`, `ARGV = [node/epoch, ttl_ms, epoch]`; 1 when
/// renewed. A lease that expired without anyone acquiring it since (the epoch counter has not
/// moved) is taken back with the same epoch.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local current = redis.call('GET', KEYS[1])
        if current == ARGV[1] then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return 1
        end
        if not current and redis.call('GET', KEYS[2]) == ARGV[3] then
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            return 1
        end
        return 0
        ",
    )
});

/// Deletes a key if it holds exactly a value: `KEYS = [key]`, `ARGV = [value]`; 1 when deleted.
static COMPARE_AND_DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('DEL', KEYS[1])
        end
        return 0
        ",
    )
});

/// Region leases in Redis (see the module doc). Clones share one connection.
#[derive(Clone, Debug)]
pub struct Leases {
    redis: RedisConn,
    keys: Keys,
    ttl: Duration,
}

impl Leases {
    /// Connects to Redis at `url`; leases last `ttl` unless renewed.
    /// `ClusterError::Unavailable` when Redis cannot be reached.
    pub async fn connect(url: &str, keys: Keys, ttl: Duration) -> Result<Leases, ClusterError> {
        Ok(Leases {
            redis: RedisConn::connect(url).await?,
            keys,
            ttl,
        })
    }

    /// How long a lease lasts without renewal.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes `region` for `node` if nobody holds it, with a new, larger epoch. `None` when
    /// someone (possibly `node` itself) holds it.
    pub async fn acquire(
        &self,
        region: &RegionKey,
        node: &str,
    ) -> Result<Option<Lease>, ClusterError> {
        let mut invocation = ACQUIRE.prepare_invoke();
        invocation
            .key(self.keys.lease(region))
            .key(self.keys.epoch(region))
            .arg(node)
            .arg(millis(self.ttl));
        let epoch: Option<u64> = self
            .redis
            .run("lease acquire", |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await?;
        Ok(epoch.map(|epoch| Lease {
            region: region.clone(),
            node: node.to_owned(),
            epoch,
        }))
    }

    /// Extends `lease` for another TTL if it is still ours (see [`Renewal`]).
    pub async fn renew(&self, lease: &Lease) -> Result<Renewal, ClusterError> {
        let mut invocation = RENEW.prepare_invoke();
        invocation
            .key(self.keys.lease(&lease.region))
            .key(self.keys.epoch(&lease.region))
            .arg(lease.value())
            .arg(millis(self.ttl))
            .arg(lease.epoch);
        let renewed: bool = self
            .redis
            .run("lease renew", |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await?;
        Ok(if renewed {
            Renewal::Renewed
        } else {
            Renewal::Lost
        })
    }

    /// Gives `lease` up if it is still held as given; returns whether it was.
    pub async fn release(&self, lease: &Lease) -> Result<bool, ClusterError> {
        let mut invocation = COMPARE_AND_DELETE.prepare_invoke();
        invocation
            .key(self.keys.lease(&lease.region))
            .arg(lease.value());
        self.redis
            .run("lease release", |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await
    }

    /// The current holder of `region`, if any.
    pub async fn owner(&self, region: &RegionKey) -> Result<Option<Lease>, ClusterError> {
        Ok(self
            .owners(std::slice::from_ref(region))
            .await?
            .into_iter()
            .next()
            .flatten())
    }

    /// The current holders of `regions`, in the same order, in one round trip.
    pub async fn owners(&self, regions: &[RegionKey]) -> Result<Vec<Option<Lease>>, ClusterError> {
        if regions.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = regions.iter().map(|r| self.keys.lease(r)).collect();
        let mut mget = redis::cmd("MGET");
        mget.arg(&keys);
        let values: Vec<Option<String>> = self
            .redis
            .run("lease owners", |mut c| async move {
                mget.query_async(&mut c).await
            })
            .await?;
        regions
            .iter()
            .zip(keys)
            .zip(values)
            .map(|((region, key), value)| {
                value
                    .map(|value| parse_lease(region, key, value))
                    .transpose()
            })
            .collect()
    }

    /// The last epoch ever issued for `region` (0: never owned).
    pub async fn last_epoch(&self, region: &RegionKey) -> Result<u64, ClusterError> {
        let mut get = redis::cmd("GET");
        get.arg(self.keys.epoch(region));
        let epoch: Option<u64> = self
            .redis
            .run("lease epoch", |mut c| async move {
                get.query_async(&mut c).await
            })
            .await?;
        Ok(epoch.unwrap_or(0))
    }
}

/// Parses the `node/epoch` value of lease key `key`.
fn parse_lease(region: &RegionKey, key: String, value: String) -> Result<Lease, ClusterError> {
    let parsed = value
        .rsplit_once('/')
        .and_then(|(node, epoch)| Some((node, epoch.parse::<u64>().ok()?)));
    match parsed {
        Some((node, epoch)) if !node.is_empty() => Ok(Lease {
            region: region.clone(),
            node: node.to_owned(),
            epoch,
        }),
        _ => Err(ClusterError::Corrupt { key, value }),
    }
}
