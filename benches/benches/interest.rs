//! The interest manager: area of interest + deltas for many observers, per tick.
//!
//! Run with: `cargo bench -p benches --bench interest -- --warm-up-time 1 --measurement-time 3`
//!
//! Only `Interest::update` plus, for every observer, reading its delta and acknowledging
//! the tick before last (a client 2 ticks behind) is timed; the simulation step that moves
//! the avatars runs untimed between iterations.
//!
//! Groups:
//! - `interest/campus`: 100k avatars and 10k observers on the campus map, the AOI radius
//!   calibrated for ~50 visible per observer; all avatars walking, and 10 % walking; the
//!   observer pass on one thread, and split over 2 (`Interest::set_threads`; the time is
//!   wall-clock time, so the 2-thread figures need 2 idle cores).
//! - `interest/per_observer`: constant density (campus-like) on open floors, 1k → 100k
//!   avatars with one observer per 10 avatars; throughput = observers, so criterion's
//!   elements/s gives the per-observer cost.
//! - `interest/rtree`: moving K points in an rstar R-tree of 100k points one by one
//!   (remove + insert) versus bulk-loading the tree again. The interest manager used such a
//!   tree until it was replaced by a flat grid (see `benches/README.md`); kept as the
//!   comparison.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::{RandomWalk, shipped_map};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rstar::RTree;
use rstar::primitives::GeomWithData;
use sim::interest::{AoiConfig, Interest, ObserverId, ProximityConfig};
use sim::{Direction, EntityId, Input, TileMap};

/// How the avatars move.
#[derive(Clone, Copy, Debug)]
enum Walking {
    /// Every avatar walks all the time (`benches::RandomWalk`).
    All,
    /// One avatar in ten walks; the others stand still.
    Tenth,
}

/// A world, its interest manager and its observers.
struct Rig {
    walk: RandomWalk,
    walking: Walking,
    ids: Vec<EntityId>,
    seqs: Vec<u32>,
    rng: u64,
    interest: Interest,
    observers: Vec<ObserverId>,
}

impl Rig {
    fn new(map: Arc<TileMap>, entities: usize, observers: usize, walking: Walking) -> Rig {
        let walk = RandomWalk::new(map, entities, 42);
        let ids: Vec<EntityId> = walk.sim.entities().map(|s| s.id).collect();
        let mut rig = Rig {
            seqs: vec![0; ids.len()],
            walk,
            walking,
            ids,
            rng: 0x9E37_79B9_7F4A_7C15,
            interest: Interest::new(ProximityConfig::default()),
            observers: Vec::new(),
        };
        // Observers spread over the id range.
        let step = (entities / observers.max(1)).max(1);
        for k in 0..observers {
            let avatar = rig.ids[(k * step) % rig.ids.len()];
            rig.observers
                .push(rig.interest.add_observer(avatar, AoiConfig::default()));
        }
        rig
    }

    fn rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Moves the world one tick (untimed).
    fn step_world(&mut self) {
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

    /// The timed part: update, read every delta, ack the tick before last.
    fn interest_tick(&mut self) -> usize {
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

    fn set_aoi(&mut self, aoi: AoiConfig) {
        for o in &self.observers {
            self.interest.set_aoi(*o, aoi).expect("observer exists");
        }
    }

    /// Average number of entities visible per observer.
    fn avg_visible(&self) -> f64 {
        let total: usize = self
            .observers
            .iter()
            .map(|o| self.interest.visible(*o).expect("exists").count())
            .sum();
        total as f64 / self.observers.len().max(1) as f64
    }

    /// Runs `ticks` ticks; returns the time spent in the interest manager.
    fn run(&mut self, ticks: u64) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..ticks {
            self.step_world();
            let t = Instant::now();
            black_box(self.interest_tick());
            total += t.elapsed();
        }
        total
    }

    /// Picks the AOI radius (hysteresis 2, cap 64) whose average visible count is closest to
    /// `target`, and warms up with it.
    fn calibrate(&mut self, target: f64) -> (AoiConfig, f64) {
        let mut best = (AoiConfig::default(), f64::MAX);
        for radius in 3..=12 {
            let aoi = AoiConfig {
                radius,
                hysteresis: 2,
                cap: 64,
                include_self: true,
            };
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

fn campus(c: &mut Criterion) {
    let map = shipped_map("campus");
    let mut group = c.benchmark_group("interest/campus");
    group.sample_size(10);
    for (name, walking) in [
        ("all_walking", Walking::All),
        ("tenth_walking", Walking::Tenth),
    ] {
        let mut rig = Rig::new(map.clone(), 100_000, 10_000, walking);
        let (aoi, avg) = rig.calibrate(50.0);
        eprintln!(
            "interest/campus/{name}: 100000 entities, 10000 observers, radius {} hysteresis {} \
             cap {}: {avg:.1} visible per observer on average",
            aoi.radius, aoi.hysteresis, aoi.cap
        );
        for threads in [1, 2] {
            rig.interest.set_threads(threads);
            let id = match threads {
                1 => name.to_string(),
                n => format!("{name}_{n}_threads"),
            };
            group.bench_function(BenchmarkId::new("100k_entities_10k_observers", id), |b| {
                b.iter_custom(|iters| rig.run(iters))
            });
        }
    }
    group.finish();
}

fn per_observer(c: &mut Criterion) {
    let campus = shipped_map("campus");
    // Campus-like density: 100k avatars per campus-walkable tile count.
    let density = 100_000.0 / campus.walkable_count() as f64;
    let mut group = c.benchmark_group("interest/per_observer");
    group.sample_size(10);
    for entities in [1_000usize, 10_000, 100_000] {
        let side = ((entities as f64 / density).sqrt().ceil() as u32).max(8);
        let map = Arc::new(TileMap::open_floor(side, side));
        let observers = entities / 10;
        let mut rig = Rig::new(map, entities, observers, Walking::All);
        let aoi = AoiConfig {
            radius: 6,
            hysteresis: 2,
            cap: 64,
            include_self: true,
        };
        rig.set_aoi(aoi);
        rig.run(20);
        eprintln!(
            "interest/per_observer/{entities}: {side}x{side} open floor, {observers} observers, \
             radius 6: {:.1} visible per observer on average",
            rig.avg_visible()
        );
        group.throughput(Throughput::Elements(observers as u64));
        group.bench_function(BenchmarkId::from_parameter(entities), |b| {
            b.iter_custom(|iters| rig.run(iters))
        });
    }
    group.finish();
}

fn rtree(c: &mut Criterion) {
    type P = GeomWithData<[i32; 2], u32>;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let n = 100_000u32;
    let mut points: Vec<P> = (0..n)
        .map(|i| P::new([(rand() % 512) as i32, (rand() % 512) as i32], i))
        .collect();
    let mut group = c.benchmark_group("interest/rtree");
    group.sample_size(10);
    group.bench_function("bulk_load_100k", |b| {
        b.iter(|| RTree::bulk_load(points.clone()))
    });
    for moved in [1_000usize, 5_000, 12_500, 25_000] {
        let mut tree = RTree::bulk_load(points.clone());
        group.bench_function(BenchmarkId::new("move_in_100k", moved), |b| {
            b.iter(|| {
                for _ in 0..moved {
                    let i = (rand() % u64::from(n)) as usize;
                    let old = points[i];
                    let [x, y] = *old.geom();
                    let new = P::new([(x + 1).min(511), y], old.data);
                    tree.remove(&old).expect("point is in the tree");
                    tree.insert(new);
                    points[i] = new;
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, campus, per_observer, rtree);
criterion_main!(benches);
