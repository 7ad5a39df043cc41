//! The capacity report: what `plaza capacity` prints ([`CapacityReport::table`]) and writes
//! as JSON (serde).

use std::fmt::{self, Write as _};

use serde::Serialize;

use super::model::{Calibration, CostModel};
use super::placement::{Budget, NodePlan};

/// Relative fit error above which the report warns ([`Warning::PoorFit`]).
pub const POOR_FIT: f64 = 0.25;

/// Everything `plaza capacity` found and recommends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapacityReport {
    /// Target tick time and headroom.
    pub budget: Budget,
    /// Usable tick time per node: `target × (1 − headroom)`, in milliseconds.
    pub budget_ms: f64,
    /// Where the model comes from and how it was fitted and calibrated.
    pub model: ModelSummary,
    /// The nodes of the load report, by id, with their load now.
    pub current: Vec<NodeNow>,
    /// Nodes the plan needs.
    pub nodes_needed: usize,
    /// The plan, per node.
    pub nodes: Vec<NodePlan>,
    /// Current nodes the plan leaves without regions.
    pub released: Vec<String>,
    /// Every region, by id.
    pub regions: Vec<RegionRow>,
    /// Regions the plan moves to another node.
    pub moves: usize,
    /// Sums over all regions.
    pub totals: Totals,
    /// Things the operator should know.
    pub warnings: Vec<Warning>,
}

/// A node of the load report as it is now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeNow {
    /// Node id.
    pub node: String,
    /// Regions it owns.
    pub regions: usize,
    /// Σ measured median tick times of its regions, in milliseconds.
    pub measured_tick_ms: f64,
}

/// The model behind the predictions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSummary {
    /// The machine the bench samples were measured on.
    pub machine: String,
    /// The fitted coefficients.
    pub fit: CostModel,
    /// The scaling to the live machine.
    pub calibration: Calibration,
}

/// One region: what was measured and what is predicted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegionRow {
    /// `space:col:row`.
    pub id: String,
    /// Space id.
    pub space: String,
    /// The node that owns it now.
    pub node: String,
    /// The node the plan puts it on.
    pub planned_node: String,
    /// Entities.
    pub entities: u64,
    /// Connected clients.
    pub clients: u64,
    /// Mean entities visible per client.
    pub mean_visible: f64,
    /// Measured median tick time, in milliseconds.
    pub measured_tick_ms: f64,
    /// Calibrated model prediction, in milliseconds.
    pub model_tick_ms: f64,
    /// The tick time the plan counts for the region: measured when it was, else the model's
    /// (see [`super::region_cost`]), in milliseconds.
    pub predicted_tick_ms: f64,
}

/// Sums over all regions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Regions.
    pub regions: usize,
    /// Entities.
    pub entities: u64,
    /// Connected clients.
    pub clients: u64,
    /// Σ measured median tick times, in milliseconds.
    pub measured_tick_ms: f64,
    /// Σ calibrated model predictions, in milliseconds.
    pub model_tick_ms: f64,
    /// Σ predicted tick times, in milliseconds.
    pub predicted_tick_ms: f64,
}

/// Something the operator should know about the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// A region alone needs more than a node's budget; it cannot be split, so its node is
    /// over budget (and over the target when `predicted_tick_ms > target_tick_ms`).
    RegionOverBudget {
        /// Region id.
        region: String,
        /// Its predicted tick time, in milliseconds.
        predicted_tick_ms: f64,
        /// The usable budget per node, in milliseconds.
        budget_ms: f64,
        /// The target tick time, in milliseconds.
        target_tick_ms: f64,
    },
    /// No region had both a measured tick time and a non-zero prediction: the predictions
    /// are the bench machine's, not scaled to the live one.
    Uncalibrated,
    /// The model misses the bench samples by more than [`POOR_FIT`] (rms relative error):
    /// the samples do not follow the model's shape (or were measured on a busy machine),
    /// so predictions are rough.
    PoorFit {
        /// Root mean square of the fit's relative errors.
        rms_relative_error: f64,
    },
    /// Two nodes reported the same region (it moved while the report was taken); the one
    /// with the higher lease epoch was kept.
    DuplicateRegion {
        /// Region id.
        region: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::RegionOverBudget {
                region,
                predicted_tick_ms,
                budget_ms,
                target_tick_ms,
            } => {
                let verdict = if predicted_tick_ms > target_tick_ms {
                    format!("its node will miss the {target_tick_ms} ms target")
                } else {
                    "its node has less headroom than asked".to_owned()
                };
                write!(
                    f,
                    "region {region} alone is predicted at {predicted_tick_ms:.2} ms, over the \
                     {budget_ms:.2} ms budget per node; a region cannot be split, so it gets a \
                     node to itself and {verdict}"
                )
            }
            Warning::Uncalibrated => f.write_str(
                "no region had a measured tick time: predictions use the bench machine's \
                 costs, uncalibrated",
            ),
            Warning::PoorFit { rms_relative_error } => write!(
                f,
                "the cost model misses the bench samples by {:.0} % (rms): they do not follow \
                 its shape or were measured on a busy machine; predictions are rough",
                rms_relative_error * 100.0
            ),
            Warning::DuplicateRegion { region } => write!(
                f,
                "region {region} was reported by two nodes (moved during the report?); \
                 kept the one with the higher lease epoch"
            ),
        }
    }
}

