//! The tick driver: a fixed pool of tick workers (`workers`) runs every loaded space in
//! turns — simulation, interest and encoding at a fixed rate — and hands each client its
//! bytes (with `--interest-threads` > 1, a busy space's interest pass runs on a pool of its
//! own, see `interest_pool`).
//!
//! Data flows one way: WebSocket sessions send [`Command`]s to a space through a bounded
//! queue (`queue`); at the start of its turn the space takes them all into the
//! [`sim::Simulation`], steps it on the fixed timestep, computes each observer's delta and
//! pushes each client's frames of the tick, as one batch, into its bounded outbound queue
//! (`link`). The sim never awaits; the network never touches the world.
//! Writes to the database happen on a separate async task (see [`PersistOp`]).

mod commands;
mod ghosts;
mod handoff;
mod interest_pool;
mod link;
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
