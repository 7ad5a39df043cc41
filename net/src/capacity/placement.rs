//! Region → node placement: how many nodes a set of regions needs and where each goes.
//!
//! A region cannot be split: it runs on one node. A node's predicted tick time is the sum of
//! its regions' predicted times. That holds for regions of one space, which share one tick
//! thread (the sim step is one loop over the space's entities, so its cost divides by entity
//! count, which is how the nodes report each region's share); regions of different spaces
//! tick on their own threads and may overlap on a multi-core node, so for them the sum is an
//! upper bound: the CPU time the node spends per tick. A node's fixed per-tick overhead (timer,
//! bus) is not modelled.
//!
//! The algorithm is deterministic, whatever the order of its input:
//! 1. nodes: the lower bound is one node per region over the budget plus
//!    `ceil(rest / budget)` for the others (at least 1);
//! 2. LPT (longest processing time first): regions by descending cost, ties by id; each goes
//!    to the least-loaded node, ties to the node with fewer regions, then the lower index;
//! 3. if a node holding more than one region ends over the budget, try again with one node
//!    more (at worst one node per region);
//! 4. naming: the nodes of the plan are interchangeable, so they are matched to the current
//!    nodes to keep as much of the load where it already runs (greedy: the pair sharing the
//!    most predicted cost first, then the most regions, then by index and name); unused
//!    current nodes take the remaining places; nodes still unnamed are new (`new-1`, …).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Relative slack on budget comparisons, so that float rounding never adds a node.
const EPS: f64 = 1e-9;

/// The per-node budget: the target tick time minus the headroom.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Budget {
    /// Target tick time per node, in milliseconds.
    pub target_tick_ms: f64,
    /// Share of the target kept free (0 ≤ headroom < 1).
    pub headroom: f64,
}

impl Budget {
    /// A budget of `target_tick_ms × (1 − headroom)` per node.
    pub fn new(target_tick_ms: f64, headroom: f64) -> Result<Budget, PlacementError> {
        if !target_tick_ms.is_finite() || target_tick_ms <= 0.0 {
            return Err(PlacementError::InvalidTarget(target_tick_ms));
        }
        if !headroom.is_finite() || !(0.0..1.0).contains(&headroom) {
            return Err(PlacementError::InvalidHeadroom(headroom));
        }
        Ok(Budget {
            target_tick_ms,
            headroom,
        })
    }

    /// Usable tick time per node, in milliseconds.
    pub fn usable_ms(&self) -> f64 {
        self.target_tick_ms * (1.0 - self.headroom)
    }
}

/// Errors of the placement.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlacementError {
    /// The target tick time is not a positive number.
    #[error("--target-tick-ms must be a positive number of milliseconds, not {0}")]
    InvalidTarget(f64),
    /// The headroom is outside `0 ≤ h < 1`.
    #[error("--headroom must be in 0 ≤ h < 1 (a share of the target kept free), not {0}")]
    InvalidHeadroom(f64),
    /// A region's cost is negative or not finite.
    #[error("region {0}: predicted cost must be a finite number >= 0")]
    InvalidCost(String),
    /// Nothing to place.
    #[error("no regions to place")]
    NoRegions,
}

/// A region to place.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Region id.
    pub id: String,
    /// Predicted tick time, in milliseconds.
    pub cost_ms: f64,
    /// The node that owns the region now.
    pub current: String,
}

/// One node of the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodePlan {
    /// A current node's id, or `new-N`.
    pub node: String,
    /// Whether the node does not exist yet.
    pub new: bool,
    /// Its regions, by id.
    pub regions: Vec<String>,
    /// Predicted tick time: the sum of its regions', in milliseconds.
    pub predicted_tick_ms: f64,
    /// `predicted_tick_ms` / the usable budget (1.0 = the budget is used up).
    pub utilisation: f64,
}

/// A region that alone needs more than a node's budget.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Oversized {
    /// Region id.
    pub region: String,
    /// Its predicted tick time, in milliseconds.
    pub predicted_tick_ms: f64,
}

/// The result of [`place`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Placement {
    /// The nodes of the plan: current nodes by id, then new ones.
    pub nodes: Vec<NodePlan>,
    /// Region id → node of the plan.
    pub assignment: BTreeMap<String, String>,
    /// Current nodes the plan leaves empty.
    pub released: Vec<String>,
    /// Regions over the budget on their own (each gets a node to itself).
    pub oversized: Vec<Oversized>,
}

