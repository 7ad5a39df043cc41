//! `plaza capacity` end to end on fixtures: load report → model → calibration → placement →
//! table and JSON, and the live fetch from nodes' `/api/admin/regions`.
//!
//! Fixtures (`tests/fixtures/capacity/`): `samples.json` is exact for a = 0.2 µs/entity,
//! b = 1 µs/client, c = 0.02 µs/visible; `cluster.json` is a 2-node report whose regions were
//! measured 1.2–1.5× slower than that model, plus one nearly idle outlier at 9×.

use clap::Parser as _;
use net::capacity::{
    Budget, CapacityError, CapacityReport, InputError, TickSamples, Warning, fetch_cluster,
    parse_load_report, plan,
};
use net::config::{Cli, Command};
use net::load::NodeLoad;

const SAMPLES: &str = include_str!("fixtures/capacity/samples.json");
const CLUSTER: &str = include_str!("fixtures/capacity/cluster.json");

fn samples() -> TickSamples {
    TickSamples::parse(SAMPLES).unwrap()
}

fn cluster() -> Vec<NodeLoad> {
    parse_load_report(CLUSTER).unwrap()
}

fn report(target: f64, headroom: f64) -> CapacityReport {
    plan(
        &cluster(),
        &samples(),
        Budget::new(target, headroom).unwrap(),
    )
    .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// (node, regions, predicted ms) per node of the plan.
fn layout(r: &CapacityReport) -> Vec<(String, Vec<String>, f64)> {
    r.nodes
        .iter()
        .map(|n| (n.node.clone(), n.regions.clone(), n.predicted_tick_ms))
        .collect()
}

#[test]
fn defaults_consolidate_the_cluster_on_one_node() {
    let r = report(25.0, 0.3);
    let fit = &r.model.fit;
    assert!(close(fit.us_per_entity, 0.2), "{fit:?}");
    assert!(close(fit.us_per_client, 1.0), "{fit:?}");
    assert!(close(fit.us_per_visible, 0.02), "{fit:?}");
    // Ratios 1.2 (weight 8.8 ms), 1.25, 1.3, 1.5 and the idle outlier's 9: the heavy region
    // holds more than half the weight, so the factor is its 1.2; the outlier does not count.
    assert!(close(r.model.calibration.factor, 1.2));
    assert_eq!(r.model.calibration.regions_used, 5);
    // 14.41 ms of model × 1.2 = 17.292 ms ≤ the 17.5 ms budget: one node.
    assert!(close(r.totals.predicted_tick_ms, 17.292));
    assert!(close(r.budget_ms, 17.5));
    assert_eq!(r.nodes_needed, 1);
    assert_eq!(
        r.nodes[0].node, "node-a",
        "the node that already runs most of the load"
    );
    assert_eq!(r.nodes[0].regions.len(), 5);
    assert!(close(r.nodes[0].utilisation, 17.292 / 17.5));
    assert_eq!(r.released, ["node-b"]);
    assert_eq!(r.moves, 2);
    let now: Vec<(&str, usize)> = r
        .current
        .iter()
        .map(|c| (c.node.as_str(), c.regions))
        .collect();
    assert_eq!(now, [("node-a", 3), ("node-b", 2)]);
    assert!(close(r.current[0].measured_tick_ms, 10.56 + 5.72 + 1.1875));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.totals.entities, 7700);
    assert_eq!(r.totals.clients, 6600);
}

#[test]
fn a_tight_target_splits_the_load_over_two_nodes() {
    // Budget 20 × 0.7 = 14 ms: ceil(17.292 / 14) = 2 nodes; LPT puts the 10.56 ms region
    // alone and the rest (6.732 ms) together.
    let r = report(20.0, 0.3);
    assert_eq!(r.nodes_needed, 2);
    let l = layout(&r);
    assert_eq!(l[0].0, "node-a");
    assert_eq!(l[0].1, ["campus:0:0"]);
    assert!(close(l[0].2, 10.56));
    assert_eq!(l[1].0, "node-b");
    assert_eq!(
        l[1].1,
        ["campus:0:1", "campus:1:0", "campus:1:1", "campus:2:0"]
    );
    assert!(close(l[1].2, 6.732));
    assert!(r.nodes.iter().all(|n| !n.new && n.utilisation <= 1.0));
    // campus:1:0 and campus:0:1 go from node-a to node-b; node-b's own regions stay.
    let moved: Vec<(&str, &str, &str)> = r
        .regions
        .iter()
        .filter(|x| x.node != x.planned_node)
        .map(|x| (x.id.as_str(), x.node.as_str(), x.planned_node.as_str()))
        .collect();
    assert_eq!(
        moved,
        [
            ("campus:0:1", "node-a", "node-b"),
            ("campus:1:0", "node-a", "node-b")
        ]
    );
    assert_eq!(r.moves, 2);
}

