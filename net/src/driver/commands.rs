//! Messages between WebSocket sessions and a space's tick thread.

use std::sync::atomic::{AtomicU64, Ordering};

use glam::IVec2;
use schema::{ChatScope, ErrorCode, SignalKind, Welcome};
use sim::{EntityId, Input, Tick};
use tokio::sync::{mpsc, oneshot};

/// Identifies one WebSocket connection (never reused within a process).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl ConnId {
    /// A fresh id.
    pub fn next() -> ConnId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// What a space thread sends to a session.
#[derive(Debug)]
pub enum Outbound {
    /// An encoded server message to send as one binary frame.
    Frame(Vec<u8>),
    /// Send this error, then close the connection.
    Close {
        /// Why.
        code: ErrorCode,
        /// Human-readable reason.
        message: String,
    },
}

/// A player asking to enter a space.
#[derive(Debug)]
pub struct JoinRequest {
    /// The connection.
    pub conn: ConnId,
    /// The account.
    pub account: i64,
    /// Display name.
    pub name: String,
    /// Avatar sprite.
    pub avatar: u16,
    /// The last saved tile in this space, if any.
    pub saved: Option<IVec2>,
    /// Where the space thread pushes this client's frames.
    pub out: mpsc::Sender<Outbound>,
}

/// A successful join.
#[derive(Debug)]
pub struct Joined {
    /// The Welcome to send first.
    pub welcome: Welcome,
    /// Whether an existing avatar was taken over (reconnect or second tab).
    pub resumed: bool,
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The space has its maximum number of players.
    #[error("space is full")]
    Full,
    /// The space is shutting down.
    #[error("space is shutting down")]
    Closed,
}

impl JoinError {
    /// The wire error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            JoinError::Full => ErrorCode::FULL,
            JoinError::Closed => ErrorCode::INTERNAL,
        }
    }
}

/// A request to a space's tick thread.
#[derive(Debug)]
pub enum Command {
    /// Enter (or take over one's avatar).
    Join(JoinRequest, oneshot::Sender<Result<Joined, JoinError>>),
    /// The connection closed.
    Leave {
        /// The connection.
        conn: ConnId,
        /// The account.
        account: i64,
    },
    /// A movement input.
    Input {
        /// The connection.
        conn: ConnId,
        /// The account.
        account: i64,
        /// Client sequence number.
        seq: u32,
        /// The input.
        input: Input,
    },
    /// The client applied a snapshot.
    Ack {
        /// The connection.
        conn: ConnId,
        /// The account.
        account: i64,
        /// The tick.
        tick: Tick,
    },
    /// A chat line.
    Chat {
        /// The connection.
        conn: ConnId,
        /// The account.
        account: i64,
        /// The text (validated by the session).
        text: String,
        /// Who should receive it.
        scope: ChatScope,
    },
    /// WebRTC signalling for a peer.
    Signal {
        /// The connection.
        conn: ConnId,
        /// The account.
        account: i64,
        /// The peer's entity.
        to: EntityId,
        /// What kind of signal.
        kind: SignalKind,
        /// The payload.
        payload: String,
    },
    /// Stop the thread after saving every player's position.
    Stop(oneshot::Sender<()>),
}
