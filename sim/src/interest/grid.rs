//! A uniform grid of entity positions: per cell of `1 << CELL_SHIFT` tiles square, the
//! entities standing in it, each with its tile and id so that range queries read only the
//! grid. Stored flat, cell after cell, each cell with a few free places: a move within a
//! cell rewrites its item in place, and an entity that changes cells, appears or dies is
//! taken out of one cell (the cell's last item fills its place) and put in the other's
//! free place, so a tick costs what changed. Only when a cell has no free place left is
//! the whole grid rebuilt (a counting sort giving every cell free places again): a few
//! times per hundred ticks with a tenth of 100k avatars walking.
//!
//! It replaced an rstar R-tree: with every avatar walking, ~16 % of the points move per
//! tick and the tree had to be bulk-loaded each tick (18–40 ms for 100k points), and an
//! R-tree query cost 3–6 µs where the grid scan costs well under one (figures in
//! `benches/README.md`, section Interest).
//!
//! Positions outside the map are clamped into the border cells, so every query stays
//! exact: clamping is monotonic, a point within `radius` of a center always lies in the
//! clamped span of cells around it. Queries visit a disc of cells, not a square.

use std::ops::Range;

use glam::IVec2;

use super::prefetch;
use crate::{EntityId, TileMap};

/// Side of a cell is `1 << CELL_SHIFT` tiles (shared with the change grid).
pub(crate) const CELL_SHIFT: u32 = 2;

/// One entity in the grid.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    /// Its tile.
    pub(crate) pos: IVec2,
    /// Its index in the entity table.
    pub(crate) idx: u32,
    /// Its id (ranking ties are broken by id, so queries need it).
    pub(crate) id: EntityId,
}

/// The cell dimensions covering a map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dims {
    w: i32,
    h: i32,
}

impl Dims {
    /// The dimensions for `map`.
    pub(crate) fn of(map: &TileMap) -> Dims {
        let cells = |tiles: u32| {
            let n = (i64::from(tiles) + (1 << CELL_SHIFT) - 1) >> CELL_SHIFT;
            i32::try_from(n.max(1)).unwrap_or(i32::MAX)
        };
        Dims {
            w: cells(map.width()),
            h: cells(map.height()),
        }
    }

    /// Number of cells.
    pub(crate) fn len(self) -> usize {
        self.w as usize * self.h as usize
    }

    /// The cell holding tile `p` (clamped into the grid).
    pub(crate) fn cell(self, p: IVec2) -> u32 {
        let x = (p.x >> CELL_SHIFT).clamp(0, self.w - 1);
        let y = (p.y >> CELL_SHIFT).clamp(0, self.h - 1);
        (y * self.w + x) as u32
    }

    /// The cells that may hold a tile within `radius` of `center` (a disc of cells).
    pub(crate) fn span(self, center: IVec2, radius: i32) -> Span {
        let f = |v: i32| (v >> CELL_SHIFT).clamp(0, self.h - 1);
        Span {
            y0: f(center.y.saturating_sub(radius)),
            y1: f(center.y.saturating_add(radius)),
            center,
            radius,
            dims: self,
        }
    }
}

/// The cells that may hold a tile within `radius` of `center`, row by row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    y0: i32,
    y1: i32,
    center: IVec2,
    radius: i32,
    dims: Dims,
}

