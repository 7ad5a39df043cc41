//! Snapshots: a [`sim::interest::Delta`] on the wire, as compact as the FlatBuffers format
//! allows.
//!
//! # Layout
//! Updates of entities with a slot below 256 whose position moved by at most one tile and
//! whose new target (if any) is adjacent to their position — the steady state of walking
//! avatars — are sent as 2-byte [`StepUpdate`]s: slot and a mixed-radix code
//! `pos + 6 * target + 36 * facing` (see `server.fbs`). Positions in a step are relative to
//! the slot's position in the receiver's mirror, targets relative to the (new) position.
//! Anything else is a 20-byte full update with absolute coordinates. Enters are a vector of
//! structs plus a parallel vector of names; leaves a vector of slots.
//!
//! Like the interest manager's deltas, a snapshot is relative to the view of its `baseline`
//! tick (the last tick the client acknowledged; empty for 0). The sender keeps one
//! [`SnapshotEncoder`] per connection (it remembers slot positions per encoded tick), the
//! receiver one [`ClientMirror`] (a mirror per received tick). Call
//! [`SnapshotEncoder::reset`] on reconnect.

use std::collections::BTreeMap;

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use glam::IVec2;
use sim::Tick;
use sim::interest::{
    Delta, Enter, HistoryError, Leave, Mirror, MirrorHistory, Slot, Update, VisibleState,
};

use crate::common::{PROTOCOL_VERSION, dir_from_wire, dir_to_wire, entity, opt_tile};
use crate::error::{MAX_NAME_BYTES, ProtocolError};
use crate::generated::plaza::server as fb;

/// Number of distinct step codes (`6 * 6 * 6`); codes at or above are invalid.
pub const STEP_CODES: u8 = 216;

/// A hot-path update: slot (< 256) and step code (< [`STEP_CODES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StepUpdate {
    /// The entity's slot.
    pub slot: u8,
    /// `pos + 6 * target + 36 * facing`, see the module docs.
    pub code: u8,
}

/// A snapshot as it travels: steps are still relative to the receiver's mirror.
/// [`WireSnapshot::resolve`] turns it into a [`Delta`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WireSnapshot {
    /// The tick this snapshot brings the receiver to.
    pub tick: Tick,
    /// The acknowledged tick the interest manager computed it against (0: from nothing).
    pub baseline: Tick,
    /// The last input sequence number of this client applied by the sim.
    pub last_input_seq: u32,
    /// Entities leaving view (applied first).
    pub leaves: Vec<Leave>,
    /// Entities entering view (applied second).
    pub enters: Vec<Enter>,
    /// Compact updates (applied third, with `full`, in slot order).
    pub steps: Vec<StepUpdate>,
    /// Updates with absolute values.
    pub full: Vec<Update>,
}

/// Direction index 0..4 (N, E, S, W) of a unit offset.
#[inline]
fn unit_index(from: IVec2, to: IVec2) -> Option<u8> {
    let dx = i64::from(to.x) - i64::from(from.x);
    let dy = i64::from(to.y) - i64::from(from.y);
    // (dx + 1) + 3 * (dy + 1) is 0..9 for unit-or-zero offsets; four of them are steps.
    if !(-1..=1).contains(&dx) || !(-1..=1).contains(&dy) {
        return None;
    }
    const BY_CELL: [u8; 9] = [9, 0, 9, 3, 9, 1, 9, 2, 9];
    match BY_CELL[(dx + 1 + 3 * (dy + 1)) as usize] {
        9 => None,
        i => Some(i),
    }
}

const UNIT: [IVec2; 4] = [
    IVec2::new(0, -1),
    IVec2::new(1, 0),
    IVec2::new(0, 1),
    IVec2::new(-1, 0),
];

fn step_from(p: IVec2, index: u8) -> Result<IVec2, ProtocolError> {
    let u = UNIT[usize::from(index)];
    match (p.x.checked_add(u.x), p.y.checked_add(u.y)) {
        (Some(x), Some(y)) => Ok(IVec2::new(x, y)),
        _ => Err(ProtocolError::OutOfRange {
            field: "steps.code",
            value: i64::from(index),
        }),
    }
}

