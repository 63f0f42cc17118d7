//! Validation: from parsed options to the [`Config`] the server runs with (the calendar
//! loaded, the clock built, the source chosen, limits checked).

use std::sync::Arc;

use market_feed::clock::{Calendar, Exchange, MarketClock, TimeSource};

use super::{Cli, Config, ConfigError, OnOff, Secret, SourceChoice, SourceKind, UpstoxSettings};

impl Config {
    /// Validates parsed options: loads the calendar, builds the clock, chooses the source.
    /// `clock_given` says whether `--clock` was set (demo mode brings its own clock otherwise);
    /// `upstox_token` is the value of `UPSTOX_ACCESS_TOKEN`.
    ///
    /// ```
    /// use clap::Parser;
    /// use market_feed_server::config::{Cli, Config, SourceKind};
    /// let cli = Cli::parse_from(["market-feed-server", "--clock", "at:2026-01-29T10:00:00+05:30"]);
    /// let config = Config::from_cli(cli, true, None).unwrap();
    /// assert_eq!(config.clock.status().phase.as_str(), "open");
    /// assert_eq!(config.source.kind, SourceKind::Simulated);
    /// ```
    pub fn from_cli(
        cli: Cli,
        clock_given: bool,
        upstox_token: Option<String>,
    ) -> Result<Self, ConfigError> {
        let calendar = Arc::new(match &cli.calendar {
            Some(path) => Calendar::from_path(path, Exchange::Nse)?,
            None => Calendar::bundled(Exchange::Nse),
        });
        let token = upstox_token
            .filter(|t| !t.trim().is_empty())
            .map(|t| Secret::new(t.trim()));
        let has_token = token.is_some() || cli.upstox_token_file.is_some();
        let source = match (cli.source, cli.demo) {
            (Some(kind), true) if kind.is_upstox() => {
                return Err(ConfigError::Conflict(format!(
                    "--demo plays recorded and simulated prices: drop --source {} or --demo",
                    kind.as_str()
                )))
            }
            (Some(kind), _) => SourceChoice {
                kind,
                reason: "chosen with --source".into(),
            },
            (None, true) => SourceChoice {
                kind: SourceKind::ReplayStream,
                reason: "demo mode: the recorded trading day 2026-01-29 played as a stream (stocks as recorded, ticking between their 15-minute bars; indices derived from their members; --source replay polls it instead)".into(),
            },
            (None, false) if has_token => SourceChoice {
                kind: SourceKind::Upstox,
                reason: "an Upstox access token is configured".into(),
            },
            (None, false) => SourceChoice {
                kind: SourceKind::Simulated,
                reason: "no UPSTOX_ACCESS_TOKEN or --upstox-token-file is set, so prices are simulated".into(),
            },
        };
        if source.kind.is_upstox() && !has_token {
            return Err(ConfigError::Conflict(format!(
                "--source {} needs a token: set UPSTOX_ACCESS_TOKEN or --upstox-token-file",
                source.kind.as_str()
            )));
        }
        check_limits(&cli)?;
        let cluster = cluster_settings(&cli)?;
        let time = if cli.demo && !clock_given {
            demo_time_source(&calendar)?
        } else {
            TimeSource::from_spec(cli.clock)
        };
        let clock = MarketClock::new(calendar, time);
        let calendar_refresh = match cli.calendar_refresh {
            Some(choice) => choice == OnOff::On,
            None => source.kind.is_upstox(),
        };
        Ok(Config {
            listen: cli.listen,
            clock,
            source,
            upstox: UpstoxSettings {
                base_url: cli.upstox_base_url,
                token,
                token_file: cli.upstox_token_file,
            },
            store: cli.store,
            universe: cli.universe.unwrap_or_default(),
            upstox_assets_url: cli.upstox_assets_url,
            calendar_refresh,
            demo: cli.demo,
            indices_interval: cli.indices_interval,
            prices_interval: cli.prices_interval,
            stream_interval: cli.stream_interval,
            checkpoint_interval: cli.checkpoint_interval,
            retention_days: cli.retention_days,
            auth_tokens: cli.auth_tokens.into_iter().map(Secret::new).collect(),
            allowed_origins: cli.allowed_origins,
            cors_origins: cli.cors_origins,
            max_connections: cli.max_connections,
            resume_window: cli.resume_window,
            max_http_connections: cli.max_http_connections,
            cluster,
            header_timeout: cli.header_timeout,
            heartbeat_interval: cli.heartbeat_interval,
            slow_consumer_timeout: cli.slow_consumer_timeout,
            log_format: cli.log_format,
        })
    }
}

