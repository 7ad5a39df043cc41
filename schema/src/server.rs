//! Server → client messages: [`ServerMessage`], [`encode_server`], [`decode_server`].

use flatbuffers::FlatBufferBuilder;
use sim::interest::Slot;
use sim::{EntityId, RegionId, Tick};

use crate::common::{
    ChatScope, SignalKind, check_version, entities, entity, kind_from_wire, kind_to_wire,
    region_from_wire, region_to_wire, scope_from_wire, scope_to_wire, text, verified_root,
};
use crate::error::{
    Limits, MAX_CHAT_BYTES, MAX_NAME_BYTES, MAX_SIGNAL_BYTES, MAX_TEXT_BYTES, MAX_TOKEN_BYTES,
    ProtocolError,
};
use crate::generated::plaza::server as fb;
use crate::snapshot::{WireSnapshot, finish_server};

/// What the server tells a client after a valid `Hello`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Welcome {
    /// The player's own entity.
    pub entity: EntityId,
    /// The player's own slot in its snapshots.
    pub slot: Slot,
    /// Simulation ticks per second.
    pub tick_rate: u16,
    /// The current tick.
    pub tick: Tick,
    /// The space's id.
    pub space: String,
    /// The map's id.
    pub map: String,
    /// The region the player starts in.
    pub region: RegionId,
}

/// A chat line relayed by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    /// The sender (`None`: the server itself).
    pub from: Option<EntityId>,
    /// The sender's display name.
    pub from_name: String,
    /// The text.
    pub text: String,
    /// Who received it.
    pub scope: ChatScope,
    /// Server time, Unix milliseconds.
    pub time: u64,
}

/// An error code in [`ServerMessage::Error`]. Unknown codes decode as they are (the client
/// shows the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// The client sent a buffer that failed verification or decoding.
    pub const BAD_MESSAGE: ErrorCode = ErrorCode(1);
    /// The token or ticket is invalid or expired.
    pub const UNAUTHORIZED: ErrorCode = ErrorCode(2);
    /// The client speaks another protocol version.
    pub const WRONG_VERSION: ErrorCode = ErrorCode(3);
    /// Too many messages.
    pub const RATE_LIMITED: ErrorCode = ErrorCode(4);
    /// A signal to a peer that is not near.
    pub const NOT_NEAR: ErrorCode = ErrorCode(5);
    /// The space or server is full.
    pub const FULL: ErrorCode = ErrorCode(6);
    /// Something failed on the server.
    pub const INTERNAL: ErrorCode = ErrorCode(7);
}

/// A decoded server → client message.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerMessage {
    /// Session start.
    Welcome(Welcome),
    /// One tick of the client's view; apply with [`ClientMirror`](crate::ClientMirror).
    Snapshot(WireSnapshot),
    /// Peers that came near (open a call) or went far (close it).
    Proximity {
        /// Entities now near.
        near: Vec<EntityId>,
        /// Entities no longer near.
        far: Vec<EntityId>,
    },
    /// A chat line.
    Chat(ChatLine),
    /// Relayed WebRTC signalling.
    Signal {
        /// The sending player's entity.
        from: EntityId,
        /// Offer, answer, ICE candidate or hangup.
        kind: SignalKind,
        /// SDP or candidate text.
        payload: String,
    },
    /// Reconnect elsewhere.
    Migrate {
        /// The WebSocket URL of the new node.
        url: String,
        /// A short-lived ticket for its `Hello`.
        ticket: String,
    },
    /// A refusal.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// A human-readable message.
        message: String,
    },
    /// Answer to `Ping`.
    Pong {
        /// The ping's client time.
        client_time: f64,
        /// The server's tick.
        server_tick: Tick,
    },
}

/// Encodes a server message into a fresh buffer. For snapshots computed from a
/// [`sim::interest::Delta`], use [`SnapshotEncoder`](crate::SnapshotEncoder) instead.
pub fn encode_server(msg: &ServerMessage) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::with_capacity(256);
    encode_server_into(&mut fbb, msg).to_vec()
}