/// Places `items` on as few nodes as the budget allows; `current_nodes` are the nodes that
/// exist now (with or without regions). See the module doc for the algorithm.
pub fn place(
    items: &[Item],
    current_nodes: &[String],
    budget: Budget,
) -> Result<Placement, PlacementError> {
    if items.is_empty() {
        return Err(PlacementError::NoRegions);
    }
    if let Some(bad) = items
        .iter()
        .find(|i| !i.cost_ms.is_finite() || i.cost_ms < 0.0)
    {
        return Err(PlacementError::InvalidCost(bad.id.clone()));
    }
    let limit = budget.usable_ms() * (1.0 + EPS);
    let mut order: Vec<&Item> = items.iter().collect();
    order.sort_by(|a, b| {
        b.cost_ms
            .total_cmp(&a.cost_ms)
            .then_with(|| a.id.cmp(&b.id))
    });
    let oversized: Vec<Oversized> = order
        .iter()
        .filter(|i| i.cost_ms > limit)
        .map(|i| Oversized {
            region: i.id.clone(),
            predicted_tick_ms: i.cost_ms,
        })
        .collect();
    // At worst one node per region, which always fits.
    let bins = (min_nodes(&order, budget.usable_ms())..order.len())
        .map(|n| lpt(&order, n))
        .find(|bins| bins.iter().all(|b| b.items.len() <= 1 || b.load <= limit))
        .unwrap_or_else(|| lpt(&order, order.len()));
    let (names, released) = name_bins(&bins, current_nodes);
    let mut assignment = BTreeMap::new();
    let mut nodes: Vec<NodePlan> = bins
        .iter()
        .zip(&names)
        .map(|(bin, (name, new))| {
            let mut regions: Vec<String> = bin.items.iter().map(|i| i.id.clone()).collect();
            regions.sort();
            for r in &regions {
                assignment.insert(r.clone(), name.clone());
            }
            NodePlan {
                node: name.clone(),
                new: *new,
                regions,
                predicted_tick_ms: bin.load,
                utilisation: bin.load / budget.usable_ms(),
            }
        })
        .collect();
    nodes.sort_by(|a, b| a.new.cmp(&b.new).then_with(|| natural(&a.node, &b.node)));
    Ok(Placement {
        nodes,
        assignment,
        released,
        oversized,
    })
}

/// The least number of nodes that could hold `items` (sorted by descending cost): one per
/// region over the budget, plus enough for the rest at full use.
fn min_nodes(items: &[&Item], budget_ms: f64) -> usize {
    let limit = budget_ms * (1.0 + EPS);
    let over = items.iter().filter(|i| i.cost_ms > limit).count();
    let rest: f64 = items
        .iter()
        .filter(|i| i.cost_ms <= limit)
        .map(|i| i.cost_ms)
        .sum();
    let rest_nodes = (rest / budget_ms - EPS).ceil().max(0.0) as usize;
    (over + rest_nodes).clamp(1, items.len())
}

/// One node of a tentative plan.
#[derive(Debug)]
struct Bin<'a> {
    items: Vec<&'a Item>,
    load: f64,
}

/// Longest processing time first onto `n` nodes (`items` sorted by descending cost, id).
fn lpt<'a>(items: &[&'a Item], n: usize) -> Vec<Bin<'a>> {
    let mut bins: Vec<Bin<'a>> = (0..n)
        .map(|_| Bin {
            items: Vec::new(),
            load: 0.0,
        })
        .collect();
    for item in items {
        let target = bins
            .iter_mut()
            .min_by(|a, b| {
                a.load
                    .total_cmp(&b.load)
                    .then_with(|| a.items.len().cmp(&b.items.len()))
            })
            .expect("at least one node");
        target.load += item.cost_ms;
        target.items.push(item);
    }
    bins
}

/// What naming a node of the plan after a current node keeps in place.
#[derive(Debug, Default)]
struct Kept {
    /// Predicted cost of the regions that stay.
    cost_ms: f64,
    /// Regions that stay.
    regions: usize,
}

