//! The interest manager's API on small hand-made worlds: hysteresis, slots, acks, ghosts,
//! proximity.

use glam::IVec2;
use sim::interest::{
    AoiConfig, Interest, InterestError, MirrorHistory, ObserverId, ProximityConfig, ProximityEvent,
    ProximityKind, Slot,
};
use sim::{Motion, PlayerInfo, RegionId, SimConfig, Simulation, TileMap};

fn world() -> Simulation {
    Simulation::new(TileMap::open_floor(40, 10).into(), SimConfig::default()).unwrap()
}

fn aoi(radius: u32, hysteresis: u32, cap: u16) -> AoiConfig {
    AoiConfig {
        radius,
        hysteresis,
        cap,
        include_self: false,
    }
}

#[test]
fn enter_at_radius_leave_beyond_radius_plus_hysteresis() {
    let mut sim = world();
    let me = sim
        .spawn_at(PlayerInfo::guest(1, "me"), IVec2::new(0, 0))
        .unwrap();
    let other = sim
        .spawn_at(PlayerInfo::guest(2, "o"), IVec2::new(9, 0))
        .unwrap();
    let mut interest = Interest::new(ProximityConfig::default());
    let obs = interest.add_observer(me, aoi(5, 2, 8));
    let mut seen = Vec::new();
    for x in [6, 5, 6, 7, 8, 7, 6, 5] {
        sim.teleport(other, IVec2::new(x, 0)).unwrap();
        sim.step();
        interest.update(&sim);
        seen.push(interest.visible(obs).unwrap().count());
    }
    // 6: not yet (> 5); 5: enters; 6, 7: stays (≤ 7); 8: leaves; 7, 6: stays out; 5: enters.
    assert_eq!(seen, [0, 1, 1, 1, 0, 0, 0, 1]);
}

#[test]
fn cap_keeps_the_nearest_and_ties_go_to_the_lower_id() {
    let mut sim = world();
    let me = sim
        .spawn_at(PlayerInfo::guest(1, "me"), IVec2::new(5, 5))
        .unwrap();
    let far = sim
        .spawn_at(PlayerInfo::guest(2, "far"), IVec2::new(8, 5))
        .unwrap();
    let tie_hi = sim
        .spawn_at(PlayerInfo::guest(3, "b"), IVec2::new(5, 7))
        .unwrap();
    let tie_lo = sim
        .spawn_at(PlayerInfo::guest(4, "a"), IVec2::new(3, 5))
        .unwrap();
    assert!(tie_hi < tie_lo);
    let mut interest = Interest::new(ProximityConfig::default());
    let obs = interest.add_observer(me, aoi(5, 0, 2));
    sim.step();
    interest.update(&sim);
    let visible: Vec<_> = interest.visible(obs).unwrap().map(|(_, id)| id).collect();
    assert_eq!(visible, [tie_hi, tie_lo]);
    assert!(!visible.contains(&far));
}

#[test]
fn a_freed_slot_is_reused_with_a_leave_and_an_enter_in_one_delta() {
    let mut sim = world();
    let me = sim
        .spawn_at(PlayerInfo::guest(1, "me"), IVec2::new(0, 0))
        .unwrap();
    let a = sim
        .spawn_at(PlayerInfo::guest(2, "a"), IVec2::new(1, 0))
        .unwrap();
    let b = sim
        .spawn_at(PlayerInfo::guest(3, "b"), IVec2::new(30, 0))
        .unwrap();
    let mut interest = Interest::new(ProximityConfig::default());
    let obs = interest.add_observer(me, aoi(3, 0, 8));
    let mut client = MirrorHistory::new();
    sim.step();
    interest.update(&sim);
    let d = interest.delta(obs).unwrap().clone();
    assert_eq!(
        (d.enters.len(), d.enters[0].slot, d.enters[0].state.id),
        (1, Slot(0), a)
    );
    client.apply(&d).unwrap();
    interest.ack(obs, d.tick).unwrap();
    // a leaves and b arrives in the same tick: b takes slot 0 at once.
    sim.teleport(a, IVec2::new(30, 5)).unwrap();
    sim.teleport(b, IVec2::new(2, 0)).unwrap();
    sim.step();
    interest.update(&sim);
    let d = interest.delta(obs).unwrap().clone();
    assert_eq!(d.leaves.len(), 1);
    assert_eq!((d.enters[0].slot, d.enters[0].state.id), (Slot(0), b));
    assert_eq!(d.baseline, 1);
    let mirror = client.apply(&d).unwrap();
    assert_eq!(mirror.slots[&Slot(0)].id, b);
}