impl Span {
    /// The cell indices of each row of the span, as `first..last + 1` ranges: in a row, the
    /// cells within `sqrt(radius² - dy²)` of the center's column, `dy` being the distance
    /// from the center to the row's nearest tile row (the border rows and columns reach
    /// out to infinity, as positions outside the map are clamped into them).
    pub(crate) fn rows(self) -> impl Iterator<Item = Range<usize>> {
        let Dims { w, h } = self.dims;
        let (cx, cy, r) = (
            i64::from(self.center.x),
            i64::from(self.center.y),
            i64::from(self.radius),
        );
        let col = move |x: i64| (x >> CELL_SHIFT).clamp(0, i64::from(w - 1)) as usize;
        (self.y0..=self.y1).filter_map(move |y| {
            let lo = if y == 0 {
                i64::MIN
            } else {
                i64::from(y) << CELL_SHIFT
            };
            let hi = if y == h - 1 {
                i64::MAX
            } else {
                (i64::from(y + 1) << CELL_SHIFT) - 1
            };
            let dy = (lo.saturating_sub(cy)).max(cy.saturating_sub(hi)).max(0);
            if dy > r {
                return None;
            }
            let half = (r * r - dy * dy).isqrt();
            let row = (y * w) as usize;
            Some(row + col(cx - half)..row + col(cx + half) + 1)
        })
    }
}

/// A stable counting sort by cell that leaves `slack` free places after each cell's
/// elements. `cell_of(k)` is the cell of the `k`-th of `n` elements; afterwards bucket `c`
/// is `start[c]..start[c + 1]` (`start` has one entry per cell plus one), its first
/// `start[c + 1] - start[c] - slack` places taken, and `put(k, at)` was called with each
/// element's place in the sorted order.
pub(crate) fn counting_sort(
    start: &mut [u32],
    slack: u32,
    n: usize,
    cell_of: impl Fn(usize) -> u32,
    mut put: impl FnMut(usize, usize),
) {
    start.fill(0);
    for k in 0..n {
        start[cell_of(k) as usize + 1] += 1;
    }
    for c in 1..start.len() {
        start[c] += start[c - 1] + slack;
    }
    for k in 0..n {
        let at = &mut start[cell_of(k) as usize];
        put(k, *at as usize);
        *at += 1;
    }
    // `start[c]` now holds the end of bucket c's elements: shift right (past the free
    // places) to make it the start of bucket c + 1 again.
    start.copy_within(..start.len() - 1, 1);
    start[0] = 0;
    for s in &mut start[1..] {
        *s += slack;
    }
}

/// Free places given to every cell at a rebuild, so that entities can move into it until the
/// next one.
const SLACK: u32 = 4;

/// The grid of entity positions.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    dims: Dims,
    /// Cell `c`'s places are `items[start[c]..start[c + 1]]`, the first `len[c]` of them
    /// taken.
    start: Vec<u32>,
    len: Vec<u32>,
    items: Vec<Item>,
    /// The unsorted input of a rebuild (kept for its capacity).
    spare: Vec<Item>,
    /// Per entity index: its place in `items`.
    at: Vec<u32>,
    /// Whether the items must be rebuilt before the next query.
    dirty: bool,
}

impl Grid {
    /// The grid's dimensions.
    pub(crate) fn dims(&self) -> Dims {
        self.dims
    }

    /// Sizes the grid for `dims` (emptied and marked for a rebuild when they change).
    pub(crate) fn ensure(&mut self, dims: Dims) {
        if dims != self.dims || self.start.is_empty() {
            self.dims = dims;
            self.start = vec![0; dims.len() + 1];
            self.len = vec![0; dims.len()];
            self.items.clear();
            self.dirty = true;
        }
    }

    /// Asks the CPU to start loading the place of entity `idx` in the items (`item`: the
    /// item there, which reads the place).
    pub(crate) fn prefetch_place(&self, idx: u32, item: bool) {
        match self.at.get(idx as usize) {
            Some(&place) if item && !self.dirty => prefetch::at(&self.items, place as usize),
            _ => prefetch::at(&self.at, idx as usize),
        }
    }

    /// Updates the tile of entity `idx`, which stays in the same cell.
    pub(crate) fn set_pos(&mut self, idx: u32, pos: IVec2) {
        if !self.dirty {
            self.items[self.at[idx as usize] as usize].pos = pos;
        }
    }

