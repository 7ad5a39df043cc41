//! Accounts: `POST /api/auth/guest`, `/api/auth/register`, `/api/auth/login` (rate limited
//! per IP), `GET /api/me`, `PATCH /api/me`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use persistence::{Account, AccountId, Role};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::http::error::{ApiError, ApiJson};
use crate::http::extract::AuthUser;
use crate::http::ratelimit;
use crate::state::AppState;

/// The account as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// Account id.
    pub id: AccountId,
    /// Display name.
    pub name: String,
    /// Login name; `null` for guests.
    pub username: Option<String>,
    /// Avatar key (empty: default).
    pub avatar: String,
    /// `guest`, `user` or `admin`.
    pub role: Role,
    /// Whether this is a guest account.
    pub guest: bool,
    /// Creation time (Unix ms).
    pub created_at: i64,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> AccountView {
        AccountView {
            id: a.id,
            guest: a.role == Role::Guest,
            name: a.display_name,
            username: a.username,
            avatar: a.avatar,
            role: a.role,
            created_at: a.created_at,
        }
    }
}

/// `{token, account}`: the answer of every auth endpoint and of `PATCH /api/me`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    /// A bearer token for REST and for the WebSocket `Hello`.
    pub token: String,
    /// The account.
    pub account: AccountView,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuestRequest {
    #[serde(alias = "display_name")]
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    #[serde(alias = "name")]
    username: String,
    password: String,
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    #[serde(alias = "name")]
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileRequest {
    #[serde(alias = "name")]
    display_name: Option<String>,
    avatar: Option<String>,
}

/// Auth and profile routes.
pub fn router(state: &AppState) -> Router<AppState> {
    let limited = Router::new()
        .route("/api/auth/guest", post(guest))
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_auth,
        ));
    Router::new()
        .merge(limited)
        .route("/api/me", get(me).patch(update_me))
}

/// Display names: 1–32 characters after trimming, no control characters.
pub fn display_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > 32 {
        return Err(ApiError::bad_request(
            "invalid_name",
            "name must be 1 to 32 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_name",
            "name must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

fn username(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(3..=32).contains(&name.len()) || !ok_chars {
        return Err(ApiError::bad_request(
            "invalid_username",
            "username must be 3 to 32 characters of letters, digits, '_', '-' or '.'",
        ));
    }
    Ok(name.to_lowercase())
}

fn password(raw: &str) -> Result<&str, ApiError> {
    let len = raw.chars().count();
    if !(8..=128).contains(&len) {
        return Err(ApiError::bad_request(
            "invalid_password",
            "password must be 8 to 128 characters",
        ));
    }
    Ok(raw)
}

fn avatar(raw: &str) -> Result<String, ApiError> {
    let a = raw.trim();
    let ok_chars = a
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if a.len() > 64 || !ok_chars {
        return Err(ApiError::bad_request(
            "invalid_avatar",
            "avatar must be at most 64 characters of letters, digits, '_', '-', '.' or ':'",
        ));
    }
    Ok(a.to_owned())
}

fn token_response(state: &AppState, account: Account) -> Result<TokenResponse, ApiError> {
    Ok(TokenResponse {
        token: state.auth.issue(&account)?,
        account: account.into(),
    })
}

async fn guest(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<GuestRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let name = display_name(&req.name)?;
    let account = state.store.create_guest(&name).await?;
    Ok((StatusCode::CREATED, Json(token_response(&state, account)?)))
}

async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let username = username(&req.username)?;
    let password = password(&req.password)?.to_owned();
    let shown = display_name(req.display_name.as_deref().unwrap_or(&username))?;
    if state.store.credentials(&username).await?.is_some() {
        return Err(ApiError::Conflict("username already taken".into()));
    }
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let account = state
        .store
        .create_user(&username, &hash, &shown, Role::User)
        .await
        .map_err(|e| match e {
            persistence::StoreError::Conflict(_) => {
                ApiError::Conflict("username already taken".into())
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(token_response(&state, account)?)))
}

async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let wrong = || ApiError::Unauthorized {
        code: "invalid_credentials",
        message: "wrong username or password".into(),
    };
    if req.password.len() > 1024 || req.username.len() > 64 {
        return Err(wrong());
    }
    let credentials = state.store.credentials(req.username.trim()).await?;
    let password = req.password;
    let Some(credentials) = credentials else {
        tokio::task::spawn_blocking(move || auth::verify_dummy_password(&password))
            .await
            .map_err(ApiError::internal)?;
        return Err(wrong());
    };
    let hash = credentials.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    if !ok {
        return Err(wrong());
    }
    Ok(Json(token_response(&state, credentials.account)?))
}

async fn current_account(state: &AppState, user: &AuthUser) -> Result<Account, ApiError> {
    state
        .store
        .account(user.0.account)
        .await?
        .ok_or(ApiError::Unauthorized {
            code: "unknown_account",
            message: "the token's account no longer exists".into(),
        })
}

async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(current_account(&state, &user).await?.into()))
}

async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<ProfileRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let name = req.display_name.as_deref().map(display_name).transpose()?;
    let avatar = req.avatar.as_deref().map(avatar).transpose()?;
    current_account(&state, &user).await?;
    let account = state
        .store
        .update_profile(user.0.account, name.as_deref(), avatar.as_deref())
        .await?;
    // The name is in the token's claims: hand out a fresh one.
    Ok(Json(token_response(&state, account)?))
}
