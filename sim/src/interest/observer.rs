//! One observer: its visible set, slots, acknowledged baseline and delta.

use std::collections::VecDeque;
use std::ops::Range;

use glam::IVec2;
use smallvec::SmallVec;

use super::grid::{Dims, Item};
use super::prefetch;
use super::table::{NONE, Table, View, bit, set_bit};
use super::{AoiConfig, Delta, Enter, Leave, Slot, Update, VisibleState};
use crate::{EntityId, Tick};

/// One slot: what it shows now and what the client acknowledged (one cache line).
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(64))]
struct SlotPair {
    current: Option<View>,
    acked: Option<View>,
}

const _: () = assert!(std::mem::size_of::<SlotPair>() == 64);

/// A slot's content changed at `tick` (kept until the client acknowledges that tick).
#[derive(Clone, Copy, Debug)]
struct Change {
    tick: Tick,
    slot: u16,
    rec: Option<View>,
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

/// Scratch buffers shared by the observers of one part of the pass (one observer is
/// processed at a time; a part running on a worker thread has its own).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Per entity index, a bit: in the observer's view before its step. All clear between
    /// observers; 12.5 KB for 100k entities, so lookups hit the first-level cache.
    was: Vec<u64>,
    /// Per entity index, a bit: in the observer's new view (all clear between observers).
    now: Vec<u64>,
    cands: Vec<Cand>,
    enters: Vec<Cand>,
    leaves: Vec<u16>,
    /// Visible entities that changed, by slot, with their new state.
    refresh: Vec<(u16, View)>,
    /// The slots a delta enters, with their views.
    entering: Vec<(Slot, View)>,
    /// For each of `entering`, the index of the last delta's enter it reuses (`NONE`:
    /// none).
    reused: Vec<u32>,
}

/// The rows of cells around an observer's avatar (a [`Span`](super::grid::Span)'s rows),
/// kept with the observer and computed again only when the avatar moves: the prefetch,
/// the check for changes and the scan all read them.
#[derive(Debug, Default)]
struct SpanRows {
    /// The grid's dimensions, center and radius they are for.
    key: Option<(Dims, IVec2, i32)>,
    /// Inline up to the 8 rows of the default area of interest (radius 12 + hysteresis 2:
    /// 29 tiles across, always 8 rows of 4-tile cells): in the observer's record, not in a
    /// buffer of their own.
    rows: SmallVec<[Range<usize>; 8]>,
}

impl SpanRows {
    fn fill(&mut self, dims: Dims, center: IVec2, radius: i32) {
        if self.key != Some((dims, center, radius)) {
            self.rows.clear();
            self.rows.extend(dims.span(center, radius).rows());
            self.key = Some((dims, center, radius));
        }
    }
}

impl Scratch {
    /// Sets the `was` bit of every entity in `vis` (a slot index).
    fn mark_visible(&mut self, vis: &[u32]) {
        for &idx in vis.iter().filter(|&&idx| idx != NONE) {
            set_bit(&mut self.was, idx, true);
        }
    }

    /// Clears the `was` bits [`Scratch::mark_visible`] set.
    fn unmark_visible(&mut self, vis: &[u32]) {
        for &idx in vis.iter().filter(|&&idx| idx != NONE) {
            set_bit(&mut self.was, idx, false);
        }
    }
}

/// Bit words of a slot set, inline up to 128 slots (the default cap is 64): no heap line to
/// fetch per observer and tick.
type Words = SmallVec<[u64; 2]>;

/// A set of used slots, lowest-free-first.
#[derive(Debug, Default)]
struct SlotSet {
    words: Words,
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

    /// Number of used slots.
    fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// Slots whose acknowledged and current contents may differ (a superset: a clear bit
/// means "equal").
#[derive(Debug, Default)]
struct Bits {
    words: Words,
}

impl Bits {
    fn set(&mut self, slot: usize) {
        if self.words.len() <= slot / 64 {
            self.words.resize(slot / 64 + 1, 0);
        }
        self.words[slot / 64] |= 1 << (slot % 64);
    }

