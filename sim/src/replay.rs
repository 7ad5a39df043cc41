//! Recording a session's commands and replaying them to check determinism.

use std::sync::Arc;

use glam::IVec2;
use serde::{Deserialize, Serialize};

use crate::{
    EntityId, Input, Motion, PlayerInfo, RegionId, SimConfig, SimError, Simulation, Tick, TileMap,
};

/// One command that changed the world, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoggedCommand {
    /// [`Simulation::spawn`] (`at: None`) or [`Simulation::spawn_at`].
    Spawn {
        /// The id given to the entity.
        id: EntityId,
        /// Who it is.
        player: PlayerInfo,
        /// The tile asked for, if any.
        at: Option<IVec2>,
    },
    /// The last applied input sequence of an adopted entity.
    SetLastSeq {
        /// The entity.
        id: EntityId,
        /// Its last applied sequence number.
        last_seq: u32,
    },
    /// [`Simulation::despawn`].
    Despawn {
        /// The entity.
        id: EntityId,
    },
    /// [`Simulation::teleport`].
    Teleport {
        /// The entity.
        id: EntityId,
        /// Where it was placed.
        to: IVec2,
    },
    /// [`Simulation::upsert_ghost`].
    Ghost {
        /// The entity.
        id: EntityId,
        /// Who it is.
        player: PlayerInfo,
        /// Its tile.
        position: IVec2,
        /// Its movement state.
        motion: Motion,
        /// The region that owns it.
        owner: RegionId,
    },
    /// [`Simulation::set_region_local`].
    Locality {
        /// The region.
        region: RegionId,
        /// Whether it is simulated here from now on.
        local: bool,
    },
    /// [`Simulation::demote_to_ghost`].
    Demote {
        /// The entity.
        id: EntityId,
        /// The region that owns it from now on.
        owner: RegionId,
    },
    /// A queued input, applied in the step of its tick.
    Input {
        /// The entity.
        id: EntityId,
        /// Client sequence number.
        seq: u32,
        /// The input.
        input: Input,
    },
}

/// A command and the tick in whose step (or just before which) it took effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The tick.
    pub tick: Tick,
    /// The command.
    pub command: LoggedCommand,
}

/// Everything needed to re-run a session from an empty world: config, commands, and the
/// state hash each tick produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputLog {
    /// The configuration the session ran with (seed included).
    pub config: SimConfig,
    /// Commands in the order they took effect.
    pub entries: Vec<LogEntry>,
    /// The state hash at the end of each tick, from tick 1.
    pub hashes: Vec<u64>,
}

impl InputLog {
    pub(crate) fn new(config: SimConfig) -> InputLog {
        InputLog {
            config,
            entries: Vec::new(),
            hashes: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, tick: Tick, command: LoggedCommand) {
        self.entries.push(LogEntry { tick, command });
    }

    pub(crate) fn record_hash(&mut self, tick: Tick, hash: u64) {
        debug_assert_eq!(self.hashes.len() as u64 + 1, tick);
        self.hashes.push(hash);
    }
}

/// The first tick whose state hash differs from the recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The tick.
    pub tick: Tick,
    /// The hash the recording has.
    pub expected: u64,
    /// The hash the replay produced.
    pub actual: u64,
}

/// Re-runs a recorded session on `map` and returns the first tick whose hash differs, or
/// `None` when every tick matches. A command that the replay refuses (which a faithful
/// recording never contains) is reported as a divergence at its tick.
pub fn replay(map: Arc<TileMap>, log: &InputLog) -> Result<Option<Divergence>, SimError> {
    let mut sim = Simulation::new(map, log.config.clone())?;
    let mut entries = log.entries.iter().peekable();
    for (i, &expected) in log.hashes.iter().enumerate() {
        let tick = i as Tick + 1;
        let mut refused = false;
        while let Some(entry) = entries.next_if(|e| e.tick == tick) {
            refused |= apply(&mut sim, &entry.command).is_err();
        }
        let actual = sim.step().hash;
        if refused || actual != expected {
            return Ok(Some(Divergence {
                tick,
                expected,
                actual,
            }));
        }
    }
    Ok(None)
}

fn apply(sim: &mut Simulation, command: &LoggedCommand) -> Result<(), SimError> {
    match command.clone() {
        LoggedCommand::Spawn { id, player, at } => sim.apply_spawn(id, player, at).map(drop),
        LoggedCommand::SetLastSeq { id, last_seq } => {
            sim.set_last_seq(id, last_seq);
            Ok(())
        }
        LoggedCommand::Despawn { id } => sim.despawn(id).map(drop),
        LoggedCommand::Teleport { id, to } => sim.teleport(id, to),
        LoggedCommand::Ghost {
            id,
            player,
            position,
            motion,
            owner,
        } => sim.upsert_ghost(id, player, position, motion, owner),
        LoggedCommand::Locality { region, local } => {
            sim.set_region_local(region, local);
            Ok(())
        }
        LoggedCommand::Demote { id, owner } => sim.demote_to_ghost(id, owner).map(drop),
        // Live, an input may outlive its entity (despawned after queueing); the step drops it.
        LoggedCommand::Input { id, seq, input } => {
            sim.queue_logged_input(id, seq, input);
            Ok(())
        }
    }
}
