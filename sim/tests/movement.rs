//! Grid movement: rejections, races, chained moves, inputs.

mod common;

use common::{put, run, sim_on};
use glam::IVec2;
use sim::{Direction, Event, Input, RejectReason, SimError};

const ROOM: &str = "
#######
#S....#
#..#..#
#.....#
#######";

fn rejections(events: &[Event]) -> Vec<RejectReason> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::MoveRejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

#[test]
fn a_move_takes_ticks_per_tile_ticks() {
    let mut sim = sim_on(ROOM);
    let a = put(&mut sim, 1, 1, 1);
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    let events = run(&mut sim, 1);
    assert!(events.contains(&Event::MoveStarted {
        id: a,
        from: IVec2::new(1, 1),
        to: IVec2::new(2, 1)
    }));
    let ticks_per_tile = u32::from(sim.config().ticks_per_tile);
    run(&mut sim, ticks_per_tile - 1);
    assert_eq!(
        sim.position(a),
        Some(IVec2::new(1, 1)),
        "still leaving the first tile"
    );
    assert_eq!(sim.occupancy().reservation(IVec2::new(2, 1)), Some(a));
    run(&mut sim, 1);
    assert_eq!(sim.position(a), Some(IVec2::new(2, 1)));
    // The direction is still held: the next move started in the same tick.
    assert_eq!(sim.state(a).unwrap().motion.target, Some(IVec2::new(3, 1)));
}

#[test]
fn wall_is_rejected_and_entity_stays() {
    let mut sim = sim_on(ROOM);
    let a = put(&mut sim, 1, 2, 2);
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    let events = run(&mut sim, 5);
    assert_eq!(rejections(&events), vec![RejectReason::Blocked]);
    assert_eq!(sim.position(a), Some(IVec2::new(2, 2)));
    assert_eq!(
        sim.state(a).unwrap().motion.held,
        None,
        "a rejected move stops the avatar"
    );
}

#[test]
fn map_edge_is_rejected() {
    let mut sim = sim_on("S..\n...");
    let a = put(&mut sim, 1, 0, 1);
    sim.queue_input(a, 1, Input::Move(Direction::West)).unwrap();
    sim.queue_input(a, 2, Input::Move(Direction::South))
        .unwrap();
    let events = run(&mut sim, 2);
    assert_eq!(rejections(&events), vec![RejectReason::OffMap]);
    assert_eq!(sim.position(a), Some(IVec2::new(0, 1)));
}

#[test]
fn occupied_tile_is_rejected() {
    let mut sim = sim_on(ROOM);
    let a = put(&mut sim, 1, 1, 1);
    let _b = put(&mut sim, 2, 2, 1);
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    let events = run(&mut sim, 4);
    assert_eq!(rejections(&events), vec![RejectReason::Occupied]);
    assert_eq!(sim.position(a), Some(IVec2::new(1, 1)));
}

#[test]
fn reserved_tile_is_rejected() {
    let mut sim = sim_on(ROOM);
    let a = put(&mut sim, 1, 1, 1);
    let b = put(&mut sim, 2, 3, 1);
    // a starts moving into (2,1) first; one tick later b tries the same tile.
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    sim.queue_input(a, 2, Input::Stop).unwrap();
    run(&mut sim, 1);
    sim.queue_input(b, 1, Input::Move(Direction::West)).unwrap();
    let events = run(&mut sim, 1);
    assert_eq!(rejections(&events), vec![RejectReason::Reserved]);
    run(&mut sim, 4);
    assert_eq!(sim.position(a), Some(IVec2::new(2, 1)));
    assert_eq!(sim.position(b), Some(IVec2::new(3, 1)));
}

