//! The REST API on the real PostgreSQL at `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), in a schema of its own. Fails when
//! PostgreSQL is not reachable.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use net::AppState;
use net::config::ServeConfig;
use net::http::maps::MapCatalog;
use persistence::{Backend, Store, StoreConfig};
use serde_json::{Value, json};
use tower::ServiceExt as _;

async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let response = net::app(state.clone())
        .oneshot(b.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn rest_on_postgres() {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("t_rest_{}", std::process::id());
    let mut store_config = StoreConfig::new(url.clone());
    store_config.pg_schema = Some(schema.clone());
    store_config.max_connections = 4;
    let store = Store::connect(&store_config).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required for this test and is not usable at {url}: {e}")
    });
    assert_eq!(store.backend(), Backend::Postgres);

    let dir = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::with_data_dir(dir.path());
    config.database_url = url.clone();
    let assets = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let maps = MapCatalog::load(&assets.join("maps")).unwrap();
    let state = AppState::from_parts(
        config,
        store.clone(),
        b"postgres-test-secret-0123456789",
        maps,
    );

    assert_eq!(
        call(&state, "GET", "/ready", None, Value::Null).await.0,
        StatusCode::OK
    );
    let (status, reg) = call(
        &state,
        "POST",
        "/api/auth/register",
        None,
        json!({ "username": "pgUser", "password": "pg-password-1" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    let (status, _) = call(
        &state,
        "POST",
        "/api/auth/register",
        None,
        json!({ "username": "PGUSER", "password": "pg-password-2" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, login) = call(
        &state,
        "POST",
        "/api/auth/login",
        None,
        json!({ "username": "pguser", "password": "pg-password-1" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();
    let (status, space) = call(
        &state,
        "POST",
        "/api/spaces",
        Some(&token),
        json!({ "name": "PG office", "map": "office" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{space}");
    let id = space["id"].as_str().unwrap();
    let (_, guest) = call(
        &state,
        "POST",
        "/api/auth/guest",
        None,
        json!({ "name": "Visitor" }),
    )
    .await;
    let guest_token = guest["token"].as_str().unwrap();
    let (status, joined) = call(
        &state,
        "POST",
        &format!("/api/spaces/{id}/join"),
        Some(guest_token),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let (status, list) = call(&state, "GET", "/api/spaces", Some(guest_token), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["spaces"].as_array().unwrap().len(), 1);

    store.close().await;
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("reconnect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
    )))
    .execute(&mut conn)
    .await
    .expect("drop test schema");
}
