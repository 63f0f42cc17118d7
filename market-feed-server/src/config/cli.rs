//! The command line: every option with its environment variable and default, and
//! [`parse_args`], which reads them with the `--config` file's values as defaults.

use std::{ffi::OsString, net::SocketAddr, path::PathBuf, time::Duration};

use clap::{CommandFactory, FromArgMatches, Parser, parser::ValueSource};
use market_feed::clock::ClockSpec;

use super::{
    Config, ConfigError, DEFAULT_STORE, DEMO_STORE, LogFormat, OnOff, Parsed, SourceKind,
    UniverseChoice, file, parse_duration,
};

fn parse_store(s: &str) -> Result<String, String> {
    let ok = s == "memory"
        || s.strip_prefix("sqlite://").is_some_and(|p| !p.is_empty())
        || s.starts_with("postgres://")
        || s.starts_with("postgresql://");
    if ok {
        Ok(s.to_owned())
    } else {
        Err("use memory, sqlite://PATH or postgres://USER@HOST:PORT/DB".to_owned())
    }
}

/// market-feed-server: live NSE/BSE prices over WebSocket and REST, only in market hours.
///
/// Every option can also be set in the TOML file given by --config (keys are the long option
/// names without dashes in front); command-line options win over environment variables, which
/// win over the file.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "market-feed-server",
    version,
    about,
    long_about = None,
    after_help = "`market-feed-server check [OPTIONS]` checks these options without serving: store, trading calendar (the broker's holiday list, coverage, next holidays), universe, one refresh of both topics at the broker, market status; exit 0 when all is well, 1 when not, 2 for bad options."
)]
pub struct Cli {
    /// A TOML file with any of these options (keys are the long names, e.g. prices-interval).
    #[arg(long, env = "MARKET_FEED_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Where to serve HTTP and WebSocket (host:port; port 0 picks a free port).
    #[arg(
        long,
        env = "MARKET_FEED_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,

    /// Where prices come from [default: upstox when UPSTOX_ACCESS_TOKEN or --upstox-token-file
    /// is set, else simulated].
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub source: Option<SourceKind>,

    /// The Upstox API root (tests point it at a local fake).
    #[arg(
        long,
        env = "UPSTOX_BASE_URL",
        default_value = "https://api.upstox.com",
        value_name = "URL"
    )]
    pub upstox_base_url: String,

    /// A file holding the Upstox access token; re-read while the feed is unauthorized, so a
    /// daily token can be replaced without a restart. Wins over UPSTOX_ACCESS_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub upstox_token_file: Option<PathBuf>,

    /// Where end-of-day snapshots live: memory, sqlite://PATH or postgres://...
    /// (`--demo` without --store uses sqlite://market-feed-demo.db: only the replayed day's
    /// observed close is stored, and a later demo does not show it before that day's close.)
    #[arg(long, default_value = DEFAULT_STORE, value_parser = parse_store, value_name = "URL")]
    pub store: String,

    /// An instrument list (CSV, JSON or Upstox's instruments master), or "upstox": Upstox's
    /// daily instrument file, fetched at start-up and at 08:00 IST, kept in the store
    /// [default: the bundled NSE universe of early 2026: 9 indices and every EQ-series stock].
    #[arg(long, value_parser = clap::value_parser!(UniverseChoice), value_name = "PATH|upstox")]
    pub universe: Option<UniverseChoice>,

    /// Where Upstox's instrument files are (`--universe upstox`; tests point it at a fake).
    #[arg(long, default_value = market_feed::universe::upstox::DEFAULT_ASSETS_URL, value_name = "URL")]
    pub upstox_assets_url: String,

    /// A calendar file (TOML) that replaces the bundled NSE/BSE calendar, or extends it when it
    /// says extends = "bundled".
    #[arg(long, value_name = "PATH")]
    pub calendar: Option<PathBuf>,

    /// Merge the broker's market-holiday list (GET {upstox-base-url}/v2/market/holidays) over
    /// the calendar at start-up and daily at 08:00 IST, keeping it in the store [default: on
    /// with --source upstox, else off; with other sources "on" needs the URL reachable, else
    /// it warns and keeps the bundled/stored calendar].
    #[arg(long, value_enum, value_name = "on|off")]
    pub calendar_refresh: Option<OnOff>,

    /// The market clock: real, or at:<RFC3339>[x<SPEED>] to start at an instant and run SPEED
    /// times faster (e.g. at:2026-01-29T09:12:00+05:30x60).
    // These doc comments are the `--help` text, written for a terminal, not for rustdoc.
    #[allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]
    #[arg(long, default_value = "real", value_name = "SPEC")]
    pub clock: ClockSpec,

    /// Replay the recorded trading day 2026-01-29 under its own date: 1,402 NSE stocks as
    /// recorded, 5 indices derived from their members, closed → pre-open → open → post-close →
    /// closed in about 7½ minutes, then the clock stops.
    #[arg(long)]
    pub demo: bool,

    /// How often indices are refreshed, in clock time (500ms, 5s, 2m).
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub indices_interval: Duration,

    /// How often stock prices are refreshed, in clock time.
    #[arg(long, default_value = "120s", value_parser = parse_duration, value_name = "DURATION")]
    pub prices_interval: Duration,

    /// With --source upstox-stream: publish the instruments that changed at most this often
    /// per topic, in clock time (at least 250ms).
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub stream_interval: Duration,

    /// How often the latest quotes are checkpointed during the session, in clock time.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub checkpoint_interval: Duration,

    /// Keep end-of-day snapshots for this many days (older ones are pruned at start-up and
    /// every 6 hours).
    #[arg(long, default_value_t = 400, value_name = "DAYS")]
    pub retention_days: u32,

    /// A client token accepted on /ws, /api/* and the compatibility paths (repeatable; none:
    /// open). Env: comma-separated.
    #[arg(
        long = "auth-token",
        env = "MARKET_FEED_AUTH_TOKENS",
        value_delimiter = ',',
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub auth_tokens: Vec<String>,

    /// A browser origin accepted on /ws (repeatable; none: any).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,

    /// An origin allowed to read the REST API from a browser (CORS, GET only; repeatable;
    /// none: any origin, "*").
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,

    /// WebSocket connections at once; more get HTTP 503.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_connections: usize,

    /// Batches kept per topic so that a client that reconnects can resume (get the batches it
    /// missed instead of a snapshot); 0 keeps none. Also bounded to 64 MiB per topic.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub resume_window: usize,

    /// HTTP connections before their WebSocket upgrade, at once; more get HTTP 503 and are
    /// closed.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_http_connections: usize,

    /// Join a cluster over NATS JetStream (nats://HOST:PORT): the servers elect one leader,
    /// which alone calls the broker; the others serve what it publishes. Needs a postgres store.
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,

    /// The cluster's name: every subject, bucket and stream it uses is namespaced by it.
    #[arg(long, default_value = "market-feed", value_name = "NAME")]
    pub cluster_name: String,

    /// This node's id in the cluster (default: host name and process id).
    #[arg(long, value_name = "ID")]
    pub node_id: Option<String>,

    /// The leader's lease, in real time: renewed every third of it; a leader that cannot renew
    /// stops calling the broker before it lapses, and another node takes over.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub cluster_lease: Duration,

    /// A connection that has not sent a complete request head within this, in real time, is
    /// closed (whatever bytes it sent).
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub header_timeout: Duration,

    /// How often the server pings each WebSocket client, in real time; a client that misses
    /// two pings in a row is closed.
    #[arg(long, default_value = "20s", value_parser = parse_duration, value_name = "DURATION")]
    pub heartbeat_interval: Duration,

    /// A WebSocket client whose socket accepts no bytes for this long, in real time, is closed
    /// with 1008 "slow consumer".
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub slow_consumer_timeout: Duration,

    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
}

