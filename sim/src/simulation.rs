//! [`Simulation`]: one space's world, advanced one fixed tick at a time.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::sync::Arc;

use glam::IVec2;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::components::{ChangedAt, InputState, StateHash};
use crate::hash::{entity_hash, player_digest, tick_hash};
use crate::movement::Movement;
use crate::region::Locality;
use crate::replay::{InputLog, LoggedCommand};
use crate::{
    Direction, EntityId, Event, Ghost, Motion, Occupancy, Owner, PlayerInfo, Position, RegionGrid,
    RegionId, RejectReason, SimError, TileMap,
};

/// A tick number. Tick 0 is the state before the first [`Simulation::step`].
pub type Tick = u64;

/// Simulation settings. All fields have defaults ([`SimConfig::default`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Ticks per second the driver runs (the sim itself never reads a clock). Default 20.
    pub tick_rate_hz: u32,
    /// Ticks one tile of movement takes. Default 4 (5 tiles/s at 20 Hz).
    pub ticks_per_tile: u16,
    /// Seed of the simulation's RNG (spawn placement). Default 0.
    pub seed: u64,
    /// Side of a region in tiles. Default 64.
    pub region_size: u32,
    /// How far from a taken spawn point to look for a free tile. Default 8.
    pub spawn_search_radius: u32,
    /// The id the first spawned entity gets (nodes use disjoint ranges). Default 1.
    pub first_entity_id: u64,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            tick_rate_hz: 20,
            ticks_per_tile: 4,
            seed: 0,
            region_size: 64,
            spawn_search_radius: 8,
            first_entity_id: 1,
        }
    }
}

impl SimConfig {
    fn validate(&self) -> Result<(), SimError> {
        let check = |ok: bool, what| {
            if ok {
                Ok(())
            } else {
                Err(SimError::InvalidConfig(what))
            }
        };
        check(
            (1..=1000).contains(&self.tick_rate_hz),
            "tick_rate_hz must be 1..=1000",
        )?;
        check(
            self.ticks_per_tile >= 1,
            "ticks_per_tile must be at least 1",
        )?;
        check(self.region_size >= 1, "region_size must be at least 1")?;
        check(
            self.first_entity_id >= 1,
            "first_entity_id must be at least 1",
        )
    }
}

/// A player's intent, sent with a client sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Input {
    /// Start moving (or keep moving) in a direction: when idle, a move to the adjacent tile
    /// starts at the next tick; while the direction is held, moves chain without a pause.
    Move(Direction),
    /// Stop after the current move.
    Stop,
}

/// A read-only view of one entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityState {
    /// The entity.
    pub id: EntityId,
    /// Its tile.
    pub position: IVec2,
    /// Its movement state.
    pub motion: Motion,
    /// Who it is.
    pub player: PlayerInfo,
    /// The last input sequence number applied.
    pub last_seq: u32,
    /// Set for read-only copies of entities owned by another node.
    pub ghost: Option<Ghost>,
    /// The tick at which its visible state last changed.
    pub changed_at: Tick,
}

/// A queued input, applied at the next step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingInput {
    /// The hecs handle looked up at queue time (generational: stale after a despawn).
    pub(crate) entity: Option<hecs::Entity>,
    pub(crate) id: EntityId,
    pub(crate) seq: u32,
    pub(crate) input: Input,
}

