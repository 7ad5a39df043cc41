//! The four grid directions.

use glam::IVec2;
use serde::{Deserialize, Serialize};

/// One of the four grid directions an avatar can face and move in.
///
/// Tile coordinates grow east (x) and south (y), as in Tiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Direction {
    /// Towards smaller y.
    North,
    /// Towards larger x.
    East,
    /// Towards larger y.
    South,
    /// Towards smaller x.
    West,
}

impl Direction {
    /// All four directions, in a fixed order.
    pub const ALL: [Direction; 4] = [
        Direction::North,
        Direction::East,
        Direction::South,
        Direction::West,
    ];

    /// The unit step this direction takes on the grid.
    pub fn offset(self) -> IVec2 {
        match self {
            Direction::North => IVec2::new(0, -1),
            Direction::East => IVec2::new(1, 0),
            Direction::South => IVec2::new(0, 1),
            Direction::West => IVec2::new(-1, 0),
        }
    }

    /// A small stable code (0..4), used for hashing and the wire format.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The direction for a code produced by [`Direction::code`].
    pub fn from_code(code: u8) -> Option<Direction> {
        Direction::ALL.get(usize::from(code)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for d in Direction::ALL {
            assert_eq!(Direction::from_code(d.code()), Some(d));
        }
        assert_eq!(Direction::from_code(4), None);
    }
}
