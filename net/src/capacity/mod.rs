//! `plaza capacity`: how many nodes a space needs, and where its regions should go.
//!
//! From a live load report (one or more nodes' `GET /api/admin/regions`, see
//! [`crate::load`]) and the bench samples of `make bench`, [`plan`]:
//! 1. fits the [`CostModel`] `tick = a·entities + clients·(b + c·mean_visible)` to the
//!    samples (non-negative least squares on the relative error);
//! 2. calibrates it to the live machine with the weighted median of measured / predicted
//!    tick time over the report's regions ([`Calibration`]);
//! 3. predicts each region's tick time and [`place`]s the regions on as few nodes as the
//!    budget `target × (1 − headroom)` allows, balancing predicted tick time (LPT) and
//!    keeping regions on their current node where that costs nothing;
//! 4. returns a [`CapacityReport`]: a table to print and JSON to write.
//!
//! ```
//! use net::capacity::{Budget, TickSample, TickSamples, plan};
//! use net::load::NodeLoad;
//!
//! let samples = TickSamples {
//!     machine: "example".into(),
//!     tick_hz: 20,
//!     samples: vec![
//!         TickSample { clients: 100, entities: 100, mean_visible: 10.0, tick_ms: 0.29 },
//!         TickSample { clients: 100, entities: 1000, mean_visible: 10.0, tick_ms: 0.74 },
//!         TickSample { clients: 500, entities: 1000, mean_visible: 40.0, tick_ms: 2.3 },
//!     ],
//! };
//! let nodes: Vec<NodeLoad> = net::capacity::parse_load_report(
//!     r#"{"node": "a", "regions": [{"id": "s:0:0", "space": "s", "col": 0, "row": 0,
//!         "node": "a", "epoch": 1, "entities": 800, "clients": 400, "tick_ms_p50": 1.2,
//!         "tick_ms_p99": 2.0, "bytes_out_per_s": 1e5, "mean_visible": 30.0,
//!         "handoffs_per_s": 0.5, "ticks_per_s": 20.0}]}"#,
//! )?;
//! let report = plan(&nodes, &samples, Budget::new(25.0, 0.3)?)?;
//! assert_eq!(report.nodes_needed, 1);
//! println!("{}", report.table());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod input;
mod model;
mod placement;
mod report;

use std::collections::BTreeMap;

pub use input::{InputError, collect_regions, fetch_cluster, parse_load_report};
pub use model::{Calibration, CostModel, ModelError, TickSample, TickSamples};
pub use placement::{Budget, Item, NodePlan, Oversized, Placement, PlacementError, place};
pub use report::{CapacityReport, ModelSummary, NodeNow, POOR_FIT, RegionRow, Totals, Warning};

use crate::load::{NodeLoad, RegionLoad};

/// Errors of [`plan`].
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    /// The load report is empty or invalid.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The cost model cannot be fitted.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The regions cannot be placed.
    #[error(transparent)]
    Placement(#[from] PlacementError),
}

/// Fits, calibrates, predicts and places: the whole of `plaza capacity` but the I/O.
pub fn plan(
    nodes: &[NodeLoad],
    samples: &TickSamples,
    budget: Budget,
) -> Result<CapacityReport, CapacityError> {
    let (regions, duplicates) = collect_regions(nodes)?;
    let fit = CostModel::fit(&samples.samples)?;
    let calibration = Calibration::from_regions(&fit, &regions);
    let predicted: Vec<f64> = regions
        .iter()
        .map(|r| calibration.factor * fit.predict_region_ms(r))
        .collect();
    let current = current_nodes(nodes, &regions);
    let current_nodes: Vec<String> = current.iter().map(|c| c.node.clone()).collect();
    let items: Vec<Item> = regions
        .iter()
        .zip(&predicted)
        .map(|(r, &cost_ms)| Item {
            id: r.id.clone(),
            cost_ms,
            current: r.node.clone(),
        })
        .collect();
    let placement = place(&items, &current_nodes, budget)?;

    let mut warnings: Vec<Warning> = duplicates
        .into_iter()
        .map(|region| Warning::DuplicateRegion { region })
        .collect();
    if fit.rms_relative_error > POOR_FIT {
        warnings.push(Warning::PoorFit {
            rms_relative_error: fit.rms_relative_error,
        });
    }
    if !calibration.is_calibrated() {
        warnings.push(Warning::Uncalibrated);
    }
    warnings.extend(
        placement
            .oversized
            .iter()
            .map(|o| Warning::RegionOverBudget {
                region: o.region.clone(),
                predicted_tick_ms: o.predicted_tick_ms,
                budget_ms: budget.usable_ms(),
                target_tick_ms: budget.target_tick_ms,
            }),
    );
    let rows: Vec<RegionRow> = regions
        .iter()
        .zip(&predicted)
        .map(|(r, &predicted_tick_ms)| RegionRow {
            id: r.id.clone(),
            space: r.space.clone(),
            node: r.node.clone(),
            planned_node: placement.assignment[&r.id].clone(),
            entities: r.entities,
            clients: r.clients,
            mean_visible: r.mean_visible,
            measured_tick_ms: r.tick_ms_p50,
            predicted_tick_ms,
        })
        .collect();
    let totals = Totals {
        regions: rows.len(),
        entities: rows.iter().fold(0, |sum, r| sum.saturating_add(r.entities)),
        clients: rows.iter().fold(0, |sum, r| sum.saturating_add(r.clients)),
        measured_tick_ms: rows.iter().map(|r| r.measured_tick_ms).sum(),
        predicted_tick_ms: predicted.iter().sum(),
    };
    Ok(CapacityReport {
        budget,
        budget_ms: budget.usable_ms(),
        model: ModelSummary {
            machine: samples.machine.clone(),
            fit,
            calibration,
        },
        current,
        nodes_needed: placement.nodes.len(),
        moves: rows.iter().filter(|r| r.planned_node != r.node).count(),
        nodes: placement.nodes,
        released: placement.released,
        regions: rows,
        totals,
        warnings,
    })
}

/// The nodes of the report (answering nodes and regions' owners), by id, with their load now.
fn current_nodes(nodes: &[NodeLoad], regions: &[RegionLoad]) -> Vec<NodeNow> {
    let mut now: BTreeMap<&str, NodeNow> = nodes
        .iter()
        .map(|n| n.node.as_str())
        .chain(regions.iter().map(|r| r.node.as_str()))
        .map(|node| {
            let idle = NodeNow {
                node: node.to_owned(),
                regions: 0,
                measured_tick_ms: 0.0,
            };
            (node, idle)
        })
        .collect();
    for r in regions {
        if let Some(n) = now.get_mut(r.node.as_str()) {
            n.regions += 1;
            n.measured_tick_ms += r.tick_ms_p50;
        }
    }
    now.into_values().collect()
}
