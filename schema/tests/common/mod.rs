//! Generators shared by the schema tests: messages, views and delta streams.
#![allow(dead_code)]

use std::collections::BTreeMap;

use glam::IVec2;
use proptest::collection::vec;
use proptest::prelude::*;
use schema::{
    ChatLine, ChatScope, ClientMessage, ClusterMessage, ErrorCode, GhostEntity, GhostUpdate,
    HandoffOffer, Heartbeat, LeaseChange, LeaseEvent, RejectReason, STEP_CODES, ServerMessage,
    SignalKind, StepUpdate, Welcome, WireSnapshot,
};
use sim::interest::{Delta, Enter, Leave, Mirror, Slot, Update, VisibleState};
use sim::{Direction, EntityId, Input, Motion, PlayerInfo, RegionId, Tick};

pub fn direction() -> impl Strategy<Value = Direction> {
    prop::sample::select(Direction::ALL.to_vec())
}

pub fn entity_id() -> impl Strategy<Value = EntityId> {
    (1u64..=u64::MAX).prop_map(|r| EntityId::new(r).unwrap())
}

pub fn tile() -> impl Strategy<Value = IVec2> {
    prop_oneof![
        4 => (-5i32..300, -5i32..300).prop_map(|(x, y)| IVec2::new(x, y)),
        1 => (any::<i32>(), any::<i32>()).prop_map(|(x, y)| IVec2::new(x, y)),
    ]
}

/// Text up to `max` bytes (multi-byte characters included).
pub fn text(max: usize) -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 éß漢🙂]{0,40}".prop_map(move |s: String| {
        let mut out = String::new();
        for c in s.chars() {
            if out.len() + c.len_utf8() > max {
                break;
            }
            out.push(c);
        }
        out
    })
}

pub fn region() -> impl Strategy<Value = RegionId> {
    (any::<u16>(), any::<u16>()).prop_map(|(col, row)| RegionId { col, row })
}

pub fn input() -> impl Strategy<Value = Input> {
    prop_oneof![direction().prop_map(Input::Move), Just(Input::Stop)]
}

pub fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (text(2048), any::<u16>()).prop_map(|(token, protocol_version)| ClientMessage::Hello {
            token,
            protocol_version
        }),
        (any::<u32>(), input()).prop_map(|(seq, input)| ClientMessage::Input { seq, input }),
        any::<u64>().prop_map(|tick| ClientMessage::Ack { tick }),
        (
            text(1000),
            prop::sample::select(vec![ChatScope::Space, ChatScope::Nearby])
        )
            .prop_map(|(text, scope)| ClientMessage::Chat { text, scope }),
        (entity_id(), signal_kind(), text(16 * 1024))
            .prop_map(|(to, kind, payload)| ClientMessage::Signal { to, kind, payload }),
        (-1e15f64..1e15).prop_map(|client_time| ClientMessage::Ping { client_time }),
    ]
}

pub fn signal_kind() -> impl Strategy<Value = SignalKind> {
    prop::sample::select(vec![
        SignalKind::Offer,
        SignalKind::Answer,
        SignalKind::Ice,
        SignalKind::Hangup,
    ])
}

pub fn visible_state() -> impl Strategy<Value = VisibleState> {
    (
        entity_id(),
        tile(),
        prop::option::of(tile()),
        prop::option::of(direction()),
        any::<u16>(),
        text(64),
    )
        .prop_map(
            |(id, position, target, facing, avatar, name)| VisibleState {
                id,
                position,
                target,
                facing,
                avatar,
                name,
            },
        )
}

pub fn update() -> impl Strategy<Value = Update> {
    (
        0u16..400,
        prop::option::of(tile()),
        prop::option::of(prop::option::of(tile())),
        prop::option::of(prop::option::of(direction())),
    )
        .prop_map(|(slot, position, target, facing)| Update {
            slot: Slot(slot),
            position,
            target,
            facing,
        })
}

pub fn wire_snapshot() -> impl Strategy<Value = WireSnapshot> {
    (
        (any::<u64>(), any::<u64>(), any::<u32>()),
        vec(any::<u16>().prop_map(|s| Leave { slot: Slot(s) }), 0..5),
        vec(
            (any::<u16>(), visible_state()).prop_map(|(s, state)| Enter {
                slot: Slot(s),
                state,
            }),
            0..5,
        ),
        vec(
            (any::<u8>(), 0..STEP_CODES).prop_map(|(slot, code)| StepUpdate { slot, code }),
            0..60,
        ),
        vec(update(), 0..5),
    )
        .prop_map(
            |((tick, baseline, last_input_seq), leaves, enters, steps, full)| WireSnapshot {
                tick,
                baseline,
                last_input_seq,
                leaves,
                enters,
                steps,
                full,
            },
        )
}

