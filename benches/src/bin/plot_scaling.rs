//! Draws `docs/scaling.svg` from `benches/tick-samples.json`: per-client cost (µs per
//! client-tick) and tick time (ms) against clients, log x, for the scaling series (every
//! avatar a client, constant density).
//!
//! Run with: `cargo run --release -p benches --bin plot_scaling [-- SAMPLES OUT]`

use std::path::PathBuf;

use anyhow::{Context, bail};
use benches::server_tick::{SCALING, TickSample, TickSamples};
use plotters::coord::Shift;
use plotters::prelude::*;

const SIZE: (u32, u32) = (1000, 440);
const FONT: &str = "sans-serif";
const LINE: RGBColor = RGBColor(31, 119, 180);
const LIMIT: RGBColor = RGBColor(214, 39, 40);

fn main() -> anyhow::Result<()> {
    let (input, out) = paths()?;
    let json =
        std::fs::read_to_string(&input).with_context(|| format!("reading {}", input.display()))?;
    let file: TickSamples =
        serde_json::from_str(&json).with_context(|| format!("parsing {}", input.display()))?;
    let mut samples: Vec<&TickSample> = file
        .samples
        .iter()
        .filter(|s| s.series == SCALING.name)
        .collect();
    samples.sort_by_key(|s| s.clients);
    if samples.len() < 2 {
        bail!(
            "{}: fewer than 2 samples of series {:?}; run tick_samples first",
            input.display(),
            SCALING.name
        );
    }
    let root = SVGBackend::new(&out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "Server tick at constant density (~50 visible per client), one thread",
        (FONT, 20),
    )?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    per_client(&left, &samples)?;
    tick_time(&right, &samples, file.tick_hz)?;
    root.present()?;
    println!("wrote {}", out.display());
    Ok(())
}

/// `[SAMPLES OUT]`, else `benches/tick-samples.json` and `docs/scaling.svg`.
fn paths() -> anyhow::Result<(PathBuf, PathBuf)> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match args.as_slice() {
        [] => Ok((
            here.join("tick-samples.json"),
            here.join("../docs/scaling.svg"),
        )),
        [input, out] => Ok((input.into(), out.into())),
        _ => bail!("usage: plot_scaling [SAMPLES OUT]"),
    }
}

/// The x range: clients, log scale, with a margin on both sides.
fn clients_range(samples: &[&TickSample]) -> std::ops::Range<f64> {
    let first = samples.first().map_or(1, |s| s.clients) as f64;
    let last = samples.last().map_or(1, |s| s.clients) as f64;
    first * 0.8..last * 1.25
}

fn clients_label(x: &f64) -> String {
    if *x >= 1000.0 {
        format!("{}k", x / 1000.0)
    } else {
        format!("{x}")
    }
}

/// Left: µs per client-tick, with the "flat within 2×" bound (twice the lowest cost).
fn per_client(
    area: &DrawingArea<SVGBackend, Shift>,
    samples: &[&TickSample],
) -> anyhow::Result<()> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| (s.clients as f64, s.us_per_client_tick()))
        .collect();
    // The spread of the turns' medians (samples measured in turns; older files have none).
    let spreads: Vec<(f64, f64, f64)> = samples
        .iter()
        .filter(|s| s.turn_high_ms > 0.0)
        .map(|s| {
            (
                s.clients as f64,
                s.per_client_us(s.turn_low_ms),
                s.per_client_us(s.turn_high_ms),
            )
        })
        .collect();
    let lowest = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let top = points
        .iter()
        .map(|p| p.1)
        .chain(spreads.iter().map(|s| s.2))
        .fold(2.0 * lowest, f64::max)
        * 1.15;
    let x = clients_range(samples);
    let mut chart = ChartBuilder::on(area)
        .caption("Per-client cost", (FONT, 16))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x.clone().log_scale(), 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("clients (log scale)")
        .y_desc("µs per client-tick")
        .x_label_formatter(&clients_label)
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(x.start, 2.0 * lowest), (x.end, 2.0 * lowest)],
            LIMIT.stroke_width(1),
        ))?
        .label("2 × the lowest (flatness bound)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], LIMIT));
    if !spreads.is_empty() {
        chart
            .draw_series(spreads.iter().map(|&(x, low, high)| {
                PathElement::new([(x, low), (x, high)], LINE.mix(0.5).stroke_width(2))
            }))?
            .label("lowest to highest turn median (noise)")
            .legend(|(x, y)| PathElement::new([(x + 10, y - 6), (x + 10, y + 6)], LINE.mix(0.5)));
    }
    draw_line(&mut chart, &points, "measured (median tick CPU ÷ clients)")?;
    chart.draw_series(samples.iter().zip(&points).map(|(s, p)| {
        Text::new(
            format!("{:.0} visible", s.mean_visible),
            (p.0, p.1 - top * 0.02),
            (FONT, 11).into_font().color(&BLACK.mix(0.7)),
        )
    }))?;
    legend(&mut chart)
}

/// Right: milliseconds per tick, log-log, with the tick budget (one tick period).
fn tick_time(
    area: &DrawingArea<SVGBackend, Shift>,
    samples: &[&TickSample],
    tick_hz: u32,
) -> anyhow::Result<()> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| (s.clients as f64, s.tick_ms))
        .collect();
    let budget = 1000.0 / f64::from(tick_hz.max(1));
    let low = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min) * 0.5;
    let high = points.iter().map(|p| p.1).fold(budget, f64::max) * 2.0;
    let x = clients_range(samples);
    let mut chart = ChartBuilder::on(area)
        .caption("Tick time", (FONT, 16))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x.clone().log_scale(), (low..high).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("clients (log scale)")
        .y_desc("ms of CPU per tick (log scale)")
        .x_label_formatter(&clients_label)
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(x.start, budget), (x.end, budget)],
            LIMIT.stroke_width(1),
        ))?
        .label(format!("tick period at {tick_hz} Hz"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], LIMIT));
    draw_line(&mut chart, &points, "measured (median CPU per tick)")?;
    legend(&mut chart)
}

type Chart<'a, X, Y> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>;

/// The measured line with a dot per sample.
fn draw_line<X, Y>(
    chart: &mut Chart<'_, X, Y>,
    points: &[(f64, f64)],
    label: &str,
) -> anyhow::Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            LINE.stroke_width(2),
        ))?
        .label(label)
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], LINE.stroke_width(2)));
    chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, LINE.filled())))?;
    Ok(())
}

fn legend<X, Y>(chart: &mut Chart<'_, X, Y>) -> anyhow::Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 12))
        .draw()?;
    Ok(())
}
