//! Node ↔ node messages on the cluster bus: [`ClusterMessage`], [`encode_cluster`],
//! [`decode_cluster`].

use flatbuffers::FlatBufferBuilder;
use glam::IVec2;
use sim::{EntityId, Input, Motion, PlayerInfo, RegionId, Tick};

use crate::common::{
    PROTOCOL_VERSION, check_version, dir_from_wire, dir_to_wire, entity, opt_tile,
    region_from_wire, region_to_wire, text, verified_root,
};
use crate::error::{Limits, MAX_NAME_BYTES, MAX_TEXT_BYTES, MAX_TOKEN_BYTES, ProtocolError};
use crate::generated::plaza::cluster as fb;

/// A node is alive and owns these regions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The sending node's id.
    pub node: String,
    /// Unix milliseconds at the sender.
    pub time_ms: u64,
    /// The sender's tick.
    pub tick: Tick,
    /// The regions it owns.
    pub regions: Vec<RegionId>,
    /// Entities it simulates.
    pub entities: u32,
}

/// What happened to a region lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseEvent {
    /// The node took the lease.
    Acquired,
    /// The node renewed it.
    Renewed,
    /// The node gave it up.
    Released,
    /// The lease expired.
    Lost,
}

/// A region's lease changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseChange {
    /// The region.
    pub region: RegionId,
    /// The node concerned.
    pub node: String,
    /// What happened.
    pub event: LeaseEvent,
    /// Monotonic lease epoch (fencing token).
    pub epoch: u64,
}

/// A border entity replicated to a neighbouring node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GhostEntity {
    /// Its id.
    pub id: EntityId,
    /// Its owner's account, name and avatar.
    pub player: PlayerInfo,
    /// Its tile.
    pub position: IVec2,
    /// The tile it moves into.
    pub target: Option<IVec2>,
    /// Where it looks.
    pub facing: Option<sim::Direction>,
}

/// Ghost changes from the owner of `region`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GhostUpdate {
    /// The owning region.
    pub region: RegionId,
    /// The owner's tick.
    pub tick: Tick,
    /// Ghosts created or changed.
    pub upserts: Vec<GhostEntity>,
    /// Ghosts to drop.
    pub removes: Vec<EntityId>,
}

/// The full state of an avatar offered to another region's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandoffOffer {
    /// Handoff id, echoed by accept/reject/commit.
    pub handoff: u64,
    /// Source region.
    pub from: RegionId,
    /// Target region.
    pub to: RegionId,
    /// The source's tick.
    pub tick: Tick,
    /// The entity.
    pub id: EntityId,
    /// Its player.
    pub player: PlayerInfo,
    /// Its tile.
    pub position: IVec2,
    /// Its movement state.
    pub motion: Motion,
    /// Inputs queued but not applied yet, as (seq, input).
    pub pending: Vec<(u32, Input)>,
    /// The last input sequence number acknowledged to the client.
    pub last_acked_seq: u32,
}

/// Why a handoff was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The target tile is taken.
    Occupied,
    /// The receiver does not own the target region.
    NotOwner,
    /// The receiver is overloaded.
    Overloaded,
    /// The offer is invalid.
    Invalid,
}

/// A decoded cluster message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterMessage {
    /// Liveness and ownership.
    Heartbeat(Heartbeat),
    /// A lease change.
    LeaseChange(LeaseChange),
    /// Ghost replication.
    GhostUpdate(GhostUpdate),
    /// Offer an avatar.
    HandoffOffer(Box<HandoffOffer>),
    /// The avatar is accepted.
    HandoffAccept {
        /// The offer's handoff id.
        handoff: u64,
        /// Reconnect ticket for the client.
        ticket: String,
    },
    /// The avatar is refused; it stays with the source.
    HandoffReject {
        /// The offer's handoff id.
        handoff: u64,
        /// Why.
        reason: RejectReason,
    },
    /// The source let go; the target owns the avatar from `tick`.
    HandoffCommit {
        /// The offer's handoff id.
        handoff: u64,
        /// The source's tick.
        tick: Tick,
    },
}

fn input_to_wire(input: Input) -> crate::generated::plaza::Dir {
    match input {
        Input::Move(d) => dir_to_wire(Some(d)),
        Input::Stop => dir_to_wire(None),
    }
}

