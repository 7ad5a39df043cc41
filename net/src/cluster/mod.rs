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
mod directory;
mod error;
mod keys;
mod leases;
mod redis_bus;

pub use bus::{Bus, InProcessBus, Sink};
pub use directory::Directory;
pub use error::{BusError, ClusterError};
pub use keys::{Keys, ParseRegionKeyError, RegionKey};
pub use leases::{Lease, Leases, Renewal};
pub use redis_bus::RedisBus;
