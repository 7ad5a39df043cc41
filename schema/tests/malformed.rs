//! Bad input gives typed errors, never panics.

mod common;

use common::*;
use flatbuffers::FlatBufferBuilder;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use schema::generated::plaza::{self as fb, client as fc, server as fs};
use schema::{
    ClientMessage, Limits, PROTOCOL_VERSION, ProtocolError, decode_client, decode_cluster,
    decode_server, encode_client, encode_cluster, encode_server,
};

/// A client root with the given version and body, for hand-made bad messages.
fn client_root(
    fbb: &mut FlatBufferBuilder<'static>,
    version: u16,
    body_type: fc::ClientBody,
    body: Option<flatbuffers::WIPOffset<flatbuffers::UnionWIPOffset>>,
) -> Vec<u8> {
    let root = fc::ClientMessage::create(
        fbb,
        &fc::ClientMessageArgs {
            version,
            body_type,
            body,
        },
    );
    fbb.finish_minimal(root);
    fbb.finished_data().to_vec()
}

fn input_body(
    fbb: &mut FlatBufferBuilder<'static>,
    direction: u8,
) -> flatbuffers::WIPOffset<flatbuffers::UnionWIPOffset> {
    fc::Input::create(
        fbb,
        &fc::InputArgs {
            seq: 1,
            direction: fb::Dir(direction),
        },
    )
    .as_union_value()
}

#[test]
fn wrong_version_is_refused() {
    for version in [0, PROTOCOL_VERSION + 1, u16::MAX] {
        let mut fbb = FlatBufferBuilder::new();
        let body = input_body(&mut fbb, 1);
        let buf = client_root(&mut fbb, version, fc::ClientBody::Input, Some(body));
        assert_eq!(
            decode_client(&buf),
            Err(ProtocolError::WrongVersion {
                got: version,
                expected: PROTOCOL_VERSION
            })
        );
    }
}

#[test]
fn unknown_union_type_is_refused() {
    let mut fbb = FlatBufferBuilder::new();
    let body = input_body(&mut fbb, 1);
    let buf = client_root(&mut fbb, PROTOCOL_VERSION, fc::ClientBody(42), Some(body));
    assert_eq!(decode_client(&buf), Err(ProtocolError::UnknownMessage(42)));
}

#[test]
fn missing_body_and_missing_fields_are_refused() {
    let mut fbb = FlatBufferBuilder::new();
    let buf = client_root(&mut fbb, PROTOCOL_VERSION, fc::ClientBody::NONE, None);
    assert_eq!(
        decode_client(&buf),
        Err(ProtocolError::MissingField("body"))
    );

    let mut fbb = FlatBufferBuilder::new();
    let hello = fc::Hello::create(
        &mut fbb,
        &fc::HelloArgs {
            token: None,
            protocol_version: 1,
        },
    );
    let buf = client_root(
        &mut fbb,
        PROTOCOL_VERSION,
        fc::ClientBody::Hello,
        Some(hello.as_union_value()),
    );
    assert_eq!(
        decode_client(&buf),
        Err(ProtocolError::MissingField("token"))
    );
}

#[test]
fn out_of_range_values_are_refused() {
    let mut fbb = FlatBufferBuilder::new();
    let body = input_body(&mut fbb, 5);
    let buf = client_root(
        &mut fbb,
        PROTOCOL_VERSION,
        fc::ClientBody::Input,
        Some(body),
    );
    assert_eq!(
        decode_client(&buf),
        Err(ProtocolError::OutOfRange {
            field: "direction",
            value: 5
        })
    );

    let mut fbb = FlatBufferBuilder::new();
    let payload = fbb.create_string("x");
    let sig = fc::Signal::create(
        &mut fbb,
        &fc::SignalArgs {
            to: 0,
            kind: fb::SignalKind::Ice,
            payload: Some(payload),
        },
    );
    let buf = client_root(
        &mut fbb,
        PROTOCOL_VERSION,
        fc::ClientBody::Signal,
        Some(sig.as_union_value()),
    );
    assert_eq!(
        decode_client(&buf),
        Err(ProtocolError::OutOfRange {
            field: "to",
            value: 0
        })
    );

    // A snapshot step code beyond the 216 defined codes.
    let mut fbb = FlatBufferBuilder::new();
    let steps = fbb.create_vector(&[fs::Step::new(3, 216)]);
    let snap = fs::Snapshot::create(
        &mut fbb,
        &fs::SnapshotArgs {
            tick: 1,
            steps: Some(steps),
            ..Default::default()
        },
    );
    let root = fs::ServerMessage::create(
        &mut fbb,
        &fs::ServerMessageArgs {
            version: PROTOCOL_VERSION,
            body_type: fs::ServerBody::Snapshot,
            body: Some(snap.as_union_value()),
        },
    );
    fbb.finish_minimal(root);
    assert_eq!(
        decode_server(fbb.finished_data()),
        Err(ProtocolError::OutOfRange {
            field: "steps.code",
            value: 216
        })
    );
}

