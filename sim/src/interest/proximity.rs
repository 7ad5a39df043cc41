//! Proximity: which observed avatars are *near* each other (they open audio/video calls and
//! may relay WebRTC signalling).
//!
//! The rule, applied once per tick to the avatars that have at least one observer
//! ("participants"):
//! 1. a near pair becomes far when one side is no longer a participant, or their squared
//!    distance exceeds `(radius + hysteresis)²`;
//! 2. then every pair not yet near with squared distance ≤ `radius²` is considered in
//!    ascending `(distance², lower id, higher id)` order and becomes near when both sides
//!    have fewer than `cap` near peers.
//!
//! Pairs are symmetric by construction and capped. The implementation only looks at
//! participants that moved, appeared, or lost a peer this tick: a pair where neither side
//! did any of that was already refused last time because one side is still full.

use super::table::{NONE, Table};
use super::{ProximityConfig, ProximityEvent, ProximityKind};
use crate::EntityId;

/// A candidate pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pair {
    d2: i64,
    a: EntityId,
    b: EntityId,
    ia: u32,
    ib: u32,
}

/// Proximity state beyond the per-entity peer lists kept in the table.
#[derive(Debug, Default)]
pub(crate) struct Proximity {
    pub(crate) config: ProximityConfig,
    pub(crate) events: Vec<ProximityEvent>,
    /// Entities that became participants since the last tick.
    pub(crate) started: Vec<u32>,
    /// Entities that stopped being participants since the last tick (or died).
    pub(crate) stopped: Vec<u32>,
    active: Vec<u32>,
    active_mark: Vec<u64>,
    pairs: Vec<Pair>,
    /// Per entity index: the indices of the entities it is near, at most `cap`.
    peers: Vec<Vec<u32>>,
}

impl Proximity {
    pub(crate) fn new(config: ProximityConfig) -> Proximity {
        Proximity {
            config,
            ..Proximity::default()
        }
    }

    fn activate(&mut self, idx: u32, epoch: u64) {
        let i = idx as usize;
        if self.active_mark.len() <= i {
            self.active_mark.resize(i + 1, 0);
        }
        if self.active_mark[i] != epoch {
            self.active_mark[i] = epoch;
            self.active.push(idx);
        }
    }

    /// The peers of entity `idx` (empty when it has none).
    pub(crate) fn peers(&self, idx: u32) -> &[u32] {
        peers_of(&self.peers, idx)
    }

    /// The peer list of entity `idx`, created on first use.
    fn peers_mut(&mut self, idx: u32) -> &mut Vec<u32> {
        let i = idx as usize;
        if self.peers.len() <= i {
            self.peers.resize_with(i + 1, Vec::new);
        }
        &mut self.peers[i]
    }

    /// One tick of the proximity rule (see the module doc).
    pub(crate) fn step(&mut self, table: &Table) {
        let epoch = table.epoch;
        self.events.clear();
        self.active.clear();
        let leave = i64::from(
            self.config
                .radius
                .saturating_add(self.config.hysteresis)
                .min(1 << 20),
        );
        let leave2 = leave * leave;
        // 1. far
        let participant = |t: &Table, i: u32| {
            let e = &t.ents[i as usize];
            e.alive && e.observers > 0
        };
        let mut stopped = std::mem::take(&mut self.stopped);
        for &p in &stopped {
            if participant(table, p) {
                continue; // became a participant again (another observer attached)
            }
            while let Some(q) = self.peers_mut(p).pop() {
                self.unpair(table, q, p);
                self.activate(q, epoch);
            }
        }
        stopped.clear();
        self.stopped = stopped;
        for k in 0..table.moved.len() {
            let p = table.moved[k];
            if !participant(table, p) {
                continue;
            }
            self.activate(p, epoch);
            let mut j = 0;
            while j < self.peers(p).len() {
                let q = self.peers(p)[j];
                let d = table.ents[p as usize].pos - table.ents[q as usize].pos;
                let d2 = i64::from(d.x) * i64::from(d.x) + i64::from(d.y) * i64::from(d.y);
                if d2 > leave2 {
                    self.peers_mut(p).swap_remove(j);
                    self.unpair(table, q, p);
                    self.activate(q, epoch);
                } else {
                    j += 1;
                }
            }
        }
        let far_end = self.events.len();
        // 2. near
        for k in 0..self.started.len() {
            let p = self.started[k];
            if participant(table, p) {
                self.activate(p, epoch);
            }
        }
        self.started.clear();
        let r = i64::from(self.config.radius.min(1 << 20));
        let (r2, ri) = (r * r, r as i32);
        self.pairs.clear();
        for &p in &self.active {
            let e = &table.ents[p as usize];
            if !(e.alive && e.observers > 0) {
                continue;
            }
            let c = e.pos;
            let peers = peers_of(&self.peers, p);
            let pairs = &mut self.pairs;
            table.grid.for_each_near(c, ri, |pt| {
                let q = pt.idx;
                if q == p || !table.watched(q) || peers.contains(&q) {
                    return;
                }
                let d = pt.pos - c;
                let d2 = i64::from(d.x) * i64::from(d.x) + i64::from(d.y) * i64::from(d.y);
                if d2 <= r2 {
                    let (a, b, ia, ib) = if e.id < pt.id {
                        (e.id, pt.id, p, q)
                    } else {
                        (pt.id, e.id, q, p)
                    };
                    pairs.push(Pair { d2, a, b, ia, ib });
                }
            });
        }
        self.pairs.sort_unstable();
        self.pairs.dedup();
        let cap = usize::from(self.config.cap);
        for k in 0..self.pairs.len() {
            let pair = self.pairs[k];
            if self.peers(pair.ia).len() < cap && self.peers(pair.ib).len() < cap {
                self.peers_mut(pair.ia).push(pair.ib);
                self.peers_mut(pair.ib).push(pair.ia);
                self.events.push(ProximityEvent {
                    kind: ProximityKind::Near,
                    a: pair.a,
                    b: pair.b,
                });
            }
        }
        self.events[..far_end].sort_unstable_by_key(|e| (e.a, e.b));
        self.events[far_end..].sort_unstable_by_key(|e| (e.a, e.b));
        // Their indices are reused at the end of the epoch.
        for &idx in &table.dead {
            if let Some(peers) = self.peers.get_mut(idx as usize) {
                peers.clear();
            }
        }
    }

    /// Removes `p` from `q`'s peers and records the far event.
    fn unpair(&mut self, table: &Table, q: u32, p: u32) {
        let peers = self.peers_mut(q);
        if let Some(j) = peers.iter().position(|&x| x == p) {
            peers.swap_remove(j);
        }
        let (a, b) = (table.ents[p as usize].id, table.ents[q as usize].id);
        self.events.push(ProximityEvent {
            kind: ProximityKind::Far,
            a: a.min(b),
            b: a.max(b),
        });
    }

    /// Whether the entities at table indices `a` and `b` are near each other.
    pub(crate) fn near(&self, a: u32, b: u32) -> bool {
        a != NONE && self.peers(a).contains(&b)
    }
}

/// Entry `idx` of the per-entity peer lists (empty when it has none).
fn peers_of(peers: &[Vec<u32>], idx: u32) -> &[u32] {
    peers.get(idx as usize).map_or(&[], Vec::as_slice)
}
