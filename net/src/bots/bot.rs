//! One bot: guest login, WebSocket session, inputs by behaviour, chat, acks, latency.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{FutureExt as _, SinkExt, StreamExt};
use glam::IVec2;
use hdrhistogram::Histogram;
use schema::{
    ChatScope, ClientMessage, ClientMirror, ErrorCode, PROTOCOL_VERSION, ServerMessage, Welcome,
    ack_due, decode_server, encode_client,
};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::behaviour::{Behaviour, Mover, Rng};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a bot waits for the WebSocket handshake and for its Welcome.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// Inputs waiting for their echo, at most (older ones are dropped as unechoed).
const MAX_PENDING: usize = 256;
/// Protocol error messages kept for the report.
const MAX_PROTOCOL_SAMPLES: usize = 5;

/// What every bot of a run shares: the plan and the tallies.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `http://host:port`, without a trailing slash.
    pub(crate) base: String,
    /// The spaces the bots join: bot `i` joins `spaces[i % spaces.len()]`.
    pub(crate) spaces: Vec<String>,
    /// The measured phase, set once every bot has joined (or failed).
    pub(crate) phase: OnceLock<Phase>,
    /// Time between two inputs of one bot.
    pub(crate) input_interval: Duration,
    /// Mean time between two chat lines of one bot (`None`: no chat).
    pub(crate) chat_interval: Option<Duration>,
    /// How bots move.
    pub(crate) behaviour: Behaviour,
    /// Seed of the bots' generators.
    pub(crate) seed: u64,
    /// REST client (connection pooling across logins).
    pub(crate) http: reqwest::Client,
    /// Limits concurrent logins + handshakes.
    pub(crate) login_gate: Semaphore,
    /// Input → echo latency in µs, for inputs sent in the measured phase.
    pub(crate) latency: Mutex<Histogram<u64>>,
    /// Errors by kind.
    pub(crate) errors: Mutex<BTreeMap<String, u64>>,
    /// First protocol error messages.
    pub(crate) protocol_samples: Mutex<Vec<String>>,
    /// Live figures for the progress bar.
    pub(crate) live: Live,
    /// Tick rate the server announced in Welcome.
    pub(crate) tick_hz: AtomicU32,
}

/// The measured phase of a run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Phase {
    /// When it starts (every bot has joined).
    pub(crate) steady_start: Instant,
    /// When it ends and the bots stop.
    pub(crate) end: Instant,
}

impl Phase {
    fn measured(&self, at: Instant) -> bool {
        at >= self.steady_start
    }
}

/// Counters the progress bar reads while the run goes on.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub(crate) connected: AtomicU64,
    pub(crate) alive: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) messages_in: AtomicU64,
}

impl Shared {
    pub(crate) fn error(&self, kind: impl Into<String>) {
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors.entry(kind.into()).or_default() += 1;
    }

    fn protocol_error(&self, what: String) {
        self.error("protocol");
        let mut samples = self
            .protocol_samples
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if samples.len() < MAX_PROTOCOL_SAMPLES {
            samples.push(what);
        }
    }
}

/// Message and byte counts of one bot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) messages_in: u64,
    pub(crate) messages_out: u64,
    pub(crate) snapshots: u64,
    pub(crate) inputs: u64,
    pub(crate) chat_out: u64,
    pub(crate) chat_in: u64,
    /// Tiles the bot's own avatar moved, as its snapshots showed.
    pub(crate) moves: u64,
}

impl Counters {
    fn since(self, base: Counters) -> Counters {
        Counters {
            bytes_in: self.bytes_in - base.bytes_in,
            bytes_out: self.bytes_out - base.bytes_out,
            messages_in: self.messages_in - base.messages_in,
            messages_out: self.messages_out - base.messages_out,
            snapshots: self.snapshots - base.snapshots,
            inputs: self.inputs - base.inputs,
            chat_out: self.chat_out - base.chat_out,
            chat_in: self.chat_in - base.chat_in,
            moves: self.moves - base.moves,
        }
    }

    pub(crate) fn add(&mut self, o: Counters) {
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.messages_in += o.messages_in;
        self.messages_out += o.messages_out;
        self.snapshots += o.snapshots;
        self.inputs += o.inputs;
        self.chat_out += o.chat_out;
        self.chat_in += o.chat_in;
        self.moves += o.moves;
    }
}

