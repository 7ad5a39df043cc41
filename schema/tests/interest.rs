//! The real interest manager's deltas, through snapshots, rebuild each client's view exactly.

use glam::IVec2;
use schema::{ClientMirror, ServerMessage, SnapshotEncoder, SnapshotWriter, decode_server};
use sim::interest::{AoiConfig, Interest, MirrorHistory, ProximityConfig};
use sim::{Direction, Input, PlayerInfo, SimConfig, Simulation, TileMap};

/// A tiny deterministic generator (no RNG dependency needed for a test).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn interest_deltas_survive_the_wire() {
    let mut sim =
        Simulation::new(TileMap::open_floor(48, 48).into(), SimConfig::default()).unwrap();
    let mut interest = Interest::new(ProximityConfig::default());
    let mut rng = Lcg(7);
    let mut players = Vec::new();
    for i in 0..60u64 {
        let tile = IVec2::new((rng.next() % 48) as i32, (rng.next() % 48) as i32);
        let Ok(id) = sim.spawn_at(PlayerInfo::guest(i + 1, &format!("p{i}")), tile) else {
            continue;
        };
        let aoi = AoiConfig {
            radius: 10,
            cap: 40,
            ..AoiConfig::default()
        };
        // Each client acknowledges with its own lag (1..=4 ticks).
        let lag = 1 + (i % 4);
        players.push((
            id,
            interest.add_observer(id, aoi),
            lag,
            SnapshotEncoder::new(),
            ClientMirror::new(),
            MirrorHistory::new(),
            Vec::new(),
        ));
    }
    // One writer for every client's snapshots, as on the server.
    let mut writer = SnapshotWriter::new();
    let (mut bytes, mut snapshots, mut skipped) = (0usize, 0usize, 0usize);
    for tick in 1..=300u32 {
        for (id, ..) in &players {
            match rng.next() % 10 {
                0..=3 => {}
                4 => sim.queue_input(*id, tick, Input::Stop).unwrap(),
                d => sim
                    .queue_input(*id, tick, Input::Move(Direction::ALL[(d % 4) as usize]))
                    .unwrap(),
            }
        }
        sim.step();
        interest.update(&sim);
        for (id, obs, lag, enc, client, truth, inflight) in &mut players {
            let delta = interest.delta(*obs).unwrap();
            let seq = sim.state(*id).unwrap().last_seq;
            match enc.encode_if_changed(&mut writer, delta, seq) {
                None => skipped += 1,
                Some(buf) => {
                    bytes += buf.len();
                    snapshots += 1;
                    let Ok(ServerMessage::Snapshot(snap)) = decode_server(buf) else {
                        panic!("snapshot does not decode")
                    };
                    let resolved = client.apply(&snap).unwrap();
                    assert_eq!(&resolved, delta, "tick {tick}");
                    truth.apply(delta).unwrap();
                    assert_eq!(client.latest(), truth.latest().unwrap(), "tick {tick}");
                    assert_eq!(client.last_input_seq, seq);
                    inflight.push(delta.tick);
                }
            }
            // Acknowledge what was received `lag` ticks ago.
            while inflight
                .first()
                .is_some_and(|t| t + *lag <= u64::from(tick))
            {
                interest.ack(*obs, inflight.remove(0)).unwrap();
            }
        }
    }
    eprintln!(
        "{} clients, 300 ticks: {snapshots} snapshots, {skipped} idle ticks not sent, mean {:.1} B per snapshot",
        players.len(),
        bytes as f64 / snapshots as f64
    );
    assert!(snapshots > 1000 && skipped > 0);
}
