//! The interest manager's copy of the world: one record per entity, an R-tree of positions,
//! and a coarse grid of "something changed here this tick" stamps.

use std::collections::HashMap;

use glam::IVec2;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::components::ChangedAt;
use crate::{Direction, EntityId, Motion, PlayerInfo, Position, Simulation, Tick, TileMap};

/// A point of the R-tree: a tile and the entity's index in [`Table::ents`].
pub(crate) type Point = GeomWithData<[i32; 2], u32>;

/// "No index".
pub(crate) const NONE: u32 = u32::MAX;

/// Side of a change-grid cell is `1 << CELL_SHIFT` tiles.
const CELL_SHIFT: u32 = 2;

/// When more than `size / BULK_DIVISOR` points change in one tick, the R-tree is rebuilt
/// with a bulk load instead of removing and inserting them one by one (measured in the
/// `interest/rtree_update` bench).
const BULK_DIVISOR: usize = 8;

/// What the interest manager knows about one entity.
#[derive(Debug)]
pub(crate) struct Ent {
    pub(crate) id: EntityId,
    pub(crate) handle: hecs::Entity,
    pub(crate) pos: IVec2,
    pub(crate) target: Option<IVec2>,
    pub(crate) facing: Option<Direction>,
    pub(crate) avatar: u16,
    pub(crate) name: String,
    /// Digest of `(avatar, name)`: tells whether the player info differs from a baseline.
    pub(crate) info: u64,
    /// Epoch in which a visible field last changed (spawn included).
    pub(crate) changed: u64,
    pub(crate) alive: bool,
    /// Number of observers attached to this entity (it takes part in proximity when > 0).
    pub(crate) observers: u32,
    /// Indices of the entities it is near (proximity), at most the proximity cap.
    pub(crate) peers: Vec<u32>,
}

/// A coarse grid over the map listing, per cell, the entities that changed in the current
/// epoch (moved into or out of the cell, appeared, died, or changed a visible field there).
/// Observers that did not move only look at these lists.
#[derive(Debug, Default)]
pub(crate) struct Cells {
    w: i32,
    h: i32,
    /// `(cell, entity index)` of this epoch's changes, before bucketing.
    touched: Vec<(u32, u32)>,
    /// Bucket `c` is `items[start[c]..start[c + 1]]`.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Cells {
    fn ensure(&mut self, map: &TileMap) {
        let w = ((map.width() as i32 + (1 << CELL_SHIFT) - 1) >> CELL_SHIFT).max(1);
        let h = ((map.height() as i32 + (1 << CELL_SHIFT) - 1) >> CELL_SHIFT).max(1);
        if (w, h) != (self.w, self.h) {
            self.w = w;
            self.h = h;
            self.start = vec![0; (w * h) as usize + 1];
        }
    }

    fn cell(&self, p: IVec2) -> u32 {
        let x = (p.x >> CELL_SHIFT).clamp(0, self.w - 1);
        let y = (p.y >> CELL_SHIFT).clamp(0, self.h - 1);
        (y * self.w + x) as u32
    }

    fn begin(&mut self) {
        self.touched.clear();
    }

    /// Lists entity `idx` under the cell of `p`.
    fn touch(&mut self, p: IVec2, idx: u32) {
        let c = self.cell(p);
        self.touched.push((c, idx));
    }

    /// Buckets this epoch's changes by cell (a counting sort).
    fn finish(&mut self) {
        self.start.fill(0);
        for &(c, _) in &self.touched {
            self.start[c as usize + 1] += 1;
        }
        for c in 1..self.start.len() {
            self.start[c] += self.start[c - 1];
        }
        self.items.clear();
        self.items.resize(self.touched.len(), 0);
        for &(c, idx) in &self.touched {
            let at = &mut self.start[c as usize];
            self.items[*at as usize] = idx;
            *at += 1;
        }
        // `start[c]` now holds the end of bucket c: shift right to make it the start again.
        for c in (1..self.start.len()).rev() {
            self.start[c] = self.start[c - 1];
        }
        self.start[0] = 0;
    }

