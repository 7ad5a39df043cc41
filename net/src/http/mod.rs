//! The REST API, the operational endpoints and the static files.
//!
//! Route groups each have a `router()`; [`router`] merges them, and
//! [`crate::app`] adds the WebSocket routes and the layers.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/auth/guest`, `/register`, `/login` | tokens ([`auth`]) |
//! | `GET`/`PATCH /api/me` | the caller's account |
//! | `/api/spaces…` | spaces and membership ([`spaces`]) |
//! | `GET /api/maps`, `/api/maps/{id}` | maps ([`maps`]) |
//! | `/api/admin/…` | region load for operators, admin role ([`admin`]) |
//! | `GET /health`, `/ready`, `/metrics` | liveness, readiness (DB reachable), Prometheus text |
//! | `/assets/tiles/*`, `/assets/avatars/*` | images for the client |
//! | anything else | the built web client, with `index.html` for unknown paths (`/s/{id}`) |

pub mod admin;
pub mod auth;
pub mod error;
pub mod extract;
pub mod maps;
pub mod ratelimit;
pub mod route;
pub mod spaces;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::metrics::HttpLabels;
use crate::state::AppState;
pub use error::{ApiError, ApiJson};

/// REST, operational and asset routes, with the web client as fallback.
pub fn router(state: &AppState) -> Router<AppState> {
    let assets = &state.config.assets_dir;
    let web = &state.config.web_dir;
    let mut router = Router::new()
        .merge(auth::router(state))
        .merge(spaces::router())
        .merge(route::router())
        .merge(maps::router())
        .merge(admin::router())
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .nest_service("/assets/tiles", ServeDir::new(assets.join("tiles")))
        .nest_service("/assets/avatars", ServeDir::new(assets.join("avatars")));
    let index = web.join("index.html");
    router = if index.is_file() {
        router.fallback_service(ServeDir::new(web).fallback(ServeFile::new(index)))
    } else {
        router.fallback(no_web_client)
    };
    router
}

/// The layers of every route: JSON 405s, body size limit, response counting, request
/// tracing. Call it after every route is added.
pub fn layers(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .layer(TraceLayer::new_for_http())
}

async fn count_responses(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state
        .metrics
        .http_responses
        .get_or_create(&HttpLabels {
            status: response.status().as_u16(),
        })
        .inc();
    response
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.shutdown.is_triggered() {
        return Err(ApiError::Unavailable);
    }
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database not reachable");
            Err(ApiError::Unavailable)
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn no_web_client() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "error": "not_found",
            "message": "nothing here; the web client is not built (cd web-client && npm run build)"
        })),
    )
        .into_response()
}
