//! The interest manager's copy of the world: one record per entity (the fields read on every
//! tick apart from the rest), a uniform [`Grid`] of positions, and a coarse grid of "what
//! changed here this tick" records.

use std::collections::HashMap;
use std::ops::Range;

use glam::IVec2;

use super::grid::{Dims, Grid, Item, counting_sort};
use super::prefetch;
use crate::components::{ChangedAt, StateHash};
use crate::{Direction, EntityId, Motion, PlayerInfo, Position, Simulation, Tick};

/// "No index".
pub(crate) const NONE: u32 = u32::MAX;

/// An unused entry of `Table::by_handle`.
const UNKNOWN: (hecs::Entity, u32) = (hecs::Entity::DANGLING, NONE);

/// What the interest manager reads about an entity on every tick (kept small: observers
/// and proximity touch it in their inner loops).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ent {
    pub(crate) id: EntityId,
    pub(crate) pos: IVec2,
    pub(crate) alive: bool,
    /// Number of observers attached to this entity (it takes part in proximity when > 0).
    pub(crate) observers: u32,
    pub(crate) target: Option<IVec2>,
    pub(crate) facing: Option<Direction>,
    /// Digest of `(avatar, name)`: tells whether the player info differs from a baseline.
    pub(crate) info: u64,
    /// The simulation's digest of its whole `PlayerInfo` (the name is compared only when
    /// it changes).
    player: u64,
}

/// The rest of what the interest manager knows about an entity.
#[derive(Debug)]
pub(crate) struct Cold {
    pub(crate) handle: hecs::Entity,
    pub(crate) avatar: u16,
    pub(crate) name: String,
}

/// An entity as an observer's slot shows it: what a delta compares. 32 bytes, so that a
/// slot's current and acknowledged views share one cache line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) id: EntityId,
    pub(crate) pos: IVec2,
    pub(crate) target: Target,
    pub(crate) look: Look,
}

/// A movement target in 8 bytes (`Option<IVec2>` takes 12): no tile lies at `NO_TARGET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target(IVec2);

impl Target {
    const NO_TARGET: IVec2 = IVec2::MIN;

    fn new(target: Option<IVec2>) -> Target {
        Target(target.unwrap_or(Target::NO_TARGET))
    }

    /// The target tile, if any.
    pub(crate) fn get(self) -> Option<IVec2> {
        (self.0 != Target::NO_TARGET).then_some(self.0)
    }
}

/// The player info's digest and the facing in 8 bytes: the top 56 bits of the digest of
/// `(avatar, name)` above the facing's code (low byte, `0xFF` for none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Look(u64);

impl Look {
    const NO_FACING: u64 = 0xFF;

    fn new(info: u64, facing: Option<Direction>) -> Look {
        Look((info & !0xFF) | facing.map_or(Look::NO_FACING, |d| u64::from(d.code())))
    }

    /// The player-info digest (56 bits).
    pub(crate) fn info(self) -> u64 {
        self.0 >> 8
    }

    /// The facing.
    pub(crate) fn facing(self) -> Option<Direction> {
        Direction::from_code((self.0 & 0xFF) as u8)
    }
}

/// An entity that changed in the current epoch, as listed in the change grid (its full
/// state, needed only when an observer sees it, is in a parallel list).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Touch {
    pub(crate) idx: u32,
    /// Its tile at the end of the epoch's sync.
    pub(crate) pos: IVec2,
    pub(crate) alive: bool,
}

/// A coarse grid (the same cells as [`Grid`]) listing, per cell, the entities that changed
/// in the current epoch (moved into or out of the cell, appeared, died, or changed a
/// visible field there), with their new state. Observers that did not move only look at
/// these lists.
#[derive(Debug, Default)]
pub(crate) struct Cells {
    dims: Dims,
    /// `(cell, entity index)` of this epoch's changes, before bucketing.
    touched: Vec<(u32, u32)>,
    /// Bucket `c` is `items[start[c]..start[c + 1]]`, and the same range of `views`.
    start: Vec<u32>,
    items: Vec<Touch>,
    views: Vec<View>,
}

