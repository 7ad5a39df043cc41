//! [`Spaces`]: the running spaces, started on first join and hosted on the node's tick
//! workers; a space nobody is in is unloaded after a while and started again on the next
//! join.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::TrySendError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use persistence::{Space, Store};
use sim::interest::{AoiConfig, ProximityConfig};
use sim::{SimConfig, TileMap};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::commands::{Command, Inspection, JoinError, JoinRequest, Joined};
use super::persist::{PersistOp, spawn_writer};
#[cfg(test)]
use super::queue::CommandQueue;
use super::queue::{QueueSender, command_queue};
use super::space::{SpaceLoop, Wiring};
use super::workers::{EndCell, Ended, Hosted, OnEnd, TickWorkers};
use crate::cluster::NodeContext;
use crate::load::LoadBoard;
use crate::metrics::Metrics;

/// Settings of every space thread.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Ticks per second.
    pub tick_hz: u32,
    /// Threads of each space's interest pass (1: the space's own thread only).
    pub interest_threads: usize,
    /// Each client's area of interest.
    pub aoi: AoiConfig,
    /// Proximity (near/far) settings.
    pub proximity: ProximityConfig,
    /// How long an avatar stays after its connection drops, so a reconnect resumes it.
    pub linger: Duration,
    /// Frames a client may have queued before it is dropped as too slow.
    pub outbound_capacity: usize,
    /// Commands a space may have queued before new ones are refused.
    pub command_capacity: usize,
    /// How often connected players' positions are saved.
    pub save_every: Duration,
    /// Most ticks run back to back to catch up after a stall.
    pub max_catch_up: u32,
    /// How long a snapshot may stay unacknowledged before its client is closed as too
    /// slow (`Error{11}`): a client that stops reading is let go within this plus one
    /// acknowledgement interval ([`schema::ACK_INTERVAL_TICKS`]).
    pub max_unacked: Duration,
    /// Side of a region in tiles.
    pub region_size: u32,
    /// Threads that tick the node's spaces (0: one per core).
    pub tick_workers: usize,
    /// A space with nobody in it (not even a lingering avatar) for this long is saved and
    /// unloaded; the next join loads it again. Single nodes only.
    pub unload_after: Duration,
    /// The first entity id this node hands out (cluster nodes use disjoint ranges).
    pub first_entity_id: u64,
}

impl Default for DriverConfig {
    fn default() -> DriverConfig {
        DriverConfig {
            tick_hz: 20,
            interest_threads: 1,
            aoi: AoiConfig::default(),
            proximity: ProximityConfig::default(),
            linger: Duration::from_secs(5),
            outbound_capacity: 256,
            command_capacity: 8192,
            save_every: Duration::from_secs(5),
            max_catch_up: 5,
            max_unacked: Duration::from_secs(2),
            region_size: 64,
            first_entity_id: 1,
            tick_workers: 0,
            unload_after: Duration::from_secs(60),
        }
    }
}

impl DriverConfig {
    /// Ticks in a duration at this rate (at least 1).
    pub(crate) fn ticks(&self, d: Duration) -> u64 {
        ((d.as_secs_f64() * f64::from(self.tick_hz)).round() as u64).max(1)
    }
}

/// A running space: send it commands.
#[derive(Clone, Debug)]
pub struct SpaceHandle {
    tx: QueueSender,
    tick: Arc<AtomicU64>,
}

impl SpaceHandle {
    /// Queues a command; `false` when the space is overloaded or stopped (the command is
    /// dropped: the client's unacknowledged inputs are re-sent or re-issued by the client).
    pub fn send(&self, command: Command) -> bool {
        self.tx.try_send(command).is_ok()
    }

    /// A handle on a bare command queue of `capacity` (no space), for tests of what
    /// sessions send.
    #[cfg(test)]
    pub(crate) fn on_queue(capacity: usize) -> (SpaceHandle, CommandQueue) {
        let (tx, rx) = command_queue(capacity);
        let handle = SpaceHandle {
            tx,
            tick: Arc::default(),
        };
        (handle, rx)
    }

