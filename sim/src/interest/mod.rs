//! Interest management: which entities each observer sees, and what changed for it.
//!
//! This module's *output types* ([`Delta`] and friends) are the contract with the wire format
//! (`schema` encodes a [`Delta`] as a `Snapshot`, and its mirror decoder applies one to a
//! [`Mirror`]).
//!
//! [`Interest`] is sans-IO: it is owned next to the [`Simulation`] and
//! advanced once per tick, after [`Simulation::step`](crate::Simulation::step), with
//! [`Interest::update`]. It keeps a uniform grid of entity positions (updated incrementally
//! for the entities whose `ChangedAt` moved), and per observer (one per connected client,
//! attached to its avatar) the visible set, the slots, the acknowledged baseline and the
//! delta to send.
//!
//! # Rules
//! - **Visible set.** Distances are squared Euclidean distances between tiles (the tile an
//!   entity stands on; while moving, the tile it leaves). An entity *enters* at distance
//!   ≤ `radius` and *stays* while ≤ `radius + hysteresis`. When more than `cap` entities
//!   qualify, the `cap` nearest are kept, ties broken by lower [`EntityId`]. The observer's
//!   own avatar is in its view when [`AoiConfig::include_self`] is set (distance 0). An
//!   observer whose avatar does not exist sees nothing. Ghosts are seen like local entities.
//! - **Slots.** An entity keeps its [`Slot`] while it stays in view. Leaving frees the slot
//!   at once; entering entities, in ascending `(distance², id)` order, take the lowest free
//!   slots. A slot can thus name another entity in the next tick, before the client
//!   acknowledged the leave: deltas stay correct because they compare *slot by slot* with
//!   the acknowledged view, and a slot whose entity changed gets a [`Leave`] **and** an
//!   [`Enter`] in the same delta ([`Mirror::apply`] applies leaves first).
//! - **Deltas.** `delta(observer)` after `update` at tick `T` is the difference between the
//!   view the observer acknowledged (tick `baseline`, empty for 0) and the view at `T`:
//!   leaves for slots emptied or re-assigned, enters (full state) for slots newly filled or
//!   re-assigned or whose player info (name, avatar) changed, updates carrying only the
//!   fields (position, target, facing) that differ from the baseline. Everything not
//!   acknowledged is thus re-sent until it is: a lost message costs bytes, never
//!   correctness. The client applies a delta to its mirror of `baseline` (see
//!   [`MirrorHistory`]).
//! - **Acks.** [`Interest::ack`] moves the baseline to any tick in `(baseline, last update]`;
//!   older acks are ignored (late or duplicate), newer ones are errors.
//! - **Proximity**: see [`ProximityConfig`]; events come from [`Interest::proximity_events`].
//!
//! Determinism: results never depend on hash-map order or on the order of entities in the
//! grid's cells
//! (candidates are ranked by `(distance², id)`, a total order).
//!
//! # Example
//! ```
//! use sim::interest::{AoiConfig, Interest, MirrorHistory, ProximityConfig};
//! use sim::{PlayerInfo, SimConfig, Simulation, TileMap};
//!
//! let mut sim = Simulation::new(TileMap::open_floor(32, 32).into(), SimConfig::default()).unwrap();
//! let me = sim.spawn_at(PlayerInfo::guest(1, "ada"), glam::IVec2::new(4, 4)).unwrap();
//! let you = sim.spawn_at(PlayerInfo::guest(2, "bob"), glam::IVec2::new(6, 4)).unwrap();
//! let mut interest = Interest::new(ProximityConfig::default());
//! let obs = interest.add_observer(me, AoiConfig::default());
//! let _ = interest.add_observer(you, AoiConfig::default());
//!
//! sim.step();
//! interest.update(&sim);
//! let delta = interest.delta(obs).unwrap();
//! assert_eq!(delta.enters.len(), 2); // itself and bob
//! let mut client = MirrorHistory::new();
//! client.apply(delta).unwrap();
//! interest.ack(obs, delta.tick).unwrap();
//! assert!(interest.are_near(me, you));
//! ```

