//! WebSocket test helpers: a real server on 127.0.0.1:0 (over a [`TestApp`] with a temporary
//! SQLite database), players driven with [`PlazaClient`], a raw socket for malformed
//! traffic, and map look-ups (walkable runs, walls, map borders).
//!
//! Included by the `ws*` tests with `#[path = "common/ws.rs"] mod ws_common;` next to
//! `mod common;`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use glam::IVec2;
use net::client::{ClientError, PlazaClient, create_space, guest_login};
use net::config::ServeConfig;
use net::ws::SessionLimits;
use persistence::Position;
use schema::{ClientMessage, ErrorCode, PROTOCOL_VERSION, ServerMessage, decode_server};
use sim::{Direction, EntityId, Input, TileMap};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::TestApp;

/// How long a test waits for something that should happen within a few ticks.
pub const SOON: Duration = Duration::from_secs(5);
/// How long a test watches for something that must not happen.
pub const QUIET: Duration = Duration::from_millis(600);

/// A Plaza server running `net::serve` on an ephemeral port.
pub struct WsServer {
    pub app: TestApp,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl WsServer {
    /// A server with the test defaults (generous auth rate limits, see [`TestApp`]).
    pub async fn start() -> WsServer {
        WsServer::with(|_| {}).await
    }

    /// A server whose configuration `tweak` adjusts.
    pub async fn with(tweak: impl FnOnce(&mut ServeConfig)) -> WsServer {
        WsServer::serve(TestApp::with(tweak).await).await
    }

    /// A server whose WebSocket sessions have `limits`.
    pub async fn with_session_limits(limits: SessionLimits) -> WsServer {
        let mut app = TestApp::new().await;
        app.state.session_limits = Arc::new(limits);
        WsServer::serve(app).await
    }

    async fn serve(app: TestApp) -> WsServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(net::serve(listener, app.state.clone()));
        WsServer {
            base: format!("http://{addr}"),
            app,
            addr,
            task: Some(task),
        }
    }

    /// Logs a guest in over HTTP; returns (token, account id).
    pub async fn guest(&self, name: &str) -> (String, i64) {
        let login = guest_login(&self.base, name).await.expect("guest login");
        let id = login.account["id"].as_i64().expect("account id");
        (login.token, id)
    }

    /// Creates a public space on `map` owned by a fresh guest; returns its id.
    pub async fn space(&self, map: &str) -> String {
        let (token, _) = self.guest("Owner").await;
        let id = create_space(&self.base, &token, &format!("{map} test"), map)
            .await
            .expect("create space");
        assert!(!id.is_empty(), "space id");
        id
    }

    /// The parsed map `id`.
    pub fn map(&self, id: &str) -> Arc<TileMap> {
        self.app
            .state
            .maps
            .get(id)
            .unwrap_or_else(|| panic!("map {id} loaded"))
            .tile_map
            .clone()
    }

    /// Saves `tile` as the account's last position in `space`, so it spawns there.
    pub async fn seed_position(&self, space: &str, account: i64, tile: IVec2) {
        self.app
            .state
            .store
            .save_position(
                space,
                account,
                Position {
                    x: tile.x,
                    y: tile.y,
                },
            )
            .await
            .expect("save position");
    }

    /// Connects with `token` (panics on refusal).
    pub async fn connect(&self, space: &str, token: &str) -> PlazaClient {
        tokio::time::timeout(SOON, PlazaClient::connect(&self.base, space, token))
            .await
            .expect("connect in time")
            .expect("connect")
    }

    /// Connects with `token`; the server's refusal as an error.
    pub async fn try_connect(&self, space: &str, token: &str) -> Result<PlazaClient, ClientError> {
        tokio::time::timeout(SOON, PlazaClient::connect(&self.base, space, token))
            .await
            .expect("connect (or refusal) in time")
    }

    /// A new guest who spawns on `tile` (or at a spawn point) and sees itself there.
    pub async fn player(&self, space: &str, name: &str, tile: Option<IVec2>) -> Player {
        let (token, account) = self.guest(name).await;
        if let Some(tile) = tile {
            self.seed_position(space, account, tile).await;
        }
        let mut client = self.connect(space, &token).await;
        let me = client.me();
        assert!(
            client
                .until(SOON, |c| c.seen_at(me).is_some())
                .await
                .expect("first snapshot"),
            "{name} sees its own avatar"
        );
        if let Some(tile) = tile {
            assert_eq!(
                client.seen_at(me),
                Some(tile),
                "{name} spawns on its saved tile"
            );
        }
        Player {
            token,
            account,
            client,
        }
    }

    /// A raw WebSocket to `/ws?space={space}` (nothing sent yet).
    pub async fn raw(&self, space: &str) -> RawWs {
        RawWs::open(&self.base, space).await
    }

