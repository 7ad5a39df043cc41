//! Wire sizes against the targets, the fuzz seed corpus (written and replayed), and the
//! Rust → TypeScript fixtures for the web client's decoder tests.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use schema::{
    ClientMirror, ServerMessage, SnapshotEncoder, SnapshotWriter, decode_server, encode_client,
    encode_cluster, encode_server,
};
use serde_json::{Value, json};
use sim::Tick;
use sim::interest::{Delta, Mirror, Slot, Update, VisibleState};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes `bytes` to `path` unless it already holds exactly them.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// A stream of server views and the snapshots sent for them, acknowledging each tick
/// `lag` ticks late (0: never acknowledged).
struct Stream {
    enc: SnapshotEncoder,
    writer: SnapshotWriter,
    sent: BTreeMap<Tick, Mirror>,
    tick: Tick,
    lag: Tick,
}

impl Stream {
    fn new(lag: Tick) -> Stream {
        Stream {
            enc: SnapshotEncoder::new(),
            writer: SnapshotWriter::new(),
            sent: BTreeMap::new(),
            tick: 0,
            lag,
        }
    }

    /// The delta for `view` at the next tick and its snapshot (`None`: idle, not sent).
    fn send(&mut self, view: &BTreeMap<Slot, VisibleState>, seq: u32) -> (Delta, Option<Vec<u8>>) {
        self.tick += 1;
        let baseline = match self.lag {
            0 => 0,
            lag => self
                .sent
                .keys()
                .rev()
                .find(|t| **t + lag <= self.tick)
                .copied()
                .unwrap_or(0),
        };
        let base = self.sent.get(&baseline).cloned().unwrap_or_default();
        let delta = diff(self.tick, baseline, &base, view);
        let bytes = self
            .enc
            .encode_if_changed(&mut self.writer, &delta, seq)
            .map(<[u8]>::to_vec);
        if bytes.is_some() {
            self.sent.insert(
                self.tick,
                Mirror {
                    tick: self.tick,
                    slots: view.clone(),
                },
            );
        }
        (delta, bytes)
    }
}

fn walk(view: &mut BTreeMap<Slot, VisibleState>) {
    step_view(view, &Op::Walk);
}

/// Bytes of (enter tick, steady-state tick, idle tick) for `n` walkers with ack lag `lag`.
fn sizes(n: u16, lag: Tick) -> (usize, usize, Option<usize>, usize) {
    let mut view = crowd(n);
    let mut s = Stream::new(lag);
    let (_, enter) = s.send(&view, 1);
    let mut steady = 0;
    for _ in 0..10 {
        walk(&mut view);
        let (d, b) = s.send(&view, 1);
        if d.baseline != 0 {
            assert_eq!((d.updates.len(), d.enters.len()), (usize::from(n), 0));
        }
        steady = b.unwrap().len();
    }
    // Nothing changes: once the last change is acknowledged the delta is empty.
    let mut idle = None;
    for _ in 0..=lag {
        idle = s.send(&view, 1).1.map(|b| b.len());
    }
    // What an idle tick would cost if it were sent anyway.
    let empty = Delta {
        tick: 99,
        baseline: 98,
        ..Delta::default()
    };
    let forced = SnapshotEncoder::new()
        .encode(&mut SnapshotWriter::new(), &empty, 1)
        .len();
    (enter.unwrap().len(), steady, idle, forced)
}

/// Average bytes per tick for 50 walkers moving at the sim's default speed (one tile per 4
/// ticks), phases staggered, acknowledged `lag` ticks late.
fn paced(lag: Tick) -> f64 {
    let mut view = crowd(50);
    let mut s = Stream::new(lag);
    s.send(&view, 0);
    let (mut total, mut ticks) = (0, 0);
    for t in 0..200u64 {
        for (slot, st) in view.iter_mut() {
            if (t + u64::from(slot.0)) % 4 == 0 {
                let next = st.target.unwrap();
                st.position = next;
                st.target = Some(next + glam::IVec2::X);
            }
        }
        let bytes = s.send(&view, 1).1.map_or(0, |b| b.len());
        if t >= 20 {
            total += bytes;
            ticks += 1;
        }
    }
    total as f64 / f64::from(ticks)
}

