//! The components an avatar entity carries in the hecs world.

use std::fmt;
use std::num::NonZeroU64;

use glam::IVec2;
use serde::{Deserialize, Serialize};

use crate::{Direction, RegionId};

/// A stable, never-reused id of an entity, global across nodes (unlike `hecs::Entity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityId(pub NonZeroU64);

impl EntityId {
    /// The id with this raw value; `None` for zero.
    pub fn new(raw: u64) -> Option<EntityId> {
        NonZeroU64::new(raw).map(EntityId)
    }

    /// The raw value.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The tile an entity stands on (while moving: the tile it is leaving).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position(pub IVec2);

/// Movement state: facing, the tile being moved into, and progress in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Motion {
    /// The direction the avatar looks.
    pub facing: Option<Direction>,
    /// The tile being moved into, reserved for this entity until it arrives.
    pub target: Option<IVec2>,
    /// Ticks spent on the current move (`0..ticks_per_tile`).
    pub progress: u16,
    /// The direction the player holds: when a move ends, the next one starts at once.
    pub held: Option<Direction>,
}

/// Who an avatar belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlayerInfo {
    /// The account id (guest accounts have one too).
    pub account: u64,
    /// The display name.
    pub name: String,
    /// The avatar sprite index.
    pub avatar: u16,
}

impl PlayerInfo {
    /// A player with the default avatar.
    pub fn guest(account: u64, name: &str) -> PlayerInfo {
        PlayerInfo {
            account,
            name: name.to_owned(),
            avatar: 0,
        }
    }
}

/// Marks a read-only copy of an entity owned by another node's region.
/// Ghosts occupy their tile but are never moved by this simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// The region (on another node) that owns the entity.
    pub owner: RegionId,
}

/// The region that owns a local entity (the region of its tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Owner(pub RegionId);

/// The last client input sequence number applied to this entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct InputState {
    pub(crate) last_seq: u32,
}

/// The entity's contribution to the state hash, kept to update the sum incrementally,
/// and the digest of its [`PlayerInfo`] (which rarely changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StateHash {
    pub(crate) total: u64,
    pub(crate) player: u64,
}

/// The tick at which the entity's visible state (position, motion, player) last changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ChangedAt(pub(crate) u64);
