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
