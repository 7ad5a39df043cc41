//! The interest manager allocates nothing per observer per tick in the steady state.
//!
//! A counting global allocator counts the allocations made *inside* `Interest::update`,
//! `Interest::ack` and delta reads: on the test's thread, and with 2 threads on the workers
//! of a rayon pool of the test's own (which run the observer pass). The same deterministic
//! world runs twice, with 600 observers and with none: allocations that are not the
//! observers' (the same in both runs) would cancel out, and what remains is the observers'
//! share, which must be zero. The last test checks that the whole steady-state tick
//! allocates nothing at all on one thread.

#![allow(unsafe_code)] // a global allocator needs `unsafe impl GlobalAlloc`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use glam::IVec2;
use sim::interest::{AoiConfig, Interest, ObserverId, ProximityConfig};
use sim::{Direction, Input, PlayerInfo, SimConfig, Simulation, TileMap};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// This thread's count (tests run in parallel threads: a shared counter would mix
    /// another test's allocations into this one's).
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    /// On the workers of a test's rayon pool: that pool's count (all they run is counted).
    static POOL_ALLOCS: Cell<Option<&'static AtomicU64>> = const { Cell::new(None) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCS.with(|n| n.set(n.get() + 1));
    } else if let Some(n) = POOL_ALLOCS.with(Cell::get) {
        n.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Where the observer pass runs: this thread alone, or a rayon pool of `threads` workers
/// whose allocations are all counted.
struct Threads {
    threads: usize,
    pool: Option<(rayon::ThreadPool, &'static AtomicU64)>,
}

impl Threads {
    fn new(threads: usize) -> Threads {
        let pool = (threads > 1).then(|| {
            let allocs: &'static AtomicU64 = Box::leak(Box::default());
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .start_handler(move |_| POOL_ALLOCS.with(|c| c.set(Some(allocs))))
                .build()
                .expect("a rayon pool for the test");
            (pool, allocs)
        });
        Threads { threads, pool }
    }

    /// Runs `f` (on the pool, if any) and counts the allocations it makes on this thread
    /// and on the pool's workers.
    fn counted<T: Send>(&self, f: impl FnOnce() -> T + Send) -> (T, u64) {
        let before = ALLOCS.with(Cell::get) + self.pool_count();
        COUNTING.with(|c| c.set(true));
        let out = match &self.pool {
            Some((pool, _)) => pool.install(f),
            None => f(),
        };
        COUNTING.with(|c| c.set(false));
        (out, ALLOCS.with(Cell::get) + self.pool_count() - before)
    }

    /// The allocations the pool's workers made so far (0 without a pool).
    fn pool_count(&self) -> u64 {
        self.pool
            .as_ref()
            .map_or(0, |(_, n)| n.load(Ordering::Relaxed))
    }
}

const ROWS: i32 = 40;
const PER_ROW: i32 = 50;
const SPAN: i32 = 4;
const OBSERVERS: usize = 600;
const WARMUP: u64 = 240;
const MEASURED: u64 = 240;
const ACK_DELAY: u64 = 2;

/// What the interest manager did during the measured ticks.
#[derive(Debug, Default)]
struct Run {
    allocs: u64,
    enters: u64,
    updates: u64,
    leaves: u64,
    proximity: u64,
}

/// A periodic world: avatars pace back and forth over `SPAN` tiles in lanes, even rows in
/// phase, odd rows in opposite phase, so views keep changing (enters, updates, leaves, slot
/// reuse, near/far) but every state recurs: after the warm-up, every buffer has met its
/// largest size. Returns what happened during the measured ticks.
fn run(observers: usize, threads: usize) -> Run {
    let threads = Threads::new(threads);
    let side = (PER_ROW * (SPAN + 1) + 2) as u32;
    let map = TileMap::open_floor(side, (ROWS * 2 + 2) as u32);
    let mut sim = Simulation::new(map.into(), SimConfig::default()).unwrap();
    let mut avatars = Vec::new();
    for row in 0..ROWS {
        for k in 0..PER_ROW {
            let home = 1 + k * (SPAN + 1);
            let start = if row % 2 == 0 { home } else { home + SPAN };
            let at = IVec2::new(start, 1 + row * 2);
            let info = PlayerInfo::guest(avatars.len() as u64, "pacer");
            avatars.push((
                sim.spawn_at(info, at).unwrap(),
                home,
                None::<Direction>,
                0u32,
            ));
        }
    }
    let mut interest = Interest::new(ProximityConfig::default());
    interest.set_threads(threads.threads);
    let aoi = AoiConfig {
        radius: 6,
        hysteresis: 1,
        cap: 24,
        include_self: true,
    };
    let step = avatars.len() / observers.max(1);
    let obs: Vec<ObserverId> = (0..observers)
        .map(|k| interest.add_observer(avatars[k * step].0, aoi))
        .collect();
    let mut out = Run::default();
    for t in 0..WARMUP + MEASURED {
        for (id, home, held, seq) in &mut avatars {
            let x = sim.position(*id).unwrap().x;
            let want = if x >= *home + SPAN {
                Direction::West
            } else if x <= *home {
                Direction::East
            } else {
                held.unwrap_or(Direction::East)
            };
            if *held != Some(want) {
                *held = Some(want);
                *seq += 1;
                sim.queue_input(*id, *seq, Input::Move(want)).unwrap();
            }
        }
        let tick = sim.step().tick;
        let measured = t >= WARMUP;
        let (counts, n) = threads.counted(|| {
            interest.update(&sim);
            let mut c = (0, 0, 0);
            for o in &obs {
                let d = interest.delta(*o).unwrap();
                c.0 += d.enters.len() as u64;
                c.1 += d.updates.len() as u64;
                c.2 += d.leaves.len() as u64;
                if tick > ACK_DELAY {
                    interest.ack(*o, tick - ACK_DELAY).unwrap();
                }
            }
            c
        });
        if measured {
            out.allocs += n;
            out.enters += counts.0;
            out.updates += counts.1;
            out.leaves += counts.2;
            out.proximity += interest.proximity_events().len() as u64;
        }
    }
    out
}

fn observers_allocate_nothing(threads: usize) {
    let with = run(OBSERVERS, threads);
    let without = run(0, threads);
    eprintln!(
        "{MEASURED} steady-state ticks, {threads} thread(s), {OBSERVERS} observers: {with:?}"
    );
    eprintln!("the same world without observers: {without:?}");
    assert!(with.enters > 0 && with.updates > 0 && with.leaves > 0 && with.proximity > 0);
    assert_eq!(
        with.allocs, without.allocs,
        "observers allocated in the steady state"
    );
}

#[test]
fn no_allocation_per_observer_per_tick() {
    observers_allocate_nothing(1);
}

/// The observer pass split over a pool's workers (as `plaza serve --interest-threads 2`
/// runs it) allocates nothing per observer either, on any of the threads. (Both runs count
/// the same few allocations: rayon's own, one block of its injector queue per 63
/// `install` calls. Without observers the pass is not split, so the comparison leaves
/// every allocation of the split pass to be counted.)
#[test]
fn no_allocation_per_observer_per_tick_on_two_threads() {
    observers_allocate_nothing(2);
}

/// With the grid of positions (no R-tree bulk loads), the whole steady-state tick allocates
/// nothing at all on one thread, observers or not.
#[test]
fn no_allocation_at_all_in_the_steady_state() {
    let with = run(OBSERVERS, 1);
    assert!(with.enters > 0 && with.updates > 0 && with.leaves > 0 && with.proximity > 0);
    assert_eq!(with.allocs, 0, "{with:?}");
}