/// Names each bin after a current node where possible (see the module doc); returns the
/// names (with whether each is new) and the current nodes left without regions.
fn name_bins(bins: &[Bin<'_>], current_nodes: &[String]) -> (Vec<(String, bool)>, Vec<String>) {
    let mut existing: BTreeSet<&str> = current_nodes.iter().map(String::as_str).collect();
    existing.extend(
        bins.iter()
            .flat_map(|b| b.items.iter().map(|i| i.current.as_str())),
    );
    let mut overlap: BTreeMap<(usize, &str), Kept> = BTreeMap::new();
    for (b, bin) in bins.iter().enumerate() {
        for item in &bin.items {
            let kept = overlap.entry((b, item.current.as_str())).or_default();
            kept.cost_ms += item.cost_ms;
            kept.regions += 1;
        }
    }
    let mut pairs: Vec<_> = overlap.into_iter().collect();
    pairs.sort_by(|((b1, n1), k1), ((b2, n2), k2)| {
        k2.cost_ms
            .total_cmp(&k1.cost_ms)
            .then_with(|| k2.regions.cmp(&k1.regions))
            .then_with(|| b1.cmp(b2))
            .then_with(|| n1.cmp(n2))
    });
    let mut names: Vec<Option<(String, bool)>> = vec![None; bins.len()];
    let mut free: BTreeSet<&str> = existing.clone();
    for ((b, node), _) in pairs {
        if names[b].is_none() && free.remove(node) {
            names[b] = Some((node.to_owned(), false));
        }
    }
    let mut spare = free.iter().copied().collect::<Vec<_>>().into_iter();
    let mut fresh = (1..)
        .map(|k| format!("new-{k}"))
        .filter(|n| !existing.contains(n.as_str()));
    let names = names
        .into_iter()
        .map(|name| {
            name.or_else(|| spare.next().map(|n| (n.to_owned(), false)))
                .unwrap_or_else(|| (fresh.next().expect("endless names"), true))
        })
        .collect();
    (names, spare.map(str::to_owned).collect())
}

/// Orders `node-2` before `node-10`: by the text with its digit runs compared as numbers.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(s: &str) -> Vec<(String, u128)> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                let mut digits = c.to_string();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                out.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u128::MAX),
                ));
            } else {
                text.push(c);
            }
        }
        out.push((text, 0));
        out
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, cost_ms: f64, current: &str) -> Item {
        Item {
            id: id.into(),
            cost_ms,
            current: current.into(),
        }
    }

    fn budget(target: f64, headroom: f64) -> Budget {
        Budget::new(target, headroom).unwrap()
    }

    /// Per node of the plan: (regions, load), in node order.
    fn shape(p: &Placement) -> Vec<(Vec<String>, f64)> {
        p.nodes
            .iter()
            .map(|n| (n.regions.clone(), n.predicted_tick_ms))
            .collect()
    }

    #[test]
    fn budget_and_its_errors() {
        assert!((budget(25.0, 0.3).usable_ms() - 17.5).abs() < 1e-12);
        assert_eq!(budget(25.0, 0.0).usable_ms(), 25.0);
        assert_eq!(
            Budget::new(25.0, 1.0),
            Err(PlacementError::InvalidHeadroom(1.0))
        );
        assert_eq!(
            Budget::new(25.0, -0.1),
            Err(PlacementError::InvalidHeadroom(-0.1))
        );
        assert_eq!(
            Budget::new(0.0, 0.3),
            Err(PlacementError::InvalidTarget(0.0))
        );
        assert!(Budget::new(f64::NAN, 0.3).is_err());
        assert!(Budget::new(25.0, f64::INFINITY).is_err());
    }

    #[test]
    fn node_count_is_ceil_of_total_over_budget() {
        let b = budget(10.0, 0.0);
        let n = |costs: &[f64]| {
            let items: Vec<Item> = costs
                .iter()
                .enumerate()
                .map(|(i, &c)| item(&format!("r{i:02}"), c, "a"))
                .collect();
            place(&items, &[], b).unwrap().nodes.len()
        };
        assert_eq!(n(&[0.0]), 1);
        assert_eq!(n(&[0.0, 0.0, 0.0]), 1);
        assert_eq!(n(&[10.0]), 1);
        assert_eq!(n(&[5.0, 5.0]), 1, "exactly at the budget");
        // 0.1 × 100 adds up to 9.99999…: still one node.
        assert_eq!(n(&[0.1; 100]), 1);
        assert_eq!(n(&[5.0, 5.0, 0.001]), 2, "just over the budget");
        // Bin packing can need more than ceil(total / budget): two 4 ms regions per 10 ms
        // node make 5 nodes, not 4; 6+6+6 needs 3, not 2.
        assert_eq!(n(&[4.0; 10]), 5);
        assert_eq!(n(&[6.0, 6.0, 6.0]), 3);
    }

    #[test]
    fn headroom_shrinks_the_budget() {
        let items: Vec<Item> = (0..8).map(|i| item(&format!("r{i}"), 5.0, "a")).collect();
        // 40 ms: budget 25 → 2 nodes; 17.5 → 3; 12.5 → 4 (two regions each); 2.5 → 8.
        let nodes = |h| place(&items, &[], budget(25.0, h)).unwrap().nodes.len();
        assert_eq!(nodes(0.0), 2);
        assert_eq!(nodes(0.3), 3);
        assert_eq!(nodes(0.5), 4);
        assert_eq!(
            nodes(0.9),
            8,
            "budget 2.5 ms < 5 ms: every region alone, all oversized"
        );
        let p = place(&items, &[], budget(25.0, 0.9)).unwrap();
        assert_eq!(p.oversized.len(), 8);
    }

    #[test]
    fn uneven_regions_huge_one_alone() {
        // One region of 30 ms (over the 17.5 ms budget) and twelve of 2 ms.
        let mut items = vec![item("s:0:0", 30.0, "a")];
        for i in 1..=12 {
            items.push(item(&format!("s:{i}:0"), 2.0, "a"));
        }
        let p = place(&items, &["a".to_owned()], budget(25.0, 0.3)).unwrap();
        // 1 node for the huge one + ceil(24 / 17.5) = 2 for the rest.
        assert_eq!(p.nodes.len(), 3);
        let huge = p
            .nodes
            .iter()
            .find(|n| n.regions.contains(&"s:0:0".into()))
            .unwrap();
        assert_eq!(huge.regions, vec!["s:0:0".to_owned()], "alone on its node");
        assert!(huge.utilisation > 1.0);
        assert_eq!(
            p.oversized,
            vec![Oversized {
                region: "s:0:0".into(),
                predicted_tick_ms: 30.0
            }]
        );
        // The small ones are balanced: 12 ms each.
        let mut others: Vec<f64> = p
            .nodes
            .iter()
            .filter(|n| n.node != huge.node)
            .map(|n| n.predicted_tick_ms)
            .collect();
        others.sort_by(f64::total_cmp);
        assert_eq!(others, vec![12.0, 12.0]);
        // The current node keeps the most load: the huge region stays on "a".
        assert_eq!(huge.node, "a");
        assert!(!huge.new);
        assert_eq!(p.nodes.iter().filter(|n| n.new).count(), 2);
        assert!(p.released.is_empty());
    }

    #[test]
    fn lpt_balances_uneven_regions() {
        let costs = [9.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 2.0, 1.0, 1.0];
        let items: Vec<Item> = costs
            .iter()
            .enumerate()
            .map(|(i, &c)| item(&format!("r{i}"), c, "a"))
            .collect();
        // 40 ms on budget 14 → 3 nodes; LPT: 9+3+1+1 / 7+4+2 / 6+5+2 → 14, 13, 13.
        let p = place(&items, &[], budget(14.0, 0.0)).unwrap();
        let mut loads: Vec<f64> = p.nodes.iter().map(|n| n.predicted_tick_ms).collect();
        loads.sort_by(f64::total_cmp);
        assert_eq!(loads, vec![13.0, 13.0, 14.0]);
        assert!(p.oversized.is_empty());
        assert_eq!(p.assignment.len(), 10);
    }

    #[test]
    fn placement_is_deterministic_and_order_independent() {
        let mut items: Vec<Item> = (0..40)
            .map(|i| {
                // Uneven costs with ties (ids break them).
                let cost = [0.5, 3.0, 3.0, 8.0, 1.25][i % 5] * (1 + i % 3) as f64;
                item(&format!("s:{}:{}", i % 8, i / 8), cost, ["n1", "n2"][i % 2])
            })
            .collect();
        let nodes = vec!["n1".to_owned(), "n2".to_owned(), "n3".to_owned()];
        let first = place(&items, &nodes, budget(25.0, 0.3)).unwrap();
        assert_eq!(place(&items, &nodes, budget(25.0, 0.3)).unwrap(), first);
        // Reverse and a fixed shuffle of the input, and of the node list.
        items.reverse();
        let mut rev_nodes = nodes.clone();
        rev_nodes.reverse();
        assert_eq!(place(&items, &rev_nodes, budget(25.0, 0.3)).unwrap(), first);
        let mut shuffled = Vec::new();
        for k in 0..items.len() {
            shuffled.push(items[(k * 17) % items.len()].clone());
        }
        assert_eq!(place(&shuffled, &nodes, budget(25.0, 0.3)).unwrap(), first);
        // Every region is placed once; loads add up.
        let total: f64 = shuffled.iter().map(|i| i.cost_ms).sum();
        let placed: f64 = first.nodes.iter().map(|n| n.predicted_tick_ms).sum();
        assert!((total - placed).abs() < 1e-9);
        assert_eq!(first.assignment.len(), 40);
        assert!(
            first
                .nodes
                .iter()
                .all(|n| n.regions.len() == 1 || n.utilisation <= 1.0 + 1e-9)
        );
        assert_eq!(first.oversized.len(), 3, "the 24 ms regions exceed 17.5 ms");
    }

    #[test]
    fn regions_stay_on_their_nodes_when_balance_allows() {
        // Already balanced on two nodes: nothing moves, nothing new.
        let items = vec![
            item("r1", 10.0, "beta"),
            item("r2", 10.0, "alpha"),
            item("r3", 4.0, "beta"),
            item("r4", 4.0, "alpha"),
        ];
        let p = place(&items, &["alpha".into(), "beta".into()], budget(25.0, 0.3)).unwrap();
        assert_eq!(
            shape(&p),
            vec![
                (vec!["r2".to_owned(), "r4".to_owned()], 14.0),
                (vec!["r1".to_owned(), "r3".to_owned()], 14.0),
            ]
        );
        assert_eq!(p.nodes[0].node, "alpha");
        assert_eq!(p.nodes[1].node, "beta");
        assert!(items.iter().all(|i| p.assignment[&i.id] == i.current));
    }

    #[test]
    fn spare_current_nodes_are_used_then_released() {
        let items = vec![item("r1", 10.0, "n1"), item("r2", 10.0, "n1")];
        let current = vec!["n1".to_owned(), "n2".to_owned(), "n3".to_owned()];
        // Needs two nodes: n1 keeps r1, the idle n2 takes r2, n3 is released.
        let p = place(&items, &current, budget(25.0, 0.3)).unwrap();
        let names: Vec<&str> = p.nodes.iter().map(|n| n.node.as_str()).collect();
        assert_eq!(names, ["n1", "n2"]);
        assert_eq!(p.released, vec!["n3".to_owned()]);
        assert!(p.nodes.iter().all(|n| !n.new));
        // New nodes never take a current node's name.
        let items = vec![item("r1", 10.0, "new-1"), item("r2", 10.0, "new-1")];
        let p = place(&items, &[], budget(10.0, 0.0)).unwrap();
        let names: Vec<&str> = p.nodes.iter().map(|n| n.node.as_str()).collect();
        assert_eq!(names, ["new-1", "new-2"]);
    }

    #[test]
    fn bad_input_is_an_error() {
        let b = budget(25.0, 0.3);
        assert_eq!(place(&[], &[], b), Err(PlacementError::NoRegions));
        assert_eq!(
            place(&[item("x", f64::NAN, "a")], &[], b),
            Err(PlacementError::InvalidCost("x".into()))
        );
        assert_eq!(
            place(&[item("x", -1.0, "a")], &[], b),
            Err(PlacementError::InvalidCost("x".into()))
        );
    }

    #[test]
    fn natural_order_of_node_names() {
        let mut names = vec!["node-10", "node-2", "node-1", "alpha", "node-2b"];
        names.sort_by(|a, b| natural(a, b));
        assert_eq!(names, ["alpha", "node-1", "node-2", "node-2b", "node-10"]);
    }
}