/// Encodes a cluster message into a fresh buffer.
pub fn encode_cluster(msg: &ClusterMessage) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::with_capacity(256);
    encode_cluster_into(&mut fbb, msg).to_vec()
}

/// Encodes a cluster message with a reused builder (reset first); returns the finished bytes.
pub fn encode_cluster_into<'b>(
    fbb: &'b mut FlatBufferBuilder<'static>,
    msg: &ClusterMessage,
) -> &'b [u8] {
    fbb.reset();
    let (body_type, body) = match msg {
        ClusterMessage::Heartbeat(h) => {
            let node = fbb.create_string(&h.node);
            let regions: Vec<_> = h.regions.iter().map(|r| region_to_wire(*r)).collect();
            let regions = fbb.create_vector(&regions);
            let b = fb::Heartbeat::create(
                fbb,
                &fb::HeartbeatArgs {
                    node: Some(node),
                    time_ms: h.time_ms,
                    tick: h.tick,
                    regions: Some(regions),
                    entities: h.entities,
                },
            );
            (fb::ClusterBody::Heartbeat, b.as_union_value())
        }
        ClusterMessage::LeaseChange(l) => {
            let node = fbb.create_string(&l.node);
            let region = region_to_wire(l.region);
            let event = match l.event {
                LeaseEvent::Acquired => fb::LeaseEvent::Acquired,
                LeaseEvent::Renewed => fb::LeaseEvent::Renewed,
                LeaseEvent::Released => fb::LeaseEvent::Released,
                LeaseEvent::Lost => fb::LeaseEvent::Lost,
            };
            let b = fb::LeaseChange::create(
                fbb,
                &fb::LeaseChangeArgs {
                    region: Some(&region),
                    node: Some(node),
                    event,
                    epoch: l.epoch,
                },
            );
            (fb::ClusterBody::LeaseChange, b.as_union_value())
        }
        ClusterMessage::GhostUpdate(g) => {
            let names: Vec<_> = g
                .upserts
                .iter()
                .map(|e| fbb.create_string(&e.player.name))
                .collect();
            let names = fbb.create_vector(&names);
            let states: Vec<fb::GhostState> = g
                .upserts
                .iter()
                .map(|e| {
                    let (has_target, t) = opt_tile(e.target);
                    fb::GhostState::new(
                        e.id.get(),
                        e.player.account,
                        e.position.x,
                        e.position.y,
                        t.x,
                        t.y,
                        e.player.avatar,
                        dir_to_wire(e.facing),
                        u8::from(has_target),
                    )
                })
                .collect();
            let upserts = fbb.create_vector(&states);
            let removes: Vec<u64> = g.removes.iter().map(|e| e.get()).collect();
            let removes = fbb.create_vector(&removes);
            let region = region_to_wire(g.region);
            let b = fb::GhostUpdate::create(
                fbb,
                &fb::GhostUpdateArgs {
                    region: Some(&region),
                    tick: g.tick,
                    upserts: Some(upserts),
                    names: Some(names),
                    removes: Some(removes),
                },
            );
            (fb::ClusterBody::GhostUpdate, b.as_union_value())
        }
        ClusterMessage::HandoffOffer(o) => {
            let name = fbb.create_string(&o.player.name);
            let (has_target, t) = opt_tile(o.motion.target);
            let entity = fb::EntityRecord::create(
                fbb,
                &fb::EntityRecordArgs {
                    id: o.id.get(),
                    account: o.player.account,
                    name: Some(name),
                    avatar: o.player.avatar,
                    x: o.position.x,
                    y: o.position.y,
                    facing: dir_to_wire(o.motion.facing),
                    has_target,
                    tx: t.x,
                    ty: t.y,
                    progress: o.motion.progress,
                    held: dir_to_wire(o.motion.held),
                },
            );
            let pending: Vec<_> = o
                .pending
                .iter()
                .map(|(seq, input)| fb::PendingInput::new(*seq, input_to_wire(*input)))
                .collect();
            let pending = fbb.create_vector(&pending);
            let (from, to) = (region_to_wire(o.from), region_to_wire(o.to));
            let b = fb::HandoffOffer::create(
                fbb,
                &fb::HandoffOfferArgs {
                    handoff: o.handoff,
                    from: Some(&from),
                    to: Some(&to),
                    tick: o.tick,
                    entity: Some(entity),
                    pending: Some(pending),
                    last_acked_seq: o.last_acked_seq,
                },
            );
            (fb::ClusterBody::HandoffOffer, b.as_union_value())
        }
        ClusterMessage::HandoffAccept { handoff, ticket } => {
            let ticket = fbb.create_string(ticket);
            let b = fb::HandoffAccept::create(
                fbb,
                &fb::HandoffAcceptArgs {
                    handoff: *handoff,
                    ticket: Some(ticket),
                },
            );
            (fb::ClusterBody::HandoffAccept, b.as_union_value())
        }
        ClusterMessage::HandoffReject { handoff, reason } => {
            let reason = match reason {
                RejectReason::Occupied => fb::RejectReason::Occupied,
                RejectReason::NotOwner => fb::RejectReason::NotOwner,
                RejectReason::Overloaded => fb::RejectReason::Overloaded,
                RejectReason::Invalid => fb::RejectReason::Invalid,
            };
            let b = fb::HandoffReject::create(
                fbb,
                &fb::HandoffRejectArgs {
                    handoff: *handoff,
                    reason,
                },
            );
            (fb::ClusterBody::HandoffReject, b.as_union_value())
        }
        ClusterMessage::HandoffCommit { handoff, tick } => {
            let b = fb::HandoffCommit::create(
                fbb,
                &fb::HandoffCommitArgs {
                    handoff: *handoff,
                    tick: *tick,
                },
            );
            (fb::ClusterBody::HandoffCommit, b.as_union_value())
        }
    };
    let root = fb::ClusterMessage::create(
        fbb,
        &fb::ClusterMessageArgs {
            version: PROTOCOL_VERSION,
            body_type,
            body: Some(body),
        },
    );
    fbb.finish_minimal(root);
    fbb.finished_data()
}

