//! Configuration: command-line flags, `PLAZA_*` environment variables and an optional TOML
//! file, in that order of precedence, over built-in defaults.
//!
//! ```toml
//! # plaza.toml — every key is optional
//! listen = "0.0.0.0:8080"
//! data_dir = "/var/lib/plaza"
//! database_url = "postgres://plaza@db/plaza"   # default: sqlite:<data_dir>/plaza.db
//! jwt_secret = "…"                              # default: generated once into <data_dir>/jwt_secret
//! web_dir = "web-client/dist"
//! assets_dir = "assets"
//! token_ttl_secs = 604800
//! chat_history = 200
//! tick_hz = 20
//! interest_threads = 1
//! tick_workers = 0                              # 0: one per core
//! unacked_limit_ms = 2000
//! auth_rate_per_minute = 30
//! auth_burst = 10
//! max_body_bytes = 65536
//! max_players_limit = 1000
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

/// `plaza`: the Plaza server.
#[derive(Debug, Parser)]
#[command(
    name = "plaza",
    version,
    about = "Plaza: a spatial simulation server for shared 2D worlds"
)]
pub struct Cli {
    /// TOML configuration file (flags and PLAZA_* variables override it).
    #[arg(long, global = true, env = "PLAZA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `plaza` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (REST, WebSocket, web client) until SIGINT/SIGTERM.
    Serve(Box<ServeArgs>),
    /// Run a swarm of bot players against a server; report latency, traffic and CPU.
    Bots(BotsArgs),
    /// Recommend nodes and a region placement from live per-region load and bench costs.
    Capacity(CapacityArgs),
}

/// Flags of `plaza serve`. Each may also come from its environment variable or the TOML file.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PLAZA_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Folder for the SQLite database and the generated JWT secret [default: ./data].
    #[arg(long, env = "PLAZA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite:PATH` or `postgres://…` [default: sqlite:DATA_DIR/plaza.db].
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Secret for signing JWTs [default: generated once into DATA_DIR/jwt_secret].
    #[arg(
        long,
        env = "PLAZA_JWT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    /// The built web client, served at `/` [default: web-client/dist].
    #[arg(long, env = "PLAZA_WEB_DIR", value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    /// Folder with `maps/*.json` and `tiles/` [default: assets].
    #[arg(long, env = "PLAZA_ASSETS_DIR", value_name = "DIR")]
    pub assets_dir: Option<PathBuf>,
    /// Lifetime of issued tokens, in seconds [default: 604800 = 7 days].
    #[arg(long, env = "PLAZA_TOKEN_TTL_SECS", value_name = "SECS")]
    pub token_ttl_secs: Option<u64>,
    /// Chat lines kept per space [default: 200].
    #[arg(long, env = "PLAZA_CHAT_HISTORY", value_name = "N")]
    pub chat_history: Option<u32>,
    /// Simulation ticks per second [default: 20].
    #[arg(long, env = "PLAZA_TICK_HZ", value_name = "HZ")]
    pub tick_hz: Option<u32>,
    /// Threads each space's interest pass (areas of interest and deltas) runs on: 1 keeps
    /// it on the space's tick thread; more give a busy space the node's other cores
    /// [default: 1].
    #[arg(long, env = "PLAZA_INTEREST_THREADS", value_name = "N")]
    pub interest_threads: Option<usize>,
    /// Threads that tick all of the node's spaces (0: one per core) [default: 0].
    #[arg(long, env = "PLAZA_TICK_WORKERS", value_name = "N")]
    pub tick_workers: Option<usize>,
    /// A client whose snapshots stay unacknowledged this long (it does not read) is closed
    /// as too slow, error 11 [default: 2000].
    #[arg(long, env = "PLAZA_UNACKED_LIMIT_MS", value_name = "MS")]
    pub unacked_limit_ms: Option<u64>,
    /// Sustained auth requests per minute per client IP [default: 30].
    #[arg(long, env = "PLAZA_AUTH_RATE_PER_MINUTE", value_name = "N")]
    pub auth_rate_per_minute: Option<u32>,
    /// Auth requests a client IP may burst before being limited [default: 10].
    #[arg(long, env = "PLAZA_AUTH_BURST", value_name = "N")]
    pub auth_burst: Option<u32>,
    /// Largest accepted REST request body, in bytes [default: 65536].
    #[arg(long, env = "PLAZA_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest `max_players` a space may be created with [default: 1000].
    #[arg(long, env = "PLAZA_MAX_PLAYERS_LIMIT", value_name = "N")]
    pub max_players_limit: Option<u32>,
    /// Side of a region in tiles (default 64). Every node of a cluster must agree.
    #[arg(long, env = "PLAZA_REGION_SIZE", value_name = "TILES")]
    pub region_size: Option<u32>,
    /// PostgreSQL schema to use (created when missing), so several deployments or tests can
    /// share one database.
    #[arg(long, env = "PLAZA_PG_SCHEMA", value_name = "SCHEMA")]
    pub pg_schema: Option<String>,
    /// Run as one node of a cluster sharing Redis (`--redis-url`) and the database.
    #[arg(long, env = "PLAZA_CLUSTER")]
    pub cluster: bool,
    /// Redis of the cluster (default redis://127.0.0.1:6379).
    #[arg(long, env = "REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel of the cluster (default `plaza`).
    #[arg(long, env = "PLAZA_REDIS_PREFIX", value_name = "PREFIX")]
    pub redis_prefix: Option<String>,
    /// This node's id in the cluster (default `node-<port>`).
    #[arg(long, env = "PLAZA_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,
    /// The base URL clients reach this node at (default `http://<listen>`).
    #[arg(long, env = "PLAZA_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Region lease lifetime in milliseconds; renewed every third of it (default 5000).
    #[arg(long, env = "PLAZA_LEASE_TTL_MS", value_name = "MS")]
    pub lease_ttl_ms: Option<u64>,
    /// A region this node serves first, as `COL,ROW` (repeat the flag; the same for every
    /// space). Other regions are claimed when nobody serves them.
    #[arg(
        long = "pin",
        env = "PLAZA_PINS",
        value_name = "COL,ROW",
        value_delimiter = ';'
    )]
    pub pins: Vec<String>,
}

