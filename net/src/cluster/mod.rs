//! Multi-node mode (issue 8): what nodes share through Redis.
//!
//! - [`Bus`]: publish/subscribe between nodes — [`RedisBus`] across processes,
//!   [`InProcessBus`] in single-node mode and tests. Channel names come from [`Keys`].
//! - [`Leases`]: who owns which [`RegionKey`], with an epoch (fencing token) that grows with
//!   every acquisition.
//! - [`Directory`]: live nodes, player → node, region pins, node numbers, single-use tickets.
//!
//! Every Redis key and channel lives under one prefix ([`Keys`]), so several clusters (or
//! tests) can share a Redis.

mod bus;
mod conn;
mod coordinator;
mod directory;
mod error;
mod keys;
mod leases;
mod node;
mod records;
mod redis_bus;
mod ticket;

pub use bus::{Bus, InProcessBus, Sink};
pub use coordinator::{CLAIM_GRACE, Coordinator, CoordinatorHandle, CoordinatorRequest, MoveError};
pub use directory::Directory;
pub use error::{BusError, ClusterError};
pub use keys::{Keys, ParseRegionKeyError, RegionKey};
pub use leases::{Lease, Leases, Renewal};
pub use node::{NodeContext, NodeOp, Owner};
pub use records::{AvatarRecord, RegionSnapshot};
pub use redis_bus::RedisBus;
pub use ticket::{TICKET_AUDIENCE, TICKET_TTL, Ticket, Tickets};
