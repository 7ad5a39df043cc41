//! Prometheus metrics, served as text at `GET /metrics`.
//!
//! The handles are cheap to clone and lock-free to update; the tick driver and the
//! WebSocket gateway reach them through `state.metrics`:
//!
//! ```
//! # let metrics = net::metrics::Metrics::new();
//! use net::metrics::{RegionLabels, RejectLabels, SpaceLabels};
//! let region = RegionLabels::new("abc123", "0,0");
//! metrics.tick_duration.get_or_create(&region).observe(0.0012);
//! metrics.entities.get_or_create(&region).set(17);
//! metrics.clients.get_or_create(&SpaceLabels::new("abc123")).inc();
//! metrics.bytes_out.get_or_create(&SpaceLabels::new("abc123")).inc_by(512);
//! metrics.rejected_frames.get_or_create(&RejectLabels::new("abc123", "bad_buffer")).inc();
//! assert!(metrics.encode().contains("plaza_entities{space=\"abc123\",region=\"0,0\"} 17"));
//! ```
//!
//! Per-region load (clients, tick time p50/p99, bytes out, AOI density, handoffs) is set
//! from each published [`RegionLoad`] by [`Metrics::record_region`], which
//! [`crate::load::LoadBoard::publish`] calls; those families are `plaza_region_*`.
//!
//! More metrics can be added at startup with [`Metrics::register`].
//!
//! The standard process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_open_fds`) are read at each scrape by
//! [`ProcessCollector`]; the bot swarm divides the CPU counter by client-ticks.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

use crate::load::RegionLoad;

/// The `Content-Type` of the `/metrics` answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of per-region metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RegionLabels {
    /// Space id.
    pub space: String,
    /// Region, e.g. `"0,1"` (column, row).
    pub region: String,
}

impl RegionLabels {
    /// Labels for `region` of `space`.
    pub fn new(space: &str, region: &str) -> RegionLabels {
        RegionLabels {
            space: space.to_owned(),
            region: region.to_owned(),
        }
    }
}

impl RegionLabels {
    /// Labels of a measured region: region `"col,row"`.
    pub fn of(load: &RegionLoad) -> RegionLabels {
        RegionLabels::new(&load.space, &format!("{},{}", load.col, load.row))
    }
}

/// A gauge holding a float.
pub type FloatGauge = Gauge<f64, AtomicU64>;

/// Labels of per-space metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SpaceLabels {
    /// Space id.
    pub space: String,
}

impl SpaceLabels {
    /// Labels for `space`.
    pub fn new(space: &str) -> SpaceLabels {
        SpaceLabels {
            space: space.to_owned(),
        }
    }
}

/// Labels of rejected frames.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    /// Space id (empty before the client joined one).
    pub space: String,
    /// Why, e.g. `bad_buffer`, `too_large`, `rate_limited`.
    pub reason: String,
}