/// How one bot's run went.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome {
    /// It got its Welcome.
    pub(crate) connected: bool,
    /// It was still connected when the run ended.
    pub(crate) alive_at_end: bool,
    /// Counts during the measured phase.
    pub(crate) steady: Counters,
    /// Seconds it was connected during the measured phase.
    pub(crate) steady_seconds: f64,
    /// Inputs of the measured phase that were never echoed (sent ≥ 1 s before the end).
    pub(crate) unechoed: u64,
    /// Inputs of the measured phase that were echoed.
    pub(crate) echoed: u64,
    /// It got its Welcome after the measured phase had started (joins were still going on
    /// when the join grace ran out).
    pub(crate) joined_late: bool,
}

/// Runs bot `index`: starts at `start_at`, stops at the end of the measured phase.
pub(crate) async fn run(index: usize, start_at: Instant, shared: Arc<Shared>) -> Outcome {
    let mut outcome = Outcome::default();
    tokio::time::sleep_until(start_at.into()).await;
    if shared.phase.get().is_some_and(|p| Instant::now() >= p.end) {
        return outcome;
    }
    let opened = {
        let _permit = shared.login_gate.acquire().await;
        open(index, &shared).await
    };
    let (socket, welcome) = match opened {
        Ok(opened) => opened,
        Err(kind) => {
            shared.error(kind);
            shared.live.failed.fetch_add(1, Ordering::Relaxed);
            return outcome;
        }
    };
    outcome.connected = true;
    outcome.joined_late = shared
        .phase
        .get()
        .is_some_and(|p| p.measured(Instant::now()));
    shared.live.connected.fetch_add(1, Ordering::Relaxed);
    shared.live.alive.fetch_add(1, Ordering::Relaxed);
    shared
        .tick_hz
        .store(u32::from(welcome.tick_rate), Ordering::Relaxed);
    let seed = shared
        .seed
        .wrapping_add((index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut session = Session {
        socket,
        welcome,
        mirror: ClientMirror::new(),
        mover: Mover::new(shared.behaviour, seed),
        rng: Rng::new(seed ^ 0x5851_f42d_4c95_7f2d),
        seq: 0,
        acked: None,
        pending: VecDeque::new(),
        counters: Counters::default(),
        baseline: None,
        others: Vec::new(),
        position: None,
        chats: 0,
        index,
    };
    let result = session.run(&shared, &mut outcome).await;
    let phase = shared.phase.get().copied();
    let stopped = phase.map_or(Instant::now(), |p| Instant::now().min(p.end));
    shared.live.alive.fetch_sub(1, Ordering::Relaxed);
    match result {
        Ok(()) => outcome.alive_at_end = true,
        Err(End::Error(kind)) => {
            shared.error(kind);
            shared.live.failed.fetch_add(1, Ordering::Relaxed);
        }
        Err(End::Protocol(what)) => {
            shared.protocol_error(what);
            shared.live.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    if let Some((base, since)) = session.baseline {
        outcome.steady = session.counters.since(base);
        outcome.steady_seconds = stopped.saturating_duration_since(since).as_secs_f64();
    }
    if let Some(p) = phase {
        let late = p.end.checked_sub(Duration::from_secs(1)).unwrap_or(p.end);
        outcome.unechoed = session
            .pending
            .iter()
            .filter(|(_, sent)| p.measured(*sent) && *sent < late)
            .count() as u64;
    }
    if outcome.alive_at_end {
        let _ = tokio::time::timeout(Duration::from_secs(2), session.socket.close(None)).await;
    }
    outcome
}

/// A failure that ends a bot's session.
enum End {
    /// Any failure but a protocol error, by kind.
    Error(String),
    /// The server sent something that does not decode or apply.
    Protocol(String),
}

fn code_name(code: ErrorCode) -> String {
    let name = match code.0 {
        1 => "bad_message",
        2 => "unauthorized",
        3 => "wrong_version",
        4 => "rate_limited",
        5 => "not_near",
        6 => "full",
        7 => "internal",
        8 => "unknown_space",
        9 => "not_a_member",
        10 => "replaced",
        11 => "too_slow",
        12 => "shutting_down",
        13 => "timeout",
        other => return format!("code_{other}"),
    };
    name.to_owned()
}

/// The bots' WebSocket settings: a 16 KiB read buffer instead of tungstenite's 128 KiB, which
/// it zero-fills before every read (thousands of bots reading small frames spent most of
/// their CPU in that memset).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(16 * 1024)
}

/// Guest login, WebSocket handshake, Hello → Welcome. Errors are error kinds.
async fn open(index: usize, shared: &Shared) -> Result<(Socket, Welcome), String> {
    let response = shared
        .http
        .post(format!("{}/api/auth/guest", shared.base))
        .json(&serde_json::json!({ "name": format!("bot-{index}") }))
        .send()
        .await
        .map_err(|_| "login_failed".to_owned())?;
    match response.status().as_u16() {
        200 | 201 => {}
        429 => return Err("login_rate_limited".into()),
        status => return Err(format!("login_http_{status}")),
    }
    let login: crate::client::Login = response
        .json()
        .await
        .map_err(|_| "login_failed".to_owned())?;
    let url = format!(
        "{}/ws?space={}",
        shared.base.replacen("http", "ws", 1),
        shared.spaces[index % shared.spaces.len()]
    );
    // TCP_NODELAY, as browsers do: small acks and inputs must not wait for Nagle.
    let (mut socket, _) = tokio::time::timeout(
        OPEN_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true),
    )
    .await
    .map_err(|_| "connect_timeout".to_owned())?
    .map_err(|_| "connect_failed".to_owned())?;
    let hello = encode_client(&ClientMessage::Hello {
        token: login.token,
        protocol_version: PROTOCOL_VERSION,
    });
    socket
        .send(Message::Binary(hello.into()))
        .await
        .map_err(|_| "connect_failed".to_owned())?;
    let deadline = tokio::time::Instant::now() + OPEN_TIMEOUT;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| "welcome_timeout".to_owned())?;
        match frame {
            Some(Ok(Message::Binary(bytes))) => match decode_server(&bytes) {
                Ok(ServerMessage::Welcome(welcome)) => return Ok((socket, welcome)),
                Ok(ServerMessage::Error { code, .. }) => {
                    return Err(format!("refused:{}", code_name(code)));
                }
                Ok(_) => continue,
                Err(_) => return Err("protocol".into()),
            },
            Some(Ok(Message::Close(_))) | None => return Err("closed_before_welcome".into()),
            Some(Ok(_)) => continue,
            Some(Err(_)) => return Err("ws_error".into()),
        }
    }
}

