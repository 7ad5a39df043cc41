//! One simulation tick of N avatars random-walking on the campus map.
//!
//! Run with: `cargo bench -p benches --bench sim_tick`

use benches::{RandomWalk, shipped_map};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn sim_tick(c: &mut Criterion) {
    let map = shipped_map("campus");
    let mut group = c.benchmark_group("sim_tick");
    group.sample_size(20);
    for count in [1_000usize, 10_000, 100_000] {
        let mut walk = RandomWalk::new(map.clone(), count, 1);
        // Reach a steady state where most avatars are mid-walk.
        for _ in 0..40 {
            walk.tick();
        }
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &count, |b, _| {
            b.iter(|| walk.tick())
        });
    }
    group.finish();
}

criterion_group!(benches, sim_tick);
criterion_main!(benches);