impl RejectLabels {
    /// Labels for a frame rejected in `space` for `reason`.
    pub fn new(space: &str, reason: &str) -> RejectLabels {
        RejectLabels {
            space: space.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// Labels of HTTP responses.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Response status code.
    pub status: u16,
}

/// The constructor of tick-duration histograms.
pub type HistogramFn = fn() -> Histogram;

fn tick_histogram() -> Histogram {
    // 0.1 ms … ~0.8 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 14))
}

/// Every metric of the server.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    /// `plaza_tick_duration_seconds{space,region}`: time of one sim step + interest + encode.
    pub tick_duration: Family<RegionLabels, Histogram, HistogramFn>,
    /// `plaza_entities{space,region}`: entities simulated.
    pub entities: Family<RegionLabels, Gauge>,
    /// `plaza_clients{space}`: connected clients.
    pub clients: Family<SpaceLabels, Gauge>,
    /// `plaza_bytes_in_total{space}`: WebSocket bytes received.
    pub bytes_in: Family<SpaceLabels, Counter>,
    /// `plaza_bytes_out_total{space}`: WebSocket bytes sent.
    pub bytes_out: Family<SpaceLabels, Counter>,
    /// `plaza_rejected_frames_total{space,reason}`: client frames refused.
    pub rejected_frames: Family<RejectLabels, Counter>,
    /// `plaza_http_responses_total{status}`: REST responses by status.
    pub http_responses: Family<HttpLabels, Counter>,
    /// `plaza_auth_rate_limited_total`: auth requests refused with 429.
    pub auth_rate_limited: Counter,
    /// `plaza_spaces_loaded`: spaces loaded on the node's tick workers (empty ones unload).
    pub spaces_loaded: Gauge,
    /// The `plaza_region_*` load families, set by [`Metrics::record_region`].
    pub region: RegionMetrics,
}

/// Per-region load, from the latest [`RegionLoad`] of each region (one measurement window,
/// about a second): gauges, since every figure is already a window's percentile or rate.
#[derive(Debug, Default)]
pub struct RegionMetrics {
    /// `plaza_region_clients{space,region}`: connected clients whose avatar is in the region.
    pub clients: Family<RegionLabels, Gauge>,
    /// `plaza_region_tick_p50_seconds{space,region}`: median tick time spent on the region.
    pub tick_p50: Family<RegionLabels, FloatGauge>,
    /// `plaza_region_tick_p99_seconds{space,region}`: 99th percentile of the same.
    pub tick_p99: Family<RegionLabels, FloatGauge>,
    /// `plaza_region_bytes_out_per_second{space,region}`: bytes queued to its clients.
    pub bytes_out_per_s: Family<RegionLabels, FloatGauge>,
    /// `plaza_region_mean_visible{space,region}`: entities visible per client (AOI density).
    pub mean_visible: Family<RegionLabels, FloatGauge>,
    /// `plaza_region_handoffs_per_second{space,region}`: avatars handed off out of it.
    pub handoffs_per_s: Family<RegionLabels, FloatGauge>,
}

impl RegionMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "plaza_region_clients",
            "Connected clients whose avatar is in the region",
            self.clients.clone(),
        );
        for (name, help, family) in self.floats() {
            registry.register(name, help, family.clone());
        }
    }

    /// The float families with their names and help, in [`RegionMetrics::values`] order.
    fn floats(
        &self,
    ) -> [(
        &'static str,
        &'static str,
        &Family<RegionLabels, FloatGauge>,
    ); 5] {
        [
            (
                "plaza_region_tick_p50_seconds",
                "Median tick time spent on the region over the last window",
                &self.tick_p50,
            ),
            (
                "plaza_region_tick_p99_seconds",
                "99th percentile tick time spent on the region over the last window",
                &self.tick_p99,
            ),
            (
                "plaza_region_bytes_out_per_second",
                "WebSocket bytes per second queued to the region's clients",
                &self.bytes_out_per_s,
            ),
            (
                "plaza_region_mean_visible",
                "Mean entities visible per client of the region",
                &self.mean_visible,
            ),
            (
                "plaza_region_handoffs_per_second",
                "Avatars handed off out of the region per second",
                &self.handoffs_per_s,
            ),
        ]
    }

    /// The float figures of `load`, in [`RegionMetrics::floats`] order.
    fn values(load: &RegionLoad) -> [f64; 5] {
        [
            load.tick_ms_p50 / 1e3,
            load.tick_ms_p99 / 1e3,
            load.bytes_out_per_s,
            load.mean_visible,
            load.handoffs_per_s,
        ]
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let tick_duration =
            Family::<RegionLabels, Histogram, HistogramFn>::new_with_constructor(tick_histogram);
        let entities = Family::<RegionLabels, Gauge>::default();
        let clients = Family::<SpaceLabels, Gauge>::default();
        let bytes_in = Family::<SpaceLabels, Counter>::default();
        let bytes_out = Family::<SpaceLabels, Counter>::default();
        let rejected_frames = Family::<RejectLabels, Counter>::default();
        let http_responses = Family::<HttpLabels, Counter>::default();
        let auth_rate_limited = Counter::default();
        let spaces_loaded = Gauge::default();
        registry.register(
            "plaza_spaces_loaded",
            "Spaces loaded on the tick workers",
            spaces_loaded.clone(),
        );
        registry.register(
            "plaza_tick_duration_seconds",
            "Duration of one tick (sim step, interest, encode)",
            tick_duration.clone(),
        );
        registry.register("plaza_entities", "Entities simulated", entities.clone());
        registry.register("plaza_clients", "Connected clients", clients.clone());
        registry.register(
            "plaza_bytes_in",
            "WebSocket bytes received",
            bytes_in.clone(),
        );
        registry.register("plaza_bytes_out", "WebSocket bytes sent", bytes_out.clone());
        registry.register(
            "plaza_rejected_frames",
            "Client frames refused",
            rejected_frames.clone(),
        );
        registry.register(
            "plaza_http_responses",
            "REST responses by status",
            http_responses.clone(),
        );
        registry.register(
            "plaza_auth_rate_limited",
            "Auth requests refused by the rate limiter",
            auth_rate_limited.clone(),
        );
        let region = RegionMetrics::default();
        region.register(&mut registry);
        registry.register_collector(Box::new(ProcessCollector));
        Metrics {
            registry: Mutex::new(registry),
            tick_duration,
            entities,
            clients,
            bytes_in,
            bytes_out,
            rejected_frames,
            http_responses,
            auth_rate_limited,
            spaces_loaded,
            region,
        }
    }

    /// Sets the `plaza_region_*` gauges of `load`'s region.
    pub fn record_region(&self, load: &RegionLoad) {
        let labels = RegionLabels::of(load);
        let region = &self.region;
        region
            .clients
            .get_or_create(&labels)
            .set(i64::try_from(load.clients).unwrap_or(i64::MAX));
        let values = RegionMetrics::values(load);
        for ((_, _, family), value) in region.floats().into_iter().zip(values) {
            family.get_or_create(&labels).set(value);
        }
    }

    /// Removes the `plaza_region_*` series of `load`'s region (it left this node).
    pub fn forget_region(&self, load: &RegionLoad) {
        let labels = RegionLabels::of(load);
        self.region.clients.remove(&labels);
        for (_, _, family) in self.region.floats() {
            family.remove(&labels);
        }
    }

    /// Removes the per-space series of `space` (it was unloaded: a node that served
    /// thousands of spaces over a day keeps no series, and no memory, for the idle ones).
    pub fn forget_space(&self, space: &str) {
        let all = RegionLabels::new(space, "all");
        self.tick_duration.remove(&all);
        self.entities.remove(&all);
        let labels = SpaceLabels::new(space);
        self.clients.remove(&labels);
        self.bytes_in.remove(&labels);
        self.bytes_out.remove(&labels);
    }

    /// Registers one more metric (call at startup; keep a clone of `metric` to update it).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .register(name, help, metric);
    }

    /// The Prometheus/OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