struct Session {
    socket: Socket,
    welcome: Welcome,
    mirror: ClientMirror,
    mover: Mover,
    rng: Rng,
    seq: u32,
    /// The tick of the last `Ack` sent.
    acked: Option<u64>,
    /// Inputs sent and not yet echoed: (seq, sent at).
    pending: VecDeque<(u32, Instant)>,
    counters: Counters,
    /// Counters and time at the start of the measured phase.
    baseline: Option<(Counters, Instant)>,
    others: Vec<IVec2>,
    /// The own avatar's tile in the latest snapshot.
    position: Option<IVec2>,
    chats: u64,
    index: usize,
}

impl Session {
    async fn run(&mut self, shared: &Shared, outcome: &mut Outcome) -> Result<(), End> {
        let interval = shared.input_interval;
        let start = Instant::now();
        // Spread the bots' input phases over one interval.
        let mut next_input = start + interval.mul_f64(self.rng.unit());
        let mut next_chat = shared
            .chat_interval
            .map(|i| start + i.mul_f64(self.rng.unit() * 2.0));
        loop {
            let now = Instant::now();
            let phase = shared.phase.get().copied();
            if let Some(p) = phase {
                if now >= p.end {
                    return Ok(());
                }
                if self.baseline.is_none() && p.measured(now) {
                    self.baseline = Some((self.counters, now));
                }
            }
            if now >= next_input {
                self.send_input(now).await?;
                next_input += interval;
                if next_input <= now {
                    next_input = now + interval;
                }
            }
            if let (Some(at), Some(mean)) = (next_chat, shared.chat_interval)
                && now >= at
            {
                self.send_chat().await?;
                next_chat = Some(now + mean.mul_f64(0.5 + self.rng.unit()));
            }
            let mut wake = next_input;
            if let Some(at) = next_chat {
                wake = wake.min(at);
            }
            if let Some(p) = phase {
                wake = wake.min(p.end);
                if self.baseline.is_none() {
                    wake = wake.min(p.steady_start);
                }
            }
            let frame = match tokio::time::timeout_at(wake.into(), self.socket.next()).await {
                Err(_) => continue,
                Ok(frame) => frame,
            };
            let received = Instant::now();
            self.frame(frame, received, shared, outcome).await?;
            // Handle what else is already here, then send the acks in one write.
            for _ in 0..64 {
                match self.socket.next().now_or_never() {
                    Some(frame) => self.frame(frame, received, shared, outcome).await?,
                    None => break,
                }
            }
            self.socket
                .flush()
                .await
                .map_err(|_| End::Error("ws_send_error".into()))?;
        }
    }