/// The highest `max_players_limit` accepted.
pub const MAX_PLAYERS_LIMIT_CEILING: u32 = 100_000;

/// Flags of `plaza bots` (see [`crate::bots`]).
#[derive(Debug, Args)]
pub struct BotsArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub url: String,
    /// Space to join [default: create a public space for the run].
    #[arg(long, value_name = "ID")]
    pub space: Option<String>,
    /// Number of bots.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub count: usize,
    /// Spaces the run creates and spreads the bots over (bot i joins space i mod N): many
    /// small spaces on one node, e.g. `--count 1000 --spaces 200` for groups of 5.
    #[arg(long, default_value_t = 1, value_name = "N", conflicts_with = "space")]
    pub spaces: usize,
    /// Seconds of the measured phase (after the ramp-up).
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub duration: f64,
    /// Seconds over which the bots connect [default: count / 200, at least 1].
    #[arg(long, value_name = "S")]
    pub ramp: Option<f64>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// How the bots move.
    #[arg(long, value_enum, default_value_t = crate::bots::Behaviour::RandomWalk)]
    pub behaviour: crate::bots::Behaviour,
    /// Chat lines per bot per minute (0: none).
    #[arg(long, default_value_t = 1.0, value_name = "R")]
    pub chat_per_minute: f64,
    /// Milliseconds between two inputs of one bot.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub input_interval_ms: u64,
    /// Map of the space the run creates.
    #[arg(long, value_enum, default_value_t = crate::bots::BotMap::Campus)]
    pub map: crate::bots::BotMap,
    /// Threads of the bots' runtime (1: single-threaded).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    /// Logins and handshakes in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub login_concurrency: usize,
    /// Seed of the bots' movement and timing.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Flags of `plaza capacity` (see [`crate::capacity`]).
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("load").required(true).args(["report", "from"])))]
pub struct CapacityArgs {
    /// Load report: one node's `GET /api/admin/regions` answer, a JSON array of them, or
    /// `{"nodes": [...]}`.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Fetch the load live from this node's `/api/admin/regions` instead (repeat per node).
    #[arg(long, value_name = "URL", requires = "token")]
    pub from: Vec<String>,
    /// Admin bearer token for `--from`.
    #[arg(
        long,
        env = "PLAZA_ADMIN_TOKEN",
        value_name = "JWT",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Bench samples to fit the cost model [default: those built in from
    /// benches/tick-samples.json].
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// Target tick time per node, in milliseconds.
    #[arg(long, default_value_t = 25.0, value_name = "MS")]
    pub target_tick_ms: f64,
    /// Share of the target kept free on every node (0 ≤ H < 1).
    #[arg(long, default_value_t = 0.3, value_name = "H")]
    pub headroom: f64,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// The TOML file: the same keys as [`ServeArgs`], in snake case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`ServeArgs::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`ServeArgs::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`ServeArgs::database_url`].
    pub database_url: Option<String>,
    /// See [`ServeArgs::jwt_secret`].
    pub jwt_secret: Option<String>,
    /// See [`ServeArgs::web_dir`].
    pub web_dir: Option<PathBuf>,
    /// See [`ServeArgs::assets_dir`].
    pub assets_dir: Option<PathBuf>,
    /// See [`ServeArgs::token_ttl_secs`].
    pub token_ttl_secs: Option<u64>,
    /// See [`ServeArgs::chat_history`].
    pub chat_history: Option<u32>,
    /// See [`ServeArgs::tick_hz`].
    pub tick_hz: Option<u32>,
    /// See [`ServeArgs::interest_threads`].
    pub interest_threads: Option<usize>,
    /// See [`ServeArgs::tick_workers`].
    pub tick_workers: Option<usize>,
    /// See [`ServeArgs::unacked_limit_ms`].
    pub unacked_limit_ms: Option<u64>,
    /// See [`ServeArgs::auth_rate_per_minute`].
    pub auth_rate_per_minute: Option<u32>,
    /// See [`ServeArgs::auth_burst`].
    pub auth_burst: Option<u32>,
    /// See [`ServeArgs::max_body_bytes`].
    pub max_body_bytes: Option<usize>,
    /// See [`ServeArgs::max_players_limit`].
    pub max_players_limit: Option<u32>,
    /// Region side in tiles.
    pub region_size: Option<u32>,
    /// PostgreSQL schema.
    pub pg_schema: Option<String>,
    /// Run as a cluster node.
    #[serde(default)]
    pub cluster: bool,
    /// Redis URL of the cluster.
    pub redis_url: Option<String>,
    /// Redis key prefix.
    pub redis_prefix: Option<String>,
    /// Node id.
    pub node_id: Option<String>,
    /// Public base URL.
    pub public_url: Option<String>,
    /// Lease lifetime (ms).
    pub lease_ttl_ms: Option<u64>,
    /// Pinned regions, `COL,ROW`.
    #[serde(default)]
    pub pins: Vec<String>,
}

/// Errors while reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The TOML file is not valid.
    #[error("invalid config file {path}: {cause}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: toml::de::Error,
    },
    /// A value is out of range.
    #[error("invalid setting {key}: {reason}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

