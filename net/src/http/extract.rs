//! Extractors: [`AuthUser`] (a verified bearer token) and [`AdminUser`].

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::auth::{AuthError, Identity};
use crate::http::error::ApiError;
use crate::state::AppState;

/// The caller, from `Authorization: Bearer <token>` (401 when missing or invalid).
#[derive(Clone, Debug)]
pub struct AuthUser(pub Identity);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or(AuthError::Missing)?;
        Ok(AuthUser(state.auth.verify(token)?))
    }
}

/// An admin caller (401 without a valid token, 403 for a non-admin).
#[derive(Clone, Debug)]
pub struct AdminUser(pub Identity);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthUser(identity) = AuthUser::from_request_parts(parts, state).await?;
        if !identity.is_admin() {
            return Err(ApiError::Forbidden("admin role required".into()));
        }
        Ok(AdminUser(identity))
    }
}

/// The token of an `Authorization: Bearer …` header, if any.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