    fn clear(&mut self, slot: usize) {
        if let Some(w) = self.words.get_mut(slot / 64) {
            *w &= !(1 << (slot % 64));
        }
    }

    /// The first set bit at or after `from`.
    fn next(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        let mut bits = *self.words.get(w)? & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
            w += 1;
            bits = *self.words.get(w)?;
        }
    }
}

/// Up to this many changes listed around an observer, [`Observer::incremental`] finds the
/// visible ones by scanning the observer's slot index instead of marking its visible set.
const SCAN_MAX: usize = 24;

/// At most this many slots are prefetched per list in [`Observer::prefetch_work`]: the
/// default cap, so that with everyone walking (every visible slot changes every tick) all
/// the slots an observer's acks and delta touch are asked for.
const PREFETCH_SLOTS: usize = 64;

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
    /// The rows of cells within the leave radius of the avatar's current position.
    span: SpanRows,
    /// Recompute visibility at the next update whatever changed.
    pub(crate) force: bool,
    /// Whether the cap excluded some entity that qualified at the last full computation
    /// (then unchanged entities may enter when others leave, so changes alone do not tell
    /// the new set).
    capped: bool,
    /// The view at `last_tick` and the view at `baseline`, by slot (side by side: the
    /// delta and the acks read both).
    slots: Vec<SlotPair>,
    /// The entity index in each slot (`slots[i].current`) (`NONE`: empty), compact for scans;
    /// inline up to the default cap (64), so that the observer pass finds it in the
    /// observer's record instead of one more buffer to fetch per observer.
    vis: SmallVec<[u32; 64]>,
    used: SlotSet,
    pub(crate) baseline: Tick,
    /// Changes of the current view after `baseline`, in tick order.
    log: VecDeque<Change>,
    /// Slots whose acknowledged and current contents may differ: only they can appear in a delta.
    diff: Bits,
    pub(crate) delta: Delta,
    /// The player-info digest of each of `delta.enters`.
    enter_info: Vec<u64>,
    /// Enters no longer in the delta, kept to reuse their name buffers.
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
            span: SpanRows::default(),
            force: true,
            capped: false,
            slots: Vec::new(),
            vis: SmallVec::new(),
            used: SlotSet::default(),
            baseline: 0,
            log: VecDeque::new(),
            diff: Bits::default(),
            delta: Delta::default(),
            enter_info: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The entities in view now, by slot.
    pub(crate) fn visible(&self) -> impl Iterator<Item = (Slot, EntityId)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(s, p)| p.current.map(|r| (Slot(s as u16), r.id)))
    }

    /// Number of entities in view now.
    pub(crate) fn visible_count(&self) -> usize {
        self.used.count()
    }

    /// First prefetch stage, two observers ahead: asks the CPU to start loading the
    /// heads of this observer's buffers and its avatar's record, which its next
    /// [`Observer::step`] reads first (each observer's state is out of cache by the time
    /// its turn comes).
    pub(crate) fn prefetch(&self, table: &Table) {
        let (log, _) = self.log.as_slices();
        prefetch::lines(log, 2);
        if self.vis.spilled() {
            // Else it is in the record, which the pass prefetched whole.
            prefetch::lines(&self.vis, 4);
        }
        prefetch::lines(&self.diff.words, 1);
        prefetch::lines(&self.used.words, 1);
        prefetch::lines(&self.delta.updates, 1);
        prefetch::lines(&self.delta.leaves, 1);
        prefetch::lines(&self.delta.enters, 1);
        prefetch::at(&table.ents, self.avatar_idx as usize);
    }

    /// Second prefetch stage, one observer ahead (the first stage has brought in the
    /// buffers' heads): starts loading the slots that the acks and the delta will touch,
    /// and the grid cells or change lists around the avatar (computing the rows of cells
    /// again if the avatar moved). A stale avatar index merely prefetches the wrong lines.
    pub(crate) fn prefetch_work(&mut self, table: &Table) {
        let acked = self.log.iter().take_while(|ch| ch.tick <= self.baseline);
        for ch in acked.take(PREFETCH_SLOTS) {
            prefetch::at(&self.slots, usize::from(ch.slot));
        }
        let mut next = self.diff.next(0);
        for _ in 0..PREFETCH_SLOTS {
            let Some(s) = next else { break };
            prefetch::at(&self.slots, s);
            next = self.diff.next(s + 1);
        }
        if let Some(e) = table.ents.get(self.avatar_idx as usize) {
            let radius = self.leave_radius();
            let span = &mut self.span;
            span.fill(table.grid.dims(), e.pos, radius);
            // Whether `step` may scan the grid (it recomputes when the avatar moved, when
            // forced, or when capped and something changed nearby) or reads only the
            // change lists.
            if self.force || self.capped || self.center != Some(e.pos) {
                table.grid.prefetch(&span.rows);
            } else {
                table.cells.prefetch(&span.rows);
            }
        }
    }

    /// Advances the observer to `tick`: visible set, field changes, delta.
    ///
    /// When the observer's avatar stayed put and the cap excluded nobody last time, only the
    /// entities that changed in the cells around it can change its view: they are checked
    /// one by one (the grid of positions is not scanned). Otherwise the view is recomputed
    /// from a scan of the grid around the avatar.
    pub(crate) fn step(&mut self, table: &Table, scratch: &mut Scratch, tick: Tick) {
        let folded = self.apply_acks();
        let center = (self.avatar_idx != NONE).then(|| table.ents[self.avatar_idx as usize].pos);
        let mut changed = false;
        match center {
            None => {
                if self.force || self.center.is_some() {
                    changed |= self.recompute(None, &[], table, scratch, tick);
                }
            }
            Some(c) => {
                let radius = self.leave_radius();
                self.span.fill(table.grid.dims(), c, radius);
                let taken = std::mem::take(&mut self.span.rows);
                let rows = &taken;
                if self.force || self.center != Some(c) {
                    changed |= self.recompute(center, rows, table, scratch, tick);
                    changed |= self.refresh(table, tick);
                } else {
                    match table.cells.listed(rows) {
                        0 => {}
                        _ if self.capped => {
                            changed |= self.recompute(center, rows, table, scratch, tick);
                            changed |= self.refresh(table, tick);
                        }
                        listed => {
                            changed |= self.incremental(c, rows, listed, table, scratch, tick);
                        }
                    }
                }
                self.span.rows = taken;
            }
        }
        self.center = center;
        self.force = false;
        if changed || folded || self.last_tick.is_none() {
            self.rebuild_delta(table, scratch, tick);
        } else {
            // Neither view changed: the same delta holds from the (possibly newer) baseline.
            self.delta.tick = tick;
            self.delta.baseline = self.baseline;
        }
        self.first_tick.get_or_insert(tick);
        self.last_tick = Some(tick);
    }

    /// Updates the view from the entities that changed near an observer that did not move
    /// and was not capped; returns whether the view changed. Falls back to
    /// [`Observer::recompute`] when the result would exceed the cap.
    fn incremental(
        &mut self,
        c: IVec2,
        rows: &[Range<usize>],
        listed: usize,
        table: &Table,
        s: &mut Scratch,
        tick: Tick,
    ) -> bool {
        let big = self.leave_radius();
        // Which listed entities are visible, and in which slot: with few listed, a scan of
        // the compact slot index; else the visible set is marked in a bitset first, and
        // only the visible ones are looked for in the index.
        let marked = listed > SCAN_MAX;
        if marked {
            s.mark_visible(&self.vis);
        }
        let count = self.visible_count();
        s.enters.clear();
        s.leaves.clear();
        s.refresh.clear();
        let r = i64::from(self.config.radius.min(1 << 20));
        let (r2, big2) = (r * r, i64::from(big) * i64::from(big));
        let skip = if self.config.include_self {
            NONE
        } else {
            self.avatar_idx
        };
        for row in rows {
            let (touches, views) = table.cells.row(row.clone());
            for (k, t) in touches.iter().enumerate() {
                let e = t.idx;
                let slot = if marked && !bit(&s.was, e) {
                    None
                } else {
                    self.vis.iter().position(|&v| v == e).map(|p| p as u16)
                };
                let w = slot.is_some();
                let d = t.pos - c;
                let d2 = i64::from(d.x) * i64::from(d.x) + i64::from(d.y) * i64::from(d.y);
                let eligible = t.alive && e != skip && (d2 <= r2 || (w && d2 <= big2));
                match (slot, eligible) {
                    (Some(slot), false) => s.leaves.push(slot),
                    (None, true) => s.enters.push(Cand {
                        d2,
                        id: views[k].id,
                        idx: e,
                        was: false,
                    }),
                    (Some(slot), true) => {
                        // Compared with the slot's view once the scan is done.
                        prefetch::at(&self.slots, usize::from(slot));
                        s.refresh.push((slot, views[k]));
                    }
                    (None, false) => {}
                }
            }
        }
        if marked {
            s.unmark_visible(&self.vis);
        }
        // An entity listed twice (in the cells it left and entered) was seen twice, the
        // same both times (a second refresh of a slot changes nothing).
        s.leaves.sort_unstable();
        s.leaves.dedup();
        s.enters.sort_unstable_by_key(|c| (c.d2, c.id));
        s.enters.dedup_by_key(|c| c.idx);
        s.refresh.sort_unstable_by_key(|&(slot, _)| slot);
        if count - s.leaves.len() + s.enters.len() > usize::from(self.config.cap) {
            let changed = self.recompute(Some(c), rows, table, s, tick);
            return changed | self.refresh(table, tick);
        }
        let mut changed = false;
        for &slot in &s.leaves {
            self.leave(tick, slot);
            changed = true;
        }
        for c in &s.enters {
            self.enter(c.idx, table, tick);
            changed = true;
        }
        for &(slot, new) in &s.refresh {
            if self.slots[usize::from(slot)].current != Some(new) {
                self.record(tick, slot, Some(new));
                changed = true;
            }
        }
        changed
    }

    /// Gives entity `idx` the lowest free slot.
    fn enter(&mut self, idx: u32, table: &Table, tick: Tick) {
        let slot = self.used.alloc();
        let rec = table.view(idx);
        self.record(tick, slot, Some(rec));
        self.vis[usize::from(slot)] = idx;
    }

    /// Empties a slot (its entity left the view).
    fn leave(&mut self, tick: Tick, slot: u16) {
        self.used.free(usize::from(slot));
        self.vis[usize::from(slot)] = NONE;
        self.record(tick, slot, None);
    }

    /// Sets a slot's current content and logs the change for acks (the slot index `vis`
    /// is the caller's).
    fn record(&mut self, tick: Tick, slot: u16, rec: Option<View>) {
        let i = usize::from(slot);
        if self.slots.len() <= i {
            self.slots.resize(i + 1, SlotPair::default());
            self.vis.resize(i + 1, NONE);
        }
        self.slots[i].current = rec;
        self.log.push_back(Change { tick, slot, rec });
        self.diff.set(i);
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
        rows: &[Range<usize>],
        table: &Table,
        s: &mut Scratch,
        tick: Tick,
    ) -> bool {
        s.mark_visible(&self.vis);
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
            let (was, cands) = (&s.was, &mut s.cands);
            let mut visit = |p: &Item| {
                let d = p.pos - c;
                let d2 = i64::from(d.x) * i64::from(d.x) + i64::from(d.y) * i64::from(d.y);
                // The visible set is looked up only where hysteresis decides.
                let eligible = d2 <= r2 || (d2 <= big2 && bit(was, p.idx));
                if eligible && p.idx != skip {
                    cands.push(Cand {
                        d2,
                        id: p.id,
                        idx: p.idx,
                        was: false,
                    });
                }
            };
            for row in rows {
                table.grid.for_each_in(row.clone(), &mut visit);
            }
        }
        let cap = usize::from(self.config.cap);
        self.capped = s.cands.len() > cap;
        if s.cands.len() > cap {
            if cap > 0 {
                s.cands
                    .select_nth_unstable_by_key(cap - 1, |c| (c.d2, c.id));
            }
            s.cands.truncate(cap);
        }
        for c in &mut s.cands {
            c.was = bit(&s.was, c.idx);
            set_bit(&mut s.now, c.idx, true);
        }
        s.unmark_visible(&self.vis);
        let mut changed = false;
        for slot in 0..self.vis.len() {
            let idx = self.vis[slot];
            if idx != NONE && !bit(&s.now, idx) {
                self.leave(tick, slot as u16);
                changed = true;
            }
        }
        for c in &s.cands {
            set_bit(&mut s.now, c.idx, false);
        }
        s.enters.clear();
        s.enters.extend(s.cands.iter().filter(|c| !c.was));
        s.enters.sort_unstable_by_key(|c| (c.d2, c.id));
        for c in &s.enters {
            self.enter(c.idx, table, tick);
            changed = true;
        }
        changed
    }

    /// Picks up field changes of entities that stay in view; returns whether any changed.
    fn refresh(&mut self, table: &Table, tick: Tick) -> bool {
        let mut changed = false;
        for slot in 0..self.vis.len() {
            let idx = self.vis[slot];
            if idx == NONE || !table.changed(idx) || !table.ents[idx as usize].alive {
                continue;
            }
            let new = table.view(idx);
            if Some(new) != self.slots[slot].current {
                self.record(tick, slot as u16, Some(new));
                changed = true;
            }
        }
        changed
    }

    /// Rebuilds the delta from the acknowledged view to the current one.
    fn rebuild_delta(&mut self, table: &Table, s: &mut Scratch, tick: Tick) {
        let d = &mut self.delta;
        d.updates.clear();
        d.leaves.clear();
        d.tick = tick;
        d.baseline = self.baseline;
        s.entering.clear();
        let mut next = self.diff.next(0);
        while let Some(i) = next {
            next = self.diff.next(i + 1);
            let SlotPair {
                current: c,
                acked: a,
            } = self.slots.get(i).copied().unwrap_or_default();
            let slot = Slot(i as u16);
            match (a, c) {
                (None, None) => self.diff.clear(i),
                (Some(_), None) => d.leaves.push(Leave { slot }),
                (None, Some(c)) => s.entering.push((slot, c)),
                (Some(a), Some(c)) if a.id != c.id || a.look.info() != c.look.info() => {
                    d.leaves.push(Leave { slot });
                    s.entering.push((slot, c));
                }
                (Some(a), Some(c)) => {
                    let u = Update {
                        slot,
                        position: (a.pos != c.pos).then_some(c.pos),
                        target: (a.target != c.target).then_some(c.target.get()),
                        facing: (a.look.facing() != c.look.facing()).then_some(c.look.facing()),
                    };
                    if u.position.is_some() || u.target.is_some() || u.facing.is_some() {
                        d.updates.push(u);
                    } else {
                        self.diff.clear(i);
                    }
                }
            }
        }
        self.place_enters(table, s);
    }

    /// Makes `delta.enters` the enters of `s.entering`, in place: an enter that the last
    /// delta sent for the same slot, entity and player info (not acknowledged yet, so sent
    /// again) is reused as it is, name included; the others get the player info of their
    /// entity in a leftover entry (its name buffer reused).
    fn place_enters(&mut self, table: &Table, s: &mut Scratch) {
        let (enters, info) = (&mut self.delta.enters, &mut self.enter_info);
        // Both lists are in slot order: match them with two cursors.
        s.reused.clear();
        let mut j = 0;
        for (slot, view) in &s.entering {
            while enters.get(j).is_some_and(|e| e.slot < *slot) {
                j += 1;
            }
            let same = enters.get(j).is_some_and(|e| {
                e.slot == *slot && e.state.id == view.id && info[j] == view.look.info()
            });
            s.reused.push(if same { j as u32 } else { NONE });
            j += usize::from(same);
        }
        let n = s.entering.len();
        while enters.len() < n {
            enters.push(self.spare.pop().unwrap_or_else(blank_enter));
            info.push(0);
        }
        // Reused entries move to their new places. Sources and targets both increase, so
        // moving left in ascending order, then right in descending order, reads every
        // source before anything is written over it.
        let source = |k: usize| (s.reused[k] != NONE).then(|| s.reused[k] as usize);
        for to in 0..n {
            if let Some(from) = source(to).filter(|&from| from > to) {
                enters.swap(from, to);
                info.swap(from, to);
            }
        }
        for to in (0..n).rev() {
            if let Some(from) = source(to).filter(|&from| from < to) {
                enters.swap(from, to);
                info.swap(from, to);
            }
        }
        for (k, &(slot, view)) in s.entering.iter().enumerate() {
            let e = &mut enters[k];
            if s.reused[k] == NONE {
                let cold = &table.cold[self.vis[usize::from(slot.0)] as usize];
                e.state.avatar = cold.avatar;
                e.state.name.clear();
                e.state.name.push_str(&cold.name);
                info[k] = view.look.info();
            }
            e.slot = slot;
            let st = &mut e.state;
            st.id = view.id;
            st.position = view.pos;
            st.target = view.target.get();
            st.facing = view.look.facing();
        }
        if enters.len() > n {
            self.spare.extend(enters.drain(n..));
            info.truncate(n);
        }
    }

    /// Moves the baseline to `tick`, which must be in `(baseline, last_tick]`. The
    /// acknowledged changes are folded into the acknowledged view at the next step, while
    /// the observer's data is in cache anyway.
    pub(crate) fn ack(&mut self, tick: Tick) {
        self.baseline = tick;
    }

    /// Folds the changes up to the baseline into the acknowledged view; returns whether
    /// there were any (then the delta must be built again). The acknowledged view changes
    /// only here: a baseline that moved past no change leaves it, and the delta, as they
    /// were.
    fn apply_acks(&mut self) -> bool {
        let mut folded = false;
        while let Some(ch) = self.log.front().copied() {
            if ch.tick > self.baseline {
                break;
            }
            self.log.pop_front();
            folded = true;
            let i = usize::from(ch.slot);
            if self.slots.len() <= i {
                self.slots.resize(i + 1, SlotPair::default());
            }
            let pair = &mut self.slots[i];
            pair.acked = ch.rec;
            if pair.current == ch.rec {
                self.diff.clear(i);
            } else {
                self.diff.set(i);
            }
        }
        folded
    }

    /// Number of slot changes not yet acknowledged.
    pub(crate) fn unacked_changes(&self) -> usize {
        self.log.len() - self.log.partition_point(|ch| ch.tick <= self.baseline)
    }
}

/// An empty enter (its fields are set before it is sent).
fn blank_enter() -> Enter {
    Enter {
        slot: Slot(0),
        state: VisibleState {
            id: EntityId(std::num::NonZeroU64::MIN),
            position: IVec2::ZERO,
            target: None,
            facing: None,
            avatar: 0,
            name: String::new(),
        },
    }
}
