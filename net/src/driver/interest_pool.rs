//! The threads a space's interest pass runs on when it has more than its own, and the CPU
//! time they use (the region meters count it like the space thread's).

use std::time::Duration;

use cpu_time::ThreadTime;
use rayon::{ThreadPool, ThreadPoolBuildError, ThreadPoolBuilder};
use sim::Simulation;
use sim::interest::Interest;

/// Below this many observers the pass runs on the space's own thread: waking the pool's
/// workers would cost more than splitting saves.
const POOLED_FROM: usize = 256;

/// A space's own rayon pool for [`Interest::update`]'s observer pass (see
/// [`Interest::set_threads`]), and the CPU clocks of its workers.
pub(super) struct InterestPool {
    pool: ThreadPool,
    /// Each worker's CPU time at the last reading, by worker index (empty before the
    /// first: then the workers have done nothing else since they started).
    last: Vec<Duration>,
}

impl std::fmt::Debug for InterestPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterestPool")
            .field("threads", &self.pool.current_num_threads())
            .finish_non_exhaustive()
    }
}

impl InterestPool {
    /// A pool of `threads` workers named `i<index>-<space>` (the worker's index first: Linux
    /// keeps 15 bytes of a thread's name).
    pub(super) fn new(space: &str, threads: usize) -> Result<InterestPool, ThreadPoolBuildError> {
        let space = space.to_owned();
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("i{i}-{space}"))
            .build()?;
        Ok(InterestPool {
            pool,
            last: Vec::new(),
        })
    }

    /// Runs `interest.update(sim)`, on the pool when it has at least [`POOLED_FROM`]
    /// `observers`, else on the calling thread; returns the CPU time the pool's workers used
    /// since they last ran it (the pass, and the time they spent waiting for work, which is
    /// theirs alone), zero when the pool was not used.
    pub(super) fn update(
        &mut self,
        interest: &mut Interest,
        sim: &Simulation,
        observers: usize,
    ) -> Duration {
        if observers < POOLED_FROM {
            interest.set_threads(1);
            interest.update(sim);
            return Duration::ZERO;
        }
        interest.set_threads(self.pool.current_num_threads());
        self.pool.install(|| interest.update(sim));
        let now = worker_cpu(&self.pool);
        let used = now
            .iter()
            .enumerate()
            .map(|(i, now)| now.saturating_sub(self.last.get(i).copied().unwrap_or_default()))
            .sum();
        self.last = now;
        used
    }
}

/// The CPU time of every worker of `pool`, by worker index.
fn worker_cpu(pool: &ThreadPool) -> Vec<Duration> {
    pool.broadcast(|_| ThreadTime::now().as_duration())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use glam::IVec2;
    use sim::interest::{AoiConfig, ProximityConfig};
    use sim::{PlayerInfo, SimConfig, TileMap};

    use super::*;

    #[test]
    fn the_pool_runs_the_pass_as_one_thread_would_and_counts_its_cpu() {
        let map = Arc::new(TileMap::open_floor(64, 64));
        let mut sim = Simulation::new(map, SimConfig::default()).unwrap();
        let mut one = Interest::new(ProximityConfig::default());
        let mut pooled = Interest::new(ProximityConfig::default());
        let mut observers = Vec::new();
        for i in 0..400u16 {
            let tile = IVec2::new(i32::from(i % 40), i32::from(i / 40) * 2);
            let id = sim
                .spawn_at(PlayerInfo::guest(u64::from(i) + 1, "p"), tile)
                .unwrap();
            let aoi = AoiConfig::default();
            observers.push((one.add_observer(id, aoi), pooled.add_observer(id, aoi)));
        }
        let mut pool = InterestPool::new("test", 2).unwrap();
        let mut used = Duration::ZERO;
        for _ in 0..5 {
            sim.step();
            one.update(&sim);
            used += pool.update(&mut pooled, &sim, observers.len());
        }
        for (a, b) in observers {
            assert_eq!(one.delta(a).unwrap(), pooled.delta(b).unwrap());
        }
        assert_eq!(one.proximity_events(), pooled.proximity_events());
        assert!(used > Duration::ZERO, "the workers' CPU time is counted");
        // A few observers: the space's own thread, nothing counted for the pool.
        sim.step();
        one.update(&sim);
        assert_eq!(pool.update(&mut pooled, &sim, 3), Duration::ZERO);
        assert_eq!(one.proximity_events(), pooled.proximity_events());
    }
}
