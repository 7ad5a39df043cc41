//! Loading maps saved by the Tiled editor (JSON format, orthogonal, fixed size).
//!
//! What Plaza reads from a Tiled map:
//! - **Blocked tiles**: any non-empty tile of a layer named `collision` (any case) or with a
//!   bool property `collides`/`blocked` set; and, in every tile layer, any tile whose tileset
//!   entry has a bool property `blocked` or `collides` set.
//! - **Spawn points**: every object of an object layer named `spawns`, and every object whose
//!   `type`/`class` is `spawn`, anywhere. A point object marks its tile; a rectangle marks
//!   every tile it covers.
//!
//! Tile layer data may be a JSON array or base64 (uncompressed, zlib or gzip), as Tiled saves
//! them; group layers are searched recursively. Rendering data (images, tile layers) stays in
//! the file for the client; the simulation only keeps the grid.

use std::collections::BTreeSet;
use std::io::Read;

use base64::Engine as _;
use glam::IVec2;
use serde::Deserialize;

use crate::map::{MapError, TileMap};

/// Tiled stores flip flags in the top bits of a gid.
const GID_MASK: u32 = 0x0FFF_FFFF;

#[derive(Deserialize)]
struct RawMap {
    #[serde(default = "orthogonal")]
    orientation: String,
    #[serde(default)]
    infinite: bool,
    width: u32,
    height: u32,
    tilewidth: u32,
    tileheight: u32,
    #[serde(default)]
    layers: Vec<RawLayer>,
    #[serde(default)]
    tilesets: Vec<RawTileset>,
}

fn orthogonal() -> String {
    "orthogonal".into()
}

#[derive(Deserialize)]
struct RawLayer {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    compression: Option<String>,
    #[serde(default)]
    properties: Vec<RawProperty>,
    #[serde(default)]
    objects: Vec<RawObject>,
    #[serde(default)]
    layers: Vec<RawLayer>,
}

#[derive(Deserialize)]
struct RawProperty {
    name: String,
    #[serde(default)]
    value: serde_json::Value,
}

#[derive(Deserialize)]
struct RawObject {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    class: String,
    x: f64,
    y: f64,
    #[serde(default)]
    width: f64,
    #[serde(default)]
    height: f64,
}

#[derive(Deserialize)]
struct RawTileset {
    #[serde(default)]
    firstgid: u32,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    tiles: Vec<RawTile>,
}

#[derive(Deserialize)]
struct RawTile {
    id: u32,
    #[serde(default)]
    properties: Vec<RawProperty>,
}

fn flag_set(props: &[RawProperty], names: &[&str]) -> bool {
    props
        .iter()
        .any(|p| names.iter().any(|n| p.name.eq_ignore_ascii_case(n)) && p.value == true)
}

impl TileMap {
    /// Parses a Tiled JSON map (see the module docs for what is read).
    ///
    /// ```
    /// let json = include_str!("../../assets/maps/office.json");
    /// let map = sim::TileMap::from_tiled_json(json).unwrap();
    /// assert_eq!((map.width(), map.height()), (40, 30));
    /// ```
    pub fn from_tiled_json(json: &str) -> Result<TileMap, MapError> {
        let raw: RawMap = serde_json::from_str(json).map_err(|e| MapError::Json(e.to_string()))?;
        if raw.orientation != "orthogonal" {
            return Err(MapError::UnsupportedOrientation(raw.orientation));
        }
        if raw.infinite {
            return Err(MapError::Infinite);
        }
        // Validate the size before allocating anything proportional to it.
        crate::map::check_size(raw.width, raw.height, (raw.tilewidth, raw.tileheight))?;
        let mut blocking_gids = BTreeSet::new();
        for ts in &raw.tilesets {
            if let Some(source) = &ts.source {
                return Err(MapError::ExternalTileset(source.clone()));
            }
            for tile in &ts.tiles {
                if flag_set(&tile.properties, &["blocked", "collides"]) {
                    blocking_gids.insert(ts.firstgid + tile.id);
                }
            }
        }
        let cells = raw.width as usize * raw.height as usize;
        let mut blocked = vec![false; cells];
        let mut spawns = BTreeSet::new();
        let mut ctx = Ctx {
            raw: &raw,
            cells,
            blocking_gids: &blocking_gids,
            blocked: &mut blocked,
            spawns: &mut spawns,
        };
        for layer in &raw.layers {
            ctx.visit(layer)?;
        }
        let spawns = spawns.into_iter().map(|(y, x)| IVec2::new(x, y)).collect();
        TileMap::new(
            raw.width,
            raw.height,
            (raw.tilewidth, raw.tileheight),
            blocked,
            spawns,
        )
    }
}