    /// Asks to join; resolves with the Welcome or the reason for refusal:
    /// [`JoinError::Busy`] when the command queue is full, [`JoinError::Closed`] when the
    /// space thread has stopped.
    pub async fn join(&self, request: JoinRequest) -> Result<Joined, JoinError> {
        let (tx, rx) = oneshot::channel();
        match self.tx.try_send(Command::Join(request, tx)) {
            Ok(()) => rx.await.unwrap_or(Err(JoinError::Closed)),
            Err(TrySendError::Full(_)) => Err(JoinError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(JoinError::Closed),
        }
    }

    /// The space thread's local avatars; `None` when it stopped.
    pub async fn inspect(&self) -> Option<Inspection> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Command::Inspect(tx)) {
            return None;
        }
        rx.await.ok()
    }

    /// The space's last completed tick.
    pub fn tick(&self) -> u64 {
        self.tick.load(Ordering::Relaxed)
    }
}

/// A started space and the handle its sessions send to.
#[derive(Debug)]
struct Running {
    handle: SpaceHandle,
    /// Set when the space stops running.
    ended: EndCell,
}

/// Every running space, by id, and the database writer they share.
#[derive(Debug)]
pub struct Spaces {
    config: DriverConfig,
    metrics: Arc<Metrics>,
    node: Arc<NodeContext>,
    load: Arc<LoadBoard>,
    running: Arc<Mutex<HashMap<String, Running>>>,
    workers: TickWorkers,
    persist: Mutex<Option<mpsc::UnboundedSender<PersistOp>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Spaces {
    /// No spaces running yet; database writes go through `store`; the spaces belong to
    /// `node`'s cluster and publish their regions' load on `load`. Starts the tick workers
    /// (`tick_workers`, or one per core). Needs a Tokio runtime.
    pub fn new(
        config: DriverConfig,
        store: Store,
        metrics: Arc<Metrics>,
        node: Arc<NodeContext>,
        load: Arc<LoadBoard>,
    ) -> Spaces {
        let workers = match config.tick_workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let workers = TickWorkers::start(workers, metrics.spaces_loaded.clone());
        let (persist, writer) = spawn_writer(store);
        Spaces {
            config,
            metrics,
            node,
            load,
            running: Arc::default(),
            workers,
            persist: Mutex::new(Some(persist)),
            writer: Mutex::new(Some(writer)),
        }
    }

    /// Spaces loaded now (hosted on the tick workers).
    pub fn loaded(&self) -> usize {
        usize::try_from(self.metrics.spaces_loaded.get()).unwrap_or(0)
    }

    /// The configuration.
    pub fn config(&self) -> &DriverConfig {
        &self.config
    }

    /// The cluster this node belongs to.
    pub fn node(&self) -> &Arc<NodeContext> {
        &self.node
    }

    /// The handle of a started space, unless it ended (outside [`Spaces::shutdown`]: a
    /// panic, a bug, or unloaded when empty) and can be started again. On a single node it
    /// can; in a cluster the coordinator holds the space's leases and granted them to the
    /// old space only, so a new one would own none of its regions: there the ended space's
    /// handle stays (joins get `Closed`) until the node restarts.
    fn current(&self, r: &Running) -> Option<SpaceHandle> {
        (r.ended.get().is_none() || self.node.is_clustered()).then(|| r.handle.clone())
    }

    /// The handle of a space, if it runs.
    pub fn running(&self, space: &str) -> Option<SpaceHandle> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.get(space).and_then(|r| self.current(r))
    }

