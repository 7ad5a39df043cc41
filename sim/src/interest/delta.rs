//! What an observer is told each tick: entities entering, changing and leaving its view.

use std::collections::BTreeMap;

use glam::IVec2;
use thiserror::Error;

use crate::{Direction, EntityId, Tick};

/// A per-observer small integer naming a visible entity on the wire. Slots are handed out
/// lowest-free-first and reused after the entity leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Slot(pub u16);

/// The state of an entity as an observer sees it (what a client needs to draw it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisibleState {
    /// The entity's global id.
    pub id: EntityId,
    /// The tile it stands on (while moving: the tile it leaves).
    pub position: IVec2,
    /// The tile it moves into, if moving.
    pub target: Option<IVec2>,
    /// The direction it faces.
    pub facing: Option<Direction>,
    /// Its avatar sprite.
    pub avatar: u16,
    /// Its display name.
    pub name: String,
}

/// An entity that came into view, with its full state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enter {
    /// The slot it gets.
    pub slot: Slot,
    /// Its full state.
    pub state: VisibleState,
}

/// The changed fields of a visible entity (`None` = unchanged since the baseline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Update {
    /// The entity's slot.
    pub slot: Slot,
    /// New tile, if it changed.
    pub position: Option<IVec2>,
    /// New target, if it changed (`Some(None)`: stopped moving).
    pub target: Option<Option<IVec2>>,
    /// New facing, if it changed.
    pub facing: Option<Option<Direction>>,
}

/// An entity that left the view; its slot is free again after this delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leave {
    /// The slot it had.
    pub slot: Slot,
}

/// One observer's view change for one tick, relative to the last tick it acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Delta {
    /// The tick this delta brings the observer to.
    pub tick: Tick,
    /// The acknowledged tick it is relative to (0: from nothing).
    pub baseline: Tick,
    /// Entities entering view, with full state.
    pub enters: Vec<Enter>,
    /// Changed fields of entities that stay in view.
    pub updates: Vec<Update>,
    /// Entities leaving view.
    pub leaves: Vec<Leave>,
}

impl Delta {
    /// Whether the delta carries no change at all.
    pub fn is_empty(&self) -> bool {
        self.enters.is_empty() && self.updates.is_empty() && self.leaves.is_empty()
    }
}

/// Why a delta could not be applied to a mirror.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MirrorError {
    /// An update or leave names a slot that holds nothing.
    #[error("slot {0} is empty")]
    EmptySlot(u16),
    /// An enter names a slot that is still taken.
    #[error("slot {0} is already taken")]
    SlotTaken(u16),
}

/// A client-side copy of what one observer sees, rebuilt from deltas. Used by tests, the
/// bot swarm, and as the reference for the TypeScript client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mirror {
    /// The tick of the last applied delta.
    pub tick: Tick,
    /// Visible entities by slot.
    pub slots: BTreeMap<Slot, VisibleState>,
}

impl Mirror {
    /// Applies one delta: leaves first (freeing slots), then enters, then updates. On error
    /// the mirror is left unchanged.
    pub fn apply(&mut self, delta: &Delta) -> Result<(), MirrorError> {
        let mut next = self.slots.clone();
        for l in &delta.leaves {
            next.remove(&l.slot)
                .ok_or(MirrorError::EmptySlot(l.slot.0))?;
        }
        for e in &delta.enters {
            if next.insert(e.slot, e.state.clone()).is_some() {
                return Err(MirrorError::SlotTaken(e.slot.0));
            }
        }
        for u in &delta.updates {
            let s = next
                .get_mut(&u.slot)
                .ok_or(MirrorError::EmptySlot(u.slot.0))?;
            if let Some(p) = u.position {
                s.position = p;
            }
            if let Some(t) = u.target {
                s.target = t;
            }
            if let Some(f) = u.facing {
                s.facing = f;
            }
        }
        self.slots = next;
        self.tick = delta.tick;
        Ok(())
    }

    /// The visible entities by id.
    pub fn by_id(&self) -> BTreeMap<EntityId, &VisibleState> {
        self.slots.values().map(|s| (s.id, s)).collect()
    }
}
