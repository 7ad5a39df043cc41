//! [`NodeContext`]: what every part of one node (space threads, sessions, REST) knows about
//! the cluster: its own id and URL, the bus, the last known region owners, and a queue of
//! Redis work that the synchronous space threads hand to the coordinator.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::mpsc;

use super::{Bus, Directory, InProcessBus, Keys, RegionKey, Tickets};

/// Redis work queued by a space thread (which never awaits).
#[derive(Debug)]
pub enum NodeOp {
    /// The player's avatar is now on this node.
    SetPlayer {
        /// Space.
        space: String,
        /// Account.
        account: i64,
    },
    /// The player's avatar left this node (unless it is mapped elsewhere already).
    ClearPlayer {
        /// Space.
        space: String,
        /// Account.
        account: i64,
    },
}

/// The owner of a region as last seen in Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Node id.
    pub node: String,
    /// Its public base URL (empty when the node is not live).
    pub url: String,
    /// Lease epoch.
    pub epoch: u64,
}

#[derive(Debug, Default)]
struct View {
    owners: HashMap<RegionKey, Owner>,
    nodes: BTreeMap<String, String>,
}

/// One node's view of its cluster. Single-node mode has no [`Directory`] and an
/// [`InProcessBus`]; every region is local there.
#[derive(Debug)]
pub struct NodeContext {
    /// This node's id.
    pub node_id: String,
    /// This node's public base URL (`http://host:port`), sent to migrating clients.
    pub public_url: String,
    /// Key and channel names.
    pub keys: Keys,
    /// The message bus.
    pub bus: Arc<dyn Bus>,
    /// Migrate tickets.
    pub tickets: Tickets,
    /// The cluster directory (`None` on a single node).
    pub directory: Option<Directory>,
    /// Ticks between region snapshots.
    pub snapshot_every_ticks: u64,
    view: RwLock<View>,
    ops: mpsc::UnboundedSender<NodeOp>,
    next_handoff: AtomicU64,
}

impl NodeContext {
    /// A context; returns it with the receiving end of its [`NodeOp`] queue. `node_number`
    /// makes handoff ids unique across the cluster.
    pub fn new(
        node_id: String,
        public_url: String,
        keys: Keys,
        bus: Arc<dyn Bus>,
        tickets: Tickets,
        directory: Option<Directory>,
        node_number: u64,
    ) -> (NodeContext, mpsc::UnboundedReceiver<NodeOp>) {
        let (ops, rx) = mpsc::unbounded_channel();
        let ctx = NodeContext {
            node_id,
            public_url,
            keys,
            bus,
            tickets,
            directory,
            snapshot_every_ticks: 20,
            view: RwLock::default(),
            ops,
            next_handoff: AtomicU64::new(node_number << 40),
        };
        (ctx, rx)
    }

    /// A single node: in-process bus, no Redis.
    pub fn single(node_id: String, public_url: String, secret: &[u8]) -> NodeContext {
        let (ctx, _rx) = NodeContext::new(
            node_id,
            public_url,
            Keys::new("plaza"),
            Arc::new(InProcessBus::new()),
            Tickets::new(secret),
            None,
            0,
        );
        ctx
    }

    /// Whether this node is part of a Redis cluster.
    pub fn is_clustered(&self) -> bool {
        self.directory.is_some()
    }

    /// Queues Redis work (dropped on a single node).
    pub fn request(&self, op: NodeOp) {
        if self.is_clustered() {
            let _ = self.ops.send(op);
        }
    }

    /// A cluster-unique handoff id.
    pub fn next_handoff_id(&self) -> u64 {
        self.next_handoff.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The last known owner of a region.
    pub fn owner(&self, region: &RegionKey) -> Option<Owner> {
        let view = self.view.read().unwrap_or_else(PoisonError::into_inner);
        view.owners.get(region).cloned()
    }

    /// The URL of a live node.
    pub fn node_url(&self, node: &str) -> Option<String> {
        let view = self.view.read().unwrap_or_else(PoisonError::into_inner);
        view.nodes.get(node).cloned()
    }

    /// Live nodes → URL, as last seen.
    pub fn live_nodes(&self) -> BTreeMap<String, String> {
        let view = self.view.read().unwrap_or_else(PoisonError::into_inner);
        view.nodes.clone()
    }

    /// Replaces the view of `space`'s owners and of the live nodes (the coordinator, after
    /// each heartbeat).
    pub fn refresh(
        &self,
        space: &str,
        owners: Vec<(RegionKey, Option<(String, u64)>)>,
        nodes: &BTreeMap<String, String>,
    ) {
        let mut view = self.view.write().unwrap_or_else(PoisonError::into_inner);
        view.nodes.clone_from(nodes);
        view.owners.retain(|k, _| k.space != space);
        for (key, owner) in owners {
            if let Some((node, epoch)) = owner {
                let url = nodes.get(&node).cloned().unwrap_or_default();
                view.owners.insert(key, Owner { node, url, epoch });
            }
        }
    }

    /// Records that this node now owns `region` (before the next heartbeat says so).
    pub fn set_owner(&self, region: RegionKey, owner: Owner) {
        let mut view = self.view.write().unwrap_or_else(PoisonError::into_inner);
        view.owners.insert(region, owner);
    }
}
