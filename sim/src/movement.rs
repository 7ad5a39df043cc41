//! The movement system: inputs → held directions → one-tile moves with sub-tile progress.

use glam::IVec2;

use crate::components::{ChangedAt, InputState, StateHash};
use crate::hash::entity_hash;
use crate::region::Locality;
use crate::simulation::{PendingInput, update_hash};
use crate::{
    Direction, EntityId, Event, Ghost, Input, Motion, Occupancy, Owner, Position, RegionGrid,
    RejectReason, TileMap,
};

/// Everything one movement pass reads and writes.
pub(crate) struct Ctx<'a> {
    pub(crate) world: &'a mut hecs::World,
    pub(crate) map: &'a TileMap,
    pub(crate) regions: &'a RegionGrid,
    pub(crate) locality: &'a Locality,
    pub(crate) occupancy: &'a mut Occupancy,
    pub(crate) events: &'a mut Vec<Event>,
    pub(crate) hash_sum: &'a mut u64,
    pub(crate) tick: u64,
    pub(crate) ticks_per_tile: u16,
    pub(crate) inputs: &'a [PendingInput],
}

/// An entity that wants to start a move this tick.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    e: hecs::Entity,
    id: EntityId,
    from: IVec2,
    dir: Direction,
    /// The target's tile index when the tile is free, or why it is not.
    outcome: Result<usize, RejectReason>,
}

/// Scratch buffers of the movement system, reused every tick.
#[derive(Debug)]
pub(crate) struct Movement {
    /// Per tile: the lowest entity id that asked for it this tick.
    claims: Vec<Option<EntityId>>,
    candidates: Vec<Candidate>,
}

impl Movement {
    pub(crate) fn new(map: &TileMap) -> Movement {
        Movement {
            claims: vec![None; map.width() as usize * map.height() as usize],
            candidates: Vec::new(),
        }
    }

    /// One tick of movement. Moves that finish free their tiles before any new move starts;
    /// a new move wins its tile when the tile is free and no lower id asked for it — which is
    /// what processing candidates in id order would give, without sorting them.
    pub(crate) fn run(&mut self, cx: &mut Ctx<'_>) {
        self.candidates.clear();
        self.apply_inputs(cx);
        self.advance(cx);
        self.resolve(cx);
    }

    fn apply_inputs(&mut self, cx: &mut Ctx<'_>) {
        type Inputs<'q> = hecs::Without<
            (
                &'q Position,
                &'q mut Motion,
                &'q mut InputState,
                &'q mut StateHash,
            ),
            &'q Ghost,
        >;
        let mut view = cx.world.view_mut::<Inputs>();
        for p in cx.inputs {
            // A handle that went stale (despawned after queueing) finds nothing.
            let Some(e) = p.entity else {
                continue;
            };
            let Some((pos, motion, input, hash)) = view.get_mut(e) else {
                continue;
            };
            if p.seq <= input.last_seq {
                continue; // duplicate or stale
            }
            input.last_seq = p.seq;
            match p.input {
                Input::Move(dir) => {
                    motion.held = Some(dir);
                    let queued = self.candidates.last().is_some_and(|c| c.e == e);
                    if motion.target.is_none() && !queued {
                        self.candidates.push(Candidate {
                            e,
                            id: p.id,
                            from: pos.0,
                            dir,
                            outcome: Err(RejectReason::Blocked),
                        });
                    }
                }
                Input::Stop => motion.held = None,
            }
            let new = entity_hash(p.id, pos.0, motion, input.last_seq, hash.player);
            update_hash(hash, cx.hash_sum, new);
        }
    }

    fn advance(&mut self, cx: &mut Ctx<'_>) {
        type Movers<'q> = hecs::Without<
            (
                hecs::Entity,
                &'q EntityId,
                &'q mut Position,
                &'q mut Motion,
                &'q InputState,
                &'q mut StateHash,
                &'q mut ChangedAt,
                &'q mut Owner,
            ),
            &'q Ghost,
        >;
        for (e, id, pos, motion, input, hash, changed, owner) in cx.world.query_mut::<Movers>() {
            let Some(target) = motion.target else {
                continue;
            };
            motion.progress += 1;
            if motion.progress >= cx.ticks_per_tile {
                cx.occupancy.vacate(pos.0, *id);
                cx.occupancy.occupy(target, *id);
                pos.0 = target;
                motion.target = None;
                motion.progress = 0;
                changed.0 = cx.tick;
                owner.0 = cx.regions.region_of(target);
                cx.events.push(Event::Arrived {
                    id: *id,
                    at: target,
                });
                if let Some(dir) = motion.held {
                    self.candidates.push(Candidate {
                        e,
                        id: *id,
                        from: target,
                        dir,
                        outcome: Err(RejectReason::Blocked),
                    });
                }
            }
            let new = entity_hash(*id, pos.0, motion, input.last_seq, hash.player);
            update_hash(hash, cx.hash_sum, new);
        }
    }

    fn resolve(&mut self, cx: &mut Ctx<'_>) {
        for c in &mut self.candidates {
            let to = c.from + c.dir.offset();
            c.outcome = check_target(cx, to);
            if let Ok(i) = c.outcome {
                let claim = &mut self.claims[i];
                if claim.is_none_or(|other| c.id < other) {
                    *claim = Some(c.id);
                }
            }
        }
        let mut view = cx.world.view_mut::<(
            &Position,
            &mut Motion,
            &InputState,
            &mut StateHash,
            &mut ChangedAt,
        )>();
        for c in &self.candidates {
            let to = c.from + c.dir.offset();
            let won = match c.outcome {
                Ok(i) if self.claims[i] == Some(c.id) => Ok(()),
                Ok(_) => Err(RejectReason::Reserved),
                Err(reason) => Err(reason),
            };
            let Some((pos, motion, input, hash, changed)) = view.get_mut(c.e) else {
                continue;
            };
            changed.0 = cx.tick;
            motion.facing = Some(c.dir);
            match won {
                Ok(()) => {
                    motion.target = Some(to);
                    motion.progress = 0;
                    cx.occupancy.reserve(to, c.id);
                    cx.events.push(Event::MoveStarted {
                        id: c.id,
                        from: c.from,
                        to,
                    });
                }
                Err(reason) => {
                    motion.held = None;
                    cx.events.push(Event::MoveRejected {
                        id: c.id,
                        direction: c.dir,
                        reason,
                    });
                }
            }
            let new = entity_hash(c.id, pos.0, motion, input.last_seq, hash.player);
            update_hash(hash, cx.hash_sum, new);
        }
        for c in &self.candidates {
            if let Ok(i) = c.outcome {
                self.claims[i] = None;
            }
        }
    }
}

fn check_target(cx: &Ctx<'_>, to: IVec2) -> Result<usize, RejectReason> {
    let Some(i) = cx.map.index(to) else {
        return Err(RejectReason::OffMap);
    };
    if cx.map.is_blocked(to) {
        Err(RejectReason::Blocked)
    } else if !cx.locality.is_local(cx.regions.region_of(to)) {
        Err(RejectReason::Foreign)
    } else if cx.occupancy.occupant(to).is_some() {
        Err(RejectReason::Occupied)
    } else if cx.occupancy.reservation(to).is_some() {
        Err(RejectReason::Reserved)
    } else {
        Ok(i)
    }
}