/// The step code for `u` given the slot's reference position, or `None` when it needs a full
/// update.
#[inline(always)]
pub fn step_code(u: &Update, reference: Option<IVec2>) -> Option<StepUpdate> {
    let slot = u8::try_from(u.slot.0).ok()?;
    let pos = match u.position {
        None => 0,
        Some(p) => {
            let r = reference?;
            if p == r { 1 } else { 2 + unit_index(r, p)? }
        }
    };
    let target = match u.target {
        None => 0,
        Some(None) => 1,
        Some(Some(t)) => 2 + unit_index(u.position.or(reference)?, t)?,
    };
    let facing = match u.facing {
        None => 0,
        Some(None) => 1,
        Some(Some(d)) => 2 + d.code(),
    };
    Some(StepUpdate {
        slot,
        code: pos + 6 * target + 36 * facing,
    })
}

/// Expands a step into an update, given the slot's reference position.
pub fn resolve_step(s: StepUpdate, reference: Option<IVec2>) -> Result<Update, ProtocolError> {
    if s.code >= STEP_CODES {
        return Err(ProtocolError::OutOfRange {
            field: "steps.code",
            value: i64::from(s.code),
        });
    }
    let (pos, target, facing) = (s.code % 6, (s.code / 6) % 6, s.code / 36);
    let slot = Slot(u16::from(s.slot));
    let need = || reference.ok_or(ProtocolError::UnknownSlot(slot.0));
    let position = match pos {
        0 => None,
        1 => Some(need()?),
        i => Some(step_from(need()?, i - 2)?),
    };
    let target = match target {
        0 => None,
        1 => Some(None),
        i => {
            let from = match position {
                Some(p) => p,
                None => need()?,
            };
            Some(Some(step_from(from, i - 2)?))
        }
    };
    let facing = match facing {
        0 => None,
        1 => Some(None),
        i => Some(sim::Direction::from_code(i - 2)),
    };
    Ok(Update {
        slot,
        position,
        target,
        facing,
    })
}

fn full_to_wire(u: &Update) -> fb::FullUpdate {
    let mut mask = 0u8;
    let p = u.position.unwrap_or(IVec2::ZERO);
    if u.position.is_some() {
        mask |= 1;
    }
    let t = match u.target {
        None => IVec2::ZERO,
        Some(t) => {
            mask |= 2;
            if t.is_some() {
                mask |= 4;
            }
            t.unwrap_or(IVec2::ZERO)
        }
    };
    let facing = match u.facing {
        None => dir_to_wire(None),
        Some(f) => {
            mask |= 8;
            dir_to_wire(f)
        }
    };
    fb::FullUpdate::new(p.x, p.y, t.x, t.y, u.slot.0, mask, facing)
}

fn full_from_wire(w: &fb::FullUpdate) -> Result<Update, ProtocolError> {
    let mask = w.mask();
    if mask > 15 {
        return Err(ProtocolError::OutOfRange {
            field: "updates.mask",
            value: i64::from(mask),
        });
    }
    let facing = dir_from_wire(w.facing(), "updates.facing")?;
    Ok(Update {
        slot: Slot(w.slot()),
        position: (mask & 1 != 0).then(|| IVec2::new(w.x(), w.y())),
        target: (mask & 2 != 0).then(|| (mask & 4 != 0).then(|| IVec2::new(w.tx(), w.ty()))),
        facing: (mask & 8 != 0).then_some(facing),
    })
}

fn enter_to_wire(e: &Enter) -> fb::EnterState {
    let s = &e.state;
    let (has_target, t) = opt_tile(s.target);
    fb::EnterState::new(
        s.id.get(),
        s.position.x,
        s.position.y,
        t.x,
        t.y,
        e.slot.0,
        s.avatar,
        dir_to_wire(s.facing),
        u8::from(has_target),
    )
}