#[test]
fn race_for_one_tile_lower_id_wins() {
    for queue_b_first in [false, true] {
        let mut sim = sim_on(ROOM);
        let a = put(&mut sim, 1, 1, 1);
        let b = put(&mut sim, 2, 3, 1);
        assert!(a < b);
        let (first, second) = if queue_b_first {
            ((b, Direction::West), (a, Direction::East))
        } else {
            ((a, Direction::East), (b, Direction::West))
        };
        sim.queue_input(first.0, 1, Input::Move(first.1)).unwrap();
        sim.queue_input(second.0, 1, Input::Move(second.1)).unwrap();
        let events = run(&mut sim, 1);
        assert!(events.contains(&Event::MoveStarted {
            id: a,
            from: IVec2::new(1, 1),
            to: IVec2::new(2, 1)
        }));
        assert!(events.contains(&Event::MoveRejected {
            id: b,
            direction: Direction::West,
            reason: RejectReason::Reserved
        }));
        run(&mut sim, 8);
        assert_eq!(
            sim.position(b),
            Some(IVec2::new(3, 1)),
            "the loser never moved"
        );
    }
}

#[test]
fn tile_freed_by_an_arrival_is_available_in_the_same_tick() {
    let mut sim = sim_on("S....");
    let a = put(&mut sim, 1, 1, 0);
    let b = put(&mut sim, 2, 0, 0);
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    run(&mut sim, 4);
    // a arrives at (2,0) on tick 5, freeing (1,0) — b's move into it starts on that tick.
    sim.queue_input(b, 1, Input::Move(Direction::East)).unwrap();
    let events = run(&mut sim, 1);
    assert!(events.contains(&Event::Arrived {
        id: a,
        at: IVec2::new(2, 0)
    }));
    assert!(events.contains(&Event::MoveStarted {
        id: b,
        from: IVec2::new(0, 0),
        to: IVec2::new(1, 0)
    }));
}

#[test]
fn held_direction_chains_moves_without_pause() {
    let mut sim = sim_on("S.......");
    let a = put(&mut sim, 1, 0, 0);
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    let tpt = u32::from(sim.config().ticks_per_tile);
    let events = run(&mut sim, 3 * tpt + 1);
    let starts: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::MoveStarted { .. }))
        .collect();
    assert_eq!(starts.len(), 4, "a move starts on ticks 1, 1+k, 1+2k, 1+3k");
    assert_eq!(sim.position(a), Some(IVec2::new(3, 0)));
    sim.queue_input(a, 2, Input::Stop).unwrap();
    run(&mut sim, 2 * tpt);
    assert_eq!(
        sim.position(a),
        Some(IVec2::new(4, 0)),
        "stop ends after the current move"
    );
    assert_eq!(sim.state(a).unwrap().motion.target, None);
}

#[test]
fn duplicate_and_stale_inputs_are_ignored() {
    let mut sim = sim_on("S.......");
    let a = put(&mut sim, 1, 0, 0);
    sim.queue_input(a, 5, Input::Move(Direction::East)).unwrap();
    sim.queue_input(a, 6, Input::Stop).unwrap();
    run(&mut sim, 5);
    assert_eq!(sim.position(a), Some(IVec2::new(1, 0)));
    sim.queue_input(a, 5, Input::Move(Direction::East)).unwrap();
    sim.queue_input(a, 6, Input::Move(Direction::East)).unwrap();
    let events = run(&mut sim, 4);
    assert!(
        events.is_empty(),
        "replayed sequence numbers do nothing: {events:?}"
    );
    assert_eq!(sim.state(a).unwrap().last_seq, 6);
    assert_eq!(sim.tile_and_seq(a), Some((IVec2::new(1, 0), 6)));
    let gone = sim::EntityId(std::num::NonZeroU64::new(999).unwrap());
    assert_eq!(sim.tile_and_seq(gone), None);
}

#[test]
fn inputs_apply_in_sequence_order_whatever_the_queue_order() {
    let mut sim = sim_on("S.......");
    let a = put(&mut sim, 1, 0, 0);
    sim.queue_input(a, 2, Input::Stop).unwrap();
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    run(&mut sim, 12);
    assert_eq!(
        sim.position(a),
        Some(IVec2::new(1, 0)),
        "move then stop: exactly one tile"
    );
}

