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
use net::cluster::AvatarRecord;
use net::driver::Inspection;
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
            dir: tempfile::Builder::new()
                .disable_cleanup(std::env::var_os("PLAZA_TEST_KEEP").is_some())
                .tempdir()
                .expect("temp dir"),
            store,
        }
    }

    /// Starts node `id` pinned to `pins` (`"COL,ROW"`).
    async fn node(&self, id: &str, pins: &[&str]) -> Plaza {
        self.node_on(id, pins, &redis_url()).await
    }

    /// Starts node `id` pinned to `pins` on the Redis at `redis`.
    async fn node_on(&self, id: &str, pins: &[&str], redis: &str) -> Plaza {
        let port = free_port();
        let data = self.dir.path().join(id);
        std::fs::create_dir_all(&data).unwrap();
        let mut command = serve_command(&data, port);
        command
            .args(["--cluster", "--redis-url", redis])
            .args(["--redis-prefix", &self.name, "--node-id", id])
            .args(["--database-url", &database_url(), "--pg-schema", &self.name])
            .args(["--jwt-secret", SECRET, "--region-size", "20"])
            .args(["--lease-ttl-ms", &LEASE_TTL_MS.to_string()])
            // These tests drive one player at a time and read the others' sockets only
            // between steps, for seconds at times: no client is closed as a non-reader.
            .args(["--unacked-limit-ms", "60000"]);
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

    /// A guest seeded at `tile` joins through `via` (routed to the node serving the tile),
    /// lands on `serving` and sees itself there.
    async fn join_at(
        &self,
        via: &Plaza,
        serving: &Plaza,
        space: &str,
        name: &str,
        tile: IVec2,
    ) -> PlazaClient {
        let token = self.guest_at(&via.base, space, name, tile).await;
        let mut client = PlazaClient::connect_routed(&via.base, space, &token)
            .await
            .unwrap_or_else(|e| panic!("{name} cannot join at {tile}: {e}"));
        assert_eq!(client.base, serving.base, "{name} at {tile}: wrong node");
        let me = client.me();
        let what = format!("{name} sees itself at {tile}");
        pump_until(&mut client, Duration::from_secs(5), &what, |c| {
            c.seen_at(me) == Some(tile)
        })
        .await;
        client
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
    let mut watcher = cluster
        .join_at(&b, &a, &space, "Watcher", IVec2::new(16, y))
        .await;
    let mut walker = cluster
        .join_at(&b, &a, &space, "Walker", IVec2::new(19, y))
        .await;
    let me = walker.me();
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
    // x = 22 is B's.
    let mut player = cluster.join_at(&a, &b, &space, "Orphan", tile).await;
    let me = player.me();
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

/// A public office space for up to 500 players.
async fn big_space(base: &str, token: &str, name: &str) -> String {
    let space: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/spaces"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": name, "map": "office", "public": true, "max_players": 500 }))
        .send()
        .await
        .expect("create space")
        .error_for_status()
        .expect("space created")
        .json()
        .await
        .expect("space json");
    space["id"].as_str().expect("space id").to_owned()
}

/// The avatars each node simulates in `space`, merged: panics on an avatar simulated twice.
async fn census(nodes: &[&Plaza], space: &str, admin: &str) -> Vec<AvatarRecord> {
    let mut all: Vec<AvatarRecord> = Vec::new();
    for node in nodes {
        let inspection: Inspection = reqwest::Client::new()
            .get(format!("{}/api/admin/spaces/{space}/avatars", node.base))
            .bearer_auth(admin)
            .send()
            .await
            .expect("admin avatars")
            .error_for_status()
            .expect("admin avatars ok")
            .json()
            .await
            .expect("inspection json");
        all.extend(inspection.avatars);
    }
    let mut ids: Vec<u64> = all.iter().map(|a| a.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "an avatar is simulated on two nodes");
    let mut tiles: Vec<(i32, i32)> = all.iter().map(|a| (a.x, a.y)).collect();
    tiles.sort_unstable();
    tiles.dedup();
    assert_eq!(tiles.len(), all.len(), "two avatars stand on one tile");
    all
}

