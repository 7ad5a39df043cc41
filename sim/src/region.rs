//! Cutting a space into rectangular regions.

use glam::IVec2;
use serde::{Deserialize, Serialize};

/// A region of a space, by its column and row in the region grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegionId {
    /// Column (x / region width).
    pub col: u16,
    /// Row (y / region height).
    pub row: u16,
}

/// How a map of `width × height` tiles is cut into regions of `size × size` tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionGrid {
    size: i32,
    cols: u16,
    rows: u16,
}

impl RegionGrid {
    /// A grid of `size`-tile square regions over a `width × height` map. `size` is at least 1.
    pub fn new(width: u32, height: u32, size: u32) -> RegionGrid {
        let size = size.max(1);
        let count = |n: u32| u16::try_from(n.div_ceil(size)).unwrap_or(u16::MAX);
        RegionGrid {
            size: i32::try_from(size).unwrap_or(i32::MAX),
            cols: count(width),
            rows: count(height),
        }
    }

    /// The region holding a tile (tiles are assumed inside the map).
    pub fn region_of(&self, tile: IVec2) -> RegionId {
        let clamp = |v: i32, n: u16| {
            u16::try_from(v.div_euclid(self.size))
                .unwrap_or(0)
                .min(n - 1)
        };
        RegionId {
            col: clamp(tile.x, self.cols.max(1)),
            row: clamp(tile.y, self.rows.max(1)),
        }
    }

    /// Region side length in tiles.
    pub fn size(&self) -> i32 {
        self.size
    }

    /// Number of region columns and rows.
    pub fn dims(&self) -> (u16, u16) {
        (self.cols, self.rows)
    }

    /// Every region, row by row.
    pub fn regions(&self) -> impl Iterator<Item = RegionId> + '_ {
        (0..self.rows).flat_map(move |row| (0..self.cols).map(move |col| RegionId { col, row }))
    }
}

/// Which regions of a space this simulation owns. Moves into a tile of a region it does
/// not own are refused with [`crate::RejectReason::Foreign`] (the driver hands them off).
/// Every region is local until told otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locality {
    cols: u16,
    foreign: Vec<bool>,
}

impl Locality {
    /// Every region of `grid` local.
    pub fn all_local(grid: &RegionGrid) -> Locality {
        let (cols, rows) = grid.dims();
        Locality {
            cols,
            foreign: vec![false; usize::from(cols) * usize::from(rows)],
        }
    }

    fn index(&self, region: RegionId) -> Option<usize> {
        let i = usize::from(region.row) * usize::from(self.cols) + usize::from(region.col);
        (region.col < self.cols && i < self.foreign.len()).then_some(i)
    }

    /// Whether `region` is simulated here (regions outside the grid are not).
    pub fn is_local(&self, region: RegionId) -> bool {
        self.index(region).is_some_and(|i| !self.foreign[i])
    }

    /// Marks `region` local or foreign; returns whether anything changed.
    pub(crate) fn set(&mut self, region: RegionId, local: bool) -> bool {
        match self.index(region) {
            Some(i) if self.foreign[i] == local => {
                self.foreign[i] = !local;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_map_to_regions() {
        let g = RegionGrid::new(130, 64, 64);
        assert_eq!(g.dims(), (3, 1));
        assert_eq!(g.region_of(IVec2::new(0, 0)), RegionId { col: 0, row: 0 });
        assert_eq!(g.region_of(IVec2::new(64, 63)), RegionId { col: 1, row: 0 });
        assert_eq!(g.region_of(IVec2::new(129, 0)), RegionId { col: 2, row: 0 });
        assert_eq!(g.regions().count(), 3);
    }
}
