//! The bot run's report: JSON (serde) and a plain-text table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::behaviour::Behaviour;
use super::bot::{Counters, Outcome};
use super::scrape::WindowFigures;

/// Everything a bot run measured. Rates are per connected client and second of the measured
/// phase (after the ramp-up).
#[derive(Clone, Debug, Serialize)]
pub struct BotsReport {
    /// The server's base URL.
    pub url: String,
    /// The space the bots joined (the first, when they were spread over several).
    pub space: String,
    /// Spaces the bots were spread over.
    pub spaces: usize,
    /// The map of the space, when the run created it.
    pub map: Option<String>,
    /// How the bots moved.
    pub behaviour: Behaviour,
    /// Bots asked for.
    pub bots: usize,
    /// Seconds of the measured phase.
    pub duration_s: f64,
    /// Seconds from the first login until every bot had joined (or failed), at least the
    /// configured ramp-up; one more second passes before the measured phase.
    pub ramp_s: f64,
    /// The server's tick rate (from Welcome; 0 when no bot connected).
    pub tick_hz: u32,
    /// Milliseconds between two inputs of one bot.
    pub input_interval_ms: f64,
    /// Chat lines per bot per minute.
    pub chat_per_minute: f64,
    /// Bots that got their Welcome.
    pub connected: u64,
    /// Bots still connected when the run ended.
    pub connected_at_end: u64,
    /// Bots that failed (did not connect, or lost their session).
    pub failed: u64,
    /// Bots connected during the measured phase, on average (Σ connected seconds / its
    /// length). Lower than `connected` when bots joined late or dropped out.
    pub mean_connected: f64,
    /// Bots that got their Welcome only after the measured phase had started (the phase
    /// starts at the latest a minute after the ramp-up, joined or not).
    pub joined_late: u64,
    /// Errors by kind (`login_rate_limited`, `connect_failed`, `refused:full`, `protocol`,
    /// `closed_early`, `server_error:rate_limited`, …).
    pub errors: BTreeMap<String, u64>,
    /// Snapshots or messages that did not decode or apply (each one ends its bot).
    pub protocol_errors: u64,
    /// The first protocol error messages.
    pub protocol_error_samples: Vec<String>,
    /// Input → echo latency: from sending an Input to receiving a Snapshot whose
    /// `last_input_seq` is at least its sequence number.
    pub latency_ms: LatencyReport,
    /// Traffic per connected client per second (WebSocket payload bytes).
    pub per_client_per_second: Rates,
    /// Totals of the measured phase.
    pub totals: Totals,
    /// The bot process's own cost (is it a bottleneck?).
    pub bot_process: BotCost,
    /// Server figures from its `/metrics`, when it could be read.
    pub server: Option<ServerCost>,
    /// Why `server` is missing.
    pub server_note: Option<String>,
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencyReport {
    /// Echoed inputs measured.
    pub samples: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Inputs of the measured phase never echoed (sent at least 1 s before the end).
    pub unechoed: u64,
}

impl LatencyReport {
    pub(crate) fn from_histogram(h: &Histogram<u64>, unechoed: u64) -> LatencyReport {
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return LatencyReport {
                unechoed,
                ..LatencyReport::default()
            };
        }
        LatencyReport {
            samples: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            unechoed,
        }
    }
}

/// Per-client rates.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Rates {
    /// Bytes received.
    pub bytes_in: f64,
    /// Bytes sent.
    pub bytes_out: f64,
    /// Messages received.
    pub messages_in: f64,
    /// Messages sent (inputs, acks, chat).
    pub messages_out: f64,
    /// Snapshots received.
    pub snapshots: f64,
    /// Inputs sent.
    pub inputs: f64,
    /// Chat lines received.
    pub chat_in: f64,
    /// Tiles the bot's own avatar moved (proof that the bots really walk).
    pub tiles_moved: f64,
}

