//! [`AppState`]: what every handler (REST and WebSocket) shares, and [`Shutdown`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use persistence::{Store, StoreConfig, StoreError};
use tokio::sync::watch;

use crate::auth::{self, Auth};
use crate::cluster::{
    BusError, ClusterError, Coordinator, CoordinatorHandle, Directory, Keys, Leases, NodeContext,
    RedisBus, Tickets,
};
use crate::config::ServeConfig;
use crate::driver::{DriverConfig, Spaces};
use crate::http::maps::{MapCatalog, MapError};
use crate::http::ratelimit::RateLimiter;
use crate::load::LoadBoard;
use crate::metrics::Metrics;
use crate::ws::SessionLimits;

/// Shared server state; cheap to clone (everything is behind `Arc` or a pool).
///
/// To add state of your own (the tick driver's space registry, for instance), add a field
/// here and fill it in [`AppState::from_parts`].
#[derive(Clone, Debug)]
pub struct AppState {
    /// The resolved configuration.
    pub config: Arc<ServeConfig>,
    /// The database: accounts, spaces, memberships/positions, chat, snapshots.
    pub store: Store,
    /// Token issuer/verifier: `state.auth.verify(token)` → [`auth::Identity`].
    pub auth: Arc<Auth>,
    /// Metric handles (`/metrics`).
    pub metrics: Arc<Metrics>,
    /// The maps under `assets/maps`, parsed at startup.
    pub maps: Arc<MapCatalog>,
    /// Per-IP limiter of the auth endpoints.
    pub auth_limiter: Arc<RateLimiter>,
    /// Graceful shutdown: a signal to watch and hooks to run.
    pub shutdown: Shutdown,
    /// The running spaces (tick threads), started on first join.
    pub spaces: Arc<Spaces>,
    /// Limits of each WebSocket session.
    pub session_limits: Arc<SessionLimits>,
    /// The latest load of every region this node owns (`GET /api/admin/regions`).
    pub load: Arc<LoadBoard>,
    /// This node's id in load reports (default `node-<listen port>`).
    pub node_id: String,
    /// The cluster coordinator (`None` on a single node).
    pub coordinator: Option<CoordinatorHandle>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The JWT secret could not be read or created.
    #[error("JWT secret under {path}: {cause}")]
    Secret {
        /// The data directory.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// The maps could not be loaded.
    #[error("maps: {0}")]
    Maps(#[from] MapError),
    /// Cluster mode could not reach Redis.
    #[error("cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// Cluster mode could not reach Redis pub/sub.
    #[error("cluster bus: {0}")]
    Bus(#[from] BusError),
}

impl AppState {
    /// Opens the store (applying migrations), loads or creates the JWT secret, loads the maps.
    pub async fn open(config: ServeConfig) -> Result<AppState, StartError> {
        let secret = match &config.jwt_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => auth::load_or_create_secret(&config.data_dir).map_err(|cause| {
                StartError::Secret {
                    path: config.data_dir.display().to_string(),
                    cause,
                }
            })?,
        };
        let maps = MapCatalog::load(&config.assets_dir.join("maps"))?;
        let mut store_config = StoreConfig::new(config.database_url.clone());
        store_config.chat_history = config.chat_history;
        store_config.pg_schema.clone_from(&config.pg_schema);
        let store = Store::connect(&store_config).await?;
        let Some(cluster) = config.cluster.clone() else {
            return Ok(AppState::from_parts(config, store, &secret, maps));
        };
        // Cluster mode: Redis must answer now, or the node does not start.
        let keys = Keys::new(&cluster.redis_prefix);
        let directory = Directory::connect(&cluster.redis_url, keys.clone()).await?;
        let ttl = Duration::from_millis(cluster.lease_ttl_ms);
        let leases = Leases::connect(&cluster.redis_url, keys.clone(), ttl).await?;
        let bus = RedisBus::connect(&cluster.redis_url).await?;
        let number = directory.next_node_number().await?;
        let (node, ops) = NodeContext::new(
            cluster.node_id.clone(),
            cluster.public_url.clone(),
            keys,
            Arc::new(bus),
            Tickets::new(&secret),
            Some(directory.clone()),
            number,
        );
        let mut state = AppState::assemble(config, store, &secret, maps, Arc::new(node), number);
        let coordinator = Coordinator::start(state.clone(), leases, directory, cluster.pins, ops);
        let leaving = coordinator.clone();
        state
            .shutdown
            .on_shutdown("release region leases", move || async move {
                leaving.leave().await;
            });
        state.coordinator = Some(coordinator);
        tracing::info!(node = %cluster.node_id, redis = %cluster.redis_url, "cluster node");
        Ok(state)
    }

    /// Assembles a state from already-open parts.
    pub fn from_parts(
        config: ServeConfig,
        store: Store,
        jwt_secret: &[u8],
        maps: MapCatalog,
    ) -> AppState {
        let node = NodeContext::single(
            config.node_id(),
            format!("http://{}", config.listen),
            jwt_secret,
        );
        AppState::assemble(config, store, jwt_secret, maps, Arc::new(node), 0)
    }

    /// The state of a node in `node`'s cluster; `node_number` offsets its entity ids.
    fn assemble(
        config: ServeConfig,
        store: Store,
        jwt_secret: &[u8],
        maps: MapCatalog,
        node: Arc<NodeContext>,
        node_number: u64,
    ) -> AppState {
        let metrics = Arc::new(Metrics::new());
        let driver = DriverConfig {
            tick_hz: config.tick_hz,
            interest_threads: config.interest_threads,
            tick_workers: config.tick_workers,
            max_unacked: Duration::from_millis(config.unacked_limit_ms),
            region_size: config.region_size,
            first_entity_id: (node_number << 40) + 1,
            ..DriverConfig::default()
        };
        let load = Arc::new(LoadBoard::new(metrics.clone()));
        let spaces = Arc::new(Spaces::new(
            driver,
            store.clone(),
            metrics.clone(),
            node,
            load.clone(),
        ));
        let shutdown = Shutdown::default();
        let flushing = spaces.clone();
        shutdown.on_shutdown("stop spaces and save positions", move || async move {
            flushing.shutdown().await;
        });
        AppState {
            auth: Arc::new(Auth::new(jwt_secret, config.token_ttl_secs)),
            auth_limiter: Arc::new(RateLimiter::new(
                config.auth_burst,
                config.auth_rate_per_minute,
            )),
            metrics,
            maps: Arc::new(maps),
            shutdown,
            spaces,
            session_limits: Arc::new(SessionLimits::default()),
            load,
            node_id: config.node_id(),
            coordinator: None,
            config: Arc::new(config),
            store,
        }
    }
}

type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Graceful shutdown: one signal, and hooks run once the server stopped accepting.
///
/// `plaza serve` triggers it on SIGINT/SIGTERM. Long-lived tasks (WebSocket sessions, tick
/// drivers) should `select!` on [`Shutdown::wait`] and wind down; work that must finish
/// before exit (flushing player positions) goes in [`Shutdown::on_shutdown`].
#[derive(Clone)]
pub struct Shutdown {
    signal: Arc<watch::Sender<bool>>,
    hooks: Arc<Mutex<Vec<(&'static str, Hook)>>>,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .finish_non_exhaustive()
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            signal: Arc::new(watch::channel(false).0),
            hooks: Arc::default(),
        }
    }
}

impl Shutdown {
    /// Longest time one hook may take before it is abandoned.
    pub const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

