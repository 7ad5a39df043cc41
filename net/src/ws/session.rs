//! One WebSocket session: Hello, join, then frames both ways until either side closes.

use std::collections::VecDeque;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt;
use glam::IVec2;
use prometheus_client::metrics::counter::Counter;
use schema::{
    ChatLine, ChatScope, ClientMessage, ErrorCode, PROTOCOL_VERSION, ServerMessage, decode_client,
    encode_server,
};
use tokio::sync::mpsc;

use super::codes::{NOT_A_MEMBER, SHUTTING_DOWN, TIMEOUT, TOO_SLOW, UNAVAILABLE, UNKNOWN_SPACE};
use super::limits::ConnLimits;
use crate::cluster::{TICKET_TTL, Ticket};
use crate::driver::{Command, ConnId, JoinError, JoinRequest, Outbound, SpaceHandle};
use crate::metrics::{RejectLabels, SpaceLabels};
use crate::state::AppState;

/// Largest accepted WebSocket message, in bytes.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// How long a closing session waits for the client's Close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Longest a write to the client may take: a client whose socket takes no bytes for this
/// long (it does not read) is closed as too slow, and the socket released.
const WRITE_STALL: Duration = Duration::from_secs(2);

/// Limits of one session.
#[derive(Clone, Debug)]
pub struct SessionLimits {
    /// Time allowed for the first frame (`Hello`).
    pub hello_timeout: Duration,
    /// A session that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Movement inputs per second (burst: twice that).
    pub inputs_per_second: u32,
    /// Chat lines per second (burst: three times that).
    pub chat_per_second: u32,
    /// Signalling messages per second (burst: three times that).
    pub signals_per_second: u32,
    /// Frames of any kind per second (burst: twice that).
    pub frames_per_second: u32,
    /// Undecodable frames tolerated before the connection is closed.
    pub max_bad_frames: u32,
    /// Rate-limited frames tolerated before the connection is closed as a flood.
    pub max_rate_violations: u32,
}

impl Default for SessionLimits {
    fn default() -> SessionLimits {
        SessionLimits {
            hello_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            inputs_per_second: 30,
            chat_per_second: 2,
            signals_per_second: 30,
            frames_per_second: 120,
            max_bad_frames: 10,
            max_rate_violations: 50,
        }
    }
}

/// Why a session ended early, sent to the client as an `Error` before closing — or, for
/// a player who continues on another node, as a `Migrate`.
struct Refusal {
    code: ErrorCode,
    message: String,
    /// `(url, ticket)` of a `Migrate` to send instead of the error.
    migrate: Option<(String, String)>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
            migrate: None,
        }
    }

    /// Continue at `url` (with `ticket`, or the player's own token when it is empty).
    fn migrate(url: String, ticket: String) -> Refusal {
        Refusal {
            code: ErrorCode(0),
            message: String::new(),
            migrate: Some((url, ticket)),
        }
    }

    fn frame(&self) -> Vec<u8> {
        match &self.migrate {
            Some((url, ticket)) => encode_server(&ServerMessage::Migrate {
                url: url.clone(),
                ticket: ticket.clone(),
            }),
            None => error_frame(self.code, &self.message),
        }
    }
}

/// The authenticated, joined player of a session.
struct Player {
    conn: ConnId,
    account: i64,
    space: String,
    handle: SpaceHandle,
}

pub(super) async fn run(mut socket: WebSocket, state: AppState, space: String) {
    let (player, out_rx) = match accept(&mut socket, &state, &space).await {
        Ok(joined) => joined,
        Err(refusal) => {
            count_reject(&state, &space, "refused");
            close_with(&mut socket, refusal).await;
            return;
        }
    };
    let labels = SpaceLabels::new(&space);
    let end = serve(&mut socket, &state, &player, out_rx, &labels).await;
    leave(&player.handle, player.conn, player.account);
    match end {
        Some(refusal) => {
            match &refusal.migrate {
                Some((url, _)) => {
                    tracing::debug!(space = %player.space, account = player.account, %url, "session migrated");
                }
                None => {
                    tracing::info!(space = %player.space, account = player.account, code = refusal.code.0, reason = %refusal.message, "session closed by the server");
                }
            }
            close_with(&mut socket, refusal).await;
        }
        None => tracing::debug!(space = %player.space, account = player.account, "session ended"),
    }
}

