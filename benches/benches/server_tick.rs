//! The server's whole tick for N clients, in process and without sockets
//! (`benches::server_tick::ServerTick`): sim step, interest update, and per client its
//! delta, snapshot encoding and acknowledgement.
//!
//! Run with: `cargo bench -p benches --bench server_tick -- --warm-up-time 1 --measurement-time 3`
//!
//! Group `server_tick/all_clients`: every avatar is a client, on a crop of the campus map
//! sized for constant density (~50 visible per client), 100 → 10k clients. Criterion's time
//! is one tick; its throughput (elements = clients) gives the cost per client-tick.
//! `cargo run --release -p benches --bin tick_samples` measures the same ticks (and two more
//! series) into `benches/tick-samples.json`.

use benches::server_tick::{SCALING, ServerTick, WARM_UP_TICKS, campus_density};
use benches::shipped_map;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

fn all_clients(c: &mut Criterion) {
    let campus = shipped_map("campus");
    let density = campus_density(&campus) * SCALING.density_factor;
    let mut group = c.benchmark_group(format!("server_tick/{}", SCALING.name));
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for &avatars in SCALING.avatars {
        let mut rig = ServerTick::new(&campus, avatars, SCALING.client_every, density);
        rig.run(WARM_UP_TICKS as u64);
        eprintln!(
            "server_tick/{}/{avatars}: {} clients, {:.1} visible per client on average",
            SCALING.name,
            rig.clients(),
            rig.mean_visible()
        );
        group.throughput(Throughput::Elements(rig.clients() as u64));
        group.bench_function(BenchmarkId::from_parameter(avatars), |b| {
            b.iter_custom(|iters| rig.run(iters))
        });
    }
    group.finish();
}

criterion_group!(benches, all_clients);
criterion_main!(benches);
