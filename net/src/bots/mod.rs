//! `plaza bots`: a swarm of bot players speaking the real protocol, for load runs.
//!
//! Each bot logs in as a guest (`POST /api/auth/guest`), opens `/ws?space=…`, says Hello,
//! then moves by its [`Behaviour`], chats at a set rate, applies every Snapshot to a
//! [`schema::ClientMirror`] and acknowledges it. A message that does not decode or apply is
//! a protocol error and ends that bot. The bots connect gradually over the ramp-up; once all
//! have joined (or failed) the measured phase runs for the configured duration and [`run`]
//! returns a [`BotsReport`]:
//! connections, errors by kind, input → echo latency (HdrHistogram), bytes and messages per
//! client per second, the bots' own CPU, and the server's CPU per client-tick from its
//! `/metrics` (`process_cpu_seconds_total` and the space's tick counter).
//!
//! All bots run on one small tokio runtime (one thread by default), so they cost little and
//! their CPU is measured exactly (the runtime threads' CPU time).
//!
//! The server rate-limits guest logins per IP (`--auth-rate-per-minute`, `--auth-burst`,
//! default 30/min with a burst of 10): for a run of N bots from one machine start the
//! server with e.g. `--auth-burst N --auth-rate-per-minute N`, else most logins get 429
//! (`login_rate_limited` in the report). Spaces hold at most `--max-players-limit` players
//! (default 1000): raise it for bigger runs.
//!
//! ```no_run
//! use std::time::Duration;
//! use net::bots::{BotsConfig, run};
//! let report = run(BotsConfig {
//!     count: 50,
//!     duration: Duration::from_secs(10),
//!     ..BotsConfig::new("http://127.0.0.1:8080")
//! })?;
//! println!("{}", report.table());
//! # Ok::<(), net::bots::BotsError>(())
//! ```

mod behaviour;
mod bot;
mod report;
mod scrape;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::Semaphore;

pub use behaviour::Behaviour;
pub use report::{BotCost, BotsReport, LatencyReport, Rates, ServerCost, Totals};

use bot::{Live, Phase, Shared};

/// Time between the end of the ramp-up and the start of the measured phase.
const SETTLE: Duration = Duration::from_secs(1);
/// Longest wait after the ramp-up for the last bots to join.
const JOIN_GRACE: Duration = Duration::from_secs(60);

/// The map of the space a run creates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BotMap {
    /// The small office (40×30; a few hundred players at most).
    Office,
    /// The large campus (512×512, 1024 spawn points): for load.
    #[default]
    Campus,
    /// An open 100×100 square (1,089 spawn points): a dense crowd, dozens in every view.
    Arena,
}

impl BotMap {
    /// The map id.
    pub fn id(self) -> &'static str {
        match self {
            BotMap::Office => "office",
            BotMap::Campus => "campus",
            BotMap::Arena => "arena",
        }
    }
}

/// Settings of a bot run.
#[derive(Clone, Debug)]
pub struct BotsConfig {
    /// The server, `http://host:port`.
    pub url: String,
    /// The space to join; `None`: create public spaces for the run.
    pub space: Option<String>,
    /// Spaces the run creates (without `space`); bot `i` joins space `i % spaces`.
    pub spaces: usize,
    /// Number of bots.
    pub count: usize,
    /// Length of the measured phase (after the ramp-up).
    pub duration: Duration,
    /// Time over which the bots connect; `None`: `count / 200` seconds, at least 1 s.
    pub ramp: Option<Duration>,
    /// How the bots move.
    pub behaviour: Behaviour,
    /// Chat lines per bot per minute (0: none).
    pub chat_per_minute: f64,
    /// Time between two inputs of one bot.
    pub input_interval: Duration,
    /// Map of the space the run creates.
    pub map: BotMap,
    /// Threads of the bots' runtime (1: single-threaded).
    pub threads: usize,
    /// Logins + handshakes in flight at once.
    pub login_concurrency: usize,
    /// Seed of the bots' movement and timing.
    pub seed: u64,
    /// Show a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

impl BotsConfig {
    /// Defaults against `url`: 100 random walkers, 30 s, campus, 1 chat line per minute,
    /// an input every 500 ms, one thread.
    pub fn new(url: &str) -> BotsConfig {
        BotsConfig {
            url: url.to_owned(),
            space: None,
            spaces: 1,
            count: 100,
            duration: Duration::from_secs(30),
            ramp: None,
            behaviour: Behaviour::RandomWalk,
            chat_per_minute: 1.0,
            input_interval: Duration::from_millis(500),
            map: BotMap::Campus,
            threads: 1,
            login_concurrency: 16,
            seed: 1,
            progress: false,
        }
    }

