//! The cluster layer (`net::cluster`) against a real Redis at `REDIS_URL` (default
//! `redis://127.0.0.1:6379`): leases, directory, the Redis bus, and an outage of a Redis this
//! test starts itself (`redis-server` on a free port). Fails when Redis is not reachable.
//!
//! Each test works under its own key prefix and purges it at the end, so tests run in
//! parallel on one Redis.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use net::cluster::{
    Bus, BusError, ClusterError, Directory, Keys, Lease, Leases, RedisBus, RegionKey, Renewal, Sink,
};
use sim::RegionId;
use tokio::sync::mpsc;

/// How long a test waits for a message that should arrive.
const DELIVERY: Duration = Duration::from_secs(3);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Key names under a prefix no other test (or run) uses.
fn unique_keys(test: &str) -> Keys {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Keys::new(&format!("plaza-test-{test}-{}-{nanos}", std::process::id()))
}

fn needs_redis<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| {
        panic!(
            "this test needs Redis at {} (set REDIS_URL to point elsewhere): {error}",
            redis_url()
        )
    })
}

async fn directory(keys: &Keys) -> Directory {
    needs_redis(Directory::connect(&redis_url(), keys.clone()).await)
}

async fn leases(keys: &Keys, ttl: Duration) -> Leases {
    needs_redis(Leases::connect(&redis_url(), keys.clone(), ttl).await)
}

async fn bus(url: &str) -> RedisBus {
    needs_redis(RedisBus::connect(url).await)
}

fn region(space: &str, col: u16, row: u16) -> RegionKey {
    RegionKey::new(space, RegionId { col, row })
}

/// A sink that forwards every message into a channel the test reads.
fn channel_sink() -> (Sink, mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink: Sink = Arc::new(move |channel: &str, payload: Vec<u8>| {
        let _ = tx.send((channel.to_owned(), payload));
    });
    (sink, rx)
}