/// Totals of the measured phase, over all bots.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    /// Σ seconds each bot was connected during the measured phase.
    pub client_seconds: f64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Messages received.
    pub messages_in: u64,
    /// Messages sent.
    pub messages_out: u64,
    /// Snapshots received (each acknowledged).
    pub snapshots: u64,
    /// Inputs sent.
    pub inputs: u64,
    /// Chat lines sent.
    pub chat_out: u64,
    /// Chat lines received.
    pub chat_in: u64,
    /// Tiles the bots' avatars moved.
    pub tiles_moved: u64,
}

/// What the bots themselves cost.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BotCost {
    /// Runtime threads (1: a single-threaded runtime).
    pub threads: usize,
    /// CPU seconds of the bots' runtime threads over the whole run (ramp-up included).
    pub cpu_seconds: f64,
    /// Wall-clock seconds of the whole run.
    pub wall_seconds: f64,
    /// `cpu_seconds / wall_seconds` in % of one core; near `threads × 100` means the bots
    /// were the bottleneck.
    pub cpu_percent: f64,
    /// How late a 10 ms timer fired on the bots' runtime, 99th percentile (ms), measured
    /// phase: the bots' own scheduling delay, included in their latency figures.
    pub scheduler_lag_p99_ms: f64,
    /// The same, largest.
    pub scheduler_lag_max_ms: f64,
}

/// Server cost during the measured phase, from `/metrics`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerCost {
    /// Seconds between the first and last scrape.
    pub seconds: f64,
    /// Process CPU seconds used (`process_cpu_seconds_total`; the whole server process).
    pub cpu_seconds: f64,
    /// `cpu_seconds / seconds` in % of one core.
    pub cpu_percent: f64,
    /// Ticks of the space.
    pub ticks: f64,
    /// Σ connected clients × ticks (clients from `plaza_clients`).
    pub client_ticks: f64,
    /// Mean connected clients (`client_ticks / ticks`).
    pub mean_clients: f64,
    /// Server CPU per client-tick in µs (`cpu_seconds / client_ticks`).
    pub cpu_us_per_client_tick: Option<f64>,
    /// Server CPU per tick in µs.
    pub cpu_us_per_tick: Option<f64>,
    /// Mean duration of one tick of the space in ms (sim + interest + encode).
    pub tick_ms_mean: Option<f64>,
    /// Bytes the server sent per client per second (`plaza_bytes_out_total`).
    pub bytes_out_per_client_per_second: Option<f64>,
    /// Resident memory at the end (bytes).
    pub rss_bytes: Option<f64>,
}

impl ServerCost {
    pub(crate) fn from_figures(f: &WindowFigures) -> Option<ServerCost> {
        let cpu = f.cpu_seconds?;
        let ticks = f.ticks.unwrap_or(0.0);
        let client_ticks = f.client_ticks.unwrap_or(0.0);
        let per = |x: f64, n: f64| (n > 0.0).then(|| x / n);
        let mean_clients = per(client_ticks, ticks).unwrap_or(0.0);
        Some(ServerCost {
            seconds: f.seconds,
            cpu_seconds: cpu,
            cpu_percent: per(cpu * 100.0, f.seconds).unwrap_or(0.0),
            ticks,
            client_ticks,
            mean_clients,
            cpu_us_per_client_tick: per(cpu * 1e6, client_ticks),
            cpu_us_per_tick: per(cpu * 1e6, ticks),
            tick_ms_mean: f.tick_seconds.and_then(|s| per(s * 1000.0, ticks)),
            bytes_out_per_client_per_second: f
                .bytes_out
                .and_then(|b| per(b, mean_clients * f.seconds)),
            rss_bytes: f.rss_bytes,
        })
    }
}

/// Adds up the bots' outcomes: (connected, connected at end, totals, unechoed inputs).
pub(crate) fn sum_outcomes(outcomes: &[Outcome]) -> (u64, u64, Totals, u64) {
    let mut counters = Counters::default();
    let mut client_seconds = 0.0;
    let (mut connected, mut alive, mut unechoed) = (0, 0, 0);
    for o in outcomes {
        connected += u64::from(o.connected);
        alive += u64::from(o.alive_at_end);
        unechoed += o.unechoed;
        counters.add(o.steady);
        client_seconds += o.steady_seconds;
    }
    let totals = Totals {
        client_seconds,
        bytes_in: counters.bytes_in,
        bytes_out: counters.bytes_out,
        messages_in: counters.messages_in,
        messages_out: counters.messages_out,
        snapshots: counters.snapshots,
        inputs: counters.inputs,
        chat_out: counters.chat_out,
        chat_in: counters.chat_in,
        tiles_moved: counters.moves,
    };
    (connected, alive, totals, unechoed)
}

