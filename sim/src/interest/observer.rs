//! One observer: its visible set, slots, acknowledged baseline and delta.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use glam::IVec2;
use rstar::AABB;

use super::table::{Ent, NONE, Table};
use super::{AoiConfig, Delta, Enter, Leave, Slot, Update, VisibleState};
use crate::{Direction, EntityId, Tick};

/// What one slot shows: an entity and its visible fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotRec {
    pub(crate) id: EntityId,
    pub(crate) idx: u32,
    pos: IVec2,
    target: Option<IVec2>,
    facing: Option<Direction>,
    info: u64,
}

impl SlotRec {
    fn of(e: &Ent, idx: u32) -> SlotRec {
        SlotRec {
            id: e.id,
            idx,
            pos: e.pos,
            target: e.target,
            facing: e.facing,
            info: e.info,
        }
    }
}

/// A slot's content changed at `tick` (kept until the client acknowledges that tick).
#[derive(Clone, Copy, Debug)]
struct Change {
    tick: Tick,
    slot: u16,
    rec: Option<SlotRec>,
}

/// A candidate for the visible set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cand {
    d2: i64,
    id: EntityId,
    idx: u32,
    /// Whether it was visible before this tick.
    was: bool,
}

/// Scratch buffers shared by all observers (one observer is processed at a time).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Per entity index: a stamp telling whether it is in the observer's old/new set.
    marks: Vec<u32>,
    stamp: u32,
    cands: Vec<Cand>,
    enters: Vec<Cand>,
}

/// A set of used slots, lowest-free-first.
#[derive(Debug, Default)]
struct SlotSet {
    words: Vec<u64>,
}

impl SlotSet {
    fn alloc(&mut self) -> u16 {
        let w = match self.words.iter().position(|w| *w != u64::MAX) {
            Some(w) => w,
            None => {
                self.words.push(0);
                self.words.len() - 1
            }
        };
        let bit = self.words[w].trailing_ones() as usize;
        self.words[w] |= 1 << bit;
        u16::try_from(w * 64 + bit).expect("the cap keeps slots below 65536")
    }

    fn free(&mut self, slot: usize) {
        self.words[slot / 64] &= !(1 << (slot % 64));
    }
}

/// One observer's state.
#[derive(Debug)]
pub(crate) struct Observer {
    pub(crate) avatar: EntityId,
    /// The avatar's table index, `NONE` when it does not exist.
    pub(crate) avatar_idx: u32,
    pub(crate) config: AoiConfig,
    /// The first tick a delta was produced for (`None`: not yet).
    pub(crate) first_tick: Option<Tick>,
    /// The last tick a delta was produced for.
    pub(crate) last_tick: Option<Tick>,
    /// The avatar's position at the last visibility computation.
    center: Option<IVec2>,
    /// Recompute visibility at the next update whatever changed.
    pub(crate) force: bool,
    /// The view at `last_tick`, by slot.
    current: Vec<Option<SlotRec>>,
    used: SlotSet,
    /// The view at `baseline`, by slot.
    acked: Vec<Option<SlotRec>>,
    pub(crate) baseline: Tick,
    /// Changes of `current` after `baseline`, in tick order.
    log: VecDeque<Change>,
    /// The baseline moved since the delta was built.
    stale: bool,
    pub(crate) delta: Delta,
    /// Enters of earlier deltas, kept to reuse their name buffers.
    spare: Vec<Enter>,
}

impl Observer {
    pub(crate) fn new(avatar: EntityId, config: AoiConfig) -> Observer {
        Observer {
            avatar,
            avatar_idx: NONE,
            config,
            first_tick: None,
            last_tick: None,
            center: None,
            force: true,
            current: Vec::new(),
            used: SlotSet::default(),
            acked: Vec::new(),
            baseline: 0,
            log: VecDeque::new(),
            stale: true,
            delta: Delta::default(),
            spare: Vec::new(),
        }
    }

