//! The walkable grid of a space: size, blocked tiles and spawn points.

use glam::IVec2;
use thiserror::Error;

/// Largest accepted side of a map, in tiles.
pub const MAX_MAP_SIDE: u32 = 4096;

/// Why a map file could not be used. Each variant names what is wrong.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MapError {
    /// The file is not valid JSON, or a field has the wrong type.
    #[error("map is not valid Tiled JSON: {0}")]
    Json(String),
    /// Only orthogonal maps are supported.
    #[error("unsupported orientation {0:?} (only \"orthogonal\" maps are supported)")]
    UnsupportedOrientation(String),
    /// Infinite (chunked) maps are not supported.
    #[error("infinite maps are not supported; save the map with a fixed size")]
    Infinite,
    /// A tileset lives in another file; embed it in the map.
    #[error("tileset {0:?} is external; embed tilesets in the map (Tiled: Embed Tileset)")]
    ExternalTileset(String),
    /// Map width, height or tile size is zero or too large.
    #[error("bad map size {width}x{height} tiles of {tile_width}x{tile_height} px (sides 1..={max})", max = MAX_MAP_SIDE)]
    BadSize {
        /// Width in tiles.
        width: u32,
        /// Height in tiles.
        height: u32,
        /// Tile width in pixels.
        tile_width: u32,
        /// Tile height in pixels.
        tile_height: u32,
    },
    /// A tile layer's size or data length does not match the map.
    #[error("layer {layer:?}: expected {expected} tiles, found {found}")]
    LayerSize {
        /// The layer's name.
        layer: String,
        /// Tiles expected (map width × height).
        expected: usize,
        /// Tiles found.
        found: usize,
    },
    /// A layer's encoded data could not be decoded.
    #[error("layer {layer:?}: cannot decode data: {detail}")]
    BadLayerData {
        /// The layer's name.
        layer: String,
        /// What went wrong.
        detail: String,
    },
    /// The map has no spawn points.
    #[error(
        "map has no spawn points (add an object layer named \"spawns\" or objects of type \"spawn\")"
    )]
    NoSpawnPoints,
    /// A spawn point lies outside the map or on a blocked tile.
    #[error("spawn point at tile ({x}, {y}) is {what}")]
    BadSpawn {
        /// Tile column.
        x: i64,
        /// Tile row.
        y: i64,
        /// "outside the map" or "on a blocked tile".
        what: &'static str,
    },
}

/// Checks map and tile dimensions against the accepted range.
pub(crate) fn check_size(width: u32, height: u32, tile_size: (u32, u32)) -> Result<(), MapError> {
    let side_ok = |v: u32| (1..=MAX_MAP_SIDE).contains(&v);
    if side_ok(width) && side_ok(height) && side_ok(tile_size.0) && side_ok(tile_size.1) {
        Ok(())
    } else {
        Err(MapError::BadSize {
            width,
            height,
            tile_width: tile_size.0,
            tile_height: tile_size.1,
        })
    }
}

/// A space's walkable grid: which tiles are blocked and where avatars appear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileMap {
    width: u32,
    height: u32,
    tile_size: (u32, u32),
    blocked: Vec<bool>,
    spawns: Vec<IVec2>,
}

impl TileMap {
    /// Builds a map from its parts, validating sizes and spawn points.
    pub fn new(
        width: u32,
        height: u32,
        tile_size: (u32, u32),
        blocked: Vec<bool>,
        spawns: Vec<IVec2>,
    ) -> Result<TileMap, MapError> {
        check_size(width, height, tile_size)?;
        let expected = (width * height) as usize;
        if blocked.len() != expected {
            return Err(MapError::LayerSize {
                layer: "collision".into(),
                expected,
                found: blocked.len(),
            });
        }
        let map = TileMap {
            width,
            height,
            tile_size,
            blocked,
            spawns,
        };
        if map.spawns.is_empty() {
            return Err(MapError::NoSpawnPoints);
        }
        for s in &map.spawns {
            let what = if !map.contains(*s) {
                Some("outside the map")
            } else if map.is_blocked(*s) {
                Some("on a blocked tile")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(MapError::BadSpawn {
                    x: s.x.into(),
                    y: s.y.into(),
                    what,
                });
            }
        }
        Ok(map)
    }

