//! Deterministic Plaza world. No I/O, no clock, no async.
//!
//! `sim` is the heart of Plaza: one [`Simulation`] holds one *space* (a room with a
//! [`TileMap`]) and advances it in fixed ticks. It is a library, not a framework: the
//! server (`net`) owns sockets and timers and feeds this crate commands; this crate never
//! reads a clock, never awaits, and only draws randomness from a seeded RNG.
//!
//! Priorities, in order: determinism (same inputs → same per-tick state hash, on any
//! machine), then bytes per client (see the interest manager), then speed.
//!
//! # Example
//! ```
//! use sim::{Direction, Input, PlayerInfo, SimConfig, Simulation, TileMap};
//!
//! let map = TileMap::open_floor(8, 8);
//! let mut sim = Simulation::new(map.into(), SimConfig::default()).unwrap();
//! let me = sim.spawn_at(PlayerInfo::guest(1, "ada"), glam::IVec2::new(2, 2)).unwrap();
//! sim.queue_input(me, 1, Input::Move(Direction::East)).unwrap();
//! // The move starts on tick 1 and takes `ticks_per_tile` ticks.
//! for _ in 0..=SimConfig::default().ticks_per_tile {
//!     sim.step();
//! }
//! assert_eq!(sim.position(me), Some(glam::IVec2::new(3, 2)));
//! ```

#![deny(missing_docs)]

mod components;
mod direction;
mod error;
mod events;
mod hash;
pub mod interest;
mod map;
mod movement;
mod occupancy;
mod region;
mod replay;
mod simulation;
mod tiled;

pub use components::{EntityId, Ghost, Motion, Owner, PlayerInfo, Position};
pub use direction::Direction;
pub use error::SimError;
pub use events::{Event, RejectReason};
pub use map::{MapError, TileMap};
pub use occupancy::Occupancy;
pub use region::{Locality, RegionGrid, RegionId};
pub use replay::{Divergence, InputLog, LogEntry, LoggedCommand, replay};
pub use simulation::StepOutput;
pub use simulation::{EntityState, Input, SimConfig, Simulation, Tick};
