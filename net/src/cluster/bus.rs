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

#[cfg(test)]
mod tests {
    use super::*;

    type Log = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

    /// A sink that records into a log the test reads.
    fn recording() -> (Sink, Log) {
        let log = Log::default();
        let into = Arc::clone(&log);
        let sink: Sink = Arc::new(move |channel: &str, payload: Vec<u8>| {
            into.lock().unwrap().push((channel.to_owned(), payload));
        });
        (sink, log)
    }

    fn taken(log: &Log) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut *log.lock().unwrap())
    }

    #[test]
    fn delivers_synchronously_to_the_channel_only() {
        let bus = InProcessBus::new();
        let (sink, log) = recording();
        bus.subscribe("a", sink);
        bus.publish("a", b"one".to_vec()).unwrap();
        bus.publish("b", b"elsewhere".to_vec()).unwrap();
        assert_eq!(taken(&log), [("a".to_owned(), b"one".to_vec())]);
        assert!(bus.is_connected());
        // A clone is the same bus.
        bus.clone().publish("a", b"two".to_vec()).unwrap();
        assert_eq!(taken(&log).len(), 1);
    }

    #[test]
    fn a_new_sink_replaces_the_old_and_unsubscribe_stops_delivery() {
        let bus = InProcessBus::new();
        let (first, first_log) = recording();
        let (second, second_log) = recording();
        bus.subscribe("a", first);
        bus.clone().subscribe("a", second);
        bus.publish("a", vec![1]).unwrap();
        assert!(taken(&first_log).is_empty());
        assert_eq!(taken(&second_log), [("a".to_owned(), vec![1])]);
        bus.unsubscribe("a");
        bus.publish("a", vec![2]).unwrap();
        assert!(taken(&second_log).is_empty());
    }

    #[test]
    fn peers_subscribe_on_their_own() {
        let bus = InProcessBus::new();
        let peer = bus.peer();
        let (mine, my_log) = recording();
        let (theirs, their_log) = recording();
        bus.subscribe("a", mine);
        peer.subscribe("a", theirs);
        peer.publish("a", vec![1]).unwrap();
        assert_eq!(taken(&my_log).len(), 1);
        assert_eq!(taken(&their_log).len(), 1);
        peer.unsubscribe("a");
        bus.publish("a", vec![2]).unwrap();
        assert_eq!(taken(&my_log).len(), 1);
        assert!(taken(&their_log).is_empty());
    }

    #[test]
    fn a_sink_may_publish_and_subscribe_on_its_own_thread() {
        let bus = InProcessBus::new();
        let (sink, log) = recording();
        bus.subscribe("echo", sink);
        let inner = bus.clone();
        bus.subscribe(
            "ping",
            Arc::new(move |_: &str, payload: Vec<u8>| {
                inner.publish("echo", payload).unwrap();
                inner.unsubscribe("ping");
            }),
        );
        bus.publish("ping", b"hi".to_vec()).unwrap();
        bus.publish("ping", b"unheard".to_vec()).unwrap();
        assert_eq!(taken(&log), [("echo".to_owned(), b"hi".to_vec())]);
    }

    #[test]
    fn publishes_from_other_threads() {
        let bus = InProcessBus::new();
        let (sink, log) = recording();
        bus.subscribe("a", sink);
        let threads: Vec<_> = (0..4_u8)
            .map(|i| {
                let bus = bus.clone();
                std::thread::spawn(move || bus.publish("a", vec![i]).unwrap())
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let mut got: Vec<u8> = taken(&log).into_iter().map(|(_, p)| p[0]).collect();
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2, 3]);
    }
}
