//! [`Directory`]: what the cluster knows about itself, in Redis — live nodes, which node
//! serves which player, region pins, node numbers and single-use tickets.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use sim::RegionId;

use super::conn::{RedisConn, millis};
use super::{ClusterError, Keys, RegionKey};

/// Lists live nodes and prunes dead ones from the node set: `KEYS = [nodes]`,
/// `ARGV = [alive key prefix]`; a flat list `node, url, node, url, …`.
static LIVE_NODES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local live = {}
        for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            local url = redis.call('GET', ARGV[1] .. node)
            if url then
                table.insert(live, node)
                table.insert(live, url)
            else
                redis.call('SREM', KEYS[1], node)
            end
        end
        return live
        ",
    )
});

/// Deletes a hash field if it holds exactly a value: `KEYS = [hash]`, `ARGV = [field, value]`;
/// 1 when deleted.
static HASH_COMPARE_AND_DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
            return redis.call('HDEL', KEYS[1], ARGV[1])
        end
        return 0
        ",
    )
});

/// Replaces a node's pins: `KEYS = [pins]`, `ARGV = [node, field…]`.
static SET_PINS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local pins = redis.call('HGETALL', KEYS[1])
        for i = 1, #pins, 2 do
            if pins[i + 1] == ARGV[1] then
                redis.call('HDEL', KEYS[1], pins[i])
            end
        end
        for i = 2, #ARGV do
            redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
        end
        return 0
        ",
    )
});

/// How many keys one `SCAN` step asks for in [`Directory::purge`].
const SCAN_COUNT: usize = 500;

/// The cluster directory in Redis. Clones share one connection.
#[derive(Clone, Debug)]
pub struct Directory {
    redis: RedisConn,
    keys: Keys,
}

impl Directory {
    /// Connects to Redis at `url`; `ClusterError::Unavailable` when it cannot be reached.
    pub async fn connect(url: &str, keys: Keys) -> Result<Directory, ClusterError> {
        Ok(Directory {
            redis: RedisConn::connect(url).await?,
            keys,
        })
    }

    /// Heartbeat: `node` is alive, reachable at `url`, for `ttl`.
    pub async fn register_node(
        &self,
        node: &str,
        url: &str,
        ttl: Duration,
    ) -> Result<(), ClusterError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(self.keys.alive(node))
            .arg(url)
            .arg("PX")
            .arg(millis(ttl))
            .ignore()
            .cmd("SADD")
            .arg(self.keys.nodes())
            .arg(node)
            .ignore();
        self.redis
            .run("node heartbeat", |mut c| async move {
                pipe.exec_async(&mut c).await
            })
            .await
    }

    /// Graceful leave: `node` is no longer alive.
    pub async fn unregister_node(&self, node: &str) -> Result<(), ClusterError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(self.keys.alive(node))
            .ignore()
            .cmd("SREM")
            .arg(self.keys.nodes())
            .arg(node)
            .ignore();
        self.redis
            .run("node leave", |mut c| async move {
                pipe.exec_async(&mut c).await
            })
            .await
    }

    /// Live nodes → their public base URL. Nodes whose heartbeat has expired are left out
    /// (and forgotten).
    pub async fn live_nodes(&self) -> Result<BTreeMap<String, String>, ClusterError> {
        let mut invocation = LIVE_NODES.prepare_invoke();
        invocation.key(self.keys.nodes()).arg(self.keys.alive(""));
        let flat: Vec<String> = self
            .redis
            .run("live nodes", |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await?;
        let mut nodes = BTreeMap::new();
        let mut pairs = flat.into_iter();
        while let (Some(node), Some(url)) = (pairs.next(), pairs.next()) {
            nodes.insert(node, url);
        }
        Ok(nodes)
    }

    /// Records that `account` is served by `node` in `space`.
    pub async fn set_player(
        &self,
        space: &str,
        account: i64,
        node: &str,
    ) -> Result<(), ClusterError> {
        let mut hset = redis::cmd("HSET");
        hset.arg(self.keys.players(space)).arg(account).arg(node);
        self.redis
            .run("player set", |mut c| async move {
                hset.exec_async(&mut c).await
            })
            .await
    }

    /// The node serving `account` in `space`, if any.
    pub async fn player_node(
        &self,
        space: &str,
        account: i64,
    ) -> Result<Option<String>, ClusterError> {
        let mut hget = redis::cmd("HGET");
        hget.arg(self.keys.players(space)).arg(account);
        self.redis
            .run("player lookup", |mut c| async move {
                hget.query_async(&mut c).await
            })
            .await
    }

    /// Forgets where `account` is in `space`, only if it still points at `node`; returns
    /// whether it did.
    pub async fn clear_player(
        &self,
        space: &str,
        account: i64,
        node: &str,
    ) -> Result<bool, ClusterError> {
        let mut invocation = HASH_COMPARE_AND_DELETE.prepare_invoke();
        invocation
            .key(self.keys.players(space))
            .arg(account)
            .arg(node);
        self.redis
            .run("player clear", |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await
    }

    /// Makes `regions` (the same col,row in every space) the pins of `node`: they are
    /// pinned to it from now on, and its earlier pins that are not in `regions` are unpinned.
    pub async fn set_pins(&self, node: &str, regions: &[RegionId]) -> Result<(), ClusterError> {
        let mut invocation = SET_PINS.prepare_invoke();
        invocation.key(self.keys.pins()).arg(node);
        for region in regions {
            invocation.arg(pin_field(*region));
        }
        self.redis
            .run("pins set", |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await
    }

    /// Every pinned region → the node it is pinned to.
    pub async fn pins(&self) -> Result<BTreeMap<RegionId, String>, ClusterError> {
        let key = self.keys.pins();
        let mut hgetall = redis::cmd("HGETALL");
        hgetall.arg(&key);
        let fields: Vec<(String, String)> = self
            .redis
            .run(
                "pins",
                |mut c| async move { hgetall.query_async(&mut c).await },
            )
            .await?;
        fields
            .into_iter()
            .map(|(field, node)| match parse_pin_field(&field) {
                Some(region) => Ok((region, node)),
                None => Err(ClusterError::Corrupt {
                    key: key.clone(),
                    value: field,
                }),
            })
            .collect()
    }

    /// A cluster-wide unique number, larger than every one before (1, 2, …); a node takes one
    /// per start, e.g. to pick a disjoint entity id range.
    pub async fn next_node_number(&self) -> Result<u64, ClusterError> {
        let mut incr = redis::cmd("INCR");
        incr.arg(self.keys.node_number());
        self.redis
            .run("node number", |mut c| async move {
                incr.query_async(&mut c).await
            })
            .await
    }

    /// Consumes the single-use token `id`: true the first time (for `ttl`), false after.
    pub async fn consume_once(&self, id: &str, ttl: Duration) -> Result<bool, ClusterError> {
        let mut set = redis::cmd("SET");
        set.arg(self.keys.once(id))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl));
        let stored: Option<String> = self
            .redis
            .run("ticket consume", |mut c| async move {
                set.query_async(&mut c).await
            })
            .await?;
        Ok(stored.is_some())
    }

    /// Deletes every key under the prefix (leases and epochs too); returns how many. For
    /// tests' cleanup and resetting a cluster; walks the keys with `SCAN`, never `KEYS`.
    pub async fn purge(&self) -> Result<u64, ClusterError> {
        let pattern = self.keys.scan_pattern();
        let mut cursor = 0_u64;
        let mut deleted = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, keys): (u64, Vec<String>) = self
                .redis
                .run("purge scan", |mut c| async move {
                    scan.query_async(&mut c).await
                })
                .await?;
            if !keys.is_empty() {
                let mut del = redis::cmd("DEL");
                del.arg(keys);
                let count: u64 = self
                    .redis
                    .run("purge delete", |mut c| async move {
                        del.query_async(&mut c).await
                    })
                    .await?;
                deleted += count;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }
}

