//! Measures the server tick (`benches::server_tick::ServerTick`) for every configuration of
//! `benches::server_tick::SERIES` and writes `benches/tick-samples.json`.
//!
//! Run with: `cargo run --release -p benches --bin tick_samples [-- --out FILE]`
//!
//! Each configuration runs `WARM_UP_TICKS` ticks, then at least 30 ticks and 2 s (at most
//! 400 ticks). The sample's `tick_ms` is the median CPU time of a tick (the thread's own
//! CPU clock: on a machine shared with other work, wall-clock time also counts the time the
//! thread waited for a core); `wall_ms` is the median wall-clock time. The `machine` field
//! records the CPU and the load average before and after.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use benches::server_tick::{
    SERIES, ServerTick, TickSample, TickSamples, WARM_UP_TICKS, campus_density,
};
use benches::{percentile, shipped_map};
use cpu_time::ThreadTime;

const MIN_TICKS: usize = 30;
const MAX_TICKS: usize = 400;
const MIN_TIME: Duration = Duration::from_secs(2);
const TICK_HZ: u32 = 20;

fn main() -> anyhow::Result<()> {
    let out = out_path()?;
    let campus = shipped_map("campus");
    let load_before = load_average();
    let mut samples = Vec::new();
    println!(
        "{:<16} {:>8} {:>8} {:>8} {:>10} {:>10} {:>14}",
        "series", "clients", "entities", "visible", "cpu (ms)", "wall (ms)", "µs/client-tick"
    );
    for series in SERIES {
        let density = campus_density(&campus) * series.density_factor;
        for &avatars in series.avatars {
            let mut rig = ServerTick::new(&campus, avatars, series.client_every, density);
            rig.run(WARM_UP_TICKS as u64);
            let (cpu, wall) = median_tick(&mut rig)?;
            let sample = TickSample {
                clients: rig.clients() as u64,
                entities: rig.entities() as u64,
                tick_ms: cpu.as_secs_f64() * 1e3,
                wall_ms: wall.as_secs_f64() * 1e3,
                mean_visible: rig.mean_visible(),
                series: series.name.to_owned(),
            };
            println!(
                "{:<16} {:>8} {:>8} {:>8.1} {:>10.3} {:>10.3} {:>14.2}",
                sample.series,
                sample.clients,
                sample.entities,
                sample.mean_visible,
                sample.tick_ms,
                sample.wall_ms,
                sample.us_per_client_tick()
            );
            samples.push(sample);
        }
    }
    let machine = format!(
        "{}; load average {} before, {} after; release build, one thread; tick_ms = median \
         thread CPU time per tick, wall_ms = median wall-clock time",
        cpu_description(),
        load_before,
        load_average()
    );
    let file = TickSamples {
        machine,
        tick_hz: TICK_HZ,
        samples,
    };
    let json = serde_json::to_string_pretty(&file)? + "\n";
    std::fs::write(&out, json).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}

/// `--out FILE`, else `benches/tick-samples.json`.
fn out_path() -> anyhow::Result<PathBuf> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next(), args.next()) {
        (None, _, _) => Ok(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tick-samples.json")),
        (Some("--out"), Some(path), None) => Ok(PathBuf::from(path)),
        _ => bail!("usage: tick_samples [--out FILE]"),
    }
}

/// Ticks `rig` until it has at least `MIN_TICKS` ticks and `MIN_TIME` (or `MAX_TICKS`);
/// returns the median CPU time and the median wall-clock time of a tick.
fn median_tick(rig: &mut ServerTick) -> anyhow::Result<(Duration, Duration)> {
    let started = Instant::now();
    let (mut cpu, mut wall) = (Vec::with_capacity(MAX_TICKS), Vec::with_capacity(MAX_TICKS));
    while cpu.len() < MAX_TICKS && (cpu.len() < MIN_TICKS || started.elapsed() < MIN_TIME) {
        let clock = ThreadTime::try_now().context("reading the thread's CPU clock")?;
        wall.push(rig.run(1));
        cpu.push(
            clock
                .try_elapsed()
                .context("reading the thread's CPU clock")?,
        );
    }
    Ok((percentile(&mut cpu, 50), percentile(&mut wall, 50)))
}

/// `N CPUs (model name)` from the standard library and `/proc/cpuinfo`.
fn cpu_description() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cpus} CPUs ({model})")
}

/// The 1-minute load average, from `/proc/loadavg`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}
