//! A uniform grid of entity positions: per cell of `1 << CELL_SHIFT` tiles square, the
//! entities standing in it, each with its tile and id so that range queries read only the
//! grid. Stored flat, cell after cell (so a query scans one contiguous run per row of
//! cells), and rebuilt by a counting sort in a tick where an entity changed cells, appeared
//! or died; a move within a cell rewrites its item in place.
//!
//! It replaced an rstar R-tree: with every avatar walking, ~16 % of the points move per
//! tick and the tree had to be bulk-loaded each tick (18–40 ms for 100k points), and an
//! R-tree query cost 3–6 µs where the grid scan costs well under one (figures in
//! `benches/README.md`, section Interest).
//!
//! Positions outside the map are clamped into the border cells, so every query stays
//! exact: clamping is monotonic, a point within `radius` of a center always lies in the
//! clamped span of cells around it.

use glam::IVec2;

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

    /// The cells overlapping the square of half-side `radius` around `center`.
    pub(crate) fn span(self, center: IVec2, radius: i32) -> Span {
        let f = |v: i32, n: i32| (v >> CELL_SHIFT).clamp(0, n - 1);
        Span {
            x0: f(center.x.saturating_sub(radius), self.w),
            y0: f(center.y.saturating_sub(radius), self.h),
            x1: f(center.x.saturating_add(radius), self.w),
            y1: f(center.y.saturating_add(radius), self.h),
            w: self.w,
        }
    }
}

/// A rectangle of cells, inclusive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub(crate) x0: i32,
    pub(crate) y0: i32,
    pub(crate) x1: i32,
    pub(crate) y1: i32,
    w: i32,
}

impl Span {
    /// The cell indices of each row of the span, as `first..=last` ranges.
    pub(crate) fn rows(self) -> impl Iterator<Item = std::ops::RangeInclusive<usize>> {
        (self.y0..=self.y1).map(move |y| {
            let row = (y * self.w) as usize;
            row + self.x0 as usize..=row + self.x1 as usize
        })
    }
}

/// A stable counting sort by cell. `cell_of(k)` is the cell of the `k`-th of `n` elements;
/// afterwards bucket `c` is `start[c]..start[c + 1]` (`start` has one entry per cell plus
/// one), and `put(k, at)` was called with each element's place in the sorted order.
pub(crate) fn counting_sort(
    start: &mut [u32],
    n: usize,
    cell_of: impl Fn(usize) -> u32,
    mut put: impl FnMut(usize, usize),
) {
    start.fill(0);
    for k in 0..n {
        start[cell_of(k) as usize + 1] += 1;
    }
    for c in 1..start.len() {
        start[c] += start[c - 1];
    }
    for k in 0..n {
        let at = &mut start[cell_of(k) as usize];
        put(k, *at as usize);
        *at += 1;
    }
    // `start[c]` now holds the end of bucket c: shift right to make it the start again.
    start.copy_within(..start.len() - 1, 1);
    start[0] = 0;
}

/// The grid of entity positions.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    dims: Dims,
    /// Cell `c` holds `items[start[c]..start[c + 1]]`.
    start: Vec<u32>,
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
            self.items.clear();
            self.dirty = true;
        }
    }

    /// Notes that an entity changed cells, appeared or died: the grid is rebuilt by
    /// [`Grid::rebuild`].
    pub(crate) fn invalidate(&mut self) {
        self.dirty = true;
    }

    /// Whether the grid waits for a rebuild (then in-place moves are pointless).
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Updates the tile of entity `idx`, which stays in the same cell (the grid must not be
    /// waiting for a rebuild).
    pub(crate) fn set_pos(&mut self, idx: u32, pos: IVec2) {
        debug_assert!(!self.dirty);
        self.items[self.at[idx as usize] as usize].pos = pos;
    }

    /// Rebuilds the items if needed from `live`, the live entities (in index order, so the
    /// order within a cell is deterministic).
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
            input.len(),
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
            input.len(),
            |k| dims.cell(input[k].pos),
            |k, at| {
                items[at] = input[k];
                places[input[k].idx as usize] = at as u32;
            },
        );
        self.spare = input;
    }

    /// Calls `f` for every item within the square of half-side `radius` around `center`
    /// (and some beyond it: callers check the exact distance).
    pub(crate) fn for_each_near(&self, center: IVec2, radius: i32, f: impl FnMut(&Item)) {
        debug_assert!(!self.dirty, "grid queried before its rebuild");
        let span = self.dims.span(center, radius);
        let rows = span.rows().map(|r| {
            &self.items[self.start[*r.start()] as usize..self.start[*r.end() + 1] as usize]
        });
        rows.flatten().for_each(f);
    }
}