    /// The ramp-up time actually used.
    pub fn ramp(&self) -> Duration {
        self.ramp
            .unwrap_or_else(|| Duration::from_secs_f64((self.count as f64 / 200.0).max(1.0)))
    }

    fn check(&self) -> Result<(), BotsError> {
        let invalid = |what: &str| Err(BotsError::Config(what.to_owned()));
        if self.count == 0 {
            return invalid("count must be at least 1");
        }
        if self.spaces == 0 || self.spaces > self.count {
            return invalid("spaces must be in 1..=count");
        }
        if self.spaces > 1 && self.space.is_some() {
            return invalid("give either a space to join or a number of spaces to create");
        }
        if self.duration.is_zero() {
            return invalid("duration must be positive");
        }
        if self.input_interval < Duration::from_millis(10) {
            return invalid("input interval must be at least 10 ms");
        }
        if !(0.0..=600.0).contains(&self.chat_per_minute) {
            return invalid("chat per minute must be in 0..=600");
        }
        if !(1..=64).contains(&self.threads) || self.login_concurrency == 0 {
            return invalid("threads must be in 1..=64 and login concurrency at least 1");
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return invalid("url must start with http:// or https://");
        }
        Ok(())
    }
}

/// Why a bot run could not run (failures of single bots are in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum BotsError {
    /// The settings are invalid.
    #[error("invalid bot settings: {0}")]
    Config(String),
    /// The bots' runtime could not start.
    #[error("cannot start the bots' runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Logging in or creating the space failed.
    #[error("cannot prepare the run: {0}")]
    Setup(String),
}

/// Runs a swarm on its own tokio runtime and blocks until it is done. Call it from a plain
/// thread (or `tokio::task::spawn_blocking`), not from inside an async task.
pub fn run(config: BotsConfig) -> Result<BotsReport, BotsError> {
    config.check()?;
    let thread_nanos = Arc::new(AtomicU64::new(0));
    let mut builder = if config.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(config.threads);
        b
    };
    let on_stop = thread_nanos.clone();
    builder
        .enable_all()
        .thread_name("plaza-bots")
        .on_thread_stop(move || {
            on_stop.fetch_add(thread_cpu_nanos(), Ordering::Relaxed);
        });
    let runtime = builder.build().map_err(BotsError::Runtime)?;
    let started = Instant::now();
    let caller_before = thread_cpu_nanos();
    let result = runtime.block_on(swarm(&config));
    // Joins the runtime's threads, so their CPU time is added up.
    drop(runtime);
    let caller = thread_cpu_nanos().saturating_sub(caller_before);
    let wall = started.elapsed().as_secs_f64();
    let mut report = result?;
    let cpu = (caller + thread_nanos.load(Ordering::Relaxed)) as f64 / 1e9;
    report.bot_process.cpu_seconds = cpu;
    report.bot_process.wall_seconds = wall;
    report.bot_process.cpu_percent = if wall > 0.0 { cpu / wall * 100.0 } else { 0.0 };
    Ok(report)
}

/// CPU time of the calling thread so far, in ns (0 when unavailable).
fn thread_cpu_nanos() -> u64 {
    cpu_time::ThreadTime::try_now().map_or(0, |t| {
        u64::try_from(t.as_duration().as_nanos()).unwrap_or(u64::MAX)
    })
}

