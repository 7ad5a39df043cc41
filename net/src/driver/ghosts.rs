//! Ghosts: every tick, each node publishes its avatars within reach of a foreign region
//! (AOI radius + hysteresis + 1 tiles) on that region's channel; the owner keeps them as
//! read-only ghost entities, so observers near a border see across it with the same delta
//! stream.
//!
//! An update carries the full set of one source region's ghosts for one target region; the
//! receiver replaces that set (ghosts that left it are removed unless another update still
//! carries them). A set not refreshed for [`STALE_TICKS`] (its node died or the bus is down)
//! is dropped.

use std::collections::{BTreeMap, BTreeSet};

use glam::IVec2;
use schema::{ClusterMessage, GhostEntity, GhostUpdate};
use sim::{EntityId, Motion, RegionId, Tick};

use super::space::SpaceLoop;

/// Ticks after which a silent source's ghosts are removed.
pub(super) const STALE_TICKS: Tick = 40;

/// Ghost bookkeeping of one space thread.
#[derive(Debug, Default)]
pub(super) struct GhostBook {
    /// (source region, target region) → ghost ids last received, and when.
    received: BTreeMap<(RegionId, RegionId), (BTreeSet<EntityId>, Tick)>,
    /// (source region, target region) pairs published last tick with at least one ghost.
    published: BTreeSet<(RegionId, RegionId)>,
}

impl SpaceLoop {
    /// Publishes this tick's border avatars to the owners of neighbouring foreign regions.
    pub(super) fn publish_ghosts(&mut self) {
        let reach = i32::try_from(self.config.aoi.radius + self.config.aoi.hysteresis)
            .unwrap_or(i32::MAX / 4)
            + 1;
        let grid = *self.sim.regions();
        let (w, h) = (
            self.sim.map().width() as i32,
            self.sim.map().height() as i32,
        );
        let mut batches: BTreeMap<(RegionId, RegionId), Vec<GhostEntity>> = BTreeMap::new();
        for state in self.sim.entities() {
            if state.ghost.is_some() {
                continue;
            }
            let home = grid.region_of(state.position);
            let mut targets = BTreeSet::new();
            for dy in [-reach, 0, reach] {
                for dx in [-reach, 0, reach] {
                    let p = state.position + IVec2::new(dx, dy);
                    let p = p.clamp(IVec2::ZERO, IVec2::new(w - 1, h - 1));
                    let r = grid.region_of(p);
                    if r != home && !self.owned.contains_key(&r) {
                        targets.insert(r);
                    }
                }
            }
            for target in targets {
                batches
                    .entry((home, target))
                    .or_default()
                    .push(GhostEntity {
                        id: state.id,
                        player: state.player.clone(),
                        position: state.position,
                        target: state.motion.target,
                        facing: state.motion.facing,
                    });
            }
        }
        // Pairs that had ghosts last tick and have none now get an empty update (removes).
        let emptied: Vec<_> = self
            .ghosts
            .published
            .iter()
            .filter(|k| !batches.contains_key(*k))
            .copied()
            .collect();
        for key in emptied {
            batches.insert(key, Vec::new());
        }
        self.ghosts.published.clear();
        let tick = self.sim.tick();
        for ((source, target), upserts) in batches {
            if !upserts.is_empty() {
                self.ghosts.published.insert((source, target));
            }
            let key = crate::cluster::RegionKey::new(self.space.id.clone(), target);
            let message = ClusterMessage::GhostUpdate(GhostUpdate {
                region: source,
                tick,
                upserts,
                removes: Vec::new(),
            });
            let channel = self.node.keys.region_channel(&key);
            // Best effort: a lost update is repaired by the next tick's.
            let _ = self
                .node
                .bus
                .publish(&channel, schema::encode_cluster(&message));
        }
        self.drop_stale_ghosts(tick);
    }

    /// Applies one source region's ghost set for `target`, one of our regions.
    pub(super) fn apply_ghosts(&mut self, target: RegionId, update: GhostUpdate) {
        let tick = self.sim.tick();
        let source = update.region;
        if self.owned.contains_key(&source) || !self.owned.contains_key(&target) {
            return; // stale: our own entities are the truth there
        }
        let new: BTreeSet<EntityId> = update.upserts.iter().map(|g| g.id).collect();
        let old = self
            .ghosts
            .received
            .insert((source, target), (new.clone(), tick))
            .map(|(s, _)| s)
            .unwrap_or_default();
        // Clear the claims of ghosts that move first, so their new tiles are free for each
        // other (an id removed and re-added between ticks is the same entity to observers).
        let mut moving = Vec::new();
        for g in &update.upserts {
            if let Some(s) = self.sim.state(g.id)
                && s.ghost.is_some()
                && (s.position != g.position || s.motion.target != g.target)
            {
                moving.push(g.id);
            }
        }
        for id in moving {
            let _ = self.sim.despawn(id);
        }
        for g in update.upserts {
            let motion = Motion {
                facing: g.facing,
                target: g.target,
                progress: 0,
                held: None,
            };
            if let Err(e) = self
                .sim
                .upsert_ghost(g.id, g.player, g.position, motion, source)
            {
                tracing::debug!(space = %self.space.id, id = %g.id, error = %e, "ghost not placed");
            }
        }
        for gone in old.difference(&new) {
            self.remove_ghost_if_unreferenced(*gone);
        }
    }

    fn remove_ghost_if_unreferenced(&mut self, id: EntityId) {
        let referenced = self.ghosts.received.values().any(|(s, _)| s.contains(&id));
        let is_ghost = self.sim.state(id).is_some_and(|s| s.ghost.is_some());
        if !referenced && is_ghost {
            let _ = self.sim.despawn(id);
        }
    }

    fn drop_stale_ghosts(&mut self, tick: Tick) {
        let stale: Vec<_> = self
            .ghosts
            .received
            .iter()
            .filter(|(_, (_, at))| tick >= at + STALE_TICKS)
            .map(|(k, _)| *k)
            .collect();
        for key in stale {
            if let Some((ids, _)) = self.ghosts.received.remove(&key) {
                for id in ids {
                    self.remove_ghost_if_unreferenced(id);
                }
            }
        }
    }

    /// Forgets the ghosts received from `region` (it became ours).
    pub(super) fn forget_ghosts_from(&mut self, region: RegionId) {
        let keys: Vec<_> = self
            .ghosts
            .received
            .keys()
            .filter(|(s, _)| *s == region)
            .copied()
            .collect();
        for key in keys {
            if let Some((ids, _)) = self.ghosts.received.remove(&key) {
                for id in ids {
                    self.remove_ghost_if_unreferenced(id);
                }
            }
        }
    }
}