/// Writes a Snapshot body (not the root); `names` is a buffer for the enters' name offsets.
fn write_body<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    head: (Tick, Tick, u32),
    (leaves, enters): (&[Leave], &[Enter]),
    (steps, full): (&[fb::Step], &[fb::FullUpdate]),
    names: &mut Vec<WIPOffset<&'b str>>,
) -> WIPOffset<flatbuffers::UnionWIPOffset> {
    let (tick, baseline, last_input_seq) = head;
    let names = (!enters.is_empty()).then(|| {
        names.clear();
        names.extend(enters.iter().map(|e| fbb.create_string(&e.state.name)));
        fbb.create_vector(names)
    });
    let enters = (!enters.is_empty()).then(|| {
        fbb.start_vector::<fb::EnterState>(enters.len());
        for e in enters.iter().rev() {
            fbb.push(enter_to_wire(e));
        }
        fbb.end_vector(enters.len())
    });
    let leaves = (!leaves.is_empty()).then(|| {
        fbb.start_vector::<u16>(leaves.len());
        for l in leaves.iter().rev() {
            fbb.push(l.slot.0);
        }
        fbb.end_vector(leaves.len())
    });
    let updates = (!full.is_empty()).then(|| fbb.create_vector(full));
    let steps = (!steps.is_empty()).then(|| fbb.create_vector(steps));
    fb::Snapshot::create(
        fbb,
        &fb::SnapshotArgs {
            tick,
            last_input_seq,
            steps,
            baseline,
            updates,
            leaves,
            enters,
            names,
        },
    )
    .as_union_value()
}

pub(crate) fn finish_server<'a>(
    fbb: &'a mut FlatBufferBuilder<'static>,
    body_type: fb::ServerBody,
    body: WIPOffset<flatbuffers::UnionWIPOffset>,
) -> &'a [u8] {
    let root = fb::ServerMessage::create(
        fbb,
        &fb::ServerMessageArgs {
            version: PROTOCOL_VERSION,
            body_type,
            body: Some(body),
        },
    );
    fbb.finish_minimal(root);
    fbb.finished_data()
}

impl WireSnapshot {
    pub(crate) fn write<'b>(
        &self,
        fbb: &mut FlatBufferBuilder<'b>,
    ) -> WIPOffset<flatbuffers::UnionWIPOffset> {
        let steps: Vec<fb::Step> = self
            .steps
            .iter()
            .map(|s| fb::Step::new(s.slot, s.code))
            .collect();
        let full: Vec<fb::FullUpdate> = self.full.iter().map(full_to_wire).collect();
        write_body(
            fbb,
            (self.tick, self.baseline, self.last_input_seq),
            (&self.leaves, &self.enters),
            (&steps, &full),
            &mut Vec::new(),
        )
    }

    pub(crate) fn read(s: fb::Snapshot<'_>) -> Result<WireSnapshot, ProtocolError> {
        let leaves = s.leaves().map_or_else(Vec::new, |v| {
            v.iter().map(|slot| Leave { slot: Slot(slot) }).collect()
        });
        let enters = match (s.enters(), s.names()) {
            (None, None) => Vec::new(),
            (Some(e), Some(n)) if e.len() == n.len() => e
                .iter()
                .zip(n.iter())
                .map(|(e, name)| {
                    if name.len() > MAX_NAME_BYTES {
                        return Err(ProtocolError::TextTooLong {
                            field: "names",
                            len: name.len(),
                            max: MAX_NAME_BYTES,
                        });
                    }
                    if e.flags() > 1 {
                        return Err(ProtocolError::OutOfRange {
                            field: "enters.flags",
                            value: i64::from(e.flags()),
                        });
                    }
                    Ok(Enter {
                        slot: Slot(e.slot()),
                        state: VisibleState {
                            id: entity(e.id(), "enters.id")?,
                            position: IVec2::new(e.x(), e.y()),
                            target: (e.flags() & 1 != 0).then(|| IVec2::new(e.tx(), e.ty())),
                            facing: dir_from_wire(e.facing(), "enters.facing")?,
                            avatar: e.avatar(),
                            name: name.to_owned(),
                        },
                    })
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(ProtocolError::LengthMismatch("enters", "names")),
        };
        let steps = s.steps().map_or_else(Vec::new, |v| {
            v.iter()
                .map(|s| StepUpdate {
                    slot: s.slot(),
                    code: s.code(),
                })
                .collect()
        });
        if let Some(bad) = steps.iter().find(|s| s.code >= STEP_CODES) {
            return Err(ProtocolError::OutOfRange {
                field: "steps.code",
                value: i64::from(bad.code),
            });
        }
        let full = s
            .updates()
            .map_or(Ok(Vec::new()), |v| v.iter().map(full_from_wire).collect())?;
        Ok(WireSnapshot {
            tick: s.tick(),
            baseline: s.baseline(),
            last_input_seq: s.last_input_seq(),
            leaves,
            enters,
            steps,
            full,
        })
    }

    /// Builds the wire form of `delta` against `reference` (the view of `delta.baseline`).
    /// The updates come out merged per slot and sorted by slot (see [`normalize_updates`]).
    pub fn from_delta(delta: &Delta, last_input_seq: u32, reference: &Mirror) -> WireSnapshot {
        let view = RefView::new(reference, &delta.leaves, &delta.enters);
        let mut steps = Vec::new();
        let mut full = Vec::new();
        for u in normalize_updates(&delta.updates) {
            match step_code(&u, view.position(u.slot)) {
                Some(s) => steps.push(s),
                None => full.push(u),
            }
        }
        WireSnapshot {
            tick: delta.tick,
            baseline: delta.baseline,
            last_input_seq,
            leaves: delta.leaves.clone(),
            enters: delta.enters.clone(),
            steps,
            full,
        }
    }

    /// Expands the steps against `reference` (the receiver's mirror of `self.baseline`)
    /// into a [`Delta`] whose updates are sorted by slot.
    pub fn resolve(&self, reference: &Mirror) -> Result<Delta, ProtocolError> {
        let view = RefView::new(reference, &self.leaves, &self.enters);
        let mut updates = Vec::with_capacity(self.steps.len() + self.full.len());
        for s in &self.steps {
            updates.push(resolve_step(*s, view.position(Slot(u16::from(s.slot))))?);
        }
        updates.extend_from_slice(&self.full);
        updates.sort_by_key(|u| u.slot);
        Ok(Delta {
            tick: self.tick,
            baseline: self.baseline,
            enters: self.enters.clone(),
            updates,
            leaves: self.leaves.clone(),
        })
    }
}

/// The mirror after a delta's leaves and enters: what its updates are relative to.
struct RefView<'a> {
    mirror: &'a Mirror,
    overlay: BTreeMap<Slot, Option<IVec2>>,
}