    /// The cells overlapping the square of half-side `radius` around `center`, as
    /// `(x0, y0, x1, y1)` inclusive.
    pub(crate) fn span(&self, center: IVec2, radius: i32) -> (i32, i32, i32, i32) {
        let lo = center - IVec2::splat(radius);
        let hi = center + IVec2::splat(radius);
        let f = |v: i32, n: i32| (v >> CELL_SHIFT).clamp(0, n - 1);
        (
            f(lo.x, self.w),
            f(lo.y, self.h),
            f(hi.x, self.w),
            f(hi.y, self.h),
        )
    }

    /// The entities that changed in cell `(x, y)` this epoch (an entity may be listed in two
    /// cells, or twice).
    pub(crate) fn bucket(&self, x: i32, y: i32) -> &[u32] {
        let c = (y * self.w + x) as usize;
        &self.items[self.start[c] as usize..self.start[c + 1] as usize]
    }

    /// Whether any entity changed this epoch in the cells around `center`.
    pub(crate) fn any_near(&self, center: IVec2, radius: i32) -> bool {
        let (x0, y0, x1, y1) = self.span(center, radius);
        (y0..=y1).any(|y| {
            let row = (y * self.w) as usize;
            self.start[row + x0 as usize] != self.start[row + x1 as usize + 1]
        })
    }
}

/// A change of an entity's place in the R-tree.
#[derive(Clone, Copy, Debug)]
struct TreeOp {
    idx: u32,
    old: Option<IVec2>,
    new: Option<IVec2>,
}