fn latency_histogram() -> Histogram<u64> {
    // 1 µs … 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

async fn swarm(config: &BotsConfig) -> Result<BotsReport, BotsError> {
    let base = config.url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| BotsError::Setup(format!("http client: {e}")))?;
    let (spaces, map) = match &config.space {
        Some(space) => (vec![space.clone()], None),
        None => (
            create_spaces(&http, &base, config).await?,
            Some(config.map.id().to_owned()),
        ),
    };
    let ramp = config.ramp();
    let t0 = Instant::now();
    let chat_interval = (config.chat_per_minute > 0.0)
        .then(|| Duration::from_secs_f64(60.0 / config.chat_per_minute));
    let shared = Arc::new(Shared {
        base: base.clone(),
        spaces: spaces.clone(),
        phase: OnceLock::new(),
        input_interval: config.input_interval,
        chat_interval,
        behaviour: config.behaviour,
        seed: config.seed,
        http: http.clone(),
        login_gate: Semaphore::new(config.login_concurrency),
        latency: Mutex::new(latency_histogram()),
        errors: Mutex::new(BTreeMap::new()),
        protocol_samples: Mutex::new(Vec::new()),
        live: Live::default(),
        tick_hz: AtomicU32::new(0),
    });

    let bar = progress_bar(config.progress, ramp + SETTLE + config.duration);
    let progress = tokio::spawn(show_progress(bar.clone(), shared.clone(), config.count, t0));

    let step = ramp.div_f64(config.count as f64);
    let bots: Vec<_> = (0..config.count)
        .map(|i| {
            let start = t0 + step.mul_f64(i as f64);
            tokio::spawn(bot::run(i, start, shared.clone()))
        })
        .collect();
    // The measured phase starts once every bot has joined or failed (at the earliest after
    // the ramp-up, at the latest a minute after it).
    let latest = t0 + ramp + JOIN_GRACE;
    loop {
        let live = &shared.live;
        let done = live.connected.load(Ordering::Relaxed) + live.failed.load(Ordering::Relaxed);
        if done >= config.count as u64 || Instant::now() >= latest {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let steady_start = (Instant::now() + SETTLE).max(t0 + ramp + SETTLE);
    let end = steady_start + config.duration;
    let _ = shared.phase.set(Phase { steady_start, end });
    bar.set_length((end - t0).as_millis() as u64);
    let ramp_used = steady_start - SETTLE - t0;
    let sampler = tokio::spawn(sample_server(
        http.clone(),
        base.clone(),
        spaces.clone(),
        steady_start,
        end,
    ));
    let lag = tokio::spawn(scheduler_lag(steady_start, end));
    let mut outcomes = Vec::with_capacity(bots.len());
    for handle in bots {
        match handle.await {
            Ok(outcome) => outcomes.push(outcome),
            Err(_) => {
                shared.error("bot_panicked");
                outcomes.push(bot::Outcome::default());
            }
        }
    }
    progress.abort();
    bar.finish_and_clear();
    let window = sampler.await.unwrap_or_default();
    let lag = lag.await.unwrap_or_else(|_| latency_histogram());

    let (connected, connected_at_end, totals, unechoed) = report::sum_outcomes(&outcomes);
    let errors = shared
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let latency = LatencyReport::from_histogram(
        &shared.latency.lock().unwrap_or_else(|e| e.into_inner()),
        unechoed,
    );
    let figures = window.figures();
    let server = figures.as_ref().and_then(ServerCost::from_figures);
    let server_note = match (&figures, &server) {
        (_, Some(_)) if window.failures > 0 => {
            Some(format!("{} /metrics scrapes failed", window.failures))
        }
        (_, Some(_)) => None,
        (None, _) => Some(format!(
            "could not read {base}/metrics ({} failures)",
            window.failures
        )),
        (Some(_), None) => Some("the server's /metrics has no process_cpu_seconds_total".into()),
    };
    Ok(BotsReport {
        url: base,
        space: spaces[0].clone(),
        spaces: spaces.len(),
        map,
        behaviour: config.behaviour,
        bots: config.count,
        duration_s: config.duration.as_secs_f64(),
        ramp_s: ramp_used.as_secs_f64(),
        tick_hz: shared.tick_hz.load(Ordering::Relaxed),
        input_interval_ms: config.input_interval.as_secs_f64() * 1000.0,
        chat_per_minute: config.chat_per_minute,
        connected,
        connected_at_end,
        failed: shared.live.failed.load(Ordering::Relaxed),
        mean_connected: totals.client_seconds / config.duration.as_secs_f64(),
        joined_late: outcomes.iter().filter(|o| o.joined_late).count() as u64,
        protocol_errors: errors.get("protocol").copied().unwrap_or(0),
        protocol_error_samples: shared
            .protocol_samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        errors,
        latency_ms: latency,
        per_client_per_second: Rates::from_totals(&totals),
        totals,
        bot_process: BotCost {
            threads: config.threads,
            scheduler_lag_p99_ms: lag.value_at_quantile(0.99) as f64 / 1000.0,
            scheduler_lag_max_ms: lag.max() as f64 / 1000.0,
            ..BotCost::default()
        },
        server,
        server_note,
    })
}

/// A setup failure: what failed, and why.
fn setup(what: &str, e: &dyn std::fmt::Display) -> BotsError {
    BotsError::Setup(format!("{what}: {e}"))
}

/// Logs in a host guest and creates the run's public spaces, each sized for its bots.
async fn create_spaces(
    http: &reqwest::Client,
    base: &str,
    config: &BotsConfig,
) -> Result<Vec<String>, BotsError> {
    let response = http
        .post(format!("{base}/api/auth/guest"))
        .json(&serde_json::json!({ "name": "bots-host" }))
        .send()
        .await
        .map_err(|e| setup("guest login", &e))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(BotsError::Setup(format!("guest login: {status} {body}")));
    }
    let login: crate::client::Login = response
        .json()
        .await
        .map_err(|e| setup("guest login", &e))?;
    let per_space = config.count.div_ceil(config.spaces);
    let max_players = u32::try_from(per_space).unwrap_or(u32::MAX);
    let mut ids = Vec::with_capacity(config.spaces);
    for n in 0..config.spaces {
        let name = format!("bots {} {:?} #{n}", per_space, config.behaviour);
        ids.push(create_space(http, base, &login.token, &name, config.map, max_players).await?);
    }
    Ok(ids)
}

/// Creates one public space.
async fn create_space(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    map: BotMap,
    max_players: u32,
) -> Result<String, BotsError> {
    let response = http
        .post(format!("{base}/api/spaces"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "name": name,
            "map": map.id(),
            "public": true,
            "max_players": max_players,
        }))
        .send()
        .await
        .map_err(|e| setup("create space", &e))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| setup("create space", &e))?;
    if !status.is_success() {
        let hint = if body["error"] == "invalid_max_players" {
            " (start the server with a larger --max-players-limit)"
        } else {
            ""
        };
        return Err(BotsError::Setup(format!(
            "create space: {status} {body}{hint}"
        )));
    }
    body["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BotsError::Setup(format!("create space: no id in {body}")))
}