    /// Lists a new entity in the cell of its tile.
    pub(crate) fn insert(&mut self, item: Item) {
        if self.dirty {
            return;
        }
        let c = self.dims.cell(item.pos) as usize;
        if self.start[c] + self.len[c] == self.start[c + 1] {
            // The cell is full: the next rebuild gives it room again.
            self.dirty = true;
            return;
        }
        let place = self.start[c] + self.len[c];
        self.len[c] += 1;
        self.items[place as usize] = item;
        let i = item.idx as usize;
        if self.at.len() <= i {
            self.at.resize(i + 1, 0);
        }
        self.at[i] = place;
    }

    /// Removes entity `idx` from `cell`, the cell it is listed in (if it is not there, the
    /// grid is marked for a rebuild instead).
    pub(crate) fn remove(&mut self, idx: u32, cell: u32) {
        if self.dirty {
            return;
        }
        let c = cell as usize;
        let place = self
            .at
            .get(idx as usize)
            .map_or(usize::MAX, |&p| p as usize);
        let (first, taken) = (self.start[c] as usize, self.len[c] as usize);
        if !(first..first + taken).contains(&place) || self.items[place].idx != idx {
            self.dirty = true;
            return;
        }
        self.len[c] -= 1;
        let last = first + taken - 1;
        let moved = self.items[last];
        self.items[place] = moved;
        self.at[moved.idx as usize] = place as u32;
    }

    /// Moves entity `item.idx` from `cell` to the cell of `item.pos`.
    pub(crate) fn relocate(&mut self, cell: u32, item: Item) {
        self.remove(item.idx, cell);
        self.insert(item);
    }

