//! Region ownership: moves into foreign regions, spawns, ghosts becoming local and back.

mod common;

use std::sync::Arc;

use common::{put, run};
use glam::IVec2;
use sim::{
    Direction, Event, Input, Motion, PlayerInfo, RegionId, RejectReason, SimConfig, SimError,
    Simulation, TileMap,
};

/// A 8×4 open room cut into two 4-tile-wide regions: (0,0) on the left, (1,0) on the right.
fn two_regions() -> Simulation {
    let map = TileMap::from_ascii(
        "
S......S
........
........
........",
    )
    .expect("test map parses");
    let config = SimConfig {
        region_size: 4,
        ..SimConfig::default()
    };
    Simulation::new(Arc::new(map), config).expect("valid config")
}

const LEFT: RegionId = RegionId { col: 0, row: 0 };
const RIGHT: RegionId = RegionId { col: 1, row: 0 };

#[test]
fn a_move_into_a_foreign_region_is_refused_as_foreign() {
    let mut sim = two_regions();
    let a = put(&mut sim, 1, 3, 1);
    sim.set_region_local(RIGHT, false);
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    let events = run(&mut sim, 1);
    assert!(events.contains(&Event::MoveRejected {
        id: a,
        direction: Direction::East,
        reason: RejectReason::Foreign,
    }));
    assert_eq!(sim.position(a), Some(IVec2::new(3, 1)));
    // Within the local region it still walks.
    sim.queue_input(a, 2, Input::Move(Direction::West)).unwrap();
    run(&mut sim, 5);
    assert_eq!(sim.position(a), Some(IVec2::new(2, 1)));
}

#[test]
fn spawns_and_placements_stay_in_local_regions() {
    let mut sim = two_regions();
    sim.set_region_local(LEFT, false);
    for n in 0..6 {
        let id = sim.spawn(PlayerInfo::guest(n, "p")).unwrap();
        assert!(
            sim.position(id).unwrap().x >= 4,
            "spawned in the local half"
        );
    }
    let err = sim
        .spawn_at(PlayerInfo::guest(9, "p"), IVec2::new(1, 1))
        .unwrap_err();
    assert!(matches!(
        err,
        SimError::TileUnavailable {
            reason: RejectReason::Foreign,
            ..
        }
    ));
    sim.set_region_local(RIGHT, false);
    assert_eq!(
        sim.spawn(PlayerInfo::guest(10, "p")),
        Err(SimError::SpaceFull)
    );
    sim.check_invariants().unwrap();
}

#[test]
fn adopting_replaces_a_ghost_of_the_same_id_and_demoting_turns_it_back() {
    let mut sim = two_regions();
    sim.set_region_local(RIGHT, false);
    let ghost_id = sim::EntityId::new(77).unwrap();
    let player = PlayerInfo::guest(7, "seven");
    sim.upsert_ghost(
        ghost_id,
        player.clone(),
        IVec2::new(4, 1),
        Motion::default(),
        RIGHT,
    )
    .unwrap();
    // A local move into the ghost's tile is refused (the region is foreign anyway), and a
    // local avatar cannot be adopted onto the ghost's tile under another id.
    let other = sim::EntityId::new(78).unwrap();
    assert!(
        sim.adopt(other, PlayerInfo::guest(8, "x"), IVec2::new(4, 1), 0)
            .is_err()
    );
    // The region becomes local and the avatar crosses into it: adopted over its ghost.
    sim.set_region_local(RIGHT, true);
    sim.adopt(ghost_id, player.clone(), IVec2::new(4, 1), 12)
        .unwrap();
    let s = sim.state(ghost_id).unwrap();
    assert!(s.ghost.is_none());
    assert_eq!((s.position, s.last_seq), (IVec2::new(4, 1), 12));
    sim.check_invariants().unwrap();
    // Inputs apply to it now.
    sim.queue_input(ghost_id, 13, Input::Move(Direction::East))
        .unwrap();
    run(&mut sim, 5);
    assert_eq!(sim.position(ghost_id), Some(IVec2::new(5, 1)));
    // It hands off again: demoted in place, moving stops, inputs are refused.
    sim.set_region_local(RIGHT, false);
    let before = sim.state(ghost_id).unwrap();
    sim.demote_to_ghost(ghost_id, RIGHT).unwrap();
    let after = sim.state(ghost_id).unwrap();
    assert_eq!(after.ghost.map(|g| g.owner), Some(RIGHT));
    assert_eq!(after.position, before.position);
    assert_eq!(after.motion.target, None);
    assert_eq!(
        sim.queue_input(ghost_id, 14, Input::Stop),
        Err(SimError::GhostEntity(ghost_id))
    );
    assert_eq!(
        sim.demote_to_ghost(ghost_id, RIGHT),
        Err(SimError::GhostEntity(ghost_id))
    );
    run(&mut sim, 2);
}

#[test]
fn region_changes_replay_identically() {
    let map = Arc::new(TileMap::from_ascii("S......S\n........").unwrap());
    let config = SimConfig {
        region_size: 4,
        ..SimConfig::default()
    };
    let mut sim = Simulation::recorded(map.clone(), config).unwrap();
    let a = sim
        .spawn_at(PlayerInfo::guest(1, "a"), IVec2::new(2, 0))
        .unwrap();
    sim.set_region_local(RIGHT, false);
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    for _ in 0..12 {
        sim.step();
    }
    sim.demote_to_ghost(a, RIGHT).unwrap();
    sim.set_region_local(RIGHT, true);
    sim.adopt(a, PlayerInfo::guest(1, "a"), IVec2::new(4, 0), 1)
        .unwrap();
    sim.step();
    let log = sim.input_log().unwrap().clone();
    assert_eq!(sim::replay(map, &log), Ok(None), "replay diverged");
}