/// `--cluster` and its options: a postgres store (closes are shared), a usable name, a lease
/// of at least 1 s.
fn cluster_settings(cli: &Cli) -> Result<Option<super::ClusterSettings>, ConfigError> {
    let Some(url) = cli.cluster.clone() else {
        return Ok(None);
    };
    if !cli.store.starts_with("postgres://") && !cli.store.starts_with("postgresql://") {
        return Err(ConfigError::Conflict(format!(
            "--cluster needs a shared store: give --store postgres://... (not {:?}), so every node sees the same closing prices",
            cli.store
                .split_once("://")
                .map_or(cli.store.as_str(), |(scheme, _)| scheme)
        )));
    }
    if !market_feed::cluster::valid_cluster_name(&cli.cluster_name) {
        return Err(ConfigError::Conflict(format!(
            "--cluster-name {:?}: use 1 to 64 letters, digits, '-' or '_'",
            cli.cluster_name
        )));
    }
    if cli.cluster_lease < std::time::Duration::from_secs(1) {
        return Err(ConfigError::Conflict(format!(
            "--cluster-lease {:?}: give 1s or more",
            cli.cluster_lease
        )));
    }
    let node = match &cli.node_id {
        Some(id) if id.trim().is_empty() => {
            return Err(ConfigError::Conflict(
                "--node-id: the node id is empty; give one or leave the option out".into(),
            ));
        }
        Some(id) => id.clone(),
        None => default_node_id(),
    };
    Ok(Some(super::ClusterSettings {
        url,
        name: cli.cluster_name.clone(),
        node,
        lease: cli.cluster_lease,
    }))
}

/// The host name and the process id: `web-1-4242`.
fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    format!("{host}-{}", std::process::id())
}

/// The largest `--resume-window`: the byte bound caps the memory anyway, this the bookkeeping.
const MAX_RESUME_WINDOW: usize = 100_000;

/// Client tokens must not be empty, CORS origins must be origins, connection limits must fit a
/// semaphore, and the resume window must be sane.
fn check_limits(cli: &Cli) -> Result<(), ConfigError> {
    if cli.auth_tokens.iter().any(|t| t.trim().is_empty()) {
        return Err(ConfigError::Conflict(
            "--auth-token (or MARKET_FEED_AUTH_TOKENS): a client token is empty, which would leave the server open; give a non-empty token or none".into(),
        ));
    }
    if cli.resume_window > MAX_RESUME_WINDOW {
        return Err(ConfigError::Conflict(format!(
            "--resume-window {}: give a number of batches from 0 to {MAX_RESUME_WINDOW}",
            cli.resume_window
        )));
    }
    if cli.stream_interval < std::time::Duration::from_millis(250) {
        return Err(ConfigError::Conflict(format!(
            "--stream-interval {:?}: give 250ms or more (each batch goes to every client)",
            cli.stream_interval
        )));
    }
    if let Some(problem) = cli
        .cors_origins
        .iter()
        .find_map(|o| crate::access::cors_origin_problem(o))
    {
        return Err(ConfigError::Conflict(format!("--cors-origin {problem}")));
    }
    let max = tokio::sync::Semaphore::MAX_PERMITS;
    for (name, n) in [
        ("--max-connections", cli.max_connections),
        ("--max-http-connections", cli.max_http_connections),
    ] {
        if n == 0 || n > max {
            return Err(ConfigError::Conflict(format!(
                "{name} {n}: give a number from 1 to {max}"
            )));
        }
    }
    Ok(())
}

/// The demo clock: the recorded day under its own date, each phase long enough to see
/// (`DemoDay::schedule`), then stopped.
fn demo_time_source(calendar: &Arc<Calendar>) -> Result<TimeSource, ConfigError> {
    let demo = market_feed::source::replay::DemoDay::bundled()
        .map_err(|e| ConfigError::Conflict(format!("--demo: the bundled recording: {e}")))?;
    let schedule = demo.schedule(calendar).map_err(|e| {
        ConfigError::Conflict(format!(
            "--demo replays {}, but {e}: drop --calendar or add the day to it",
            demo.day()
        ))
    })?;
    Ok(TimeSource::scheduled(schedule))
}
