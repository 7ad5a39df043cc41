//! [`TickWorkers`]: the fixed set of threads that tick every space of a node.
//!
//! A node hosts many spaces, most of them small and many of them empty most of the day, so a
//! space is not a thread: each worker holds the spaces placed on it and, in a loop, sleeps
//! until the earliest one is due, then gives each due space its turn (its queued commands,
//! then its ticks). A space that ends (stopped, unloaded when empty, or a panic, which is
//! caught and ends that space only) is dropped from its worker and its end is recorded for
//! the registry.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;

use super::queue::CommandQueue;
use super::space::{SpaceLoop, Turn};

/// Why a space stopped running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Asked to stop (node shutdown).
    Stopped,
    /// Nobody was in it for the configured time: saved and unloaded.
    Unloaded,
    /// Every handle on its command queue was dropped.
    Abandoned,
    /// It panicked (a bug), with the panic's message.
    Panicked(String),
}

/// Set once, when a space stops running.
pub(crate) type EndCell = Arc<OnceLock<Ended>>;

/// Called on a worker thread once a space has ended (after its [`EndCell`] is set).
pub(crate) type OnEnd = Box<dyn FnOnce(&Ended) + Send>;

/// A space placed on a worker: its loop, its command queue, and where its end is told.
pub(crate) struct Hosted {
    pub(crate) space: SpaceLoop,
    pub(crate) rx: CommandQueue,
    pub(crate) ended: EndCell,
    pub(crate) on_end: OnEnd,
}

/// One worker's inbox of new spaces and how many it hosts.
struct Worker {
    inbox: Sender<Hosted>,
    hosted: Arc<AtomicUsize>,
}

/// The node's tick threads.
pub(crate) struct TickWorkers {
    workers: Vec<Worker>,
    /// Spaces hosted, over all workers (a metric).
    loaded: Gauge,
}

impl std::fmt::Debug for TickWorkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TickWorkers")
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl TickWorkers {
    /// Starts `count` worker threads. They end when this is dropped and their last space
    /// has ended. A thread the system refuses is logged and left out (with none, no space
    /// can start: [`TickWorkers::host`] says so).
    pub(crate) fn start(count: usize, loaded: Gauge) -> TickWorkers {
        let workers = (0..count)
            .filter_map(|i| {
                let (inbox, rx) = channel();
                let hosted = Arc::new(AtomicUsize::new(0));
                let counter = hosted.clone();
                let gauge = loaded.clone();
                std::thread::Builder::new()
                    .name(format!("tick-{i}"))
                    .spawn(move || work(rx, &counter, &gauge))
                    .inspect_err(|e| tracing::error!(error = %e, "cannot start a tick worker"))
                    .ok()?;
                Some(Worker { inbox, hosted })
            })
            .collect();
        TickWorkers { workers, loaded }
    }

    /// Places a space on the worker that hosts the fewest; `false` when no worker runs
    /// any more (the space is dropped).
    pub(crate) fn host(&self, space: Hosted) -> bool {
        let Some(worker) = self
            .workers
            .iter()
            .min_by_key(|w| w.hosted.load(Ordering::Relaxed))
        else {
            return false;
        };
        worker.hosted.fetch_add(1, Ordering::Relaxed);
        self.loaded.inc();
        worker.inbox.send(space).is_ok()
    }
}

/// Least time between two returns of freed memory to the system.
const TRIM_EVERY: Duration = Duration::from_secs(5);

/// A worker's loop: new spaces from `inbox`, each hosted space's turn when it is due, and
/// after spaces unloaded, their freed memory given back to the system.
fn work(inbox: Receiver<Hosted>, hosted: &AtomicUsize, loaded: &Gauge) {
    let mut inbox = Some(inbox);
    // Each space with the instant its next turn is due.
    let mut spaces: Vec<(Instant, Hosted)> = Vec::new();
    let mut trim = Trim::default();
    loop {
        let due = spaces.iter().map(|(at, _)| *at).chain(trim.due).min();
        let wait = due.map(|at| at.saturating_duration_since(Instant::now()));
        match (&inbox, wait) {
            (Some(rx), wait) => {
                let got = match wait {
                    Some(wait) => rx.recv_timeout(wait),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match got {
                    Ok(space) => {
                        spaces.push((Instant::now(), space));
                        continue;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => inbox = None,
                }
            }
            (None, Some(wait)) => std::thread::sleep(wait),
            (None, None) => return,
        }
        let now = Instant::now();
        let mut i = 0;
        while i < spaces.len() {
            if spaces[i].0 > now {
                i += 1;
                continue;
            }
            let space = &mut spaces[i].1;
            let turn = catch_unwind(AssertUnwindSafe(|| space.space.turn(&space.rx)))
                .unwrap_or_else(|payload| Turn::Ended(Ended::Panicked(panic_message(&payload))));
            match turn {
                Turn::Next(at) => {
                    spaces[i].0 = at;
                    i += 1;
                }
                Turn::Ended(why) => {
                    let (_, ended) = spaces.swap_remove(i);
                    hosted.fetch_sub(1, Ordering::Relaxed);
                    loaded.dec();
                    if why == Ended::Unloaded {
                        trim.ask(now);
                    }
                    finish(ended, why);
                }
            }
        }
        trim.run_if_due(Instant::now());
    }
}

/// When a worker next gives freed memory back to the system.
#[derive(Default)]
struct Trim {
    last: Option<Instant>,
    due: Option<Instant>,
}

impl Trim {
    /// Memory was freed at `now`: trim as soon as [`TRIM_EVERY`] allows.
    fn ask(&mut self, now: Instant) {
        let earliest = self.last.map_or(now, |last| (last + TRIM_EVERY).max(now));
        self.due.get_or_insert(earliest);
    }

    fn run_if_due(&mut self, now: Instant) {
        if self.due.is_some_and(|due| due <= now) {
            release_freed_memory();
            self.last = Some(now);
            self.due = None;
        }
    }
}

/// Gives the allocator's free pages back to the system. glibc keeps what threads freed in
/// their arenas: without this, a node's RSS stays at its busiest hour's after the spaces of
/// that hour unloaded.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: `malloc_trim` takes each arena's lock and returns only free pages to the
    // kernel; memory in use is not touched, and it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory by themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// Records a space's end, drops it (its queue with it: sessions see it closed) and tells
/// the registry.
fn finish(space: Hosted, why: Ended) {
    let Hosted {
        space,
        rx,
        ended,
        on_end,
    } = space;
    let id = space.id().to_owned();
    match &why {
        Ended::Panicked(message) => {
            tracing::error!(space = %id, panic = %message, "space panicked; its players are disconnected");
        }
        Ended::Unloaded => tracing::info!(space = %id, "space unloaded (empty)"),
        Ended::Stopped | Ended::Abandoned => tracing::debug!(space = %id, ?why, "space ended"),
    }
    // A panic may have left the loop half way: drop it before anyone can see the end.
    drop(catch_unwind(AssertUnwindSafe(move || drop(space))));
    drop(rx);
    let _ = ended.set(why.clone());
    on_end(&why);
}

/// What a panic said, if it said it with a string.
fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}
