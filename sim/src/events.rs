//! What happened during a tick.

use glam::IVec2;
use serde::{Deserialize, Serialize};

use crate::{Direction, EntityId};

/// Why a move (or a placement) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    /// The tile lies outside the map.
    OffMap,
    /// The tile is a wall or other blocked tile.
    Blocked,
    /// Another avatar stands on the tile.
    Occupied,
    /// Another avatar is moving into the tile, or won the race for it this tick
    /// (the lower entity id wins).
    Reserved,
    /// The tile lies in a region another node owns: the move has to be handed off there.
    Foreign,
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RejectReason::OffMap => "outside the map",
            RejectReason::Blocked => "blocked",
            RejectReason::Occupied => "occupied by another avatar",
            RejectReason::Reserved => "reserved by another avatar",
            RejectReason::Foreign => "in a region another node owns",
        })
    }
}

/// One thing that happened in a tick, in the order the tick did it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An avatar appeared.
    Spawned {
        /// The new entity.
        id: EntityId,
        /// Where it stands.
        at: IVec2,
    },
    /// An avatar started moving one tile; it arrives `ticks_per_tile` ticks later.
    MoveStarted {
        /// The moving entity.
        id: EntityId,
        /// The tile it leaves.
        from: IVec2,
        /// The tile it moves into (now reserved for it).
        to: IVec2,
    },
    /// An avatar finished moving into a tile.
    Arrived {
        /// The entity.
        id: EntityId,
        /// The tile it now stands on.
        at: IVec2,
    },
    /// A move was refused; the entity stays where it was and stops.
    MoveRejected {
        /// The entity.
        id: EntityId,
        /// The direction it tried.
        direction: Direction,
        /// Why.
        reason: RejectReason,
    },
    /// An avatar was placed on a tile directly (handoff, admin).
    Teleported {
        /// The entity.
        id: EntityId,
        /// Where it stood.
        from: IVec2,
        /// Where it stands now.
        to: IVec2,
    },
    /// An avatar left the simulation.
    Despawned {
        /// The entity.
        id: EntityId,
        /// The last tile it stood on.
        at: IVec2,
    },
}