impl Cells {
    fn ensure(&mut self, dims: Dims) {
        if dims != self.dims || self.start.is_empty() {
            self.dims = dims;
            self.start = vec![0; dims.len() + 1];
        }
    }

    fn begin(&mut self) {
        self.touched.clear();
    }

    /// Lists entity `idx` under the cell of `p`.
    fn touch(&mut self, p: IVec2, idx: u32) {
        self.touched.push((self.dims.cell(p), idx));
    }

    /// Buckets this epoch's changes by cell, with each entity's state.
    fn finish(&mut self, ents: &[Ent]) {
        let n = self.touched.len();
        let blank = Touch {
            idx: NONE,
            pos: IVec2::ZERO,
            alive: false,
        };
        self.items.clear();
        self.items.resize(n, blank);
        self.views.clear();
        self.views.resize(
            n,
            View {
                id: EntityId(std::num::NonZeroU64::MIN),
                pos: IVec2::ZERO,
                target: Target::new(None),
                look: Look::new(0, None),
            },
        );
        let (touched, items, views) = (&self.touched, &mut self.items, &mut self.views);
        counting_sort(
            &mut self.start,
            0,
            n,
            |k| touched[k].0,
            |k, at| {
                let idx = touched[k].1;
                let e = &ents[idx as usize];
                items[at] = Touch {
                    idx,
                    pos: e.pos,
                    alive: e.alive,
                };
                views[at] = View::of(e);
            },
        );
    }

    /// The changes listed in the cells of `row` (one row of a span; an entity may be
    /// listed in two cells), and the changed entities' states.
    pub(crate) fn row(&self, row: Range<usize>) -> (&[Touch], &[View]) {
        let r = self.start[row.start] as usize..self.start[row.end] as usize;
        (&self.items[r.clone()], &self.views[r])
    }

    /// Asks the CPU to start loading the changes listed in `cells` (a span's rows).
    pub(crate) fn prefetch(&self, cells: &[Range<usize>]) {
        for r in cells {
            let (a, b) = (self.start[r.start], self.start[r.end]);
            if a != b {
                let r = a as usize..b as usize;
                prefetch::lines(&self.items[r.clone()], 2);
                prefetch::lines(&self.views[r], 4);
            }
        }
    }

    /// Number of changes listed in `cells` (a span's rows).
    pub(crate) fn listed(&self, cells: &[Range<usize>]) -> usize {
        cells
            .iter()
            .map(|r| (self.start[r.end] - self.start[r.start]) as usize)
            .sum()
    }
}

impl View {
    fn of(e: &Ent) -> View {
        View {
            id: e.id,
            pos: e.pos,
            target: Target::new(e.target),
            look: Look::new(e.info, e.facing),
        }
    }
}

/// The entity table, kept in step with a [`Simulation`] by [`Table::sync`].
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) ents: Vec<Ent>,
    pub(crate) cold: Vec<Cold>,
    free: Vec<u32>,
    /// Entities that died in the current epoch; their indices are recycled at its end.
    pub(crate) dead: Vec<u32>,
    /// Entities whose position changed (or that appeared) in the current epoch.
    pub(crate) moved: Vec<u32>,
    /// Entities with a visible change in the current epoch, and the same as a bit set.
    changed: Vec<u32>,
    changed_bits: Vec<u64>,
    /// Per entity index, whether it has observers (mirrors `Ent::observers > 0` in a
    /// bitset that proximity's scans read without touching the records).
    watched_bits: Vec<u64>,
    by_id: HashMap<EntityId, u32>,
    /// Per hecs handle id: the handle last seen there and its entity's index (`NONE`: none).
    by_handle: Vec<(hecs::Entity, u32)>,
    /// The rows (and handles) of an archetype's entities that changed since the last sync.
    fresh_rows: Vec<(usize, hecs::Entity)>,
    live: usize,
    pub(crate) grid: Grid,
    pub(crate) cells: Cells,
    /// Incremented by every [`Table::sync`].
    pub(crate) epoch: u64,
    /// Incremented whenever an entity appears or dies: only then can an index found by
    /// [`Table::index_of`] go stale, or an unknown id become known.
    pub(crate) roster: u64,
    synced: Option<Tick>,
}

