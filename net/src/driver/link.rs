//! [`Link`]: a connected client as its space sees it: its observer, encoder and outbound
//! queue, the frames held for its next batch, and the snapshots it has not acknowledged.

use std::collections::VecDeque;

use schema::{SnapshotEncoder, ack_due};
use sim::Tick;
use sim::interest::ObserverId;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::commands::Outbound;

/// Queues a message for a session; `false` only when the queue is full (the client cannot
/// keep up). A closed queue means the session already ended and its `Leave` is on the way.
fn deliver(out: &mpsc::Sender<Outbound>, message: Outbound) -> bool {
    !matches!(out.try_send(message), Err(TrySendError::Full(_)))
}

/// A connected client's side of its space.
#[derive(Debug)]
pub(super) struct Link {
    /// The client's view in the space's interest manager.
    pub(super) observer: ObserverId,
    /// Its snapshots' encoder (per connection).
    pub(super) encoder: SnapshotEncoder,
    /// Its session's outbound queue.
    pub(super) out: mpsc::Sender<Outbound>,
    /// Ticks of the snapshots sent and not acknowledged by the client yet, oldest first.
    pub(super) unconfirmed: VecDeque<Tick>,
    /// The tick of the last snapshot sent (0: none yet).
    pub(super) last_sent: Tick,
    /// The tick of the client's last ack (`None`: none yet).
    pub(super) acked: Option<Tick>,
    /// Frames for the client since its last batch (chat, signals, errors), sent with the
    /// next tick's snapshot.
    pub(super) held: Vec<Vec<u8>>,
}

impl Link {
    /// A link over `out` for `observer`, nothing sent yet.
    pub(super) fn new(observer: ObserverId, out: mpsc::Sender<Outbound>) -> Link {
        Link {
            observer,
            encoder: SnapshotEncoder::new(),
            out,
            unconfirmed: VecDeque::new(),
            last_sent: 0,
            acked: None,
            held: Vec::new(),
        }
    }

    /// Queues the held frames, then `more`, as one batch: one wake-up of the session and
    /// one write. `false` only when the client's queue is full.
    pub(super) fn flush(&mut self, more: impl IntoIterator<Item = Vec<u8>>) -> bool {
        self.held.extend(more);
        if self.held.is_empty() {
            return true;
        }
        deliver(&self.out, Outbound::Frames(std::mem::take(&mut self.held)))
    }

    /// Ends the session with `message` (a close or a migrate), after the frames held so
    /// far: a chat line or an error the client was due is not lost on the way out.
    pub(super) fn end_with(mut self, message: Outbound) {
        self.flush([]);
        let _ = self.out.try_send(message);
    }

    /// Records that the snapshot of `tick` went out.
    pub(super) fn sent(&mut self, tick: Tick) {
        self.unconfirmed.push_back(tick);
        self.last_sent = tick;
    }

    /// Takes the client's `Ack{tick}`: the snapshots up to `tick` reached it. An ack of a
    /// tick never sent changes nothing (`false`).
    pub(super) fn confirm(&mut self, tick: Tick) -> bool {
        if tick > self.last_sent {
            return false;
        }
        while self.unconfirmed.front().is_some_and(|&t| t <= tick) {
            self.unconfirmed.pop_front();
        }
        self.acked = Some(self.acked.map_or(tick, |acked| acked.max(tick)));
        true
    }

    /// Whether a snapshot that called for an ack was sent more than `budget` ticks before
    /// `tick` and is still unacknowledged: the client does not read (or cannot keep up).
    /// A client acks on receipt, not on a timer ([`ack_due`]): its first snapshot, then
    /// each one at least `ACK_INTERVAL_TICKS` past its last ack. A snapshot
    /// closer to the last ack waits for the next one that calls for an ack — which may
    /// never come when nothing moves, and that is no lag.
    pub(super) fn lagging(&self, tick: Tick, budget: u64) -> bool {
        self.unconfirmed
            .iter()
            .find(|&&sent| ack_due(self.acked, sent))
            .is_some_and(|&sent| tick.saturating_sub(sent) > budget)
    }
}

#[cfg(test)]
mod tests {
    use schema::ErrorCode;
    use sim::EntityId;
    use sim::interest::{AoiConfig, Interest, ProximityConfig};

    use super::*;

    fn link() -> Link {
        let observer = Interest::new(ProximityConfig::default())
            .add_observer(EntityId::new(1).expect("non-zero"), AoiConfig::default());
        Link::new(observer, mpsc::channel(1).0)
    }

    #[test]
    fn a_batch_carries_the_held_frames_and_a_full_queue_refuses_it() {
        let (out, mut rx) = mpsc::channel(1);
        let mut l = Link::new(link().observer, out);
        assert!(l.flush([]), "nothing held: nothing queued");
        assert!(rx.try_recv().is_err());
        l.held.push(vec![1]);
        assert!(l.flush([vec![2], vec![3]]));
        assert!(
            matches!(rx.try_recv(), Ok(Outbound::Frames(f)) if f == [vec![1], vec![2], vec![3]])
        );
        assert!(l.flush([vec![4]]));
        assert!(!l.flush([vec![5]]), "the queue holds one batch");
        // Ending the session sends what is held first (the queue has room again).
        let _ = rx.try_recv();
        l.held.push(vec![6]);
        l.end_with(Outbound::Close {
            code: ErrorCode::INTERNAL,
            message: String::new(),
        });
        assert!(matches!(rx.try_recv(), Ok(Outbound::Frames(f)) if f == [vec![6]]));
    }

    #[test]
    fn acks_are_flow_control_and_a_silent_client_lags() {
        let mut l = link();
        assert!(!l.lagging(1_000, 40), "nothing sent: nothing to wait for");
        assert!(!l.confirm(1), "an ack of a tick never sent changes nothing");
        for tick in [100, 101, 103, 120] {
            l.sent(tick);
        }
        // The first snapshot calls for an ack.
        assert!(
            !l.lagging(140, 40) && l.lagging(141, 40),
            "oldest unacked: tick 100"
        );
        assert!(!l.confirm(121), "tick 121 was not sent");
        assert!(l.confirm(102), "acks are cumulative");
        assert_eq!(l.unconfirmed, [103, 120]);
        // 103 is within ACK_INTERVAL_TICKS of the last ack: only 120 (≥ 112) calls for one.
        assert!(!l.lagging(160, 40) && l.lagging(161, 40));
        assert!(l.confirm(120));
        assert!(l.unconfirmed.is_empty() && !l.lagging(10_000, 40));
        assert!(l.confirm(115), "a late ack is harmless");
        assert_eq!(l.acked, Some(120));
        // A last snapshot too close to the last ack is not acked by a reading client until
        // a later one calls for it: however long nothing moves, that is no lag.
        l.sent(125);
        assert!(!l.lagging(100_000, 40));
        l.sent(130);
        assert!(!l.lagging(170, 40) && l.lagging(171, 40));
    }
}
