//! Helpers shared by the three protocols: verification, enums, text checks.

use glam::IVec2;
use sim::{Direction, EntityId, RegionId};

use crate::error::{Limits, ProtocolError};
use crate::generated::plaza as fb;

/// The protocol version written into and required from every root table.
pub const PROTOCOL_VERSION: u16 = 1;

/// How often a client acknowledges, in ticks. On receiving a snapshot it sends `Ack{tick}`
/// of it when it is the connection's first snapshot or its tick is at least this many ticks
/// past the tick it last acknowledged (acking more often is allowed, never needed; no
/// timer is needed either: a snapshot closer to the last ack is covered by the next ack).
/// Over WebSocket each snapshot is relative to the one sent before it, so acks serve flow
/// control only: a server closes a client that leaves a snapshot calling for an ack
/// unacknowledged for too long (error 11, too slow; 2 s by default).
pub const ACK_INTERVAL_TICKS: u64 = 10;

/// Whether a client acks the snapshot of `tick` on receiving it, given the tick it last
/// acknowledged on this connection (`None`: none yet): the rule of [`ACK_INTERVAL_TICKS`].
/// Servers apply the same rule to know which snapshots must be acknowledged.
pub fn ack_due(last_ack: Option<u64>, tick: u64) -> bool {
    last_ack.is_none_or(|last| tick >= last + ACK_INTERVAL_TICKS)
}

/// Who receives a chat line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatScope {
    /// Everybody in the space.
    Space,
    /// Only players near the sender.
    Nearby,
}

/// The kind of a relayed WebRTC signalling message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// An SDP offer.
    Offer,
    /// An SDP answer.
    Answer,
    /// An ICE candidate.
    Ice,
    /// The peer closes the call.
    Hangup,
}

/// Size check, then the FlatBuffers verifier with `limits`, then the root table.
pub(crate) fn verified_root<'a, T>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<T::Inner, ProtocolError>
where
    T: flatbuffers::Follow<'a> + flatbuffers::Verifiable + 'a,
{
    if buf.len() > limits.max_size {
        return Err(ProtocolError::TooLarge {
            size: buf.len(),
            max: limits.max_size,
        });
    }
    Ok(flatbuffers::root_with_opts::<T>(
        &limits.verifier_options(),
        buf,
    )?)
}

pub(crate) fn check_version(got: u16) -> Result<(), ProtocolError> {
    if got == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(ProtocolError::WrongVersion {
            got,
            expected: PROTOCOL_VERSION,
        })
    }
}

pub(crate) fn dir_to_wire(d: Option<Direction>) -> fb::Dir {
    fb::Dir(d.map_or(0, |d| d.code() + 1))
}

pub(crate) fn dir_from_wire(
    d: fb::Dir,
    field: &'static str,
) -> Result<Option<Direction>, ProtocolError> {
    match d.0 {
        0 => Ok(None),
        c => Direction::from_code(c - 1)
            .map(Some)
            .ok_or(ProtocolError::OutOfRange {
                field,
                value: i64::from(c),
            }),
    }
}

pub(crate) fn scope_to_wire(s: ChatScope) -> fb::ChatScope {
    match s {
        ChatScope::Space => fb::ChatScope::Space,
        ChatScope::Nearby => fb::ChatScope::Nearby,
    }
}

pub(crate) fn scope_from_wire(s: fb::ChatScope) -> Result<ChatScope, ProtocolError> {
    match s {
        fb::ChatScope::Space => Ok(ChatScope::Space),
        fb::ChatScope::Nearby => Ok(ChatScope::Nearby),
        other => Err(ProtocolError::OutOfRange {
            field: "scope",
            value: i64::from(other.0),
        }),
    }
}

pub(crate) fn kind_to_wire(k: SignalKind) -> fb::SignalKind {
    match k {
        SignalKind::Offer => fb::SignalKind::Offer,
        SignalKind::Answer => fb::SignalKind::Answer,
        SignalKind::Ice => fb::SignalKind::Ice,
        SignalKind::Hangup => fb::SignalKind::Hangup,
    }
}

pub(crate) fn kind_from_wire(k: fb::SignalKind) -> Result<SignalKind, ProtocolError> {
    match k {
        fb::SignalKind::Offer => Ok(SignalKind::Offer),
        fb::SignalKind::Answer => Ok(SignalKind::Answer),
        fb::SignalKind::Ice => Ok(SignalKind::Ice),
        fb::SignalKind::Hangup => Ok(SignalKind::Hangup),
        other => Err(ProtocolError::OutOfRange {
            field: "kind",
            value: i64::from(other.0),
        }),
    }
}

/// A required string no longer than `max` bytes.
pub(crate) fn text(
    s: Option<&str>,
    field: &'static str,
    max: usize,
) -> Result<String, ProtocolError> {
    let s = s.ok_or(ProtocolError::MissingField(field))?;
    if s.len() > max {
        return Err(ProtocolError::TextTooLong {
            field,
            len: s.len(),
            max,
        });
    }
    Ok(s.to_owned())
}

/// A non-zero entity id.
pub(crate) fn entity(raw: u64, field: &'static str) -> Result<EntityId, ProtocolError> {
    EntityId::new(raw).ok_or(ProtocolError::OutOfRange { field, value: 0 })
}

pub(crate) fn region_to_wire(r: RegionId) -> fb::RegionRef {
    fb::RegionRef::new(r.col, r.row)
}

pub(crate) fn region_from_wire(
    r: Option<&fb::RegionRef>,
    field: &'static str,
) -> Result<RegionId, ProtocolError> {
    let r = r.ok_or(ProtocolError::MissingField(field))?;
    Ok(RegionId {
        col: r.col(),
        row: r.row(),
    })
}

/// `(present, x, y)` of an optional tile, zero when absent (canonical form).
pub(crate) fn opt_tile(t: Option<IVec2>) -> (bool, IVec2) {
    (t.is_some(), t.unwrap_or(IVec2::ZERO))
}

/// A list of entity ids.
pub(crate) fn entities(
    v: Option<flatbuffers::Vector<'_, u64>>,
    field: &'static str,
) -> Result<Vec<EntityId>, ProtocolError> {
    v.map_or(Ok(Vec::new()), |v| {
        v.iter().map(|raw| entity(raw, field)).collect()
    })
}