/// Bit `idx` of a bitset (clear beyond its end).
pub(crate) fn bit(bits: &[u64], idx: u32) -> bool {
    bits.get(idx as usize / 64)
        .is_some_and(|w| w & (1 << (idx % 64)) != 0)
}

/// Sets or clears bit `idx` of a bitset (growing it as needed).
pub(crate) fn set_bit(bits: &mut Vec<u64>, idx: u32, on: bool) {
    let w = idx as usize / 64;
    if bits.len() <= w {
        bits.resize(w + 1, 0);
    }
    if on {
        bits[w] |= 1 << (idx % 64);
    } else {
        bits[w] &= !(1 << (idx % 64));
    }
}

/// What the sync reads of an entity whose `ChangedAt` moved since the last sync.
#[derive(Clone, Copy)]
struct Fresh<'w> {
    handle: hecs::Entity,
    id: EntityId,
    pos: IVec2,
    motion: &'w Motion,
    player: &'w PlayerInfo,
    /// The simulation's digest of `player`.
    digest: u64,
}

/// The handle of the entity in row `row` of `arch`, one of `world`'s archetypes.
fn handle_of(world: &hecs::World, arch: &hecs::Archetype, row: usize) -> hecs::Entity {
    let id = arch.ids()[row];
    // SAFETY: `find_entity_from_id` needs a live entity's id. `Archetype::ids` lists only
    // live entities, and the borrow of `world` (whose archetype `arch` is, as every caller
    // takes it from `world.archetypes()`) rules out a despawn meanwhile.
    #[allow(unsafe_code)]
    unsafe {
        world.find_entity_from_id(id)
    }
}

/// The digest of a player's visible info.
fn info_digest(avatar: u16, name: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(name.as_bytes(), u64::from(avatar))
}

impl Table {
    /// The live entity with this id.
    pub(crate) fn index_of(&self, id: EntityId) -> Option<u32> {
        self.by_id
            .get(&id)
            .copied()
            .filter(|&i| self.ents[i as usize].alive)
    }

    /// What an observer's slot shows of entity `idx`.
    pub(crate) fn view(&self, idx: u32) -> View {
        View::of(&self.ents[idx as usize])
    }

    /// Whether entity `idx` had a visible change (or appeared or died) in this epoch.
    pub(crate) fn changed(&self, idx: u32) -> bool {
        bit(&self.changed_bits, idx)
    }

    /// Counts one more observer attached to entity `idx`; returns whether it is the first.
    pub(crate) fn attach(&mut self, idx: u32) -> bool {
        let e = &mut self.ents[idx as usize];
        e.observers += 1;
        let first = e.observers == 1;
        if first {
            set_bit(&mut self.watched_bits, idx, true);
        }
        first
    }

    /// Counts one observer less attached to entity `idx`; returns whether it was the last.
    pub(crate) fn detach(&mut self, idx: u32) -> bool {
        let e = &mut self.ents[idx as usize];
        e.observers -= 1;
        let last = e.observers == 0;
        if last {
            set_bit(&mut self.watched_bits, idx, false);
        }
        last
    }

    /// Whether entity `idx` has observers.
    pub(crate) fn watched(&self, idx: u32) -> bool {
        bit(&self.watched_bits, idx)
    }