mod delta;
mod grid;
mod history;
mod observer;
mod prefetch;
mod proximity;
mod table;

use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use thiserror::Error;

pub use delta::{Delta, Enter, Leave, Mirror, MirrorError, Slot, Update, VisibleState};
pub use history::{HistoryError, MirrorHistory};

use observer::{Observer, Scratch};
use proximity::Proximity;
use table::{NONE, Table};

use crate::{EntityId, Simulation, Tick};

/// The observer pass is split into parts of at least this many observers.
const MIN_PART: usize = 4;

/// With more than one thread, the observer pass is split into this many parts per thread,
/// so that the thread that runs proximity beside it takes fewer and no thread waits long
/// for the last part (8 was faster than 4 in alternating runs, 16 no better than 8).
const PARTS_PER_THREAD: usize = 8;

/// An observer's area of interest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AoiConfig {
    /// Entities within this distance (tiles, Euclidean) enter the view. Default 12.
    pub radius: u32,
    /// They leave only beyond `radius + hysteresis`. Default 2.
    pub hysteresis: u32,
    /// At most this many entities are visible, the nearest first (ties: lower id). Default 64.
    pub cap: u16,
    /// Whether the observer's own avatar is part of its view. Default true.
    pub include_self: bool,
}

impl Default for AoiConfig {
    fn default() -> AoiConfig {
        AoiConfig {
            radius: 12,
            hysteresis: 2,
            cap: 64,
            include_self: true,
        }
    }
}

/// Proximity settings, the same for every avatar (the relation is symmetric).
///
/// Proximity is computed between avatars that have at least one observer. A near pair
/// becomes far when one side loses its last observer or despawns, or when their distance
/// exceeds `radius + hysteresis`. Then, in ascending `(distance², lower id, higher id)`
/// order, each pair within `radius` that is not near becomes near if both sides have fewer
/// than `cap` near peers. Existing pairs are never displaced by closer newcomers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProximityConfig {
    /// Avatars within this distance (tiles, Euclidean) become near. Default 3.
    pub radius: u32,
    /// They become far beyond `radius + hysteresis`. Default 1.
    pub hysteresis: u32,
    /// Maximum number of near peers per avatar. Default 8.
    pub cap: u16,
}

impl Default for ProximityConfig {
    fn default() -> ProximityConfig {
        ProximityConfig {
            radius: 3,
            hysteresis: 1,
            cap: 8,
        }
    }
}

/// Whether a pair became near or far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProximityKind {
    /// The avatars became near: their clients may open a call.
    Near,
    /// The avatars are no longer near: their clients close the call.
    Far,
}

/// A change of proximity between two avatars (`a < b`); both clients are told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProximityEvent {
    /// Near or far.
    pub kind: ProximityKind,
    /// The avatar with the lower id.
    pub a: EntityId,
    /// The avatar with the higher id.
    pub b: EntityId,
}

/// Names an observer of an [`Interest`]. Ids are not reused while the manager lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObserverId {
    index: u32,
    generation: u32,
}

/// Why an interest call failed.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum InterestError {
    /// The observer was removed or never existed.
    #[error("unknown observer")]
    UnknownObserver,
    /// An ack names a tick no delta was produced for yet.
    #[error("ack of tick {tick}, but the last delta is for tick {last:?}")]
    AckFromFuture {
        /// The acknowledged tick.
        tick: Tick,
        /// The tick of the last delta produced for the observer.
        last: Option<Tick>,
    },
    /// An ack names a tick before the observer's first delta.
    #[error("ack of tick {tick}, before the observer's first delta (tick {first})")]
    AckBeforeFirst {
        /// The acknowledged tick.
        tick: Tick,
        /// The tick of the observer's first delta.
        first: Tick,
    },
}

/// A slot of the observer table.
#[derive(Debug)]
struct Entry {
    generation: u32,
    observer: Option<Observer>,
    /// The table index this observer counts as a proximity participant for.
    part: u32,
}