impl<'a> RefView<'a> {
    fn new(mirror: &'a Mirror, leaves: &[Leave], enters: &[Enter]) -> RefView<'a> {
        let mut overlay = BTreeMap::new();
        for l in leaves {
            overlay.insert(l.slot, None);
        }
        for e in enters {
            overlay.insert(e.slot, Some(e.state.position));
        }
        RefView { mirror, overlay }
    }

    fn position(&self, slot: Slot) -> Option<IVec2> {
        match self.overlay.get(&slot) {
            Some(p) => *p,
            None => self.mirror.slots.get(&slot).map(|s| s.position),
        }
    }
}

/// Merges updates of the same slot (later fields win, as `Mirror::apply` would) and sorts
/// them by slot. Snapshots carry updates in this form.
pub fn normalize_updates(updates: &[Update]) -> Vec<Update> {
    let mut out = updates.to_vec();
    if out.windows(2).all(|w| w[0].slot < w[1].slot) {
        return out;
    }
    out.sort_by_key(|u| u.slot); // stable: keeps the order within a slot
    let mut merged: Vec<Update> = Vec::with_capacity(out.len());
    for u in out {
        match merged.last_mut() {
            Some(m) if m.slot == u.slot => {
                m.position = u.position.or(m.position);
                m.target = u.target.or(m.target);
                m.facing = u.facing.or(m.facing);
            }
            _ => merged.push(u),
        }
    }
    merged
}

/// Slot-indexed positions of one view (what steps are relative to).
type Positions = Vec<Option<IVec2>>;

fn set_position(positions: &mut Positions, slot: Slot, p: Option<IVec2>) {
    let i = usize::from(slot.0);
    if i >= positions.len() {
        if p.is_none() {
            return;
        }
        positions.resize(i + 1, None);
    }
    positions[i] = p;
}

/// Per-connection snapshot encoder.
///
/// Like the interest manager's deltas, snapshots are relative to the view of the tick the
/// client acknowledged (`delta.baseline`), which the client keeps in its
/// [`ClientMirror`]. The encoder therefore remembers, for every tick it encoded since the
/// newest baseline, the position of every slot, so steps can be relative to the baseline
/// view. Use one encoder per connection, feed it every delta of that connection, and send
/// every snapshot it returns. The bytes are built in a [`SnapshotWriter`], which the
/// encoders of one thread share.
///
/// # Example
/// ```
/// use schema::{ClientMirror, ServerMessage, SnapshotEncoder, SnapshotWriter, decode_server};
/// use sim::interest::Delta;
///
/// let mut writer = SnapshotWriter::new(); // per thread
/// let mut enc = SnapshotEncoder::new(); // per connection
/// let mut client = ClientMirror::default();
/// let delta = Delta { tick: 1, ..Delta::default() };
/// let bytes = enc.encode(&mut writer, &delta, 0).to_vec();
/// let ServerMessage::Snapshot(snap) = decode_server(&bytes).unwrap() else { panic!() };
/// client.apply(&snap).unwrap();
/// assert_eq!(client.latest().tick, 1);
/// ```
#[derive(Default)]
pub struct SnapshotEncoder {
    /// Views by encoded tick, ascending, from the newest baseline on.
    history: Vec<(Tick, Positions)>,
    floor: Tick,
    spare: Vec<Positions>,
    empty: Positions,
    last_input_seq: Option<u32>,
}

impl std::fmt::Debug for SnapshotEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotEncoder")
            .field(
                "ticks",
                &self.history.iter().map(|h| h.0).collect::<Vec<_>>(),
            )
            .field("floor", &self.floor)
            .field("last_input_seq", &self.last_input_seq)
            .finish_non_exhaustive()
    }
}