    /// An open `width × height` floor with one spawn point in the middle (tests, examples).
    pub fn open_floor(width: u32, height: u32) -> TileMap {
        let spawn = IVec2::new((width / 2) as i32, (height / 2) as i32);
        TileMap::new(
            width,
            height,
            (32, 32),
            vec![false; (width * height) as usize],
            vec![spawn],
        )
        .expect("open floor dimensions must be 1..=4096")
    }

    /// A map drawn in text, one row per line: `#` blocked, `S` spawn point, anything
    /// else floor (tests, examples).
    pub fn from_ascii(rows: &str) -> Result<TileMap, MapError> {
        let lines: Vec<&str> = rows
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let height = lines.len() as u32;
        let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
        let mut blocked = vec![false; (width * height) as usize];
        let mut spawns = Vec::new();
        for (y, line) in lines.iter().enumerate() {
            for (x, c) in line.chars().enumerate() {
                match c {
                    '#' => blocked[y * width as usize + x] = true,
                    'S' => spawns.push(IVec2::new(x as i32, y as i32)),
                    _ => {}
                }
            }
        }
        TileMap::new(width, height, (32, 32), blocked, spawns)
    }

    /// Width in tiles.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in tiles.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Tile size in pixels (width, height), as in the Tiled file.
    pub fn tile_size(&self) -> (u32, u32) {
        self.tile_size
    }

    /// Spawn points, in file order.
    pub fn spawns(&self) -> &[IVec2] {
        &self.spawns
    }

    /// Whether the tile lies inside the map.
    pub fn contains(&self, tile: IVec2) -> bool {
        tile.x >= 0 && tile.y >= 0 && (tile.x as u32) < self.width && (tile.y as u32) < self.height
    }

    /// Row-major index of a tile inside the map.
    pub fn index(&self, tile: IVec2) -> Option<usize> {
        self.contains(tile)
            .then(|| tile.y as usize * self.width as usize + tile.x as usize)
    }

    /// Whether the tile is blocked (walls, furniture). Tiles outside the map count as blocked.
    pub fn is_blocked(&self, tile: IVec2) -> bool {
        self.index(tile).is_none_or(|i| self.blocked[i])
    }

    /// Number of walkable tiles.
    pub fn walkable_count(&self) -> usize {
        self.blocked.iter().filter(|b| !**b).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_maps_parse() {
        let m = TileMap::from_ascii("####\n#S.#\n####").unwrap();
        assert_eq!((m.width(), m.height()), (4, 3));
        assert!(m.is_blocked(IVec2::new(0, 0)));
        assert!(!m.is_blocked(IVec2::new(2, 1)));
        assert!(m.is_blocked(IVec2::new(-1, 1)));
        assert!(m.is_blocked(IVec2::new(4, 1)));
        assert_eq!(m.spawns(), &[IVec2::new(1, 1)]);
        assert_eq!(m.walkable_count(), 2);
    }

    #[test]
    fn bad_spawns_and_sizes_are_errors() {
        assert_eq!(
            TileMap::from_ascii("###\n#.#"),
            Err(MapError::NoSpawnPoints)
        );
        assert!(matches!(
            TileMap::new(2, 1, (32, 32), vec![true, false], vec![IVec2::ZERO]),
            Err(MapError::BadSpawn {
                what: "on a blocked tile",
                ..
            })
        ));
        assert!(matches!(
            TileMap::new(0, 1, (32, 32), vec![], vec![]),
            Err(MapError::BadSize { .. })
        ));
    }
}
