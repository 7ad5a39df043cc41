//! Wire-protocol costs: encoding a 50-mover Snapshot and verifying + decoding a client Input.
//!
//! Run with `cargo bench -p benches --bench encode`. Targets: encode ≤ 1 µs,
//! verify + decode ≤ 200 ns. See benches/README.md ("Encode / wire size").
//! On a machine shared with other builds, run it at high priority
//! (`nice -n -20 cargo bench …`) or the figures include waiting for a core.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::IVec2;
use schema::{ClientMessage, SnapshotEncoder, SnapshotWriter, decode_client, encode_client};
use sim::interest::{Delta, Enter, Slot, Update, VisibleState};
use sim::{Direction, EntityId, Input};

const MOVERS: u16 = 50;

fn enters() -> Vec<Enter> {
    (0..MOVERS)
        .map(|i| {
            let p = IVec2::new(10, 10 + i32::from(i));
            Enter {
                slot: Slot(i),
                state: VisibleState {
                    id: EntityId::new(u64::from(i) + 1).unwrap(),
                    position: p,
                    target: Some(p + IVec2::X),
                    facing: Some(Direction::East),
                    avatar: 0,
                    name: format!("walker-{i}"),
                },
            }
        })
        .collect()
}

fn enter_delta() -> Delta {
    Delta {
        tick: 1,
        enters: enters(),
        ..Delta::default()
    }
}

/// The delta of tick `tick` (relative to `tick - 1`): every mover stepped one tile east.
fn steady(tick: u64) -> Delta {
    let x = 10 + tick as i32;
    Delta {
        tick,
        baseline: tick - 1,
        updates: (0..MOVERS)
            .map(|i| Update {
                slot: Slot(i),
                position: Some(IVec2::new(x, 10 + i32::from(i))),
                target: Some(Some(IVec2::new(x + 1, 10 + i32::from(i)))),
                facing: None,
            })
            .collect(),
        ..Delta::default()
    }
}

fn bench_encode(c: &mut Criterion) {
    let deltas: Vec<Delta> = (2..1026).map(steady).collect();
    let input = encode_client(&ClientMessage::Input {
        seq: 12345,
        input: Input::Move(Direction::North),
    });
    {
        let mut g = c.benchmark_group("wire");
        // Steady state: the encoder has the baseline view; each tick acknowledges the last.
        g.bench_function("encode_snapshot_50_movers", |b| {
            let (mut enc, mut writer) = (SnapshotEncoder::new(), SnapshotWriter::new());
            enc.encode(&mut writer, &enter_delta(), 0);
            let mut i = 0;
            b.iter(|| {
                if i == deltas.len() {
                    // Replay the same 1024 ticks from the enter tick.
                    enc.reset();
                    enc.encode(&mut writer, &enter_delta(), 0);
                    i = 0;
                }
                let n = enc.encode(&mut writer, black_box(&deltas[i]), 7).len();
                i += 1;
                n
            });
        });
        g.bench_function("encode_snapshot_50_enters", |b| {
            let delta = enter_delta();
            let (mut enc, mut writer) = (SnapshotEncoder::new(), SnapshotWriter::new());
            b.iter(|| {
                enc.reset();
                enc.encode(&mut writer, black_box(&delta), 0).len()
            });
        });
        g.bench_function("verify_decode_client_input", |b| {
            b.iter(|| decode_client(black_box(&input)).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench_encode);
criterion_main!(benches);