#[test]
fn wire_sizes_meet_the_targets() {
    let (enter, steady, idle, forced) = sizes(50, 1);
    let (_, steady_lag3, _, _) = sizes(50, 3);
    let (_, steady1, _, _) = sizes(1, 1);
    let (paced1, paced2) = (paced(1), paced(2));
    eprintln!(
        "| 50 movers, each moved a tile since the baseline (ack lag 1) | {steady} B | {:.2} B/mover |",
        steady as f64 / 50.0
    );
    eprintln!(
        "| 50 movers at 1 tile/4 ticks, ack lag 1, mean per tick | {paced1:.1} B | {:.2} B/mover |",
        paced1 / 50.0
    );
    eprintln!(
        "| 50 movers at 1 tile/4 ticks, ack lag 2, mean per tick | {paced2:.1} B | {:.2} B/mover |",
        paced2 / 50.0
    );
    eprintln!(
        "| 50 movers, each 3 tiles from the baseline (ack lag 3, 1 tile/tick) | {steady_lag3} B | {:.2} B/mover |",
        steady_lag3 as f64 / 50.0
    );
    eprintln!("| 1 mover, moved a tile | {steady1} B | |");
    eprintln!(
        "| 50 enters (names `walker-N`) | {enter} B | {:.1} B/enter |",
        enter as f64 / 50.0
    );
    eprintln!(
        "| idle tick | {} B (not sent; {forced} B if forced) | |",
        idle.unwrap_or(0)
    );
    assert!(steady <= 4 * 50, "{steady} bytes for 50 movers");
    assert!(
        paced2 <= 4.0 * 50.0,
        "{paced2} bytes per tick for 50 movers at lag 2"
    );
    assert_eq!(idle, None, "an idle tick must not be sent");
}

/// Every update of a steady walk is a 2-byte step, not a full update.
#[test]
fn walking_uses_steps() {
    let mut view = crowd(50);
    let mut s = Stream::new(1);
    s.send(&view, 0);
    walk(&mut view);
    let (_, bytes) = s.send(&view, 0);
    let Ok(ServerMessage::Snapshot(snap)) = decode_server(&bytes.unwrap()) else {
        panic!()
    };
    assert_eq!((snap.steps.len(), snap.full.len()), (50, 0));
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..12 {
        out.push((
            "client",
            encode_client(&client_message().new_tree(&mut runner).unwrap().current()),
        ));
        out.push((
            "server",
            encode_server(&server_message().new_tree(&mut runner).unwrap().current()),
        ));
        out.push((
            "cluster",
            encode_cluster(&cluster_message().new_tree(&mut runner).unwrap().current()),
        ));
    }
    // Snapshots that apply to the fuzzers' primed mirror (ticks 1 and 2 known).
    let primed = schema::fuzzing::primed_mirror();
    let base = primed.history().at(1).unwrap().clone();
    let mut view = base.slots.clone();
    walk(&mut view);
    step_view(&mut view, &Op::Turn(1, sim::Direction::North));
    step_view(&mut view, &Op::Leave(2));
    for baseline in [1, 2] {
        let reference = primed.history().at(baseline).unwrap();
        let delta = diff(3, baseline, reference, &view);
        let wire = schema::WireSnapshot::from_delta(&delta, 5, reference);
        out.push(("server", encode_server(&ServerMessage::Snapshot(wire))));
    }
    // A 50-mover steady-state snapshot and its enter snapshot.
    let mut view = crowd(50);
    let mut s = Stream::new(1);
    out.push(("server", s.send(&view, 0).1.unwrap()));
    walk(&mut view);
    out.push(("server", s.send(&view, 1).1.unwrap()));
    out
}

/// Writes the seed corpus (`fuzz/corpus/<target>/seed-*`, deterministic), then replays every
/// file of the corpus — seeds and whatever the fuzzer added locally — through the fuzz
/// bodies.
#[test]
fn fuzz_corpus_replays_cleanly() {
    let corpus = repo().join("fuzz/corpus");
    let mut counts = BTreeMap::new();
    for (target, bytes) in seeds() {
        let n = counts.entry(target).or_insert(0);
        write_if_changed(&corpus.join(target).join(format!("seed-{n:03}")), &bytes);
        *n += 1;
    }
    let mut replayed = 0;
    for target in ["client", "server", "cluster"] {
        let body: fn(&[u8]) = match target {
            "client" => schema::fuzzing::client,
            "server" => schema::fuzzing::server,
            _ => schema::fuzzing::cluster,
        };
        for entry in std::fs::read_dir(corpus.join(target)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                body(&std::fs::read(&path).unwrap());
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 36, "only {replayed} corpus files");
}

fn tile_json(t: glam::IVec2) -> Value {
    json!({ "x": t.x, "y": t.y })
}

fn state_json(s: &VisibleState) -> Value {
    json!({
        "id": s.id.get().to_string(),
        "position": tile_json(s.position),
        "target": s.target.map(tile_json),
        "facing": s.facing.map(|d| d.code()),
        "avatar": s.avatar,
        "name": s.name,
    })
}

fn update_json(u: &Update) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("slot".into(), json!(u.slot.0));
    if let Some(p) = u.position {
        o.insert("position".into(), tile_json(p));
    }
    if let Some(t) = u.target {
        o.insert("target".into(), t.map(tile_json).unwrap_or(Value::Null));
    }
    if let Some(f) = u.facing {
        o.insert(
            "facing".into(),
            f.map(|d| d.code()).map_or(Value::Null, |c| json!(c)),
        );
    }
    Value::Object(o)
}

