//! A Rust Plaza client speaking the real protocol over WebSocket: used by the integration
//! tests and the bot swarm. It keeps a [`ClientMirror`] of the server's snapshots and
//! acknowledges every snapshot it applies.
//!
//! ```no_run
//! # async fn demo() -> Result<(), net::client::ClientError> {
//! use net::client::{PlazaClient, guest_login};
//! let token = guest_login("http://127.0.0.1:8080", "ada").await?.token;
//! let mut client = PlazaClient::connect("http://127.0.0.1:8080", "SPACE_ID", &token).await?;
//! client.input(sim::Input::Move(sim::Direction::East)).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use glam::IVec2;
use schema::{
    ChatLine, ChatScope, ClientMessage, ClientMirror, ErrorCode, PROTOCOL_VERSION, ServerMessage,
    SignalKind, Welcome, decode_server, encode_client,
};
use serde::Deserialize;
use sim::interest::VisibleState;
use sim::{EntityId, Input};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// HTTP request failed.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// WebSocket failure.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server sent something that does not decode or apply.
    #[error("protocol: {0}")]
    Protocol(#[from] schema::ProtocolError),
    /// The server refused or closed the session.
    #[error("server error {code:?}: {message}")]
    Server {
        /// The code.
        code: ErrorCode,
        /// The message.
        message: String,
    },
    /// The connection closed.
    #[error("connection closed")]
    Closed,
    /// Nothing arrived in time.
    #[error("timed out")]
    Timeout,
}

/// A REST login answer.
#[derive(Clone, Debug, Deserialize)]
pub struct Login {
    /// The JWT.
    pub token: String,
    /// The account.
    pub account: serde_json::Value,
}