/// The interest manager. See the [module doc](self) for the rules.
///
/// Methods: **mutators** ([`add_observer`](Self::add_observer),
/// [`remove_observer`](Self::remove_observer), [`set_aoi`](Self::set_aoi),
/// [`ack`](Self::ack), [`set_threads`](Self::set_threads)) take effect at the next
/// [`update`](Self::update) (acks: the next delta); **[`update`](Self::update)** advances
/// to the simulation's tick, once per tick after [`Simulation::step`]; **getters**
/// ([`delta`](Self::delta), [`proximity_events`](Self::proximity_events),
/// [`are_near`](Self::are_near), …) read the result of the last update.
///
/// Steady state allocates nothing per observer per tick: all buffers are reused.
#[derive(Debug)]
pub struct Interest {
    table: Table,
    entries: Vec<Entry>,
    free_entries: Vec<u32>,
    /// Scratch buffers of the observer pass, one per part running at a time.
    scratch: Vec<Scratch>,
    threads: usize,
    proximity: Proximity,
    tick: Option<Tick>,
    /// The table's roster when every observer's avatar was last resolved (`None`: an
    /// observer was added since).
    resolved: Option<u64>,
}

impl Interest {
    /// An interest manager with no observers.
    pub fn new(proximity: ProximityConfig) -> Interest {
        Interest {
            table: Table::default(),
            entries: Vec::new(),
            free_entries: Vec::new(),
            scratch: Vec::new(),
            threads: 1,
            proximity: Proximity::new(proximity),
            tick: None,
            resolved: None,
        }
    }

    // ----- mutators -----

    /// Adds an observer attached to an avatar (which need not exist yet: until it does, the
    /// observer sees nothing). Its first delta comes with the next update.
    pub fn add_observer(&mut self, avatar: EntityId, config: AoiConfig) -> ObserverId {
        let observer = Some(Observer::new(avatar, config));
        self.resolved = None;
        match self.free_entries.pop() {
            Some(index) => {
                // `remove_observer` already bumped the generation.
                let e = &mut self.entries[index as usize];
                e.observer = observer;
                e.part = NONE;
                ObserverId {
                    index,
                    generation: e.generation,
                }
            }
            None => {
                self.entries.push(Entry {
                    generation: 0,
                    observer,
                    part: NONE,
                });
                ObserverId {
                    index: (self.entries.len() - 1) as u32,
                    generation: 0,
                }
            }
        }
    }

    /// Removes an observer. Its avatar stops taking part in proximity (far events at the
    /// next update) unless another observer is attached to it.
    pub fn remove_observer(&mut self, id: ObserverId) -> Result<(), InterestError> {
        self.observer(id)?;
        let e = &mut self.entries[id.index as usize];
        e.observer = None;
        let part = std::mem::replace(&mut e.part, NONE);
        if let Some(g) = e.generation.checked_add(1) {
            // Exhausted slots are simply not reused.
            e.generation = g;
            self.free_entries.push(id.index);
        }
        self.release_participant(part);
        Ok(())
    }

    /// Changes an observer's area of interest; the visible set is recomputed at the next
    /// update.
    pub fn set_aoi(&mut self, id: ObserverId, config: AoiConfig) -> Result<(), InterestError> {
        let o = self.observer_mut(id)?;
        o.config = config;
        o.force = true;
        Ok(())
    }

    /// Runs the observer pass of [`update`](Self::update) on rayon's current thread pool
    /// when `threads` > 1: split into up to `8 × threads` parts (of at least 4 observers
    /// each), beside the proximity step. Default 1: all runs on the caller's thread.
    /// Results are the same for any value.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Records that the observer's client has applied the delta of `tick`: later deltas are
    /// relative to that tick's view. Acks at or below the current baseline are ignored.
    pub fn ack(&mut self, id: ObserverId, tick: Tick) -> Result<(), InterestError> {
        let o = self.observer_mut(id)?;
        if tick <= o.baseline {
            return Ok(());
        }
        match (o.first_tick, o.last_tick) {
            (_, last) if last.is_none_or(|l| tick > l) => {
                Err(InterestError::AckFromFuture { tick, last })
            }
            (Some(first), _) if tick < first => Err(InterestError::AckBeforeFirst { tick, first }),
            _ => {
                o.ack(tick);
                Ok(())
            }
        }
    }

