//! Messages between WebSocket sessions and a space's tick thread.

use std::sync::atomic::{AtomicU64, Ordering};

use glam::IVec2;
use schema::{ChatScope, ErrorCode, SignalKind, Welcome};
use sim::{EntityId, Input, RegionId, Tick};

use crate::cluster::{AvatarRecord, RegionSnapshot};
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
    /// Everything the client gets in one tick, in order: encoded server messages, each sent
    /// as one binary frame, all with one write.
    Frames(Vec<Vec<u8>>),
    /// Send `Migrate{url, ticket}`, then close the connection normally: the player continues
    /// on another node.
    Migrate {
        /// The other node's base URL.
        url: String,
        /// The single-use ticket to present there.
        ticket: String,
    },
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
    /// The space's command queue is full (a join burst, or a space that is behind): the
    /// join may be tried again shortly.
    #[error("the space is too busy to take the join right now")]
    Busy,
    /// The space thread has stopped (at shutdown).
    #[error("the space has stopped")]
    Closed,
    /// The player's tile is in a region another node serves (its URL).
    #[error("your region is served by {0}")]
    Elsewhere(String),
    /// The player's region is not served by any node right now.
    #[error("your region is not served right now (a node is taking it over); retry shortly")]
    Unavailable,
}

impl JoinError {
    /// The wire error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            JoinError::Full => ErrorCode::FULL,
            JoinError::Closed | JoinError::Elsewhere(_) => ErrorCode::INTERNAL,
            JoinError::Busy | JoinError::Unavailable => crate::ws::UNAVAILABLE,
        }
    }
}

/// The local avatars of a space thread (ghosts excluded) at a tick.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inspection {
    /// The node.
    pub node: String,
    /// The space thread's last completed tick.
    pub tick: Tick,
    /// Its local avatars, by id.
    pub avatars: Vec<AvatarRecord>,
}

/// Region ownership changes, from the cluster coordinator.
#[derive(Debug)]
pub enum RegionCommand {
    /// This node owns `region` under `epoch` from now on; `restore` are the avatars of its
    /// last snapshot (already filtered of players known to be elsewhere).
    Gained {
        /// The region.
        region: RegionId,
        /// Lease epoch (fencing token of snapshot writes).
        epoch: u64,
        /// Avatars to bring back.
        restore: Vec<AvatarRecord>,
    },
    /// The lease was lost (another node owns the region now): drop its avatars.
    Lost {
        /// The region.
        region: RegionId,
    },
    /// Live move, step 1: stop simulating `region` and hand over its avatars (their
    /// players stay connected until [`RegionCommand::Moved`]).
    Release {
        /// The region.
        region: RegionId,
        /// The avatars, for the new owner.
        reply: oneshot::Sender<RegionSnapshot>,
    },
    /// Live move, step 2: the new owner serves `region` at `url` (`None`: the move failed
    /// and the region comes back with a `Gained`).
    Moved {
        /// The region.
        region: RegionId,
        /// The new owner's base URL.
        url: Option<String>,
    },
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
    /// Region ownership changed.
    Region(RegionCommand),
    /// A message from the cluster bus, on the channel of `region` (one of ours).
    Bus {
        /// The region whose channel carried it.
        region: RegionId,
        /// The encoded `ClusterMessage`.
        bytes: Vec<u8>,
    },
    /// Report the local avatars (admin API, tests).
    Inspect(oneshot::Sender<Inspection>),
    /// Stop the thread after saving every player's position.
    Stop(oneshot::Sender<()>),
}
