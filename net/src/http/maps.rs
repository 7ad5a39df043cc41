//! Maps: the Tiled JSON files under `assets/maps`, parsed once at startup.
//!
//! `GET /api/maps` lists them; `GET /api/maps/{id}` serves the Tiled JSON as saved (the
//! client draws it; tileset images are served under `/assets/tiles/`). The tick driver
//! gets the parsed grid with `state.maps.get(id).map(|m| m.tile_map.clone())`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sim::TileMap;

use crate::http::error::ApiError;
use crate::state::AppState;

/// Why the maps could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The maps folder exists but cannot be read.
    #[error("cannot read {path}: {cause}")]
    Read {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
}

/// What `GET /api/maps` says about one map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MapInfo {
    /// The id: the file stem (`office` for `office.json`).
    pub id: String,
    /// Shown name: the map's `name` property, else the id capitalized.
    pub name: String,
    /// Width in tiles.
    pub width: u32,
    /// Height in tiles.
    pub height: u32,
    /// Tile width in pixels.
    pub tile_width: u32,
    /// Tile height in pixels.
    pub tile_height: u32,
    /// Number of spawn tiles.
    pub spawns: usize,
}

/// One loaded map.
#[derive(Clone, Debug)]
pub struct MapEntry {
    /// Listing data.
    pub info: MapInfo,
    /// The file as saved by Tiled.
    pub json: Arc<str>,
    /// The parsed grid, for the simulation.
    pub tile_map: Arc<TileMap>,
}

/// All maps, by id.
#[derive(Clone, Debug, Default)]
pub struct MapCatalog {
    maps: BTreeMap<String, MapEntry>,
}

/// Whether `id` is a plausible map id (`[a-z0-9_-]`, 1–64 chars).
pub fn valid_map_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl MapCatalog {
    /// Loads every `*.json` of `dir`. A missing folder gives an empty catalog; a file that
    /// is not a valid Tiled map is skipped with a warning.
    pub fn load(dir: &Path) -> Result<MapCatalog, MapError> {
        let mut catalog = MapCatalog::default();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(dir = %dir.display(), "no maps folder; no maps available");
                return Ok(catalog);
            }
            Err(cause) => {
                return Err(MapError::Read {
                    path: dir.to_owned(),
                    cause,
                });
            }
        };
        for entry in entries {
            let path = entry
                .map_err(|cause| MapError::Read {
                    path: dir.to_owned(),
                    cause,
                })?
                .path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
                continue;
            };
            if !valid_map_id(&id) {
                tracing::warn!(file = %path.display(), "map file name is not a valid id; skipped");
                continue;
            }
            let json = std::fs::read_to_string(&path).map_err(|cause| MapError::Read {
                path: path.clone(),
                cause,
            })?;
            match catalog.insert(&id, json) {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "invalid map; skipped")
                }
            }
        }
        tracing::info!(maps = ?catalog.maps.keys().collect::<Vec<_>>(), "maps loaded");
        Ok(catalog)
    }

    /// Adds (or replaces) a map from its Tiled JSON.
    pub fn insert(&mut self, id: &str, json: String) -> Result<(), sim::MapError> {
        let tile_map = TileMap::from_tiled_json(&json)?;
        let name = serde_json::from_str::<serde_json::Value>(&json)
            .ok()
            .and_then(|v| {
                v.get("properties")?
                    .as_array()?
                    .iter()
                    .find(|p| p.get("name").and_then(|n| n.as_str()) == Some("name"))?
                    .get("value")?
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| capitalize(id));
        let (tile_width, tile_height) = tile_map.tile_size();
        let info = MapInfo {
            id: id.to_owned(),
            name,
            width: tile_map.width(),
            height: tile_map.height(),
            tile_width,
            tile_height,
            spawns: tile_map.spawns().len(),
        };
        self.maps.insert(
            id.to_owned(),
            MapEntry {
                info,
                json: json.into(),
                tile_map: Arc::new(tile_map),
            },
        );
        Ok(())
    }

    /// The map `id`, if loaded.
    pub fn get(&self, id: &str) -> Option<&MapEntry> {
        self.maps.get(id)
    }

    /// Whether map `id` is loaded.
    pub fn contains(&self, id: &str) -> bool {
        self.maps.contains_key(id)
    }

    /// Listing data of every map, by id.
    pub fn infos(&self) -> Vec<MapInfo> {
        self.maps.values().map(|m| m.info.clone()).collect()
    }
}

fn capitalize(id: &str) -> String {
    let mut chars = id.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `GET /api/maps`, `GET /api/maps/{id}`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/maps", get(list))
        .route("/api/maps/{id}", get(show))
}

#[derive(Serialize)]
struct MapList {
    maps: Vec<MapInfo>,
}

async fn list(State(state): State<AppState>) -> Json<MapList> {
    Json(MapList {
        maps: state.maps.infos(),
    })
}

async fn show(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let id = id.strip_suffix(".json").unwrap_or(&id);
    let entry = state.maps.get(id).ok_or(ApiError::NotFound("map"))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        entry.json.to_string(),
    )
        .into_response())
}