/// CPU time (user + system) this process has used so far, in seconds (0 when unavailable).
pub fn process_cpu_seconds() -> f64 {
    cpu_time::ProcessTime::try_now().map_or(0.0, |t| t.as_duration().as_secs_f64())
}

/// Resident memory of this process in bytes, from `/proc/self/statm` (Linux; assumes 4 KiB
/// pages), or `None` elsewhere.
pub fn process_resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Open file descriptors of this process (`/proc/self/fd`; Linux), or `None` elsewhere.
pub fn process_open_fds() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(entries.count() as u64)
}

/// Process metrics computed at each scrape: `process_cpu_seconds_total` (always),
/// `process_resident_memory_bytes` and `process_open_fds` (where `/proc` has them).
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let cpu = ConstCounter::new(process_cpu_seconds());
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        if let Some(rss) = process_resident_memory_bytes() {
            let rss = ConstGauge::new(i64::try_from(rss).unwrap_or(i64::MAX));
            rss.encode(encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                None,
                rss.metric_type(),
            )?)?;
        }
        if let Some(fds) = process_open_fds() {
            let fds = ConstGauge::new(i64::try_from(fds).unwrap_or(i64::MAX));
            fds.encode(encoder.encode_descriptor(
                "process_open_fds",
                "Number of open file descriptors",
                None,
                fds.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod process_tests {
    use super::*;

    #[test]
    fn process_metrics_are_exposed() {
        let text = Metrics::new().encode();
        let line = text
            .lines()
            .find(|l| l.starts_with("process_cpu_seconds_total "))
            .unwrap_or_else(|| panic!("no process_cpu_seconds_total in:\n{text}"));
        let value: f64 = line.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(value >= 0.0);
        if cfg!(target_os = "linux") {
            assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
            assert!(text.contains("\nprocess_open_fds "), "{text}");
        }
    }
}