    /// Brings the table up to date with `sim`: reads every entity whose `ChangedAt` is newer
    /// than the last sync, detects despawns, updates the grid and the change grid.
    pub(crate) fn sync(&mut self, sim: &Simulation) {
        self.epoch += 1;
        let dims = Dims::of(sim.map());
        self.grid.ensure(dims);
        self.cells.ensure(dims);
        self.cells.begin();
        self.moved.clear();
        for idx in self.changed.drain(..) {
            self.changed_bits[idx as usize / 64] = 0;
        }
        // Only the entities that changed are read: their rows are found by a scan of the
        // `ChangedAt` columns, then taken in with a software pipeline (their records are
        // scattered, and a few thousand change per tick out of 100k).
        let since = self.synced;
        for arch in sim.world.archetypes() {
            let (Some(changed), Some(ids), Some(pos), Some(motion), Some(player), Some(hash)) = (
                arch.get::<&ChangedAt>(),
                arch.get::<&EntityId>(),
                arch.get::<&Position>(),
                arch.get::<&Motion>(),
                arch.get::<&PlayerInfo>(),
                arch.get::<&StateHash>(),
            ) else {
                continue;
            };
            let mut rows = std::mem::take(&mut self.fresh_rows);
            rows.clear();
            let fresh = changed.iter().enumerate();
            let fresh = fresh.filter(|(_, at)| since.is_none_or(|s| at.0 > s));
            rows.extend(fresh.map(|(row, _)| (row, handle_of(&sim.world, arch, row))));
            for (k, &(row, handle)) in rows.iter().enumerate() {
                if let Some(&(r, h)) = rows.get(k + 8) {
                    prefetch::at(&ids, r);
                    prefetch::at(&pos, r);
                    prefetch::at(&motion, r);
                    prefetch::at(&hash, r);
                    prefetch::at(&self.by_handle, h.id() as usize);
                }
                if let Some(&(_, h)) = rows.get(k + 4) {
                    self.prefetch_known(h, false);
                }
                if let Some(&(_, h)) = rows.get(k + 2) {
                    self.prefetch_known(h, true);
                }
                self.update(Fresh {
                    handle,
                    id: ids[row],
                    pos: pos[row].0,
                    motion: &motion[row],
                    player: &player[row],
                    digest: hash[row].player,
                });
            }
            self.fresh_rows = rows;
        }
        if self.live != sim.entity_count() {
            for idx in 0..self.ents.len() as u32 {
                let e = &self.ents[idx as usize];
                if e.alive && !sim.world.contains(self.cold[idx as usize].handle) {
                    self.kill(idx);
                }
            }
        }
        self.regrid();
        self.cells.finish(&self.ents);
        self.synced = Some(sim.tick());
    }

    /// Asks the CPU to start loading what [`Table::update`] reads of the entity `by_handle`
    /// lists under `handle`'s id, if any: its record and its place in the grid (first
    /// stage), or the grid item there (second stage, `item`).
    fn prefetch_known(&self, handle: hecs::Entity, item: bool) {
        let idx = self
            .by_handle
            .get(handle.id() as usize)
            .map_or(NONE, |k| k.1);
        if idx != NONE {
            if !item {
                prefetch::at(&self.ents, idx as usize);
            }
            self.grid.prefetch_place(idx, item);
        }
    }

    /// Takes in the current state of an entity whose `ChangedAt` moved since the last sync.
    fn update(&mut self, fresh: Fresh<'_>) {
        let idx = self.resolve(fresh.handle, fresh.id);
        if idx == NONE {
            self.insert(fresh);
            return;
        }
        let Fresh {
            pos,
            motion,
            player,
            digest,
            ..
        } = fresh;
        let old = self.ents[idx as usize].pos;
        let (mut any, mut new_cell) = (false, false);
        if old != pos {
            new_cell = self.move_to(idx, pos);
            self.moved.push(idx);
            any = true;
        }
        let e = &mut self.ents[idx as usize];
        if e.target != motion.target || e.facing != motion.facing {
            e.target = motion.target;
            e.facing = motion.facing;
            any = true;
        }
        if e.player != digest {
            e.player = digest;
            let k = &mut self.cold[idx as usize];
            if k.avatar != player.avatar || k.name != player.name {
                k.avatar = player.avatar;
                k.name.clone_from(&player.name);
                e.info = info_digest(k.avatar, &k.name);
                any = true;
            }
        }
        if any {
            self.mark(idx, old);
            if new_cell {
                self.cells.touch(pos, idx);
            }
        }
    }

    /// Records a visible change of entity `idx`, listed in the change grid at `p`.
    fn mark(&mut self, idx: u32, p: IVec2) {
        set_bit(&mut self.changed_bits, idx, true);
        self.changed.push(idx);
        self.cells.touch(p, idx);
    }

    /// Moves entity `idx` to `pos`, in the grid too; returns whether it changed cells.
    fn move_to(&mut self, idx: u32, pos: IVec2) -> bool {
        let dims = self.grid.dims();
        let e = &mut self.ents[idx as usize];
        let old = dims.cell(std::mem::replace(&mut e.pos, pos));
        let new_cell = old != dims.cell(pos);
        if new_cell {
            self.grid.relocate(old, Item { pos, idx, id: e.id });
        } else {
            self.grid.set_pos(idx, pos);
        }
        new_cell
    }

