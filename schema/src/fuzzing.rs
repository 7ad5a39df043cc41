//! The bodies of the `cargo fuzz` targets (`fuzz/fuzz_targets/*.rs`), here so the
//! corpus-replay test runs exactly what the fuzzer runs. Each panics only on a real bug: a
//! buffer that decodes must re-encode to a buffer that decodes to the same message.

use std::sync::OnceLock;

use sim::interest::{Delta, Enter, Slot, VisibleState};

use crate::{
    ClientMirror, ServerMessage, SnapshotEncoder, SnapshotWriter, decode_client, decode_cluster,
    decode_server, encode_client, encode_cluster, encode_server,
};

/// Client root: decode; if it decodes, re-encoding is stable.
pub fn client(data: &[u8]) {
    if let Ok(msg) = decode_client(data) {
        let bytes = encode_client(&msg);
        let again = decode_client(&bytes).expect("re-encoded client message must decode");
        assert_eq!(
            encode_client(&again),
            bytes,
            "client re-encoding is not stable"
        );
    }
}

/// Server root: decode; re-encoding is stable; snapshots are applied to a fresh mirror and
/// to one that holds ticks 1 and 2 (so baselines 1 and 2 resolve).
pub fn server(data: &[u8]) {
    let Ok(msg) = decode_server(data) else {
        return;
    };
    let bytes = encode_server(&msg);
    let again = decode_server(&bytes).expect("re-encoded server message must decode");
    assert_eq!(
        encode_server(&again),
        bytes,
        "server re-encoding is not stable"
    );
    if let ServerMessage::Snapshot(snap) = msg {
        let _ = ClientMirror::new().apply(&snap);
        let mut primed = PRIMED.get_or_init(primed_mirror).clone();
        let before = primed.latest().clone();
        if primed.apply(&snap).is_err() {
            assert_eq!(
                primed.latest(),
                &before,
                "a failed apply changed the mirror"
            );
        }
    }
}

static PRIMED: OnceLock<ClientMirror> = OnceLock::new();

/// Cluster root: decode; if it decodes, re-encoding is stable.
pub fn cluster(data: &[u8]) {
    if let Ok(msg) = decode_cluster(data) {
        let bytes = encode_cluster(&msg);
        let again = decode_cluster(&bytes).expect("re-encoded cluster message must decode");
        assert_eq!(again, msg, "cluster message changed in a round trip");
    }
}

/// A client mirror holding ticks 1 (slots 0..4) and 2 (slot 0 moved).
pub fn primed_mirror() -> ClientMirror {
    let (mut enc, mut writer) = (SnapshotEncoder::new(), SnapshotWriter::new());
    let mut mirror = ClientMirror::new();
    let enters = (0..4u16)
        .map(|i| Enter {
            slot: Slot(i),
            state: VisibleState {
                id: sim::EntityId::new(u64::from(i) + 1).expect("non-zero"),
                position: glam::IVec2::new(i32::from(i), 3),
                target: None,
                facing: None,
                avatar: i,
                name: format!("p{i}"),
            },
        })
        .collect();
    let first = Delta {
        tick: 1,
        baseline: 0,
        enters,
        ..Delta::default()
    };
    let second = Delta {
        tick: 2,
        baseline: 1,
        updates: vec![sim::interest::Update {
            slot: Slot(0),
            position: Some(glam::IVec2::new(0, 4)),
            target: Some(Some(glam::IVec2::new(0, 5))),
            facing: Some(Some(sim::Direction::South)),
        }],
        ..Delta::default()
    };
    for d in [first, second] {
        let bytes = enc.encode(&mut writer, &d, 0).to_vec();
        let Ok(ServerMessage::Snapshot(s)) = decode_server(&bytes) else {
            unreachable!("own snapshot decodes")
        };
        mirror.apply(&s).expect("own snapshot applies");
    }
    mirror
}
