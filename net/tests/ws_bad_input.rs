//! Bad input on the WebSocket: garbage, oversized frames, floods, a wrong first message,
//! bad tokens, unknown or closed spaces, a wrong protocol version. Each gets its documented
//! error, and the server keeps serving everybody else: a bystander connected throughout
//! still gets answers, and a newcomer can still join and walk.

mod common;
#[path = "common/ws.rs"]
mod ws_common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::TEST_SECRET;
use net::auth::{AUDIENCE, Auth, Claims, ISSUER};
use net::client::ClientError;
use net::ws::{MAX_FRAME_BYTES, NOT_A_MEMBER, SessionLimits, TIMEOUT, UNKNOWN_SPACE};
use persistence::Role;
use schema::{ChatScope, ClientMessage, ErrorCode, PROTOCOL_VERSION, ServerMessage, encode_client};
use serde_json::json;
use sim::{Direction, Input};
use ws_common::{Got, Player, WsServer, ping, wait_closed, wait_for};

/// A server with an office space and a bystander connected to it.
async fn setup() -> (WsServer, String, Player) {
    let server = WsServer::start().await;
    let space = server.space("office").await;
    let bystander = server.player(&space, "Bystander", None).await;
    (server, space, bystander)
}

/// The bystander still gets answers and a newcomer can join and walk.
async fn still_serving(server: &WsServer, space: &str, bystander: &mut Player) {
    ping(&mut bystander.client, 4242.0).await;
    server.assert_serving(space).await;
}

/// Bytes that are no FlatBuffers message (the root offset points past the end).
fn garbage(n: u8) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xff, 0xff, 0x7f];
    bytes.extend((0..32).map(|i: u8| i.wrapping_mul(37).wrapping_add(n)));
    bytes
}