#[test]
fn snapshot_enters_without_names_are_refused() {
    let mut fbb = FlatBufferBuilder::new();
    let enters = fbb.create_vector(&[fs::EnterState::new(1, 0, 0, 0, 0, 0, 0, fb::Dir::None, 0)]);
    let snap = fs::Snapshot::create(
        &mut fbb,
        &fs::SnapshotArgs {
            tick: 1,
            enters: Some(enters),
            ..Default::default()
        },
    );
    let root = fs::ServerMessage::create(
        &mut fbb,
        &fs::ServerMessageArgs {
            version: PROTOCOL_VERSION,
            body_type: fs::ServerBody::Snapshot,
            body: Some(snap.as_union_value()),
        },
    );
    fbb.finish_minimal(root);
    assert_eq!(
        decode_server(fbb.finished_data()),
        Err(ProtocolError::LengthMismatch("enters", "names"))
    );
}

#[test]
fn text_too_long_is_refused() {
    let buf = encode_client(&ClientMessage::Chat {
        text: "a".repeat(schema::MAX_CHAT_BYTES + 1),
        scope: schema::ChatScope::Space,
    });
    assert_eq!(
        decode_client(&buf),
        Err(ProtocolError::TextTooLong {
            field: "text",
            len: schema::MAX_CHAT_BYTES + 1,
            max: schema::MAX_CHAT_BYTES
        })
    );
}

#[test]
fn oversized_buffers_are_refused_before_verification() {
    let buf = vec![0u8; Limits::CLIENT.max_size + 1];
    assert_eq!(
        decode_client(&buf),
        Err(ProtocolError::TooLarge {
            size: buf.len(),
            max: Limits::CLIENT.max_size
        })
    );
    let buf = vec![0u8; Limits::SERVER.max_size + 1];
    assert!(matches!(
        decode_server(&buf),
        Err(ProtocolError::TooLarge { .. })
    ));
    let buf = vec![0u8; Limits::CLUSTER.max_size + 1];
    assert!(matches!(
        decode_cluster(&buf),
        Err(ProtocolError::TooLarge { .. })
    ));
}

#[test]
fn apparent_size_bombs_are_refused() {
    // 150 000 name offsets all pointing at one 200-byte string: ~0.6 MB on the wire, but
    // ~30 MB for a reader that follows every offset.
    let mut fbb = FlatBufferBuilder::new();
    let name = fbb.create_string(&"n".repeat(200));
    let names = fbb.create_vector(&vec![name; 150_000]);
    let snap = fs::Snapshot::create(
        &mut fbb,
        &fs::SnapshotArgs {
            tick: 1,
            names: Some(names),
            ..Default::default()
        },
    );
    let root = fs::ServerMessage::create(
        &mut fbb,
        &fs::ServerMessageArgs {
            version: PROTOCOL_VERSION,
            body_type: fs::ServerBody::Snapshot,
            body: Some(snap.as_union_value()),
        },
    );
    fbb.finish_minimal(root);
    let buf = fbb.finished_data();
    assert!(buf.len() < Limits::SERVER.max_size);
    let err = decode_server(buf).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::Invalid(flatbuffers::InvalidFlatbuffer::ApparentSizeTooLarge)
        ),
        "{err:?}"
    );
}

/// A truncated buffer is an error, unless only trailing alignment padding was cut (then it
/// decodes to the very same message).
#[test]
fn truncations_of_valid_messages_are_errors() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut cut = [0usize; 2];
    for _ in 0..64 {
        let c = client_message().new_tree(&mut runner).unwrap().current();
        let s = server_message().new_tree(&mut runner).unwrap().current();
        let k = cluster_message().new_tree(&mut runner).unwrap().current();
        let (cb, sb, kb) = (encode_client(&c), encode_server(&s), encode_cluster(&k));
        for n in 0..cb.len() {
            match decode_client(&cb[..n]) {
                Err(_) => cut[0] += 1,
                Ok(m) => {
                    (
                        assert_eq!(m, c, "client prefix {n}/{}", cb.len()),
                        cut[1] += 1,
                    )
                        .1
                }
            }
        }
        for n in 0..sb.len() {
            match decode_server(&sb[..n]) {
                Err(_) => cut[0] += 1,
                Ok(m) => {
                    (
                        assert_eq!(m, s, "server prefix {n}/{}", sb.len()),
                        cut[1] += 1,
                    )
                        .1
                }
            }
        }
        for n in 0..kb.len() {
            match decode_cluster(&kb[..n]) {
                Err(_) => cut[0] += 1,
                Ok(m) => {
                    (
                        assert_eq!(m, k, "cluster prefix {n}/{}", kb.len()),
                        cut[1] += 1,
                    )
                        .1
                }
            }
        }
    }
    // Almost every truncation is caught; the rest only cut padding.
    assert!(cut[1] * 20 < cut[0], "{cut:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random bytes: an error or a message, never a panic (and the fuzz oracles hold).
    #[test]
    fn garbage_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
        schema::fuzzing::client(&buf);
        schema::fuzzing::server(&buf);
        schema::fuzzing::cluster(&buf);
    }

    /// Valid messages with flipped bytes: an error or a message, never a panic.
    #[test]
    fn corrupted_messages_never_panic(
        msg in server_message(),
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut buf = encode_server(&msg);
        for (i, b) in &flips {
            let i = i.index(buf.len());
            buf[i] ^= b;
        }
        schema::fuzzing::server(&buf);
        schema::fuzzing::client(&buf);
        schema::fuzzing::cluster(&buf);
    }
}
