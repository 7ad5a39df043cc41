//! `GET /api/spaces/{id}/route`: which node a player should connect to.
//!
//! On a single node the answer is always this node. In a cluster it is the node serving the
//! player's avatar if it is live somewhere, else the owner of the region of the player's
//! last saved tile (or of the map's first spawn point for a newcomer). The call also marks
//! the space as in use, so that nodes claim its regions; it waits up to [`ROUTE_WAIT`] for
//! an owner and answers 503 when there is none yet (a takeover is under way: retry).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use glam::IVec2;
use serde::{Deserialize, Serialize};

use crate::cluster::RegionKey;
use crate::http::error::ApiError;
use crate::http::extract::AuthUser;
use crate::http::spaces::find;
use crate::state::AppState;

/// How long a route request waits for a region to get an owner.
pub const ROUTE_WAIT: Duration = Duration::from_secs(5);

/// Answer of `GET /api/spaces/{id}/route`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The node's id.
    pub node: String,
    /// Its base URL: connect to `{url}/ws?space={id}`.
    pub url: String,
    /// The region the player is in (`space:col:row`).
    pub region: String,
}

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/spaces/{id}/route", get(route))
}

async fn route(
    State(state): State<AppState>,
    AuthUser(identity): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Route>, ApiError> {
    let space = find(&state, &id).await?;
    let node = state.spaces.node().clone();
    let map = state
        .maps
        .get(&space.map)
        .ok_or_else(|| ApiError::Internal(format!("map {:?} is missing", space.map)))?
        .tile_map
        .clone();
    let saved = state
        .store
        .last_position(&space.id, identity.account)
        .await?
        .map(|p| IVec2::new(p.x, p.y));
    let tile = saved
        .or_else(|| map.spawns().first().copied())
        .unwrap_or_default();
    let grid = sim::RegionGrid::new(map.width(), map.height(), state.config.region_size);
    let region = RegionKey::new(space.id.clone(), grid.region_of(tile));
    let Some(directory) = &node.directory else {
        return Ok(Json(Route {
            node: node.node_id.clone(),
            url: node.public_url.clone(),
            region: region.to_string(),
        }));
    };
    let unavailable = |e: crate::cluster::ClusterError| {
        tracing::warn!(error = %e, "route: Redis unavailable");
        ApiError::Unavailable
    };
    directory.add_space(&space.id).await.map_err(unavailable)?;
    if let Some(coordinator) = &state.coordinator {
        coordinator.poke();
    }
    let live = directory.live_nodes().await.map_err(unavailable)?;
    let serving = directory
        .player_node(&space.id, identity.account)
        .await
        .map_err(unavailable)?;
    if let Some((node, url)) = serving.and_then(|n| live.get(&n).map(|u| (n, u.clone()))) {
        return Ok(Json(Route {
            node,
            url,
            region: region.to_string(),
        }));
    }
    let deadline = tokio::time::Instant::now() + ROUTE_WAIT;
    loop {
        if let Some(owner) = node.owner(&region).filter(|o| !o.url.is_empty()) {
            return Ok(Json(Route {
                node: owner.node,
                url: owner.url,
                region: region.to_string(),
            }));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::Unavailable);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