    /// Starts the shutdown (idempotent).
    pub fn trigger(&self) {
        self.signal.send_replace(true);
    }

    /// Whether the shutdown has started.
    pub fn is_triggered(&self) -> bool {
        *self.signal.borrow()
    }

    /// Resolves once the shutdown has started (at once if it already has).
    pub async fn wait(&self) {
        let mut rx = self.signal.subscribe();
        // The sender lives in `self`, so this only ends when the value becomes true.
        let _ = rx.wait_for(|triggered| *triggered).await;
    }

    /// Registers work to do after the server stopped accepting, before the process exits.
    /// Hooks run in registration order, each bounded by [`Shutdown::HOOK_TIMEOUT`].
    pub fn on_shutdown<F, Fut>(&self, name: &'static str, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Hook = Box::new(move || Box::pin(hook()));
        self.hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name, hook));
    }

    /// Runs (and removes) the registered hooks.
    pub async fn run_hooks(&self) {
        let hooks = std::mem::take(&mut *self.hooks.lock().unwrap_or_else(|e| e.into_inner()));
        for (name, hook) in hooks {
            tracing::info!(hook = name, "running shutdown hook");
            if tokio::time::timeout(Self::HOOK_TIMEOUT, hook())
                .await
                .is_err()
            {
                tracing::warn!(hook = name, "shutdown hook timed out");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn shutdown_signal_and_hooks() {
        let shutdown = Shutdown::default();
        let seen = Arc::new(AtomicU32::new(0));
        for i in 1..=2 {
            let seen = seen.clone();
            shutdown.on_shutdown("count", move || async move {
                seen.fetch_add(i, Ordering::SeqCst);
            });
        }
        let waiter = {
            let s = shutdown.clone();
            tokio::spawn(async move { s.wait().await })
        };
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        waiter.await.unwrap();
        shutdown.wait().await;
        shutdown.run_hooks().await;
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        shutdown.run_hooks().await; // hooks run once
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }
}
