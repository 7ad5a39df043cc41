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

use std::sync::Arc;

use benches::interest_rig::{InterestRig, Walking, aoi};
use benches::shipped_map;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rstar::RTree;
use rstar::primitives::GeomWithData;
use sim::TileMap;

fn campus(c: &mut Criterion) {
    let map = shipped_map("campus");
    let mut group = c.benchmark_group("interest/campus");
    group.sample_size(10);
    for (name, walking) in [
        ("all_walking", Walking::All),
        ("tenth_walking", Walking::Tenth),
    ] {
        let mut rig = InterestRig::new(map.clone(), 100_000, 10_000, walking);
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
        let mut rig = InterestRig::new(map, entities, observers, Walking::All);
        rig.set_aoi(aoi(6));
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
