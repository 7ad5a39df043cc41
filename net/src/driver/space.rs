//! [`SpaceLoop`]: the fixed-step loop of one space, run in turns on a tick worker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::TryRecvError;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cpu_time::ThreadTime;

use glam::IVec2;
use persistence::{NewChatMessage, Position, Space};
use schema::{
    ChatLine, ChatScope, ErrorCode, ServerMessage, SignalKind, SnapshotWriter, Welcome,
    encode_server,
};
use sim::interest::{Interest, ProximityKind, Slot};
use sim::{EntityId, PlayerInfo, RegionId, SimConfig, SimError, Simulation, Tick, TileMap};
use tokio::sync::mpsc;

use super::commands::{Command, ConnId, Inspection, JoinError, JoinRequest, Joined, Outbound};
use super::ghosts::GhostBook;
use super::handoff::{Handoffs, foreign_moves};
use super::interest_pool::InterestPool;
use super::link::Link;
use super::persist::{PersistOp, stored_scope};
use super::queue::{CommandQueue, QueueSender};
use super::regions::TickCost;
use super::registry::DriverConfig;
use super::workers::Ended;
use crate::cluster::{AvatarRecord, NodeContext, NodeOp, RegionKey};
use crate::load::{LoadBoard, RegionMeter};
use crate::metrics::{Metrics, RegionLabels, SpaceLabels};

/// One player's avatar and, while connected, its connection.
#[derive(Debug)]
pub(super) struct Client {
    pub(super) entity: EntityId,
    pub(super) name: String,
    pub(super) conn: ConnId,
    /// `None` while disconnected (the avatar lingers for a reconnect).
    pub(super) link: Option<Link>,
    /// While disconnected: the tick at which the avatar is removed.
    pub(super) expires_at: Option<Tick>,
    pub(super) last_saved: Option<IVec2>,
    /// Set while the avatar is offered to another node: its inputs are dropped (the
    /// client re-sends unacknowledged inputs to the new node).
    pub(super) handoff: Option<u64>,
    /// Set while the avatar's region is being moved to another node.
    pub(super) moving: Option<RegionId>,
}

/// The pool a space's interest pass runs on with `threads` > 1; without one (1, or when
/// its threads cannot be started: logged) the pass runs on the space's own thread.
fn interest_pool(space: &str, threads: usize) -> Option<InterestPool> {
    if threads <= 1 {
        return None;
    }
    InterestPool::new(space, threads)
        .inspect_err(|e| {
            tracing::warn!(space, threads, error = %e, "interest threads not started; running the interest pass on the space thread");
        })
        .ok()
}

/// The first instant at or after `at` on the node's tick grid of `period`: every space
/// ticking at the same rate is due at the same instants, so a tick worker wakes once per
/// tick for all of its spaces instead of once per space.
fn on_tick_grid(at: Instant, period: Duration) -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let period_ns = period.as_nanos().max(1);
    let since = at.saturating_duration_since(epoch).as_nanos();
    let steps = since.div_ceil(period_ns);
    let offset = u64::try_from(steps * period_ns).unwrap_or(u64::MAX);
    epoch + Duration::from_nanos(offset)
}

/// What a space's next turn on its worker is.
pub(crate) enum Turn {
    /// Due again at this instant.
    Next(Instant),
    /// The space ended: drop it.
    Ended(Ended),
}

/// What a space thread is connected to.
pub(crate) struct Wiring {
    /// Metric handles.
    pub(crate) metrics: Arc<Metrics>,
    /// The database writer.
    pub(crate) persist: mpsc::UnboundedSender<PersistOp>,
    /// Where the last completed tick is published.
    pub(crate) tick_out: Arc<AtomicU64>,
    /// The node's cluster.
    pub(crate) node: Arc<NodeContext>,
    /// Where region loads are published.
    pub(crate) load: Arc<LoadBoard>,
    /// The space's own command queue.
    pub(crate) self_tx: QueueSender,
}

