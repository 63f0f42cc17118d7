//! Configuration: command-line options, environment variables and an optional TOML file
//! (PROTOCOL.md §5), in that order of precedence.
//!
//! The file given by `--config` uses the long option names as keys (`listen = "0.0.0.0:8080"`,
//! `prices-interval = "2m"`, `auth-token = ["a", "b"]`). Its values become clap *defaults*, so
//! clap's own precedence gives exactly "command line, then environment, then file, then
//! built-in default". Every bad option, variable, key or value is reported as one line that
//! names it, and the process exits with code 2 ([`ConfigError::exit_code`]).

use std::{ffi::OsString, fmt, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum, parser::ValueSource};
use market_feed::clock::{Calendar, ClockSpec, Exchange, MarketClock, TimeSource};

/// The default `--store`.
pub const DEFAULT_STORE: &str = "sqlite://market-feed.db";
/// The store `--demo` uses unless `--store` is given.
pub const DEMO_STORE: &str = "sqlite://market-feed-demo.db";

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Where prices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// The Upstox REST API (needs an access token).
    Upstox,
    /// A seeded random walk around realistic levels (offline).
    Simulated,
    /// A recorded real trading day, replayed on the clock's time of day (offline).
    Replay,
}

impl SourceKind {
    /// The option value.
    ///
    /// ```
    /// use market_feed_server::config::SourceKind;
    /// assert_eq!(SourceKind::Replay.as_str(), "replay");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Upstox => "upstox",
            SourceKind::Simulated => "simulated",
            SourceKind::Replay => "replay",
        }
    }
}

/// An on/off switch option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// A secret string (an access or client token): compared and used, never printed.
///
/// ```
/// use market_feed_server::config::Secret;
/// let s = Secret::new("abc");
/// assert_eq!(format!("{s:?}"), "Secret(***)");
/// assert_eq!(s.expose(), "abc");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    ///
    /// ```
    /// # use market_feed_server::config::Secret;
    /// let _ = Secret::new("token");
    /// ```
    pub fn new(s: impl Into<Arc<str>>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that must send or compare it.
    ///
    /// ```
    /// # use market_feed_server::config::Secret;
    /// assert_eq!(Secret::new("t").expose(), "t");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Parses a duration such as `500ms`, `5s`, `2m` or `1h`.
///
/// ```
/// use market_feed_server::config::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert!(parse_duration("5").is_err());
/// assert!(parse_duration("0s").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{s:?} has no unit: write e.g. 500ms, 5s, 2m or 1h"))?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a number followed by ms, s, m or h"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "{s:?} has an unknown unit {unit:?}: use ms, s, m or h"
            ));
        }
    };
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{s:?} must be more than 0 and at most 24h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Where the universe comes from (`--universe`).
///
/// ```
/// use market_feed_server::config::UniverseChoice;
/// assert_eq!("upstox".parse::<UniverseChoice>(), Ok(UniverseChoice::Upstox));
/// assert!(matches!("my.csv".parse::<UniverseChoice>(), Ok(UniverseChoice::File(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UniverseChoice {
    /// The bundled NSE list (early 2026).
    #[default]
    Bundled,
    /// A CSV/JSON/instrument-master file.
    File(PathBuf),
    /// Upstox's daily instrument file, refreshed at 08:00 IST, kept in the store.
    Upstox,
}

impl std::str::FromStr for UniverseChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Err("give a file path or \"upstox\"".to_owned()),
            "upstox" => Ok(UniverseChoice::Upstox),
            path => Ok(UniverseChoice::File(PathBuf::from(path))),
        }
    }
}

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
    after_help = "`market-feed-server check [OPTIONS]` checks these options without serving: store, universe, one refresh of both topics at the broker, market status; exit 0 when all is well, 1 when not."
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
    /// (`--demo` without --store uses sqlite://market-feed-demo.db, keeping replayed prices
    /// apart.)
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
    #[arg(long, default_value = "real", value_name = "SPEC")]
    pub clock: ClockSpec,

    /// Play a trading day: replayed stocks and simulated indices on a clock that starts just
    /// before the next session and runs 60x.
    #[arg(long)]
    pub demo: bool,

    /// How often indices are refreshed, in clock time (500ms, 5s, 2m).
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub indices_interval: Duration,

    /// How often stock prices are refreshed, in clock time.
    #[arg(long, default_value = "120s", value_parser = parse_duration, value_name = "DURATION")]
    pub prices_interval: Duration,

    /// How often the latest quotes are checkpointed during the session, in clock time.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub checkpoint_interval: Duration,

    /// Keep end-of-day snapshots for this many days (older ones are pruned daily).
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

    /// HTTP connections before their WebSocket upgrade, at once; more get HTTP 503 and are
    /// closed.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_http_connections: usize,

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