/// How long a join waits for room in a busy space's command queue before it is refused
/// as unavailable (retry later).
const JOIN_QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Joins tried again when the space ended under them (it was unloaded as they came).
const MAX_RELOADS: u32 = 2;
/// Pause between two tries to queue a command in a full space queue.
const QUEUE_RETRY: Duration = Duration::from_millis(20);

/// Tells the space that a joined player's connection is gone. The `Leave` must not be lost
/// (the avatar would keep its link and be sent snapshots for ever), so when the space's
/// queue is full it is retried from a task for a while.
fn leave(handle: &SpaceHandle, conn: ConnId, account: i64) {
    if handle.send(Command::Leave { conn, account }) {
        return;
    }
    let handle = handle.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + JOIN_QUEUE_WAIT;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(QUEUE_RETRY).await;
            if handle.send(Command::Leave { conn, account }) {
                return;
            }
        }
        tracing::warn!(account, "cannot tell a busy space that a player left");
    });
}

/// Waits for `Hello`, authenticates, checks the space and membership, and joins; returns the
/// player and the queue of frames the space sends it.
async fn accept(
    socket: &mut WebSocket,
    state: &AppState,
    space_id: &str,
) -> Result<(Player, mpsc::Receiver<Outbound>), Refusal> {
    let limits = &state.session_limits;
    let first = tokio::time::timeout(limits.hello_timeout, next_binary(socket))
        .await
        .map_err(|_| Refusal::new(TIMEOUT, "no Hello within the time allowed"))?
        .ok_or_else(|| Refusal::new(ErrorCode::BAD_MESSAGE, "expected a binary Hello frame"))?;
    let (token, version) = match decode_client(&first) {
        Ok(ClientMessage::Hello {
            token,
            protocol_version,
        }) => (token, protocol_version),
        Ok(_) => {
            return Err(Refusal::new(
                ErrorCode::BAD_MESSAGE,
                "the first message must be Hello",
            ));
        }
        Err(e) => return Err(Refusal::new(ErrorCode::BAD_MESSAGE, e.to_string())),
    };
    if version != PROTOCOL_VERSION {
        return Err(Refusal::new(
            ErrorCode::WRONG_VERSION,
            format!("server speaks protocol {PROTOCOL_VERSION}, client {version}"),
        ));
    }
    // A migrate ticket says "continue here": no redirect to where the player was.
    let (account_id, migrating) = match state.auth.verify(&token) {
        Ok(identity) => (identity.account, false),
        // Not an access token: maybe a migrate ticket from another node.
        Err(e) => match state.spaces.node().tickets.verify(&token) {
            Ok(ticket) => (redeem_ticket(state, ticket, space_id).await?, true),
            Err(_) => return Err(Refusal::new(ErrorCode::UNAUTHORIZED, e.to_string())),
        },
    };
    let internal = |e: persistence::StoreError| {
        tracing::error!(error = %e, "database error during join");
        Refusal::new(ErrorCode::INTERNAL, "internal error")
    };
    let store = &state.store;
    let space = store
        .space(space_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| Refusal::new(UNKNOWN_SPACE, format!("no space {space_id:?}")))?;
    let account = store
        .account(account_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| Refusal::new(ErrorCode::UNAUTHORIZED, "account no longer exists"))?;
    let member = store
        .is_member(&space.id, account.id)
        .await
        .map_err(internal)?;
    if !member {
        if !space.public && space.owner != account.id {
            return Err(Refusal::new(
                NOT_A_MEMBER,
                "this space is private; ask for an invite",
            ));
        }
        store
            .join_space(&space.id, account.id)
            .await
            .map_err(internal)?;
    }
    let saved = store
        .last_position(&space.id, account.id)
        .await
        .map_err(internal)?
        .map(|p| IVec2::new(p.x, p.y));
    let map = state
        .maps
        .get(&space.map)
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::INTERNAL,
                format!("map {:?} is missing", space.map),
            )
        })?
        .tile_map
        .clone();
    if !migrating && let Some(url) = serving_elsewhere(state, &space.id, account.id).await? {
        return Err(Refusal::migrate(url, String::new()));
    }
    let conn = ConnId::next();
    // A space whose command queue is full (a join burst, or a space that is behind) refuses
    // the join at once: wait for room rather than fail a join the space could queue.
    let deadline = tokio::time::Instant::now() + JOIN_QUEUE_WAIT;
    let mut reloads = 0;
    let (handle, joined, out_rx) = loop {
        let handle = state
            .spaces
            .handle(&space, map.clone())
            .ok_or_else(|| Refusal::new(SHUTTING_DOWN, "server shutting down"))?;
        let (out, out_rx) = mpsc::channel(state.spaces.config().outbound_capacity);
        let request = JoinRequest {
            conn,
            account: account.id,
            name: account.display_name.clone(),
            avatar: avatar_index(&account.avatar),
            saved,
            out,
        };
        match handle.join(request).await {
            Ok(joined) => break (handle, joined, out_rx),
            Err(JoinError::Busy)
                if !state.shutdown.is_triggered() && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(QUEUE_RETRY).await;
            }
            Err(JoinError::Busy | JoinError::Closed) if state.shutdown.is_triggered() => {
                return Err(Refusal::new(SHUTTING_DOWN, "server shutting down"));
            }
            // The space was unloaded (empty) between the lookup and the join: the next
            // lookup loads it again.
            Err(JoinError::Closed) if reloads < MAX_RELOADS => reloads += 1,
            Err(JoinError::Busy) => {
                return Err(Refusal::new(
                    UNAVAILABLE,
                    "the space is too busy to join right now; retry",
                ));
            }
            Err(JoinError::Elsewhere(url)) => return Err(Refusal::migrate(url, String::new())),
            Err(e) => return Err(Refusal::new(e.code(), e.to_string())),
        }
    };
    let player = Player {
        conn,
        account: account.id,
        space: space.id,
        handle,
    };
    // Joined: from here on a failure must also take the avatar's link back.
    match welcome_player(socket, state, &player, joined.welcome).await {
        Ok(()) => {
            tracing::info!(space = %player.space, account = player.account, resumed = joined.resumed, "player joined");
            Ok((player, out_rx))
        }
        Err(refusal) => {
            leave(&player.handle, player.conn, player.account);
            Err(refusal)
        }
    }
}

