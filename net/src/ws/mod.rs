//! The WebSocket gateway: `GET /ws?space={id}` upgrades to a Plaza session.
//!
//! Owned by the gateway/driver work (not the REST routes). A session sends `Hello{token}`
//! first, is joined to the space's tick thread, then exchanges binary FlatBuffers frames.

mod codes;
mod limits;
mod session;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

pub use codes::*;
pub use session::{MAX_FRAME_BYTES, SessionLimits};

use crate::state::AppState;

/// Bytes a connection reads from its socket at a time. tungstenite zero-fills this much of
/// its read buffer before every read (128 KiB by default: a memset of 128 KiB per small
/// client frame was the largest CPU cost of the gateway at 1500 clients). Client frames are
/// tens of bytes; a larger one still arrives whole (the buffer grows to the frame's size).
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The `/ws` route.
pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

/// Query of the upgrade request.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// The space to join.
    pub space: String,
}

async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| session::run(socket, state, query.space))
}