/// One space's deterministic world.
///
/// Methods fall into four groups:
/// - **getters** ([`tick`](Self::tick), [`state`](Self::state), [`entities`](Self::entities),
///   [`occupancy`](Self::occupancy), …) read the world;
/// - **immediate mutators** ([`spawn`](Self::spawn), [`despawn`](Self::despawn),
///   [`teleport`](Self::teleport), ghosts) change it between ticks, validate first and change
///   nothing on error;
/// - **queue** ([`queue_input`](Self::queue_input)) records player inputs, which have no effect
///   until the next step;
/// - **[`step`](Self::step)** advances exactly one tick and returns what happened.
///
/// Within a step, queued inputs are applied in (entity id, sequence) order whatever order they
/// were queued in, moves that finish free their tiles before new moves start, and when two
/// avatars try to enter the same tile in the same tick the **lower entity id wins**; the
/// other gets [`RejectReason::Reserved`]. The tick ends with a 64-bit state hash.
pub struct Simulation {
    pub(crate) world: hecs::World,
    /// Id → hecs entity. A hash map for O(1) lookups; never iterated where order could leak.
    pub(crate) ids: FxHashMap<EntityId, hecs::Entity>,
    map: Arc<TileMap>,
    regions: RegionGrid,
    locality: Locality,
    occupancy: Occupancy,
    config: SimConfig,
    tick: Tick,
    rng: ChaCha8Rng,
    next_id: u64,
    pending: Vec<PendingInput>,
    movement: Movement,
    events: Vec<Event>,
    /// Set when `events` holds a finished step's events, cleared by the next event or step.
    events_reported: bool,
    hash_sum: u64,
    last_hash: u64,
    log: Option<InputLog>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("tick", &self.tick)
            .field("entities", &self.ids.len())
            .field("map", &(self.map.width(), self.map.height()))
            .field("state_hash", &self.current_hash())
            .finish_non_exhaustive()
    }
}

/// What [`Simulation::step`] produced.
#[derive(Debug)]
pub struct StepOutput<'a> {
    /// The tick just completed.
    pub tick: Tick,
    /// The state hash at the end of the tick.
    pub hash: u64,
    /// What happened, in the order it happened.
    pub events: &'a [Event],
}

impl Simulation {
    /// An empty world on `map`.
    pub fn new(map: Arc<TileMap>, config: SimConfig) -> Result<Simulation, SimError> {
        config.validate()?;
        let regions = RegionGrid::new(map.width(), map.height(), config.region_size);
        let occupancy = Occupancy::new(&map);
        let mut sim = Simulation {
            world: hecs::World::new(),
            ids: FxHashMap::default(),
            locality: Locality::all_local(&regions),
            regions,
            occupancy,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            next_id: config.first_entity_id,
            movement: Movement::new(&map),
            map,
            config,
            tick: 0,
            pending: Vec::new(),
            events: Vec::new(),
            events_reported: false,
            hash_sum: 0,
            last_hash: 0,
            log: None,
        };
        sim.last_hash = sim.current_hash();
        Ok(sim)
    }

    /// An empty world that records every command into an [`InputLog`] for [`crate::replay`].
    pub fn recorded(map: Arc<TileMap>, config: SimConfig) -> Result<Simulation, SimError> {
        let mut sim = Simulation::new(map, config.clone())?;
        sim.log = Some(InputLog::new(config));
        Ok(sim)
    }

    // ----- getters -----

    /// The last completed tick.
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The map.
    pub fn map(&self) -> &Arc<TileMap> {
        &self.map
    }

    /// The region grid of this space.
    pub fn regions(&self) -> &RegionGrid {
        &self.regions
    }

    /// Which regions are simulated here.
    pub fn locality(&self) -> &Locality {
        &self.locality
    }

    /// Whether a tile lies in a region simulated here.
    pub fn is_local_tile(&self, tile: IVec2) -> bool {
        self.locality.is_local(self.regions.region_of(tile))
    }

    /// The occupancy grid.
    pub fn occupancy(&self) -> &Occupancy {
        &self.occupancy
    }

    /// Number of entities (ghosts included).
    pub fn entity_count(&self) -> usize {
        self.ids.len()
    }

    /// The state hash at the end of the last tick (or of the initial state at tick 0),
    /// including changes made by immediate mutators since.
    pub fn state_hash(&self) -> u64 {
        self.current_hash()
    }

    /// The recorded log, when built with [`Simulation::recorded`].
    pub fn input_log(&self) -> Option<&InputLog> {
        self.log.as_ref()
    }