    /// Rebuilds the grid if it is new or a cell overflowed.
    fn regrid(&mut self) {
        let live = self.ents.iter().enumerate().filter(|(_, e)| e.alive);
        self.grid.rebuild(live.map(|(i, e)| Item {
            pos: e.pos,
            idx: i as u32,
            id: e.id,
        }));
    }

    /// The table index of the entity behind `handle`, or `NONE` when it is new to the table.
    fn resolve(&mut self, handle: hecs::Entity, id: EntityId) -> u32 {
        let hid = handle.id() as usize;
        let (known, idx) = self.by_handle.get(hid).copied().unwrap_or(UNKNOWN);
        if idx != NONE {
            if known == handle {
                return idx;
            }
            let e = &self.ents[idx as usize];
            if e.alive && e.id == id {
                // Despawned and spawned again under the same id in the slot hecs freed for
                // it (a ghost adopted as a local entity): the same entity for observers.
                self.cold[idx as usize].handle = handle;
                self.set_handle(handle, idx);
                return idx;
            }
            // hecs reused the slot: the entity we knew there is gone.
            if e.alive {
                self.kill(idx);
            }
        }
        // The same id under a new handle (despawned and re-created, e.g. by a handoff):
        // still the same entity for observers.
        let Some(j) = self.index_of(id) else {
            return NONE;
        };
        let old = self.cold[j as usize].handle.id() as usize;
        if self.by_handle.get(old).is_some_and(|k| k.1 == j) {
            self.by_handle[old] = UNKNOWN;
        }
        self.cold[j as usize].handle = handle;
        self.set_handle(handle, j);
        j
    }

    fn set_handle(&mut self, handle: hecs::Entity, idx: u32) {
        let hid = handle.id() as usize;
        if self.by_handle.len() <= hid {
            self.by_handle.resize(hid + 1, UNKNOWN);
        }
        self.by_handle[hid] = (handle, idx);
    }

    fn insert(&mut self, fresh: Fresh<'_>) {
        let Fresh {
            handle,
            id,
            pos,
            motion,
            player,
            digest,
        } = fresh;
        let ent = Ent {
            id,
            pos,
            alive: true,
            observers: 0,
            target: motion.target,
            facing: motion.facing,
            info: info_digest(player.avatar, &player.name),
            player: digest,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.ents[i as usize] = ent;
                set_bit(&mut self.watched_bits, i, false);
                let k = &mut self.cold[i as usize];
                // Keep the name's capacity.
                k.handle = handle;
                k.avatar = player.avatar;
                k.name.clone_from(&player.name);
                i
            }
            None => {
                self.ents.push(ent);
                self.cold.push(Cold {
                    handle,
                    avatar: player.avatar,
                    name: player.name.clone(),
                });
                (self.ents.len() - 1) as u32
            }
        };
        self.grid.insert(Item { pos, idx, id });
        self.set_handle(handle, idx);
        self.by_id.insert(id, idx);
        self.live += 1;
        self.roster += 1;
        self.mark(idx, pos);
        self.moved.push(idx);
    }

    fn kill(&mut self, idx: u32) {
        let e = &mut self.ents[idx as usize];
        self.grid.remove(idx, self.grid.dims().cell(e.pos));
        e.alive = false;
        let (id, pos) = (e.id, e.pos);
        let hid = self.cold[idx as usize].handle.id() as usize;
        self.live -= 1;
        self.roster += 1;
        if self.by_id.get(&id) == Some(&idx) {
            self.by_id.remove(&id);
        }
        if self.by_handle.get(hid).is_some_and(|k| k.1 == idx) {
            self.by_handle[hid] = UNKNOWN;
        }
        self.mark(idx, pos);
        self.dead.push(idx);
    }

    /// Ends the epoch: recycles the indices of entities that died in it.
    pub(crate) fn end_epoch(&mut self) {
        self.free.append(&mut self.dead);
    }

    /// Number of live entities.
    pub(crate) fn live(&self) -> usize {
        self.live
    }
}