    /// Proves the server still serves: a new guest joins `space`, sees itself and walks.
    pub async fn assert_serving(&self, space: &str) {
        let mut p = self.player(space, "Newcomer", None).await;
        let me = p.client.me();
        let from = p.client.seen_at(me).expect("own tile");
        let map = self.map(&p.client.welcome.map);
        let dir = Direction::ALL
            .into_iter()
            .find(|d| walkable(&map, from + d.offset()) && p.client.mirror_free(from + d.offset()))
            .expect("a free tile next to the spawn");
        step(&mut p.client, dir).await;
        assert_eq!(p.client.seen_at(me), Some(from + dir.offset()));
        p.client.close().await;
    }

    /// Triggers the graceful shutdown and waits for `serve` to return.
    pub async fn stop(mut self) {
        self.app.state.shutdown.trigger();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("serve returns after shutdown")
                .expect("serve task")
                .expect("serve ends cleanly");
        }
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            self.app.state.shutdown.trigger();
            task.abort();
        }
    }
}

/// A connected test player.
pub struct Player {
    pub token: String,
    pub account: i64,
    pub client: PlazaClient,
}

impl Player {
    /// Its entity.
    pub fn me(&self) -> EntityId {
        self.client.me()
    }

    /// The tile it sees itself on.
    pub fn tile(&self) -> IVec2 {
        self.client.seen_at(self.me()).expect("own avatar visible")
    }
}

/// Extra look-ups on a client's mirror.
pub trait MirrorExt {
    /// Whether no visible avatar stands on or moves into `tile`.
    fn mirror_free(&self, tile: IVec2) -> bool;
    /// How many visible slots show `id` (a duplicate avatar would show twice).
    fn copies_of(&self, id: EntityId) -> usize;
}

impl MirrorExt for PlazaClient {
    fn mirror_free(&self, tile: IVec2) -> bool {
        self.mirror
            .latest()
            .slots
            .values()
            .all(|s| s.position != tile && s.target != Some(tile))
    }

    fn copies_of(&self, id: EntityId) -> usize {
        self.mirror
            .latest()
            .slots
            .values()
            .filter(|s| s.id == id)
            .count()
    }
}

/// Walks one tile towards `dir` (Move then Stop) and waits until the client sees itself
/// standing on the new tile.
pub async fn step(client: &mut PlazaClient, dir: Direction) {
    let me = client.me();
    let from = client.seen_at(me).expect("own tile");
    let to = from + dir.offset();
    client.input(Input::Move(dir)).await.expect("send move");
    client.input(Input::Stop).await.expect("send stop");
    let arrived = client
        .until(SOON, |c| {
            c.seen(me)
                .is_some_and(|s| s.position == to && s.target.is_none())
        })
        .await
        .expect("snapshots while walking");
    assert!(
        arrived,
        "walked {dir:?} from {from} to {to}; sees itself at {:?}",
        client.seen(me)
    );
}

/// Walks `n` tiles towards `dir`, one at a time.
pub async fn walk(client: &mut PlazaClient, dir: Direction, n: usize) {
    for _ in 0..n {
        step(client, dir).await;
    }
}

/// Handles messages until `done` holds; panics with `what` after [`SOON`].
pub async fn wait_for(
    client: &mut PlazaClient,
    what: &str,
    done: impl FnMut(&PlazaClient) -> bool,
) {
    let ok = client.until(SOON, done).await.expect("connection open");
    assert!(ok, "timed out waiting until {what}");
}

/// Reads until the server closes the connection (an `Err` other than a timeout); returns
/// the errors it received meanwhile (also kept in `client.errors`).
pub async fn wait_closed(client: &mut PlazaClient) -> Vec<(ErrorCode, String)> {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "connection still open; errors so far {:?}",
            client.errors
        );
        match client.step(left).await {
            Ok(_) => {}
            Err(ClientError::Timeout) => {}
            Err(ClientError::Closed | ClientError::Ws(_)) => return client.errors.clone(),
            Err(e) => panic!("{e} before the close; errors so far {:?}", client.errors),
        }
    }
}

/// Pings and waits for the matching Pong (other messages are handled as usual).
pub async fn ping(client: &mut PlazaClient, client_time: f64) {
    client
        .send_raw(schema::encode_client(&ClientMessage::Ping { client_time }))
        .await
        .expect("send ping");
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "no Pong for {client_time}");
        match client.step(left).await.expect("connection open for a Pong") {
            ServerMessage::Pong { client_time: t, .. } if t == client_time => return,
            _ => {}
        }
    }
}

// ---- maps -----------------------------------------------------------------------------------

/// Whether `tile` is on the map and not blocked.
pub fn walkable(map: &TileMap, tile: IVec2) -> bool {
    map.contains(tile) && !map.is_blocked(tile)
}

/// A tile `t` from which `len` tiles `t, t+dir, …` are all walkable, searched from the
/// first spawn point outwards (row by row).
pub fn walkable_run(map: &TileMap, dir: Direction, len: i32) -> IVec2 {
    let origin = map.spawns().first().copied().unwrap_or(IVec2::ZERO);
    let (w, h) = (map.width() as i32, map.height() as i32);
    let mut best: Option<(i32, IVec2)> = None;
    for y in 0..h {
        for x in 0..w {
            let t = IVec2::new(x, y);
            if (0..len).all(|k| walkable(map, t + dir.offset() * k)) {
                let d = (t - origin).abs().element_sum();
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, t));
                }
            }
        }
    }
    best.unwrap_or_else(|| panic!("no walkable run of {len} towards {dir:?}"))
        .1
}

