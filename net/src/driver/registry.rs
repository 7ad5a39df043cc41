//! [`Spaces`]: the running space threads, started on first join.

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
use super::space::{SpaceLoop, Wiring};
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
    /// Changes a client may leave unacknowledged before it is dropped as too slow.
    pub max_unacked_changes: usize,
    /// Side of a region in tiles.
    pub region_size: u32,
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
            max_unacked_changes: 20_000,
            region_size: 64,
            first_entity_id: 1,
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
    tx: std::sync::mpsc::SyncSender<Command>,
    tick: Arc<AtomicU64>,
}

impl SpaceHandle {
    /// Queues a command; `false` when the space is overloaded or stopped (the command is
    /// dropped: the client's unacknowledged inputs are re-sent or re-issued by the client).
    pub fn send(&self, command: Command) -> bool {
        self.tx.try_send(command).is_ok()
    }

    /// A handle on a bare command queue (no space thread), for tests of what sessions send.
    #[cfg(test)]
    pub(crate) fn on_queue(tx: std::sync::mpsc::SyncSender<Command>) -> SpaceHandle {
        SpaceHandle {
            tx,
            tick: Arc::default(),
        }
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

/// A started space thread and the handle its sessions send to.
#[derive(Debug)]
struct Running {
    handle: SpaceHandle,
    thread: std::thread::JoinHandle<()>,
}

/// What a panic said, if it said it with a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Every running space, by id, and the database writer they share.
#[derive(Debug)]
pub struct Spaces {
    config: DriverConfig,
    metrics: Arc<Metrics>,
    node: Arc<NodeContext>,
    load: Arc<LoadBoard>,
    running: Mutex<HashMap<String, Running>>,
    persist: Mutex<Option<mpsc::UnboundedSender<PersistOp>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Spaces {
    /// No spaces running yet; database writes go through `store`; the threads belong to
    /// `node`'s cluster and publish their regions' load on `load`. Needs a Tokio runtime.
    pub fn new(
        config: DriverConfig,
        store: Store,
        metrics: Arc<Metrics>,
        node: Arc<NodeContext>,
        load: Arc<LoadBoard>,
    ) -> Spaces {
        let (persist, writer) = spawn_writer(store);
        Spaces {
            config,
            metrics,
            node,
            load,
            running: Mutex::default(),
            persist: Mutex::new(Some(persist)),
            writer: Mutex::new(Some(writer)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DriverConfig {
        &self.config
    }

    /// The cluster this node belongs to.
    pub fn node(&self) -> &Arc<NodeContext> {
        &self.node
    }

    /// The handle of a started thread, unless the thread ended (outside [`Spaces::shutdown`]:
    /// a panic, a bug) and the space can be started again. On a single node it can; in a
    /// cluster the coordinator holds the space's leases and granted them to the old thread
    /// only, so a new thread would own none of its regions: there the ended thread's handle
    /// stays (joins get `Closed`) until the node restarts.
    fn current(&self, r: &Running) -> Option<SpaceHandle> {
        (!r.thread.is_finished() || self.node.is_clustered()).then(|| r.handle.clone())
    }

    /// The running thread of a space, if it runs.
    pub fn running(&self, space: &str) -> Option<SpaceHandle> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.get(space).and_then(|r| self.current(r))
    }

    /// The running thread of `space`, started (on `map`) if needed. On a single node, a
    /// thread that ended without being stopped (a panic: a bug) is replaced by a new one,
    /// so the space takes joins again from the next connection on (players come back at
    /// their saved tiles) instead of refusing every join until the node restarts.
    /// `None` after shutdown.
    pub fn handle(&self, space: &Space, map: Arc<TileMap>) -> Option<SpaceHandle> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = running.get(&space.id).and_then(|r| self.current(r)) {
            return Some(h);
        }
        // Not started, or ended and to be started again.
        if let Some(ended) = running.remove(&space.id) {
            // Finished: the join returns at once.
            let why = match ended.thread.join() {
                Ok(()) => "it returned".to_owned(),
                Err(payload) => format!("it panicked: {}", panic_message(payload.as_ref())),
            };
            tracing::error!(space = %space.id, why, "space thread ended unexpectedly; starting it again");
        }
        let persist = self
            .persist
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(self.config.command_capacity);
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
        let name = format!("space-{}", space.id);
        let thread = match std::thread::Builder::new()
            .name(name)
            .spawn(move || space_loop.run(rx))
        {
            Ok(thread) => thread,
            Err(e) => {
                tracing::error!(error = %e, "cannot start a space thread");
                return None;
            }
        };
        tracing::info!(space = %space.id, map = %space.map, "space started");
        let handle = SpaceHandle { tx, tick };
        running.insert(
            space.id.clone(),
            Running {
                handle: handle.clone(),
                thread,
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

/// A stable seed from a space id (FNV-1a), so a space's spawn choices are reproducible.
fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

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
        let (tx, rx) = sync_channel(1);
        let handle = SpaceHandle::on_queue(tx);
        assert!(handle.send(Command::Leave {
            conn: ConnId::next(),
            account: 1
        }));
        assert_eq!(handle.join(request()).await.unwrap_err(), JoinError::Busy);
        // Only the command queued before is there.
        let queued: Vec<Command> = rx.try_iter().collect();
        assert!(matches!(queued[..], [Command::Leave { account: 1, .. }]));
    }

    #[tokio::test]
    async fn a_join_into_a_stopped_space_is_closed() {
        let (tx, rx) = sync_channel(4);
        let handle = SpaceHandle::on_queue(tx);
        drop(rx);
        assert_eq!(handle.join(request()).await.unwrap_err(), JoinError::Closed);
        // A space thread that takes the join and stops without answering: closed too.
        let (tx, rx) = sync_channel(4);
        let handle = SpaceHandle::on_queue(tx);
        let space = std::thread::spawn(move || drop(rx.recv()));
        assert_eq!(handle.join(request()).await.unwrap_err(), JoinError::Closed);
        space.join().unwrap();
    }

    #[tokio::test]
    async fn a_space_whose_thread_ended_is_started_again_on_the_next_join() {
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
        let spaces = Spaces::new(DriverConfig::default(), store, metrics, node, load);
        let space = Space {
            id: "heal".into(),
            name: "Heal".into(),
            map: "floor".into(),
            owner: 1,
            created_at: 0,
            max_players: 10,
            public: false,
        };
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
