//! Per-region load figures: what a node measures for each region it owns, served by
//! `GET /api/admin/regions` and read by `plaza capacity`.
//!
//! A space's tick thread keeps one [`RegionMeter`] per region it owns and, once a window
//! is complete, publishes the meter's [`RegionLoad`] on the node's [`LoadBoard`], which the
//! admin API reads and which mirrors every load into the per-region metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;

/// The load of one region over the last measurement window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionLoad {
    /// `space:col:row`.
    pub id: String,
    /// Space id.
    pub space: String,
    /// Region column.
    pub col: u16,
    /// Region row.
    pub row: u16,
    /// The node that owns the region.
    pub node: String,
    /// The owner's lease epoch (0 on a single node without a cluster).
    pub epoch: u64,
    /// Entities (local avatars, ghosts excluded) in the region.
    pub entities: u64,
    /// Connected clients whose avatar stands in the region.
    pub clients: u64,
    /// Median CPU time per tick of the space thread spent on this region, in milliseconds:
    /// its share of the sim step (by entity count) and of the interest update (by its
    /// clients' visible entities), plus its own clients' deltas and encoding.
    pub tick_ms_p50: f64,
    /// 99th percentile of the same, in milliseconds.
    pub tick_ms_p99: f64,
    /// WebSocket bytes queued to this region's clients per second.
    pub bytes_out_per_s: f64,
    /// Mean entities visible per client (AOI density).
    pub mean_visible: f64,
    /// Avatars handed off out of this region per second.
    pub handoffs_per_s: f64,
    /// Ticks per second measured over the window.
    pub ticks_per_s: f64,
}

/// The answer of `GET /api/admin/regions`: one node's regions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeLoad {
    /// The answering node's id.
    pub node: String,
    /// Its regions, by id.
    pub regions: Vec<RegionLoad>,
}

impl RegionLoad {
    /// The id of region (`col`, `row`) of `space`: `space:col:row`.
    pub fn region_id(space: &str, col: u16, row: u16) -> String {
        format!("{space}:{col}:{row}")
    }
}

/// Longest tick cost the meter records; longer ticks count as this long.
const MAX_TICK_COST: Duration = Duration::from_secs(60);

/// Measures one region's load, window by window. Owned by the tick thread of the space
/// that owns the region (one meter per region), so it needs no locking.
///
/// Per tick the driver calls [`RegionMeter::record_tick`] with the region's share of the
/// tick's cost, [`RegionMeter::add_bytes`] for every frame queued to a client in the region,
/// [`RegionMeter::add_handoff`] for every avatar handed off out of it, and
/// [`RegionMeter::set_population`]. When [`RegionMeter::is_due`], [`RegionMeter::report`]
/// turns the window into a [`RegionLoad`] (for a [`LoadBoard`]) and starts the next one.
///
/// Windows are counted in ticks, not wall-clock time: per-second rates are per *simulated*
/// second (`ticks / tick_hz`), so a tick thread that falls behind reports the same rates
/// per tick; [`RegionLoad::ticks_per_s`] alone is measured on the wall clock and shows it.
///
/// ```
/// use std::time::Duration;
/// use net::load::RegionMeter;
///
/// let mut meter = RegionMeter::new(20, Duration::from_secs(1));
/// while !meter.is_due() {
///     meter.record_tick(Duration::from_micros(300));
///     meter.add_bytes(1_000);
/// }
/// meter.set_population(40, 10, 300);
/// let load = meter.report("abc", 0, 1, "node-1", 0);
/// assert_eq!(load.id, "abc:0:1");
/// assert_eq!(load.bytes_out_per_s, 20_000.0);
/// assert_eq!(load.mean_visible, 30.0);
/// assert!((load.tick_ms_p99 - 0.3).abs() < 0.003);
/// ```
#[derive(Debug)]
pub struct RegionMeter {
    tick_hz: u32,
    window_ticks: u64,
    /// Tick costs of this window, in nanoseconds.
    costs: Histogram<u64>,
    ticks: u64,
    bytes: u64,
    handoffs: u64,
    entities: u64,
    clients: u64,
    visible_total: u64,
    started: Instant,
}

impl RegionMeter {
    /// A meter for a space ticking `tick_hz` times a second, reporting every `window`
    /// (rounded to whole ticks, at least one).
    pub fn new(tick_hz: u32, window: Duration) -> RegionMeter {
        let tick_hz = tick_hz.max(1);
        let window_ticks = (window.as_secs_f64() * f64::from(tick_hz)).round().max(1.0) as u64;
        RegionMeter {
            tick_hz,
            window_ticks,
            // 1 µs … 60 s at 2 significant digits: ~17 KiB per region (3 digits from 1 ns
            // took ~200 KiB, most of an idle small space's memory).
            costs: Histogram::new_with_bounds(1_000, MAX_TICK_COST.as_nanos() as u64, 2)
                .expect("constant, valid histogram bounds"),
            ticks: 0,
            bytes: 0,
            handoffs: 0,
            entities: 0,
            clients: 0,
            visible_total: 0,
            started: Instant::now(),
        }
    }