/// A walkable tile whose neighbour towards the returned first direction is blocked (a
/// wall) or off the map (`off_map`), and whose neighbour towards the second is walkable.
pub fn tile_facing(map: &TileMap, off_map: bool) -> (IVec2, Direction, Direction) {
    let (w, h) = (map.width() as i32, map.height() as i32);
    for y in 0..h {
        for x in 0..w {
            let t = IVec2::new(x, y);
            if !walkable(map, t) {
                continue;
            }
            let bad = Direction::ALL.into_iter().find(|d| {
                let n = t + d.offset();
                if off_map {
                    !map.contains(n)
                } else {
                    map.contains(n) && map.is_blocked(n)
                }
            });
            let good = Direction::ALL
                .into_iter()
                .find(|d| walkable(map, t + d.offset()));
            if let (Some(bad), Some(good)) = (bad, good) {
                return (t, bad, good);
            }
        }
    }
    panic!(
        "no walkable tile next to a {}",
        if off_map { "map border" } else { "wall" }
    )
}

// ---- raw sockets ----------------------------------------------------------------------------

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket speaking whatever the test sends: for malformed traffic.
pub struct RawWs {
    socket: Socket,
}

/// What a raw socket read.
#[derive(Debug)]
pub enum Got {
    /// A decoded server message.
    Message(ServerMessage),
    /// The server closed (close frame, end of stream or a reset).
    Closed,
}

impl RawWs {
    /// Opens `/ws?space={space}` on `base`.
    pub async fn open(base: &str, space: &str) -> RawWs {
        let url = format!("{}/ws?space={space}", base.replacen("http", "ws", 1));
        let (socket, _) = tokio::time::timeout(SOON, tokio_tungstenite::connect_async(url))
            .await
            .expect("upgrade in time")
            .expect("upgrade");
        RawWs { socket }
    }

    /// Sends a binary frame (ignores a failure: the server may have closed already).
    pub async fn binary(&mut self, bytes: Vec<u8>) {
        let _ = self.socket.send(Message::Binary(bytes.into())).await;
    }

    /// Sends a text frame.
    pub async fn text(&mut self, text: &str) {
        let _ = self.socket.send(Message::Text(text.into())).await;
    }

    /// Sends a client message.
    pub async fn send(&mut self, message: &ClientMessage) {
        self.binary(schema::encode_client(message)).await;
    }

    /// Sends `Hello{token, protocol_version}`.
    pub async fn hello(&mut self, token: &str, protocol_version: u16) {
        self.send(&ClientMessage::Hello {
            token: token.to_owned(),
            protocol_version,
        })
        .await;
    }

    /// Sends a Hello of the current protocol version.
    pub async fn hello_ok(&mut self, token: &str) {
        self.hello(token, PROTOCOL_VERSION).await;
    }

    /// The next server message or the close; panics on a timeout.
    pub async fn next(&mut self) -> Got {
        loop {
            let frame = tokio::time::timeout(SOON, self.socket.next())
                .await
                .expect("a frame or a close in time");
            match frame {
                Some(Ok(Message::Binary(bytes))) => {
                    return Got::Message(decode_server(&bytes).expect("server frame decodes"));
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Got::Closed,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads until an `Error`; returns it. Panics if the connection closes first.
    pub async fn error(&mut self) -> (ErrorCode, String) {
        let deadline = tokio::time::Instant::now() + SOON;
        loop {
            assert!(tokio::time::Instant::now() < deadline, "no Error in time");
            match self.next().await {
                Got::Message(ServerMessage::Error { code, message }) => return (code, message),
                Got::Message(_) => continue,
                Got::Closed => panic!("closed before an Error"),
            }
        }
    }

    /// Reads until the connection closes (within [`SOON`]); returns the errors received
    /// meanwhile.
    pub async fn closed(&mut self) -> Vec<(ErrorCode, String)> {
        let mut errors = Vec::new();
        let deadline = tokio::time::Instant::now() + SOON;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "connection still open; errors so far {errors:?}"
            );
            match self.next().await {
                Got::Message(ServerMessage::Error { code, message }) => {
                    errors.push((code, message))
                }
                Got::Message(_) => continue,
                Got::Closed => return errors,
            }
        }
    }

    /// Reads until a Welcome; panics on an error or a close.
    pub async fn welcome(&mut self) -> schema::Welcome {
        loop {
            match self.next().await {
                Got::Message(ServerMessage::Welcome(w)) => return w,
                Got::Message(ServerMessage::Error { code, message }) => {
                    panic!("refused: {code:?} {message}")
                }
                Got::Message(_) => continue,
                Got::Closed => panic!("closed before Welcome"),
            }
        }
    }
}