    // ----- update -----

    /// Advances to `sim`'s current tick: reads the entities that changed, updates the
    /// grid of positions, proximity, every observer's view and delta. Call once per tick, after
    /// [`Simulation::step`] (calling it more often is harmless but wastes work).
    pub fn update(&mut self, sim: &Simulation) {
        let tick = sim.tick();
        self.table.sync(sim);
        // Avatars first (proximity needs only the participant counts this keeps up to
        // date; they can change only when an observer was added or an entity appeared or
        // died), then the observers and proximity, which may run in parallel: each reads
        // the table and writes only its own state (a part of the observers, with a scratch
        // buffer taken from a pool for the time it runs).
        if self.resolved != Some(self.table.roster) {
            for i in 0..self.entries.len() {
                if let Some(Some(o)) = self.entries.get(i + 8).map(|e| e.observer.as_ref()) {
                    prefetch::at(&self.table.ents, o.avatar_idx as usize);
                }
                self.resolve_avatar(i);
            }
            self.resolved = Some(self.table.roster);
        }
        let table = &self.table;
        let parts = (self.threads * PARTS_PER_THREAD).min(self.entries.len().div_ceil(MIN_PART));
        if self.threads == 1 || parts <= 1 {
            if self.scratch.is_empty() {
                self.scratch.push(Scratch::default());
            }
            step_observers(&mut self.entries, table, &mut self.scratch[0], tick);
            self.proximity.step(table);
        } else {
            let chunk = self.entries.len().div_ceil(parts);
            let pool = Mutex::new(std::mem::take(&mut self.scratch));
            let take = || pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let give = |s| pool.lock().unwrap_or_else(PoisonError::into_inner).push(s);
            let (proximity, entries) = (&mut self.proximity, &mut self.entries);
            rayon::join(
                || proximity.step(table),
                || {
                    entries.par_chunks_mut(chunk).for_each(|entries| {
                        let mut scratch = take().unwrap_or_default();
                        step_observers(entries, table, &mut scratch, tick);
                        give(scratch);
                    })
                },
            );
            self.scratch = pool.into_inner().unwrap_or_else(PoisonError::into_inner);
        }
        self.table.end_epoch();
        self.tick = Some(tick);
    }

    /// Points observer entry `i` at its avatar's table entry and keeps the proximity
    /// participant counts in step.
    fn resolve_avatar(&mut self, i: usize) {
        let Some(o) = &mut self.entries[i].observer else {
            return;
        };
        let cached = o.avatar_idx;
        let ok = cached != NONE && {
            let e = &self.table.ents[cached as usize];
            e.alive && e.id == o.avatar
        };
        if !ok {
            o.avatar_idx = self.table.index_of(o.avatar).unwrap_or(NONE);
        }
        let idx = o.avatar_idx;
        let part = self.entries[i].part;
        if part != idx {
            self.release_participant(part);
            if idx != NONE && self.table.attach(idx) {
                self.proximity.started.push(idx);
            }
            self.entries[i].part = idx;
        }
    }

    fn release_participant(&mut self, part: u32) {
        if part == NONE {
            return;
        }
        if self.table.detach(part) {
            self.proximity.stopped.push(part);
        }
    }

    // ----- getters -----

    /// The tick of the last update (`None` before the first).
    pub fn tick(&self) -> Option<Tick> {
        self.tick
    }

    /// The observer's delta for the last update (empty before its first update).
    pub fn delta(&self, id: ObserverId) -> Result<&Delta, InterestError> {
        Ok(&self.observer(id)?.delta)
    }

    /// The observer's acknowledged baseline tick (0: nothing acknowledged).
    pub fn baseline(&self, id: ObserverId) -> Result<Tick, InterestError> {
        Ok(self.observer(id)?.baseline)
    }