    /// Records this region's share of one tick.
    pub fn record_tick(&mut self, cost: Duration) {
        let nanos = u64::try_from(cost.min(MAX_TICK_COST).as_nanos()).unwrap_or(u64::MAX);
        self.costs.saturating_record(nanos.max(1));
        self.ticks += 1;
    }

    /// Counts `n` bytes queued to a client of this region.
    pub fn add_bytes(&mut self, n: u64) {
        self.bytes = self.bytes.saturating_add(n);
    }

    /// Counts one avatar handed off out of this region.
    pub fn add_handoff(&mut self) {
        self.handoffs += 1;
    }

    /// Sets the region's current population: local `entities`, connected `clients`, and the
    /// entities visible to those clients, summed over them (the report divides by clients).
    pub fn set_population(&mut self, entities: u64, clients: u64, visible_total: u64) {
        self.entities = entities;
        self.clients = clients;
        self.visible_total = visible_total;
    }

    /// Whether the window is complete (it has seen its number of ticks).
    pub fn is_due(&self) -> bool {
        self.ticks >= self.window_ticks
    }

    /// The window's load of region (`col`, `row`) of `space`, owned by `node` under lease
    /// `epoch`; then starts a new window (the population is kept until set again).
    pub fn report(
        &mut self,
        space: &str,
        col: u16,
        row: u16,
        node: &str,
        epoch: u64,
    ) -> RegionLoad {
        let now = Instant::now();
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let simulated_secs = self.ticks as f64 / f64::from(self.tick_hz);
        let per_second = |count: u64| {
            if self.ticks == 0 {
                0.0
            } else {
                count as f64 / simulated_secs
            }
        };
        let millis = |quantile: f64| self.costs.value_at_quantile(quantile) as f64 / 1e6;
        let load = RegionLoad {
            id: RegionLoad::region_id(space, col, row),
            space: space.to_owned(),
            col,
            row,
            node: node.to_owned(),
            epoch,
            entities: self.entities,
            clients: self.clients,
            tick_ms_p50: millis(0.5),
            tick_ms_p99: millis(0.99),
            bytes_out_per_s: per_second(self.bytes),
            mean_visible: if self.clients == 0 {
                0.0
            } else {
                self.visible_total as f64 / self.clients as f64
            },
            handoffs_per_s: per_second(self.handoffs),
            ticks_per_s: if elapsed > 0.0 {
                self.ticks as f64 / elapsed
            } else {
                0.0
            },
        };
        self.costs.reset();
        self.ticks = 0;
        self.bytes = 0;
        self.handoffs = 0;
        self.started = now;
        load
    }
}

/// The latest [`RegionLoad`] of every region this node owns, shared (`Arc`) between the
/// tick threads that publish and the admin API that reads.
///
/// Publishing also updates the per-region metrics ([`Metrics::record_region`]); removing
/// a region (it moved away or its space stopped) removes its metric series.
#[derive(Debug)]
pub struct LoadBoard {
    regions: Mutex<BTreeMap<String, RegionLoad>>,
    metrics: Arc<Metrics>,
}

