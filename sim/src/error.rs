//! Errors of the simulation API.

use glam::IVec2;
use thiserror::Error;

use crate::{EntityId, RejectReason};

/// Why a simulation call was refused. A refused call changes nothing.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SimError {
    /// The configuration has a zero or out-of-range value.
    #[error("invalid simulation config: {0}")]
    InvalidConfig(&'static str),
    /// No entity with this id exists in the simulation.
    #[error("unknown entity {0}")]
    UnknownEntity(EntityId),
    /// An entity with this id already exists (ids are never reused).
    #[error("entity {0} already exists")]
    DuplicateEntity(EntityId),
    /// No free walkable tile was found near any spawn point.
    #[error("space is full: no free spawn tile")]
    SpaceFull,
    /// The tile cannot hold an avatar.
    #[error("tile ({}, {}) is not available: {reason}", .tile.x, .tile.y)]
    TileUnavailable {
        /// The tile asked for.
        tile: IVec2,
        /// Why it cannot be used.
        reason: RejectReason,
    },
    /// The entity is a ghost owned by another node and cannot be changed here.
    #[error("entity {0} is a ghost owned by another node")]
    GhostEntity(EntityId),
}
