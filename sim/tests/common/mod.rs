//! Helpers shared by the sim integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use glam::IVec2;
use sim::{EntityId, Event, PlayerInfo, SimConfig, Simulation, TileMap};

/// A simulation on a map drawn in ASCII (`#` wall, `S` spawn, `.` floor).
pub fn sim_on(rows: &str) -> Simulation {
    let map = TileMap::from_ascii(rows).expect("test map parses");
    Simulation::new(Arc::new(map), SimConfig::default()).expect("default config is valid")
}

/// Spawns player `n` at `(x, y)`.
pub fn put(sim: &mut Simulation, n: u64, x: i32, y: i32) -> EntityId {
    sim.spawn_at(PlayerInfo::guest(n, &format!("p{n}")), IVec2::new(x, y))
        .expect("test tile is free")
}

/// Steps `n` ticks, checking invariants after each, and returns all events.
pub fn run(sim: &mut Simulation, n: u32) -> Vec<Event> {
    let mut all = Vec::new();
    for _ in 0..n {
        all.extend(sim.step().events.iter().cloned());
        sim.check_invariants().expect("invariants hold");
    }
    all
}

/// Loads a shipped map from `assets/maps`.
pub fn shipped_map(name: &str) -> TileMap {
    let path = format!("{}/../assets/maps/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).expect("shipped map exists");
    TileMap::from_tiled_json(&json).expect("shipped map is valid")
}
