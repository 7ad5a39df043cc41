//! Measures the server tick (`benches::server_tick::ServerTick`) for every configuration of
//! `benches::server_tick::SERIES` and writes `benches/tick-samples.json`.
//!
//! Run with: `cargo run --release -p benches --bin tick_samples [-- --out FILE]`
//!
//! Every configuration is built and warmed up (`WARM_UP_TICKS`) first; then they are
//! measured in turns, `ROUNDS` rounds, each round starting one configuration further on (so
//! that every configuration follows a different one each round and none runs twice in a
//! row). A turn runs `REWARM_TICKS` unmeasured ticks (the last configuration's ticks pushed
//! this one's data out of the caches), then a number of measured ticks fixed per
//! configuration from its warm-up: about `TURN_TIME` worth, within `MIN_TURN_TICKS` ..=
//! `MAX_TURN_TICKS`. (A turn that stopped after a time would get fewer ticks in a slow phase
//! than in a fast one, weighting the medians towards fast phases.) A shared virtual machine
//! runs faster or slower by phases lasting seconds: measured one after the other, a
//! configuration would get one phase and the next another, and their ratio would be the
//! phases'. In turns, every configuration sees every phase. A sample's `tick_ms` is the
//! median CPU time of its measured ticks (the thread's own CPU clock: on a machine shared
//! with other work, wall-clock time also counts the time the thread waited for a core),
//! `wall_ms` their median wall-clock time, `turn_low_ms` / `turn_high_ms` the lowest and
//! highest median CPU time of one turn, and `mean_visible` the mean over the turns. The
//! `machine` field records the CPU and the load average before and after.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use benches::server_tick::{
    SERIES, ServerTick, TickSample, TickSamples, WARM_UP_TICKS, campus_density,
};
use benches::{percentile, shipped_map};
use cpu_time::ThreadTime;

const ROUNDS: usize = 24;
const REWARM_TICKS: u64 = 2;
const MIN_TURN_TICKS: usize = 3;
const MAX_TURN_TICKS: usize = 60;
const TURN_TIME: Duration = Duration::from_millis(150);
const TICK_HZ: u32 = 20;

/// One configuration being measured: its rig, its ticks per turn and every measured tick
/// so far.
struct Config {
    series: &'static str,
    rig: ServerTick,
    turn_ticks: usize,
    cpu: Vec<Duration>,
    wall: Vec<Duration>,
    turn_medians: Vec<Duration>,
    /// Mean visible per client at the end of each turn.
    visible: Vec<f64>,
}

fn main() -> anyhow::Result<()> {
    let out = out_path()?;
    let campus = shipped_map("campus");
    let load_before = load_average();
    let mut configs = Vec::new();
    for series in SERIES {
        let density = campus_density(&campus) * series.density_factor;
        for &avatars in series.avatars {
            println!("building {} with {avatars} avatars", series.name);
            let mut rig = ServerTick::new(&campus, avatars, series.client_every, density);
            let warm_up = rig.run(WARM_UP_TICKS as u64) / WARM_UP_TICKS as u32;
            let turn_ticks = (TURN_TIME.as_secs_f64() / warm_up.as_secs_f64().max(1e-9))
                .clamp(MIN_TURN_TICKS as f64, MAX_TURN_TICKS as f64)
                as usize;
            configs.push(Config {
                series: series.name,
                rig,
                turn_ticks,
                cpu: Vec::new(),
                wall: Vec::new(),
                turn_medians: Vec::new(),
                visible: Vec::new(),
            });
        }
    }
    for round in 0..ROUNDS {
        println!("round {}/{ROUNDS}", round + 1);
        let n = configs.len();
        for i in (0..n).map(|k| (k + round) % n) {
            measure_turn(&mut configs[i])?;
        }
    }
    println!(
        "{:<16} {:>8} {:>8} {:>8} {:>10} {:>10} {:>16} {:>14}",
        "series",
        "clients",
        "entities",
        "visible",
        "cpu (ms)",
        "wall (ms)",
        "turns (ms)",
        "µs/client-tick"
    );
    let mut samples = Vec::new();
    for mut c in configs {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let sample = TickSample {
            clients: c.rig.clients() as u64,
            entities: c.rig.entities() as u64,
            mean_visible: c.visible.iter().sum::<f64>() / c.visible.len().max(1) as f64,
            tick_ms: ms(percentile(&mut c.cpu, 50)),
            wall_ms: ms(percentile(&mut c.wall, 50)),
            turn_low_ms: c.turn_medians.iter().min().copied().map_or(0.0, ms),
            turn_high_ms: c.turn_medians.iter().max().copied().map_or(0.0, ms),
            series: c.series.to_owned(),
        };
        println!(
            "{:<16} {:>8} {:>8} {:>8.1} {:>10.3} {:>10.3} {:>16} {:>14.2}",
            sample.series,
            sample.clients,
            sample.entities,
            sample.mean_visible,
            sample.tick_ms,
            sample.wall_ms,
            format!("{:.3}–{:.3}", sample.turn_low_ms, sample.turn_high_ms),
            sample.us_per_client_tick()
        );
        samples.push(sample);
    }
    let machine = format!(
        "{}; load average {} before, {} after; release build, one thread; configurations \
         measured in turns over {ROUNDS} rounds; tick_ms = median thread CPU time per tick, \
         wall_ms = median wall-clock time",
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

/// One turn of `c`: `REWARM_TICKS` unmeasured ticks, then its `turn_ticks` measured ticks,
/// whose CPU and wall-clock times it records, and the mean visible count after them.
fn measure_turn(c: &mut Config) -> anyhow::Result<()> {
    c.rig.run(REWARM_TICKS);
    let mut turn = Vec::with_capacity(c.turn_ticks);
    for _ in 0..c.turn_ticks {
        let clock = ThreadTime::try_now().context("reading the thread's CPU clock")?;
        c.wall.push(c.rig.run(1));
        turn.push(
            clock
                .try_elapsed()
                .context("reading the thread's CPU clock")?,
        );
    }
    c.cpu.extend_from_slice(&turn);
    c.turn_medians.push(percentile(&mut turn, 50));
    c.visible.push(c.rig.mean_visible());
    Ok(())
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
