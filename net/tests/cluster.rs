//! Multi-node: real `plaza serve --cluster` processes on loopback ports sharing the real
//! Redis (`REDIS_URL`, default redis://127.0.0.1:6379; a unique key prefix per test) and
//! PostgreSQL (`DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test; a schema per
//! test), driven with the Rust protocol client.
//!
//! The office map (40×30) with 20-tile regions has four regions; node A is pinned to
//! column 0, node B to column 1, so the border runs between x = 19 and x = 20.

mod common;
#[path = "common/process.rs"]
mod process;
#[path = "common/ws.rs"]
mod ws_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use glam::IVec2;
use net::client::{PlazaClient, create_space, guest_login};
use persistence::{Store, StoreConfig};
use process::{Plaza, free_port, serve_command};
use sim::{Direction, Input, TileMap};
use ws_common::{MirrorExt as _, walkable};

const SECRET: &str = "cluster-test-secret-0123456789abcdef";
const LEASE_TTL_MS: u64 = 2000;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A cluster of nodes sharing one Redis prefix and one PostgreSQL schema.
struct Cluster {
    name: String,
    dir: tempfile::TempDir,
    store: Store,
}

impl Cluster {
    async fn new(test: &str) -> Cluster {
        let name = format!(
            "t_{test}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let redis = redis::Client::open(redis_url()).expect("REDIS_URL parses");
        let mut conn = redis
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "Redis is required for this test and is not usable at REDIS_URL={}: {e}",
                    redis_url()
                )
            });
        let _: () = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .expect("Redis answers");
        let mut config = StoreConfig::new(database_url());
        config.pg_schema = Some(name.clone());
        config.max_connections = 2;
        let store = Store::connect(&config).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for this test and is not usable at {}: {e}",
                database_url()
            )
        });
        Cluster {
            name,
            dir: tempfile::tempdir().expect("temp dir"),
            store,
        }
    }

    /// Starts node `id` pinned to `pins` (`"COL,ROW"`).
    async fn node(&self, id: &str, pins: &[&str]) -> Plaza {
        let port = free_port();
        let data = self.dir.path().join(id);
        std::fs::create_dir_all(&data).unwrap();
        let mut command = serve_command(&data, port);
        command
            .args(["--cluster", "--redis-url", &redis_url()])
            .args(["--redis-prefix", &self.name, "--node-id", id])
            .args(["--database-url", &database_url(), "--pg-schema", &self.name])
            .args(["--jwt-secret", SECRET, "--region-size", "20"])
            .args(["--lease-ttl-ms", &LEASE_TTL_MS.to_string()]);
        for pin in pins {
            command.args(["--pin", pin]);
        }
        Plaza::spawn(command, port, self.dir.path().join(format!("{id}.log"))).await
    }

    /// A guest seeded at `tile` of `space`: (token, account).
    async fn guest_at(&self, base: &str, space: &str, name: &str, tile: IVec2) -> String {
        let login = guest_login(base, name).await.expect("guest login");
        let account = login.account["id"].as_i64().expect("account id");
        self.store.join_space(space, account).await.expect("join");
        self.store
            .save_positions(
                space,
                &[(
                    account,
                    persistence::Position {
                        x: tile.x,
                        y: tile.y,
                    },
                )],
            )
            .await
            .expect("seed position");
        login.token
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let url = redis_url();
        let prefix = self.name.clone();
        // Best-effort cleanup of the test's keys.
        let _ = std::thread::spawn(move || {
            if let Ok(client) = redis::Client::open(url)
                && let Ok(mut c) = client.get_connection()
            {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}:*"))
                    .query(&mut c)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut c);
                }
            }
        })
        .join();
    }
}

fn office() -> Arc<TileMap> {
    let json = std::fs::read_to_string(common::assets_dir().join("maps/office.json")).unwrap();
    Arc::new(TileMap::from_tiled_json(&json).unwrap())
}

/// A row `y` whose tiles x = 15..=24 are all walkable (across the x = 19|20 border).
fn border_row(map: &TileMap) -> i32 {
    (0..map.height() as i32)
        .find(|y| (15..=24).all(|x| walkable(map, IVec2::new(x, *y))))
        .expect("the office has an open row across x = 20")
}