/// The state of one running space. Owned by the tick worker it runs on.
pub(crate) struct SpaceLoop {
    pub(super) space: Space,
    pub(super) sim: Simulation,
    pub(super) interest: Interest,
    /// The threads the interest pass runs on (`None`: this thread alone).
    interest_pool: Option<InterestPool>,
    /// Where every client's snapshots are built, one after the other.
    writer: SnapshotWriter,
    pub(super) config: DriverConfig,
    metrics: Arc<Metrics>,
    pub(super) persist: mpsc::UnboundedSender<PersistOp>,
    tick_out: Arc<AtomicU64>,
    /// By account: one avatar per player.
    pub(super) clients: BTreeMap<i64, Client>,
    pub(super) by_entity: BTreeMap<EntityId, i64>,
    labels: RegionLabels,
    space_labels: SpaceLabels,
    /// `config.save_every`, `config.linger` and `config.max_unacked` in ticks.
    save_every_ticks: u64,
    pub(super) linger_ticks: u64,
    max_unacked_ticks: u64,
    /// The cluster this node belongs to.
    pub(super) node: Arc<NodeContext>,
    /// Regions simulated here → lease epoch (0 on a single node).
    pub(super) owned: BTreeMap<RegionId, u64>,
    /// Avatars being handed off to or from other nodes.
    pub(super) handoffs: Handoffs,
    /// Ghosts received from neighbours and published to them.
    pub(super) ghosts: GhostBook,
    /// This thread's own command queue (region channels deliver into it).
    pub(super) self_tx: Option<QueueSender>,
    /// Load of each owned region.
    pub(super) meters: BTreeMap<RegionId, RegionMeter>,
    /// Per region at the last census: (local entities, connected clients, visible total).
    pub(super) population: BTreeMap<RegionId, (u64, u64, u64)>,
    /// Where region loads are published.
    pub(super) load: Arc<LoadBoard>,
    /// One tick's duration, and when the next tick is due.
    period: Duration,
    next: Instant,
    /// Since when nobody (not even a lingering avatar) is in the space.
    empty_since: Option<Instant>,
}

impl SpaceLoop {
    pub(crate) fn new(
        space: Space,
        map: Arc<TileMap>,
        sim_config: SimConfig,
        config: DriverConfig,
        wiring: Wiring,
    ) -> Result<SpaceLoop, SimError> {
        let Wiring {
            metrics,
            persist,
            tick_out,
            node,
            load,
            self_tx,
        } = wiring;
        let mut sim = Simulation::new(map, sim_config)?;
        let regions: Vec<RegionId> = sim.regions().regions().collect();
        // A cluster node simulates only the regions it leases (granted by the coordinator).
        if node.is_clustered() {
            for r in &regions {
                sim.set_region_local(*r, false);
            }
        }
        let labels = RegionLabels::new(&space.id, "all");
        let space_labels = SpaceLabels::new(&space.id);
        let single = !node.is_clustered();
        let period = Duration::from_secs_f64(1.0 / f64::from(config.tick_hz.max(1)));
        let mut space_loop = SpaceLoop {
            interest: Interest::new(config.proximity),
            interest_pool: interest_pool(&space.id, config.interest_threads),
            writer: SnapshotWriter::new(),
            sim,
            space,
            metrics,
            persist,
            tick_out,
            clients: BTreeMap::new(),
            by_entity: BTreeMap::new(),
            labels,
            space_labels,
            save_every_ticks: config.ticks(config.save_every),
            linger_ticks: config.ticks(config.linger),
            max_unacked_ticks: config.ticks(config.max_unacked),
            config,
            node,
            owned: BTreeMap::new(),
            handoffs: Handoffs::default(),
            ghosts: GhostBook::default(),
            self_tx: Some(self_tx),
            meters: BTreeMap::new(),
            population: BTreeMap::new(),
            load,
            period,
            next: on_tick_grid(Instant::now() + period, period),
            empty_since: None,
        };
        if single {
            for r in regions {
                space_loop.own(r, 0);
            }
        }
        Ok(space_loop)
    }

    /// The space's id.
    pub(crate) fn id(&self) -> &str {
        &self.space.id
    }