fn flags_target(flags: u8, t: IVec2, field: &'static str) -> Result<Option<IVec2>, ProtocolError> {
    match flags {
        0 => Ok(None),
        1 => Ok(Some(t)),
        v => Err(ProtocolError::OutOfRange {
            field,
            value: i64::from(v),
        }),
    }
}

/// Verifies (with [`Limits::CLUSTER`]) and decodes a cluster message.
pub fn decode_cluster(buf: &[u8]) -> Result<ClusterMessage, ProtocolError> {
    let root = verified_root::<fb::ClusterMessage>(buf, &Limits::CLUSTER)?;
    check_version(root.version())?;
    let missing = ProtocolError::MissingField("body");
    Ok(match root.body_type() {
        fb::ClusterBody::Heartbeat => {
            let m = root.body_as_heartbeat().ok_or(missing)?;
            ClusterMessage::Heartbeat(Heartbeat {
                node: text(m.node(), "node", MAX_TEXT_BYTES)?,
                time_ms: m.time_ms(),
                tick: m.tick(),
                regions: m.regions().map_or_else(Vec::new, |v| {
                    v.iter()
                        .map(|r| RegionId {
                            col: r.col(),
                            row: r.row(),
                        })
                        .collect()
                }),
                entities: m.entities(),
            })
        }
        fb::ClusterBody::LeaseChange => {
            let m = root.body_as_lease_change().ok_or(missing)?;
            let event = match m.event() {
                fb::LeaseEvent::Acquired => LeaseEvent::Acquired,
                fb::LeaseEvent::Renewed => LeaseEvent::Renewed,
                fb::LeaseEvent::Released => LeaseEvent::Released,
                fb::LeaseEvent::Lost => LeaseEvent::Lost,
                other => {
                    return Err(ProtocolError::OutOfRange {
                        field: "event",
                        value: i64::from(other.0),
                    });
                }
            };
            ClusterMessage::LeaseChange(LeaseChange {
                region: region_from_wire(m.region(), "region")?,
                node: text(m.node(), "node", MAX_TEXT_BYTES)?,
                event,
                epoch: m.epoch(),
            })
        }
        fb::ClusterBody::GhostUpdate => {
            let m = root.body_as_ghost_update().ok_or(missing)?;
            let upserts = match (m.upserts(), m.names()) {
                (None, None) => Vec::new(),
                (Some(s), Some(n)) if s.len() == n.len() => s
                    .iter()
                    .zip(n.iter())
                    .map(|(s, name)| {
                        Ok(GhostEntity {
                            id: entity(s.id(), "upserts.id")?,
                            player: PlayerInfo {
                                account: s.account(),
                                name: text(Some(name), "names", MAX_NAME_BYTES)?,
                                avatar: s.avatar(),
                            },
                            position: IVec2::new(s.x(), s.y()),
                            target: flags_target(
                                s.flags(),
                                IVec2::new(s.tx(), s.ty()),
                                "upserts.flags",
                            )?,
                            facing: dir_from_wire(s.facing(), "upserts.facing")?,
                        })
                    })
                    .collect::<Result<_, ProtocolError>>()?,
                _ => return Err(ProtocolError::LengthMismatch("upserts", "names")),
            };
            let removes = m.removes().map_or(Ok(Vec::new()), |v| {
                v.iter().map(|r| entity(r, "removes")).collect()
            })?;
            ClusterMessage::GhostUpdate(GhostUpdate {
                region: region_from_wire(m.region(), "region")?,
                tick: m.tick(),
                upserts,
                removes,
            })
        }
        fb::ClusterBody::HandoffOffer => {
            let m = root.body_as_handoff_offer().ok_or(missing)?;
            let e = m.entity().ok_or(ProtocolError::MissingField("entity"))?;
            let pending = m.pending().map_or(Ok(Vec::new()), |v| {
                v.iter()
                    .map(|p| {
                        let input = match dir_from_wire(p.direction(), "pending.direction")? {
                            Some(d) => Input::Move(d),
                            None => Input::Stop,
                        };
                        Ok((p.seq(), input))
                    })
                    .collect::<Result<_, ProtocolError>>()
            })?;
            ClusterMessage::HandoffOffer(Box::new(HandoffOffer {
                handoff: m.handoff(),
                from: region_from_wire(m.from(), "from")?,
                to: region_from_wire(m.to(), "to")?,
                tick: m.tick(),
                id: entity(e.id(), "entity.id")?,
                player: PlayerInfo {
                    account: e.account(),
                    name: text(e.name(), "entity.name", MAX_NAME_BYTES)?,
                    avatar: e.avatar(),
                },
                position: IVec2::new(e.x(), e.y()),
                motion: Motion {
                    facing: dir_from_wire(e.facing(), "entity.facing")?,
                    target: e.has_target().then(|| IVec2::new(e.tx(), e.ty())),
                    progress: e.progress(),
                    held: dir_from_wire(e.held(), "entity.held")?,
                },
                pending,
                last_acked_seq: m.last_acked_seq(),
            }))
        }
        fb::ClusterBody::HandoffAccept => {
            let m = root.body_as_handoff_accept().ok_or(missing)?;
            ClusterMessage::HandoffAccept {
                handoff: m.handoff(),
                ticket: text(m.ticket(), "ticket", MAX_TOKEN_BYTES)?,
            }
        }
        fb::ClusterBody::HandoffReject => {
            let m = root.body_as_handoff_reject().ok_or(missing)?;
            let reason = match m.reason() {
                fb::RejectReason::Occupied => RejectReason::Occupied,
                fb::RejectReason::NotOwner => RejectReason::NotOwner,
                fb::RejectReason::Overloaded => RejectReason::Overloaded,
                fb::RejectReason::Invalid => RejectReason::Invalid,
                other => {
                    return Err(ProtocolError::OutOfRange {
                        field: "reason",
                        value: i64::from(other.0),
                    });
                }
            };
            ClusterMessage::HandoffReject {
                handoff: m.handoff(),
                reason,
            }
        }
        fb::ClusterBody::HandoffCommit => {
            let m = root.body_as_handoff_commit().ok_or(missing)?;
            ClusterMessage::HandoffCommit {
                handoff: m.handoff(),
                tick: m.tick(),
            }
        }
        fb::ClusterBody::NONE => return Err(missing),
        other => return Err(ProtocolError::UnknownMessage(other.0)),
    })
}