/// Encodes a server message with a reused builder (reset first); returns the finished bytes.
pub fn encode_server_into<'b>(
    fbb: &'b mut FlatBufferBuilder<'static>,
    msg: &ServerMessage,
) -> &'b [u8] {
    fbb.reset();
    let (body_type, body) = match msg {
        ServerMessage::Welcome(w) => {
            let space = fbb.create_string(&w.space);
            let map = fbb.create_string(&w.map);
            let region = region_to_wire(w.region);
            let b = fb::Welcome::create(
                fbb,
                &fb::WelcomeArgs {
                    entity: w.entity.get(),
                    slot: w.slot.0,
                    tick_rate: w.tick_rate,
                    tick: w.tick,
                    space: Some(space),
                    map: Some(map),
                    region: Some(&region),
                },
            );
            (fb::ServerBody::Welcome, b.as_union_value())
        }
        ServerMessage::Snapshot(s) => (fb::ServerBody::Snapshot, s.write(fbb)),
        ServerMessage::Proximity { near, far } => {
            let near: Vec<u64> = near.iter().map(|e| e.get()).collect();
            let far: Vec<u64> = far.iter().map(|e| e.get()).collect();
            let near = fbb.create_vector(&near);
            let far = fbb.create_vector(&far);
            let b = fb::Proximity::create(
                fbb,
                &fb::ProximityArgs {
                    near: Some(near),
                    far: Some(far),
                },
            );
            (fb::ServerBody::Proximity, b.as_union_value())
        }
        ServerMessage::Chat(c) => {
            let from_name = fbb.create_string(&c.from_name);
            let text = fbb.create_string(&c.text);
            let b = fb::Chat::create(
                fbb,
                &fb::ChatArgs {
                    from: c.from.map_or(0, EntityId::get),
                    from_name: Some(from_name),
                    text: Some(text),
                    scope: scope_to_wire(c.scope),
                    time: c.time,
                },
            );
            (fb::ServerBody::Chat, b.as_union_value())
        }
        ServerMessage::Signal {
            from,
            kind,
            payload,
        } => {
            let payload = fbb.create_string(payload);
            let b = fb::Signal::create(
                fbb,
                &fb::SignalArgs {
                    from: from.get(),
                    kind: kind_to_wire(*kind),
                    payload: Some(payload),
                },
            );
            (fb::ServerBody::Signal, b.as_union_value())
        }
        ServerMessage::Migrate { url, ticket } => {
            let url = fbb.create_string(url);
            let ticket = fbb.create_string(ticket);
            let b = fb::Migrate::create(
                fbb,
                &fb::MigrateArgs {
                    url: Some(url),
                    ticket: Some(ticket),
                },
            );
            (fb::ServerBody::Migrate, b.as_union_value())
        }
        ServerMessage::Error { code, message } => {
            let message = fbb.create_string(message);
            let b = fb::Error::create(
                fbb,
                &fb::ErrorArgs {
                    code: code.0,
                    message: Some(message),
                },
            );
            (fb::ServerBody::Error, b.as_union_value())
        }
        ServerMessage::Pong {
            client_time,
            server_tick,
        } => {
            let b = fb::Pong::create(
                fbb,
                &fb::PongArgs {
                    client_time: *client_time,
                    server_tick: *server_tick,
                },
            );
            (fb::ServerBody::Pong, b.as_union_value())
        }
    };
    finish_server(fbb, body_type, body)
}

/// Verifies (with [`Limits::SERVER`]) and decodes a server message. Snapshots come back in
/// wire form; apply them with [`ClientMirror::apply`](crate::ClientMirror::apply).
pub fn decode_server(buf: &[u8]) -> Result<ServerMessage, ProtocolError> {
    let root = verified_root::<fb::ServerMessage>(buf, &Limits::SERVER)?;
    check_version(root.version())?;
    let missing = ProtocolError::MissingField("body");
    Ok(match root.body_type() {
        fb::ServerBody::Welcome => {
            let m = root.body_as_welcome().ok_or(missing)?;
            ServerMessage::Welcome(Welcome {
                entity: entity(m.entity(), "entity")?,
                slot: Slot(m.slot()),
                tick_rate: m.tick_rate(),
                tick: m.tick(),
                space: text(m.space(), "space", MAX_TEXT_BYTES)?,
                map: text(m.map(), "map", MAX_TEXT_BYTES)?,
                region: region_from_wire(m.region(), "region")?,
            })
        }
        fb::ServerBody::Snapshot => {
            ServerMessage::Snapshot(WireSnapshot::read(root.body_as_snapshot().ok_or(missing)?)?)
        }
        fb::ServerBody::Proximity => {
            let m = root.body_as_proximity().ok_or(missing)?;
            ServerMessage::Proximity {
                near: entities(m.near(), "near")?,
                far: entities(m.far(), "far")?,
            }
        }
        fb::ServerBody::Chat => {
            let m = root.body_as_chat().ok_or(missing)?;
            ServerMessage::Chat(ChatLine {
                from: sim::EntityId::new(m.from()),
                from_name: text(m.from_name(), "from_name", MAX_NAME_BYTES)?,
                text: text(m.text(), "text", MAX_CHAT_BYTES)?,
                scope: scope_from_wire(m.scope())?,
                time: m.time(),
            })
        }
        fb::ServerBody::Signal => {
            let m = root.body_as_signal().ok_or(missing)?;
            ServerMessage::Signal {
                from: entity(m.from(), "from")?,
                kind: kind_from_wire(m.kind())?,
                payload: text(m.payload(), "payload", MAX_SIGNAL_BYTES)?,
            }
        }
        fb::ServerBody::Migrate => {
            let m = root.body_as_migrate().ok_or(missing)?;
            ServerMessage::Migrate {
                url: text(m.url(), "url", MAX_TEXT_BYTES)?,
                ticket: text(m.ticket(), "ticket", MAX_TOKEN_BYTES)?,
            }
        }
        fb::ServerBody::Error => {
            let m = root.body_as_error().ok_or(missing)?;
            ServerMessage::Error {
                code: ErrorCode(m.code()),
                message: text(m.message(), "message", MAX_TEXT_BYTES)?,
            }
        }
        fb::ServerBody::Pong => {
            let m = root.body_as_pong().ok_or(missing)?;
            ServerMessage::Pong {
                client_time: m.client_time(),
                server_tick: m.server_tick(),
            }
        }
        fb::ServerBody::NONE => return Err(missing),
        other => return Err(ProtocolError::UnknownMessage(other.0)),
    })
}
