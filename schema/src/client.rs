//! Client → server messages: [`ClientMessage`], [`encode_client`], [`decode_client`].

use flatbuffers::FlatBufferBuilder;
use sim::{EntityId, Input, Tick};

use crate::common::{
    ChatScope, PROTOCOL_VERSION, SignalKind, check_version, dir_from_wire, dir_to_wire, entity,
    kind_from_wire, kind_to_wire, scope_from_wire, scope_to_wire, text, verified_root,
};
use crate::error::{Limits, MAX_CHAT_BYTES, MAX_SIGNAL_BYTES, MAX_TOKEN_BYTES, ProtocolError};
use crate::generated::plaza::client as fb;

/// A decoded client → server message.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientMessage {
    /// First message: a session token (or migration ticket) and the client's protocol version.
    Hello {
        /// JWT or migration ticket.
        token: String,
        /// The client's protocol version.
        protocol_version: u16,
    },
    /// A movement intent with the client's sequence number.
    Input {
        /// Client sequence number.
        seq: u32,
        /// What the player wants.
        input: Input,
    },
    /// The client applied the snapshot of `tick`.
    Ack {
        /// The applied tick.
        tick: Tick,
    },
    /// A chat line.
    Chat {
        /// The text (≤ [`MAX_CHAT_BYTES`]).
        text: String,
        /// Who should receive it.
        scope: ChatScope,
    },
    /// WebRTC signalling for a near peer.
    Signal {
        /// The receiving player's entity.
        to: EntityId,
        /// Offer, answer, ICE candidate or hangup.
        kind: SignalKind,
        /// SDP or candidate text (≤ [`MAX_SIGNAL_BYTES`]).
        payload: String,
    },
    /// Latency probe.
    Ping {
        /// Client clock in milliseconds, echoed in `Pong`.
        client_time: f64,
    },
}

/// Encodes a client message into a fresh buffer.
pub fn encode_client(msg: &ClientMessage) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::with_capacity(64);
    encode_client_into(&mut fbb, msg).to_vec()
}

/// Encodes a client message with a reused builder (reset first); returns the finished bytes.
pub fn encode_client_into<'b>(
    fbb: &'b mut FlatBufferBuilder<'static>,
    msg: &ClientMessage,
) -> &'b [u8] {
    fbb.reset();
    let (body_type, body) = match msg {
        ClientMessage::Hello {
            token,
            protocol_version,
        } => {
            let token = fbb.create_string(token);
            let b = fb::Hello::create(
                fbb,
                &fb::HelloArgs {
                    token: Some(token),
                    protocol_version: *protocol_version,
                },
            );
            (fb::ClientBody::Hello, b.as_union_value())
        }
        ClientMessage::Input { seq, input } => {
            let direction = match input {
                Input::Move(d) => dir_to_wire(Some(*d)),
                Input::Stop => dir_to_wire(None),
            };
            let b = fb::Input::create(
                fbb,
                &fb::InputArgs {
                    seq: *seq,
                    direction,
                },
            );
            (fb::ClientBody::Input, b.as_union_value())
        }
        ClientMessage::Ack { tick } => {
            let b = fb::Ack::create(fbb, &fb::AckArgs { tick: *tick });
            (fb::ClientBody::Ack, b.as_union_value())
        }
        ClientMessage::Chat { text, scope } => {
            let text = fbb.create_string(text);
            let b = fb::Chat::create(
                fbb,
                &fb::ChatArgs {
                    text: Some(text),
                    scope: scope_to_wire(*scope),
                },
            );
            (fb::ClientBody::Chat, b.as_union_value())
        }
        ClientMessage::Signal { to, kind, payload } => {
            let payload = fbb.create_string(payload);
            let b = fb::Signal::create(
                fbb,
                &fb::SignalArgs {
                    to: to.get(),
                    kind: kind_to_wire(*kind),
                    payload: Some(payload),
                },
            );
            (fb::ClientBody::Signal, b.as_union_value())
        }
        ClientMessage::Ping { client_time } => {
            let b = fb::Ping::create(
                fbb,
                &fb::PingArgs {
                    client_time: *client_time,
                },
            );
            (fb::ClientBody::Ping, b.as_union_value())
        }
    };
    let root = fb::ClientMessage::create(
        fbb,
        &fb::ClientMessageArgs {
            version: PROTOCOL_VERSION,
            body_type,
            body: Some(body),
        },
    );
    fbb.finish_minimal(root);
    fbb.finished_data()
}

/// Verifies (with [`Limits::CLIENT`]) and decodes a client message.
pub fn decode_client(buf: &[u8]) -> Result<ClientMessage, ProtocolError> {
    let root = verified_root::<fb::ClientMessage>(buf, &Limits::CLIENT)?;
    check_version(root.version())?;
    let missing = ProtocolError::MissingField("body");
    Ok(match root.body_type() {
        fb::ClientBody::Hello => {
            let m = root.body_as_hello().ok_or(missing)?;
            ClientMessage::Hello {
                token: text(m.token(), "token", MAX_TOKEN_BYTES)?,
                protocol_version: m.protocol_version(),
            }
        }
        fb::ClientBody::Input => {
            let m = root.body_as_input().ok_or(missing)?;
            let input = match dir_from_wire(m.direction(), "direction")? {
                Some(d) => Input::Move(d),
                None => Input::Stop,
            };
            ClientMessage::Input {
                seq: m.seq(),
                input,
            }
        }
        fb::ClientBody::Ack => ClientMessage::Ack {
            tick: root.body_as_ack().ok_or(missing)?.tick(),
        },
        fb::ClientBody::Chat => {
            let m = root.body_as_chat().ok_or(missing)?;
            ClientMessage::Chat {
                text: text(m.text(), "text", MAX_CHAT_BYTES)?,
                scope: scope_from_wire(m.scope())?,
            }
        }
        fb::ClientBody::Signal => {
            let m = root.body_as_signal().ok_or(missing)?;
            ClientMessage::Signal {
                to: entity(m.to(), "to")?,
                kind: kind_from_wire(m.kind())?,
                payload: text(m.payload(), "payload", MAX_SIGNAL_BYTES)?,
            }
        }
        fb::ClientBody::Ping => ClientMessage::Ping {
            client_time: root.body_as_ping().ok_or(missing)?.client_time(),
        },
        fb::ClientBody::NONE => return Err(missing),
        other => return Err(ProtocolError::UnknownMessage(other.0)),
    })
}