    /// Whether the entity exists.
    pub fn contains(&self, id: EntityId) -> bool {
        self.ids.contains_key(&id)
    }

    /// The tile an entity stands on.
    pub fn position(&self, id: EntityId) -> Option<IVec2> {
        let e = *self.ids.get(&id)?;
        self.world.get::<&Position>(e).ok().map(|p| p.0)
    }

    /// The tile an entity stands on and the last input sequence number applied to it:
    /// what the server reads for every client every tick, without copying the rest of
    /// [`Simulation::state`] (the player's name).
    pub fn tile_and_seq(&self, id: EntityId) -> Option<(IVec2, u32)> {
        let e = *self.ids.get(&id)?;
        let mut q = self.world.query_one::<(&Position, &InputState)>(e);
        q.get().ok().map(|(pos, input)| (pos.0, input.last_seq))
    }

    /// A full view of one entity.
    pub fn state(&self, id: EntityId) -> Option<EntityState> {
        let e = *self.ids.get(&id)?;
        let mut q = self.world.query_one::<(
            &Position,
            &Motion,
            &PlayerInfo,
            &InputState,
            &ChangedAt,
            Option<&Ghost>,
        )>(e);
        let (pos, motion, player, input, changed, ghost) = q.get().ok()?;
        Some(EntityState {
            id,
            position: pos.0,
            motion: *motion,
            player: player.clone(),
            last_seq: input.last_seq,
            ghost: ghost.copied(),
            changed_at: changed.0,
        })
    }

