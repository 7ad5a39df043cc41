//! The interest manager against a brute-force O(N²) reference over random worlds, random
//! walks, spawns, despawns, teleports, ghosts, observer churn, dropped deltas and dropped or
//! late acks. Every tick checks: visible sets, whole deltas (enter/update/leave streams),
//! client mirrors (rebuilt from the delivered deltas only) against the true visible state,
//! and proximity events, symmetry and caps.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use glam::IVec2;
use proptest::prelude::*;
use sim::interest::{
    AoiConfig, Delta, Enter, Interest, Leave, MirrorHistory, ObserverId, ProximityConfig,
    ProximityEvent, ProximityKind, Slot, Update, VisibleState,
};
use sim::{
    Direction, EntityId, Input, Motion, PlayerInfo, RegionId, SimConfig, Simulation, Tick, TileMap,
};

/// splitmix64: a small deterministic generator for the world driver.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn dir(&mut self) -> Direction {
        Direction::ALL[self.below(4)]
    }
}

/// One generated scenario.
#[derive(Clone, Debug)]
struct Params {
    seed: u64,
    width: u32,
    height: u32,
    walls: f64,
    entities: usize,
    observers: usize,
    ticks: u64,
    aois: Vec<AoiConfig>,
    prox: ProximityConfig,
    /// Per entity and tick: chance of a move input, of a stop input.
    p_move: f64,
    p_stop: f64,
    /// Per tick: chance of a spawn/despawn/teleport, of an observer change, of a ghost upsert.
    p_churn: f64,
    p_observer: f64,
    p_ghost: f64,
    /// Chance a delta reaches its client, an ack reaches the server; ack delay in ticks.
    p_deliver: f64,
    p_ack: f64,
    max_ack_delay: u64,
    /// Threads of the observer pass (`Interest::set_threads`; results must not depend on it).
    threads: usize,
}

/// Squared distance.
fn d2(a: IVec2, b: IVec2) -> i64 {
    let d = (a - b).as_i64vec2();
    d.x * d.x + d.y * d.y
}

/// The brute-force model of one observer.
struct RefObserver {
    avatar: EntityId,
    cfg: AoiConfig,
    view: BTreeMap<Slot, EntityId>,
    history: BTreeMap<Tick, BTreeMap<Slot, VisibleState>>,
    baseline: Tick,
    first: Option<Tick>,
    last: Option<Tick>,
    client: MirrorHistory,
    acks: VecDeque<(Tick, Tick)>,
}

impl RefObserver {
    fn new(avatar: EntityId, cfg: AoiConfig) -> RefObserver {
        RefObserver {
            avatar,
            cfg,
            view: BTreeMap::new(),
            history: BTreeMap::new(),
            baseline: 0,
            first: None,
            last: None,
            client: MirrorHistory::new(),
            acks: VecDeque::new(),
        }
    }

    /// The visible set at `tick`, straight from the rules.
    fn step(&mut self, states: &BTreeMap<EntityId, VisibleState>, tick: Tick) {
        let mut chosen: Vec<(i64, EntityId)> = Vec::new();
        if let Some(me) = states.get(&self.avatar) {
            let r = i64::from(self.cfg.radius);
            let big = i64::from(self.cfg.radius + self.cfg.hysteresis);
            let prev: BTreeSet<EntityId> = self.view.values().copied().collect();
            for (id, st) in states {
                if !self.cfg.include_self && *id == self.avatar {
                    continue;
                }
                let d = d2(st.position, me.position);
                if d <= r * r || (prev.contains(id) && d <= big * big) {
                    chosen.push((d, *id));
                }
            }
        }
        chosen.sort();
        chosen.truncate(usize::from(self.cfg.cap));
        let now: BTreeSet<EntityId> = chosen.iter().map(|c| c.1).collect();
        self.view.retain(|_, id| now.contains(id));
        let kept: BTreeSet<EntityId> = self.view.values().copied().collect();
        for (_, id) in chosen {
            if !kept.contains(&id) {
                let slot = (0u16..)
                    .find(|s| !self.view.contains_key(&Slot(*s)))
                    .unwrap();
                self.view.insert(Slot(slot), id);
            }
        }
        let full = self
            .view
            .iter()
            .map(|(s, id)| (*s, states[id].clone()))
            .collect();
        self.history.insert(tick, full);
        self.first.get_or_insert(tick);
        self.last = Some(tick);
    }