/// The warning and error lines the nodes logged.
fn warnings(nodes: &[&Plaza]) -> String {
    nodes
        .iter()
        .flat_map(|n| {
            n.logs()
                .lines()
                .filter(|l| {
                    [
                        "WARN",
                        "ERROR",
                        "panick",
                        "closed by the server",
                        "connection failed",
                        "session ended",
                    ]
                    .iter()
                    .any(|w| l.contains(w))
                })
                .map(|l| format!("{}: {l}", n.port))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `count` distinct walkable tiles spread over the whole office.
fn spread_tiles(map: &TileMap, count: usize) -> Vec<IVec2> {
    let all: Vec<IVec2> = (0..map.height() as i32)
        .flat_map(|y| (0..map.width() as i32).map(move |x| IVec2::new(x, y)))
        .filter(|t| walkable(map, *t))
        .collect();
    assert!(
        all.len() >= count,
        "the office has room for {count} avatars"
    );
    let step = all.len() / count;
    (0..count).map(|i| all[i * step]).collect()
}

/// A swarm of protocol clients random-walking until told to stop; `paused` holds them
/// still (for a census). Each task ends with its client, or panics on a lost connection.
struct Swarm {
    paused: Arc<std::sync::atomic::AtomicBool>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<PlazaClient>>,
}

impl Swarm {
    async fn start(cluster: &Cluster, entry: &Plaza, space: &str, tiles: &[IVec2]) -> Swarm {
        use std::sync::atomic::{AtomicBool, Ordering};
        // Nobody walks before everyone joined (a walker could take a newcomer's tile).
        let paused = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for (i, tile) in tiles.iter().enumerate() {
            let token = cluster
                .guest_at(&entry.base, space, &format!("bot{i}"), *tile)
                .await;
            let mut client = PlazaClient::connect_routed(&entry.base, space, &token)
                .await
                .unwrap_or_else(|e| panic!("bot {i} cannot join at {tile}: {e}\n{}", entry.logs()));
            let (paused, stop) = (paused.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ (i as u64 + 1);
                let mut next_move = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    if !paused.load(Ordering::Relaxed) && Instant::now() >= next_move {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let dir = Direction::ALL[(rng % 4) as usize];
                        let sent = match client.input(Input::Move(dir)).await {
                            Ok(_) => client.input(Input::Stop).await,
                            Err(e) => Err(e),
                        };
                        if let Err(e) = sent {
                            panic!("bot {i} (on {}) cannot send: {e}", client.base);
                        }
                        next_move = Instant::now() + Duration::from_millis(300 + rng % 300);
                    }
                    match client.step(Duration::from_millis(50)).await {
                        Ok(_) | Err(net::client::ClientError::Timeout) => {}
                        Err(e) => panic!("bot {i} lost its connection: {e}"),
                    }
                }
                client
            }));
        }
        paused.store(false, Ordering::Relaxed);
        Swarm {
            paused,
            stop,
            tasks,
        }
    }

    fn pause(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::Relaxed);
    }

    async fn finish(self) -> Vec<PlazaClient> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut clients = Vec::new();
        for task in self.tasks {
            clients.push(task.await.expect("bot task"));
        }
        clients
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_bots_walk_across_four_regions_on_two_nodes() {
    const BOTS: usize = 200;
    let cluster = Cluster::new("swarm").await;
    let a = cluster.node("a", &["0,0", "0,1"]).await;
    let b = cluster.node("b", &["1,0", "1,1"]).await;
    let admin = process::admin_token(&cluster.store, &a.base, SECRET).await;
    let owner = guest_login(&a.base, "Owner").await.unwrap().token;
    let space = big_space(&a.base, &owner, "Swarm").await;
    let tiles = spread_tiles(&office(), BOTS);
    let swarm = Swarm::start(&cluster, &a, &space, &tiles).await;
    let started = Instant::now();
    let mut samples = 0;
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(3)).await;
        // Hold everyone still until moves and handoffs in flight have settled, then count.
        swarm.pause(true);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let avatars = census(&[&a, &b], &space, &admin).await;
        assert_eq!(
            avatars.len(),
            BOTS,
            "sample {samples}: avatars lost or added; warnings:\n{}",
            warnings(&[&a, &b])
        );
        samples += 1;
        swarm.pause(false);
    }
    let clients = swarm.finish().await;
    let migrations: u64 = clients.iter().map(|c| c.migrations).sum();
    assert!(samples >= 6, "only {samples} samples");
    assert!(
        migrations >= 20,
        "the bots crossed node borders only {migrations} times"
    );
    eprintln!("{samples} samples of {BOTS} avatars, {migrations} node-border crossings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_region_move_under_load_loses_no_one() {
    const BOTS: usize = 40;
    let cluster = Cluster::new("move").await;
    let a = cluster.node("a", &["0,0", "0,1"]).await;
    let b = cluster.node("b", &["1,0", "1,1"]).await;
    let admin = process::admin_token(&cluster.store, &a.base, SECRET).await;
    let owner = guest_login(&a.base, "Owner").await.unwrap().token;
    let space = create_space(&a.base, &owner, "Move", "office")
        .await
        .unwrap();
    // Everyone starts in region (1,0), served by B.
    let tiles: Vec<IVec2> = spread_tiles(&office(), 400)
        .into_iter()
        .filter(|t| t.x >= 22 && t.x < 38 && t.y < 18)
        .take(BOTS)
        .collect();
    assert_eq!(tiles.len(), BOTS);
    let swarm = Swarm::start(&cluster, &a, &space, &tiles).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Asked of A, which forwards to the owner, B.
    let moved = reqwest::Client::new()
        .post(format!("{}/api/admin/regions/{space}:1:0/move", a.base))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "node": "a" }))
        .send()
        .await
        .expect("move request");
    let status = moved.status();
    assert!(
        status.is_success(),
        "move refused: {status} {}\n{}",
        moved.text().await.unwrap_or_default(),
        b.logs()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    swarm.pause(true);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let avatars = census(&[&a, &b], &space, &admin).await;
    assert_eq!(
        avatars.len(),
        BOTS,
        "avatars lost or duplicated by the move"
    );
    let on_b_in_moved_region = census(&[&b], &space, &admin)
        .await
        .iter()
        .filter(|a| a.x >= 20 && a.y < 20)
        .count();
    assert_eq!(
        on_b_in_moved_region, 0,
        "B still simulates the moved region"
    );
    swarm.pause(false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let clients = swarm.finish().await;
    let migrated = clients.iter().filter(|c| c.migrations > 0).count();
    assert!(migrated > 0, "nobody was migrated");
    for c in &clients {
        let me = c.me();
        assert_eq!(c.copies_of(me), 1, "each bot still sees itself once");
    }
}

/// A `redis-server` of the test's own on a free port, with an append-only file so that its
/// keys survive a restart (as a production Redis would).
struct OwnRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    async fn start(dir: &std::path::Path) -> OwnRedis {
        let mut redis = OwnRedis {
            port: free_port(),
            dir: dir.to_owned(),
            child: None,
        };
        redis.restart().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is required for this test (apt-get install redis-server)");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("own redis-server did not start on port {}", self.port);
    }

    /// Stops the server (SIGTERM: it flushes its append-only file).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_redis_keeps_regions_served_refuses_handoffs_and_recovers() {
    let cluster = Cluster::new("redisloss").await;
    let redis_dir = cluster.dir.path().join("redis");
    std::fs::create_dir_all(&redis_dir).unwrap();
    let mut redis = OwnRedis::start(&redis_dir).await;
    let a = cluster.node_on("a", &["0,0", "0,1"], &redis.url()).await;
    let b = cluster.node_on("b", &["1,0", "1,1"], &redis.url()).await;
    let owner = guest_login(&a.base, "Owner").await.unwrap().token;
    let space = create_space(&a.base, &owner, "Outage", "office")
        .await
        .unwrap();
    let y = border_row(&office());
    let mut walker = cluster
        .join_at(&a, &a, &space, "Walker", IVec2::new(18, y))
        .await;
    let me = walker.me();

    redis.stop();
    walker.pump(Duration::from_millis(2500)).await.unwrap();
    // A keeps serving its own regions…
    walker.input(Input::Move(Direction::East)).await.unwrap();
    walker.input(Input::Stop).await.unwrap();
    pump_until(
        &mut walker,
        Duration::from_secs(5),
        "a move inside A's region",
        |c| c.seen_at(me) == Some(IVec2::new(19, y)),
    )
    .await;
    // …and refuses to hand the walker to B, saying why.
    walker.input(Input::Move(Direction::East)).await.unwrap();
    walker.input(Input::Stop).await.unwrap();
    pump_until(
        &mut walker,
        Duration::from_secs(5),
        "the handoff is refused",
        |c| {
            c.errors
                .iter()
                .any(|(code, m)| *code == net::ws::HANDOFF_REFUSED && m.contains("unavailable"))
        },
    )
    .await;
    walker.pump(Duration::from_millis(500)).await.unwrap();
    assert_eq!(
        walker.seen_at(me),
        Some(IVec2::new(19, y)),
        "the walker stays on A"
    );
    assert_eq!(walker.migrations, 0);

    // Redis returns: the nodes recover and the crossing goes through.
    redis.restart().await;
    let recovered = Instant::now();
    while walker.migrations == 0 {
        assert!(
            recovered.elapsed() < Duration::from_secs(20),
            "the cluster did not recover after Redis returned:\n{}",
            warnings(&[&a, &b])
        );
        walker.input(Input::Move(Direction::East)).await.unwrap();
        walker.input(Input::Stop).await.unwrap();
        walker.pump(Duration::from_millis(1000)).await.unwrap();
    }
    pump_until(
        &mut walker,
        Duration::from_secs(5),
        "the walker is on B",
        |c| c.seen_at(me) == Some(IVec2::new(20, y)),
    )
    .await;
    assert_eq!(walker.base, b.base);
}
