//! `GET /api/admin/regions`: the admin role, and the loads published on the node's board.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use net::load::{NodeLoad, RegionLoad};
use persistence::Role;

fn region(space: &str, col: u16, clients: u64) -> RegionLoad {
    RegionLoad {
        id: RegionLoad::region_id(space, col, 0),
        space: space.to_owned(),
        col,
        row: 0,
        node: "node-test".to_owned(),
        epoch: 3,
        entities: clients + 2,
        clients,
        tick_ms_p50: 0.25,
        tick_ms_p99: 1.5,
        bytes_out_per_s: 20_000.0,
        mean_visible: 48.5,
        handoffs_per_s: 0.5,
        ticks_per_s: 20.0,
    }
}

/// A token of a guest promoted to admin.
async fn admin_token(app: &TestApp) -> String {
    let (token, _) = app.guest("Root").await;
    let id = app.state.auth.verify(&token).unwrap().account;
    let admin = app.state.store.set_role(id, Role::Admin).await.unwrap();
    app.state.auth.issue(&admin).unwrap()
}

#[tokio::test]
async fn regions_need_an_admin() {
    let app = TestApp::new().await;
    let r = app.get("/api/admin/regions", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.json);
    let r = app.get("/api/admin/regions", Some("not-a-token")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.json);
    let (guest, _) = app.guest("Ada").await;
    let r = app.get("/api/admin/regions", Some(&guest)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
}

#[tokio::test]
async fn regions_lists_the_published_loads() {
    let app = TestApp::new().await;
    let admin = admin_token(&app).await;

    let r = app.get("/api/admin/regions", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let empty: NodeLoad = serde_json::from_value(r.json).unwrap();
    assert_eq!(empty.node, app.state.node_id);
    assert!(empty.regions.is_empty());

    // Published out of order, one region twice: the latest of each, by id.
    app.state.load.publish(region("b", 1, 4));
    app.state.load.publish(region("a", 0, 9));
    app.state.load.publish(region("b", 1, 7));
    let r = app.get("/api/admin/regions", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let node: NodeLoad = serde_json::from_value(r.json).unwrap();
    assert_eq!(node.node, app.state.node_id);
    assert_eq!(node.regions, [region("a", 0, 9), region("b", 1, 7)]);

    // The same figures are in /metrics, and go once the region is removed.
    let text = app.get("/metrics", None).await.text();
    assert!(
        text.contains("plaza_region_clients{space=\"b\",region=\"1,0\"} 7"),
        "{text}"
    );
    assert!(
        text.contains("plaza_region_mean_visible{space=\"a\",region=\"0,0\"} 48.5"),
        "{text}"
    );
    app.state.load.remove("b:1:0");
    let r = app.get("/api/admin/regions", Some(&admin)).await;
    let node: NodeLoad = serde_json::from_value(r.json).unwrap();
    assert_eq!(node.regions, [region("a", 0, 9)]);
    let text = app.get("/metrics", None).await.text();
    assert!(!text.contains("space=\"b\""), "{text}");
}