    /// The running `space`, started (on `map`) if needed. On a single node, a space that
    /// ended without being stopped (unloaded, or a panic: a bug) is replaced by a new one,
    /// so the space takes joins again from the next connection on (players come back at
    /// their saved tiles). `None` after shutdown.
    pub fn handle(&self, space: &Space, map: Arc<TileMap>) -> Option<SpaceHandle> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = running.get(&space.id).and_then(|r| self.current(r)) {
            return Some(h);
        }
        // Not started, or ended and to be started again.
        if let Some(ended) = running.remove(&space.id) {
            match ended.ended.get() {
                Some(Ended::Unloaded) | None => {}
                Some(why) => {
                    tracing::error!(space = %space.id, ?why, "space ended unexpectedly; starting it again");
                }
            }
        }
        let persist = self
            .persist
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let (tx, rx) = command_queue(self.config.command_capacity);
        let tick = Arc::new(AtomicU64::new(0));
        let sim_config = SimConfig {
            tick_rate_hz: self.config.tick_hz,
            seed: seed_of(&space.id),
            region_size: self.config.region_size,
            first_entity_id: self.config.first_entity_id,
            ..SimConfig::default()
        };
        let space_loop = SpaceLoop::new(
            space.clone(),
            map,
            sim_config,
            self.config.clone(),
            Wiring {
                metrics: self.metrics.clone(),
                persist,
                tick_out: tick.clone(),
                node: self.node.clone(),
                load: self.load.clone(),
                self_tx: tx.clone(),
            },
        )
        .ok()?;
        let ended = EndCell::default();
        let hosted = Hosted {
            space: space_loop,
            rx,
            ended: ended.clone(),
            on_end: forget_when_unloaded(&self.running, &space.id, &ended),
        };
        if !self.workers.host(hosted) {
            tracing::error!(space = %space.id, "no tick worker runs; cannot start the space");
            return None;
        }
        tracing::info!(space = %space.id, map = %space.map, "space started");
        let handle = SpaceHandle { tx, tick };
        running.insert(
            space.id.clone(),
            Running {
                handle: handle.clone(),
                ended,
            },
        );
        Some(handle)
    }

    /// Stops every space (each saves its players' positions), then waits until the database
    /// writer has written everything.
    pub async fn shutdown(&self) {
        // No new space from here on (`handle` needs the writer's sender): a space started
        // after the drain below would never be stopped, and the writer would wait for it.
        // A `handle` call that got the sender first holds the map's lock, so its space is
        // in the drain.
        self.persist
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let handles: Vec<(String, SpaceHandle)> = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(id, r)| (id, r.handle))
            .collect();
        for (id, handle) in handles {
            let (tx, rx) = oneshot::channel();
            // A full queue is drained quickly at shutdown; retry briefly.
            let mut command = Some(Command::Stop(tx));
            for _ in 0..100 {
                match handle.tx.try_send(command.take().expect("set")) {
                    Ok(()) => break,
                    Err(TrySendError::Full(c)) => {
                        command = Some(c);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(TrySendError::Disconnected(_)) => break,
                }
            }
            let _ = rx.await;
            tracing::info!(space = %id, "space stopped");
        }
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
    }
}

/// What a space's worker does when it ends: an unloaded space leaves the registry (its
/// handle and queue are freed, not kept until its id is looked up again). Only the entry of
/// this very space (`ended`) is removed: a newer one started under the same id stays.
fn forget_when_unloaded(
    running: &Arc<Mutex<HashMap<String, Running>>>,
    id: &str,
    ended: &EndCell,
) -> OnEnd {
    let (running, id, ended) = (Arc::downgrade(running), id.to_owned(), ended.clone());
    Box::new(move |why| {
        if *why != Ended::Unloaded {
            return;
        }
        let Some(running) = running.upgrade() else {
            return;
        };
        let mut running = running.lock().unwrap_or_else(|e| e.into_inner());
        if running
            .get(&id)
            .is_some_and(|r| Arc::ptr_eq(&r.ended, &ended))
        {
            running.remove(&id);
        }
    })
}

