//! The Plaza server: REST + auth ([`http`], [`auth`]), persistence access ([`state`]),
//! metrics ([`metrics`]), configuration ([`config`]); the WebSocket gateway lives in `ws`.
//!
//! [`app`] builds the whole router from an [`AppState`] (tests call it with `oneshot`
//! and never bind a port); [`serve`] runs it on a listener until [`Shutdown`] is
//! triggered, then runs the shutdown hooks.

pub mod auth;
pub mod bots;
pub mod capacity;
pub mod client;
pub mod cluster;
pub mod config;
pub mod driver;
pub mod http;
pub mod load;
pub mod metrics;
pub mod state;
// The WebSocket gateway (and, next to it, `pub mod driver;` for the tick driver).
pub mod ws;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

pub use state::{AppState, Shutdown, StartError};

/// The whole HTTP application: REST, `/health`/`/ready`/`/metrics`, assets, the web
/// client, and the WebSocket routes of [`ws::router`].
pub fn app(state: AppState) -> Router {
    let router = http::router(&state)
        // WebSocket gateway routes (`/ws`).
        .merge(ws::router());
    http::layers(router, &state).with_state(state)
}

/// Serves [`app`] on `listener` until `state.shutdown` is triggered; then waits for open
/// requests, runs the shutdown hooks (flush positions, …) and closes the database.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    let service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await?;
    tracing::info!("stopped accepting connections; running shutdown hooks");
    state.shutdown.run_hooks().await;
    state.store.close().await;
    Ok(())
}