/// Where snapshots are built: the FlatBuffers builder, the update lists and the enters'
/// name offsets, reused from one snapshot to the next. One per thread, shared by the
/// encoders it runs, so that it stays in cache instead of one builder per connection being
/// fetched from memory every tick.
pub struct SnapshotWriter {
    fbb: FlatBufferBuilder<'static>,
    steps: Vec<fb::Step>,
    full: Vec<fb::FullUpdate>,
    names: Vec<WIPOffset<&'static str>>,
}

impl std::fmt::Debug for SnapshotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriter").finish_non_exhaustive()
    }
}

impl Default for SnapshotWriter {
    fn default() -> Self {
        SnapshotWriter::new()
    }
}

impl SnapshotWriter {
    /// A writer with room for a typical snapshot.
    pub fn new() -> SnapshotWriter {
        SnapshotWriter {
            fbb: FlatBufferBuilder::with_capacity(1024),
            steps: Vec::new(),
            full: Vec::new(),
            names: Vec::new(),
        }
    }
}

impl SnapshotEncoder {
    /// An encoder for a fresh connection (the client has no view yet).
    pub fn new() -> SnapshotEncoder {
        SnapshotEncoder::default()
    }

    /// Forgets everything sent (the client starts from nothing again).
    pub fn reset(&mut self) {
        self.history.clear();
        self.floor = 0;
        self.last_input_seq = None;
    }