/// Sends `Welcome` and the space's chat history, flushed once.
async fn welcome_player(
    socket: &mut WebSocket,
    state: &AppState,
    player: &Player,
    welcome: schema::Welcome,
) -> Result<(), Refusal> {
    let lost = |_| Refusal::new(ErrorCode::INTERNAL, "connection lost");
    let counter = state
        .metrics
        .bytes_out
        .get_or_create(&SpaceLabels::new(&player.space))
        .clone();
    // The history first: when the database fails, nothing has been sent yet.
    let history = state
        .store
        .chat_history(&player.space, state.store.chat_history_limit())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "database error during join");
            Refusal::new(ErrorCode::INTERNAL, "internal error")
        })?;
    let welcome = encode_server(&ServerMessage::Welcome(welcome));
    counter.inc_by(welcome.len() as u64);
    socket
        .feed(Message::Binary(welcome.into()))
        .await
        .map_err(lost)?;
    for line in history
        .into_iter()
        .filter(|l| l.scope == persistence::ChatScope::Space)
    {
        let frame = encode_server(&ServerMessage::Chat(ChatLine {
            from: None,
            from_name: line.sender_name,
            text: line.body,
            scope: ChatScope::Space,
            time: u64::try_from(line.sent_at).unwrap_or(0),
        }));
        counter.inc_by(frame.len() as u64);
        socket
            .feed(Message::Binary(frame.into()))
            .await
            .map_err(lost)?;
    }
    socket.flush().await.map_err(lost)
}

/// The account of a verified migrate ticket for `space`, consumed (single use).
async fn redeem_ticket(state: &AppState, ticket: Ticket, space: &str) -> Result<i64, Refusal> {
    let unauthorized = |why: String| Refusal::new(ErrorCode::UNAUTHORIZED, why);
    let node = state.spaces.node();
    if ticket.space != space {
        return Err(unauthorized("the ticket is for another space".into()));
    }
    let directory = node
        .directory
        .as_ref()
        .ok_or_else(|| unauthorized("tickets are only valid in a cluster".into()))?;
    match directory.consume_once(&ticket.id, TICKET_TTL).await {
        Ok(true) => Ok(ticket.account),
        Ok(false) => Err(unauthorized("the ticket was already used".into())),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check a ticket");
            Err(Refusal::new(
                UNAVAILABLE,
                "the cluster cannot check tickets right now; retry",
            ))
        }
    }
}

