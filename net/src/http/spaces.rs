//! Spaces: `POST /api/spaces`, `GET /api/spaces`, `GET|DELETE /api/spaces/{id}`,
//! `POST /api/spaces/{id}/join`. All need a token (guests included).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use persistence::{Membership, NewSpace, Space};
use serde::{Deserialize, Serialize};

use crate::http::error::{ApiError, ApiJson};
use crate::http::extract::AuthUser;
use crate::state::AppState;

/// Most players a space may be created for, by default (`max_players_limit` in the
/// configuration raises it, e.g. for load runs).
pub const MAX_PLAYERS_LIMIT: u32 = 1000;
/// Default player cap of a new space.
pub const DEFAULT_MAX_PLAYERS: u32 = 50;
/// Most spaces `GET /api/spaces` returns.
pub const LIST_LIMIT: u32 = 200;

/// A space as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpaceView {
    /// The space.
    #[serde(flatten)]
    pub space: Space,
    /// Path of the join link (`/s/{id}`).
    pub link: String,
}

impl From<Space> for SpaceView {
    fn from(space: Space) -> SpaceView {
        SpaceView {
            link: format!("/s/{}", space.id),
            space,
        }
    }
}

/// Answer of `GET /api/spaces`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpaceList {
    /// Mine, joined and public spaces, newest first.
    pub spaces: Vec<SpaceView>,
}

/// Answer of `POST /api/spaces/{id}/join`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinResponse {
    /// The space.
    pub space: SpaceView,
    /// The caller's membership (with the last saved position, if any).
    pub membership: Membership,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    map: String,
    max_players: Option<u32>,
    public: Option<bool>,
}

/// Space routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/spaces", post(create).get(list))
        .route("/api/spaces/{id}", get(show).delete(remove))
        .route("/api/spaces/{id}/join", post(join))
}

/// Whether `id` could be a space id (short, `[0-9a-z]`); others are 404 without a query.
fn plausible_space_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub(crate) async fn find(state: &AppState, id: &str) -> Result<Space, ApiError> {
    if !plausible_space_id(id) {
        return Err(ApiError::NotFound("space"));
    }
    state
        .store
        .space(id)
        .await?
        .ok_or(ApiError::NotFound("space"))
}

async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<CreateRequest>,
) -> Result<(StatusCode, Json<SpaceView>), ApiError> {
    let name = req.name.trim();
    let len = name.chars().count();
    if len == 0 || len > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_name",
            "space name must be 1 to 64 characters",
        ));
    }
    if !state.maps.contains(&req.map) {
        return Err(ApiError::bad_request(
            "unknown_map",
            format!("no map {:?}; see GET /api/maps", req.map),
        ));
    }
    let max_players = req.max_players.unwrap_or(DEFAULT_MAX_PLAYERS);
    let limit = state.config.max_players_limit;
    if !(1..=limit).contains(&max_players) {
        return Err(ApiError::bad_request(
            "invalid_max_players",
            format!("max_players must be 1 to {limit}"),
        ));
    }
    let space = state
        .store
        .create_space(&NewSpace {
            name: name.to_owned(),
            map: req.map,
            owner: user.account,
            max_players,
            public: req.public.unwrap_or(false),
        })
        .await
        .map_err(|e| match e {
            // The token outlived its account.
            persistence::StoreError::NotFound(_) => ApiError::Unauthorized {
                code: "unknown_account",
                message: "the token's account no longer exists".into(),
            },
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(space.into())))
}

async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<SpaceList>, ApiError> {
    let spaces = state.store.spaces_for(user.account, LIST_LIMIT).await?;
    Ok(Json(SpaceList {
        spaces: spaces.into_iter().map(SpaceView::from).collect(),
    }))
}

async fn show(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<SpaceView>, ApiError> {
    Ok(Json(find(&state, &id).await?.into()))
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let space = find(&state, &id).await?;
    if space.owner != user.account && !user.is_admin() {
        return Err(ApiError::Forbidden(
            "only the owner or an admin may delete a space".into(),
        ));
    }
    state.store.delete_space(&space.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn join(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<JoinResponse>, ApiError> {
    let space = find(&state, &id).await?;
    let membership = state
        .store
        .join_space(&space.id, user.account)
        .await
        .map_err(|e| match e {
            persistence::StoreError::NotFound(_) => ApiError::Unauthorized {
                code: "unknown_account",
                message: "the token's account no longer exists".into(),
            },
            other => other.into(),
        })?;
    Ok(Json(JoinResponse {
        space: space.into(),
        membership,
    }))
}
