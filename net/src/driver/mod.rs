//! The tick driver: one thread per active space runs simulation, interest and encoding at a
//! fixed rate and hands each client its bytes (with `--interest-threads` > 1, a busy
//! space's interest pass runs on a pool of its own, see `interest_pool`).
//!
//! Data flows one way: WebSocket sessions send [`Command`]s to a space's thread through a
//! bounded channel; the thread queues them into the [`sim::Simulation`], steps it on the
//! fixed timestep, computes each observer's delta and pushes encoded frames into each
//! client's bounded outbound queue. The sim never awaits; the network never touches the world.
//! Writes to the database happen on a separate async task (see [`PersistOp`]).

mod commands;
mod ghosts;
mod handoff;
mod interest_pool;
mod persist;
mod queue;
mod regions;
mod registry;
mod space;
mod workers;

pub use commands::{
    Command, ConnId, Inspection, JoinError, JoinRequest, Joined, Outbound, RegionCommand,
};
pub use persist::PersistOp;
#[cfg(test)]
pub(crate) use queue::CommandQueue;
pub use registry::{DriverConfig, SpaceHandle, Spaces};