/// In a cluster: marks the space in use, and returns the URL of the live node that serves
/// this player's avatar when it is not this one.
async fn serving_elsewhere(
    state: &AppState,
    space: &str,
    account: i64,
) -> Result<Option<String>, Refusal> {
    let node = state.spaces.node();
    let Some(directory) = &node.directory else {
        return Ok(None);
    };
    // Redis down: serve what this node can (its own regions), as when Redis is up.
    if directory.add_space(space).await.is_err() {
        return Ok(None);
    }
    if let Some(coordinator) = &state.coordinator {
        coordinator.poke();
    }
    let Ok(Some(serving)) = directory.player_node(space, account).await else {
        return Ok(None);
    };
    if serving == node.node_id {
        return Ok(None);
    }
    let live = directory.live_nodes().await.unwrap_or_default();
    Ok(live.get(&serving).cloned())
}

/// Most queued frames written before one flush (the outbound queue holds 256 by default).
const MAX_BATCH: usize = 256;

/// Relays frames both ways. Returns the reason to send when the server ends the session.
async fn serve(
    socket: &mut WebSocket,
    state: &AppState,
    player: &Player,
    mut out_rx: mpsc::Receiver<Outbound>,
    labels: &SpaceLabels,
) -> Option<Refusal> {
    let limits = &state.session_limits;
    let buckets = ConnLimits::new(limits);
    let (mut bad_frames, mut violations) = (0u32, 0u32);
    // The counters of this space, looked up once (not per frame).
    let counters = Counters {
        bytes_in: state.metrics.bytes_in.get_or_create(labels).clone(),
        bytes_out: state.metrics.bytes_out.get_or_create(labels).clone(),
    };
    // Idle = nothing received: frames sent to the client do not count. One timer for the
    // whole session: a received frame only notes the time, and the timer, when it fires,
    // is moved to the real deadline (no timer is created or reset per frame).
    let mut last_received = tokio::time::Instant::now();
    let idle = tokio::time::sleep(limits.idle_timeout);
    tokio::pin!(idle);
    // Messages the space's full queue did not take yet, and the timer that retries them.
    let mut held = Held::default();
    let retry = tokio::time::sleep(QUEUE_RETRY);
    tokio::pin!(retry);
    let mut retry_armed = false;
    // One shutdown subscription for the whole session: a new one per loop turn registered
    // a waiter with the shutdown channel (a lock shared by every session) per frame.
    let shutdown = state.shutdown.wait();
    tokio::pin!(shutdown);
    loop {
        if !retry_armed && !held.is_empty() {
            retry
                .as_mut()
                .reset(tokio::time::Instant::now() + QUEUE_RETRY);
            retry_armed = true;
        }
        tokio::select! {
            () = &mut retry, if retry_armed => {
                retry_armed = false;
                held.retry(player);
            }
            () = &mut shutdown => {
                return Some(Refusal::new(SHUTTING_DOWN, "server shutting down"));
            }
            () = &mut idle => {
                let deadline = last_received + limits.idle_timeout;
                if tokio::time::Instant::now() >= deadline {
                    return Some(Refusal::new(TIMEOUT, "idle for too long"));
                }
                idle.as_mut().reset(deadline);
            }
            out = out_rx.recv() => match out {
                Some(first) => match bounded(write_queued(socket, &counters, first, &mut out_rx)).await {
                    Some(Ok(None)) => {}
                    Some(Ok(Some(refusal))) => return Some(refusal),
                    Some(Err(_)) => return None,
                    None => return Some(Refusal::new(TOO_SLOW, "dropped: the connection takes no more bytes")),
                },
                None => return Some(Refusal::new(TOO_SLOW, "dropped: the connection could not keep up")),
            },
            frame = socket.recv() => {
                last_received = tokio::time::Instant::now();
                let verdict = match frame {
                    None | Some(Ok(Message::Close(_))) => return None,
                    Some(Err(e)) => {
                        tracing::debug!(space = %player.space, account = player.account, error = %e, "connection failed");
                        return None;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Text(_))) => {
                        Verdict::Bad("text_frame", "frames must be binary FlatBuffers".into())
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        counters.bytes_in.inc_by(bytes.len() as u64);
                        handle_frame(player, &buckets, &bytes)
                    }
                };
                match verdict {
                    Verdict::Forward(pending) => {
                        if !held.forward(player, pending) {
                            count_reject(state, &player.space, "space_busy");
                            let frame = error_frame(ErrorCode::RATE_LIMITED, "space is busy; message dropped");
                            if send_counted(socket, &counters, frame).await.is_err() {
                                return None;
                            }
                        }
                    }
                    Verdict::Reply(frame) => {
                        if send_counted(socket, &counters, frame).await.is_err() {
                            return None;
                        }
                    }
                    Verdict::Bad(label, reason) => {
                        bad_frames += 1;
                        count_reject(state, &player.space, label);
                        if bad_frames > limits.max_bad_frames {
                            return Some(Refusal::new(ErrorCode::BAD_MESSAGE, "too many bad frames"));
                        }
                        let _ = send_counted(socket, &counters, error_frame(ErrorCode::BAD_MESSAGE, &reason)).await;
                    }
                    Verdict::Limited(what) => {
                        violations += 1;
                        count_reject(state, &player.space, "rate_limited");
                        if violations > limits.max_rate_violations {
                            return Some(Refusal::new(ErrorCode::RATE_LIMITED, "flood: too many messages"));
                        }
                        let _ = send_counted(socket, &counters, error_frame(ErrorCode::RATE_LIMITED, &format!("too many {what}; slow down"))).await;
                    }
                }
            }
        }
    }
}