fn delta_json(d: &Delta) -> Value {
    json!({
        "tick": d.tick,
        "baseline": d.baseline,
        "enters": d.enters.iter().map(|e| json!({ "slot": e.slot.0, "state": state_json(&e.state) })).collect::<Vec<_>>(),
        "updates": d.updates.iter().map(update_json).collect::<Vec<_>>(),
        "leaves": d.leaves.iter().map(|l| json!({ "slot": l.slot.0 })).collect::<Vec<_>>(),
    })
}

/// Writes `web-client/test/fixtures/`: a stream of snapshots (`stream-NN.bin`) and
/// `stream.json` with, per file, the expected decoded delta and the mirror after applying
/// it (with the TypeScript client's conventions: ids as decimal strings, facing as the sim
/// direction code 0..3 or null, absent = unchanged in updates), plus single messages.
#[test]
fn typescript_fixtures_are_written() {
    let dir = repo().join("web-client/test/fixtures");
    // A deterministic stream exercising enters, steps, full updates, leaves, renames, idle
    // ticks and acknowledgements lagging by 2 ticks.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut view = crowd(6);
    let mut s = Stream::new(2);
    let mut client = ClientMirror::new();
    let mut frames = Vec::new();
    let ops = proptest::collection::vec(op(), 40)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    for (i, op) in std::iter::once(Op::Walk).chain(ops).enumerate() {
        if i > 0 {
            step_view(&mut view, &op);
        }
        let seq = i as u32 / 2;
        let (delta, bytes) = s.send(&view, seq);
        let Some(bytes) = bytes else { continue };
        let Ok(ServerMessage::Snapshot(snap)) = decode_server(&bytes) else {
            panic!()
        };
        let resolved = client.apply(&snap).unwrap();
        assert_eq!(resolved, delta);
        assert_eq!(client.latest().slots, view);
        let file = format!("stream-{:02}.bin", frames.len());
        write_if_changed(&dir.join(&file), &bytes);
        frames.push(json!({
            "file": file,
            "bytes": bytes.len(),
            "last_input_seq": snap.last_input_seq,
            "delta": delta_json(&delta),
            "mirror": client.latest().slots.iter().map(|(slot, st)| json!({ "slot": slot.0, "state": state_json(st) })).collect::<Vec<_>>(),
        }));
    }
    let stream = json!({
        "about": "Written by schema/tests/wire.rs (cargo test -p schema). Apply the snapshots in order to a MirrorHistory: each delta applies to the mirror of its baseline tick. Ids are decimal strings (u64); facing is the sim direction code (N=0, E=1, S=2, W=3) or null; in updates an absent key means unchanged.",
        "frames": frames,
    });
    write_if_changed(
        &dir.join("stream.json"),
        serde_json::to_string_pretty(&stream).unwrap().as_bytes(),
    );

    // Single non-snapshot messages with their expected content.
    let singles: Vec<(&str, ServerMessage, Value)> = vec![
        (
            "welcome",
            ServerMessage::Welcome(schema::Welcome {
                entity: sim::EntityId::new(42).unwrap(),
                slot: Slot(0),
                tick_rate: 20,
                tick: 1234,
                space: "lobby".into(),
                map: "office".into(),
                region: sim::RegionId { col: 1, row: 2 },
            }),
            json!({ "entity": "42", "slot": 0, "tick_rate": 20, "tick": 1234, "space": "lobby", "map": "office", "region": { "col": 1, "row": 2 } }),
        ),
        (
            "proximity",
            ServerMessage::Proximity {
                near: vec![sim::EntityId::new(7).unwrap()],
                far: vec![sim::EntityId::new(9).unwrap()],
            },
            json!({ "near": ["7"], "far": ["9"] }),
        ),
        (
            "chat",
            ServerMessage::Chat(schema::ChatLine {
                from: sim::EntityId::new(7),
                from_name: "ada".into(),
                text: "hello 🙂".into(),
                scope: schema::ChatScope::Nearby,
                time: 1_700_000_000_000,
            }),
            json!({ "from": "7", "from_name": "ada", "text": "hello 🙂", "scope": "nearby", "time": "1700000000000" }),
        ),
        (
            "pong",
            ServerMessage::Pong {
                client_time: 12.5,
                server_tick: 77,
            },
            json!({ "client_time": 12.5, "server_tick": 77 }),
        ),
        (
            "error",
            ServerMessage::Error {
                code: schema::ErrorCode::RATE_LIMITED,
                message: "slow down".into(),
            },
            json!({ "code": 4, "message": "slow down" }),
        ),
    ];
    let mut expected = serde_json::Map::new();
    for (name, msg, content) in singles {
        let bytes = encode_server(&msg);
        assert_eq!(decode_server(&bytes).unwrap(), msg);
        write_if_changed(&dir.join(format!("{name}.bin")), &bytes);
        expected.insert(name.into(), content);
    }
    write_if_changed(
        &dir.join("messages.json"),
        serde_json::to_string_pretty(&Value::Object(expected))
            .unwrap()
            .as_bytes(),
    );
    assert!(frames.len() > 20);
}
