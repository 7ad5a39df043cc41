//! One avatar per tile: who stands on each tile and who is moving into it.

use glam::IVec2;

use crate::{EntityId, TileMap};

/// The occupancy grid resource. Every avatar (ghosts included) occupies exactly the tile of
/// its position; a moving avatar also reserves its target tile. No tile is ever occupied or
/// reserved by two avatars, and a tile is never both occupied and reserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occupancy {
    width: u32,
    height: u32,
    occupant: Vec<Option<EntityId>>,
    reserved: Vec<Option<EntityId>>,
}

impl Occupancy {
    /// An empty grid the size of `map`.
    pub fn new(map: &TileMap) -> Occupancy {
        let cells = map.width() as usize * map.height() as usize;
        Occupancy {
            width: map.width(),
            height: map.height(),
            occupant: vec![None; cells],
            reserved: vec![None; cells],
        }
    }

    fn index(&self, tile: IVec2) -> Option<usize> {
        (tile.x >= 0
            && tile.y >= 0
            && (tile.x as u32) < self.width
            && (tile.y as u32) < self.height)
            .then(|| tile.y as usize * self.width as usize + tile.x as usize)
    }

    /// Who stands on a tile.
    pub fn occupant(&self, tile: IVec2) -> Option<EntityId> {
        self.index(tile).and_then(|i| self.occupant[i])
    }

    /// Who is moving into a tile.
    pub fn reservation(&self, tile: IVec2) -> Option<EntityId> {
        self.index(tile).and_then(|i| self.reserved[i])
    }

    /// Whether nobody stands on or moves into the tile (false outside the grid).
    pub fn is_free(&self, tile: IVec2) -> bool {
        self.index(tile)
            .is_some_and(|i| self.occupant[i].is_none() && self.reserved[i].is_none())
    }

    /// Every claimed tile as `(tile, occupant, reservation)`, row by row.
    pub fn claims(&self) -> impl Iterator<Item = (IVec2, Option<EntityId>, Option<EntityId>)> + '_ {
        let w = self.width as usize;
        self.occupant
            .iter()
            .zip(&self.reserved)
            .enumerate()
            .filter(|(_, (o, r))| o.is_some() || r.is_some())
            .map(move |(i, (o, r))| (IVec2::new((i % w) as i32, (i / w) as i32), *o, *r))
    }

    pub(crate) fn occupy(&mut self, tile: IVec2, id: EntityId) {
        let i = self.index(tile).expect("occupied tile inside the map");
        debug_assert!(self.occupant[i].is_none() && self.reserved[i].is_none_or(|r| r == id));
        self.occupant[i] = Some(id);
        self.reserved[i] = None;
    }

    pub(crate) fn vacate(&mut self, tile: IVec2, id: EntityId) {
        if let Some(i) = self.index(tile)
            && self.occupant[i] == Some(id)
        {
            self.occupant[i] = None;
        }
    }

    pub(crate) fn reserve(&mut self, tile: IVec2, id: EntityId) {
        let i = self.index(tile).expect("reserved tile inside the map");
        debug_assert!(self.occupant[i].is_none() && self.reserved[i].is_none());
        self.reserved[i] = Some(id);
    }

    pub(crate) fn release(&mut self, tile: IVec2, id: EntityId) {
        if let Some(i) = self.index(tile)
            && self.reserved[i] == Some(id)
        {
            self.reserved[i] = None;
        }
    }
}
