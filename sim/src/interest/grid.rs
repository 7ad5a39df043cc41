//! A uniform grid of entity positions: per cell of `1 << CELL_SHIFT` tiles square, the
//! entities standing in it, each with its tile and id so that range queries read only the
//! grid. Maintained incrementally: a move within a cell rewrites one item, a move across
//! cells is a swap-remove and a push (O(1) whatever the number of entities).
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

/// The grid of entity positions.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    dims: Dims,
    cells: Vec<Vec<Item>>,
}

impl Grid {
    /// The grid's dimensions.
    pub(crate) fn dims(&self) -> Dims {
        self.dims
    }

    /// Sizes the grid for `dims`, emptying it when they change; returns whether they did
    /// (then every entity must be inserted again).
    pub(crate) fn ensure(&mut self, dims: Dims) -> bool {
        if dims == self.dims && !self.cells.is_empty() {
            return false;
        }
        self.dims = dims;
        self.cells.clear();
        self.cells.resize_with(dims.len(), Vec::new);
        true
    }

    /// Adds an item; returns its `(cell, position in the cell)`.
    pub(crate) fn insert(&mut self, item: Item) -> (u32, u32) {
        let cell = self.dims.cell(item.pos);
        let items = &mut self.cells[cell as usize];
        items.push(item);
        (cell, (items.len() - 1) as u32)
    }

    /// Removes the item at `(cell, at)`. The last item of the cell takes its place: returns
    /// that item's entity index, whose position in the cell is now `at`.
    pub(crate) fn remove(&mut self, cell: u32, at: u32) -> Option<u32> {
        let items = &mut self.cells[cell as usize];
        items.swap_remove(at as usize);
        items.get(at as usize).map(|i| i.idx)
    }

    /// Updates the tile of the item at `(cell, at)`, which must stay in the same cell.
    pub(crate) fn set_pos(&mut self, cell: u32, at: u32, pos: IVec2) {
        debug_assert_eq!(self.dims.cell(pos), cell);
        self.cells[cell as usize][at as usize].pos = pos;
    }

    /// Calls `f` for every item within the square of half-side `radius` around `center`
    /// (and some beyond it: callers check the exact distance).
    pub(crate) fn for_each_near(&self, center: IVec2, radius: i32, mut f: impl FnMut(&Item)) {
        for row in self.dims.span(center, radius).rows() {
            for items in &self.cells[row] {
                items.iter().for_each(&mut f);
            }
        }
    }
}