    /// Rebuilds the items, if a cell overflowed or the grid is new, from `live`, the live
    /// entities (in index order, so the order within a cell is deterministic); every cell
    /// gets [`SLACK`] free places.
    pub(crate) fn rebuild(&mut self, live: impl Iterator<Item = Item>) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let dims = self.dims;
        let mut input = std::mem::take(&mut self.spare);
        input.clear();
        input.extend(live);
        self.items.clear();
        self.items.resize(
            input.len() + SLACK as usize * dims.len(),
            Item {
                pos: IVec2::ZERO,
                idx: 0,
                id: EntityId(std::num::NonZeroU64::MIN),
            },
        );
        if let Some(last) = input.iter().map(|i| i.idx as usize).max()
            && self.at.len() <= last
        {
            self.at.resize(last + 1, 0);
        }
        let (items, places) = (&mut self.items, &mut self.at);
        counting_sort(
            &mut self.start,
            SLACK,
            input.len(),
            |k| dims.cell(input[k].pos),
            |k, at| {
                items[at] = input[k];
                places[input[k].idx as usize] = at as u32;
            },
        );
        for (c, taken) in self.len.iter_mut().enumerate() {
            *taken = self.start[c + 1] - self.start[c] - SLACK;
        }
        self.spare = input;
    }

    /// Asks the CPU to start loading the start of each row of `cells` (a span's rows; the
    /// rest of a row follows in sequence).
    pub(crate) fn prefetch(&self, cells: &[Range<usize>]) {
        for r in cells {
            let (a, b) = (self.start[r.start], self.start[r.end]);
            prefetch::lines(&self.items[a as usize..b as usize], 4);
        }
    }

    /// Calls `f` for every item within `radius` of `center` (and some beyond it: callers
    /// check the exact distance).
    #[inline(always)]
    pub(crate) fn for_each_near(&self, center: IVec2, radius: i32, mut f: impl FnMut(&Item)) {
        for row in self.dims.span(center, radius).rows() {
            self.for_each_in(row, &mut f);
        }
    }

    /// Calls `f` for every item in the cells of `row`. Always inlined, so that `f` is inlined
    /// into the scan (left to itself, the compiler may call it per item).
    #[inline(always)]
    pub(crate) fn for_each_in(&self, row: Range<usize>, f: &mut impl FnMut(&Item)) {
        debug_assert!(!self.dirty, "grid queried before its rebuild");
        for c in row {
            let a = self.start[c] as usize;
            self.items[a..a + self.len[c] as usize]
                .iter()
                .for_each(&mut *f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random inserts, removals and moves (crowding cells past their free places, and
    /// some from a wrong cell) keep every query equal to a brute-force scan of the live
    /// entities.
    #[test]
    fn incremental_updates_match_a_brute_force_scan() {
        let map = TileMap::open_floor(24, 16);
        let dims = Dims::of(&map);
        let mut grid = Grid::default();
        grid.ensure(dims);
        let mut live: Vec<Option<Item>> = vec![None; 200];
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut rand = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for round in 0..400 {
            for _ in 0..1 + rand(12) {
                let idx = rand(live.len() as u64) as u32;
                // Clustered positions (and some off the map) crowd a few cells.
                let pos = IVec2::new(rand(30) as i32 - 3, rand(6) as i32 + (round % 3) * 4);
                let id = EntityId(std::num::NonZeroU64::new(u64::from(idx) + 1).unwrap());
                let item = Item { pos, idx, id };
                match live[idx as usize] {
                    Some(old) if rand(3) == 0 => {
                        grid.remove(idx, dims.cell(old.pos));
                        live[idx as usize] = None;
                    }
                    Some(old) if dims.cell(old.pos) == dims.cell(pos) => {
                        grid.set_pos(idx, pos);
                        live[idx as usize] = Some(item);
                    }
                    Some(old) => {
                        // Now and then a stale cell: the grid must notice and rebuild.
                        let stale = rand(10) == 0;
                        let from = dims.cell(old.pos) + u32::from(stale);
                        grid.relocate(from % dims.len() as u32, item);
                        live[idx as usize] = Some(item);
                    }
                    None => {
                        grid.insert(item);
                        live[idx as usize] = Some(item);
                    }
                }
            }
            grid.rebuild(live.iter().flatten().copied());
            let center = IVec2::new(rand(30) as i32 - 3, rand(20) as i32 - 2);
            let radius = rand(9) as i32;
            let mut found = Vec::new();
            grid.for_each_near(center, radius, |item| {
                let d = item.pos - center;
                if d.x * d.x + d.y * d.y <= radius * radius {
                    found.push((item.idx, item.pos));
                }
            });
            found.sort_unstable_by_key(|f| f.0);
            let expected: Vec<(u32, IVec2)> = live
                .iter()
                .flatten()
                .filter(|i| (i.pos - center).length_squared() <= radius * radius)
                .map(|i| (i.idx, i.pos))
                .collect();
            assert_eq!(found, expected, "round {round}: {center} r {radius}");
        }
    }

    /// Every tile within the radius, on the map or off it, lies in a cell the span visits.
    #[test]
    fn span_covers_every_tile_within_radius() {
        let map = TileMap::open_floor(37, 22);
        let dims = Dims::of(&map);
        for (cx, cy) in [
            (0, 0),
            (5, 7),
            (36, 21),
            (18, 10),
            (-9, 3),
            (40, 30),
            (3, -12),
        ] {
            for radius in [0, 1, 2, 3, 6, 8, 13, 40] {
                let center = IVec2::new(cx, cy);
                let cells: Vec<usize> = dims.span(center, radius).rows().flatten().collect();
                for x in cx - radius - 1..=cx + radius + 1 {
                    for y in cy - radius - 1..=cy + radius + 1 {
                        let (dx, dy) = (i64::from(x - cx), i64::from(y - cy));
                        if dx * dx + dy * dy <= i64::from(radius) * i64::from(radius) {
                            let cell = dims.cell(IVec2::new(x, y)) as usize;
                            assert!(cells.contains(&cell), "{center} r {radius}: ({x}, {y})");
                        }
                    }
                }
            }
        }
    }
}
