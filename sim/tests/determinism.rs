//! Determinism: occupancy invariant under random play, record/replay, divergence detection.

mod common;

use std::sync::Arc;

use glam::IVec2;
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use sim::{Direction, Input, LoggedCommand, PlayerInfo, SimConfig, Simulation, TileMap, replay};

const ARENA: &str = "
##################
#S...#......#...S#
#....#..##..#....#
#.......##.......#
#..S.........S...#
####...####...####
#.......##.......#
#S.....#..#.....S#
##################";

/// Plays `ticks` ticks of random inputs, spawns and despawns, calling `check` after each.
fn random_session(
    sim: &mut Simulation,
    seed: u64,
    ticks: u32,
    avatars: u64,
    mut check: impl FnMut(&Simulation),
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seqs = std::collections::BTreeMap::new();
    for n in 0..avatars {
        if let Ok(id) = sim.spawn(PlayerInfo::guest(n, "bot")) {
            seqs.insert(id, 0u32);
        }
    }
    for _ in 0..ticks {
        let ids: Vec<_> = seqs.keys().copied().collect();
        for id in ids {
            if rng.next_u32() % 4 == 0 {
                let seq = seqs.get_mut(&id).unwrap();
                *seq += 1;
                let input = match rng.next_u32() % 6 {
                    0..=3 => Input::Move(Direction::ALL[(rng.next_u32() % 4) as usize]),
                    _ => Input::Stop,
                };
                sim.queue_input(id, *seq, input).unwrap();
            }
        }
        if rng.next_u32() % 50 == 0
            && let Some((&id, _)) = seqs.iter().next()
        {
            sim.despawn(id).unwrap();
            seqs.remove(&id);
        }
        if rng.next_u32() % 40 == 0
            && let Ok(id) = sim.spawn(PlayerInfo::guest(rng.next_u64(), "late"))
        {
            seqs.insert(id, 0);
        }
        sim.step();
        check(sim);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Occupancy and the incremental hash stay consistent with positions every tick.
    #[test]
    fn occupancy_invariant_over_random_ticks(seed in any::<u64>(), ticks_per_tile in 1u16..6) {
        let map = Arc::new(TileMap::from_ascii(ARENA).unwrap());
        let config = SimConfig { ticks_per_tile, seed, ..SimConfig::default() };
        let mut sim = Simulation::new(map, config).unwrap();
        random_session(&mut sim, seed, 10_000, 60, |sim| {
            if let Err(e) = sim.check_invariants() {
                panic!("tick {}: {e}", sim.tick());
            }
        });
    }
}

fn recorded_campus_session(ticks: u32, avatars: u64) -> (Arc<TileMap>, Simulation) {
    let map = Arc::new(common::shipped_map("campus"));
    let config = SimConfig {
        seed: 42,
        ..SimConfig::default()
    };
    let mut sim = Simulation::recorded(map.clone(), config).unwrap();
    random_session(&mut sim, 7, ticks, avatars, |_| {});
    (map, sim)
}

#[test]
fn replay_of_a_recorded_session_matches_every_tick() {
    let (map, sim) = recorded_campus_session(5_000, 200);
    let log = sim.input_log().unwrap();
    assert_eq!(log.hashes.len(), 5_000);
    assert!(
        log.entries.len() > 200_000,
        "the session did things: {}",
        log.entries.len()
    );
    assert_eq!(replay(map.clone(), log).unwrap(), None);
    // The log survives serialization (what `plaza replay` reads).
    let json = serde_json::to_string(log).unwrap();
    let back: sim::InputLog = serde_json::from_str(&json).unwrap();
    assert_eq!(replay(map, &back).unwrap(), None);
}

#[test]
fn a_changed_input_is_caught_at_its_tick() {
    let (map, sim) = recorded_campus_session(600, 200);
    let mut log = sim.input_log().unwrap().clone();
    // Flip the direction of the first Move input logged for tick 300.
    let entry = log
        .entries
        .iter_mut()
        .find(|e| {
            e.tick == 300
                && matches!(
                    e.command,
                    LoggedCommand::Input {
                        input: Input::Move(_),
                        ..
                    }
                )
        })
        .expect("tick 300 has a move");
    if let LoggedCommand::Input {
        input: Input::Move(d),
        ..
    } = &mut entry.command
    {
        *d = match d {
            Direction::North => Direction::South,
            Direction::South => Direction::North,
            Direction::East => Direction::West,
            Direction::West => Direction::East,
        };
    }
    let divergence = replay(map, &log).unwrap().expect("the change is detected");
    assert_eq!(divergence.tick, 300);
    assert_eq!(divergence.expected, sim.input_log().unwrap().hashes[299]);
    assert_ne!(divergence.actual, divergence.expected);
}

#[test]
fn same_seed_same_spawns_different_seed_different_spawns() {
    let spawn_all = |seed| {
        let map = Arc::new(common::shipped_map("office"));
        let mut sim = Simulation::new(
            map,
            SimConfig {
                seed,
                ..SimConfig::default()
            },
        )
        .unwrap();
        (0..10)
            .map(|n| {
                let id = sim.spawn(PlayerInfo::guest(n, "p")).unwrap();
                sim.position(id).unwrap()
            })
            .collect::<Vec<IVec2>>()
    };
    assert_eq!(spawn_all(1), spawn_all(1));
    assert_ne!(spawn_all(1), spawn_all(2));
}