/// A stable seed from a space id (FNV-1a), so a space's spawn choices are reproducible.
fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::ConnId;

    fn request() -> JoinRequest {
        JoinRequest {
            conn: ConnId::next(),
            account: 7,
            name: "ada".into(),
            avatar: 0,
            saved: None,
            out: mpsc::channel(1).0,
        }
    }

    #[tokio::test]
    async fn a_join_into_a_full_queue_is_busy_and_leaves_the_queue_as_it_was() {
        let (handle, rx) = SpaceHandle::on_queue(1);
        assert!(handle.send(Command::Leave {
            conn: ConnId::next(),
            account: 1
        }));
        assert_eq!(handle.join(request()).await.unwrap_err(), JoinError::Busy);
        // Only the command queued before is there.
        let queued: Vec<Command> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert!(matches!(queued[..], [Command::Leave { account: 1, .. }]));
    }

    #[tokio::test]
    async fn a_join_into_a_stopped_space_is_closed() {
        let (handle, rx) = SpaceHandle::on_queue(4);
        drop(rx);
        assert_eq!(handle.join(request()).await.unwrap_err(), JoinError::Closed);
        // A space that takes the join and stops without answering: closed too.
        let (handle, rx) = SpaceHandle::on_queue(4);
        let space = std::thread::spawn(move || {
            while rx.try_recv().is_err() {
                std::thread::yield_now();
            }
        });
        assert_eq!(handle.join(request()).await.unwrap_err(), JoinError::Closed);
        space.join().unwrap();
    }

    /// A single node's registry with `config`, on an in-memory database.
    async fn registry(config: DriverConfig) -> Spaces {
        let store = Store::connect(&persistence::StoreConfig::new("sqlite::memory:"))
            .await
            .unwrap();
        let metrics = Arc::new(Metrics::new());
        let node = Arc::new(NodeContext::single(
            "n".into(),
            "http://n".into(),
            b"secret",
        ));
        let load = Arc::new(LoadBoard::new(metrics.clone()));
        Spaces::new(config, store, metrics, node, load)
    }

    fn space(id: &str) -> Space {
        Space {
            id: id.into(),
            name: id.into(),
            map: "floor".into(),
            owner: 1,
            created_at: 0,
            max_players: 10,
            public: false,
        }
    }

    /// Waits (at most 10 s) until `done` holds.
    async fn eventually(what: &str, done: impl Fn() -> bool) {
        let wait = async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("{what} within 10 s"));
    }

    #[tokio::test]
    async fn many_spaces_share_the_tick_workers_and_empty_ones_are_unloaded() {
        let config = DriverConfig {
            tick_workers: 2,
            linger: Duration::from_millis(50),
            unload_after: Duration::from_millis(300),
            ..DriverConfig::default()
        };
        let spaces = registry(config).await;
        let map = Arc::new(TileMap::open_floor(16, 16));
        let ids: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let mut handles = Vec::new();
        for id in &ids {
            let handle = spaces.handle(&space(id), map.clone()).unwrap();
            let join = request();
            let conn = join.conn;
            assert!(handle.join(join).await.is_ok(), "{id} takes a join");
            handles.push((handle, conn));
        }
        assert_eq!(spaces.loaded(), 40, "40 spaces on 2 workers");
        assert_eq!(spaces.metrics.spaces_loaded.get(), 40);
        // Every one of them ticks.
        eventually("every space ticks", || {
            handles.iter().all(|(h, _)| h.tick() > 3)
        })
        .await;
        // Their players leave; the lingering avatars expire, then the empty spaces unload.
        for (handle, conn) in &handles {
            assert!(handle.send(Command::Leave {
                conn: *conn,
                account: 7
            }));
        }
        eventually("every empty space is unloaded", || spaces.loaded() == 0).await;
        assert!(ids.iter().all(|id| spaces.running(id).is_none()));
        assert!(spaces.running.lock().unwrap().is_empty(), "entries freed");
        assert_eq!(spaces.metrics.spaces_loaded.get(), 0);
        let series = spaces.metrics.encode();
        assert!(
            !series.contains("space=\"s1\""),
            "an unloaded space's series are gone: {series}"
        );
        // A join loads a space again.
        let again = spaces.handle(&space("s0"), map).unwrap();
        assert!(again.join(request()).await.is_ok());
        assert_eq!(spaces.loaded(), 1);
        spaces.shutdown().await;
    }

    #[tokio::test]
    async fn a_space_whose_thread_ended_is_started_again_on_the_next_join() {
        let spaces = registry(DriverConfig::default()).await;
        let space = space("heal");
        let map = Arc::new(TileMap::open_floor(16, 16));
        let first = spaces.handle(&space, map.clone()).unwrap();
        assert!(first.join(request()).await.is_ok());
        // The thread ends without the registry knowing (as a panic would end it).
        let (tx, rx) = oneshot::channel();
        assert!(first.send(Command::Stop(tx)));
        rx.await.unwrap();
        let ended = async {
            while spaces.running(&space.id).is_some() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), ended)
            .await
            .expect("the registry sees that the thread ended");
        assert_eq!(first.join(request()).await.unwrap_err(), JoinError::Closed);
        // The next join's lookup starts a new thread, which takes joins.
        let second = spaces.handle(&space, map.clone()).unwrap();
        assert!(second.join(request()).await.is_ok());
        assert!(spaces.running(&space.id).is_some());
        spaces.shutdown().await;
        // Nothing starts after shutdown.
        assert!(spaces.handle(&space, map).is_none());
        assert!(spaces.running(&space.id).is_none());
    }
}