/// Pumps `client` until `done`, for at most `limit`.
async fn pump_until(
    client: &mut PlazaClient,
    limit: Duration,
    what: &str,
    done: impl FnMut(&PlazaClient) -> bool,
) {
    let ok = client.until(limit, done).await.expect("connection open");
    assert!(ok, "timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_crosses_a_node_border_fifty_times() {
    let cluster = Cluster::new("border").await;
    let a = cluster.node("a", &["0,0", "0,1"]).await;
    let b = cluster.node("b", &["1,0", "1,1"]).await;
    let owner = guest_login(&a.base, "Owner").await.unwrap().token;
    let space = create_space(&a.base, &owner, "Border", "office")
        .await
        .unwrap();
    let map = office();
    let y = border_row(&map);
    let walker_token = cluster
        .guest_at(&a.base, &space, "Walker", IVec2::new(19, y))
        .await;
    let watcher_token = cluster
        .guest_at(&a.base, &space, "Watcher", IVec2::new(16, y))
        .await;
    let mut watcher = PlazaClient::connect_routed(&b.base, &space, &watcher_token)
        .await
        .expect("watcher joins");
    assert_eq!(watcher.base, a.base, "the watcher's region is served by A");
    let mut walker = PlazaClient::connect_routed(&b.base, &space, &walker_token)
        .await
        .expect("walker joins");
    assert_eq!(walker.base, a.base);
    let me = walker.me();
    pump_until(
        &mut walker,
        Duration::from_secs(5),
        "the walker sees itself",
        |c| c.seen_at(c.me()) == Some(IVec2::new(19, y)),
    )
    .await;
    pump_until(
        &mut watcher,
        Duration::from_secs(5),
        "the watcher sees the walker",
        |c| c.seen(me).is_some(),
    )
    .await;

    let mut sent = 0;
    for crossing in 0..50u64 {
        let (dir, to, node) = if crossing % 2 == 0 {
            (Direction::East, IVec2::new(20, y), &b.base)
        } else {
            (Direction::West, IVec2::new(19, y), &a.base)
        };
        walker.input(Input::Move(dir)).await.unwrap();
        walker.input(Input::Stop).await.unwrap();
        sent += 2;
        let start = Instant::now();
        pump_until(
            &mut walker,
            Duration::from_secs(10),
            &format!("crossing {crossing} reaches {to}"),
            |c| c.migrations == crossing + 1 && c.seen_at(me) == Some(to),
        )
        .await;
        assert_eq!(
            &walker.base, node,
            "crossing {crossing} ends on the region's node"
        );
        assert_eq!(walker.me(), me, "the avatar keeps its id across nodes");
        // The watcher (on A, 3–4 tiles away) sees exactly one walker all along.
        while start.elapsed() < Duration::from_millis(150) {
            match watcher.step(Duration::from_millis(50)).await {
                Ok(_) | Err(net::client::ClientError::Timeout) => {}
                Err(e) => panic!("watcher lost its connection: {e}"),
            }
            assert_eq!(
                watcher.copies_of(me),
                1,
                "crossing {crossing}: the watcher must see the walker exactly once"
            );
        }
    }
    pump_until(
        &mut walker,
        Duration::from_secs(5),
        "every input is acknowledged",
        |c| c.acked_seq == sent,
    )
    .await;
    assert_eq!(
        walker.seen_at(me),
        Some(IVec2::new(19, y)),
        "ends where 25 round trips end"
    );
    pump_until(
        &mut watcher,
        Duration::from_secs(5),
        "the watcher sees the final tile",
        |c| c.seen_at(me) == Some(IVec2::new(19, y)),
    )
    .await;
    assert_eq!(watcher.copies_of(me), 1);
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_regions_are_served_again_from_their_snapshots() {
    let cluster = Cluster::new("kill").await;
    let a = cluster.node("a", &["0,0", "0,1"]).await;
    let mut b = cluster.node("b", &["1,0", "1,1"]).await;
    let owner = guest_login(&a.base, "Owner").await.unwrap().token;
    let space = create_space(&a.base, &owner, "Kill", "office")
        .await
        .unwrap();
    let y = border_row(&office());
    let tile = IVec2::new(22, y);
    let token = cluster.guest_at(&a.base, &space, "Orphan", tile).await;
    let mut player = PlazaClient::connect_routed(&a.base, &space, &token)
        .await
        .expect("player joins");
    assert_eq!(player.base, b.base, "x = 22 is B's");
    let me = player.me();
    pump_until(
        &mut player,
        Duration::from_secs(5),
        "the player sees itself",
        |c| c.seen_at(me) == Some(tile),
    )
    .await;
    // Let B write a region snapshot (every second).
    player.pump(Duration::from_millis(1500)).await.unwrap();
    let status = b.signal("KILL").await;
    assert!(!status.success());
    let killed = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match player.reconnect_routed(&a.base).await {
            Ok(()) => break,
            Err(e) => {
                assert!(
                    killed.elapsed() < Duration::from_millis(LEASE_TTL_MS) + Duration::from_secs(4),
                    "the region was not served again in time ({attempts} attempts, last: {e}):\n{}",
                    a.logs()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let served_after = killed.elapsed();
    assert_eq!(player.base, a.base, "the survivor serves the region now");
    assert_eq!(player.me(), me, "the same avatar was restored");
    pump_until(
        &mut player,
        Duration::from_secs(5),
        "the restored avatar is seen once",
        |c| c.seen_at(me) == Some(tile) && c.copies_of(me) == 1,
    )
    .await;
    assert!(
        served_after <= Duration::from_millis(LEASE_TTL_MS) + Duration::from_secs(2),
        "served again after {served_after:?}, more than lease TTL + 2 s"
    );
    // It walks on, now on A.
    player.input(Input::Move(Direction::East)).await.unwrap();
    player.input(Input::Stop).await.unwrap();
    pump_until(
        &mut player,
        Duration::from_secs(5),
        "the player walks on",
        |c| c.seen_at(me) == Some(tile + IVec2::X),
    )
    .await;
}

#[test]
fn a_cluster_node_without_redis_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_port();
    let output = serve_command(dir.path(), free_port())
        .args([
            "--cluster",
            "--redis-url",
            &format!("redis://127.0.0.1:{dead}"),
        ])
        .args(["--jwt-secret", SECRET])
        .output()
        .expect("run plaza");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot reach Redis") && stderr.contains(&dead.to_string()),
        "unclear error: {stderr}"
    );
}