    /// The delta from the acknowledged view to the view at `tick`.
    fn delta(&self, tick: Tick) -> Delta {
        let empty = BTreeMap::new();
        let base = if self.baseline == 0 {
            &empty
        } else {
            &self.history[&self.baseline]
        };
        let cur = &self.history[&tick];
        let slots: BTreeSet<Slot> = base.keys().chain(cur.keys()).copied().collect();
        let mut d = Delta {
            tick,
            baseline: self.baseline,
            ..Delta::default()
        };
        for slot in slots {
            let enter = |c: &VisibleState| Enter {
                slot,
                state: c.clone(),
            };
            match (base.get(&slot), cur.get(&slot)) {
                (None, None) => unreachable!(),
                (Some(_), None) => d.leaves.push(Leave { slot }),
                (None, Some(c)) => d.enters.push(enter(c)),
                (Some(a), Some(c)) if a.id != c.id || a.name != c.name || a.avatar != c.avatar => {
                    d.leaves.push(Leave { slot });
                    d.enters.push(enter(c));
                }
                (Some(a), Some(c)) => {
                    let u = Update {
                        slot,
                        position: (a.position != c.position).then_some(c.position),
                        target: (a.target != c.target).then_some(c.target),
                        facing: (a.facing != c.facing).then_some(c.facing),
                    };
                    if u != (Update {
                        slot,
                        ..Update::default()
                    }) {
                        d.updates.push(u);
                    }
                }
            }
        }
        d
    }

    fn ack(&mut self, tick: Tick) {
        if tick <= self.baseline {
            return;
        }
        assert!(self.last.is_some_and(|l| tick <= l) && self.first.is_some_and(|f| tick >= f));
        self.baseline = tick;
        self.history = self.history.split_off(&tick);
    }
}

/// The brute-force model of proximity.
struct RefProximity {
    cfg: ProximityConfig,
    pairs: BTreeSet<(EntityId, EntityId)>,
}

impl RefProximity {
    fn step(
        &mut self,
        participants: &BTreeSet<EntityId>,
        states: &BTreeMap<EntityId, VisibleState>,
    ) -> Vec<ProximityEvent> {
        let pos = |id: &EntityId| states[id].position;
        let leave = i64::from(self.cfg.radius + self.cfg.hysteresis);
        let mut events = Vec::new();
        for (a, b) in self.pairs.clone() {
            if !participants.contains(&a)
                || !participants.contains(&b)
                || d2(pos(&a), pos(&b)) > leave * leave
            {
                self.pairs.remove(&(a, b));
                events.push(ProximityEvent {
                    kind: ProximityKind::Far,
                    a,
                    b,
                });
            }
        }
        let mut count: BTreeMap<EntityId, usize> = BTreeMap::new();
        for (a, b) in &self.pairs {
            *count.entry(*a).or_default() += 1;
            *count.entry(*b).or_default() += 1;
        }
        let r = i64::from(self.cfg.radius);
        let mut cands = Vec::new();
        for a in participants {
            for b in participants.range(a..).skip(1) {
                let d = d2(pos(a), pos(b));
                if d <= r * r && !self.pairs.contains(&(*a, *b)) {
                    cands.push((d, *a, *b));
                }
            }
        }
        cands.sort();
        let mut near = Vec::new();
        let cap = usize::from(self.cfg.cap);
        for (_, a, b) in cands {
            if count.get(&a).copied().unwrap_or(0) < cap
                && count.get(&b).copied().unwrap_or(0) < cap
            {
                *count.entry(a).or_default() += 1;
                *count.entry(b).or_default() += 1;
                self.pairs.insert((a, b));
                near.push(ProximityEvent {
                    kind: ProximityKind::Near,
                    a,
                    b,
                });
            }
        }
        near.sort_by_key(|e| (e.a, e.b));
        events.extend(near);
        events
    }
}

fn visible_states(sim: &Simulation) -> BTreeMap<EntityId, VisibleState> {
    sim.entities()
        .map(|s| {
            (
                s.id,
                VisibleState {
                    id: s.id,
                    position: s.position,
                    target: s.motion.target,
                    facing: s.motion.facing,
                    avatar: s.player.avatar,
                    name: s.player.name,
                },
            )
        })
        .collect()
}

fn make_map(p: &Params, rng: &mut Rng) -> TileMap {
    let mut rows = String::new();
    for y in 0..p.height {
        for x in 0..p.width {
            let spawn = x == p.width / 2 && y == p.height / 2;
            rows.push(if spawn {
                'S'
            } else if rng.chance(p.walls) {
                '#'
            } else {
                '.'
            });
        }
        rows.push('\n');
    }
    TileMap::from_ascii(&rows).expect("generated map is valid")
}