    /// One turn on its tick worker: every command queued since the last turn, taken as one
    /// batch (so a session's message never wakes a thread), then the ticks that are due on
    /// the fixed step (at most `max_catch_up` back to back after a stall, then the schedule
    /// skips ahead rather than spiral). Returns when the next turn is due, or why the space
    /// ended: stopped, abandoned (every handle dropped), or unloaded after nobody was in it
    /// for `unload_after` (on a single node; in a cluster the coordinator owns the
    /// space's regions).
    pub(crate) fn turn(&mut self, rx: &CommandQueue) -> Turn {
        loop {
            match rx.try_recv() {
                Ok(Command::Stop(done)) => {
                    self.stop();
                    let _ = done.send(());
                    return Turn::Ended(Ended::Stopped);
                }
                Ok(command) => self.handle(command),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.save_positions(true);
                    return Turn::Ended(Ended::Abandoned);
                }
            }
        }
        // A single node's empty space sleeps: nothing in it can change, so its ticks (and
        // their cost) wait for the next player; its turns still take joins every tick.
        let empty = self.clients.is_empty() && !self.node.is_clustered();
        let asleep = empty && self.sim.entity_count() == 0;
        let mut steps = 0;
        while Instant::now() >= self.next && steps < self.config.max_catch_up {
            if !asleep {
                self.tick();
            }
            self.next += self.period;
            steps += 1;
        }
        let now = Instant::now();
        if now >= self.next {
            tracing::warn!(space = %self.space.id, "tick loop behind schedule; skipping ahead");
            self.next = on_tick_grid(now + self.period, self.period);
        }
        if empty {
            let since = *self.empty_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= self.config.unload_after {
                self.stop();
                self.metrics.forget_space(&self.space.id);
                return Turn::Ended(Ended::Unloaded);
            }
        } else {
            self.empty_since = None;
        }
        Turn::Next(self.next)
    }

    /// Saves what must outlive the space and closes every connection.
    fn stop(&mut self) {
        self.save_positions(true);
        self.snapshot_regions(None);
        self.unsubscribe_all();
        self.self_tx = None;
        for client in self.clients.values_mut() {
            if let Some(link) = client.link.take() {
                link.end_with(Outbound::Close {
                    code: crate::ws::SHUTTING_DOWN,
                    message: "server shutting down".into(),
                });
            }
        }
    }

    // ----- commands -----

    fn handle(&mut self, command: Command) {
        match command {
            Command::Join(request, reply) => {
                let _ = reply.send(self.join(request));
            }
            Command::Leave { conn, account } => self.leave(conn, account),
            Command::Input {
                conn,
                account,
                seq,
                input,
            } => {
                if let Some(c) = self.connected(conn, account)
                    && c.handoff.is_none()
                    && c.moving.is_none()
                {
                    let entity = c.entity;
                    let _ = self.sim.queue_input(entity, seq, input);
                }
            }
            Command::Ack {
                conn,
                account,
                tick,
            } => {
                if let Some(link) = self
                    .clients
                    .get_mut(&account)
                    .filter(|c| c.conn == conn)
                    .and_then(|c| c.link.as_mut())
                    && !link.confirm(tick)
                {
                    tracing::debug!(account, tick, "ack of a tick not sent yet");
                }
            }
            Command::Chat {
                conn,
                account,
                text,
                scope,
            } => self.chat(conn, account, text, scope),
            Command::Signal {
                conn,
                account,
                to,
                kind,
                payload,
            } => self.signal(conn, account, to, kind, payload),
            Command::Region(command) => self.on_region(command),
            Command::Inspect(reply) => {
                let avatars = self
                    .sim
                    .entities()
                    .filter(|e| e.ghost.is_none())
                    .map(|e| AvatarRecord::of(&e))
                    .collect();
                let _ = reply.send(Inspection {
                    node: self.node.node_id.clone(),
                    tick: self.sim.tick(),
                    avatars,
                });
            }
            Command::Bus { region, bytes } => self.on_bus(region, &bytes),
            Command::Stop(_) => unreachable!("handled by run"),
        }
    }

    /// The client of `account` if `conn` is its current, live connection.
    fn connected(&self, conn: ConnId, account: i64) -> Option<&Client> {
        self.clients
            .get(&account)
            .filter(|c| c.conn == conn && c.link.is_some())
    }

    fn join(&mut self, request: JoinRequest) -> Result<Joined, JoinError> {
        let JoinRequest {
            conn,
            account,
            name,
            avatar,
            saved,
            out,
        } = request;
        let resumed = self.clients.contains_key(&account);
        if !resumed && self.clients.len() >= self.space.max_players as usize {
            return Err(JoinError::Full);
        }
        let entity = match self.clients.get_mut(&account) {
            Some(client) => {
                if let Some(old) = client.link.take() {
                    let _ = self.interest.remove_observer(old.observer);
                    old.end_with(Outbound::Close {
                        code: crate::ws::REPLACED,
                        message: "signed in from another tab or device".into(),
                    });
                }
                client.entity
            }
            None => {
                let player = PlayerInfo {
                    account: account as u64,
                    name: name.clone(),
                    avatar,
                };
                if let Some(tile) = saved
                    && self.sim.map().contains(tile)
                    && !self.sim.is_local_tile(tile)
                {
                    return Err(self.elsewhere(tile));
                }
                let spawned = match saved {
                    Some(tile) => self
                        .sim
                        .spawn_at(player.clone(), tile)
                        .or_else(|_| self.sim.spawn(player)),
                    None => self.sim.spawn(player),
                };
                let entity = match spawned {
                    Ok(entity) => entity,
                    // No local spawn point: the player starts where the map's first one is.
                    Err(SimError::SpaceFull)
                        if self.owned.len() < self.sim.regions().regions().count() =>
                    {
                        let first = self.sim.map().spawns().first().copied();
                        return Err(first.map_or(JoinError::Full, |t| self.elsewhere(t)));
                    }
                    Err(e) => {
                        tracing::warn!(space = %self.space.id, account, error = %e, "cannot place a joining player");
                        return Err(JoinError::Full);
                    }
                };
                self.by_entity.insert(entity, account);
                self.clients.insert(
                    account,
                    Client {
                        entity,
                        name,
                        conn,
                        link: None,
                        expires_at: None,
                        last_saved: saved,
                        handoff: None,
                        moving: None,
                    },
                );
                entity
            }
        };
        let observer = self.interest.add_observer(entity, self.config.aoi);
        let client = self.clients.get_mut(&account).expect("inserted above");
        client.conn = conn;
        client.expires_at = None;
        self.node.request(NodeOp::SetPlayer {
            space: self.space.id.clone(),
            account,
        });
        client.link = Some(Link::new(observer, out));
        let position = self.sim.position(entity).unwrap_or_default();
        Ok(Joined {
            welcome: Welcome {
                entity,
                // A new observer's own avatar is its nearest entity, so it gets the first slot.
                slot: Slot(0),
                tick_rate: u16::try_from(self.config.tick_hz).unwrap_or(u16::MAX),
                tick: self.sim.tick(),
                space: self.space.id.clone(),
                map: self.space.map.clone(),
                region: self.sim.regions().region_of(position),
            },
            resumed,
        })
    }

    /// Why a player whose tile is `tile` must join elsewhere.
    fn elsewhere(&self, tile: IVec2) -> JoinError {
        let key = RegionKey::new(self.space.id.clone(), self.sim.regions().region_of(tile));
        match self.node.owner(&key) {
            Some(owner) if !owner.url.is_empty() && owner.node != self.node.node_id => {
                JoinError::Elsewhere(owner.url)
            }
            _ => JoinError::Unavailable,
        }
    }

    fn leave(&mut self, conn: ConnId, account: i64) {
        let expires = self.sim.tick() + self.linger_ticks;
        let Some(client) = self.clients.get_mut(&account).filter(|c| c.conn == conn) else {
            return;
        };
        if let Some(link) = client.link.take() {
            let _ = self.interest.remove_observer(link.observer);
        }
        client.expires_at = Some(expires);
    }

    fn chat(&mut self, conn: ConnId, account: i64, text: String, scope: ChatScope) {
        let Some(sender) = self.connected(conn, account) else {
            return;
        };
        let (entity, name) = (sender.entity, sender.name.clone());
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let frame = encode_server(&ServerMessage::Chat(ChatLine {
            from: Some(entity),
            from_name: name.clone(),
            text: text.clone(),
            scope,
            time,
        }));
        let origin = self.sim.position(entity).unwrap_or_default();
        let radius = i64::from(self.config.aoi.radius);
        let recipients: Vec<i64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.link.is_some())
            .filter(|(_, c)| {
                scope == ChatScope::Space
                    || self.sim.position(c.entity).is_some_and(|p| {
                        let d = (p - origin).as_i64vec2();
                        d.x * d.x + d.y * d.y <= radius * radius
                    })
            })
            .map(|(a, _)| *a)
            .collect();
        for account in recipients {
            self.send(account, frame.clone());
        }
        let _ = self.persist.send(PersistOp::Chat {
            space: self.space.id.clone(),
            message: NewChatMessage {
                account_id: account,
                sender_name: name,
                scope: stored_scope(scope),
                body: text,
            },
        });
    }

    fn signal(
        &mut self,
        conn: ConnId,
        account: i64,
        to: EntityId,
        kind: SignalKind,
        payload: String,
    ) {
        let Some(from) = self.connected(conn, account).map(|c| c.entity) else {
            return;
        };
        let peer = self
            .by_entity
            .get(&to)
            .copied()
            .filter(|a| self.clients.get(a).is_some_and(|c| c.link.is_some()));
        match peer {
            Some(peer) if self.interest.are_near(from, to) => {
                let frame = encode_server(&ServerMessage::Signal {
                    from,
                    kind,
                    payload,
                });
                self.send(peer, frame);
            }
            _ => {
                let frame = encode_server(&ServerMessage::Error {
                    code: ErrorCode::NOT_NEAR,
                    message: format!("{to} is not near you; signal not sent"),
                });
                self.send(account, frame);
            }
        }
    }

    // ----- the tick -----

    fn tick(&mut self) {
        let started = Instant::now();
        let cpu = ThreadTime::now();
        let crossings = foreign_moves(self.sim.step().events);
        self.start_handoffs(crossings);
        let step = cpu.elapsed();
        let pooled = match &mut self.interest_pool {
            Some(pool) => pool.update(&mut self.interest, &self.sim, self.clients.len()),
            None => {
                self.interest.update(&self.sim);
                Duration::ZERO
            }
        };
        let own = cpu.elapsed().saturating_sub(step);
        let interest = own + pooled;
        let tick = self.sim.tick();
        let mut slow = Vec::new();
        let mut per_region: BTreeMap<RegionId, (Duration, u64)> = BTreeMap::new();
        let mut proximity = self.proximity_frames();
        // Everything a client gets in this tick leaves as one batch: what was held since the
        // last tick (chat, signals, errors), its snapshot, its proximity changes.
        for (account, client) in &mut self.clients {
            let Some(link) = &mut client.link else {
                continue;
            };
            let client_started = Instant::now();
            // A client that stops acknowledging does not read (or cannot keep up): it is
            // dropped before its queue and socket buffers fill.
            if link.lagging(tick, self.max_unacked_ticks) {
                slow.push(*account);
                continue;
            }
            let (last_seq, region) = self
                .sim
                .tile_and_seq(client.entity)
                .map_or((0, None), |(tile, seq)| {
                    (seq, Some(self.sim.regions().region_of(tile)))
                });
            let snapshot = self.interest.delta(link.observer).ok().and_then(|delta| {
                link.encoder
                    .encode_if_changed(&mut self.writer, delta, last_seq)
                    .map(<[u8]>::to_vec)
            });
            let sent = snapshot.as_ref().map_or(0, |s| s.len() as u64);
            let snapshot_sent = snapshot.is_some();
            let near = proximity.remove(&client.entity);
            if !link.flush(snapshot.into_iter().chain(near)) {
                slow.push(*account);
            } else if snapshot_sent {
                // The transport is ordered and reliable: what was sent is the baseline of
                // the next snapshot, so each change is sent once.
                let _ = self.interest.ack(link.observer, tick);
                link.sent(tick);
            }
            if let Some(region) = region {
                let entry = per_region.entry(region).or_default();
                entry.0 += client_started.elapsed();
                entry.1 += sent;
            }
        }
        let clients = cpu.elapsed().saturating_sub(step + own);
        for account in slow {
            self.drop_slow(account);
        }
        self.expire_lingering(tick);
        if self.node.is_clustered() {
            self.publish_ghosts();
            self.expire_handoffs();
            if tick.is_multiple_of(self.node.snapshot_every_ticks) {
                self.snapshot_regions(None);
            }
        }
        if tick.is_multiple_of(self.save_every_ticks) {
            self.save_positions(false);
        }
        self.tick_out.store(tick, Ordering::Relaxed);
        let cost = TickCost {
            step,
            interest,
            clients,
        };
        self.meter_tick(cost, &per_region);
        self.metrics
            .tick_duration
            .get_or_create(&self.labels)
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .entities
            .get_or_create(&self.labels)
            .set(self.sim.entity_count() as i64);
        let connected = self.clients.values().filter(|c| c.link.is_some()).count();
        self.metrics
            .clients
            .get_or_create(&self.space_labels)
            .set(connected as i64);
    }

    /// This tick's proximity changes: a `Proximity` frame for each avatar whose near set
    /// changed.
    fn proximity_frames(&self) -> BTreeMap<EntityId, Vec<u8>> {
        let mut changes: BTreeMap<EntityId, (Vec<EntityId>, Vec<EntityId>)> = BTreeMap::new();
        for ev in self.interest.proximity_events() {
            for (me, other) in [(ev.a, ev.b), (ev.b, ev.a)] {
                let entry = changes.entry(me).or_default();
                match ev.kind {
                    ProximityKind::Near => entry.0.push(other),
                    ProximityKind::Far => entry.1.push(other),
                }
            }
        }
        changes
            .into_iter()
            .map(|(entity, (near, far))| {
                (
                    entity,
                    encode_server(&ServerMessage::Proximity { near, far }),
                )
            })
            .collect()
    }

    /// Holds a frame for a connected client until the end of the tick, when it leaves with
    /// the client's snapshot.
    pub(super) fn send(&mut self, account: i64, frame: Vec<u8>) {
        if let Some(link) = self.clients.get_mut(&account).and_then(|c| c.link.as_mut()) {
            link.held.push(frame);
        }
    }

    /// Disconnects a client whose outbound queue is full. Dropping the queue's sender ends
    /// the session, which tells the client why; the avatar lingers like any disconnect.
    fn drop_slow(&mut self, account: i64) {
        let expires = self.sim.tick() + self.linger_ticks;
        if let Some(client) = self.clients.get_mut(&account)
            && let Some(link) = client.link.take()
        {
            tracing::warn!(space = %self.space.id, account, "dropping a client that cannot keep up");
            let _ = self.interest.remove_observer(link.observer);
            client.expires_at = Some(expires);
        }
    }

    fn expire_lingering(&mut self, tick: Tick) {
        let expired: Vec<i64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.expires_at.is_some_and(|t| tick >= t))
            .map(|(a, _)| *a)
            .collect();
        for account in expired {
            if let Some(state) = self.remove_client(account) {
                self.persist_positions(vec![(account, state.position)]);
            }
        }
    }

    /// Forgets a player's client and removes its avatar (returning its last state); its
    /// connection, if any, is closed by dropping the queue.
    pub(super) fn remove_client(&mut self, account: i64) -> Option<sim::EntityState> {
        let client = self.clients.remove(&account)?;
        if let Some(link) = client.link {
            let _ = self.interest.remove_observer(link.observer);
        }
        self.by_entity.remove(&client.entity);
        self.node.request(NodeOp::ClearPlayer {
            space: self.space.id.clone(),
            account,
        });
        self.sim.despawn(client.entity).ok()
    }

    /// Saves the tiles of players that moved since their last save (`all`: every player).
    fn save_positions(&mut self, all: bool) {
        let mut batch = Vec::new();
        for (account, client) in &mut self.clients {
            let Some(tile) = self.sim.position(client.entity) else {
                continue;
            };
            if all || client.last_saved != Some(tile) {
                client.last_saved = Some(tile);
                batch.push((*account, tile));
            }
        }
        self.persist_positions(batch);
    }

    pub(super) fn persist_positions(&self, batch: Vec<(i64, IVec2)>) {
        if batch.is_empty() {
            return;
        }
        let positions = batch
            .into_iter()
            .map(|(a, t)| (a, Position { x: t.x, y: t.y }))
            .collect();
        let _ = self.persist.send(PersistOp::Positions {
            space: self.space.id.clone(),
            positions,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_share_one_tick_grid() {
        let period = Duration::from_millis(50);
        let now = Instant::now();
        let a = on_tick_grid(now, period);
        let b = on_tick_grid(now + Duration::from_millis(17), period);
        let c = on_tick_grid(now + period + Duration::from_millis(1), period);
        assert!(a >= now && a < now + period);
        assert!(b >= a && (b == a || b == a + period));
        assert!(c > now + period && c <= now + period * 2 + Duration::from_millis(1));
        // Points on the grid stay where they are, and are one period apart.
        assert_eq!(on_tick_grid(a, period), a);
        assert_eq!(on_tick_grid(a + period, period), a + period);
        assert_eq!(
            on_tick_grid(a + Duration::from_nanos(1), period),
            a + period
        );
    }
}
