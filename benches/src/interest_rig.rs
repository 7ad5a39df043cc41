//! The interest bench's world: avatars walking on a map, an interest manager with one
//! observer per so many avatars, and the timed part of a tick (`Interest::update`, then
//! every observer's delta read and the tick before last acknowledged: a client two ticks
//! behind). Shared by the criterion bench `interest` and the `interest_ticks` binary.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sim::interest::{AoiConfig, Interest, ObserverId, ProximityConfig};
use sim::{Direction, EntityId, Input, TileMap};

use crate::RandomWalk;

/// The benches' area of interest with radius `radius`: hysteresis 2, cap 64, the own avatar
/// included.
pub const fn aoi(radius: u32) -> AoiConfig {
    AoiConfig {
        radius,
        hysteresis: 2,
        cap: 64,
        include_self: true,
    }
}

/// How the avatars move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walking {
    /// Every avatar walks all the time (`RandomWalk`).
    All,
    /// One avatar in ten walks (the ones the observers are attached to); the others stand
    /// still.
    Tenth,
}

/// A world, its interest manager and its observers.
#[derive(Debug)]
pub struct InterestRig {
    walk: RandomWalk,
    walking: Walking,
    ids: Vec<EntityId>,
    seqs: Vec<u32>,
    rng: u64,
    /// The interest manager under test.
    pub interest: Interest,
    observers: Vec<ObserverId>,
}

impl InterestRig {
    /// `entities` avatars on random free tiles of `map` (seed 42), `observers` observers
    /// attached to avatars spread over the id range, default AOI.
    pub fn new(
        map: Arc<TileMap>,
        entities: usize,
        observers: usize,
        walking: Walking,
    ) -> InterestRig {
        let walk = RandomWalk::new(map, entities, 42);
        let ids: Vec<EntityId> = walk.sim.entities().map(|s| s.id).collect();
        let mut rig = InterestRig {
            seqs: vec![0; ids.len()],
            walk,
            walking,
            ids,
            rng: 0x9E37_79B9_7F4A_7C15,
            interest: Interest::new(ProximityConfig::default()),
            observers: Vec::new(),
        };
        let step = (entities / observers.max(1)).max(1);
        for k in 0..observers {
            let avatar = rig.ids[(k * step) % rig.ids.len()];
            rig.observers
                .push(rig.interest.add_observer(avatar, AoiConfig::default()));
        }
        rig
    }

    /// Number of observers.
    pub fn observers(&self) -> usize {
        self.observers.len()
    }

    fn rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Moves the world one tick (not part of the timed work).
    pub fn step_world(&mut self) {
        match self.walking {
            Walking::All => {
                self.walk.tick();
            }
            Walking::Tenth => {
                for k in (0..self.ids.len()).step_by(10) {
                    let r = self.rand();
                    if r.is_multiple_of(4) {
                        self.seqs[k] += 1;
                        let dir = Direction::ALL[((r >> 8) % 4) as usize];
                        let _ =
                            self.walk
                                .sim
                                .queue_input(self.ids[k], self.seqs[k], Input::Move(dir));
                    }
                }
                self.walk.sim.step();
            }
        }
    }

    /// The timed part of a tick: update, read every delta, acknowledge the tick before
    /// last. Returns the number of delta items. Never inlined, so that a profiler can
    /// count it alone (see the `interest_ticks` binary).
    #[inline(never)]
    pub fn interest_tick(&mut self) -> usize {
        let tick = self.walk.sim.tick();
        self.interest.update(&self.walk.sim);
        let mut items = 0;
        for o in &self.observers {
            let d = self.interest.delta(*o).expect("observer exists");
            items += d.enters.len() + d.updates.len() + d.leaves.len();
            if tick > 2 {
                self.interest.ack(*o, tick - 2).expect("tick was sent");
            }
        }
        items
    }

    /// Gives every observer this area of interest.
    pub fn set_aoi(&mut self, aoi: AoiConfig) {
        for o in &self.observers {
            self.interest.set_aoi(*o, aoi).expect("observer exists");
        }
    }

    /// Average number of entities visible per observer.
    pub fn avg_visible(&self) -> f64 {
        let total: usize = self
            .observers
            .iter()
            .map(|o| self.interest.visible(*o).expect("exists").count())
            .sum();
        total as f64 / self.observers.len().max(1) as f64
    }

    /// Runs `ticks` ticks; returns the time spent in the timed part.
    pub fn run(&mut self, ticks: u64) -> Duration {
        self.tick_times(ticks).into_iter().sum()
    }

    /// Runs `ticks` ticks; returns the time of each tick's timed part.
    pub fn tick_times(&mut self, ticks: u64) -> Vec<Duration> {
        (0..ticks)
            .map(|_| {
                self.step_world();
                let t = Instant::now();
                black_box(self.interest_tick());
                t.elapsed()
            })
            .collect()
    }

    /// Picks the AOI radius (hysteresis 2, cap 64) whose average visible count is closest to
    /// `target`, and warms up with it; returns it and the average visible count.
    pub fn calibrate(&mut self, target: f64) -> (AoiConfig, f64) {
        let mut best = (AoiConfig::default(), f64::MAX);
        for radius in 3..=12 {
            let aoi = aoi(radius);
            self.set_aoi(aoi);
            self.run(4);
            let avg = self.avg_visible();
            if (avg - target).abs() < (best.1 - target).abs() {
                best = (aoi, avg);
            }
            if avg > target {
                break;
            }
        }
        self.set_aoi(best.0);
        self.run(20);
        (best.0, self.avg_visible())
    }
}