#[test]
fn a_region_over_the_budget_gets_a_node_and_a_warning() {
    // Budget 10 ms, no headroom: campus:0:0 (10.56 ms) cannot fit anywhere.
    let r = report(10.0, 0.0);
    assert_eq!(r.nodes_needed, 2);
    let big = r
        .nodes
        .iter()
        .find(|n| n.regions == ["campus:0:0"])
        .expect("alone on a node");
    assert!(big.utilisation > 1.0);
    assert_eq!(r.warnings.len(), 1);
    let Warning::RegionOverBudget {
        region,
        predicted_tick_ms,
        budget_ms,
        target_tick_ms,
    } = &r.warnings[0]
    else {
        panic!("expected an over-budget warning: {:?}", r.warnings);
    };
    assert_eq!(region, "campus:0:0");
    assert!(close(*predicted_tick_ms, 10.56) && close(*budget_ms, 10.0));
    assert_eq!(*target_tick_ms, 10.0);
    let table = r.table();
    assert!(
        table.contains("! region campus:0:0 alone is predicted at 10.56 ms"),
        "{table}"
    );
    // Budget 4 ms: two regions alone over it, the other three (1.452 ms) together: 3 nodes,
    // more than exist now; the new one is named new-1.
    let r = report(4.0, 0.0);
    assert_eq!(r.nodes_needed, 3);
    assert_eq!(r.warnings.len(), 2);
    assert_eq!(r.nodes.iter().filter(|n| n.new).count(), 1);
    assert_eq!(r.nodes[2].node, "new-1");
    assert_eq!(r.nodes[2].regions, ["campus:1:0"]);
}

#[test]
fn same_input_in_any_order_gives_the_same_report() {
    let first = report(20.0, 0.3);
    let mut nodes = cluster();
    nodes.reverse();
    for n in &mut nodes {
        n.regions.reverse();
        n.regions.rotate_left(1);
    }
    let again = plan(&nodes, &samples(), Budget::new(20.0, 0.3).unwrap()).unwrap();
    assert_eq!(again, first);
    assert_eq!(again.to_json(), first.to_json());
    assert_eq!(again.table(), first.table());
}

#[test]
fn table_lists_nodes_then_regions() {
    let table = report(20.0, 0.3).table();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("5 regions on 2 nodes now; recommended: 2 nodes, 2 region moves"),
        "{table}"
    );
    assert!(
        lines[1].contains("14.00 ms (20 ms target, 30 % headroom)"),
        "{table}"
    );
    assert!(lines[2].contains("0.200 µs/entity + clients × (1.000 µs + 0.0200 µs × visible)"));
    assert!(lines[3].contains("bench machine: test fixture"), "{table}");
    assert!(lines[4].contains("× 1.20"), "{table}");
    let header = lines
        .iter()
        .position(|l| l.trim_start().starts_with("node"))
        .unwrap();
    assert!(lines[header + 1].trim_start().starts_with("node-a"));
    // node-a: 3 regions and 17.47 ms now; 1 region and 10.56 ms (75 % of 14 ms) planned.
    let cells: Vec<&str> = lines[header + 1].split_whitespace().collect();
    assert_eq!(cells.len(), 7, "{table}");
    assert_eq!(cells[..2], ["node-a", "3"], "{table}");
    assert!(
        (cells[2].parse::<f64>().unwrap() - 17.4675).abs() <= 0.005,
        "{table}"
    );
    assert_eq!(cells[3..], ["1", "10.56", "75", "%"], "{table}");
    assert!(lines[header + 2].trim_start().starts_with("node-b"));
    let regions = lines
        .iter()
        .position(|l| l.trim_start().starts_with("region"))
        .unwrap();
    // Right-aligned numeric columns: every region row ends at the header's end.
    let width = lines[regions].chars().count();
    for row in &lines[regions + 1..regions + 7] {
        assert_eq!(row.chars().count(), width, "{table}");
    }
    assert!(lines[regions + 1].contains("campus:0:0"));
    assert!(lines[regions + 1].contains(" = "), "stays: {table}");
    assert!(lines[regions + 2].contains("→ node-b"), "moves: {table}");
    assert!(lines[regions + 6].trim_start().starts_with("total"));
}

#[test]
fn json_report_has_the_plan() {
    let r = report(20.0, 0.3);
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["nodes_needed"], 2);
    assert_eq!(json["budget"]["target_tick_ms"], 20.0);
    assert_eq!(json["budget"]["headroom"], 0.3);
    assert_eq!(json["nodes"][0]["node"], "node-a");
    assert_eq!(json["nodes"][0]["regions"][0], "campus:0:0");
    assert_eq!(json["nodes"][1]["new"], false);
    assert_eq!(json["regions"].as_array().unwrap().len(), 5);
    assert_eq!(json["regions"][1]["planned_node"], "node-b");
    assert_eq!(json["model"]["calibration"]["regions_used"], 5);
    assert!(json["model"]["fit"]["us_per_entity"].as_f64().unwrap() > 0.19);
    assert_eq!(json["warnings"].as_array().unwrap().len(), 0);
    assert_eq!(json["moves"], 2);
}