struct Ctx<'a> {
    raw: &'a RawMap,
    cells: usize,
    blocking_gids: &'a BTreeSet<u32>,
    blocked: &'a mut [bool],
    /// (y, x) so that spawn points come out row by row.
    spawns: &'a mut BTreeSet<(i32, i32)>,
}

impl Ctx<'_> {
    fn visit(&mut self, layer: &RawLayer) -> Result<(), MapError> {
        match layer.kind.as_str() {
            "tilelayer" => {
                let gids = decode_layer(layer, self.cells)?;
                let collision = layer.name.eq_ignore_ascii_case("collision")
                    || flag_set(&layer.properties, &["collides", "blocked", "collision"]);
                for (cell, gid) in self.blocked.iter_mut().zip(gids) {
                    let gid = gid & GID_MASK;
                    if gid != 0 && (collision || self.blocking_gids.contains(&gid)) {
                        *cell = true;
                    }
                }
            }
            "objectgroup" => {
                let all = layer.name.eq_ignore_ascii_case("spawns");
                for obj in &layer.objects {
                    if all || obj.kind == "spawn" || obj.class == "spawn" {
                        self.add_spawn(obj)?;
                    }
                }
            }
            "group" => {
                for child in &layer.layers {
                    self.visit(child)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn add_spawn(&mut self, obj: &RawObject) -> Result<(), MapError> {
        let (tw, th) = (
            f64::from(self.raw.tilewidth),
            f64::from(self.raw.tileheight),
        );
        let x0 = (obj.x / tw).floor();
        let y0 = (obj.y / th).floor();
        // A rectangle covers every tile it overlaps; a point (or zero size) just one.
        let x1 = if obj.width > 0.0 {
            ((obj.x + obj.width) / tw).ceil()
        } else {
            x0 + 1.0
        };
        let y1 = if obj.height > 0.0 {
            ((obj.y + obj.height) / th).ceil()
        } else {
            y0 + 1.0
        };
        let (w, h) = (f64::from(self.raw.width), f64::from(self.raw.height));
        if !(x0 >= 0.0 && y0 >= 0.0 && x0 < w && y0 < h && x1.is_finite() && y1.is_finite()) {
            return Err(MapError::BadSpawn {
                x: x0 as i64,
                y: y0 as i64,
                what: "outside the map",
            });
        }
        for y in (y0 as i32)..(y1.min(h) as i32) {
            for x in (x0 as i32)..(x1.min(w) as i32) {
                self.spawns.insert((y, x));
            }
        }
        Ok(())
    }
}

fn decode_layer(layer: &RawLayer, cells: usize) -> Result<Vec<u32>, MapError> {
    let bad = |detail: String| MapError::BadLayerData {
        layer: layer.name.clone(),
        detail,
    };
    let gids = match (&layer.data, layer.encoding.as_deref()) {
        (Some(serde_json::Value::Array(items)), None | Some("csv")) => items
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|g| u32::try_from(g).ok())
                    .ok_or_else(|| bad(format!("tile {v} is not a tile id")))
            })
            .collect::<Result<Vec<u32>, _>>()?,
        (Some(serde_json::Value::String(text)), Some("base64")) => {
            let packed = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| bad(format!("base64: {e}")))?;
            let bytes =
                inflate(&packed, layer.compression.as_deref().unwrap_or(""), cells).map_err(bad)?;
            if bytes.len() % 4 != 0 {
                return Err(bad(format!(
                    "{} bytes is not a whole number of tiles",
                    bytes.len()
                )));
            }
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        }
        (None, _) => return Err(bad("missing data (infinite maps use chunks)".into())),
        (_, encoding) => return Err(bad(format!("unsupported encoding {encoding:?}"))),
    };
    if gids.len() != cells {
        return Err(MapError::LayerSize {
            layer: layer.name.clone(),
            expected: cells,
            found: gids.len(),
        });
    }
    Ok(gids)
}

/// Decompresses layer bytes, reading at most one byte more than a full layer needs so that a
/// hostile "zip bomb" cannot allocate without bound.
fn inflate(packed: &[u8], compression: &str, cells: usize) -> Result<Vec<u8>, String> {
    let limit = (cells as u64) * 4 + 1;
    let mut out = Vec::new();
    let read = match compression {
        "" => return Ok(packed.to_vec()),
        "zlib" => flate2::read::ZlibDecoder::new(packed)
            .take(limit)
            .read_to_end(&mut out),
        "gzip" => flate2::read::GzDecoder::new(packed)
            .take(limit)
            .read_to_end(&mut out),
        other => return Err(format!("unsupported compression {other:?}")),
    };
    read.map_err(|e| format!("{compression}: {e}"))?;
    Ok(out)
}