    /// The entities in view now, by slot.
    pub(crate) fn visible(&self) -> impl Iterator<Item = (Slot, EntityId)> + '_ {
        self.current
            .iter()
            .enumerate()
            .filter_map(|(s, r)| r.map(|r| (Slot(s as u16), r.id)))
    }

    /// Advances the observer to `tick`: visible set, field changes, delta.
    pub(crate) fn step(&mut self, table: &Table, scratch: &mut Scratch, tick: Tick) {
        let epoch = table.epoch;
        let center = (self.avatar_idx != NONE).then(|| table.ents[self.avatar_idx as usize].pos);
        let (recompute, fields) = match center {
            None => (self.force || self.center.is_some(), false),
            Some(c) if self.force || self.center != Some(c) => (true, true),
            Some(c) => {
                let (moved, dirty) = table.cells.changed_near(c, self.leave_radius(), epoch);
                (moved, moved || dirty)
            }
        };
        let mut changed = false;
        if recompute {
            changed |= self.recompute(center, table, scratch, tick);
        }
        if fields {
            changed |= self.refresh(table, tick);
        }
        self.center = center;
        self.force = false;
        if changed || self.stale || self.last_tick.is_none() {
            self.rebuild_delta(table, tick);
        } else {
            self.delta.tick = tick;
        }
        self.stale = false;
        self.first_tick.get_or_insert(tick);
        self.last_tick = Some(tick);
    }

    fn leave_radius(&self) -> i32 {
        i32::try_from(self.config.radius.saturating_add(self.config.hysteresis))
            .unwrap_or(i32::MAX / 4)
            .min(1 << 20)
    }

    /// Recomputes the visible set; returns whether it changed.
    fn recompute(
        &mut self,
        center: Option<IVec2>,
        table: &Table,
        s: &mut Scratch,
        tick: Tick,
    ) -> bool {
        if s.marks.len() < table.ents.len() {
            s.marks.resize(table.ents.len(), 0);
        }
        if s.stamp >= u32::MAX - 2 {
            s.marks.fill(0);
            s.stamp = 0;
        }
        s.stamp += 2;
        let (was, now) = (s.stamp, s.stamp + 1);
        for r in self.current.iter().flatten() {
            s.marks[r.idx as usize] = was;
        }
        s.cands.clear();
        if let Some(c) = center {
            let big = self.leave_radius();
            let r = i64::from(self.config.radius.min(1 << 20));
            let (r2, big2) = (r * r, i64::from(big) * i64::from(big));
            let skip = if self.config.include_self {
                NONE
            } else {
                self.avatar_idx
            };
            let env = AABB::from_corners([c.x - big, c.y - big], [c.x + big, c.y + big]);
            let (marks, cands) = (&s.marks, &mut s.cands);
            let _ = table.tree.locate_in_envelope_int(env, |p| {
                let [x, y] = *p.geom();
                let (dx, dy) = (i64::from(x - c.x), i64::from(y - c.y));
                let d2 = dx * dx + dy * dy;
                let w = marks[p.data as usize] == was;
                if (d2 <= r2 || (w && d2 <= big2)) && p.data != skip {
                    cands.push(Cand {
                        d2,
                        id: table.ents[p.data as usize].id,
                        idx: p.data,
                        was: w,
                    });
                }
                ControlFlow::<()>::Continue(())
            });
        }
        let cap = usize::from(self.config.cap);
        if s.cands.len() > cap {
            if cap > 0 {
                s.cands
                    .select_nth_unstable_by_key(cap - 1, |c| (c.d2, c.id));
            }
            s.cands.truncate(cap);
        }
        for c in &s.cands {
            s.marks[c.idx as usize] = now;
        }
        let mut changed = false;
        for slot in 0..self.current.len() {
            if let Some(r) = self.current[slot]
                && s.marks[r.idx as usize] != now
            {
                self.current[slot] = None;
                self.used.free(slot);
                self.log.push_back(Change {
                    tick,
                    slot: slot as u16,
                    rec: None,
                });
                changed = true;
            }
        }
        s.enters.clear();
        s.enters.extend(s.cands.iter().filter(|c| !c.was));
        s.enters.sort_unstable_by_key(|c| (c.d2, c.id));
        for c in &s.enters {
            let slot = self.used.alloc();
            let rec = SlotRec::of(&table.ents[c.idx as usize], c.idx);
            let i = usize::from(slot);
            if self.current.len() <= i {
                self.current.resize(i + 1, None);
            }
            self.current[i] = Some(rec);
            self.log.push_back(Change {
                tick,
                slot,
                rec: Some(rec),
            });
            changed = true;
        }
        changed
    }

    /// Picks up field changes of entities that stay in view; returns whether any changed.
    fn refresh(&mut self, table: &Table, tick: Tick) -> bool {
        let epoch = table.epoch;
        let mut changed = false;
        for (slot, cur) in self.current.iter_mut().enumerate() {
            let Some(r) = *cur else { continue };
            let e = &table.ents[r.idx as usize];
            if e.changed != epoch || !e.alive {
                continue;
            }
            let new = SlotRec::of(e, r.idx);
            if new != r {
                *cur = Some(new);
                self.log.push_back(Change {
                    tick,
                    slot: slot as u16,
                    rec: Some(new),
                });
                changed = true;
            }
        }
        changed
    }

    /// Rebuilds the delta from the acknowledged view to the current one.
    fn rebuild_delta(&mut self, table: &Table, tick: Tick) {
        let d = &mut self.delta;
        self.spare.append(&mut d.enters);
        d.updates.clear();
        d.leaves.clear();
        d.tick = tick;
        d.baseline = self.baseline;
        let n = self.acked.len().max(self.current.len());
        for s in 0..n {
            let a = self.acked.get(s).copied().flatten();
            let c = self.current.get(s).copied().flatten();
            let slot = Slot(s as u16);
            match (a, c) {
                (None, None) => {}
                (Some(_), None) => d.leaves.push(Leave { slot }),
                (None, Some(c)) => {
                    push_enter(d, &mut self.spare, slot, &table.ents[c.idx as usize])
                }
                (Some(a), Some(c)) if a.id != c.id || a.info != c.info => {
                    d.leaves.push(Leave { slot });
                    push_enter(d, &mut self.spare, slot, &table.ents[c.idx as usize]);
                }
                (Some(a), Some(c)) => {
                    let u = Update {
                        slot,
                        position: (a.pos != c.pos).then_some(c.pos),
                        target: (a.target != c.target).then_some(c.target),
                        facing: (a.facing != c.facing).then_some(c.facing),
                    };
                    if u.position.is_some() || u.target.is_some() || u.facing.is_some() {
                        d.updates.push(u);
                    }
                }
            }
        }
    }

    /// Moves the baseline to `tick`, which must be in `(baseline, last_tick]`.
    pub(crate) fn ack(&mut self, tick: Tick) {
        while let Some(ch) = self.log.front().copied() {
            if ch.tick > tick {
                break;
            }
            self.log.pop_front();
            let i = usize::from(ch.slot);
            if self.acked.len() <= i {
                self.acked.resize(i + 1, None);
            }
            self.acked[i] = ch.rec;
        }
        self.baseline = tick;
        self.stale = true;
    }

    /// Number of slot changes not yet acknowledged.
    pub(crate) fn unacked_changes(&self) -> usize {
        self.log.len()
    }
}

/// Appends an enter with the entity's full state, reusing a spare name buffer.
fn push_enter(d: &mut Delta, spare: &mut Vec<Enter>, slot: Slot, e: &Ent) {
    let mut enter = spare.pop().unwrap_or_else(|| Enter {
        slot,
        state: VisibleState {
            id: e.id,
            position: e.pos,
            target: None,
            facing: None,
            avatar: 0,
            name: String::new(),
        },
    });
    enter.slot = slot;
    let st = &mut enter.state;
    st.id = e.id;
    st.position = e.pos;
    st.target = e.target;
    st.facing = e.facing;
    st.avatar = e.avatar;
    st.name.clear();
    st.name.push_str(&e.name);
    d.enters.push(enter);
}
