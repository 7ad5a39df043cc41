//! Runs the interest bench's campus scenario (`benches::interest_rig`) outside criterion and
//! prints the median, mean and 10th percentile of the timed part of a tick
//! (`Interest::update`, every observer's delta read, the tick before last acknowledged).
//!
//! Run with: `cargo run --release -p benches --bin interest_ticks -- [OPTIONS]`
//!
//! On a shared machine wall-clock figures drift; instruction counts do not. For those,
//! count the timed part of the measured ticks with callgrind (counting is on only inside
//! `InterestRig::interest_tick`, and the counts are zeroed when the measured ticks begin);
//! with `--radius` the calibration is skipped, so the counts are the same run after run:
//!
//! ```text
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='*InterestRig*interest_tick*' --zero-before='*measured_ticks*' \
//!     --cache-sim=yes --branch-sim=yes --LL=1048576,16,64 \
//!     target/release/interest_ticks --radius 6 --ticks 10
//! ```

use std::hint::black_box;
use std::time::Duration;

use anyhow::{Context, bail};
use benches::interest_rig::{InterestRig, Walking, aoi};
use benches::{percentile, shipped_map};

const USAGE: &str = "usage: interest_ticks [--walking tenth|all] [--threads N] [--ticks N] \
                     [--warm-up N] [--radius R]

  --walking   which avatars walk: one in ten (the observed ones) or all (default tenth)
  --threads   threads of the observer pass, Interest::set_threads (default 1)
  --ticks     measured ticks (default 100)
  --warm-up   ticks run before measuring, after the radius is set (default 20)
  --radius    AOI radius (hysteresis 2, cap 64); default: the radius giving ~50 visible";

/// The command line.
struct Options {
    walking: Walking,
    threads: usize,
    ticks: u64,
    warm_up: u64,
    radius: Option<u32>,
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    let mut rig = InterestRig::new(shipped_map("campus"), 100_000, 10_000, o.walking);
    let radius = match o.radius {
        Some(radius) => {
            rig.set_aoi(aoi(radius));
            radius
        }
        None => rig.calibrate(50.0).0.radius,
    };
    rig.interest.set_threads(o.threads);
    rig.run(o.warm_up);
    let mut times = measured_ticks(&mut rig, o.ticks);
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "campus, 100000 avatars, {} observers, {} walking, radius {radius}: {:.1} visible \
         per observer; {} thread(s), {} ticks: median {:.2} ms, mean {:.2} ms, 10th \
         percentile {:.2} ms",
        rig.observers(),
        match o.walking {
            Walking::Tenth => "a tenth",
            Walking::All => "all",
        },
        rig.avg_visible(),
        o.threads,
        o.ticks,
        ms(percentile(&mut times, 50)),
        ms(mean),
        ms(percentile(&mut times, 10)),
    );
    Ok(())
}

/// The measured ticks (a function of its own, so that a profiler can count them alone).
#[inline(never)]
fn measured_ticks(rig: &mut InterestRig, ticks: u64) -> Vec<Duration> {
    black_box(rig.tick_times(ticks))
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        walking: Walking::Tenth,
        threads: 1,
        ticks: 100,
        warm_up: 20,
        radius: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || {
            value
                .parse::<u64>()
                .with_context(|| format!("{flag} {value}: not a number\n{USAGE}"))
        };
        match flag.as_str() {
            "--walking" => {
                o.walking = match value.as_str() {
                    "tenth" => Walking::Tenth,
                    "all" => Walking::All,
                    _ => bail!("--walking {value}: expected tenth or all\n{USAGE}"),
                }
            }
            "--threads" => o.threads = usize::try_from(number()?)?.max(1),
            "--ticks" => o.ticks = number()?.max(1),
            "--warm-up" => o.warm_up = number()?,
            "--radius" => o.radius = Some(u32::try_from(number()?)?),
            _ => bail!("unknown option {flag}\n{USAGE}"),
        }
    }
    Ok(o)
}