impl Rates {
    pub(crate) fn from_totals(t: &Totals) -> Rates {
        let per = |x: u64| {
            if t.client_seconds > 0.0 {
                x as f64 / t.client_seconds
            } else {
                0.0
            }
        };
        Rates {
            bytes_in: per(t.bytes_in),
            bytes_out: per(t.bytes_out),
            messages_in: per(t.messages_in),
            messages_out: per(t.messages_out),
            snapshots: per(t.snapshots),
            inputs: per(t.inputs),
            chat_in: per(t.chat_in),
            tiles_moved: per(t.tiles_moved),
        }
    }
}

impl BotsReport {
    /// Whether the run was clean: every bot connected and stayed, and no error of any kind.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
            && self.connected == self.bots as u64
            && self.connected_at_end == self.bots as u64
    }

    /// The report as a plain-text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut row = |k: &str, v: String| {
            let _ = writeln!(out, "  {k:<34} {v}");
        };
        row(
            "space",
            match self.spaces {
                1 => format!(
                    "{} ({}) at {}",
                    self.space,
                    self.map.as_deref().unwrap_or("given"),
                    self.url
                ),
                n => format!(
                    "{n} spaces ({}), {} … at {}",
                    self.map.as_deref().unwrap_or("given"),
                    self.space,
                    self.url
                ),
            },
        );
        row(
            "bots / behaviour",
            format!(
                "{} {:?}, input every {} ms, {} chat/min",
                self.bots, self.behaviour, self.input_interval_ms, self.chat_per_minute
            ),
        );
        row(
            "ramp / measured",
            format!("{:.1} s / {:.1} s", self.ramp_s, self.duration_s),
        );
        row(
            "connected / at end / failed",
            format!(
                "{} / {} / {}",
                self.connected, self.connected_at_end, self.failed
            ),
        );
        let late = if self.joined_late > 0 {
            format!(" ({} joined after it started)", self.joined_late)
        } else {
            String::new()
        };
        row(
            "connected in the measured phase",
            format!("{:.0} on average{late}", self.mean_connected),
        );
        let errors = if self.errors.is_empty() {
            "none".to_owned()
        } else {
            self.errors
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        row("errors", errors);
        row("protocol errors", self.protocol_errors.to_string());
        let l = &self.latency_ms;
        row(
            "input→echo latency (ms)",
            format!(
                "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  mean {:.1}  (n={}, unechoed {})",
                l.p50, l.p90, l.p99, l.max, l.mean, l.samples, l.unechoed
            ),
        );
        if self.tick_hz > 0 {
            row(
                "  one tick",
                format!("{:.1} ms", 1000.0 / f64::from(self.tick_hz)),
            );
        }
        let r = &self.per_client_per_second;
        row(
            "per client per second: in",
            format!(
                "{:.0} B, {:.1} msgs ({:.1} snapshots, {:.2} chat)",
                r.bytes_in, r.messages_in, r.snapshots, r.chat_in
            ),
        );
        row(
            "per client per second: out",
            format!(
                "{:.0} B, {:.1} msgs ({:.1} inputs)",
                r.bytes_out, r.messages_out, r.inputs
            ),
        );
        row(
            "tiles walked per client per second",
            format!("{:.2}", r.tiles_moved),
        );
        let b = &self.bot_process;
        row(
            "bot process",
            format!(
                "{:.1} CPU s over {:.1} s = {:.0} % of a core ({} thread{}), timer lag p99 {:.1} ms max {:.1} ms",
                b.cpu_seconds,
                b.wall_seconds,
                b.cpu_percent,
                b.threads,
                if b.threads == 1 { "" } else { "s" },
                b.scheduler_lag_p99_ms,
                b.scheduler_lag_max_ms
            ),
        );
        match &self.server {
            Some(s) => {
                let opt = |v: Option<f64>, unit: &str| {
                    v.map_or("n/a".to_owned(), |v| format!("{v:.2} {unit}"))
                };
                row(
                    "server CPU",
                    format!(
                        "{:.1} s over {:.1} s = {:.0} % of a core",
                        s.cpu_seconds, s.seconds, s.cpu_percent
                    ),
                );
                row(
                    "server CPU per client-tick",
                    format!(
                        "{}  ({:.0} ticks × {:.0} clients)",
                        opt(s.cpu_us_per_client_tick, "µs"),
                        s.ticks,
                        s.mean_clients
                    ),
                );
                row("server CPU per tick", opt(s.cpu_us_per_tick, "µs"));
                row("server tick time (mean)", opt(s.tick_ms_mean, "ms"));
                row(
                    "server bytes out per client/s",
                    opt(s.bytes_out_per_client_per_second, "B"),
                );
                row(
                    "server resident memory",
                    opt(s.rss_bytes.map(|b| b / 1048576.0), "MiB"),
                );
            }
            None => row(
                "server",
                self.server_note
                    .clone()
                    .unwrap_or_else(|| "no figures".into()),
            ),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_percentiles_in_ms() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for us in 1..=1000u64 {
            h.record(us * 100).unwrap(); // 0.1 ms … 100 ms
        }
        let l = LatencyReport::from_histogram(&h, 2);
        assert_eq!(l.samples, 1000);
        assert!((l.p50 - 50.0).abs() < 0.1, "{l:?}");
        assert!((l.p99 - 99.0).abs() < 0.1, "{l:?}");
        assert!((l.max - 100.0).abs() < 0.1, "{l:?}");
        assert_eq!(l.unechoed, 2);
        let empty = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        assert_eq!(LatencyReport::from_histogram(&empty, 0).samples, 0);
    }

    #[test]
    fn server_cost_per_client_tick() {
        let f = WindowFigures {
            seconds: 10.0,
            cpu_seconds: Some(5.0),
            ticks: Some(200.0),
            client_ticks: Some(200.0 * 1000.0),
            tick_seconds: Some(2.0),
            bytes_out: Some(1000.0 * 10.0 * 500.0),
            rss_bytes: None,
        };
        let s = ServerCost::from_figures(&f).unwrap();
        assert_eq!(s.mean_clients, 1000.0);
        assert_eq!(s.cpu_us_per_client_tick, Some(25.0));
        assert_eq!(s.cpu_us_per_tick, Some(25_000.0));
        assert_eq!(s.tick_ms_mean, Some(10.0));
        assert_eq!(s.cpu_percent, 50.0);
        assert_eq!(s.bytes_out_per_client_per_second, Some(500.0));
        let no_cpu = WindowFigures {
            cpu_seconds: None,
            ..f
        };
        assert!(ServerCost::from_figures(&no_cpu).is_none());
    }

    #[test]
    fn rates_divide_by_client_seconds() {
        let outcomes = [
            Outcome {
                connected: true,
                alive_at_end: true,
                steady: Counters {
                    bytes_in: 1000,
                    messages_in: 20,
                    ..Counters::default()
                },
                steady_seconds: 2.0,
                ..Outcome::default()
            },
            Outcome {
                connected: true,
                alive_at_end: false,
                steady: Counters {
                    bytes_in: 500,
                    messages_in: 10,
                    ..Counters::default()
                },
                steady_seconds: 1.0,
                unechoed: 3,
                ..Outcome::default()
            },
            Outcome::default(),
        ];
        let (connected, alive, totals, unechoed) = sum_outcomes(&outcomes);
        assert_eq!((connected, alive, unechoed), (2, 1, 3));
        let r = Rates::from_totals(&totals);
        assert_eq!(r.bytes_in, 500.0);
        assert_eq!(r.messages_in, 10.0);
    }
}