/// The cluster settings of a node (`--cluster`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Redis URL.
    pub redis_url: String,
    /// Prefix of every key and channel.
    pub redis_prefix: String,
    /// This node's id.
    pub node_id: String,
    /// The base URL clients reach this node at.
    pub public_url: String,
    /// Region lease lifetime, in milliseconds.
    pub lease_ttl_ms: u64,
    /// Regions this node serves first.
    pub pins: Vec<sim::RegionId>,
}

/// The resolved settings of `plaza serve`.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder for the SQLite database and the generated JWT secret.
    pub data_dir: PathBuf,
    /// Database URL (`sqlite:…` or `postgres://…`).
    pub database_url: String,
    /// JWT signing secret, if configured; else one is generated into `data_dir`.
    pub jwt_secret: Option<String>,
    /// The built web client.
    pub web_dir: PathBuf,
    /// Folder with `maps/*.json` and `tiles/`.
    pub assets_dir: PathBuf,
    /// Lifetime of issued tokens, in seconds.
    pub token_ttl_secs: u64,
    /// Chat lines kept per space.
    pub chat_history: u32,
    /// Simulation ticks per second.
    pub tick_hz: u32,
    /// Threads of each space's interest pass.
    pub interest_threads: usize,
    /// Threads that tick the node's spaces (0: one per core).
    pub tick_workers: usize,
    /// Milliseconds a snapshot may stay unacknowledged before its client is closed.
    pub unacked_limit_ms: u64,
    /// Sustained auth requests per minute per client IP.
    pub auth_rate_per_minute: u32,
    /// Auth request burst per client IP.
    pub auth_burst: u32,
    /// Largest accepted REST request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest `max_players` a space may be created with.
    pub max_players_limit: u32,
    /// Side of a region in tiles.
    pub region_size: u32,
    /// PostgreSQL schema (default: the connection's).
    pub pg_schema: Option<String>,
    /// Cluster settings; `None` on a single node.
    pub cluster: Option<ClusterConfig>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig::resolve(ServeArgs::default(), FileConfig::default())
            .expect("defaults are valid")
    }
}

