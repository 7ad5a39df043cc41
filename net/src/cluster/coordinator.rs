//! [`Coordinator`]: one task per cluster node that keeps its region leases and its view of
//! the cluster current.
//!
//! Every heartbeat (a third of the lease TTL) it registers the node, renews its leases (a
//! lost lease makes the space thread drop the region at once: fencing), refreshes who owns
//! what, and claims regions nobody serves:
//! - a region pinned to this node, or being moved to it, at once;
//! - a region whose owner died (its lease expired: it was owned before) at once, unless it
//!   is pinned to another live node;
//! - a region never owned and not pinned to a live node after [`CLAIM_GRACE`] (so nodes
//!   started together can publish their pins first).
//!
//! A claimed region starts from its last snapshot, without the players known to be on
//! another live node. Live moves ([`Coordinator::move_region`]) go through the database
//! and a Redis handover key: release here → the target claims → players migrate.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sim::{RegionGrid, RegionId};
use tokio::sync::{Notify, mpsc, oneshot};

use super::{
    AvatarRecord, ClusterError, Directory, Lease, Leases, NodeContext, NodeOp, RegionKey,
    RegionSnapshot, Renewal,
};
use crate::driver::{Command, RegionCommand, SpaceHandle};
use crate::state::AppState;

/// How long a never-owned, unpinned region waits before any node claims it.
pub const CLAIM_GRACE: Duration = Duration::from_secs(2);
/// How long a live move waits for the target to take the region.
const MOVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a live region move failed.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// This node does not own the region.
    #[error("this node does not own region {0}")]
    NotOwner(RegionKey),
    /// The target is not a live node.
    #[error("node {0:?} is not a live node of the cluster")]
    UnknownNode(String),
    /// The target did not take the region in time; it stays here.
    #[error("node {0:?} did not take the region within {MOVE_TIMEOUT:?}; it stays here")]
    Timeout(String),
    /// The space thread is gone.
    #[error("the region's space is not running here")]
    NotRunning,
    /// Redis or the database failed.
    #[error("{0}")]
    Backend(String),
}

impl From<ClusterError> for MoveError {
    fn from(e: ClusterError) -> MoveError {
        MoveError::Backend(e.to_string())
    }
}

/// Requests to the coordinator task.
#[derive(Debug)]
pub enum CoordinatorRequest {
    /// Move a region this node owns to `node`.
    Move {
        /// The region.
        region: RegionKey,
        /// The target node.
        node: String,
        /// The outcome.
        reply: oneshot::Sender<Result<(), MoveError>>,
    },
    /// Release every lease (graceful shutdown).
    Leave(oneshot::Sender<()>),
}

/// A handle to the coordinator: poke it, ask it for moves.
#[derive(Clone, Debug)]
pub struct CoordinatorHandle {
    poke: Arc<Notify>,
    requests: mpsc::UnboundedSender<CoordinatorRequest>,
}

