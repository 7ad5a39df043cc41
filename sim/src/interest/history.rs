//! The client side of deltas: the mirrors a client keeps so it can apply any delta.

use std::collections::BTreeMap;

use thiserror::Error;

use super::{Delta, Mirror, MirrorError};
use crate::Tick;

/// Why a delta could not be applied to a [`MirrorHistory`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HistoryError {
    /// The delta is relative to a tick whose view this history no longer (or never) had.
    #[error("no mirror for baseline tick {0}")]
    MissingBaseline(Tick),
    /// The delta does not fit its baseline.
    #[error(transparent)]
    Mirror(#[from] MirrorError),
}

/// The views a client keeps: one [`Mirror`] per received tick from the newest baseline the
/// server used on. A [`Delta`] is relative to the last tick the client *acknowledged*, not
/// to the previous delta, so the client applies it to a copy of the mirror of
/// `delta.baseline` (an empty mirror for baseline 0). Baselines only move forward, so
/// mirrors older than the newest baseline seen are dropped.
#[derive(Clone, Debug, Default)]
pub struct MirrorHistory {
    mirrors: BTreeMap<Tick, Mirror>,
    floor: Tick,
}

impl MirrorHistory {
    /// An empty history (nothing received yet).
    pub fn new() -> MirrorHistory {
        MirrorHistory::default()
    }

    /// Applies a delta to the mirror of its baseline and stores the result under
    /// `delta.tick`; returns the new mirror. On error nothing changes.
    pub fn apply(&mut self, delta: &Delta) -> Result<&Mirror, HistoryError> {
        let mut next = if delta.baseline == 0 {
            Mirror::default()
        } else {
            self.mirrors
                .get(&delta.baseline)
                .cloned()
                .ok_or(HistoryError::MissingBaseline(delta.baseline))?
        };
        next.apply(delta)?;
        if delta.baseline > self.floor {
            self.floor = delta.baseline;
            self.mirrors = self.mirrors.split_off(&self.floor);
        }
        Ok(self.mirrors.entry(delta.tick).insert_entry(next).into_mut())
    }

    /// The mirror of the newest tick received.
    pub fn latest(&self) -> Option<&Mirror> {
        self.mirrors.values().next_back()
    }

    /// The mirror of a given tick, if still kept.
    pub fn at(&self, tick: Tick) -> Option<&Mirror> {
        self.mirrors.get(&tick)
    }

    /// Number of mirrors kept.
    pub fn len(&self) -> usize {
        self.mirrors.len()
    }

    /// Whether no mirror is kept.
    pub fn is_empty(&self) -> bool {
        self.mirrors.is_empty()
    }
}