impl ServeConfig {
    /// Defaults for a server whose data lives in `data_dir` (handy in tests).
    pub fn with_data_dir(data_dir: &Path) -> ServeConfig {
        ServeConfig::resolve(
            ServeArgs {
                data_dir: Some(data_dir.to_owned()),
                ..ServeArgs::default()
            },
            FileConfig::default(),
        )
        .expect("defaults are valid")
    }

    /// Reads the optional TOML file and merges: flags/env over file over defaults.
    pub fn load(args: ServeArgs, file: Option<&Path>) -> Result<ServeConfig, ConfigError> {
        let file_config = match file {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
                    path: path.to_owned(),
                    cause,
                })?;
                toml::from_str(&text).map_err(|cause| ConfigError::Parse {
                    path: path.to_owned(),
                    cause,
                })?
            }
        };
        ServeConfig::resolve(args, file_config)
    }

    /// Merges flags/env (`args`) over the file over defaults, and checks ranges.
    pub fn resolve(args: ServeArgs, file: FileConfig) -> Result<ServeConfig, ConfigError> {
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = args
            .database_url
            .or(file.database_url)
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| format!("sqlite:{}", data_dir.join("plaza.db").display()));
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let cluster = if args.cluster || file.cluster {
            let pins = if args.pins.is_empty() {
                file.pins
            } else {
                args.pins
            };
            Some(ClusterConfig {
                redis_url: args
                    .redis_url
                    .or(file.redis_url)
                    .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
                redis_prefix: args
                    .redis_prefix
                    .or(file.redis_prefix)
                    .unwrap_or_else(|| "plaza".into()),
                node_id: args
                    .node_id
                    .or(file.node_id)
                    .unwrap_or_else(|| format!("node-{}", listen.port())),
                public_url: args
                    .public_url
                    .or(file.public_url)
                    .unwrap_or_else(|| format!("http://{listen}")),
                lease_ttl_ms: args.lease_ttl_ms.or(file.lease_ttl_ms).unwrap_or(5000),
                pins: pins
                    .iter()
                    .map(|p| parse_pin(p))
                    .collect::<Result<_, _>>()?,
            })
        } else {
            None
        };
        let config = ServeConfig {
            listen,
            region_size: args.region_size.or(file.region_size).unwrap_or(64),
            pg_schema: args.pg_schema.or(file.pg_schema),
            cluster,
            database_url,
            jwt_secret: args
                .jwt_secret
                .or(file.jwt_secret)
                .filter(|s| !s.is_empty()),
            web_dir: args
                .web_dir
                .or(file.web_dir)
                .unwrap_or_else(|| PathBuf::from("web-client/dist")),
            assets_dir: args
                .assets_dir
                .or(file.assets_dir)
                .unwrap_or_else(|| PathBuf::from("assets")),
            token_ttl_secs: args
                .token_ttl_secs
                .or(file.token_ttl_secs)
                .unwrap_or(7 * 24 * 3600),
            chat_history: args.chat_history.or(file.chat_history).unwrap_or(200),
            tick_hz: args.tick_hz.or(file.tick_hz).unwrap_or(20),
            interest_threads: args.interest_threads.or(file.interest_threads).unwrap_or(1),
            tick_workers: args.tick_workers.or(file.tick_workers).unwrap_or(0),
            unacked_limit_ms: args
                .unacked_limit_ms
                .or(file.unacked_limit_ms)
                .unwrap_or(2000),
            auth_rate_per_minute: args
                .auth_rate_per_minute
                .or(file.auth_rate_per_minute)
                .unwrap_or(30),
            auth_burst: args.auth_burst.or(file.auth_burst).unwrap_or(10),
            max_body_bytes: args
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(64 * 1024),
            max_players_limit: args
                .max_players_limit
                .or(file.max_players_limit)
                .unwrap_or(crate::http::spaces::MAX_PLAYERS_LIMIT),
            data_dir,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            })
        };
        if let Some(secret) = &self.jwt_secret
            && secret.len() < 16
        {
            return invalid("jwt_secret", "must be at least 16 bytes");
        }
        if self.token_ttl_secs < 60 {
            return invalid("token_ttl_secs", "must be at least 60");
        }
        if self.chat_history == 0 {
            return invalid("chat_history", "must be at least 1");
        }
        if !(1..=1000).contains(&self.tick_hz) {
            return invalid("tick_hz", "must be in 1..=1000");
        }
        if !(1..=64).contains(&self.interest_threads) {
            return invalid("interest_threads", "must be in 1..=64");
        }
        if self.tick_workers > 256 {
            return invalid("tick_workers", "must be in 0..=256");
        }
        if self.unacked_limit_ms < 500 {
            return invalid("unacked_limit_ms", "must be at least 500");
        }
        if self.auth_rate_per_minute == 0 || self.auth_burst == 0 {
            return invalid("auth_rate_per_minute/auth_burst", "must be at least 1");
        }
        if self.max_body_bytes < 1024 {
            return invalid("max_body_bytes", "must be at least 1024");
        }
        if !(1..=MAX_PLAYERS_LIMIT_CEILING).contains(&self.max_players_limit) {
            return invalid("max_players_limit", "must be in 1..=100000");
        }
        if !(1..=4096).contains(&self.region_size) {
            return invalid("region_size", "must be in 1..=4096");
        }
        if let Some(cluster) = &self.cluster {
            if cluster.lease_ttl_ms < 300 {
                return invalid("lease_ttl_ms", "must be at least 300");
            }
            if cluster.node_id.is_empty() || cluster.node_id.contains(['/', ' ']) {
                return invalid("node_id", "must be non-empty, without '/' or spaces");
            }
            if self.jwt_secret.is_none() {
                return invalid(
                    "jwt_secret",
                    "a cluster needs one secret shared by every node (--jwt-secret)",
                );
            }
        }
        Ok(())
    }

    /// This node's id: the cluster's, or `node-<port>`.
    pub fn node_id(&self) -> String {
        self.cluster.as_ref().map_or_else(
            || format!("node-{}", self.listen.port()),
            |c| c.node_id.clone(),
        )
    }
}