impl CoordinatorHandle {
    /// Runs a heartbeat now (a space just became active).
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Moves a region this node owns to `node`.
    pub async fn move_region(&self, region: RegionKey, node: String) -> Result<(), MoveError> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(CoordinatorRequest::Move {
                region,
                node,
                reply,
            })
            .map_err(|_| MoveError::NotRunning)?;
        rx.await.unwrap_or(Err(MoveError::NotRunning))
    }

    /// Releases every lease and waits until done.
    pub async fn leave(&self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(CoordinatorRequest::Leave(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// The coordinator task's state.
pub struct Coordinator {
    state: AppState,
    node: Arc<NodeContext>,
    leases: Leases,
    directory: Directory,
    pins: Vec<RegionId>,
    held: BTreeMap<RegionKey, Lease>,
    first_seen_unowned: HashMap<RegionKey, Instant>,
    grids: HashMap<String, RegionGrid>,
    redis_down: bool,
    /// When Redis came back after an outage: nothing is claimed for one lease TTL, so the
    /// other nodes can re-register and renew their own leases first.
    recovered_at: Option<Instant>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("node", &self.node.node_id)
            .field("held", &self.held.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Coordinator {
    /// Starts the coordinator of `state`'s node; `ops` is the node's [`NodeOp`] queue.
    pub fn start(
        state: AppState,
        leases: Leases,
        directory: Directory,
        pins: Vec<RegionId>,
        ops: mpsc::UnboundedReceiver<NodeOp>,
    ) -> CoordinatorHandle {
        let poke = Arc::new(Notify::new());
        let (requests, rx) = mpsc::unbounded_channel();
        let coordinator = Coordinator {
            node: state.spaces.node().clone(),
            state,
            leases,
            directory,
            pins,
            held: BTreeMap::new(),
            first_seen_unowned: HashMap::new(),
            grids: HashMap::new(),
            redis_down: false,
            recovered_at: None,
        };
        tokio::spawn(coordinator.run(poke.clone(), rx, ops));
        CoordinatorHandle { poke, requests }
    }

    async fn run(
        mut self,
        poke: Arc<Notify>,
        mut requests: mpsc::UnboundedReceiver<CoordinatorRequest>,
        mut ops: mpsc::UnboundedReceiver<NodeOp>,
    ) {
        if let Err(e) = self
            .directory
            .set_pins(&self.node.node_id, &self.pins)
            .await
        {
            tracing::warn!(error = %e, "cannot publish this node's pins");
        }
        let period = self.leases.ttl() / 3;
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => self.heartbeat().await,
                () = poke.notified() => self.heartbeat().await,
                Some(op) = ops.recv() => self.apply(op).await,
                request = requests.recv() => match request {
                    Some(CoordinatorRequest::Move { region, node, reply }) => {
                        let _ = reply.send(self.move_region(region, &node).await);
                    }
                    Some(CoordinatorRequest::Leave(done)) => {
                        self.leave().await;
                        let _ = done.send(());
                        return;
                    }
                    None => return,
                },
            }
        }
    }

    async fn apply(&self, op: NodeOp) {
        let node = &self.node.node_id;
        let result = match &op {
            NodeOp::SetPlayer { space, account } => {
                self.directory.set_player(space, *account, node).await
            }
            NodeOp::ClearPlayer { space, account } => self
                .directory
                .clear_player(space, *account, node)
                .await
                .map(drop),
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, ?op, "player map not updated");
        }
    }

    async fn heartbeat(&mut self) {
        let node = self.node.node_id.clone();
        let registered = self
            .directory
            .register_node(&node, &self.node.public_url, self.leases.ttl())
            .await;
        if let Err(e) = registered {
            if !self.redis_down {
                tracing::warn!(error = %e, "Redis unreachable: serving the regions held, refusing handoffs until it returns");
                self.redis_down = true;
            }
            return;
        }
        if self.redis_down {
            tracing::info!("Redis reachable again");
            self.redis_down = false;
            self.recovered_at = Some(Instant::now());
        }
        self.renew().await;
        let settling = self
            .recovered_at
            .is_some_and(|t| t.elapsed() < self.leases.ttl());
        if let Err(e) = self.claim(!settling).await {
            tracing::warn!(error = %e, "cannot claim regions");
        }
    }

    async fn renew(&mut self) {
        let held: Vec<(RegionKey, Lease)> = self
            .held
            .iter()
            .map(|(k, l)| (k.clone(), l.clone()))
            .collect();
        for (key, lease) in held {
            match self.leases.renew(&lease).await {
                Ok(Renewal::Renewed) => {}
                Ok(Renewal::Lost) => {
                    tracing::warn!(region = %key, epoch = lease.epoch, "lease lost to another node");
                    self.held.remove(&key);
                    self.send(&key.space, RegionCommand::Lost { region: key.region });
                }
                Err(e) => tracing::warn!(region = %key, error = %e, "lease not renewed"),
            }
        }
    }

    fn send(&self, space: &str, command: RegionCommand) {
        if let Some(handle) = self.state.spaces.running(space)
            && !handle.send(Command::Region(command))
        {
            tracing::error!(space, "space thread refused a region command");
        }
    }

    /// The grid of a space (its map's size cut by the region size).
    async fn grid(&mut self, space: &str) -> Option<RegionGrid> {
        if let Some(g) = self.grids.get(space) {
            return Some(*g);
        }
        let row = self.state.store.space(space).await.ok()??;
        let map = self.state.maps.get(&row.map)?;
        let grid = RegionGrid::new(
            map.tile_map.width(),
            map.tile_map.height(),
            self.state.config.region_size,
        );
        self.grids.insert(space.to_owned(), grid);
        Some(grid)
    }

    /// Refreshes the view of every space in use and, when `claiming`, takes the regions
    /// nobody serves that this node may take.
    async fn claim(&mut self, claiming: bool) -> Result<(), ClusterError> {
        let nodes = self.directory.live_nodes().await?;
        let pins = self.directory.pins().await?;
        let me = self.node.node_id.clone();
        for space in self.directory.spaces().await? {
            let Some(grid) = self.grid(&space).await else {
                continue;
            };
            let keys: Vec<RegionKey> = grid
                .regions()
                .map(|r| RegionKey::new(space.clone(), r))
                .collect();
            let owners = self.leases.owners(&keys).await?;
            let view = keys
                .iter()
                .cloned()
                .zip(
                    owners
                        .iter()
                        .map(|o| o.as_ref().map(|l| (l.node.clone(), l.epoch))),
                )
                .collect();
            self.node.refresh(&space, view, &nodes);
            for (key, owner) in keys.into_iter().zip(owners) {
                if owner.is_some() || !claiming {
                    self.first_seen_unowned.remove(&key);
                    continue;
                }
                if let Some(handover) = self.claimable(&key, &pins, &nodes, &me).await? {
                    self.take(key, handover).await?;
                }
            }
        }
        Ok(())
    }

    /// Whether this node may claim an unowned region: `None` if not, `Some(true)` when
    /// a live move hands it over to this node, `Some(false)` otherwise.
    async fn claimable(
        &mut self,
        key: &RegionKey,
        pins: &BTreeMap<RegionId, String>,
        nodes: &BTreeMap<String, String>,
        me: &str,
    ) -> Result<Option<bool>, ClusterError> {
        if let Some(target) = self.directory.handover(key).await? {
            return Ok((target == me).then_some(true));
        }
        match pins.get(&key.region) {
            Some(n) if n == me => return Ok(Some(false)),
            Some(n) if nodes.contains_key(n) => return Ok(None),
            _ => {}
        }
        if self.leases.last_epoch(key).await? > 0 {
            return Ok(Some(false)); // orphaned: its owner died
        }
        let since = *self
            .first_seen_unowned
            .entry(key.clone())
            .or_insert_with(Instant::now);
        Ok((since.elapsed() >= CLAIM_GRACE).then_some(false))
    }

    /// Acquires a region and hands it to its space thread with its last snapshot (all of
    /// it for a live move: its players are on their way here).
    async fn take(&mut self, key: RegionKey, handover: bool) -> Result<(), ClusterError> {
        let Some(lease) = self.leases.acquire(&key, &self.node.node_id).await? else {
            return Ok(());
        };
        self.first_seen_unowned.remove(&key);
        let restore = self.restorable(&key, handover).await?;
        let Some(handle) = self.space_handle(&key.space).await else {
            let _ = self.leases.release(&lease).await;
            return Ok(());
        };
        self.node.set_owner(
            key.clone(),
            super::Owner {
                node: self.node.node_id.clone(),
                url: self.node.public_url.clone(),
                epoch: lease.epoch,
            },
        );
        tracing::info!(region = %key, epoch = lease.epoch, avatars = restore.len(), "region claimed");
        let command = RegionCommand::Gained {
            region: key.region,
            epoch: lease.epoch,
            restore,
        };
        if handle.send(Command::Region(command)) {
            self.held.insert(key, lease);
        } else {
            let _ = self.leases.release(&lease).await;
        }
        Ok(())
    }

    /// The avatars of a region's last snapshot, without players on another live node
    /// (unless `all`).
    async fn restorable(
        &self,
        key: &RegionKey,
        all: bool,
    ) -> Result<Vec<AvatarRecord>, ClusterError> {
        let stored = self
            .state
            .store
            .region_snapshot(
                &key.space,
                i32::from(key.region.col),
                i32::from(key.region.row),
            )
            .await
            .map_err(|e| ClusterError::Backend(e.to_string()))?;
        let Some(stored) = stored else {
            return Ok(Vec::new());
        };
        let snapshot = RegionSnapshot::decode(&stored.data).unwrap_or_else(|e| {
            tracing::error!(region = %key, error = %e, "unreadable region snapshot ignored");
            RegionSnapshot::default()
        });
        if all {
            return Ok(snapshot.avatars);
        }
        let live = self.directory.live_nodes().await?;
        let mut keep = Vec::new();
        for avatar in snapshot.avatars {
            let account = i64::try_from(avatar.account).unwrap_or(0);
            let elsewhere = self
                .directory
                .player_node(&key.space, account)
                .await?
                .is_some_and(|n| n != self.node.node_id && live.contains_key(&n));
            if !elsewhere {
                keep.push(avatar);
            }
        }
        Ok(keep)
    }

    async fn space_handle(&self, space: &str) -> Option<SpaceHandle> {
        let row = self.state.store.space(space).await.ok()??;
        let map = self.state.maps.get(&row.map)?.tile_map.clone();
        self.state.spaces.handle(&row, map)
    }

    /// Live move of a region this node owns to `target`.
    async fn move_region(&mut self, key: RegionKey, target: &str) -> Result<(), MoveError> {
        let lease = self
            .held
            .get(&key)
            .cloned()
            .ok_or_else(|| MoveError::NotOwner(key.clone()))?;
        let nodes = self.directory.live_nodes().await?;
        let url = nodes
            .get(target)
            .cloned()
            .filter(|_| target != self.node.node_id)
            .ok_or_else(|| MoveError::UnknownNode(target.to_owned()))?;
        let handle = self
            .state
            .spaces
            .running(&key.space)
            .ok_or(MoveError::NotRunning)?;
        let (reply, rx) = oneshot::channel();
        if !handle.send(Command::Region(RegionCommand::Release {
            region: key.region,
            reply,
        })) {
            return Err(MoveError::NotRunning);
        }
        let snapshot = rx.await.map_err(|_| MoveError::NotRunning)?;
        let avatars = snapshot.avatars.len();
        self.held.remove(&key);
        let handed = self.hand_over(&key, &lease, &snapshot, target).await;
        if let Err(e) = handed {
            tracing::error!(region = %key, error = %e, "region move failed; keeping the region");
            self.take_back(key, snapshot).await;
            return Err(e);
        }
        self.send(
            &key.space,
            RegionCommand::Moved {
                region: key.region,
                url: Some(url),
            },
        );
        tracing::info!(region = %key, to = target, avatars, "region moved");
        Ok(())
    }

    /// Writes the snapshot, names the target, releases the lease and waits for the target.
    async fn hand_over(
        &self,
        key: &RegionKey,
        lease: &Lease,
        snapshot: &RegionSnapshot,
        target: &str,
    ) -> Result<(), MoveError> {
        let written = self
            .state
            .store
            .put_region_snapshot(
                &key.space,
                i32::from(key.region.col),
                i32::from(key.region.row),
                i64::try_from(lease.epoch).unwrap_or(i64::MAX),
                &snapshot.encode(),
            )
            .await
            .map_err(|e| MoveError::Backend(e.to_string()))?;
        if !written {
            return Err(MoveError::Backend(
                "snapshot fenced off by a newer owner".into(),
            ));
        }
        self.directory
            .set_handover(key, target, MOVE_TIMEOUT)
            .await?;
        self.leases.release(lease).await?;
        let deadline = Instant::now() + MOVE_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(owner) = self.leases.owner(key).await?
                && owner.node == target
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(MoveError::Timeout(target.to_owned()))
    }

    /// A failed move: this node takes the region back with the avatars it released.
    async fn take_back(&mut self, key: RegionKey, snapshot: RegionSnapshot) {
        let _ = self
            .directory
            .set_handover(&key, &self.node.node_id.clone(), MOVE_TIMEOUT)
            .await;
        match self.leases.acquire(&key, &self.node.node_id).await {
            Ok(Some(lease)) => {
                self.send(
                    &key.space,
                    RegionCommand::Gained {
                        region: key.region,
                        epoch: lease.epoch,
                        restore: snapshot.avatars,
                    },
                );
                self.held.insert(key.clone(), lease);
            }
            _ => {
                tracing::error!(region = %key, "region could not be taken back; its players reconnect through /route")
            }
        }
        self.send(
            &key.space,
            RegionCommand::Moved {
                region: key.region,
                url: None,
            },
        );
    }

    /// Graceful shutdown: snapshots were written by the space threads; release the leases
    /// so survivors take over at once, and leave the node set.
    async fn leave(&mut self) {
        let spaces: BTreeSet<String> = self.held.keys().map(|k| k.space.clone()).collect();
        for (key, lease) in std::mem::take(&mut self.held) {
            if let Err(e) = self.leases.release(&lease).await {
                tracing::warn!(region = %key, error = %e, "lease not released");
            }
        }
        let _ = self.directory.unregister_node(&self.node.node_id).await;
        tracing::info!(spaces = spaces.len(), "left the cluster");
    }
}