pub fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (
            entity_id(),
            any::<u16>(),
            any::<u16>(),
            any::<u64>(),
            text(100),
            text(100),
            region()
        )
            .prop_map(|(entity, slot, tick_rate, tick, space, map, region)| {
                ServerMessage::Welcome(Welcome {
                    entity,
                    slot: Slot(slot),
                    tick_rate,
                    tick,
                    space,
                    map,
                    region,
                })
            }),
        wire_snapshot().prop_map(ServerMessage::Snapshot),
        (vec(entity_id(), 0..10), vec(entity_id(), 0..10))
            .prop_map(|(near, far)| ServerMessage::Proximity { near, far }),
        (
            prop::option::of(entity_id()),
            text(64),
            text(1000),
            prop::sample::select(vec![ChatScope::Space, ChatScope::Nearby]),
            any::<u64>()
        )
            .prop_map(|(from, from_name, text, scope, time)| {
                ServerMessage::Chat(ChatLine {
                    from,
                    from_name,
                    text,
                    scope,
                    time,
                })
            }),
        (entity_id(), signal_kind(), text(16 * 1024)).prop_map(|(from, kind, payload)| {
            ServerMessage::Signal {
                from,
                kind,
                payload,
            }
        }),
        (text(1024), text(2048)).prop_map(|(url, ticket)| ServerMessage::Migrate { url, ticket }),
        (any::<u16>(), text(1024)).prop_map(|(code, message)| ServerMessage::Error {
            code: ErrorCode(code),
            message
        }),
        ((-1e15f64..1e15), any::<u64>()).prop_map(|(client_time, server_tick)| {
            ServerMessage::Pong {
                client_time,
                server_tick,
            }
        }),
    ]
}

fn player() -> impl Strategy<Value = PlayerInfo> {
    (any::<u64>(), text(64), any::<u16>()).prop_map(|(account, name, avatar)| PlayerInfo {
        account,
        name,
        avatar,
    })
}

pub fn cluster_message() -> impl Strategy<Value = ClusterMessage> {
    let ghost = (
        entity_id(),
        player(),
        tile(),
        prop::option::of(tile()),
        prop::option::of(direction()),
    )
        .prop_map(|(id, player, position, target, facing)| GhostEntity {
            id,
            player,
            position,
            target,
            facing,
        });
    let motion = (
        prop::option::of(direction()),
        prop::option::of(tile()),
        any::<u16>(),
        prop::option::of(direction()),
    )
        .prop_map(|(facing, target, progress, held)| Motion {
            facing,
            target,
            progress,
            held,
        });
    prop_oneof![
        (
            text(100),
            any::<u64>(),
            any::<u64>(),
            vec(region(), 0..8),
            any::<u32>()
        )
            .prop_map(
                |(node, time_ms, tick, regions, entities)| ClusterMessage::Heartbeat(Heartbeat {
                    node,
                    time_ms,
                    tick,
                    regions,
                    entities,
                })
            ),
        (
            region(),
            text(100),
            prop::sample::select(vec![
                LeaseEvent::Acquired,
                LeaseEvent::Renewed,
                LeaseEvent::Released,
                LeaseEvent::Lost
            ]),
            any::<u64>()
        )
            .prop_map(|(region, node, event, epoch)| ClusterMessage::LeaseChange(
                LeaseChange {
                    region,
                    node,
                    event,
                    epoch,
                }
            )),
        (
            region(),
            any::<u64>(),
            vec(ghost, 0..8),
            vec(entity_id(), 0..8)
        )
            .prop_map(
                |(region, tick, upserts, removes)| ClusterMessage::GhostUpdate(GhostUpdate {
                    region,
                    tick,
                    upserts,
                    removes,
                })
            ),
        (
            (any::<u64>(), region(), region(), any::<u64>()),
            (entity_id(), player(), tile(), motion),
            vec((any::<u32>(), input()), 0..8),
            any::<u32>()
        )
            .prop_map(
                |(
                    (handoff, from, to, tick),
                    (id, player, position, motion),
                    pending,
                    last_acked_seq,
                )| {
                    ClusterMessage::HandoffOffer(Box::new(HandoffOffer {
                        handoff,
                        from,
                        to,
                        tick,
                        id,
                        player,
                        position,
                        motion,
                        pending,
                        last_acked_seq,
                    }))
                }
            ),
        (any::<u64>(), text(2048))
            .prop_map(|(handoff, ticket)| ClusterMessage::HandoffAccept { handoff, ticket }),
        (
            any::<u64>(),
            prop::sample::select(vec![
                RejectReason::Occupied,
                RejectReason::NotOwner,
                RejectReason::Overloaded,
                RejectReason::Invalid
            ])
        )
            .prop_map(|(handoff, reason)| ClusterMessage::HandoffReject { handoff, reason }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(handoff, tick)| ClusterMessage::HandoffCommit { handoff, tick }),
    ]
}