fn random_tile(p: &Params, rng: &mut Rng) -> IVec2 {
    IVec2::new(
        rng.below(p.width as usize) as i32,
        rng.below(p.height as usize) as i32,
    )
}

fn random_aoi(p: &Params, rng: &mut Rng) -> AoiConfig {
    p.aois[rng.below(p.aois.len())]
}

/// What a scenario exercised.
#[derive(Debug, Default)]
struct Stats {
    deltas: u64,
    delivered: u64,
    enters: u64,
    updates: u64,
    leaves: u64,
    reused_slots: u64,
    near: u64,
    far: u64,
    ghosts_seen: u64,
}

/// Runs one scenario, panicking (with context) at the first divergence.
fn run(p: &Params) -> Stats {
    let mut rng = Rng(p.seed);
    let map = make_map(p, &mut rng);
    let mut sim = Simulation::new(map.into(), SimConfig::default()).unwrap();
    let mut interest = Interest::new(p.prox);
    interest.set_threads(p.threads);
    let mut refprox = RefProximity {
        cfg: p.prox,
        pairs: BTreeSet::new(),
    };
    for k in 0..p.entities {
        for _ in 0..20 {
            let info = PlayerInfo::guest(k as u64, &format!("p{k}"));
            if sim.spawn_at(info, random_tile(p, &mut rng)).is_ok() {
                break;
            }
        }
    }
    let mut observers: BTreeMap<ObserverId, RefObserver> = BTreeMap::new();
    let ids: Vec<EntityId> = sim.entities().map(|s| s.id).collect();
    for k in 0..p.observers.min(ids.len()) {
        let cfg = random_aoi(p, &mut rng);
        let avatar = ids[k * ids.len() / p.observers.min(ids.len())];
        observers.insert(
            interest.add_observer(avatar, cfg),
            RefObserver::new(avatar, cfg),
        );
    }
    let mut seqs: BTreeMap<EntityId, u32> = BTreeMap::new();
    let mut next_ghost = 1_000_000u64;
    let mut st = Stats::default();
    for _ in 0..p.ticks {
        let tick = sim.tick() + 1;
        // Acks that arrive now.
        for (oid, o) in &mut observers {
            while o.acks.front().is_some_and(|a| a.0 <= tick) {
                let (_, acked) = o.acks.pop_front().unwrap();
                interest.ack(*oid, acked).unwrap();
                o.ack(acked);
            }
        }
        // Inputs.
        let states = visible_states(&sim);
        let locals: Vec<EntityId> = sim
            .entities()
            .filter(|s| s.ghost.is_none())
            .map(|s| s.id)
            .collect();
        for id in &locals {
            let input = if rng.chance(p.p_move) {
                Input::Move(rng.dir())
            } else if rng.chance(p.p_stop) {
                Input::Stop
            } else {
                continue;
            };
            let seq = seqs.entry(*id).or_default();
            *seq += 1;
            sim.queue_input(*id, *seq, input).unwrap();
        }
        // World churn.
        if rng.chance(p.p_churn) {
            match rng.below(3) {
                0 => {
                    let info = PlayerInfo::guest(rng.next(), "late");
                    let _ = sim.spawn_at(info, random_tile(p, &mut rng));
                }
                1 if !states.is_empty() => {
                    let victim = *states.keys().nth(rng.below(states.len())).unwrap();
                    sim.despawn(victim).unwrap();
                }
                _ if !locals.is_empty() => {
                    let who = locals[rng.below(locals.len())];
                    let _ = sim.teleport(who, random_tile(p, &mut rng));
                }
                _ => {}
            }
        }
        if rng.chance(p.p_ghost) {
            let ghosts: Vec<EntityId> = sim
                .entities()
                .filter(|s| s.ghost.is_some())
                .map(|s| s.id)
                .collect();
            let (id, at) = if ghosts.is_empty() || rng.chance(0.3) {
                next_ghost += 1;
                (EntityId::new(next_ghost).unwrap(), random_tile(p, &mut rng))
            } else {
                let g = ghosts[rng.below(ghosts.len())];
                let here = sim.position(g).unwrap();
                let at = if rng.chance(0.5) {
                    here + rng.dir().offset()
                } else {
                    here
                };
                (g, at)
            };
            let target = rng.chance(0.3).then(|| at + rng.dir().offset());
            let motion = Motion {
                facing: rng.chance(0.8).then(|| rng.dir()),
                target,
                progress: 0,
                held: None,
            };
            let name = ["ghost", "spook"][rng.below(2)];
            let info = PlayerInfo {
                account: id.get(),
                name: name.into(),
                avatar: rng.below(2) as u16,
            };
            let _ = sim.upsert_ghost(id, info, at, motion, RegionId { col: 1, row: 0 });
        }
        // Observer churn.
        if rng.chance(p.p_observer) {
            let all: Vec<EntityId> = sim.entities().map(|s| s.id).collect();
            let oids: Vec<ObserverId> = observers.keys().copied().collect();
            match rng.below(4) {
                0 | 1 if !all.is_empty() => {
                    let cfg = random_aoi(p, &mut rng);
                    let avatar = if rng.chance(0.05) {
                        EntityId::new(sim.entity_count() as u64 + 5).unwrap() // maybe later
                    } else {
                        all[rng.below(all.len())]
                    };
                    observers.insert(
                        interest.add_observer(avatar, cfg),
                        RefObserver::new(avatar, cfg),
                    );
                }
                2 if !oids.is_empty() => {
                    let oid = oids[rng.below(oids.len())];
                    interest.remove_observer(oid).unwrap();
                    observers.remove(&oid);
                }
                _ if !oids.is_empty() => {
                    let oid = oids[rng.below(oids.len())];
                    let cfg = random_aoi(p, &mut rng);
                    interest.set_aoi(oid, cfg).unwrap();
                    observers.get_mut(&oid).unwrap().cfg = cfg;
                }
                _ => {}
            }
        }

        sim.step();
        interest.update(&sim);
        let tick = sim.tick();
        let states = visible_states(&sim);

        for (oid, o) in &mut observers {
            o.step(&states, tick);
            let expected = o.delta(tick);
            let got = interest.delta(*oid).unwrap();
            let view: Vec<(Slot, EntityId)> = interest.visible(*oid).unwrap().collect();
            let ref_view: Vec<(Slot, EntityId)> = o.view.iter().map(|(s, i)| (*s, *i)).collect();
            assert_eq!(
                view, ref_view,
                "visible set of {oid:?} at tick {tick} ({p:?})"
            );
            assert_eq!(*got, expected, "delta of {oid:?} at tick {tick} ({p:?})");
            assert_eq!(
                interest.visible_count(*oid).unwrap(),
                ref_view.len(),
                "visible count of {oid:?} at tick {tick} ({p:?})"
            );
            st.deltas += 1;
            st.enters += got.enters.len() as u64;
            st.updates += got.updates.len() as u64;
            st.leaves += got.leaves.len() as u64;
            st.reused_slots += got
                .enters
                .iter()
                .filter(|e| got.leaves.iter().any(|l| l.slot == e.slot))
                .count() as u64;
            st.ghosts_seen += o.view.values().filter(|id| id.get() > 1_000_000).count() as u64;
            if rng.chance(p.p_deliver) {
                st.delivered += 1;
                let mirror = o
                    .client
                    .apply(got)
                    .unwrap_or_else(|e| panic!("{e} at tick {tick}"));
                assert_eq!(
                    mirror.slots, o.history[&tick],
                    "mirror of {oid:?} at tick {tick}"
                );
                let truth: BTreeMap<EntityId, &VisibleState> =
                    o.view.values().map(|id| (*id, &states[id])).collect();
                assert_eq!(
                    mirror.by_id(),
                    truth,
                    "mirror of {oid:?} vs the world at tick {tick}"
                );
                if rng.chance(p.p_ack) {
                    let delay = rng.below(p.max_ack_delay as usize + 1) as u64;
                    o.acks.push_back((tick + 1 + delay, tick));
                }
            }
        }

        // Proximity.
        let participants: BTreeSet<EntityId> = observers
            .values()
            .map(|o| o.avatar)
            .filter(|a| states.contains_key(a))
            .collect();
        let expected = refprox.step(&participants, &states);
        assert_eq!(
            interest.proximity_events(),
            &expected[..],
            "proximity at tick {tick} ({p:?})"
        );
        for e in &expected {
            match e.kind {
                ProximityKind::Near => st.near += 1,
                ProximityKind::Far => st.far += 1,
            }
        }
        for a in &participants {
            let peers = interest.near_peers(*a);
            assert!(
                peers.len() <= usize::from(p.prox.cap),
                "{a} has {} peers",
                peers.len()
            );
            for b in &participants {
                let near = interest.are_near(*a, *b);
                assert_eq!(near, interest.are_near(*b, *a), "asymmetric {a} {b}");
                assert_eq!(near, refprox.pairs.contains(&((*a).min(*b), (*a).max(*b))));
            }
            for b in peers {
                assert!(participants.contains(&b));
            }
        }
    }
    st
}

