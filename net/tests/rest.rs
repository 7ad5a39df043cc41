//! The REST API, driven in-process through the router (`oneshot`, no port), on SQLite.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TEST_SECRET, TestApp};
use net::auth::{AUDIENCE, Auth, Claims, ISSUER};
use persistence::Role;
use serde_json::json;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---- operations ---------------------------------------------------------------------------

#[tokio::test]
async fn health_and_ready() {
    let app = TestApp::new().await;
    let r = app.get("/health", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["status"], "ok");
    let r = app.get("/ready", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["status"], "ready");

    // Not ready once the database is gone, and not once shutting down.
    app.state.store.close().await;
    let r = app.get("/ready", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error(), "unavailable");
    let app = TestApp::new().await;
    app.state.shutdown.trigger();
    assert_eq!(
        app.get("/ready", None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::new().await;
    use net::metrics::{RegionLabels, RejectLabels, SpaceLabels};
    let m = &app.state.metrics;
    m.tick_duration
        .get_or_create(&RegionLabels::new("s1", "0,0"))
        .observe(0.002);
    m.entities
        .get_or_create(&RegionLabels::new("s1", "0,0"))
        .set(12);
    m.clients.get_or_create(&SpaceLabels::new("s1")).set(3);
    m.bytes_in
        .get_or_create(&SpaceLabels::new("s1"))
        .inc_by(100);
    m.bytes_out
        .get_or_create(&SpaceLabels::new("s1"))
        .inc_by(2048);
    m.rejected_frames
        .get_or_create(&RejectLabels::new("s1", "bad_buffer"))
        .inc();
    app.get("/health", None).await;

    let r = app.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("application/openmetrics-text"));
    let text = r.text();
    for needle in [
        "# TYPE plaza_tick_duration_seconds histogram",
        "plaza_tick_duration_seconds_count{space=\"s1\",region=\"0,0\"} 1",
        "plaza_entities{space=\"s1\",region=\"0,0\"} 12",
        "plaza_clients{space=\"s1\"} 3",
        "plaza_bytes_in_total{space=\"s1\"} 100",
        "plaza_bytes_out_total{space=\"s1\"} 2048",
        "plaza_rejected_frames_total{space=\"s1\",reason=\"bad_buffer\"} 1",
        "plaza_http_responses_total{status=\"200\"}",
        "# EOF",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

// ---- accounts -----------------------------------------------------------------------------

#[tokio::test]
async fn guest_flow() {
    let app = TestApp::new().await;
    let (token, account) = app.guest("  Ada  ").await;
    assert_eq!(account["name"], "Ada");
    assert_eq!(account["role"], "guest");
    assert_eq!(account["guest"], true);
    assert!(account["username"].is_null());
    let id = account["id"].as_i64().unwrap();

    let identity = app.state.auth.verify(&token).unwrap();
    assert_eq!(identity.account, id);
    assert_eq!(identity.name, "Ada");
    assert_eq!(identity.role, Role::Guest);

    let me = app.get("/api/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["id"], id);
    assert_eq!(me.json["name"], "Ada");

    for bad in ["", "   ", &"x".repeat(33), "tab\there"] {
        let r = app
            .post("/api/auth/guest", None, json!({ "name": bad }))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(r.error(), "invalid_name");
        assert!(r.json["message"].as_str().unwrap().starts_with("name must"));
    }
}

#[tokio::test]
async fn register_login_and_conflicts() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({ "username": "Bob", "password": "hunter2hunter2", "display_name": "Bobby" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.json["account"]["username"], "bob");
    assert_eq!(r.json["account"]["name"], "Bobby");
    assert_eq!(r.json["account"]["role"], "user");
    assert_eq!(r.json["account"]["guest"], false);
    let bob_id = r.json["account"]["id"].clone();

    // Taken, in any case → 409.
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({ "username": "BOB", "password": "another-password" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error(), "conflict");
    assert!(r.json["message"].as_str().unwrap().contains("taken"));

    // The web client sends `name` instead of `username`.
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({ "name": "carol", "password": "carol-password" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.json["account"]["name"], "carol");

    let r = app
        .post(
            "/api/auth/login",
            None,
            json!({ "username": "bob", "password": "hunter2hunter2" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["account"]["id"], bob_id);
    let token = r.json["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/me", Some(&token)).await.json["username"],
        "bob"
    );
    let r = app
        .post(
            "/api/auth/login",
            None,
            json!({ "name": "BOB", "password": "hunter2hunter2" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    for (user, pass) in [
        ("bob", "wrong-password"),
        ("nobody", "hunter2hunter2"),
        ("bob", ""),
    ] {
        let r = app
            .post(
                "/api/auth/login",
                None,
                json!({ "username": user, "password": pass }),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{user}/{pass}");
        assert_eq!(r.error(), "invalid_credentials");
    }

    // Validation.
    for (body, code) in [
        (
            json!({ "username": "bo", "password": "long-enough" }),
            "invalid_username",
        ),
        (
            json!({ "username": "b o b", "password": "long-enough" }),
            "invalid_username",
        ),
        (
            json!({ "username": "dave", "password": "short" }),
            "invalid_password",
        ),
        (
            json!({ "username": "dave", "password": "long-enough", "display_name": "" }),
            "invalid_name",
        ),
    ] {
        let r = app.post("/api/auth/register", None, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.error(), code, "{body}");
    }
}

#[tokio::test]
async fn profile_update() {
    let app = TestApp::new().await;
    let (token, _) = app.guest("Ada").await;
    let r = app
        .call(
            Method::PATCH,
            "/api/me",
            Some(&token),
            Some(json!({ "display_name": "Ada L.", "avatar": "fox" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["account"]["name"], "Ada L.");
    assert_eq!(r.json["account"]["avatar"], "fox");
    // The fresh token carries the new name.
    let fresh = r.json["token"].as_str().unwrap();
    assert_eq!(app.state.auth.verify(fresh).unwrap().name, "Ada L.");
    assert_eq!(app.get("/api/me", Some(&token)).await.json["avatar"], "fox");

    let r = app
        .call(
            Method::PATCH,
            "/api/me",
            Some(&token),
            Some(json!({ "avatar": "<script>" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_avatar");
    let r = app
        .call(
            Method::PATCH,
            "/api/me",
            None,
            Some(json!({ "avatar": "cat" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

// ---- tokens -------------------------------------------------------------------------------

#[tokio::test]
async fn bad_tokens_are_401() {
    let app = TestApp::new().await;
    let (_, account) = app.guest("Ada").await;
    let id = account["id"].as_i64().unwrap();
    let ours = Auth::new(TEST_SECRET.as_bytes(), 3600);
    let claims = Claims {
        sub: id.to_string(),
        name: "Ada".into(),
        role: Role::Guest,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now(),
        exp: now() + 600,
    };
    // Sanity: a well-formed token of ours is accepted.
    let good = ours.sign(&claims).unwrap();
    assert_eq!(app.get("/api/me", Some(&good)).await.status, StatusCode::OK);

    let expired = ours
        .sign(&Claims {
            iat: now() - 7200,
            exp: now() - 3600,
            ..claims.clone()
        })
        .unwrap();
    let forged = Auth::new(b"some other server's secret value", 3600)
        .sign(&claims)
        .unwrap();
    let wrong_audience = ours
        .sign(&Claims {
            aud: "another-app".into(),
            ..claims.clone()
        })
        .unwrap();
    let wrong_issuer = ours
        .sign(&Claims {
            iss: "someone".into(),
            ..claims.clone()
        })
        .unwrap();
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    for (token, code) in [
        (expired.as_str(), "token_expired"),
        (forged.as_str(), "token_invalid"),
        (wrong_audience.as_str(), "token_wrong_audience"),
        (wrong_issuer.as_str(), "token_wrong_issuer"),
        (tampered.as_str(), "token_invalid"),
        ("not.a.token", "token_invalid"),
    ] {
        let r = app.get("/api/me", Some(token)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{code}");
        assert_eq!(r.error(), code);
    }
    let r = app.get("/api/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "missing_token");
    let r = app
        .send(
            Request::get("/api/me")
                .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A valid token whose account does not exist.
    let ghost = ours
        .sign(&Claims {
            sub: "999999".into(),
            ..claims
        })
        .unwrap();
    let r = app.get("/api/me", Some(&ghost)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "unknown_account");
    let r = app
        .post(
            "/api/spaces",
            Some(&ghost),
            json!({ "name": "x", "map": "office" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

// ---- spaces -------------------------------------------------------------------------------

#[tokio::test]
async fn spaces_crud_and_membership() {
    let app = TestApp::new().await;
    let (ada, ada_account) = app.guest("Ada").await;
    let (bob, bob_account) = app.guest("Bob").await;
    let (cy, _) = app.guest("Cy").await;

    let office = app.space(&ada, "Ada's office", "office").await;
    let office_id = office["id"].as_str().unwrap().to_owned();
    assert_eq!(office["name"], "Ada's office");
    assert_eq!(office["map"], "office");
    assert_eq!(office["owner"], ada_account["id"]);
    assert_eq!(office["public"], false);
    assert_eq!(office["max_players"], 50);
    assert_eq!(office["link"], format!("/s/{office_id}"));

    let r = app
        .post(
            "/api/spaces",
            Some(&bob),
            json!({ "name": "Campus", "map": "campus", "public": true, "max_players": 300 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let campus_id = r.json["id"].as_str().unwrap().to_owned();

    // GET one.
    let r = app
        .get(&format!("/api/spaces/{office_id}"), Some(&bob))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["map"], "office");
    assert_eq!(
        app.get(&format!("/api/spaces/{office_id}"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Lists: mine + public; Ada's private office is not Bob's to see in the list.
    let ids = |r: &common::Reply| {
        let mut ids: Vec<String> = r.json["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let r = app.get("/api/spaces", Some(&ada)).await;
    assert_eq!(ids(&r), sorted(vec![office_id.clone(), campus_id.clone()]));
    let r = app.get("/api/spaces", Some(&bob)).await;
    assert_eq!(ids(&r), vec![campus_id.clone()]);

    // Join by link → member → listed.
    let r = app
        .post(
            &format!("/api/spaces/{office_id}/join"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["space"]["id"], office_id.as_str());
    assert_eq!(r.json["membership"]["account_id"], bob_account["id"]);
    assert!(r.json["membership"]["last_position"].is_null());
    let r = app.get("/api/spaces", Some(&bob)).await;
    assert_eq!(ids(&r), sorted(vec![office_id.clone(), campus_id.clone()]));
    // Joining twice is fine; a saved position shows up.
    let bob_id = bob_account["id"].as_i64().unwrap();
    app.state
        .store
        .save_position(&office_id, bob_id, persistence::Position { x: 5, y: 6 })
        .await
        .unwrap();
    let r = app
        .call(
            Method::POST,
            &format!("/api/spaces/{office_id}/join"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        r.json["membership"]["last_position"],
        json!({ "x": 5, "y": 6 })
    );

    // Unknown spaces → 404 with a JSON error.
    for id in ["doesnotexist", "..%2F..%2Fetc", "a-b", &"z".repeat(100)] {
        let r = app.get(&format!("/api/spaces/{id}"), Some(&ada)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(r.error(), "not_found");
        assert_eq!(r.json["message"], "space not found");
    }
    let r = app
        .post("/api/spaces/doesnotexist/join", Some(&ada), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Validation on create.
    for (body, code) in [
        (json!({ "name": "x", "map": "atlantis" }), "unknown_map"),
        (json!({ "name": "x", "map": "../secret" }), "unknown_map"),
        (json!({ "name": "  ", "map": "office" }), "invalid_name"),
        (
            json!({ "name": "x", "map": "office", "max_players": 0 }),
            "invalid_max_players",
        ),
        (
            json!({ "name": "x", "map": "office", "max_players": 100000 }),
            "invalid_max_players",
        ),
        (json!({ "name": "x" }), "invalid_body"),
    ] {
        let r = app.post("/api/spaces", Some(&ada), body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.error(), code, "{body}");
    }

    // Delete: only the owner (or an admin).
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/spaces/{office_id}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), "forbidden");
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/spaces/{office_id}"),
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .get(&format!("/api/spaces/{office_id}"), Some(&ada))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // An admin may delete someone else's space.
    let cy_id = app.state.auth.verify(&cy).unwrap().account;
    let admin = app.state.store.set_role(cy_id, Role::Admin).await.unwrap();
    let admin_token = app.state.auth.issue(&admin).unwrap();
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/spaces/{campus_id}"),
            Some(&admin_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

// ---- bad input ----------------------------------------------------------------------------

#[tokio::test]
async fn bad_bodies_get_json_errors() {
    let app = TestApp::new().await;
    let (token, _) = app.guest("Ada").await;
    let raw = |body: &'static str, content_type: Option<&str>| {
        let mut b =
            Request::post("/api/spaces").header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Body::from(body)).unwrap()
    };

    let r = app.send(raw("{not json", Some("application/json"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_json");

    let r = app
        .send(raw(
            r#"{"name": 5, "map": "office"}"#,
            Some("application/json"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_body");

    let r = app
        .send(raw(
            r#"{"name": "x", "map": "office", "evil": 1}"#,
            Some("application/json"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_body");

    let r = app
        .send(raw(r#"{"name": "x", "map": "office"}"#, None))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.error(), "unsupported_media_type");

    let r = app
        .send(
            Request::post("/api/auth/guest")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(vec![0xff, 0xfe, 0x00]))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Larger than max_body_bytes (64 KiB) → 413, with or without a Content-Length.
    let big = format!(r#"{{"name": "{}"}}"#, "a".repeat(100 * 1024));
    let r = app
        .send(
            Request::post("/api/auth/guest")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, big.len())
                .body(Body::from(big.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error(), "payload_too_large");
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(4096)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let r = app
        .send(
            Request::post("/api/auth/guest")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(stream))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    // A known path with the wrong method is a JSON 405.
    let r = app
        .call(Method::PUT, "/api/spaces", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error(), "method_not_allowed");

    // Unknown API routes are JSON 404s, not the web client.
    let r = app.get("/api/nothing/here", Some(&token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error(), "not_found");
}

#[tokio::test]
async fn auth_endpoints_are_rate_limited_per_ip() {
    let app = TestApp::with(|c| {
        c.auth_burst = 3;
        c.auth_rate_per_minute = 1;
    })
    .await;
    let peer: std::net::SocketAddr = "203.0.113.7:5000".parse().unwrap();
    for _ in 0..3 {
        let r = app
            .post_from(peer, "/api/auth/guest", json!({ "name": "Ada" }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = app
        .post_from(peer, "/api/auth/guest", json!({ "name": "Ada" }))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error(), "rate_limited");
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let r = app
        .post_from(
            peer,
            "/api/auth/login",
            json!({ "username": "x", "password": "y" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // Another client is not affected; neither are non-auth routes.
    let other: std::net::SocketAddr = "198.51.100.1:5000".parse().unwrap();
    let r = app
        .post_from(other, "/api/auth/guest", json!({ "name": "Bob" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.json["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert!(
        app.get("/metrics", None)
            .await
            .text()
            .contains("plaza_auth_rate_limited_total 2")
    );
}

// ---- maps and static files ----------------------------------------------------------------

#[tokio::test]
async fn maps_listing_and_files() {
    let app = TestApp::new().await;
    let r = app.get("/api/maps", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let maps = r.json["maps"].as_array().unwrap();
    let ids: Vec<&str> = maps.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&"office") && ids.contains(&"campus"),
        "{ids:?}"
    );
    let office = maps.iter().find(|m| m["id"] == "office").unwrap();
    assert_eq!(office["width"], 40);
    assert_eq!(office["height"], 30);
    assert_eq!(office["tile_width"], 32);
    assert!(office["spawns"].as_u64().unwrap() > 0);
    assert!(
        office["name"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("office")
    );

    let r = app.get("/api/maps/office", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("application/json"));
    assert_eq!(r.json["width"], 40);
    assert!(r.json["layers"].is_array());
    assert!(r.json["tilesets"].is_array());
    assert_eq!(
        app.get("/api/maps/office.json", None).await.status,
        StatusCode::OK
    );

    for id in ["atlantis", "..%2Fmaps%2Foffice", "generate.py"] {
        let r = app.get(&format!("/api/maps/{id}"), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(r.error(), "not_found");
    }

    let r = app.get("/assets/tiles/plaza-tiles.png", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "image/png");
    assert_eq!(&r.bytes[1..4], b"PNG");
    let r = app.get("/assets/tiles/missing.png", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/assets/tiles/..%2F..%2FCargo.toml", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn web_client_with_spa_fallback() {
    let app = TestApp::new().await;
    for path in ["/", "/s/abc123def456", "/spaces"] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.text().contains("<title>Plaza</title>"), "{path}");
    }
    let r = app.get("/static/app.js", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("plaza"));

    // Without a built client: a JSON 404 that says so.
    let bare = TestApp::with(|c| c.web_dir = c.data_dir.join("no-such-dir")).await;
    let r = bare.get("/s/abc", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json["message"].as_str().unwrap().contains("web client"));
    assert_eq!(bare.get("/health", None).await.status, StatusCode::OK);
}

// ---- startup ------------------------------------------------------------------------------

#[tokio::test]
async fn jwt_secret_is_generated_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let make = || {
        let mut c = net::config::ServeConfig::with_data_dir(&dir.path().join("data"));
        c.assets_dir = common::assets_dir();
        c
    };
    let first = net::AppState::open(make()).await.unwrap();
    let account = first.store.create_guest("Ada").await.unwrap();
    let token = first.auth.issue(&account).unwrap();
    first.store.close().await;
    let secret = std::fs::read_to_string(dir.path().join("data/jwt_secret")).unwrap();
    assert_eq!(secret.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/jwt_secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "secret must not be readable by others");
    }
    // A restart accepts the old token: same secret, same database.
    let second = net::AppState::open(make()).await.unwrap();
    assert_eq!(second.auth.verify(&token).unwrap().account, account.id);
    assert_eq!(
        second
            .store
            .account(account.id)
            .await
            .unwrap()
            .unwrap()
            .display_name,
        "Ada"
    );
}