/// A configuration value that cannot be used; the server exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A command-line or environment parse error (one line, naming the option).
    #[error("{0}")]
    Cli(String),
    /// The `--config` file is unreadable or has a bad key or value.
    #[error("--config {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The calendar file is unreadable or invalid.
    #[error("--calendar: {0}")]
    Calendar(#[from] market_feed::clock::CalendarError),
    /// Options that contradict each other.
    #[error("{0}")]
    Conflict(String),
}

impl ConfigError {
    /// The process exit code for this error (2: bad options or config values).
    ///
    /// ```
    /// use market_feed_server::config::ConfigError;
    /// assert_eq!(ConfigError::Cli("error: bad".into()).exit_code(), 2);
    /// ```
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Which source the server uses, and why (logged at start-up).
#[derive(Debug, Clone)]
pub struct SourceChoice {
    /// The source.
    pub kind: SourceKind,
    /// Why it was chosen, in words.
    pub reason: String,
}

/// The Upstox connection settings.
#[derive(Debug, Clone)]
pub struct UpstoxSettings {
    /// API root.
    pub base_url: String,
    /// The token from `UPSTOX_ACCESS_TOKEN`, if set.
    pub token: Option<Secret>,
    /// The token file, if given (wins over the variable).
    pub token_file: Option<PathBuf>,
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// The market clock (calendar + time source).
    pub clock: MarketClock,
    /// Where prices come from.
    pub source: SourceChoice,
    /// Upstox settings (used when the source is Upstox).
    pub upstox: UpstoxSettings,
    /// Snapshot store URL.
    pub store: String,
    /// Where the universe comes from.
    pub universe: UniverseChoice,
    /// Upstox's assets host (the instrument file).
    pub upstox_assets_url: String,
    /// Whether the broker's holiday list is merged into the calendar.
    pub calendar_refresh: bool,
    /// Demo mode.
    pub demo: bool,
    /// Index refresh period (clock time).
    pub indices_interval: Duration,
    /// Stock refresh period (clock time).
    pub prices_interval: Duration,
    /// Checkpoint period (clock time).
    pub checkpoint_interval: Duration,
    /// Snapshot retention in days.
    pub retention_days: u32,
    /// Accepted client tokens (empty: open).
    pub auth_tokens: Vec<Secret>,
    /// Accepted browser origins on /ws (empty: any).
    pub allowed_origins: Vec<String>,
    /// CORS origins for GET (empty: any).
    pub cors_origins: Vec<String>,
    /// WebSocket connection limit.
    pub max_connections: usize,
    /// HTTP connection limit (before the upgrade).
    pub max_http_connections: usize,
    /// Time allowed for a request head.
    pub header_timeout: Duration,
    /// WebSocket ping period (real time).
    pub heartbeat_interval: Duration,
    /// Slow-consumer timeout (real time).
    pub slow_consumer_timeout: Duration,
    /// Log format.
    pub log_format: LogFormat,
}

/// What parsing the command line produced: a configuration, or text to print before exiting 0
/// (`--help`, `--version`).
#[derive(Debug)]
pub enum Parsed {
    /// Run with this configuration.
    Run(Box<Config>),
    /// Print this and exit 0.
    Exit(String),
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
    if let Some(path) = config_path(&args) {
        cmd = apply_file_defaults(cmd, &path)?;
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

/// Finds `--config PATH` / `--config=PATH` on the command line, else `MARKET_FEED_CONFIG`.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("MARKET_FEED_CONFIG").map(PathBuf::from)
}

fn apply_file_defaults(
    mut cmd: clap::Command,
    path: &PathBuf,
) -> Result<clap::Command, ConfigError> {
    let file_err = |message: String| ConfigError::File {
        path: path.display().to_string(),
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| file_err(format!("cannot read it: {e}")))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().replace('\n', " ");
        file_err(match line {
            Some(l) => format!("line {l}: {msg}"),
            None => msg,
        })
    })?;
    for (key, value) in table {
        let long = key.replace('_', "-");
        let known = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
            .map(|a| (a.get_id().clone(), a.get_action().takes_values()));
        let Some((id, takes_values)) = known else {
            return Err(file_err(format!(
                "unknown key {key:?}: keys are the long option names of --help, e.g. listen, prices-interval"
            )));
        };
        let values: Vec<String> = match (&value, takes_values) {
            (toml::Value::Boolean(b), false) => vec![b.to_string()],
            (toml::Value::String(s), true) => vec![s.clone()],
            (toml::Value::Integer(i), true) => vec![i.to_string()],
            (toml::Value::Array(items), true) => items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(file_err(format!(
                        "{key}: list items must be strings, not {other}"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            (other, true) => {
                return Err(file_err(format!("{key}: expected a string, not {other}")));
            }
            (other, false) => {
                return Err(file_err(format!(
                    "{key}: expected true or false, not {other}"
                )));
            }
        };
        cmd = cmd.mut_arg(id, |a| a.default_values(values));
    }
    Ok(cmd)
}

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
            (Some(SourceKind::Upstox), true) => {
                return Err(ConfigError::Conflict(
                    "--demo plays recorded and simulated prices: drop --source upstox or --demo".into(),
                ))
            }
            (Some(kind), _) => SourceChoice {
                kind,
                reason: "chosen with --source".into(),
            },
            (None, true) => SourceChoice {
                kind: SourceKind::Replay,
                reason: "demo mode: the recorded trading day of 2026-01-29 for stocks, indices derived from them".into(),
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
        if source.kind == SourceKind::Upstox && !has_token {
            return Err(ConfigError::Conflict(
                "--source upstox needs a token: set UPSTOX_ACCESS_TOKEN or --upstox-token-file"
                    .into(),
            ));
        }
        check_limits(&cli)?;
        let time = if cli.demo && !clock_given {
            demo_time_source(&calendar)
        } else {
            TimeSource::from_spec(cli.clock)
        };
        let clock = MarketClock::new(calendar, time);
        let calendar_refresh = match cli.calendar_refresh {
            Some(choice) => choice == OnOff::On,
            None => source.kind == SourceKind::Upstox,
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
            checkpoint_interval: cli.checkpoint_interval,
            retention_days: cli.retention_days,
            auth_tokens: cli.auth_tokens.into_iter().map(Secret::new).collect(),
            allowed_origins: cli.allowed_origins,
            cors_origins: cli.cors_origins,
            max_connections: cli.max_connections,
            max_http_connections: cli.max_http_connections,
            header_timeout: cli.header_timeout,
            heartbeat_interval: cli.heartbeat_interval,
            slow_consumer_timeout: cli.slow_consumer_timeout,
            log_format: cli.log_format,
        })
    }
}

/// Client tokens must not be empty, and connection limits must fit a semaphore.
fn check_limits(cli: &Cli) -> Result<(), ConfigError> {
    if cli.auth_tokens.iter().any(|t| t.trim().is_empty()) {
        return Err(ConfigError::Conflict(
            "--auth-token (or MARKET_FEED_AUTH_TOKENS): a client token is empty, which would leave the server open; give a non-empty token or none".into(),
        ));
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

/// The demo clock: 3 minutes (clock time) before the next service window opens, at 60x.
fn demo_time_source(calendar: &Arc<Calendar>) -> TimeSource {
    let probe = MarketClock::new(calendar.clone(), TimeSource::System);
    let window = probe.window_at_or_after(time::OffsetDateTime::now_utc());
    TimeSource::scaled(window.start - time::Duration::minutes(3), 60.0)
}

#[cfg(test)]
mod tests;
