//! Per-region load figures: what a node measures for each region it owns, served by
//! `GET /api/admin/regions` and read by `plaza capacity`.

use serde::{Deserialize, Serialize};

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
    /// Median time per tick spent on this region (its share of the sim step and interest
    /// update, by entity count, plus its clients' delta encoding), in milliseconds.
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