/// The entity table, kept in step with a [`Simulation`] by [`Table::sync`].
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) ents: Vec<Ent>,
    free: Vec<u32>,
    /// Entities that died in the current epoch; their indices are recycled at its end.
    pub(crate) dead: Vec<u32>,
    /// Entities whose position changed (or that appeared) in the current epoch.
    pub(crate) moved: Vec<u32>,
    by_id: HashMap<EntityId, u32>,
    by_handle: Vec<u32>,
    live: usize,
    pub(crate) tree: RTree<Point>,
    pub(crate) cells: Cells,
    /// Incremented by every [`Table::sync`].
    pub(crate) epoch: u64,
    synced: Option<Tick>,
    ops: Vec<TreeOp>,
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

    /// Brings the table up to date with `sim`: reads every entity whose `ChangedAt` is newer
    /// than the last sync, detects despawns, updates the R-tree and the change grid.
    pub(crate) fn sync(&mut self, sim: &Simulation) {
        self.epoch += 1;
        let epoch = self.epoch;
        self.cells.ensure(sim.map());
        self.cells.begin();
        self.moved.clear();
        self.ops.clear();
        let since = self.synced;
        let mut query = sim.world.query::<(
            hecs::Entity,
            &EntityId,
            &ChangedAt,
            &Position,
            &Motion,
            &PlayerInfo,
        )>();
        for (handle, &id, changed, pos, motion, player) in query.iter() {
            if since.is_some_and(|s| changed.0 <= s) {
                continue;
            }
            let idx = self.resolve(handle, id);
            if idx == NONE {
                self.insert(handle, id, pos.0, motion, player);
                continue;
            }
            let e = &mut self.ents[idx as usize];
            let old = e.pos;
            let mut any = false;
            if e.pos != pos.0 {
                self.ops.push(TreeOp {
                    idx,
                    old: Some(e.pos),
                    new: Some(pos.0),
                });
                self.moved.push(idx);
                e.pos = pos.0;
                any = true;
            }
            if e.target != motion.target || e.facing != motion.facing {
                e.target = motion.target;
                e.facing = motion.facing;
                any = true;
            }
            if e.avatar != player.avatar || e.name != player.name {
                e.avatar = player.avatar;
                e.name.clone_from(&player.name);
                e.info = info_digest(e.avatar, &e.name);
                any = true;
            }
            if any {
                e.changed = epoch;
                self.cells.touch(old, idx);
                if self.cells.cell(old) != self.cells.cell(pos.0) {
                    self.cells.touch(pos.0, idx);
                }
            }
        }
        drop(query);
        if self.live != sim.entity_count() {
            for idx in 0..self.ents.len() as u32 {
                let e = &self.ents[idx as usize];
                if e.alive && !sim.world.contains(e.handle) {
                    self.kill(idx);
                }
            }
        }
        self.apply_tree_ops();
        self.cells.finish();
        self.synced = Some(sim.tick());
    }

    /// The table index of the entity behind `handle`, or `NONE` when it is new to the table.
    fn resolve(&mut self, handle: hecs::Entity, id: EntityId) -> u32 {
        let hid = handle.id() as usize;
        let idx = self.by_handle.get(hid).copied().unwrap_or(NONE);
        if idx != NONE {
            if self.ents[idx as usize].handle == handle {
                return idx;
            }
            // hecs reused the slot: the entity we knew there is gone.
            if self.ents[idx as usize].alive {
                self.kill(idx);
            }
        }
        // The same id under a new handle (despawned and re-created, e.g. by a handoff):
        // still the same entity for observers.
        let Some(j) = self.index_of(id) else {
            return NONE;
        };
        let old = self.ents[j as usize].handle.id() as usize;
        if self.by_handle.get(old) == Some(&j) {
            self.by_handle[old] = NONE;
        }
        self.ents[j as usize].handle = handle;
        self.set_handle(hid, j);
        j
    }

    fn set_handle(&mut self, hid: usize, idx: u32) {
        if self.by_handle.len() <= hid {
            self.by_handle.resize(hid + 1, NONE);
        }
        self.by_handle[hid] = idx;
    }

    fn insert(
        &mut self,
        handle: hecs::Entity,
        id: EntityId,
        pos: IVec2,
        motion: &Motion,
        player: &PlayerInfo,
    ) {
        let ent = Ent {
            id,
            handle,
            pos,
            target: motion.target,
            facing: motion.facing,
            avatar: player.avatar,
            name: player.name.clone(),
            info: info_digest(player.avatar, &player.name),
            changed: self.epoch,
            alive: true,
            observers: 0,
            peers: Vec::new(),
        };
        let idx = match self.free.pop() {
            Some(i) => {
                let old = std::mem::replace(&mut self.ents[i as usize], ent);
                // Keep the peer buffer's capacity.
                let mut peers = old.peers;
                peers.clear();
                self.ents[i as usize].peers = peers;
                i
            }
            None => {
                self.ents.push(ent);
                (self.ents.len() - 1) as u32
            }
        };
        self.set_handle(handle.id() as usize, idx);
        self.by_id.insert(id, idx);
        self.live += 1;
        self.ops.push(TreeOp {
            idx,
            old: None,
            new: Some(pos),
        });
        self.cells.touch(pos, idx);
        self.moved.push(idx);
    }

    fn kill(&mut self, idx: u32) {
        let e = &mut self.ents[idx as usize];
        e.alive = false;
        e.changed = self.epoch;
        let (id, pos, hid) = (e.id, e.pos, e.handle.id() as usize);
        self.live -= 1;
        if self.by_id.get(&id) == Some(&idx) {
            self.by_id.remove(&id);
        }
        if self.by_handle.get(hid) == Some(&idx) {
            self.by_handle[hid] = NONE;
        }
        self.ops.push(TreeOp {
            idx,
            old: Some(pos),
            new: None,
        });
        self.cells.touch(pos, idx);
        self.dead.push(idx);
    }

    fn apply_tree_ops(&mut self) {
        if self.ops.is_empty() {
            return;
        }
        if self.tree.size() == 0 || self.ops.len() > self.tree.size() / BULK_DIVISOR {
            let points = self
                .ents
                .iter()
                .enumerate()
                .filter(|(_, e)| e.alive)
                .map(|(i, e)| Point::new(e.pos.to_array(), i as u32))
                .collect();
            self.tree = RTree::bulk_load(points);
            return;
        }
        for op in &self.ops {
            if let Some(old) = op.old {
                let removed = self.tree.remove(&Point::new(old.to_array(), op.idx));
                debug_assert!(removed.is_some(), "R-tree lost entity {}", op.idx);
            }
            if let Some(new) = op.new {
                self.tree.insert(Point::new(new.to_array(), op.idx));
            }
        }
    }

    /// Ends the epoch: recycles the indices of entities that died in it.
    pub(crate) fn end_epoch(&mut self) {
        for idx in self.dead.drain(..) {
            self.ents[idx as usize].peers.clear();
            self.free.push(idx);
        }
    }

    /// Number of live entities.
    pub(crate) fn live(&self) -> usize {
        self.live
    }
}