/// Parses and validates the command line, the environment and the `--config` file. Blocking
/// (reads files): call it before starting the runtime.
///
/// ```
/// use market_feed_server::config::{parse_args, Parsed};
/// let parsed = parse_args(["market-feed-server", "--listen", "127.0.0.1:0"]).unwrap();
/// assert!(matches!(parsed, Parsed::Run(_)));
/// let err = parse_args(["market-feed-server", "--clock", "fast"]).unwrap_err();
/// assert!(err.to_string().contains("--clock"));
/// ```
pub fn parse_args<I, T>(args: I) -> Result<Parsed, ConfigError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = Cli::command();
    if let Some(path) = file::config_path(&args) {
        cmd = file::apply_file_defaults(cmd, &path)?;
    }
    let matches = match cmd.try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    Ok(Parsed::Exit(e.render().to_string()))
                }
                // clap renders usage and hints over several lines; the first names the option
                // and the problem.
                _ => Err(ConfigError::Cli(first_line(&e.render().to_string()))),
            };
        }
    };
    // Demo mode keeps its replayed closes out of the store a real run uses.
    let store_given = matches
        .value_source("store")
        .is_some_and(|s| s != ValueSource::DefaultValue)
        || matches.get_one::<String>("store").map(String::as_str) != Some(DEFAULT_STORE);
    let clock_given = matches
        .value_source("clock")
        .is_some_and(|s| s != ValueSource::DefaultValue)
        || file_sets(&matches, "clock");
    // clap reads an empty variable as unset: an empty token list must not silently mean open.
    if matches.value_source("auth_tokens") != Some(ValueSource::CommandLine) {
        if let Some(v) = std::env::var_os("MARKET_FEED_AUTH_TOKENS") {
            if v.to_string_lossy().split(',').all(|t| t.trim().is_empty()) {
                return Err(ConfigError::Conflict(
                    "MARKET_FEED_AUTH_TOKENS (--auth-token) is set but holds no token, which would leave the server open; unset it or give tokens".into(),
                ));
            }
        }
    }
    let cli = Cli::from_arg_matches(&matches)
        .map_err(|e| ConfigError::Cli(first_line(&e.to_string())))?;
    let mut cli = cli;
    if cli.demo && !store_given {
        cli.store = DEMO_STORE.to_owned();
    }
    Config::from_cli(cli, clock_given, std::env::var("UPSTOX_ACCESS_TOKEN").ok())
        .map(|c| Parsed::Run(Box::new(c)))
}

fn file_sets(matches: &clap::ArgMatches, id: &str) -> bool {
    // A value injected from the --config file is a clap default; it counts as "given" when it
    // differs from the built-in default. Only needed for --clock (demo mode's own clock).
    id == "clock"
        && matches.value_source(id) == Some(ValueSource::DefaultValue)
        && matches.get_one::<ClockSpec>(id) != Some(&ClockSpec::Real)
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("error: bad arguments")
        .trim()
        .to_owned()
}
