//! `plaza`: the Plaza server binary. See `plaza --help`.

use anyhow::Context as _;
use clap::Parser as _;
use net::config::{BotsArgs, CapacityArgs, Cli, Command, ServeArgs, ServeConfig};
use net::{AppState, Shutdown};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(*args, cli.config.as_deref()).await,
        Command::Bots(args) => bots(args).await,
        Command::Capacity(args) => capacity(args).await,
    }
}

async fn serve(args: ServeArgs, config_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = ServeConfig::load(args, config_file)?;
    let listen = config.listen;
    let web_dir = config.web_dir.clone();
    let state = AppState::open(config).await.context("cannot start")?;
    tracing::info!(backend = ?state.store.backend(), "database ready");
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    if !web_dir.join("index.html").is_file() {
        tracing::warn!(dir = %web_dir.display(), "web client not built; serving the API only");
    }
    let mut open = addr;
    if open.ip().is_unspecified() {
        open.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    tracing::info!("Plaza is up (listening on {addr}): open http://{open}/");
    tokio::spawn(trigger_on_signal(state.shutdown.clone()));
    net::serve(listener, state).await?;
    tracing::info!("bye");
    Ok(())
}

/// `plaza bots`: runs the swarm on its own small runtime, prints the table, writes the JSON;
/// fails when any bot failed or any error was counted.
async fn bots(args: BotsArgs) -> anyhow::Result<()> {
    if !args.duration.is_finite() || args.duration <= 0.0 {
        anyhow::bail!("--duration must be a positive number of seconds");
    }
    let ramp = match args.ramp {
        Some(r) if !r.is_finite() || r < 0.0 => anyhow::bail!("--ramp must be >= 0 seconds"),
        r => r.map(std::time::Duration::from_secs_f64),
    };
    let config = net::bots::BotsConfig {
        url: args.url,
        space: args.space,
        spaces: args.spaces,
        count: args.count,
        duration: std::time::Duration::from_secs_f64(args.duration),
        ramp,
        behaviour: args.behaviour,
        chat_per_minute: args.chat_per_minute,
        input_interval: std::time::Duration::from_millis(args.input_interval_ms),
        map: args.map,
        threads: args.threads,
        login_concurrency: args.login_concurrency,
        seed: args.seed,
        progress: !args.quiet,
    };
    let report = tokio::task::spawn_blocking(move || net::bots::run(config))
        .await
        .context("the bot swarm panicked")??;
    println!("plaza bots\n{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("  report written to {}", path.display());
    }
    if !report.is_clean() {
        let hint = if report.errors.contains_key("login_rate_limited") {
            " (start the server with a larger --auth-burst / --auth-rate-per-minute)"
        } else {
            ""
        };
        anyhow::bail!(
            "{} of {} bots connected, {} at the end; errors: {:?}{hint}",
            report.connected,
            report.bots,
            report.connected_at_end,
            report.errors
        );
    }
    Ok(())
}

/// `plaza capacity`: reads the load (file or live) and the bench samples, prints the plan,
/// writes the JSON.
async fn capacity(args: CapacityArgs) -> anyhow::Result<()> {
    use net::capacity::{Budget, TickSamples};
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let nodes = match (&args.report, args.token.as_deref()) {
        (Some(path), _) => net::capacity::parse_load_report(&read(path)?)?,
        (None, Some(token)) => net::capacity::fetch_cluster(&args.from, token).await?,
        (None, None) => anyhow::bail!("--from needs --token (or PLAZA_ADMIN_TOKEN)"),
    };
    let samples = match &args.samples {
        Some(path) => TickSamples::parse(&read(path)?)?,
        None => TickSamples::embedded()?,
    };
    let report = net::capacity::plan(
        &nodes,
        &samples,
        Budget::new(args.target_tick_ms, args.headroom)?,
    )?;
    println!("plaza capacity\n{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json())
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("  report written to {}", path.display());
    }
    Ok(())
}

/// Triggers `shutdown` on SIGINT (ctrl-c) or SIGTERM.
async fn trigger_on_signal(shutdown: Shutdown) {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
    shutdown.trigger();
}
