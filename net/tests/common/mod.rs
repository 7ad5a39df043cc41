//! A Plaza app on a temporary SQLite database, driven in-process with `oneshot`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use net::AppState;
use net::config::ServeConfig;
use serde_json::Value;
use tower::ServiceExt as _;

/// The JWT secret of test apps (tests forge tokens with it or with another one).
pub const TEST_SECRET: &str = "test-secret-0123456789-abcdefghij";

/// The workspace's `assets` folder (maps `office` and `campus`, tiles).
pub fn assets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

/// A response, with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub json: Value,
}

impl Reply {
    /// The `error` code of an error answer.
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A test app and the folder it lives in.
pub struct TestApp {
    pub state: AppState,
    pub dir: tempfile::TempDir,
}

impl TestApp {
    /// An app with a built web client (`index.html`) and a generous auth rate limit.
    pub async fn new() -> TestApp {
        TestApp::with(|_| {}).await
    }

    /// Like [`TestApp::new`], with the configuration adjusted by `tweak`.
    pub async fn with(tweak: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let web = dir.path().join("web");
        std::fs::create_dir_all(web.join("static")).unwrap();
        std::fs::write(
            web.join("index.html"),
            "<!doctype html><title>Plaza</title>",
        )
        .unwrap();
        std::fs::write(web.join("static/app.js"), "console.log('plaza')").unwrap();
        let mut config = ServeConfig::with_data_dir(&dir.path().join("data"));
        config.web_dir = web;
        config.assets_dir = assets_dir();
        config.jwt_secret = Some(TEST_SECRET.into());
        config.auth_burst = 1000;
        config.auth_rate_per_minute = 1000;
        tweak(&mut config);
        let state = AppState::open(config).await.expect("open app state");
        TestApp { state, dir }
    }

    /// Sends one request through the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = net::app(self.state.clone())
            .oneshot(request)
            .await
            .expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            bytes,
            json,
        }
    }

    /// Sends `method uri` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).unwrap()).await
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, uri, token, None).await
    }

    pub async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, uri, token, Some(body)).await
    }

    /// A raw request from a given peer address (as `into_make_service_with_connect_info`
    /// would attach it).
    pub async fn post_from(&self, peer: SocketAddr, uri: &str, body: Value) -> Reply {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        self.send(request).await
    }

    /// Logs in a new guest; returns (token, account JSON).
    pub async fn guest(&self, name: &str) -> (String, Value) {
        let r = self
            .post("/api/auth/guest", None, serde_json::json!({ "name": name }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
        (
            r.json["token"].as_str().unwrap().to_owned(),
            r.json["account"].clone(),
        )
    }

    /// Creates a space; returns its JSON.
    pub async fn space(&self, token: &str, name: &str, map: &str) -> Value {
        let r = self
            .post(
                "/api/spaces",
                Some(token),
                serde_json::json!({ "name": name, "map": map }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
        r.json
    }
}