/// The brute-force difference between two views, with the interest manager's rules: a slot
/// whose entity (or name/avatar) changed gets a leave and an enter; updates carry only the
/// fields that differ, sorted by slot.
pub fn diff(
    tick: Tick,
    baseline: Tick,
    base: &Mirror,
    cur: &BTreeMap<Slot, VisibleState>,
) -> Delta {
    let mut d = Delta {
        tick,
        baseline,
        ..Delta::default()
    };
    for (slot, old) in &base.slots {
        match cur.get(slot) {
            None => d.leaves.push(Leave { slot: *slot }),
            Some(new) if new.id != old.id || new.name != old.name || new.avatar != old.avatar => {
                d.leaves.push(Leave { slot: *slot });
                d.enters.push(Enter {
                    slot: *slot,
                    state: new.clone(),
                });
            }
            Some(new) => {
                let u = Update {
                    slot: *slot,
                    position: (new.position != old.position).then_some(new.position),
                    target: (new.target != old.target).then_some(new.target),
                    facing: (new.facing != old.facing).then_some(new.facing),
                };
                if u.position.is_some() || u.target.is_some() || u.facing.is_some() {
                    d.updates.push(u);
                }
            }
        }
    }
    for (slot, new) in cur {
        if !base.slots.contains_key(slot) {
            d.enters.push(Enter {
                slot: *slot,
                state: new.clone(),
            });
        }
    }
    d
}

/// One tick of a random world as one observer sees it.
#[derive(Clone, Debug)]
pub enum Op {
    /// Every walker advances one tile (position = target, target = next tile).
    Walk,
    /// Slot `n % len` changes direction.
    Turn(usize, Direction),
    /// Slot `n % len` stops.
    Stop(usize),
    /// Slot `n % len` jumps far.
    Teleport(usize, IVec2),
    /// A new entity enters at the lowest free slot.
    Enter(VisibleState),
    /// Slot `n % len` leaves.
    Leave(usize),
    /// Slot `n % len` is renamed (leave + enter on the wire).
    Rename(usize, String),
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Walk),
        3 => (any::<usize>(), direction()).prop_map(|(n, d)| Op::Turn(n, d)),
        1 => any::<usize>().prop_map(Op::Stop),
        1 => (any::<usize>(), tile()).prop_map(|(n, t)| Op::Teleport(n, t)),
        2 => visible_state().prop_map(Op::Enter),
        1 => any::<usize>().prop_map(Op::Leave),
        1 => (any::<usize>(), text(64)).prop_map(|(n, s)| Op::Rename(n, s)),
    ]
}

fn nth(view: &BTreeMap<Slot, VisibleState>, n: usize) -> Option<Slot> {
    if view.is_empty() {
        None
    } else {
        view.keys().nth(n % view.len()).copied()
    }
}

/// Applies one op to a view (slots handed out lowest-free-first).
pub fn step_view(view: &mut BTreeMap<Slot, VisibleState>, op: &Op) {
    match op {
        Op::Walk => {
            for s in view.values_mut() {
                if let (Some(t), Some(f)) = (s.target, s.facing) {
                    s.position = t;
                    s.target = Some(t.wrapping_add(f.offset()));
                }
            }
        }
        Op::Turn(n, d) => {
            if let Some(slot) = nth(view, *n) {
                let s = view.get_mut(&slot).unwrap();
                s.facing = Some(*d);
                s.target = Some(s.position.wrapping_add(d.offset()));
            }
        }
        Op::Stop(n) => {
            if let Some(slot) = nth(view, *n) {
                let s = view.get_mut(&slot).unwrap();
                if let Some(t) = s.target.take() {
                    s.position = t;
                }
            }
        }
        Op::Teleport(n, t) => {
            if let Some(slot) = nth(view, *n) {
                let s = view.get_mut(&slot).unwrap();
                s.position = *t;
                s.target = None;
            }
        }
        Op::Enter(state) => {
            let free = (0u16..).map(Slot).find(|s| !view.contains_key(s)).unwrap();
            view.insert(free, state.clone());
        }
        Op::Leave(n) => {
            if let Some(slot) = nth(view, *n) {
                view.remove(&slot);
            }
        }
        Op::Rename(n, name) => {
            if let Some(slot) = nth(view, *n) {
                view.get_mut(&slot).unwrap().name = name.clone();
            }
        }
    }
}

/// A straight-walking crowd: `n` entities in slots 0..n, all walking east in parallel rows.
pub fn crowd(n: u16) -> BTreeMap<Slot, VisibleState> {
    (0..n)
        .map(|i| {
            let p = IVec2::new(10, 10 + i32::from(i));
            (
                Slot(i),
                VisibleState {
                    id: EntityId::new(u64::from(i) + 1).unwrap(),
                    position: p,
                    target: Some(p + IVec2::X),
                    facing: Some(Direction::East),
                    avatar: i % 8,
                    name: format!("walker-{i}"),
                },
            )
        })
        .collect()
}
