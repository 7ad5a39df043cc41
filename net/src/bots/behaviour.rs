//! How a bot chooses its next input: random walk, clustering, commuting.

use glam::IVec2;
use serde::Serialize;
use sim::{Direction, Input};

/// The movement pattern of the bots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Wander: keep a heading for a while, turn at random or when blocked, pause sometimes.
    #[default]
    RandomWalk,
    /// Head for the centroid of the players in view, so crowds form and stay dense.
    Cluster,
    /// Walk back and forth between the spawn tile and a "work" tile 20–40 tiles away.
    Commute,
}

/// A small, fast, seeded generator (SplitMix64); bots need no cryptographic randomness.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i32, hi: i32) -> i32 {
        let span = (i64::from(hi) - i64::from(lo) + 1).max(1) as u64;
        lo + (self.next_u64() % span) as i32
    }

    fn direction(&mut self) -> Direction {
        DIRECTIONS[(self.next_u64() % 4) as usize]
    }
}

const DIRECTIONS: [Direction; 4] = [
    Direction::North,
    Direction::East,
    Direction::South,
    Direction::West,
];

/// One bot's movement state.
#[derive(Clone, Debug)]
pub(crate) struct Mover {
    behaviour: Behaviour,
    rng: Rng,
    heading: Option<Direction>,
    last_position: Option<IVec2>,
    home: Option<IVec2>,
    work: Option<IVec2>,
    to_work: bool,
}

impl Mover {
    pub(crate) fn new(behaviour: Behaviour, seed: u64) -> Mover {
        Mover {
            behaviour,
            rng: Rng::new(seed),
            heading: None,
            last_position: None,
            home: None,
            work: None,
            to_work: true,
        }
    }

    /// The next input, given the bot's own tile (if it sees itself yet) and the tiles of the
    /// other players in view.
    pub(crate) fn next(&mut self, me: Option<IVec2>, others: &[IVec2]) -> Input {
        let stuck = me.is_some() && me == self.last_position && self.heading.is_some();
        self.last_position = me;
        match (self.behaviour, me) {
            (_, None) | (Behaviour::RandomWalk, _) => self.wander(stuck),
            (Behaviour::Cluster, Some(me)) => {
                if others.is_empty() {
                    self.wander(stuck)
                } else {
                    let sum = others
                        .iter()
                        .fold(IVec2::ZERO, |acc, p| acc + (*p - me).clamp_length_max_i(64));
                    let centroid = me + sum / others.len() as i32;
                    if (centroid - me).abs().max_element() <= 2 && self.rng.unit() < 0.5 {
                        self.heading = None;
                        Input::Stop
                    } else {
                        self.towards(me, centroid, stuck)
                    }
                }
            }
            (Behaviour::Commute, Some(me)) => {
                let home = *self.home.get_or_insert(me);
                let rng = &mut self.rng;
                let work = *self.work.get_or_insert_with(|| {
                    let mut offset = || {
                        let d = rng.range(20, 40);
                        if rng.unit() < 0.5 { -d } else { d }
                    };
                    home + IVec2::new(offset(), offset())
                });
                let target = if self.to_work { work } else { home };
                if (target - me).abs().max_element() <= 2 {
                    self.to_work = !self.to_work;
                }
                self.towards(me, target, stuck)
            }
        }
    }

    fn wander(&mut self, stuck: bool) -> Input {
        let roll = self.rng.unit();
        if roll < 0.05 {
            self.heading = None;
            return Input::Stop;
        }
        if stuck || self.heading.is_none() || roll < 0.3 {
            self.heading = Some(self.rng.direction());
        }
        Input::Move(self.heading.unwrap_or(Direction::East))
    }

    fn towards(&mut self, me: IVec2, target: IVec2, stuck: bool) -> Input {
        let d = target - me;
        if d == IVec2::ZERO {
            return self.wander(stuck);
        }
        let along_x = d.y == 0 || (d.x != 0 && d.x.abs() >= d.y.abs());
        // Mostly along the longer axis; sometimes (or when blocked) along the other one.
        let sideways = (stuck || self.rng.unit() < 0.25) && d.x != 0 && d.y != 0;
        let use_x = along_x != sideways;
        let mut dir = match (use_x, d.x > 0, d.y > 0) {
            (true, true, _) => Direction::East,
            (true, false, _) => Direction::West,
            (false, _, true) => Direction::South,
            (false, _, false) => Direction::North,
        };
        if stuck && Some(dir) == self.heading {
            dir = self.rng.direction();
        }
        self.heading = Some(dir);
        Input::Move(dir)
    }
}

/// Clamps a tile offset to a square of half-size `max` (keeps far outliers from dominating a
/// centroid).
trait ClampI {
    fn clamp_length_max_i(self, max: i32) -> IVec2;
}

impl ClampI for IVec2 {
    fn clamp_length_max_i(self, max: i32) -> IVec2 {
        self.clamp(IVec2::splat(-max), IVec2::splat(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let u = a.unit();
            assert!((0.0..1.0).contains(&u));
            let r = a.range(20, 40);
            assert!((20..=40).contains(&r));
            b.unit();
            b.range(20, 40);
        }
    }

    #[test]
    fn commuter_heads_for_work_then_home() {
        let mut m = Mover::new(Behaviour::Commute, 1);
        let home = IVec2::new(100, 100);
        m.next(Some(home), &[]);
        let work = m.work.unwrap();
        let d = work - home;
        assert!((20..=40).contains(&d.x.abs()) && (20..=40).contains(&d.y.abs()));
        // Standing next to work flips the target to home.
        m.next(Some(work + IVec2::new(1, 0)), &[]);
        assert!(!m.to_work);
    }

    #[test]
    fn clusterer_moves_towards_the_crowd() {
        let mut m = Mover::new(Behaviour::Cluster, 3);
        let me = IVec2::new(0, 0);
        let crowd = [IVec2::new(30, 1), IVec2::new(32, -1), IVec2::new(31, 0)];
        let mut east = 0;
        for _ in 0..100 {
            m.last_position = None; // never stuck
            if m.next(Some(me), &crowd) == Input::Move(Direction::East) {
                east += 1;
            }
        }
        assert!(east > 60, "east {east}/100");
    }

    #[test]
    fn walker_turns_when_blocked() {
        let mut m = Mover::new(Behaviour::RandomWalk, 5);
        let at = IVec2::new(5, 5);
        let mut inputs = Vec::new();
        for _ in 0..50 {
            inputs.push(m.next(Some(at), &[]));
        }
        let distinct: std::collections::BTreeSet<_> =
            inputs.iter().map(|i| format!("{i:?}")).collect();
        assert!(distinct.len() >= 3, "{distinct:?}");
    }
}