/// `POST /api/auth/guest {name}`.
pub async fn guest_login(base: &str, name: &str) -> Result<Login, ClientError> {
    let login = reqwest::Client::new()
        .post(format!("{base}/api/auth/guest"))
        .json(&serde_json::json!({ "name": name }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(login)
}

/// `POST /api/spaces {name, map}` (public); returns the space id.
pub async fn create_space(
    base: &str,
    token: &str,
    name: &str,
    map: &str,
) -> Result<String, ClientError> {
    let space: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/spaces"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": name, "map": map, "public": true }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(space["id"].as_str().unwrap_or_default().to_owned())
}

/// `GET /api/spaces/{id}/route`: the base URL of the node to connect to.
pub async fn route(base: &str, space: &str, token: &str) -> Result<String, ClientError> {
    let route: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/spaces/{space}/route"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(route["url"].as_str().unwrap_or(base).to_owned())
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One connected player.
#[derive(Debug)]
pub struct PlazaClient {
    socket: Socket,
    /// The Welcome the server sent.
    pub welcome: Welcome,
    /// The view rebuilt from snapshots.
    pub mirror: ClientMirror,
    /// Chat lines received.
    pub chat: Vec<ChatLine>,
    /// Signals received: (from, kind, payload).
    pub signals: Vec<(EntityId, SignalKind, String)>,
    /// Peers currently near.
    pub near: std::collections::BTreeSet<EntityId>,
    /// Errors the server sent (without closing).
    pub errors: Vec<(ErrorCode, String)>,
    /// Snapshots applied.
    pub snapshots: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Times the client followed a `Migrate` to another node.
    pub migrations: u64,
    /// The last input sequence number the server says it applied.
    pub acked_seq: u32,
    /// The node it is connected to.
    pub base: String,
    space: String,
    token: String,
    seq: u32,
    /// Inputs sent and not yet acknowledged (`Snapshot::last_input_seq`), re-sent after a
    /// migration: the new node applies those it has not seen.
    unacked: std::collections::VecDeque<(u32, Input)>,
}

impl PlazaClient {
    /// Connects to `base` (`http://host:port`), says Hello with `token`, and waits for Welcome.
    /// Follows `Migrate` answers (another node serves this player) up to a few times.
    pub async fn connect(base: &str, space: &str, token: &str) -> Result<PlazaClient, ClientError> {
        let (socket, welcome, base) = open(base, space, token, token).await?;
        Ok(PlazaClient {
            socket,
            welcome,
            mirror: ClientMirror::default(),
            chat: Vec::new(),
            signals: Vec::new(),
            near: Default::default(),
            errors: Vec::new(),
            snapshots: 0,
            bytes_in: 0,
            migrations: 0,
            acked_seq: 0,
            base,
            space: space.to_owned(),
            token: token.to_owned(),
            seq: 0,
            unacked: Default::default(),
        })
    }

    /// Asks any node (`base`) for the route, then connects there.
    pub async fn connect_routed(
        base: &str,
        space: &str,
        token: &str,
    ) -> Result<PlazaClient, ClientError> {
        let target = route(base, space, token).await?;
        PlazaClient::connect(&target, space, token).await
    }

    /// Connects again after the connection was lost (a node died): asks `base` for the
    /// route, reconnects there, and re-sends unacknowledged inputs.
    pub async fn reconnect_routed(&mut self, base: &str) -> Result<(), ClientError> {
        let target = route(base, &self.space, &self.token).await?;
        self.switch(&target, None).await
    }

    /// Moves to another node: `ticket` (or, without one, the player's token) in `Hello`.
    async fn switch(&mut self, url: &str, ticket: Option<&str>) -> Result<(), ClientError> {
        let hello = ticket.unwrap_or(&self.token).to_owned();
        let (socket, welcome, base) = open(url, &self.space, &hello, &self.token).await?;
        self.socket = socket;
        self.welcome = welcome;
        self.base = base;
        self.mirror = ClientMirror::default();
        self.near.clear();
        let resend: Vec<(u32, Input)> = self.unacked.iter().copied().collect();
        for (seq, input) in resend {
            self.send(&ClientMessage::Input { seq, input }).await?;
        }
        Ok(())
    }

    /// The player's own entity.
    pub fn me(&self) -> EntityId {
        self.welcome.entity
    }

    /// Sends a raw frame (tests of bad input).
    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> Result<(), ClientError> {
        self.socket.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    async fn send(&mut self, message: &ClientMessage) -> Result<(), ClientError> {
        self.send_raw(encode_client(message)).await
    }

    /// Sends a movement input with the next sequence number; returns it. A connection that
    /// the server is closing (it may be sending a `Migrate`) does not fail the call: the
    /// input stays unacknowledged and is re-sent to the next node; the next read tells
    /// whether the connection is really gone.
    pub async fn input(&mut self, input: Input) -> Result<u32, ClientError> {
        self.seq += 1;
        let seq = self.seq;
        self.unacked.push_back((seq, input));
        if let Err(e) = self.send(&ClientMessage::Input { seq, input }).await {
            tracing::debug!(error = %e, seq, "input not sent; kept for re-sending");
        }
        Ok(seq)
    }

    /// Sends a chat line.
    pub async fn say(&mut self, text: &str, scope: ChatScope) -> Result<(), ClientError> {
        self.send(&ClientMessage::Chat {
            text: text.to_owned(),
            scope,
        })
        .await
    }

    /// Sends a WebRTC signal to a peer.
    pub async fn signal(
        &mut self,
        to: EntityId,
        kind: SignalKind,
        payload: &str,
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::Signal {
            to,
            kind,
            payload: payload.to_owned(),
        })
        .await
    }

    /// Receives and handles one message (snapshots are applied and acknowledged).
    pub async fn step(&mut self, timeout: Duration) -> Result<ServerMessage, ClientError> {
        let message = next_message_counted(&mut self.socket, timeout, &mut self.bytes_in).await?;
        match &message {
            ServerMessage::Snapshot(snap) => {
                self.mirror.apply(snap)?;
                self.snapshots += 1;
                // A resumed avatar (reconnect) already applied inputs up to this seq; later
                // inputs must be numbered after it or the sim drops them as stale.
                self.seq = self.seq.max(snap.last_input_seq);
                self.acked_seq = snap.last_input_seq;
                while self
                    .unacked
                    .front()
                    .is_some_and(|(s, _)| *s <= snap.last_input_seq)
                {
                    self.unacked.pop_front();
                }
                let tick = snap.tick;
                // A failed ack is not fatal: frames already received (a `Migrate`) are
                // still read; the next read reports a connection that is really gone.
                if let Err(e) = self.send(&ClientMessage::Ack { tick }).await {
                    tracing::debug!(error = %e, tick, "ack not sent");
                }
            }
            ServerMessage::Migrate { url, ticket } => {
                let url = if url.is_empty() {
                    route(&self.base, &self.space, &self.token).await?
                } else {
                    url.clone()
                };
                let ticket = (!ticket.is_empty()).then_some(ticket.as_str());
                self.switch(&url, ticket).await?;
                self.migrations += 1;
            }
            ServerMessage::Chat(line) => self.chat.push(line.clone()),
            ServerMessage::Signal {
                from,
                kind,
                payload,
            } => self.signals.push((*from, *kind, payload.clone())),
            ServerMessage::Proximity { near, far } => {
                self.near.extend(near.iter().copied());
                for f in far {
                    self.near.remove(f);
                }
            }
            ServerMessage::Error { code, message } => self.errors.push((*code, message.clone())),
            _ => {}
        }
        Ok(message)
    }

    /// Handles messages until `done(self)` holds; `Ok(false)` when `timeout` passes first.
    pub async fn until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&PlazaClient) -> bool,
    ) -> Result<bool, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            match self.step(left).await {
                Ok(_) => {}
                Err(ClientError::Timeout) => return Ok(done(self)),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Handles whatever arrives during `duration`.
    pub async fn pump(&mut self, duration: Duration) -> Result<(), ClientError> {
        self.until(duration, |_| false).await.map(drop)
    }

    /// What this client sees of an entity.
    pub fn seen(&self, id: EntityId) -> Option<&VisibleState> {
        self.mirror.latest().slots.values().find(|s| s.id == id)
    }

    /// The tile this client sees an entity on.
    pub fn seen_at(&self, id: EntityId) -> Option<IVec2> {
        self.seen(id).map(|s| s.position)
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// Connects to `base`, says Hello with `hello` (a token or a ticket), and waits for Welcome,
/// following up to three `Migrate` redirects (with `token` when they carry no ticket).
async fn open(
    base: &str,
    space: &str,
    hello: &str,
    token: &str,
) -> Result<(Socket, Welcome, String), ClientError> {
    let (mut base, mut hello) = (base.to_owned(), hello.to_owned());
    for _ in 0..4 {
        let url = format!("{}/ws?space={space}", base.replacen("http", "ws", 1));
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
        let frame = encode_client(&ClientMessage::Hello {
            token: hello.clone(),
            protocol_version: PROTOCOL_VERSION,
        });
        socket.send(Message::Binary(frame.into())).await?;
        loop {
            match next_message(&mut socket, Duration::from_secs(10)).await? {
                ServerMessage::Welcome(w) => return Ok((socket, w, base)),
                ServerMessage::Error { code, message } => {
                    return Err(ClientError::Server { code, message });
                }
                ServerMessage::Migrate { url, ticket } => {
                    let _ = socket.close(None).await;
                    base = if url.is_empty() {
                        route(&base, space, token).await?
                    } else {
                        url
                    };
                    hello = if ticket.is_empty() {
                        token.to_owned()
                    } else {
                        ticket
                    };
                    break;
                }
                _ => continue,
            }
        }
    }
    Err(ClientError::Server {
        code: ErrorCode::INTERNAL,
        message: "redirected too many times".into(),
    })
}

async fn next_message(
    socket: &mut Socket,
    timeout: Duration,
) -> Result<ServerMessage, ClientError> {
    let mut ignored = 0;
    next_message_counted(socket, timeout, &mut ignored).await
}

async fn next_message_counted(
    socket: &mut Socket,
    timeout: Duration,
    bytes_in: &mut u64,
) -> Result<ServerMessage, ClientError> {
    loop {
        let frame = tokio::time::timeout(timeout, socket.next())
            .await
            .map_err(|_| ClientError::Timeout)?;
        match frame {
            Some(Ok(Message::Binary(bytes))) => {
                *bytes_in += bytes.len() as u64;
                return Ok(decode_server(&bytes)?);
            }
            Some(Ok(Message::Close(_))) | None => return Err(ClientError::Closed),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
        }
    }
}