/// Parses a pin, `COL,ROW`.
fn parse_pin(pin: &str) -> Result<sim::RegionId, ConfigError> {
    let bad = || ConfigError::Invalid {
        key: "pin",
        reason: format!("{pin:?} is not COL,ROW"),
    };
    let (col, row) = pin.split_once(',').ok_or_else(bad)?;
    Ok(sim::RegionId {
        col: col.trim().parse().map_err(|_| bad())?,
        row: row.trim().parse().map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = ServeConfig::default();
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.database_url, "sqlite:data/plaza.db");
        assert_eq!(c.web_dir, PathBuf::from("web-client/dist"));
        assert!(c.jwt_secret.is_none());
    }

    #[test]
    fn flags_override_file_override_defaults() {
        let file: FileConfig = toml::from_str(
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/plaza\"\nchat_history = 50\n",
        )
        .unwrap();
        let args = ServeArgs {
            listen: Some("127.0.0.1:7000".parse().unwrap()),
            ..ServeArgs::default()
        };
        let c = ServeConfig::resolve(args, file).unwrap();
        assert_eq!(c.listen, "127.0.0.1:7000".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("/srv/plaza"));
        assert_eq!(c.database_url, "sqlite:/srv/plaza/plaza.db");
        assert_eq!(c.chat_history, 50);
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_errors() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        let short = ServeArgs {
            jwt_secret: Some("short".into()),
            ..ServeArgs::default()
        };
        assert!(matches!(
            ServeConfig::resolve(short, FileConfig::default()),
            Err(ConfigError::Invalid {
                key: "jwt_secret",
                ..
            })
        ));
        let none: FileConfig = toml::from_str("interest_threads = 0").unwrap();
        assert!(matches!(
            ServeConfig::resolve(ServeArgs::default(), none),
            Err(ConfigError::Invalid {
                key: "interest_threads",
                ..
            })
        ));
        assert_eq!(ServeConfig::default().interest_threads, 1);
    }

    #[test]
    fn cli_parses_serve() {
        let cli = Cli::try_parse_from(["plaza", "serve", "--listen", "127.0.0.1:9999"]).unwrap();
        #[allow(unreachable_patterns)]
        match cli.command {
            Command::Serve(args) => {
                assert_eq!(args.listen, Some("127.0.0.1:9999".parse().unwrap()))
            }
            _ => panic!("expected serve"),
        }
    }
}