/// Spaces with players, and live region moves.
impl Directory {
    /// Marks `space` as in use: nodes claim its regions.
    pub async fn add_space(&self, space: &str) -> Result<(), ClusterError> {
        let key = self.keys.spaces();
        let space = space.to_owned();
        self.redis
            .run("add space", |mut c| async move {
                redis::cmd("SADD")
                    .arg(key)
                    .arg(space)
                    .exec_async(&mut c)
                    .await
            })
            .await
    }

    /// Every space in use, sorted.
    pub async fn spaces(&self) -> Result<Vec<String>, ClusterError> {
        let key = self.keys.spaces();
        let mut spaces: Vec<String> = self
            .redis
            .run("list spaces", |mut c| async move {
                redis::cmd("SMEMBERS").arg(key).query_async(&mut c).await
            })
            .await?;
        spaces.sort();
        Ok(spaces)
    }

    /// Live move: only `node` may claim `region` for `ttl`.
    pub async fn set_handover(
        &self,
        region: &RegionKey,
        node: &str,
        ttl: Duration,
    ) -> Result<(), ClusterError> {
        let key = self.keys.handover(region);
        let node = node.to_owned();
        self.redis
            .run("set handover", |mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(node)
                    .arg("PX")
                    .arg(millis(ttl))
                    .exec_async(&mut c)
                    .await
            })
            .await
    }

    /// The node a region is being moved to, if a move is under way.
    pub async fn handover(&self, region: &RegionKey) -> Result<Option<String>, ClusterError> {
        let key = self.keys.handover(region);
        self.redis
            .run("get handover", |mut c| async move {
                redis::cmd("GET").arg(key).query_async(&mut c).await
            })
            .await
    }
}

/// The pins hash field of `region`: `col:row`.
fn pin_field(region: RegionId) -> String {
    format!("{}:{}", region.col, region.row)
}

/// Parses a pins hash field.
fn parse_pin_field(field: &str) -> Option<RegionId> {
    let (col, row) = field.split_once(':')?;
    Some(RegionId {
        col: col.parse().ok()?,
        row: row.parse().ok()?,
    })
}