#[test]
fn unknown_entities_and_bad_placements_are_typed_errors() {
    let mut sim = sim_on(ROOM);
    let a = put(&mut sim, 1, 1, 1);
    let ghost_id = sim::EntityId::new(999).unwrap();
    assert_eq!(
        sim.queue_input(ghost_id, 1, Input::Stop),
        Err(SimError::UnknownEntity(ghost_id))
    );
    let before = sim.state_hash();
    assert!(matches!(
        sim.teleport(a, IVec2::new(3, 2)),
        Err(SimError::TileUnavailable {
            reason: RejectReason::Blocked,
            ..
        })
    ));
    assert!(matches!(
        sim.teleport(a, IVec2::new(-1, 2)),
        Err(SimError::TileUnavailable {
            reason: RejectReason::OffMap,
            ..
        })
    ));
    let b = put(&mut sim, 2, 2, 1);
    assert!(matches!(
        sim.teleport(b, IVec2::new(1, 1)),
        Err(SimError::TileUnavailable {
            reason: RejectReason::Occupied,
            ..
        })
    ));
    assert_ne!(before, sim.state_hash(), "spawning b changed the state");
    let after_b = sim.state_hash();
    assert!(sim.despawn(ghost_id).is_err());
    assert_eq!(after_b, sim.state_hash(), "refused calls change nothing");
}

#[test]
fn teleport_cancels_a_move_and_releases_the_reservation() {
    let mut sim = sim_on(ROOM);
    let a = put(&mut sim, 1, 1, 1);
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    run(&mut sim, 1);
    sim.teleport(a, IVec2::new(5, 3)).unwrap();
    sim.check_invariants().unwrap();
    assert!(sim.occupancy().is_free(IVec2::new(2, 1)));
    assert_eq!(sim.state(a).unwrap().motion.target, None);
}

#[test]
fn spawn_uses_spawn_points_then_nearest_free_tiles_and_reports_full() {
    let mut sim = sim_on("#####\n#S..#\n#####");
    let ids: Vec<_> = (0..3)
        .map(|n| sim.spawn(sim::PlayerInfo::guest(n, "x")).unwrap())
        .collect();
    assert_eq!(sim.position(ids[0]), Some(IVec2::new(1, 1)));
    assert_eq!(sim.position(ids[1]), Some(IVec2::new(2, 1)));
    assert_eq!(sim.position(ids[2]), Some(IVec2::new(3, 1)));
    sim.check_invariants().unwrap();
    assert_eq!(
        sim.spawn(sim::PlayerInfo::guest(9, "late")),
        Err(SimError::SpaceFull)
    );
    sim.despawn(ids[1]).unwrap();
    sim.check_invariants().unwrap();
    assert!(sim.occupancy().is_free(IVec2::new(2, 1)));
}

#[test]
fn ghosts_block_tiles_and_refuse_local_commands() {
    let mut sim = sim_on(ROOM);
    let a = put(&mut sim, 1, 1, 1);
    let g = sim::EntityId::new(500).unwrap();
    let region = sim.regions().region_of(IVec2::new(2, 1));
    sim.upsert_ghost(
        g,
        sim::PlayerInfo::guest(5, "ghost"),
        IVec2::new(2, 1),
        sim::Motion::default(),
        region,
    )
    .unwrap();
    assert_eq!(
        sim.queue_input(g, 1, Input::Stop),
        Err(SimError::GhostEntity(g))
    );
    sim.queue_input(a, 1, Input::Move(Direction::East)).unwrap();
    let events = run(&mut sim, 2);
    assert_eq!(rejections(&events), vec![RejectReason::Occupied]);
    sim.upsert_ghost(
        g,
        sim::PlayerInfo::guest(5, "ghost"),
        IVec2::new(4, 1),
        sim::Motion::default(),
        region,
    )
    .unwrap();
    sim.check_invariants().unwrap();
    assert!(sim.occupancy().is_free(IVec2::new(2, 1)));
    assert_eq!(sim.state(g).unwrap().ghost.map(|gh| gh.owner), Some(region));
}