fn bad_messages(errors: &[(ErrorCode, String)]) -> usize {
    errors
        .iter()
        .filter(|(c, _)| *c == ErrorCode::BAD_MESSAGE)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames_get_bad_message_and_too_many_close() {
    let (server, space, mut bystander) = setup().await;
    let mut p = server.player(&space, "Mallory", None).await;

    // Each kind of bad frame gets BAD_MESSAGE, and the connection stays usable.
    p.client.send_raw(garbage(0)).await.unwrap();
    wait_for(&mut p.client, "BAD_MESSAGE for garbage", |c| {
        bad_messages(&c.errors) == 1
    })
    .await;
    ping(&mut p.client, 1.0).await;
    let valid = encode_client(&ClientMessage::Input {
        seq: 1,
        input: Input::Stop,
    });
    p.client
        .send_raw(valid[..valid.len() / 2].to_vec())
        .await
        .unwrap();
    p.client
        .send_raw(encode_client(&ClientMessage::Hello {
            token: p.token.clone(),
            protocol_version: PROTOCOL_VERSION,
        }))
        .await
        .unwrap();
    p.client.say("   ", ChatScope::Space).await.unwrap();
    p.client.send_raw(Vec::new()).await.unwrap();
    wait_for(
        &mut p.client,
        "BAD_MESSAGE for a truncated frame, a second Hello, an empty chat line and an empty frame",
        |c| bad_messages(&c.errors) == 5,
    )
    .await;
    assert!(
        p.client.errors.iter().any(|(_, m)| m.contains("Hello")),
        "{:?}",
        p.client.errors
    );
    // Still a working session: it walks.
    let map = server.map("office");
    let from = p.tile();
    let dir = Direction::ALL
        .into_iter()
        .find(|d| {
            ws_common::walkable(&map, from + d.offset())
                && ws_common::MirrorExt::mirror_free(&p.client, from + d.offset())
        })
        .expect("a free tile");
    ws_common::step(&mut p.client, dir).await;

    // Ten bad frames are tolerated; the eleventh closes the connection.
    for i in 5..10 {
        p.client.send_raw(garbage(i)).await.unwrap();
    }
    wait_for(&mut p.client, "ten BAD_MESSAGE errors", |c| {
        bad_messages(&c.errors) == 10
    })
    .await;
    ping(&mut p.client, 2.0).await;
    p.client.send_raw(garbage(10)).await.unwrap();
    let errors = wait_closed(&mut p.client).await;
    assert_eq!(bad_messages(&errors), 11, "{errors:?}");
    assert!(errors.last().unwrap().1.contains("too many"), "{errors:?}");

    still_serving(&server, &space, &mut bystander).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_frames_get_bad_message_and_too_many_close() {
    let (server, space, mut bystander) = setup().await;
    let (token, _) = server.guest("Mallory").await;
    let mut raw = server.raw(&space).await;
    raw.hello_ok(&token).await;
    raw.welcome().await;
    raw.text("{\"type\":\"input\"}").await;
    assert_eq!(raw.error().await.0, ErrorCode::BAD_MESSAGE);
    raw.send(&ClientMessage::Ping { client_time: 9.0 }).await;
    loop {
        match raw.next().await {
            Got::Message(ServerMessage::Pong { client_time, .. }) => {
                assert_eq!(client_time, 9.0);
                break;
            }
            Got::Message(ServerMessage::Error { code, message }) => {
                panic!("unexpected error {code:?} {message}")
            }
            Got::Message(_) => {}
            Got::Closed => panic!("closed after one text frame"),
        }
    }
    for _ in 0..10 {
        raw.text("still text").await;
    }
    let errors = raw.closed().await;
    assert_eq!(errors.len(), 10, "{errors:?}");
    assert!(errors.iter().all(|(c, _)| *c == ErrorCode::BAD_MESSAGE));

    still_serving(&server, &space, &mut bystander).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_close_the_connection() {
    let (server, space, mut bystander) = setup().await;
    let mut p = server.player(&space, "Mallory", None).await;
    assert_eq!(MAX_FRAME_BYTES, 16 * 1024);
    // At the limit: read, and refused as a bad message.
    p.client.send_raw(vec![0; MAX_FRAME_BYTES]).await.unwrap();
    wait_for(&mut p.client, "BAD_MESSAGE for a 16 KiB frame", |c| {
        bad_messages(&c.errors) == 1
    })
    .await;
    ping(&mut p.client, 1.0).await;
    // Over the limit: the connection is closed.
    let _ = p.client.send_raw(vec![0; MAX_FRAME_BYTES + 1]).await;
    wait_closed(&mut p.client).await;

    still_serving(&server, &space, &mut bystander).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_message_must_be_hello() {
    let (server, space, mut bystander) = setup().await;
    enum First {
        Message(ClientMessage),
        Bytes(Vec<u8>),
        Text(&'static str),
    }
    let firsts = [
        (
            "Ping",
            First::Message(ClientMessage::Ping { client_time: 1.0 }),
        ),
        (
            "Input",
            First::Message(ClientMessage::Input {
                seq: 1,
                input: Input::Move(Direction::East),
            }),
        ),
        ("garbage", First::Bytes(garbage(0))),
        ("empty", First::Bytes(Vec::new())),
        ("text", First::Text("hello")),
    ];
    for (what, first) in firsts {
        let mut raw = server.raw(&space).await;
        match first {
            First::Message(m) => raw.send(&m).await,
            First::Bytes(b) => raw.binary(b).await,
            First::Text(t) => raw.text(t).await,
        }
        let errors = raw.closed().await;
        assert_eq!(
            errors.iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![ErrorCode::BAD_MESSAGE],
            "{what} first: {errors:?}"
        );
    }
    still_serving(&server, &space, &mut bystander).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_are_rate_limited_then_disconnected() {
    let (server, space, mut bystander) = setup().await;
    let mut p = server.player(&space, "Mallory", None).await;

    // A burst of chat beyond its limit (2/s, burst 6): some lines refused, still connected.
    for i in 0..10 {
        p.client
            .say(&format!("spam {i}"), ChatScope::Space)
            .await
            .unwrap();
    }
    wait_for(&mut p.client, "RATE_LIMITED for chat", |c| {
        c.errors
            .iter()
            .any(|(code, _)| *code == ErrorCode::RATE_LIMITED)
    })
    .await;
    ping(&mut p.client, 1.0).await;
    wait_for(&mut bystander.client, "the allowed lines arrive", |c| {
        c.chat.iter().any(|l| l.text == "spam 0")
    })
    .await;

    // A flood of inputs: RATE_LIMITED, then a disconnect.
    for _ in 0..400 {
        if p.client.input(Input::Stop).await.is_err() {
            break;
        }
    }
    let errors = wait_closed(&mut p.client).await;
    let limited = errors
        .iter()
        .filter(|(c, _)| *c == ErrorCode::RATE_LIMITED)
        .count();
    assert!(limited > 10, "{errors:?}");
    let (code, message) = errors.last().unwrap();
    assert_eq!(*code, ErrorCode::RATE_LIMITED);
    assert!(message.contains("flood"), "{message}");

    still_serving(&server, &space, &mut bystander).await;
    server.stop().await;
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_unauthorized() {
    let (server, space, mut bystander) = setup().await;
    let (_, account) = server.guest("Ada").await;
    let ours = Auth::new(TEST_SECRET.as_bytes(), 3600);
    let claims = Claims {
        sub: account.to_string(),
        name: "Ada".into(),
        role: Role::Guest,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now(),
        exp: now() + 600,
    };
    // Sanity: a token signed like these, but valid, is accepted.
    let good = ours.sign(&claims).unwrap();
    server.connect(&space, &good).await.close().await;

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
            iss: "someone-else".into(),
            ..claims.clone()
        })
        .unwrap();
    for (what, token) in [
        ("expired", expired.as_str()),
        ("forged", forged.as_str()),
        ("wrong audience", wrong_audience.as_str()),
        ("wrong issuer", wrong_issuer.as_str()),
        ("not a JWT", "not-a-jwt"),
        ("empty", ""),
    ] {
        match server.try_connect(&space, token).await {
            Err(ClientError::Server { code, .. }) => {
                assert_eq!(code, ErrorCode::UNAUTHORIZED, "{what} token")
            }
            other => panic!("{what} token: {:?}", other.map(|c| c.welcome)),
        }
    }
    still_serving(&server, &space, &mut bystander).await;
    server.stop().await;
}

fn refusal(result: Result<net::client::PlazaClient, ClientError>) -> ErrorCode {
    match result {
        Err(ClientError::Server { code, .. }) => code,
        other => panic!("expected a refusal: {:?}", other.map(|c| c.welcome)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_private_and_full_spaces_are_refused() {
    let (server, space, mut bystander) = setup().await;
    let (token, _) = server.guest("Ada").await;
    assert_eq!(
        refusal(server.try_connect("no-such-space", &token).await),
        UNKNOWN_SPACE
    );
    assert_eq!(UNKNOWN_SPACE, ErrorCode(8));

    let (owner, _) = server.guest("Olga").await;
    let create = |body: serde_json::Value| {
        let app = &server.app;
        let owner = owner.clone();
        async move {
            let r = app.post("/api/spaces", Some(&owner), body).await;
            assert!(r.status.is_success(), "{:?}", r.json);
            r.json["id"].as_str().unwrap().to_owned()
        }
    };
    let private = create(json!({ "name": "Private", "map": "office", "public": false })).await;
    assert_eq!(
        refusal(server.try_connect(&private, &token).await),
        NOT_A_MEMBER
    );
    server.connect(&private, &owner).await.close().await;

    let tiny =
        create(json!({ "name": "Tiny", "map": "office", "public": true, "max_players": 1 })).await;
    let first = server.connect(&tiny, &owner).await;
    assert_eq!(
        refusal(server.try_connect(&tiny, &token).await),
        ErrorCode::FULL
    );
    first.close().await;

    still_serving(&server, &space, &mut bystander).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_protocol_version_is_refused() {
    let (server, space, mut bystander) = setup().await;
    let (token, _) = server.guest("Ada").await;
    for version in [PROTOCOL_VERSION + 1, 0] {
        let mut raw = server.raw(&space).await;
        raw.hello(&token, version).await;
        let errors = raw.closed().await;
        assert_eq!(
            errors.iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![ErrorCode::WRONG_VERSION],
            "version {version}: {errors:?}"
        );
    }
    still_serving(&server, &space, &mut bystander).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_time_out() {
    let server = WsServer::with_session_limits(SessionLimits {
        hello_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(800),
        ..SessionLimits::default()
    })
    .await;
    let space = server.space("office").await;

    // No Hello at all.
    let started = Instant::now();
    let mut raw = server.raw(&space).await;
    let errors = raw.closed().await;
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![TIMEOUT],
        "{errors:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Joined, then silent (no acks, no pings) while the server keeps sending it snapshots
    // (unacknowledged, so resent every tick): closed as idle all the same.
    let (token, _) = server.guest("Quiet").await;
    let mut raw = server.raw(&space).await;
    raw.hello_ok(&token).await;
    raw.welcome().await;
    let started = Instant::now();
    let errors = raw.closed().await;
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![TIMEOUT],
        "{errors:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(700));

    // A client that keeps talking (pings) stays well past the idle time.
    let mut talker = server.player(&space, "Talker", None).await;
    let started = Instant::now();
    let mut i = 0.0;
    while started.elapsed() < Duration::from_millis(2000) {
        ping(&mut talker.client, i).await;
        i += 1.0;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        talker.client.errors.is_empty(),
        "{:?}",
        talker.client.errors
    );
    server.assert_serving(&space).await;
    server.stop().await;
}