    /// Number of per-tick views kept (ticks encoded since the newest baseline).
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// Encodes `delta` as a `ServerMessage{Snapshot}` carrying `last_input_seq`. The bytes
    /// must be sent (the client may acknowledge their tick, and later snapshots are then
    /// relative to it). The bytes are in `writer` until its next use.
    pub fn encode<'w>(
        &mut self,
        writer: &'w mut SnapshotWriter,
        delta: &Delta,
        last_input_seq: u32,
    ) -> &'w [u8] {
        let mut view = self.spare.pop().unwrap_or_default();
        view.clear();
        let base = if delta.baseline == 0 {
            Some(&self.empty)
        } else {
            self.history
                .iter()
                .rev()
                .find(|h| h.0 == delta.baseline)
                .map(|h| &h.1)
        };
        // An unknown baseline (never encoded) leaves every update absolute.
        let known = base.is_some();
        view.extend_from_slice(base.map_or(&[][..], |b| &b[..]));
        for l in &delta.leaves {
            set_position(&mut view, l.slot, None);
        }
        for e in &delta.enters {
            set_position(&mut view, e.slot, Some(e.state.position));
        }
        let SnapshotWriter {
            fbb,
            steps,
            full,
            names,
        } = writer;
        steps.clear();
        full.clear();
        let normalized;
        let updates: &[Update] = if delta.updates.windows(2).all(|w| w[0].slot < w[1].slot) {
            &delta.updates
        } else {
            normalized = normalize_updates(&delta.updates);
            &normalized
        };
        // Slots are unique in `updates`, so a slot's new position never serves as another
        // update's reference.
        for u in updates {
            let reference = if known {
                view.get(usize::from(u.slot.0)).copied().flatten()
            } else {
                None
            };
            match step_code(u, reference) {
                Some(s) => steps.push(fb::Step::new(s.slot, s.code)),
                None => full.push(full_to_wire(u)),
            }
            if let Some(p) = u.position {
                set_position(&mut view, u.slot, Some(p));
            }
        }
        if delta.baseline > self.floor {
            self.floor = delta.baseline;
            let stale = self.history.partition_point(|h| h.0 < self.floor);
            for (_, v) in self.history.drain(..stale) {
                if self.spare.len() < 8 {
                    self.spare.push(v);
                }
            }
        }
        // Ticks only grow; a re-encoded tick replaces its view.
        if let Some(i) = self.history.iter().position(|h| h.0 >= delta.tick) {
            for (_, v) in self.history.drain(i..) {
                if self.spare.len() < 8 {
                    self.spare.push(v);
                }
            }
        }
        self.history.push((delta.tick, view));
        self.last_input_seq = Some(last_input_seq);
        fbb.reset();
        let body = write_body(
            fbb,
            (delta.tick, delta.baseline, last_input_seq),
            (&delta.leaves, &delta.enters),
            (steps, full),
            names,
        );
        finish_server(fbb, fb::ServerBody::Snapshot, body)
    }

    /// Like [`encode`](Self::encode), but returns `None` (send nothing) when the delta is
    /// empty and this `last_input_seq` was already sent: an idle tick costs 0 bytes. (An
    /// empty delta means the view equals the baseline view, which the client has.)
    pub fn encode_if_changed<'w>(
        &mut self,
        writer: &'w mut SnapshotWriter,
        delta: &Delta,
        last_input_seq: u32,
    ) -> Option<&'w [u8]> {
        if delta.is_empty() && self.last_input_seq == Some(last_input_seq) {
            return None;
        }
        Some(self.encode(writer, delta, last_input_seq))
    }
}

/// The receiving side: the client's [`MirrorHistory`] (one mirror per received tick since
/// the newest baseline), plus the last input sequence number the server applied. The Rust
/// reference for the TypeScript client; the bots use it too.
#[derive(Clone, Debug, Default)]
pub struct ClientMirror {
    history: MirrorHistory,
    empty: Mirror,
    /// The last input sequence number the server reported as applied.
    pub last_input_seq: u32,
}

impl ClientMirror {
    /// A client that has received nothing.
    pub fn new() -> ClientMirror {
        ClientMirror::default()
    }

    /// Resolves `snapshot` against the mirror of its baseline tick and applies it; returns
    /// the resolved delta. On error nothing changes.
    pub fn apply(&mut self, snapshot: &WireSnapshot) -> Result<Delta, ProtocolError> {
        let reference = if snapshot.baseline == 0 {
            &self.empty
        } else {
            self.history
                .at(snapshot.baseline)
                .ok_or(ProtocolError::MissingBaseline(snapshot.baseline))?
        };
        let delta = snapshot.resolve(reference)?;
        self.history.apply(&delta).map_err(|e| match e {
            HistoryError::MissingBaseline(t) => ProtocolError::MissingBaseline(t),
            HistoryError::Mirror(m) => ProtocolError::Mirror(m),
        })?;
        self.last_input_seq = snapshot.last_input_seq;
        Ok(delta)
    }

    /// The newest view (empty before the first snapshot).
    pub fn latest(&self) -> &Mirror {
        self.history.latest().unwrap_or(&self.empty)
    }

    /// The mirror history (one mirror per kept tick).
    pub fn history(&self) -> &MirrorHistory {
        &self.history
    }
}