    /// All entities, by id.
    pub fn entities(&self) -> impl Iterator<Item = EntityState> + '_ {
        let mut ids: Vec<EntityId> = self.ids.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter().filter_map(|id| self.state(id))
    }

    /// Checks the occupancy grid against entity positions and the incremental hash against a
    /// full recomputation. Cheap enough for tests, not for every tick in production.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut expected = BTreeMap::new();
        let mut sum = 0u64;
        for (id, e) in &self.ids {
            let s = self
                .state(*id)
                .ok_or_else(|| format!("{id} missing from world"))?;
            let prev = expected.insert(s.position.to_array(), (Some(*id), None));
            if prev.is_some() {
                return Err(format!("two entities on tile {}", s.position));
            }
            if let Some(t) = s.motion.target {
                let slot = expected.entry(t.to_array()).or_insert((None, None));
                if slot.0.is_some() || slot.1.is_some() {
                    return Err(format!(
                        "target {t} of {id} is also claimed by another entity"
                    ));
                }
                slot.1 = Some(*id);
            }
            if self.map.is_blocked(s.position) {
                return Err(format!("{id} stands on blocked tile {}", s.position));
            }
            let stored = *self
                .world
                .get::<&StateHash>(*e)
                .map_err(|e| e.to_string())?;
            let digest = player_digest(&s.player, s.ghost.is_some());
            let fresh = entity_hash(*id, s.position, &s.motion, s.last_seq, digest);
            if stored.player != digest || stored.total != fresh {
                return Err(format!("stale state hash for {id}"));
            }
            sum = sum.wrapping_add(stored.total);
        }
        let actual: BTreeMap<_, _> = self
            .occupancy
            .claims()
            .map(|(t, o, r)| (t.to_array(), (o, r)))
            .collect();
        if actual != expected {
            return Err("occupancy grid does not match entity positions".into());
        }
        if sum != self.hash_sum {
            return Err("incremental hash sum drifted".into());
        }
        Ok(())
    }

    // ----- immediate mutators -----

    /// Spawns an avatar at a free spawn point chosen with the seeded RNG. When the chosen
    /// point is taken, the nearest free walkable tile within `spawn_search_radius` is used;
    /// when none is free there, the next spawn point is tried.
    pub fn spawn(&mut self, player: PlayerInfo) -> Result<EntityId, SimError> {
        let id = self.peek_next_id()?;
        self.apply_spawn(id, player, None)
    }

    /// Spawns an avatar on a given free tile.
    pub fn spawn_at(&mut self, player: PlayerInfo, tile: IVec2) -> Result<EntityId, SimError> {
        let id = self.peek_next_id()?;
        self.apply_spawn(id, player, Some(tile))
    }

    /// Spawns an avatar with an id assigned elsewhere (handoff from another node, or a
    /// region taken over from a snapshot), on a given free local tile, keeping its last
    /// applied input sequence number. A ghost of the same id is replaced by the local
    /// entity (observers see one entity throughout).
    pub fn adopt(
        &mut self,
        id: EntityId,
        player: PlayerInfo,
        tile: IVec2,
        last_seq: u32,
    ) -> Result<(), SimError> {
        let ghost = match self.ids.get(&id) {
            Some(&e) if self.world.get::<&Ghost>(e).is_ok() => Some(e),
            Some(_) => return Err(SimError::DuplicateEntity(id)),
            None => None,
        };
        // The ghost's own claims must not block the tile it is adopted on.
        let free_of_others = |o: Option<EntityId>| o.is_none_or(|o| o == id);
        if ghost.is_some()
            && free_of_others(self.occupancy.occupant(tile))
            && free_of_others(self.occupancy.reservation(tile))
        {
            self.despawn(id)?;
        } else {
            self.check_placeable(tile)?;
            if ghost.is_some() {
                self.despawn(id)?;
            }
        }
        self.apply_spawn(id, player, Some(tile))?;
        self.set_last_seq(id, last_seq);
        Ok(())
    }

    /// Marks a region as simulated here or not. Entities already in a region that becomes
    /// foreign are left alone: the driver hands them off or removes them.
    pub fn set_region_local(&mut self, region: RegionId, local: bool) {
        if self.locality.set(region, local) {
            self.log_command(LoggedCommand::Locality { region, local });
        }
    }

    /// Turns a local entity into a read-only ghost owned by `owner` (after a handoff commits),
    /// in place, so observers see the same entity before and after. Any move in progress is
    /// cancelled and the entity stays on its tile until its new owner's updates move it.
    pub fn demote_to_ghost(
        &mut self,
        id: EntityId,
        owner: RegionId,
    ) -> Result<EntityState, SimError> {
        let e = *self.ids.get(&id).ok_or(SimError::UnknownEntity(id))?;
        if self.world.get::<&Ghost>(e).is_ok() {
            return Err(SimError::GhostEntity(id));
        }
        let state = self.state(id).ok_or(SimError::UnknownEntity(id))?;
        self.place(e, id, state.position, None);
        let _ = self.world.remove_one::<Owner>(e);
        self.world
            .insert_one(e, Ghost { owner })
            .expect("entity is alive");
        if let Ok(mut m) = self.world.get::<&mut Motion>(e) {
            m.held = None;
        }
        if let Ok(mut h) = self.world.get::<&mut StateHash>(e) {
            h.player = player_digest(&state.player, true);
        }
        self.rehash(e);
        self.log_command(LoggedCommand::Demote { id, owner });
        Ok(state)
    }

    fn peek_next_id(&self) -> Result<EntityId, SimError> {
        EntityId::new(self.next_id).ok_or(SimError::InvalidConfig("entity ids exhausted"))
    }

    pub(crate) fn set_last_seq(&mut self, id: EntityId, last_seq: u32) {
        if let Some(&e) = self.ids.get(&id) {
            if let Ok(mut input) = self.world.get::<&mut InputState>(e) {
                input.last_seq = last_seq;
            }
            self.rehash(e);
            self.log_command(LoggedCommand::SetLastSeq { id, last_seq });
        }
    }

    pub(crate) fn apply_spawn(
        &mut self,
        id: EntityId,
        player: PlayerInfo,
        at: Option<IVec2>,
    ) -> Result<EntityId, SimError> {
        if self.ids.contains_key(&id) {
            return Err(SimError::DuplicateEntity(id));
        }
        let tile = match at {
            Some(tile) => {
                self.check_placeable(tile)?;
                tile
            }
            None => self.pick_spawn_tile()?,
        };
        let player_hash = player_digest(&player, false);
        self.log_command(LoggedCommand::Spawn {
            id,
            player: player.clone(),
            at,
        });
        let owner = Owner(self.regions.region_of(tile));
        let e = self.world.spawn((
            id,
            Position(tile),
            Motion::default(),
            player,
            InputState::default(),
            ChangedAt(self.tick + 1),
            StateHash {
                total: 0,
                player: player_hash,
            },
            owner,
        ));
        self.ids.insert(id, e);
        self.occupancy.occupy(tile, id);
        self.next_id = self.next_id.max(id.get() + 1);
        self.rehash(e);
        self.emit(Event::Spawned { id, at: tile });
        Ok(id)
    }

    fn check_placeable(&self, tile: IVec2) -> Result<(), SimError> {
        let reason = if !self.map.contains(tile) {
            Some(RejectReason::OffMap)
        } else if self.map.is_blocked(tile) {
            Some(RejectReason::Blocked)
        } else if !self.is_local_tile(tile) {
            Some(RejectReason::Foreign)
        } else if self.occupancy.occupant(tile).is_some() {
            Some(RejectReason::Occupied)
        } else if self.occupancy.reservation(tile).is_some() {
            Some(RejectReason::Reserved)
        } else {
            None
        };
        reason.map_or(Ok(()), |reason| {
            Err(SimError::TileUnavailable { tile, reason })
        })
    }

    /// A free tile near one of the spawn points in local regions (the RNG picks which).
    fn pick_spawn_tile(&mut self) -> Result<IVec2, SimError> {
        let map = self.map.clone();
        let spawns: Vec<IVec2> = map
            .spawns()
            .iter()
            .copied()
            .filter(|t| self.is_local_tile(*t))
            .collect();
        if spawns.is_empty() {
            return Err(SimError::SpaceFull);
        }
        let start = (self.rng.next_u64() % spawns.len() as u64) as usize;
        let radius = i32::try_from(self.config.spawn_search_radius).unwrap_or(i32::MAX);
        for k in 0..spawns.len() {
            let center = spawns[(start + k) % spawns.len()];
            if let Some(tile) = self.nearest_free(center, radius) {
                return Ok(tile);
            }
        }
        Err(SimError::SpaceFull)
    }

    /// The nearest free walkable tile to `center` by Chebyshev ring, scanning each ring in a
    /// fixed order (deterministic).
    fn nearest_free(&self, center: IVec2, radius: i32) -> Option<IVec2> {
        let free = |t: IVec2| {
            !self.map.is_blocked(t) && self.is_local_tile(t) && self.occupancy.is_free(t)
        };
        (0..=radius).find_map(|r| {
            (-r..=r)
                .flat_map(|dy| (-r..=r).map(move |dx| IVec2::new(dx, dy)))
                .filter(|d| d.x.abs() == r || d.y.abs() == r)
                .map(|d| center + d)
                .find(|t| free(*t))
        })
    }

    /// Removes an entity, returning its last state.
    pub fn despawn(&mut self, id: EntityId) -> Result<EntityState, SimError> {
        let state = self.state(id).ok_or(SimError::UnknownEntity(id))?;
        let e = self.ids.remove(&id).expect("state() found it");
        self.occupancy.vacate(state.position, id);
        if let Some(t) = state.motion.target {
            self.occupancy.release(t, id);
        }
        if let Ok(h) = self.world.get::<&StateHash>(e) {
            self.hash_sum = self.hash_sum.wrapping_sub(h.total);
        }
        self.world.despawn(e).expect("entity is alive");
        self.log_command(LoggedCommand::Despawn { id });
        self.emit(Event::Despawned {
            id,
            at: state.position,
        });
        Ok(state)
    }

    /// Places a local entity on a free tile at once, cancelling any move in progress.
    pub fn teleport(&mut self, id: EntityId, to: IVec2) -> Result<(), SimError> {
        let e = *self.ids.get(&id).ok_or(SimError::UnknownEntity(id))?;
        if self.world.get::<&Ghost>(e).is_ok() {
            return Err(SimError::GhostEntity(id));
        }
        self.check_placeable(to)?;
        let from = self.place(e, id, to, None);
        self.log_command(LoggedCommand::Teleport { id, to });
        self.emit(Event::Teleported { id, from, to });
        Ok(())
    }

    /// Moves an entity's claims to `to` (with an optional target tile) and returns the tile it
    /// stood on. The caller has checked that the new tiles are free.
    fn place(&mut self, e: hecs::Entity, id: EntityId, to: IVec2, target: Option<IVec2>) -> IVec2 {
        let tick = self.tick + 1;
        let (from, old_target) = {
            let (pos, motion, changed, owner) = self
                .world
                .query_one_mut::<(
                    &mut Position,
                    &mut Motion,
                    &mut ChangedAt,
                    Option<&mut Owner>,
                )>(e)
                .expect("entity is alive");
            let from = pos.0;
            let old_target = motion.target;
            pos.0 = to;
            motion.target = target;
            motion.progress = 0;
            changed.0 = tick;
            if let Some(owner) = owner {
                owner.0 = self.regions.region_of(to);
            }
            (from, old_target)
        };
        self.occupancy.vacate(from, id);
        if let Some(t) = old_target {
            self.occupancy.release(t, id);
        }
        self.occupancy.occupy(to, id);
        if let Some(t) = target {
            self.occupancy.reserve(t, id);
        }
        self.rehash(e);
        from
    }

    /// Inserts or updates a read-only copy of an entity owned by another node's region.
    /// Its tiles must be free of other avatars.
    pub fn upsert_ghost(
        &mut self,
        id: EntityId,
        player: PlayerInfo,
        position: IVec2,
        motion: Motion,
        owner: RegionId,
    ) -> Result<(), SimError> {
        let claims_ok = |t: IVec2| {
            let mine = |o: Option<EntityId>| o.is_none_or(|o| o == id);
            self.map.contains(t)
                && mine(self.occupancy.occupant(t))
                && mine(self.occupancy.reservation(t))
        };
        if !claims_ok(position) || !motion.target.is_none_or(claims_ok) {
            return Err(SimError::TileUnavailable {
                tile: position,
                reason: RejectReason::Occupied,
            });
        }
        match self.ids.get(&id).copied() {
            Some(e) if self.world.get::<&Ghost>(e).is_err() => {
                return Err(SimError::DuplicateEntity(id));
            }
            Some(e) => {
                let unchanged = self.state(id).is_some_and(|s| {
                    s.position == position && s.motion == motion && s.player == player
                });
                if unchanged {
                    return Ok(());
                }
                let player_hash = player_digest(&player, true);
                self.world
                    .insert(e, (player.clone(), Ghost { owner }))
                    .expect("entity is alive");
                if let Ok(mut h) = self.world.get::<&mut StateHash>(e) {
                    h.player = player_hash;
                }
                // `place` moves the claims (reading the old target); then the full motion.
                self.place(e, id, position, motion.target);
                if let Ok(mut m) = self.world.get::<&mut Motion>(e) {
                    *m = motion;
                }
                self.rehash(e);
            }
            None => {
                let e = self.world.spawn((
                    id,
                    Position(position),
                    motion,
                    player.clone(),
                    InputState::default(),
                    ChangedAt(self.tick + 1),
                    StateHash {
                        total: 0,
                        player: player_digest(&player, true),
                    },
                    Ghost { owner },
                ));
                self.ids.insert(id, e);
                self.occupancy.occupy(position, id);
                if let Some(t) = motion.target {
                    self.occupancy.reserve(t, id);
                }
                self.rehash(e);
            }
        }
        self.log_command(LoggedCommand::Ghost {
            id,
            player,
            position,
            motion,
            owner,
        });
        Ok(())
    }

    // ----- queue -----

    /// Queues a player input for the next step. Inputs whose sequence number is not above
    /// the last applied one are ignored at the step (duplicates are harmless).
    pub fn queue_input(&mut self, id: EntityId, seq: u32, input: Input) -> Result<(), SimError> {
        let e = *self.ids.get(&id).ok_or(SimError::UnknownEntity(id))?;
        if self.world.get::<&Ghost>(e).is_ok() {
            return Err(SimError::GhostEntity(id));
        }
        self.pending.push(PendingInput {
            entity: Some(e),
            id,
            seq,
            input,
        });
        Ok(())
    }

    /// Queues a recorded input as it was queued live, without re-validating it.
    pub(crate) fn queue_logged_input(&mut self, id: EntityId, seq: u32, input: Input) {
        let entity = self.ids.get(&id).copied();
        self.pending.push(PendingInput {
            entity,
            id,
            seq,
            input,
        });
    }

    // ----- step -----

    /// Advances exactly one tick: applies queued inputs, advances moves, starts new moves,
    /// and returns the tick's events (preceded by those of immediate mutators called since the
    /// last step) and state hash.
    pub fn step(&mut self) -> StepOutput<'_> {
        self.clear_reported_events();
        self.tick += 1;
        self.pending.sort_by_key(|p| (p.id, p.seq));
        if let Some(log) = &mut self.log {
            for p in &self.pending {
                log.push(
                    self.tick,
                    LoggedCommand::Input {
                        id: p.id,
                        seq: p.seq,
                        input: p.input,
                    },
                );
            }
        }
        let mut pending = std::mem::take(&mut self.pending);
        self.movement.run(&mut crate::movement::Ctx {
            world: &mut self.world,
            map: &self.map,
            regions: &self.regions,
            locality: &self.locality,
            occupancy: &mut self.occupancy,
            events: &mut self.events,
            hash_sum: &mut self.hash_sum,
            tick: self.tick,
            ticks_per_tile: self.config.ticks_per_tile,
            inputs: &pending,
        });
        pending.clear();
        self.pending = pending;
        self.last_hash = self.current_hash();
        if let Some(log) = &mut self.log {
            log.record_hash(self.tick, self.last_hash);
        }
        self.events_reported = true;
        StepOutput {
            tick: self.tick,
            hash: self.last_hash,
            events: &self.events,
        }
    }

    // ----- internals -----

    fn current_hash(&self) -> u64 {
        tick_hash(self.tick, self.ids.len(), self.hash_sum, self.next_id)
    }

    /// Records an event of an immediate mutator; it is returned by the next `step`.
    fn emit(&mut self, event: Event) {
        self.clear_reported_events();
        self.events.push(event);
    }

    fn clear_reported_events(&mut self) {
        if self.events_reported {
            self.events.clear();
            self.events_reported = false;
        }
    }

    fn log_command(&mut self, command: LoggedCommand) {
        if let Some(log) = &mut self.log {
            log.push(self.tick + 1, command);
        }
    }

    pub(crate) fn rehash(&mut self, e: hecs::Entity) {
        rehash_entity(&mut self.world, e, &mut self.hash_sum);
    }
}

/// Recomputes one entity's contribution to the state hash and updates the running sum.
pub(crate) fn rehash_entity(world: &mut hecs::World, e: hecs::Entity, sum: &mut u64) {
    if let Ok((id, pos, motion, input, hash)) =
        world.query_one_mut::<(&EntityId, &Position, &Motion, &InputState, &mut StateHash)>(e)
    {
        update_hash(
            hash,
            sum,
            entity_hash(*id, pos.0, motion, input.last_seq, hash.player),
        );
    }
}

/// Replaces an entity's stored contribution in the running sum.
pub(crate) fn update_hash(hash: &mut StateHash, sum: &mut u64, new: u64) {
    *sum = sum.wrapping_sub(hash.total).wrapping_add(new);
    hash.total = new;
}