/// Scrapes `/metrics` once a second through the measured phase.
async fn sample_server(
    http: reqwest::Client,
    base: String,
    spaces: Vec<String>,
    steady_start: Instant,
    end: Instant,
) -> scrape::Window {
    let mut window = scrape::Window::default();
    let last = end - Duration::from_millis(250);
    let mut next = steady_start;
    loop {
        tokio::time::sleep_until(next.into()).await;
        match scrape::scrape(&http, &base, &spaces).await {
            Ok((at, sample)) => window.push(at, sample),
            Err(_) => window.failures += 1,
        }
        if next >= last {
            return window;
        }
        next = (next + Duration::from_secs(1))
            .min(last)
            .max(Instant::now());
    }
}

/// How late a 10 ms timer fires on the bots' runtime during the measured phase (µs).
async fn scheduler_lag(steady_start: Instant, end: Instant) -> Histogram<u64> {
    let mut lag = latency_histogram();
    let period = Duration::from_millis(10);
    tokio::time::sleep_until(steady_start.into()).await;
    while Instant::now() < end {
        let asked = Instant::now() + period;
        tokio::time::sleep_until(asked.into()).await;
        let late = Instant::now().saturating_duration_since(asked).as_micros();
        lag.saturating_record(u64::try_from(late).unwrap_or(u64::MAX).max(1));
    }
    lag
}

fn progress_bar(enabled: bool, total: Duration) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total.as_millis() as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {percent:>3}% {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

async fn show_progress(bar: ProgressBar, shared: Arc<Shared>, count: usize, t0: Instant) {
    let mut last = (Instant::now(), 0u64, 0u64);
    let mut every = tokio::time::interval(Duration::from_millis(500));
    loop {
        every.tick().await;
        let now = Instant::now();
        let live = &shared.live;
        let bytes = live.bytes_in.load(Ordering::Relaxed);
        let messages = live.messages_in.load(Ordering::Relaxed);
        let dt = now.duration_since(last.0).as_secs_f64().max(1e-3);
        let phase = match shared.phase.get() {
            None => "joining",
            Some(p) if now < p.steady_start => "settling",
            Some(p) if now < p.end => "measuring",
            Some(_) => "closing",
        };
        bar.set_position(now.duration_since(t0).as_millis() as u64);
        bar.set_message(format!(
            "{phase}: {}/{count} connected, {} live, {} failed | in {:.2} MB/s, {:.0} msg/s",
            live.connected.load(Ordering::Relaxed),
            live.alive.load(Ordering::Relaxed),
            live.failed.load(Ordering::Relaxed),
            (bytes - last.1) as f64 / dt / 1e6,
            (messages - last.2) as f64 / dt,
        ));
        last = (now, bytes, messages);
    }
}