    /// How many slot changes the observer's client has not acknowledged yet (its lag in
    /// work; the server should drop clients for which this keeps growing).
    pub fn unacked_changes(&self, id: ObserverId) -> Result<usize, InterestError> {
        Ok(self.observer(id)?.unacked_changes())
    }

    /// The observer's view at the last update: slots and entity ids, by slot.
    pub fn visible(
        &self,
        id: ObserverId,
    ) -> Result<impl Iterator<Item = (Slot, EntityId)> + '_, InterestError> {
        Ok(self.observer(id)?.visible())
    }

    /// How many entities the observer sees at the last update (its own avatar included when
    /// [`AoiConfig::include_self`] is set).
    pub fn visible_count(&self, id: ObserverId) -> Result<usize, InterestError> {
        Ok(self.observer(id)?.visible_count())
    }

    /// The avatar an observer is attached to.
    pub fn avatar(&self, id: ObserverId) -> Result<EntityId, InterestError> {
        Ok(self.observer(id)?.avatar)
    }

    /// All observers, in id order.
    pub fn observers(&self) -> impl Iterator<Item = ObserverId> + '_ {
        self.entries.iter().enumerate().filter_map(|(i, e)| {
            e.observer.as_ref().map(|_| ObserverId {
                index: i as u32,
                generation: e.generation,
            })
        })
    }

    /// The proximity changes of the last update: far events first, then near events, each
    /// sorted by `(a, b)`.
    pub fn proximity_events(&self) -> &[ProximityEvent] {
        &self.proximity.events
    }

    /// Whether two avatars are near each other now (symmetric). The server relays WebRTC
    /// signalling only between near avatars.
    pub fn are_near(&self, a: EntityId, b: EntityId) -> bool {
        match (self.table.index_of(a), self.table.index_of(b)) {
            (Some(a), Some(b)) => self.proximity.near(a, b),
            _ => false,
        }
    }

    /// The avatars near `a`, in ascending id order.
    pub fn near_peers(&self, a: EntityId) -> Vec<EntityId> {
        let mut peers: Vec<EntityId> = self
            .table
            .index_of(a)
            .map(|i| {
                self.proximity
                    .peers(i)
                    .iter()
                    .map(|&q| self.table.ents[q as usize].id)
                    .collect()
            })
            .unwrap_or_default();
        peers.sort_unstable();
        peers
    }

    /// The proximity settings.
    pub fn proximity_config(&self) -> ProximityConfig {
        self.proximity.config
    }

    /// Number of entities the manager tracks.
    pub fn entity_count(&self) -> usize {
        self.table.live()
    }

    fn observer(&self, id: ObserverId) -> Result<&Observer, InterestError> {
        self.entries
            .get(id.index as usize)
            .filter(|e| e.generation == id.generation)
            .and_then(|e| e.observer.as_ref())
            .ok_or(InterestError::UnknownObserver)
    }

    fn observer_mut(&mut self, id: ObserverId) -> Result<&mut Observer, InterestError> {
        self.entries
            .get_mut(id.index as usize)
            .filter(|e| e.generation == id.generation)
            .and_then(|e| e.observer.as_mut())
            .ok_or(InterestError::UnknownObserver)
    }
}

/// Steps a run of observers. A software pipeline hides the memory latency: while observer
/// `i` is stepped, observer `i + 4`'s record, observer `i + 2`'s buffers and observer
/// `i + 1`'s slots are requested.
fn step_observers(entries: &mut [Entry], table: &Table, scratch: &mut Scratch, tick: Tick) {
    for i in 0..entries.len() {
        if let Some(e) = entries.get(i + 4) {
            prefetch::lines(std::slice::from_ref(e), usize::MAX);
        }
        if let Some(Some(o)) = entries.get(i + 2).map(|e| e.observer.as_ref()) {
            o.prefetch(table);
        }
        if let Some(Some(o)) = entries.get_mut(i + 1).map(|e| e.observer.as_mut()) {
            o.prefetch_work(table);
        }
        if let Some(o) = &mut entries[i].observer {
            o.step(table, scratch, tick);
        }
    }
}