impl CapacityReport {
    /// The report as aligned plain-text tables: a summary, the nodes of the plan, then the
    /// regions, then the warnings.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let fit = &self.model.fit;
        let cal = &self.model.calibration;
        let _ = writeln!(
            out,
            "  {} region{} on {} node{} now; recommended: {} node{}, {} region move{}",
            self.totals.regions,
            plural(self.totals.regions),
            self.current.len(),
            plural(self.current.len()),
            self.nodes_needed,
            plural(self.nodes_needed),
            self.moves,
            plural(self.moves),
        );
        let _ = writeln!(
            out,
            "  budget per node: {:.2} ms ({} ms target, {:.0} % headroom)",
            self.budget_ms,
            self.budget.target_tick_ms,
            self.budget.headroom * 100.0
        );
        let _ = writeln!(
            out,
            "  model: {:.3} µs/entity + clients × ({:.3} µs + {:.4} µs × visible); \
             fit error {:.0} % rms, {:.0} % worst over {} bench samples",
            fit.us_per_entity,
            fit.us_per_client,
            fit.us_per_visible,
            fit.rms_relative_error * 100.0,
            fit.max_relative_error * 100.0,
            fit.samples,
        );
        let _ = writeln!(out, "  bench machine: {}", self.model.machine);
        let _ = writeln!(
            out,
            "  calibration: × {:.2} (weighted median of measured / predicted over {} region{})",
            cal.factor,
            cal.regions_used,
            plural(cal.regions_used)
        );
        out.push('\n');
        let mut nodes = Table::new(&[
            "node",
            "",
            "regions now",
            "measured ms",
            "regions",
            "predicted ms",
            "of budget",
        ]);
        let now = |node: &str| {
            self.current
                .iter()
                .find(|c| c.node == node)
                .map(|c| (c.regions.to_string(), format!("{:.2}", c.measured_tick_ms)))
                .unwrap_or_else(|| ("-".to_owned(), "-".to_owned()))
        };
        for n in &self.nodes {
            let (regions_now, measured) = now(&n.node);
            nodes.row(vec![
                n.node.clone(),
                if n.new { "new" } else { "" }.to_owned(),
                regions_now,
                measured,
                n.regions.len().to_string(),
                format!("{:.2}", n.predicted_tick_ms),
                format!("{:.0} %", n.utilisation * 100.0),
            ]);
        }
        for r in &self.released {
            let (regions_now, measured) = now(r);
            nodes.row(vec![
                r.clone(),
                "free".to_owned(),
                regions_now,
                measured,
                "0".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ]);
        }
        out.push_str(&nodes.render());
        out.push('\n');
        let mut regions = Table::new(&[
            "region",
            "now",
            "plan",
            "entities",
            "clients",
            "visible",
            "measured ms",
            "model ms",
            "predicted ms",
        ]);
        for r in &self.regions {
            let plan = if r.planned_node == r.node {
                "=".to_owned()
            } else {
                format!("→ {}", r.planned_node)
            };
            regions.row(vec![
                r.id.clone(),
                r.node.clone(),
                plan,
                r.entities.to_string(),
                r.clients.to_string(),
                format!("{:.1}", r.mean_visible),
                format!("{:.2}", r.measured_tick_ms),
                format!("{:.2}", r.model_tick_ms),
                format!("{:.2}", r.predicted_tick_ms),
            ]);
        }
        let t = &self.totals;
        regions.row(vec![
            "total".to_owned(),
            String::new(),
            String::new(),
            t.entities.to_string(),
            t.clients.to_string(),
            String::new(),
            format!("{:.2}", t.measured_tick_ms),
            format!("{:.2}", t.model_tick_ms),
            format!("{:.2}", t.predicted_tick_ms),
        ]);
        out.push_str(&regions.render());
        if !self.warnings.is_empty() {
            out.push_str("\n  warnings:\n");
            for w in &self.warnings {
                let _ = writeln!(out, "  ! {w}");
            }
        }
        out
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises") + "\n"
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A plain-text table: the first column left-aligned, the others right-aligned, each as wide
/// as its widest cell.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(headers: &[&str]) -> Table {
        Table {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::from(" ");
            for (c, cell) in row.iter().enumerate() {
                let pad = " ".repeat(widths[c] - cell.chars().count());
                line.push(' ');
                if c == 0 {
                    line.push_str(cell);
                    line.push_str(&pad);
                } else {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
                line.push(' ');
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_line_up() {
        let mut t = Table::new(&["name", "ms"]);
        t.row(vec!["a-long-name".into(), "1.25".into()]);
        t.row(vec!["b".into(), "12.50".into()]);
        assert_eq!(
            t.render(),
            "  name            ms\n  a-long-name   1.25\n  b            12.50\n"
        );
    }

    #[test]
    fn warnings_read_well() {
        let w = Warning::RegionOverBudget {
            region: "s:0:0".into(),
            predicted_tick_ms: 30.0,
            budget_ms: 17.5,
            target_tick_ms: 25.0,
        };
        let text = w.to_string();
        assert!(text.contains("s:0:0") && text.contains("30.00 ms") && text.contains("17.50"));
        assert!(text.contains("miss the 25 ms target"), "{text}");
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["kind"], "region_over_budget");
        assert_eq!(
            serde_json::to_value(Warning::Uncalibrated).unwrap()["kind"],
            "uncalibrated"
        );
    }
}