    async fn frame(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        received: Instant,
        shared: &Shared,
        outcome: &mut Outcome,
    ) -> Result<(), End> {
        match frame {
            Some(Ok(Message::Binary(bytes))) => {
                self.handle(&bytes, received, shared, outcome).await
            }
            Some(Ok(Message::Close(_))) | None => Err(End::Error("closed_early".into())),
            Some(Ok(_)) => Ok(()),
            Some(Err(_)) => Err(End::Error("ws_error".into())),
        }
    }

    /// Queues a message without flushing (acks; the caller flushes).
    async fn feed(&mut self, message: &ClientMessage) -> Result<(), End> {
        let bytes = encode_client(message);
        self.counters.bytes_out += bytes.len() as u64;
        self.counters.messages_out += 1;
        self.socket
            .feed(Message::Binary(bytes.into()))
            .await
            .map_err(|_| End::Error("ws_send_error".into()))
    }

    async fn send(&mut self, message: &ClientMessage) -> Result<(), End> {
        let bytes = encode_client(message);
        self.counters.bytes_out += bytes.len() as u64;
        self.counters.messages_out += 1;
        self.socket
            .send(Message::Binary(bytes.into()))
            .await
            .map_err(|_| End::Error("ws_send_error".into()))
    }

    async fn send_input(&mut self, now: Instant) -> Result<(), End> {
        let view = self.mirror.latest();
        let me = view.slots.get(&self.welcome.slot).map(|s| s.position);
        self.others.clear();
        self.others.extend(
            view.slots
                .iter()
                .filter(|(slot, _)| **slot != self.welcome.slot)
                .map(|(_, s)| s.position),
        );
        let input = self.mover.next(me, &self.others);
        self.seq += 1;
        let seq = self.seq;
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((seq, now));
        self.counters.inputs += 1;
        self.send(&ClientMessage::Input { seq, input }).await
    }

    async fn send_chat(&mut self) -> Result<(), End> {
        self.chats += 1;
        let text = format!("bot-{} says hello #{}", self.index, self.chats);
        self.counters.chat_out += 1;
        self.send(&ClientMessage::Chat {
            text,
            scope: ChatScope::Nearby,
        })
        .await
    }

    async fn handle(
        &mut self,
        bytes: &[u8],
        received: Instant,
        shared: &Shared,
        outcome: &mut Outcome,
    ) -> Result<(), End> {
        self.counters.bytes_in += bytes.len() as u64;
        self.counters.messages_in += 1;
        shared
            .live
            .bytes_in
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        shared.live.messages_in.fetch_add(1, Ordering::Relaxed);
        let message = decode_server(bytes).map_err(|e| End::Protocol(format!("decode: {e}")))?;
        match message {
            ServerMessage::Snapshot(snapshot) => {
                self.mirror
                    .apply(&snapshot)
                    .map_err(|e| End::Protocol(format!("apply tick {}: {e}", snapshot.tick)))?;
                self.counters.snapshots += 1;
                let now_at = self
                    .mirror
                    .latest()
                    .slots
                    .get(&self.welcome.slot)
                    .map(|s| s.position);
                if let (Some(a), Some(b)) = (self.position, now_at) {
                    self.counters.moves += u64::from((a - b).abs().element_sum().unsigned_abs());
                }
                self.position = now_at.or(self.position);
                self.echoed(snapshot.last_input_seq, received, shared, outcome);
                // Acks are for flow control: one every ACK_INTERVAL_TICKS, as the protocol asks.
                if ack_due(self.acked, snapshot.tick) {
                    self.acked = Some(snapshot.tick);
                    self.feed(&ClientMessage::Ack {
                        tick: snapshot.tick,
                    })
                    .await?;
                }
            }
            ServerMessage::Chat(_) => self.counters.chat_in += 1,
            ServerMessage::Error { code, .. } => {
                shared.error(format!("server_error:{}", code_name(code)));
            }
            _ => {}
        }
        Ok(())
    }

    /// Records the latency of every pending input up to `seq`.
    fn echoed(&mut self, seq: u32, received: Instant, shared: &Shared, outcome: &mut Outcome) {
        if self.pending.front().is_none_or(|(s, _)| *s > seq) {
            return;
        }
        let phase = shared.phase.get().copied();
        let mut latency = shared.latency.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(&(s, sent)) = self.pending.front() {
            if s > seq {
                break;
            }
            self.pending.pop_front();
            if phase.is_some_and(|p| p.measured(sent)) {
                let micros = received.saturating_duration_since(sent).as_micros();
                latency.saturating_record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
                outcome.echoed += 1;
            }
        }
    }
}