async fn next_message(rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>)>) -> (String, Vec<u8>) {
    tokio::time::timeout(DELIVERY, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no message within {DELIVERY:?}"))
        .expect("sink dropped")
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `limit`.
async fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

/// A port on 127.0.0.1 with nothing listening on it (right now).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn acquire_is_exclusive_and_epochs_only_grow() {
    let keys = unique_keys("acquire");
    let leases = leases(&keys, Duration::from_secs(10)).await;
    let r = region("office", 1, 2);
    assert_eq!(leases.last_epoch(&r).await.unwrap(), 0);
    assert_eq!(leases.owner(&r).await.unwrap(), None);

    let first = leases
        .acquire(&r, "n1")
        .await
        .unwrap()
        .expect("free region");
    assert_eq!((first.node.as_str(), first.epoch), ("n1", 1));
    assert_eq!(leases.acquire(&r, "n2").await.unwrap(), None);
    assert_eq!(
        leases.acquire(&r, "n1").await.unwrap(),
        None,
        "held, even by itself"
    );
    assert_eq!(leases.owner(&r).await.unwrap(), Some(first.clone()));

    // Only the holder releases, and only once.
    let impostor = Lease {
        node: "n2".to_owned(),
        ..first.clone()
    };
    assert!(!leases.release(&impostor).await.unwrap());
    let stale = Lease {
        epoch: first.epoch + 1,
        ..first.clone()
    };
    assert!(!leases.release(&stale).await.unwrap());
    assert!(leases.release(&first).await.unwrap());
    assert!(!leases.release(&first).await.unwrap());
    assert_eq!(leases.owner(&r).await.unwrap(), None);

    let second = leases.acquire(&r, "n2").await.unwrap().expect("released");
    assert!(second.epoch > first.epoch, "{second:?} after {first:?}");
    assert_eq!(leases.last_epoch(&r).await.unwrap(), second.epoch);

    // Regions are independent.
    let other = leases.acquire(&region("office", 2, 1), "n1").await.unwrap();
    assert_eq!(other.map(|l| l.epoch), Some(1));

    directory(&keys).await.purge().await.unwrap();
}

#[tokio::test]
async fn epochs_grow_across_expiry_and_renew_fences_out_the_old_holder() {
    let keys = unique_keys("renew");
    let ttl = Duration::from_millis(300);
    let leases = leases(&keys, ttl).await;
    let r = region("campus", 0, 0);

    let first = leases.acquire(&r, "n1").await.unwrap().unwrap();
    assert_eq!(leases.renew(&first).await.unwrap(), Renewal::Renewed);
    // Renewals keep it alive past several TTLs.
    for _ in 0..4 {
        tokio::time::sleep(ttl / 2).await;
        assert_eq!(leases.renew(&first).await.unwrap(), Renewal::Renewed);
    }
    assert_eq!(leases.owner(&r).await.unwrap(), Some(first.clone()));

    // Expired, and nobody took it since: renew takes it back under the same epoch.
    tokio::time::sleep(ttl * 2).await;
    assert_eq!(leases.owner(&r).await.unwrap(), None);
    assert_eq!(leases.renew(&first).await.unwrap(), Renewal::Renewed);
    assert_eq!(leases.owner(&r).await.unwrap(), Some(first.clone()));
    assert_eq!(leases.last_epoch(&r).await.unwrap(), first.epoch);

    // Expired, and another node took it: a larger epoch, and the old holder has lost it.
    tokio::time::sleep(ttl * 2).await;
    let second = leases.acquire(&r, "n2").await.unwrap().expect("expired");
    assert!(second.epoch > first.epoch, "{second:?} after {first:?}");
    assert_eq!(leases.renew(&first).await.unwrap(), Renewal::Lost);
    assert_eq!(leases.renew(&second).await.unwrap(), Renewal::Renewed);

    // Expired again, and taken again: the old holder stays out even with the key gone.
    tokio::time::sleep(ttl * 2).await;
    let third = leases.acquire(&r, "n1").await.unwrap().expect("expired");
    assert!(third.epoch > second.epoch);
    assert!(leases.release(&third).await.unwrap());
    assert_eq!(leases.renew(&second).await.unwrap(), Renewal::Lost);
    assert_eq!(leases.renew(&first).await.unwrap(), Renewal::Lost);
    assert_eq!(leases.owner(&r).await.unwrap(), None);

    directory(&keys).await.purge().await.unwrap();
}

#[tokio::test]
async fn owners_answers_in_order_and_rejects_foreign_values() {
    let keys = unique_keys("owners");
    let leases = leases(&keys, Duration::from_secs(10)).await;
    let regions = [region("a", 0, 0), region("a", 1, 0), region("b", 0, 0)];
    let on_n2 = leases.acquire(&regions[2], "n2").await.unwrap().unwrap();
    let on_n1 = leases.acquire(&regions[0], "n1").await.unwrap().unwrap();
    assert_eq!(
        leases.owners(&regions).await.unwrap(),
        vec![Some(on_n1), None, Some(on_n2.clone())]
    );
    assert_eq!(leases.owners(&[]).await.unwrap(), vec![]);
    assert_eq!(leases.owner(&regions[1]).await.unwrap(), None);
    // Node ids may contain '/': the epoch is after the last one.
    let slashed = leases
        .acquire(&regions[1], "rack/7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leases.owner(&regions[1]).await.unwrap(), Some(slashed));

    // A value this code never writes is reported, not misread.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{}:lease:{}", keys.prefix(), regions[2]);
    redis::cmd("SET")
        .arg(&key)
        .arg("no-epoch")
        .exec_async(&mut raw)
        .await
        .unwrap();
    let error = leases.owner(&regions[2]).await.unwrap_err();
    assert!(
        matches!(&error, ClusterError::Corrupt { key: k, value } if *k == key && value == "no-epoch"),
        "{error:?}"
    );
    assert_eq!(leases.renew(&on_n2).await.unwrap(), Renewal::Lost);

    directory(&keys).await.purge().await.unwrap();
}

#[tokio::test]
async fn live_nodes_drops_expired_and_departed_nodes() {
    let keys = unique_keys("nodes");
    let directory = directory(&keys).await;
    assert!(directory.live_nodes().await.unwrap().is_empty());
    directory
        .register_node("n1", "http://127.0.0.1:8001", Duration::from_secs(10))
        .await
        .unwrap();
    directory
        .register_node("n2", "http://127.0.0.1:8002", Duration::from_millis(200))
        .await
        .unwrap();
    let live = directory.live_nodes().await.unwrap();
    assert_eq!(
        live.into_iter().collect::<Vec<_>>(),
        vec![
            ("n1".to_owned(), "http://127.0.0.1:8001".to_owned()),
            ("n2".to_owned(), "http://127.0.0.1:8002".to_owned()),
        ]
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let live = directory.live_nodes().await.unwrap();
    assert_eq!(live.keys().collect::<Vec<_>>(), ["n1"]);

    // A heartbeat brings an expired node back; a graceful leave removes it at once.
    directory
        .register_node("n2", "http://127.0.0.1:9002", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        directory
            .live_nodes()
            .await
            .unwrap()
            .get("n2")
            .map(String::as_str),
        Some("http://127.0.0.1:9002")
    );
    directory.unregister_node("n1").await.unwrap();
    assert_eq!(
        directory
            .live_nodes()
            .await
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["n2"]
    );

    directory.purge().await.unwrap();
}

#[tokio::test]
async fn player_map_clears_only_for_the_node_it_points_at() {
    let keys = unique_keys("players");
    let directory = directory(&keys).await;
    assert_eq!(directory.player_node("office", 7).await.unwrap(), None);
    directory.set_player("office", 7, "n1").await.unwrap();
    directory.set_player("campus", 7, "n2").await.unwrap();
    assert_eq!(
        directory.player_node("office", 7).await.unwrap().as_deref(),
        Some("n1")
    );
    assert_eq!(
        directory.player_node("campus", 7).await.unwrap().as_deref(),
        Some("n2")
    );

    // Handed off to n2: n1 leaving late must not erase the new mapping.
    directory.set_player("office", 7, "n2").await.unwrap();
    assert!(!directory.clear_player("office", 7, "n1").await.unwrap());
    assert_eq!(
        directory.player_node("office", 7).await.unwrap().as_deref(),
        Some("n2")
    );
    assert!(directory.clear_player("office", 7, "n2").await.unwrap());
    assert!(!directory.clear_player("office", 7, "n2").await.unwrap());
    assert_eq!(directory.player_node("office", 7).await.unwrap(), None);
    assert_eq!(
        directory.player_node("campus", 7).await.unwrap().as_deref(),
        Some("n2")
    );

    directory.purge().await.unwrap();
}

#[tokio::test]
async fn pins_round_trip_and_replace_a_nodes_pins() {
    let keys = unique_keys("pins");
    let directory = directory(&keys).await;
    let [a, b, c] = [(0, 0), (1, 0), (0, 3)].map(|(col, row)| RegionId { col, row });
    assert!(directory.pins().await.unwrap().is_empty());
    directory.set_pins("n1", &[a, b]).await.unwrap();
    directory.set_pins("n2", &[c]).await.unwrap();
    let pinned = |pins: &[(RegionId, &str)]| {
        pins.iter()
            .map(|(region, node)| (*region, (*node).to_owned()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(
        directory.pins().await.unwrap(),
        pinned(&[(a, "n1"), (b, "n1"), (c, "n2")])
    );
    // n1's new list: a is unpinned, c moves over from n2.
    directory.set_pins("n1", &[b, c]).await.unwrap();
    assert_eq!(
        directory.pins().await.unwrap(),
        pinned(&[(b, "n1"), (c, "n1")])
    );
    directory.set_pins("n1", &[]).await.unwrap();
    assert!(directory.pins().await.unwrap().is_empty());

    directory.purge().await.unwrap();
}

#[tokio::test]
async fn tickets_are_single_use_and_node_numbers_grow() {
    let keys = unique_keys("once");
    let directory = directory(&keys).await;
    let ttl = Duration::from_secs(30);
    assert!(directory.consume_once("ticket-a", ttl).await.unwrap());
    assert!(!directory.consume_once("ticket-a", ttl).await.unwrap());
    assert!(directory.consume_once("ticket-b", ttl).await.unwrap());

    let mut numbers = Vec::new();
    for _ in 0..3 {
        numbers.push(directory.next_node_number().await.unwrap());
    }
    assert_eq!(numbers, [1, 2, 3]);

    // Purge removes every key under the prefix, and only those.
    let neighbour = unique_keys("once-neighbour");
    let other = Directory::connect(&redis_url(), neighbour).await.unwrap();
    assert!(other.consume_once("ticket-a", ttl).await.unwrap());
    assert_eq!(directory.purge().await.unwrap(), 3);
    assert_eq!(directory.purge().await.unwrap(), 0);
    assert!(directory.consume_once("ticket-a", ttl).await.unwrap());
    assert_eq!(directory.next_node_number().await.unwrap(), 1);
    assert!(!other.consume_once("ticket-a", ttl).await.unwrap());

    directory.purge().await.unwrap();
    other.purge().await.unwrap();
}

#[tokio::test]
async fn redis_bus_delivers_between_buses_replaces_and_unsubscribes() {
    let keys = unique_keys("bus");
    let url = redis_url();
    let (publisher, subscriber) = (bus(&url).await, bus(&url).await);
    assert!(publisher.is_connected() && subscriber.is_connected());
    let r = region("office", 3, 4);
    let channel = keys.region_channel(&r);
    let marker = keys.node_channel("n2");

    let (sink, mut first) = channel_sink();
    subscriber.subscribe(&channel, sink);
    let (marker_sink, mut markers) = channel_sink();
    subscriber.subscribe(&marker, marker_sink);
    subscriber.sync().await;

    publisher.publish(&channel, b"hello".to_vec()).unwrap();
    assert_eq!(
        next_message(&mut first).await,
        (channel.clone(), b"hello".to_vec())
    );
    // In order, and binary-safe.
    for i in 0..=255_u8 {
        publisher.publish(&channel, vec![i, 0, 255]).unwrap();
    }
    for i in 0..=255_u8 {
        assert_eq!(next_message(&mut first).await.1, vec![i, 0, 255]);
    }

    // A new sink replaces the old one.
    let (sink, mut second) = channel_sink();
    subscriber.subscribe(&channel, sink);
    subscriber.sync().await;
    publisher.publish(&channel, b"to second".to_vec()).unwrap();
    assert_eq!(next_message(&mut second).await.1, b"to second");

    // Unsubscribed: nothing more on the channel. Messages from one publisher arrive in
    // order, so once the marker is in, the earlier message would have been too.
    subscriber.unsubscribe(&channel);
    subscriber.sync().await;
    publisher.publish(&channel, b"nobody".to_vec()).unwrap();
    publisher.publish(&marker, b"marker".to_vec()).unwrap();
    assert_eq!(next_message(&mut markers).await.1, b"marker");
    assert!(first.try_recv().is_err() && second.try_recv().is_err());

    // A bus hears its own publishes on channels it subscribed to.
    publisher.publish(&marker, b"again".to_vec()).unwrap();
    assert_eq!(next_message(&mut markers).await.1, b"again");
}

#[tokio::test]
async fn redis_bus_publishes_from_a_thread_without_a_runtime() {
    let keys = unique_keys("thread");
    let url = redis_url();
    let publisher = Arc::new(bus(&url).await);
    let subscriber = bus(&url).await;
    let channel = keys.node_channel("n1");
    let (sink, mut messages) = channel_sink();
    subscriber.subscribe(&channel, sink);
    subscriber.sync().await;

    let from_thread = Arc::clone(&publisher);
    let thread_channel = channel.clone();
    let results = std::thread::spawn(move || {
        assert!(tokio::runtime::Handle::try_current().is_err());
        (0..10_u8)
            .map(|i| from_thread.publish(&thread_channel, vec![i]))
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    for i in 0..10_u8 {
        assert_eq!(
            next_message(&mut messages).await,
            (channel.clone(), vec![i])
        );
    }

    // Idle buses ping Redis every second; a healthy link never looks lost.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        assert!(publisher.is_connected() && subscriber.is_connected());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    publisher.publish(&channel, b"still".to_vec()).unwrap();
    assert_eq!(next_message(&mut messages).await.1, b"still");
}

#[tokio::test]
async fn connect_to_nothing_fails_quickly_naming_the_url() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let start = Instant::now();
    let error = RedisBus::connect(&url).await.unwrap_err();
    assert!(
        matches!(&error, BusError::Unavailable { url: u, .. } if *u == url),
        "{error:?}"
    );
    assert!(error.to_string().contains(&url), "{error}");
    assert!(error.to_string().contains("REDIS_URL"), "{error}");

    let keys = Keys::new("plaza-test-nothing");
    let error = Leases::connect(&url, keys.clone(), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClusterError::Unavailable { url: u, .. } if *u == url),
        "{error:?}"
    );
    let error = Directory::connect(&url, keys).await.unwrap_err();
    assert!(error.to_string().contains(&url), "{error}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    let error = RedisBus::connect("not a url").await.unwrap_err();
    assert!(matches!(error, BusError::Unavailable { .. }), "{error:?}");
}

/// A `redis-server` of this test's own on 127.0.0.1, killed on drop.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts a server on `port` (a free one when `None`) and waits until it accepts.
    fn start(port: Option<u16>) -> OwnRedis {
        let port = port.unwrap_or_else(free_port);
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("this test starts redis-server (apt-get install redis-server): {error}")
            });
        let server = OwnRedis {
            port,
            child: Some(child),
        };
        let start = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "redis-server did not listen on port {port} within 5 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: connections stay open, answers stop.
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn bus_and_leases_survive_a_redis_restart() {
    let mut server = OwnRedis::start(None);
    let url = server.url();
    let keys = unique_keys("outage");
    let bus = bus(&url).await;
    let leases = Leases::connect(&url, keys.clone(), Duration::from_secs(5))
        .await
        .unwrap();
    let r = region("office", 0, 0);
    let lease = leases.acquire(&r, "n1").await.unwrap().unwrap();
    let channel = keys.region_channel(&r);
    let (sink, mut messages) = channel_sink();
    bus.subscribe(&channel, sink);
    bus.sync().await;
    bus.publish(&channel, b"before".to_vec()).unwrap();
    assert_eq!(next_message(&mut messages).await.1, b"before");

    server.kill();
    let noticed = wait_until(
        Duration::from_millis(2500),
        "bus noticed the outage",
        || !bus.is_connected(),
    )
    .await;
    eprintln!("outage noticed after {noticed:?}");
    assert!(matches!(
        bus.publish(&channel, b"lost".to_vec()),
        Err(BusError::Disconnected)
    ));
    for _ in 0..3 {
        let start = Instant::now();
        let result = leases.renew(&lease).await;
        assert!(result.is_err(), "{result:?}");
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{:?}",
            start.elapsed()
        );
    }
    let start = Instant::now();
    assert!(leases.owner(&r).await.is_err());
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );

    // Down for a while, so the bus is in its longer backoff steps.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restart = Instant::now();
    let _server = OwnRedis::start(Some(server.port));
    wait_until(Duration::from_millis(3500), "bus reconnected", || {
        bus.is_connected()
    })
    .await;
    eprintln!("reconnected {:?} after the restart", restart.elapsed());

    // The subscription made before the outage is back.
    bus.publish(&channel, b"after".to_vec()).unwrap();
    assert_eq!(next_message(&mut messages).await.1, b"after");

    // Lease calls work again (the first one may still see the old connection fail).
    let start = Instant::now();
    let owner = loop {
        match leases.owner(&r).await {
            Ok(owner) => break owner,
            Err(error) => {
                assert!(
                    start.elapsed() < Duration::from_secs(3),
                    "still failing: {error}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // This Redis kept nothing (no persistence), so the lease is gone.
    assert_eq!(owner, None);
    assert!(leases.acquire(&r, "n1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_frozen_redis_makes_calls_fail_in_time_not_hang() {
    let server = OwnRedis::start(None);
    let url = server.url();
    let keys = unique_keys("frozen");
    let bus: Arc<dyn Bus> = Arc::new(bus(&url).await);
    let directory = Directory::connect(&url, keys.clone()).await.unwrap();
    let channel = keys.node_channel("n1");
    let (sink, mut messages) = channel_sink();
    bus.subscribe(&channel, sink);
    directory
        .register_node("n1", "http://127.0.0.1:8001", Duration::from_secs(60))
        .await
        .unwrap();

    server.signal("-STOP");
    for _ in 0..2 {
        let start = Instant::now();
        let result = directory.live_nodes().await;
        assert!(result.is_err(), "{result:?}");
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{:?}",
            start.elapsed()
        );
    }
    // The bus's ping goes unanswered.
    wait_until(
        Duration::from_millis(3500),
        "bus noticed the frozen Redis",
        || !bus.is_connected(),
    )
    .await;
    assert!(matches!(
        bus.publish(&channel, vec![0]),
        Err(BusError::Disconnected)
    ));

    server.signal("-CONT");
    wait_until(Duration::from_secs(4), "bus reconnected", || {
        bus.is_connected()
    })
    .await;
    bus.publish(&channel, b"thawed".to_vec()).unwrap();
    assert_eq!(next_message(&mut messages).await.1, b"thawed");
    let start = Instant::now();
    let live = loop {
        match directory.live_nodes().await {
            Ok(live) => break live,
            Err(error) => {
                assert!(
                    start.elapsed() < Duration::from_secs(3),
                    "still failing: {error}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(live.keys().collect::<Vec<_>>(), ["n1"]);
}