#[test]
fn unacknowledged_changes_are_resent_and_acks_are_checked() {
    let mut sim = world();
    let me = sim
        .spawn_at(PlayerInfo::guest(1, "me"), IVec2::new(0, 0))
        .unwrap();
    let a = sim
        .spawn_at(PlayerInfo::guest(2, "a"), IVec2::new(1, 0))
        .unwrap();
    let mut interest = Interest::new(ProximityConfig::default());
    let obs = interest.add_observer(me, aoi(3, 0, 8));
    sim.step();
    interest.update(&sim);
    assert_eq!(interest.delta(obs).unwrap().enters.len(), 1);
    // Not acknowledged: the next delta still carries the enter, with the new position.
    sim.teleport(a, IVec2::new(2, 0)).unwrap();
    sim.step();
    interest.update(&sim);
    let d = interest.delta(obs).unwrap();
    assert_eq!((d.baseline, d.enters.len()), (0, 1));
    assert_eq!(d.enters[0].state.position, IVec2::new(2, 0));
    assert_eq!(
        interest.ack(obs, 9),
        Err(InterestError::AckFromFuture {
            tick: 9,
            last: Some(2)
        })
    );
    interest.ack(obs, 2).unwrap();
    interest.ack(obs, 1).unwrap(); // late: ignored
    sim.step();
    interest.update(&sim);
    let d = interest.delta(obs).unwrap();
    assert!(d.is_empty());
    assert_eq!(d.baseline, 2);
    interest.remove_observer(obs).unwrap();
    assert_eq!(interest.delta(obs), Err(InterestError::UnknownObserver));
}

/// The ghost tests' world: `me` at (0, 0) with an observer (radius 3, no hysteresis), and
/// the id of a ghost owned by the region to the east.
struct GhostScene {
    sim: Simulation,
    me: sim::EntityId,
    ghost: sim::EntityId,
    owner: RegionId,
    interest: Interest,
    obs: ObserverId,
}

fn ghost_scene() -> GhostScene {
    let mut sim = world();
    let me = sim
        .spawn_at(PlayerInfo::guest(1, "me"), IVec2::new(0, 0))
        .unwrap();
    let mut interest = Interest::new(ProximityConfig::default());
    let obs = interest.add_observer(me, aoi(3, 0, 8));
    GhostScene {
        sim,
        me,
        ghost: sim::EntityId::new(500).unwrap(),
        owner: RegionId { col: 1, row: 0 },
        interest,
        obs,
    }
}

impl GhostScene {
    /// Puts the ghost (its owner's latest update) at (2, 0) with `info`, then steps the
    /// world and the interest manager.
    fn upsert_ghost_and_tick(&mut self, info: PlayerInfo) {
        let at = IVec2::new(2, 0);
        let owner = self.owner;
        self.sim
            .upsert_ghost(self.ghost, info, at, Motion::default(), owner)
            .unwrap();
        self.sim.step();
        self.interest.update(&self.sim);
    }
}

/// The ghost's player info, under `name`.
fn ghost_info(name: &str) -> PlayerInfo {
    PlayerInfo {
        account: 9,
        name: name.into(),
        avatar: 3,
    }
}

