//! Snapshot streams applied to the client mirror reproduce the server's view exactly.

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use schema::{ClientMirror, ServerMessage, SnapshotEncoder, SnapshotWriter, decode_server};
use sim::Tick;
use sim::interest::{Mirror, Slot, VisibleState};

/// Runs a stream: each tick the server view changes by `op`, the delta is computed against
/// the acknowledged baseline, encoded, decoded and applied; the client acknowledges a tick
/// when `acks` says so. Returns the bytes sent.
fn run(ops: &[(Op, bool)]) -> Result<usize, TestCaseError> {
    let mut view: BTreeMap<Slot, VisibleState> = BTreeMap::new();
    let mut sent: BTreeMap<Tick, Mirror> = BTreeMap::new();
    let mut baseline: Tick = 0;
    let (mut enc, mut writer) = (SnapshotEncoder::new(), SnapshotWriter::new());
    let mut client = ClientMirror::new();
    let mut bytes_sent = 0;
    for (i, (op, ack)) in ops.iter().enumerate() {
        let tick = i as Tick + 1;
        step_view(&mut view, op);
        let base = sent.get(&baseline).cloned().unwrap_or_default();
        let delta = diff(tick, baseline, &base, &view);
        let seq = tick as u32 / 3;
        let Some(bytes) = enc.encode_if_changed(&mut writer, &delta, seq) else {
            prop_assert!(delta.is_empty());
            continue;
        };
        bytes_sent += bytes.len();
        let Ok(ServerMessage::Snapshot(snap)) = decode_server(bytes) else {
            return Err(TestCaseError::fail("snapshot does not decode"));
        };
        let resolved = client
            .apply(&snap)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&resolved, &delta, "decoded delta differs at tick {}", tick);
        prop_assert_eq!(
            &client.latest().slots,
            &view,
            "mirror differs at tick {}",
            tick
        );
        prop_assert_eq!(client.last_input_seq, seq);
        sent.insert(
            tick,
            Mirror {
                tick,
                slots: view.clone(),
            },
        );
        if *ack {
            baseline = tick;
        }
    }
    Ok(bytes_sent)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_streams_reproduce_the_view(ops in proptest::collection::vec((op(), any::<bool>()), 1..60)) {
        run(&ops)?;
    }

    #[test]
    fn rarely_acked_streams_reproduce_the_view(
        ops in proptest::collection::vec((op(), proptest::bool::weighted(0.1)), 1..60),
    ) {
        run(&ops)?;
    }
}

#[test]
fn a_snapshot_on_an_unknown_baseline_is_a_typed_error() {
    let (mut enc, mut writer) = (SnapshotEncoder::new(), SnapshotWriter::new());
    let delta = sim::interest::Delta {
        tick: 9,
        baseline: 5,
        ..Default::default()
    };
    let Ok(ServerMessage::Snapshot(snap)) = decode_server(enc.encode(&mut writer, &delta, 1))
    else {
        panic!("snapshot must decode");
    };
    let mut client = ClientMirror::new();
    assert_eq!(
        client.apply(&snap),
        Err(schema::ProtocolError::MissingBaseline(5))
    );
}
