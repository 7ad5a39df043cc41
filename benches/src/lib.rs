//! Shared helpers for Plaza's criterion benches and load tools.

#![deny(missing_docs)]

pub mod interest_rig;
pub mod server_tick;

use std::sync::Arc;

use glam::IVec2;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use sim::{Direction, EntityId, Event, Input, PlayerInfo, SimConfig, Simulation, TileMap};

/// The `p`-th percentile of `values` (sorted in place; `p` in 0..=100; 50: the median).
pub fn percentile(values: &mut [std::time::Duration], p: usize) -> std::time::Duration {
    values.sort_unstable();
    values[(values.len() * p.min(100) / 100).min(values.len() - 1)]
}

/// Loads a map shipped in `assets/maps` by name (`office`, `campus`).
pub fn shipped_map(name: &str) -> Arc<TileMap> {
    let path = format!("{}/../assets/maps/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Arc::new(TileMap::from_tiled_json(&json).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// A simulation full of avatars doing random walks: each holds a direction, picks a new one
/// when its move is rejected, and turns at random now and then.
#[derive(Debug)]
pub struct RandomWalk {
    /// The simulation being driven.
    pub sim: Simulation,
    ids: Vec<EntityId>,
    seqs: Vec<u32>,
    rng: ChaCha8Rng,
    stopped: Vec<usize>,
    index_of: std::collections::HashMap<EntityId, usize>,
}

impl RandomWalk {
    /// `count` avatars placed on random free walkable tiles of `map`, all walking.
    pub fn new(map: Arc<TileMap>, count: usize, seed: u64) -> RandomWalk {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut sim = Simulation::new(
            map.clone(),
            SimConfig {
                seed,
                ..SimConfig::default()
            },
        )
        .expect("default config is valid");
        let (w, h) = (map.width(), map.height());
        let mut ids = Vec::with_capacity(count);
        let mut attempts = 0usize;
        while ids.len() < count {
            attempts += 1;
            assert!(attempts < count * 50, "map too small for {count} avatars");
            let tile = IVec2::new((rng.next_u32() % w) as i32, (rng.next_u32() % h) as i32);
            if let Ok(id) = sim.spawn_at(PlayerInfo::guest(ids.len() as u64, "walker"), tile) {
                ids.push(id);
            }
        }
        let index_of = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let stopped = (0..ids.len()).collect();
        RandomWalk {
            sim,
            seqs: vec![0; ids.len()],
            ids,
            rng,
            stopped,
            index_of,
        }
    }

    /// Number of avatars.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no avatars.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Queues this tick's inputs: a new direction for every avatar that stopped, and a random
    /// turn for about 1 in 64 others. Returns the number of inputs queued.
    pub fn queue_inputs(&mut self) -> usize {
        let turns = self.ids.len() / 64;
        for _ in 0..turns {
            let i = (self.rng.next_u32() as usize) % self.ids.len();
            self.stopped.push(i);
        }
        let queued = self.stopped.len();
        for i in self.stopped.drain(..) {
            self.seqs[i] += 1;
            let dir = Direction::ALL[(self.rng.next_u32() % 4) as usize];
            self.sim
                .queue_input(self.ids[i], self.seqs[i], Input::Move(dir))
                .expect("walkers are never despawned");
        }
        queued
    }

    /// Queues inputs and advances one tick; returns the state hash.
    pub fn tick(&mut self) -> u64 {
        self.queue_inputs();
        let out = self.sim.step();
        for e in out.events {
            if let Event::MoveRejected { id, .. } = e {
                self.stopped.push(self.index_of[id]);
            }
        }
        out.hash
    }
}
