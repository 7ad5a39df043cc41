//! The bot swarm (`plaza bots`) against an in-process server on an ephemeral port.

mod common;

use std::time::Duration;

use net::bots::{Behaviour, BotsConfig, BotsError};
use serde_json::json;

/// Serves `app` on 127.0.0.1:0; returns the base URL and the server task.
async fn serve(app: &common::TestApp) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(net::serve(listener, app.state.clone()));
    (format!("http://{addr}"), server)
}

async fn stop(app: &common::TestApp, server: tokio::task::JoinHandle<std::io::Result<()>>) {
    app.state.shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops")
        .expect("server task")
        .expect("server ends cleanly");
}

/// Runs a swarm off the runtime's threads; prints its report.
async fn run(config: BotsConfig) -> net::bots::BotsReport {
    let report = tokio::task::spawn_blocking(move || net::bots::run(config))
        .await
        .unwrap()
        .expect("bot run");
    println!("{}", report.table());
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_bots_run_clean_and_report() {
    let app = common::TestApp::new().await;
    let (url, server) = serve(&app).await;
    let config = BotsConfig {
        count: 20,
        duration: Duration::from_secs(5),
        ramp: Some(Duration::from_secs(1)),
        behaviour: Behaviour::Cluster,
        chat_per_minute: 30.0,
        input_interval: Duration::from_millis(200),
        ..BotsConfig::new(&url)
    };
    let report = run(config).await;

    assert_eq!(
        report.protocol_errors, 0,
        "{:?}",
        report.protocol_error_samples
    );
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    assert_eq!(report.connected, 20);
    assert_eq!(report.connected_at_end, 20);
    assert!(report.is_clean());
    assert_eq!(report.tick_hz, 20);
    // ~5 inputs/s × 20 bots × 5 s, all echoed.
    let l = &report.latency_ms;
    assert!(l.samples >= 200, "{l:?}");
    assert!(l.p50 > 0.0 && l.p50 <= l.p99 && l.p99 <= l.max, "{l:?}");
    assert_eq!(l.unechoed, 0, "{l:?}");
    let r = &report.per_client_per_second;
    assert!(
        r.snapshots > 1.0 && r.bytes_in > 0.0 && r.messages_out > 0.0,
        "{r:?}"
    );
    assert!(report.totals.chat_out > 0 && report.totals.chat_in > 0);
    assert!(r.tiles_moved > 0.5, "the bots walk: {r:?}");
    assert!(report.bot_process.cpu_seconds > 0.0);
    let server_cost = report
        .server
        .as_ref()
        .expect("server figures from /metrics");
    assert!(server_cost.ticks >= 80.0, "{server_cost:?}");
    assert!(
        (server_cost.mean_clients - 20.0).abs() < 1.0,
        "{server_cost:?}"
    );
    assert!(server_cost.cpu_us_per_client_tick.is_some_and(|c| c > 0.0));

    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "connected",
        "connected_at_end",
        "errors",
        "protocol_errors",
        "latency_ms",
        "per_client_per_second",
        "bot_process",
        "server",
    ] {
        assert!(json.get(key).is_some(), "no {key} in {json}");
    }
    for key in ["p50", "p99", "max"] {
        assert!(json["latency_ms"][key].is_number(), "{key}");
    }
    for key in ["bytes_in", "bytes_out", "messages_in", "messages_out"] {
        assert!(json["per_client_per_second"][key].is_number(), "{key}");
    }
    assert!(json["server"]["cpu_us_per_client_tick"].is_number());
    assert!(json["bot_process"]["cpu_seconds"].is_number());
    assert_eq!(json["behaviour"], "cluster");

    stop(&app, server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn space_size_follows_max_players_limit() {
    let app = common::TestApp::with(|c| c.max_players_limit = 10).await;
    let (url, server) = serve(&app).await;
    let config = BotsConfig {
        count: 11,
        duration: Duration::from_secs(1),
        ..BotsConfig::new(&url)
    };
    let err = tokio::task::spawn_blocking(move || net::bots::run(config))
        .await
        .unwrap()
        .expect_err("11 players exceed the limit");
    assert!(
        matches!(&err, BotsError::Setup(m) if m.contains("--max-players-limit")),
        "{err}"
    );
    stop(&app, server).await;

    let big = common::TestApp::with(|c| c.max_players_limit = 5000).await;
    let (token, _) = big.guest("host").await;
    let r = big
        .post(
            "/api/spaces",
            Some(&token),
            json!({ "name": "load", "map": "campus", "max_players": 5000 }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    assert_eq!(r.json["max_players"], 5000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_spread_over_many_small_spaces() {
    let app = common::TestApp::new().await;
    let (url, server) = serve(&app).await;
    let config = BotsConfig {
        count: 12,
        spaces: 4,
        duration: Duration::from_secs(3),
        ramp: Some(Duration::from_secs(1)),
        chat_per_minute: 0.0,
        map: net::bots::BotMap::Office,
        ..BotsConfig::new(&url)
    };
    let report = run(config).await;
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!((report.spaces, report.connected), (4, 12));
    // Four spaces of three, each loaded and ticking on the node's tick workers.
    assert_eq!(app.state.spaces.loaded(), 4);
    let server_cost = report.server.as_ref().expect("server figures");
    // Ticks are summed over the four spaces; clients are counted in each.
    assert!(server_cost.ticks >= 4.0 * 40.0, "{server_cost:?}");
    assert!(
        (server_cost.mean_clients - 3.0).abs() < 0.5,
        "clients per space-tick: {server_cost:?}"
    );
    stop(&app, server).await;
}
