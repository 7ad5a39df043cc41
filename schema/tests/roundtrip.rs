//! Round trips of every message type, and of deltas through snapshots.

mod common;

use common::*;
use proptest::prelude::*;
use schema::{
    ServerMessage, WireSnapshot, decode_client, decode_cluster, decode_server, encode_client,
    encode_cluster, encode_server, normalize_updates, resolve_step, step_code,
};
use sim::interest::{Delta, Mirror, Slot};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_messages_round_trip(msg in client_message()) {
        prop_assert_eq!(decode_client(&encode_client(&msg)), Ok(msg));
    }

    #[test]
    fn server_messages_round_trip(msg in server_message()) {
        prop_assert_eq!(decode_server(&encode_server(&msg)), Ok(msg));
    }

    #[test]
    fn cluster_messages_round_trip(msg in cluster_message()) {
        prop_assert_eq!(decode_cluster(&encode_cluster(&msg)), Ok(msg));
    }

    /// Any update against any reference position: a step, when chosen, expands back to it.
    #[test]
    fn step_codes_round_trip(u in update(), reference in proptest::option::of(tile())) {
        if let Some(s) = step_code(&u, reference) {
            prop_assert!(u.slot.0 < 256);
            prop_assert_eq!(resolve_step(s, reference), Ok(u));
        }
    }

    /// A delta against any reference view: the wire form resolves to the normalized delta.
    #[test]
    fn deltas_round_trip_through_wire_snapshots(
        reference in proptest::collection::btree_map((0u16..300).prop_map(Slot), visible_state(), 0..20),
        updates in proptest::collection::vec(update(), 0..30),
        tick in 1u64..1000,
        seq in any::<u32>(),
    ) {
        let mirror = Mirror { tick: 0, slots: reference };
        let delta = Delta { tick, baseline: 0, updates, ..Delta::default() };
        let wire = WireSnapshot::from_delta(&delta, seq, &mirror);
        let bytes = encode_server(&ServerMessage::Snapshot(wire.clone()));
        prop_assert_eq!(decode_server(&bytes), Ok(ServerMessage::Snapshot(wire.clone())));
        let resolved = wire.resolve(&mirror).unwrap();
        let expected = Delta { updates: normalize_updates(&delta.updates), ..delta.clone() };
        prop_assert_eq!(&resolved, &expected);
        // Applying the normalized delta is the same as applying the original one.
        let (mut a, mut b) = (mirror.clone(), mirror.clone());
        prop_assert_eq!(a.apply(&delta).is_ok(), b.apply(&resolved).is_ok());
        prop_assert_eq!(a, b);
    }
}