#[test]
fn empty_or_unfittable_input_is_a_typed_error() {
    let empty = parse_load_report(r#"{"nodes": [{"node": "a", "regions": []}]}"#).unwrap();
    let budget = Budget::new(25.0, 0.3).unwrap();
    assert!(matches!(
        plan(&empty, &samples(), budget),
        Err(CapacityError::Input(InputError::Empty))
    ));
    let mut few = samples();
    few.samples.truncate(2);
    let err = plan(&cluster(), &few, budget).unwrap_err();
    assert!(err.to_string().contains("at least 3"), "{err}");
}

#[test]
fn a_poor_model_fit_is_a_warning() {
    // The fixture's samples with some ticks five times as long: no linear model fits.
    let mut noisy = samples();
    for i in [0, 3, 5, 6, 9] {
        noisy.samples[i].tick_ms *= 5.0;
    }
    let r = plan(&cluster(), &noisy, Budget::new(25.0, 0.3).unwrap()).unwrap();
    assert!(r.model.fit.rms_relative_error > 0.25, "{:?}", r.model.fit);
    assert!(
        matches!(r.warnings[..], [Warning::PoorFit { rms_relative_error }]
            if rms_relative_error == r.model.fit.rms_relative_error),
        "{:?}",
        r.warnings
    );
    assert!(
        r.table()
            .contains("! the cost model misses the bench samples by")
    );
}

#[test]
fn cli_parses_capacity() {
    let cli = Cli::try_parse_from([
        "plaza",
        "capacity",
        "--report",
        "load.json",
        "--target-tick-ms",
        "30",
        "--json",
        "out.json",
    ])
    .unwrap();
    let Command::Capacity(args) = cli.command else {
        panic!("expected capacity");
    };
    assert_eq!(args.report.unwrap().to_str(), Some("load.json"));
    assert_eq!(args.target_tick_ms, 30.0);
    assert_eq!(args.headroom, 0.3);
    assert!(args.samples.is_none());
    let cli = Cli::try_parse_from([
        "plaza",
        "capacity",
        "--from",
        "http://a:8080",
        "--from",
        "http://b:8080",
        "--token",
        "t",
    ])
    .unwrap();
    let Command::Capacity(args) = cli.command else {
        panic!("expected capacity");
    };
    assert_eq!(args.from, ["http://a:8080", "http://b:8080"]);
    // One source, exactly.
    assert!(Cli::try_parse_from(["plaza", "capacity"]).is_err());
    assert!(
        Cli::try_parse_from([
            "plaza", "capacity", "--report", "x", "--from", "http://a", "--token", "t"
        ])
        .is_err()
    );
}

/// Serves the fixture's nodes at `/n/{i}/api/admin/regions` on 127.0.0.1, answering only to
/// `Bearer secret-token`; returns the base URL.
async fn fake_nodes(nodes: Vec<NodeLoad>) -> String {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};

    async fn regions(
        State(nodes): State<Vec<NodeLoad>>,
        Path(i): Path<usize>,
        headers: HeaderMap,
    ) -> Response {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some("Bearer secret-token") {
            return (StatusCode::UNAUTHORIZED, "{\"error\": \"missing_token\"}").into_response();
        }
        match nodes.get(i) {
            Some(n) => axum::Json(n.clone()).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = axum::Router::new()
        .route("/n/{i}/api/admin/regions", axum::routing::get(regions))
        .with_state(nodes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn live_fetch_from_nodes_gives_the_same_plan_as_the_file() {
    let base = fake_nodes(cluster()).await;
    let urls = vec![format!("{base}/n/0"), format!("{base}/n/1/")];
    let fetched = fetch_cluster(&urls, "secret-token").await.unwrap();
    assert_eq!(fetched, cluster());
    let budget = Budget::new(20.0, 0.3).unwrap();
    assert_eq!(
        plan(&fetched, &samples(), budget).unwrap(),
        report(20.0, 0.3)
    );

    let err = fetch_cluster(&urls, "wrong").await.unwrap_err();
    assert!(
        matches!(&err, InputError::Status { status, body, .. }
            if status.as_u16() == 401 && body.contains("missing_token")),
        "{err}"
    );
    let err = fetch_cluster(&[format!("{base}/n/7")], "secret-token")
        .await
        .unwrap_err();
    assert!(matches!(err, InputError::Status { .. }), "{err}");
    // Nothing listens on a port that was just released.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = fetch_cluster(&[format!("http://{closed}")], "secret-token")
        .await
        .unwrap_err();
    assert!(matches!(err, InputError::Request { .. }), "{err}");
}