impl LoadBoard {
    /// An empty board that mirrors what it is given into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> LoadBoard {
        LoadBoard {
            regions: Mutex::default(),
            metrics,
        }
    }

    /// Stores `load` as the latest of its region and updates the region's metrics.
    pub fn publish(&self, load: RegionLoad) {
        self.metrics.record_region(&load);
        self.lock().insert(load.id.clone(), load);
    }

    /// Forgets region `id` and its metric series; returns its last load, if any.
    pub fn remove(&self, id: &str) -> Option<RegionLoad> {
        let removed = self.lock().remove(id);
        if let Some(load) = &removed {
            self.metrics.forget_region(load);
        }
        removed
    }

    /// The latest load of every region, by id.
    pub fn snapshot(&self) -> Vec<RegionLoad> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, RegionLoad>> {
        self.regions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(load_ms: f64, expected: f64) -> bool {
        // hdrhistogram with 2 significant digits: within 1 %.
        (load_ms - expected).abs() <= expected * 1e-2
    }

    #[test]
    fn window_is_counted_in_ticks() {
        let mut meter = RegionMeter::new(20, Duration::from_millis(500));
        for _ in 0..9 {
            meter.record_tick(Duration::from_millis(1));
            assert!(!meter.is_due());
        }
        meter.record_tick(Duration::from_millis(1));
        assert!(meter.is_due());
        // A window shorter than a tick is one tick.
        let mut meter = RegionMeter::new(20, Duration::ZERO);
        assert!(!meter.is_due());
        meter.record_tick(Duration::ZERO);
        assert!(meter.is_due());
    }

    #[test]
    fn percentiles_of_the_window() {
        let mut meter = RegionMeter::new(10, Duration::from_secs(10));
        // 100 ticks: 1 ms … 100 ms.
        for i in 1..=100 {
            meter.record_tick(Duration::from_millis(i));
        }
        assert!(meter.is_due());
        let load = meter.report("s", 1, 2, "n", 7);
        assert!(ms(load.tick_ms_p50, 50.0), "{}", load.tick_ms_p50);
        assert!(ms(load.tick_ms_p99, 99.0), "{}", load.tick_ms_p99);
        assert_eq!((load.space.as_str(), load.col, load.row), ("s", 1, 2));
        assert_eq!((load.node.as_str(), load.epoch), ("n", 7));
    }

    #[test]
    fn rates_per_simulated_second() {
        let mut meter = RegionMeter::new(20, Duration::from_secs(2));
        for tick in 0..40 {
            meter.record_tick(Duration::from_micros(100));
            meter.add_bytes(250);
            if tick % 10 == 0 {
                meter.add_handoff();
            }
        }
        meter.set_population(12, 8, 200);
        let load = meter.report("s", 0, 0, "n", 0);
        // 40 ticks at 20 Hz = 2 s: 10,000 bytes and 4 handoffs.
        assert_eq!(load.bytes_out_per_s, 5_000.0);
        assert_eq!(load.handoffs_per_s, 2.0);
        assert_eq!((load.entities, load.clients), (12, 8));
        assert_eq!(load.mean_visible, 25.0);
        assert!(load.ticks_per_s > 0.0 && load.ticks_per_s.is_finite());
    }

    #[test]
    fn report_starts_a_new_window() {
        let mut meter = RegionMeter::new(20, Duration::from_millis(100));
        for _ in 0..2 {
            meter.record_tick(Duration::from_millis(40));
            meter.add_bytes(10);
            meter.add_handoff();
        }
        meter.set_population(3, 2, 4);
        let first = meter.report("s", 0, 0, "n", 0);
        assert!(ms(first.tick_ms_p99, 40.0));
        assert!(!meter.is_due());
        // The new window holds only its own ticks; the population stays until set again.
        meter.record_tick(Duration::from_millis(2));
        meter.record_tick(Duration::from_millis(2));
        assert!(meter.is_due());
        let second = meter.report("s", 0, 0, "n", 0);
        assert!(ms(second.tick_ms_p99, 2.0), "{}", second.tick_ms_p99);
        assert_eq!(second.bytes_out_per_s, 0.0);
        assert_eq!(second.handoffs_per_s, 0.0);
        assert_eq!((second.clients, second.mean_visible), (2, 2.0));
    }

    #[test]
    fn empty_window_and_no_clients_give_zeros() {
        let mut meter = RegionMeter::new(20, Duration::from_secs(1));
        let load = meter.report("s", 0, 0, "n", 0);
        assert_eq!(load.tick_ms_p50, 0.0);
        assert_eq!(load.tick_ms_p99, 0.0);
        assert_eq!(load.bytes_out_per_s, 0.0);
        assert_eq!(load.mean_visible, 0.0);
        assert_eq!(load.ticks_per_s, 0.0);
    }

    #[test]
    fn very_long_ticks_are_capped() {
        let mut meter = RegionMeter::new(20, Duration::from_secs(1));
        meter.record_tick(Duration::from_secs(3600));
        let load = meter.report("s", 0, 0, "n", 0);
        assert!(ms(load.tick_ms_p99, MAX_TICK_COST.as_secs_f64() * 1e3));
    }

    fn load(id_col: u16, clients: u64) -> RegionLoad {
        let mut meter = RegionMeter::new(20, Duration::from_secs(1));
        meter.record_tick(Duration::from_millis(1));
        meter.set_population(clients, clients, clients * 10);
        meter.report("sp", id_col, 0, "node-1", 0)
    }

    #[test]
    fn board_keeps_the_latest_per_region_sorted_by_id() {
        let metrics = Arc::new(Metrics::new());
        let board = LoadBoard::new(metrics.clone());
        board.publish(load(2, 1));
        board.publish(load(1, 1));
        board.publish(load(2, 5));
        let ids: Vec<_> = board
            .snapshot()
            .into_iter()
            .map(|l| (l.id, l.clients))
            .collect();
        assert_eq!(ids, [("sp:1:0".to_owned(), 1), ("sp:2:0".to_owned(), 5)]);
        let text = metrics.encode();
        assert!(
            text.contains("plaza_region_clients{space=\"sp\",region=\"2,0\"} 5"),
            "{text}"
        );
        assert_eq!(board.remove("sp:2:0").map(|l| l.clients), Some(5));
        assert_eq!(board.remove("sp:2:0"), None);
        assert_eq!(board.snapshot().len(), 1);
        assert!(!metrics.encode().contains("region=\"2,0\""));
    }
}
