//! Interest management: which entities each observer sees, and what changed for it.
//!
//! This module's *output types* ([`Delta`] and friends) are the contract with the wire format
//! (`schema` encodes a [`Delta`] as a `Snapshot`, and its mirror decoder applies one to a
//! [`Mirror`]).

mod delta;

pub use delta::{Delta, Enter, Leave, Mirror, MirrorError, Slot, Update, VisibleState};
