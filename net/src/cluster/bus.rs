//! The cluster message bus: the [`Bus`] trait, and [`InProcessBus`] for single-node mode and
//! tests. [`crate::cluster::RedisBus`] is the multi-node implementation.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::BusError;

/// Delivers one message: `(channel, payload)`. Called on a bus task (or, for
/// [`InProcessBus`], on the publisher's thread); must not block.
pub type Sink = Arc<dyn Fn(&str, Vec<u8>) + Send + Sync>;

/// A publish/subscribe message bus between nodes. Delivery is at most once: messages
/// published while the bus is down are refused, not queued.
pub trait Bus: Send + Sync + fmt::Debug {
    /// Queues `payload` for the subscriber(s) of `channel`; never blocks.
    /// `Err(BusError::Disconnected)` while the bus is down (the message is not queued for later).
    fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BusError>;
    /// From now on delivers every message on `channel` to `sink` (replaces this bus's earlier
    /// sink for that channel). Survives reconnects.
    fn subscribe(&self, channel: &str, sink: Sink);
    /// Stops delivering `channel`.
    fn unsubscribe(&self, channel: &str);
    /// Whether messages flow right now.
    fn is_connected(&self) -> bool;
}

/// A bus inside one process, for single-node mode and tests.
///
/// Delivery is synchronous: [`Bus::publish`] calls the sinks on the publisher's thread before
/// it returns. No lock is held while a sink runs, so a sink may itself publish, subscribe or
/// unsubscribe. Clones are the same bus (same subscriptions); [`InProcessBus::peer`] makes
/// another subscriber on the same channels, as a second node on the same Redis would be.
#[derive(Debug, Default, Clone)]
pub struct InProcessBus {
    hub: Arc<Hub>,
    /// This bus's identity among the hub's subscribers.
    id: u64,
}

/// The channels shared by an [`InProcessBus`] and its peers.
#[derive(Default)]
struct Hub {
    /// Channel → subscribing bus → its sink.
    channels: Mutex<HashMap<String, BTreeMap<u64, Sink>>>,
    /// The last bus id handed out.
    last_id: AtomicU64,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Hub")
            .field("channels", &channels.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl InProcessBus {
    /// A new, empty bus.
    pub fn new() -> InProcessBus {
        InProcessBus::default()
    }

    /// Another subscriber on the same channels: it receives what anyone publishes, and its
    /// subscriptions are its own.
    pub fn peer(&self) -> InProcessBus {
        InProcessBus {
            hub: Arc::clone(&self.hub),
            id: self.hub.last_id.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<u64, Sink>>> {
        // A sink never runs under this lock, so poisoning cannot leave the map half-changed.
        self.hub
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Bus for InProcessBus {
    fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BusError> {
        let sinks: Vec<Sink> = self
            .channels()
            .get(channel)
            .map(|subscribers| subscribers.values().cloned().collect())
            .unwrap_or_default();
        if let Some((last, others)) = sinks.split_last() {
            for sink in others {
                sink(channel, payload.clone());
            }
            last(channel, payload);
        }
        Ok(())
    }

    fn subscribe(&self, channel: &str, sink: Sink) {
        self.channels()
            .entry(channel.to_owned())
            .or_default()
            .insert(self.id, sink);
    }

    fn unsubscribe(&self, channel: &str) {
        let mut channels = self.channels();
        if let Some(subscribers) = channels.get_mut(channel) {
            subscribers.remove(&self.id);
            if subscribers.is_empty() {
                channels.remove(channel);
            }
        }
    }

    fn is_connected(&self) -> bool {
        true
    }
}