#[test]
fn ghosts_are_visible_and_player_info_changes_re_enter() {
    let mut s = ghost_scene();
    s.upsert_ghost_and_tick(ghost_info("g"));
    let d = s.interest.delta(s.obs).unwrap().clone();
    assert_eq!(d.enters[0].state.id, s.ghost);
    assert_eq!(
        (d.enters[0].state.name.as_str(), d.enters[0].state.avatar),
        ("g", 3)
    );
    s.interest.ack(s.obs, d.tick).unwrap();
    s.upsert_ghost_and_tick(ghost_info("renamed"));
    let d = s.interest.delta(s.obs).unwrap();
    assert_eq!(d.leaves.len(), 1);
    assert_eq!(d.enters[0].state.name, "renamed");
    assert_eq!(d.leaves[0].slot, d.enters[0].slot);
}

/// A ghost adopted as a local entity (an avatar handed off to this node) is despawned and
/// spawned again under the same id, and hecs gives the new entity the ghost's freed slot:
/// observers must keep seeing one entity, in the same slot, with nothing to send, and a
/// near pair must stay near (no far and near again, which would end a call).
#[test]
fn an_adopted_ghost_stays_the_same_entity_for_observers() {
    let mut s = ghost_scene();
    // The handed-off client's observer, attached to its avatar before and after.
    s.interest.add_observer(s.ghost, AoiConfig::default());
    s.upsert_ghost_and_tick(ghost_info("g"));
    let GhostScene {
        mut sim,
        me,
        ghost,
        mut interest,
        obs,
        ..
    } = s;
    assert!(interest.are_near(me, ghost));
    let before: Vec<_> = interest.visible(obs).unwrap().collect();
    assert_eq!(before.len(), 1);
    interest
        .ack(obs, interest.delta(obs).unwrap().tick)
        .unwrap();
    sim.adopt(ghost, ghost_info("g"), IVec2::new(2, 0), 0)
        .unwrap();
    sim.step();
    interest.update(&sim);
    assert_eq!(interest.visible(obs).unwrap().collect::<Vec<_>>(), before);
    assert!(interest.delta(obs).unwrap().is_empty());
    assert_eq!(interest.proximity_events(), &[]);
    assert!(interest.are_near(me, ghost));
}

#[test]
fn proximity_is_symmetric_capped_and_has_hysteresis() {
    let mut sim = world();
    let a = sim
        .spawn_at(PlayerInfo::guest(1, "a"), IVec2::new(10, 5))
        .unwrap();
    let b = sim
        .spawn_at(PlayerInfo::guest(2, "b"), IVec2::new(12, 5))
        .unwrap();
    let c = sim
        .spawn_at(PlayerInfo::guest(3, "c"), IVec2::new(10, 7))
        .unwrap();
    let cfg = ProximityConfig {
        radius: 3,
        hysteresis: 1,
        cap: 1,
    };
    let mut interest = Interest::new(cfg);
    for who in [a, b, c] {
        interest.add_observer(who, AoiConfig::default());
    }
    sim.step();
    interest.update(&sim);
    // a–b and a–c both at distance 2: the tie goes to (a, b); c must wait (cap 1).
    let near = |a, b| ProximityEvent {
        kind: ProximityKind::Near,
        a,
        b,
    };
    assert_eq!(interest.proximity_events(), [near(a, b)]);
    assert!(interest.are_near(a, b) && interest.are_near(b, a));
    assert!(!interest.are_near(a, c) && !interest.are_near(b, c));
    // b steps to distance 4 (≤ 3 + 1): still near.
    sim.teleport(b, IVec2::new(14, 5)).unwrap();
    sim.step();
    interest.update(&sim);
    assert!(interest.proximity_events().is_empty());
    // b steps to distance 5: far; a is free again and pairs with c in the same tick.
    sim.teleport(b, IVec2::new(15, 5)).unwrap();
    sim.step();
    interest.update(&sim);
    let far = ProximityEvent {
        kind: ProximityKind::Far,
        a,
        b,
    };
    assert_eq!(interest.proximity_events(), [far, near(a, c)]);
    assert_eq!(interest.near_peers(a), [c]);
    assert_eq!(interest.near_peers(c), [a]);
}