/// The space's byte counters, held by a session.
struct Counters {
    bytes_in: Counter,
    bytes_out: Counter,
}

/// Runs a write to the client for at most [`WRITE_STALL`] (`None`: it stalled). A write
/// the socket takes at once (the usual case) finishes without arming a timer.
async fn bounded<T>(write: impl Future<Output = T>) -> Option<T> {
    let mut write = std::pin::pin!(write);
    if let std::task::Poll::Ready(done) = futures_util::poll!(write.as_mut()) {
        return Some(done);
    }
    tokio::time::timeout(WRITE_STALL, write).await.ok()
}

/// Writes `first` and every frame already queued behind it (at most [`MAX_BATCH`]) with one
/// flush. A `Close` or `Migrate` in the queue ends the batch: the frames before it are
/// flushed, then its refusal is returned for the caller to send, as when it comes alone.
async fn write_queued(
    socket: &mut WebSocket,
    counters: &Counters,
    first: Outbound,
    out_rx: &mut mpsc::Receiver<Outbound>,
) -> Result<Option<Refusal>, axum::Error> {
    let mut next = Some(first);
    let mut written = 0usize;
    let mut end = None;
    while let Some(out) = next.take() {
        match out {
            Outbound::Frames(frames) => {
                for bytes in frames {
                    let len = bytes.len() as u64;
                    socket.feed(Message::Binary(bytes.into())).await?;
                    counters.bytes_out.inc_by(len);
                    written += 1;
                }
            }
            Outbound::Close { code, message } => {
                end = Some(Refusal::new(code, message));
                break;
            }
            Outbound::Migrate { url, ticket } => {
                end = Some(Refusal::migrate(url, ticket));
                break;
            }
        }
        if written < MAX_BATCH {
            // Empty or closed: the next `recv` waits, or reports the closed queue.
            next = out_rx.try_recv().ok();
        }
    }
    if written > 0 {
        socket.flush().await?;
    }
    Ok(end)
}

/// Sends one frame (flushed) and counts its bytes.
async fn send_counted(
    socket: &mut WebSocket,
    counters: &Counters,
    bytes: Vec<u8>,
) -> Result<(), axum::Error> {
    let len = bytes.len() as u64;
    socket.send(Message::Binary(bytes.into())).await?;
    counters.bytes_out.inc_by(len);
    Ok(())
}

