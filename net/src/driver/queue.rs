//! A space's command queue: many sessions send, the space takes everything queued at the
//! start of its turn. Bounded by a count rather than by slots allocated up front, so an idle
//! space's queue costs next to nothing however large its bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SendError, Sender, TryRecvError, TrySendError, channel};

use super::commands::Command;

/// A new queue that holds at most `capacity` commands.
pub(crate) fn command_queue(capacity: usize) -> (QueueSender, CommandQueue) {
    let (tx, rx) = channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        QueueSender {
            tx,
            queued: queued.clone(),
            capacity,
        },
        CommandQueue { rx, queued },
    )
}

/// The sending side (cloned by every session of the space).
#[derive(Clone, Debug)]
pub(crate) struct QueueSender {
    tx: Sender<Command>,
    queued: Arc<AtomicUsize>,
    capacity: usize,
}

impl QueueSender {
    /// Queues `command` unless the queue is full or the space has ended. Never blocks and
    /// never wakes the space.
    pub(crate) fn try_send(&self, command: Command) -> Result<(), TrySendError<Command>> {
        if self.queued.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(TrySendError::Full(command));
        }
        self.tx.send(command).map_err(|SendError(command)| {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            TrySendError::Disconnected(command)
        })
    }
}

/// The space's side.
#[derive(Debug)]
pub(crate) struct CommandQueue {
    rx: Receiver<Command>,
    queued: Arc<AtomicUsize>,
}

impl CommandQueue {
    /// The oldest queued command, if any.
    pub(crate) fn try_recv(&self) -> Result<Command, TryRecvError> {
        let command = self.rx.try_recv()?;
        self.queued.fetch_sub(1, Ordering::Relaxed);
        Ok(command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::ConnId;

    fn leave(account: i64) -> Command {
        Command::Leave {
            conn: ConnId(1),
            account,
        }
    }

    #[test]
    fn a_full_queue_refuses_until_the_space_takes_a_command() {
        let (tx, rx) = command_queue(2);
        assert!(tx.try_send(leave(1)).is_ok());
        assert!(tx.clone().try_send(leave(2)).is_ok());
        assert!(matches!(tx.try_send(leave(3)), Err(TrySendError::Full(_))));
        assert!(matches!(
            rx.try_recv(),
            Ok(Command::Leave { account: 1, .. })
        ));
        assert!(tx.try_send(leave(3)).is_ok());
        assert!(matches!(
            rx.try_recv(),
            Ok(Command::Leave { account: 2, .. })
        ));
        assert!(matches!(
            rx.try_recv(),
            Ok(Command::Leave { account: 3, .. })
        ));
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
        drop(rx);
        assert!(matches!(
            tx.try_send(leave(4)),
            Err(TrySendError::Disconnected(_))
        ));
    }
}
