//! Admin endpoints (admin role required): the regions this node owns and their load.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/admin/regions` | [`NodeLoad`]: this node's id and the latest load of each region |

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::http::extract::AdminUser;
use crate::load::NodeLoad;
use crate::state::AppState;

/// The admin routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/admin/regions", get(regions))
}

async fn regions(State(state): State<AppState>, _admin: AdminUser) -> Json<NodeLoad> {
    Json(NodeLoad {
        node: state.node_id.clone(),
        regions: state.load.snapshot(),
    })
}