enum Verdict {
    /// A message for the space.
    Forward(Pending),
    Reply(Vec<u8>),
    /// An undecodable or invalid frame: (metric label, reason sent to the client).
    Bad(&'static str, String),
    Limited(&'static str),
}

/// Decodes one client frame and forwards it to the space.
fn handle_frame(player: &Player, buckets: &ConnLimits, bytes: &[u8]) -> Verdict {
    if buckets.frames.check().is_err() {
        return Verdict::Limited("messages");
    }
    let message = match decode_client(bytes) {
        Ok(m) => m,
        Err(e) => return Verdict::Bad("bad_message", e.to_string()),
    };
    let pending = match message {
        ClientMessage::Hello { .. } => {
            return Verdict::Bad("bad_message", "already said Hello".into());
        }
        ClientMessage::Ping { client_time } => {
            return Verdict::Reply(encode_server(&ServerMessage::Pong {
                client_time,
                server_tick: player.handle.tick(),
            }));
        }
        ClientMessage::Input { seq, input } => {
            if buckets.inputs.check().is_err() {
                return Verdict::Limited("inputs");
            }
            Pending::Input { seq, input }
        }
        ClientMessage::Ack { tick } => Pending::Ack { tick },
        ClientMessage::Chat { text, scope } => {
            if buckets.chat.check().is_err() {
                return Verdict::Limited("chat lines");
            }
            let text = text.trim().to_owned();
            if text.is_empty() {
                return Verdict::Bad("bad_message", "empty chat line".into());
            }
            Pending::Chat { text, scope }
        }
        ClientMessage::Signal { to, kind, payload } => {
            if buckets.signals.check().is_err() {
                return Verdict::Limited("signals");
            }
            Pending::Signal { to, kind, payload }
        }
    };
    Verdict::Forward(pending)
}

/// A client message for the space, kept until the space's queue takes it.
enum Pending {
    Input {
        seq: u32,
        input: sim::Input,
    },
    Ack {
        tick: u64,
    },
    Chat {
        text: String,
        scope: ChatScope,
    },
    Signal {
        to: sim::EntityId,
        kind: schema::SignalKind,
        payload: String,
    },
}

impl Pending {
    fn command(&self, player: &Player) -> Command {
        let (conn, account) = (player.conn, player.account);
        match self {
            Pending::Input { seq, input } => Command::Input {
                conn,
                account,
                seq: *seq,
                input: *input,
            },
            Pending::Ack { tick } => Command::Ack {
                conn,
                account,
                tick: *tick,
            },
            Pending::Chat { text, scope } => Command::Chat {
                conn,
                account,
                text: text.clone(),
                scope: *scope,
            },
            Pending::Signal { to, kind, payload } => Command::Signal {
                conn,
                account,
                to: *to,
                kind: *kind,
                payload: payload.clone(),
            },
        }
    }
}

/// Most messages (inputs, chat lines, signals) a session holds back while its space's queue
/// is full; past that, new ones are dropped and the client is told.
const MAX_HELD: usize = 32;

/// Messages of one session that the space's full queue did not take yet, retried in order
/// until it does: a burst the space is late to read waits here instead of being dropped.
/// Acknowledgements are cumulative, so only the latest one is kept.
#[derive(Default)]
struct Held {
    /// The latest acknowledged tick not yet delivered.
    ack: Option<u64>,
    /// Other messages, oldest first.
    messages: VecDeque<Pending>,
}

impl Held {
    fn is_empty(&self) -> bool {
        self.ack.is_none() && self.messages.is_empty()
    }

    /// Sends `pending` to the space, after any held messages. `false`: dropped (the
    /// session holds too many already).
    fn forward(&mut self, player: &Player, pending: Pending) -> bool {
        match pending {
            Pending::Ack { tick } => {
                self.ack = Some(self.ack.map_or(tick, |held| held.max(tick)));
            }
            other => {
                if self.messages.len() >= MAX_HELD {
                    self.retry(player);
                    if self.messages.len() >= MAX_HELD {
                        return false;
                    }
                }
                self.messages.push_back(other);
            }
        }
        self.retry(player);
        true
    }

    /// Sends what the space's queue takes now.
    fn retry(&mut self, player: &Player) {
        if let Some(tick) = self.ack
            && player.handle.send(Pending::Ack { tick }.command(player))
        {
            self.ack = None;
        }
        while let Some(next) = self.messages.front() {
            if !player.handle.send(next.command(player)) {
                break;
            }
            self.messages.pop_front();
        }
    }
}

async fn next_binary(socket: &mut WebSocket) -> Option<Vec<u8>> {
    loop {
        match socket.recv().await? {
            Ok(Message::Binary(bytes)) => return Some(bytes.to_vec()),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            _ => return None,
        }
    }
}

fn error_frame(code: ErrorCode, message: &str) -> Vec<u8> {
    encode_server(&ServerMessage::Error {
        code,
        message: message.to_owned(),
    })
}

async fn close_with(socket: &mut WebSocket, refusal: Refusal) {
    // A client that does not read must not hold the session (and its socket) open: each
    // write is bounded, and one that stalls gives up on the closing handshake.
    let sent = tokio::time::timeout(WRITE_STALL, async {
        socket.feed(Message::Binary(refusal.frame().into())).await?;
        socket.send(Message::Close(None)).await
    })
    .await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    // Finish the closing handshake: read (and drop) what the client still sends until its
    // Close. Dropping a socket with unread bytes makes the kernel reset the connection, and
    // the reset can discard the Error frame before the client reads it. A migrating player
    // must read its `Migrate` to go on at all, so a busy client gets as long as its ticket
    // lives.
    let grace = if refusal.migrate.is_some() {
        TICKET_TTL
    } else if refusal.code == TOO_SLOW {
        // It does not read: its Close is not coming.
        CLOSE_GRACE / 4
    } else {
        CLOSE_GRACE
    };
    let _ = tokio::time::timeout(grace, async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

fn count_reject(state: &AppState, space: &str, reason: &str) {
    state
        .metrics
        .rejected_frames
        .get_or_create(&RejectLabels::new(space, reason))
        .inc();
}

/// The sprite index of a stored avatar name like `"avatar-3"` (or `"3"`); 0 when none.
fn avatar_index(avatar: &str) -> u16 {
    let digits: String = avatar
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .chars()
        .rev()
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::CommandQueue;

    /// A player whose space queue holds `capacity` commands, and the queue's far end.
    fn player(capacity: usize) -> (Player, CommandQueue) {
        let (handle, rx) = SpaceHandle::on_queue(capacity);
        let player = Player {
            conn: ConnId::next(),
            account: 7,
            space: "s".into(),
            handle,
        };
        (player, rx)
    }

    fn input(seq: u32) -> Pending {
        Pending::Input {
            seq,
            input: sim::Input::Stop,
        }
    }

    /// What reached the space, in order: input seqs, and acks as `1000 + tick`.
    fn drain(rx: &CommandQueue) -> Vec<u64> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|c| match c {
                Command::Input {
                    seq, account: 7, ..
                } => u64::from(seq),
                Command::Ack { tick, .. } => 1000 + tick,
                _ => panic!("unexpected command"),
            })
            .collect()
    }

    #[test]
    fn a_full_space_queue_holds_messages_and_delivers_them_in_order() {
        let (player, rx) = player(2);
        let mut held = Held::default();
        for seq in 1..=4 {
            assert!(held.forward(&player, input(seq)));
        }
        // Acks are cumulative: only the latest held one is kept.
        assert!(held.forward(&player, Pending::Ack { tick: 5 }));
        assert!(held.forward(&player, Pending::Ack { tick: 9 }));
        assert!(held.forward(&player, Pending::Ack { tick: 8 }));
        assert_eq!(drain(&rx), [1, 2], "the queue took what fitted");
        assert!(!held.is_empty());
        held.retry(&player);
        assert_eq!(
            drain(&rx),
            [1009, 3],
            "the latest ack, then the oldest input"
        );
        held.retry(&player);
        assert_eq!(drain(&rx), [4]);
        assert!(held.is_empty());
    }

    #[test]
    fn past_the_hold_limit_new_messages_are_dropped_and_acks_are_not() {
        let (player, rx) = player(1);
        let mut held = Held::default();
        assert!(held.forward(&player, input(0)), "the queue takes the first");
        for seq in 1..=MAX_HELD as u32 {
            assert!(held.forward(&player, input(seq)), "held: {seq}");
        }
        let dropped = MAX_HELD as u32 + 1;
        assert!(!held.forward(&player, input(dropped)), "one too many");
        assert!(
            held.forward(&player, Pending::Ack { tick: 3 }),
            "an ack is kept"
        );
        let mut seen = Vec::new();
        while !held.is_empty() {
            seen.extend(drain(&rx));
            held.retry(&player);
        }
        seen.extend(drain(&rx));
        let inputs: Vec<u64> = seen.iter().copied().filter(|&v| v < 1000).collect();
        assert_eq!(inputs, (0..=u64::from(MAX_HELD as u32)).collect::<Vec<_>>());
        assert!(seen.contains(&1003));
        assert!(!seen.contains(&u64::from(dropped)));
    }
}
