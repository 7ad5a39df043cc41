//! Admin endpoints (admin role required): the regions this node owns and their load.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/admin/regions` | [`NodeLoad`]: this node's id and the latest load of each region |
//! | `GET /api/admin/spaces/{id}/avatars` | [`Inspection`]: the avatars this node simulates in a space (empty when it runs none of it) |
//! | `POST /api/admin/regions/{space:col:row}/move` `{"node": ID}` | live move of a region to another node (asked of any node: forwarded to the owner) |

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::cluster::{MoveError, RegionKey};
use crate::driver::Inspection;
use crate::http::error::{ApiError, ApiJson};
use crate::http::extract::AdminUser;
use crate::load::NodeLoad;
use crate::state::AppState;

/// The admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/regions", get(regions))
        .route("/api/admin/regions/{id}/move", post(move_region))
        .route("/api/admin/spaces/{id}/avatars", get(avatars))
}

async fn avatars(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Json<Inspection>, ApiError> {
    let space = crate::http::spaces::find(&state, &id).await?;
    let idle = || Inspection {
        node: state.node_id.clone(),
        tick: 0,
        avatars: Vec::new(),
    };
    Ok(Json(match state.spaces.running(&space.id) {
        Some(handle) => handle.inspect().await.unwrap_or_else(idle),
        None => idle(),
    }))
}

/// Body of a region move.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The node to move the region to.
    pub node: String,
}

/// Answer of a region move.
#[derive(Debug, Serialize, Deserialize)]
pub struct MoveResponse {
    /// The region.
    pub region: String,
    /// Its new owner.
    pub node: String,
}

async fn move_region(
    State(state): State<AppState>,
    _admin: AdminUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<MoveRequest>,
) -> Result<Json<MoveResponse>, ApiError> {
    let region: RegionKey = id
        .parse()
        .map_err(|e| ApiError::bad_request("invalid_region", format!("{e}")))?;
    let Some(coordinator) = &state.coordinator else {
        return Err(ApiError::Conflict(
            "this server is a single node; regions move only in a cluster".into(),
        ));
    };
    let node = state.spaces.node();
    let owner = node
        .owner(&region)
        .ok_or(ApiError::NotFound("region owner"))?;
    if owner.node != node.node_id {
        // Ask the owner (the caller's admin token is valid on every node).
        let url = format!("{}/api/admin/regions/{id}/move", owner.url);
        let mut forward = reqwest::Client::new()
            .post(url)
            .timeout(std::time::Duration::from_secs(30))
            .json(&request);
        if let Some(auth) = headers.get(axum::http::header::AUTHORIZATION) {
            forward = forward.header(axum::http::header::AUTHORIZATION, auth.as_bytes());
        }
        let response = forward
            .send()
            .await
            .map_err(|e| ApiError::Internal(format!("owner {} unreachable: {e}", owner.node)))?;
        if !response.status().is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(ApiError::Conflict(format!(
                "owner {} refused: {text}",
                owner.node
            )));
        }
        return response
            .json()
            .await
            .map(Json)
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    match coordinator
        .move_region(region.clone(), request.node.clone())
        .await
    {
        Ok(()) => Ok(Json(MoveResponse {
            region: region.to_string(),
            node: request.node,
        })),
        Err(e @ (MoveError::UnknownNode(_) | MoveError::NotOwner(_))) => {
            Err(ApiError::bad_request("invalid_move", e.to_string()))
        }
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
}

async fn regions(State(state): State<AppState>, _admin: AdminUser) -> Json<NodeLoad> {
    Json(NodeLoad {
        node: state.node_id.clone(),
        regions: state.load.snapshot(),
    })
}