fn aoi(radius: u32, hysteresis: u32, cap: u16, include_self: bool) -> AoiConfig {
    AoiConfig {
        radius,
        hysteresis,
        cap,
        include_self,
    }
}

prop_compose! {
    fn small_params()(
        seed in any::<u64>(),
        width in 4u32..40,
        height in 4u32..40,
        walls in 0.0f64..0.3,
        entities in 1usize..80,
        observers in 1usize..12,
        ticks in 20u64..150,
        aois in prop::collection::vec(
            (0u32..10, 0u32..4, 0u16..20, any::<bool>()).prop_map(|(r, h, c, s)| aoi(r, h, c, s)),
            1..4,
        ),
        prox in (0u32..5, 0u32..3, 0u16..5).prop_map(|(radius, hysteresis, cap)| ProximityConfig { radius, hysteresis, cap }),
        p_move in 0.0f64..0.9,
        p_churn in 0.0f64..0.5,
        p_observer in 0.0f64..0.3,
        p_ghost in 0.0f64..0.5,
        p_deliver in 0.3f64..1.0,
        p_ack in 0.0f64..1.0,
        max_ack_delay in 0u64..5,
        threads in 1usize..4,
    ) -> Params {
        Params {
            seed, width, height, walls, entities, observers, ticks, aois, prox, p_move,
            p_stop: 0.1, p_churn, p_observer, p_ghost, p_deliver, p_ack, max_ack_delay,
            threads,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Many small worlds with every kind of churn.
    #[test]
    fn small_worlds_match_the_reference(p in small_params()) {
        run(&p);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2, max_shrink_iters: 16, ..ProptestConfig::default() })]

    /// Large worlds: ≥ 500 entities, 1,000 ticks, several radii, caps and hysteresis values.
    #[test]
    fn large_worlds_match_the_reference(seed in any::<u64>(), variant in 0usize..3) {
        let (aois, prox) = match variant {
            0 => (vec![aoi(4, 0, 8, true), aoi(6, 2, 24, false)], ProximityConfig::default()),
            1 => (vec![aoi(8, 3, 40, true), aoi(3, 1, 6, true)], ProximityConfig { radius: 4, hysteresis: 2, cap: 2 }),
            _ => (vec![aoi(10, 1, 200, true), aoi(5, 5, 12, false)], ProximityConfig { radius: 2, hysteresis: 0, cap: 8 }),
        };
        let p = Params {
            seed, width: 48, height: 48, walls: 0.05, entities: 520, observers: 40, ticks: 1000,
            aois, prox, p_move: 0.5, p_stop: 0.05, p_churn: 0.3, p_observer: 0.05, p_ghost: 0.2,
            p_deliver: 0.8, p_ack: 0.7, max_ack_delay: 3, threads: 1 + variant,
        };
        let st = run(&p);
        prop_assert!(st.deltas >= 30_000 && st.delivered > 0, "{:?}", st);
    }
}

/// A fixed large scenario for each variant, so the big sizes are always covered.
#[test]
fn large_world_fixed_seed() {
    let p = Params {
        seed: 7,
        width: 48,
        height: 48,
        walls: 0.05,
        entities: 500,
        observers: 50,
        ticks: 1000,
        aois: vec![
            aoi(6, 2, 32, true),
            aoi(4, 1, 10, false),
            aoi(9, 0, 60, true),
        ],
        prox: ProximityConfig::default(),
        p_move: 0.6,
        p_stop: 0.05,
        p_churn: 0.2,
        p_observer: 0.05,
        p_ghost: 0.2,
        p_deliver: 0.7,
        p_ack: 0.6,
        max_ack_delay: 4,
        threads: 3,
    };
    let st = run(&p);
    eprintln!("{st:?}");
    assert!(st.deltas >= 40_000, "{st:?}");
    assert!(st.delivered >= st.deltas / 2, "{st:?}");
    let all = [
        st.enters,
        st.updates,
        st.leaves,
        st.reused_slots,
        st.near,
        st.far,
        st.ghosts_seen,
    ];
    assert!(all.iter().all(|n| *n > 0), "every path exercised: {st:?}");
}
