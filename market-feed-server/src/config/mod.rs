//! Configuration: command-line options, environment variables and an optional TOML file
//! (`docs/protocol.md` §5), in that order of precedence.
//!
//! The file given by `--config` uses the long option names as keys (`listen = "0.0.0.0:8080"`,
//! `prices-interval = "2m"`, `auth-token = ["a", "b"]`). Its values become clap *defaults*, so
//! clap's own precedence gives exactly "command line, then environment, then file, then
//! built-in default". Every bad option, variable, key or value is reported as one line that
//! names it, and the process exits with code 2 ([`ConfigError::exit_code`]).
//!
//! - `cli`: the options ([`Cli`]) and [`parse_args`];
//! - `file`: the `--config` TOML file, read as clap defaults;
//! - `validate`: from parsed options to a [`Config`] ([`Config::from_cli`]).

mod cli;
mod file;
mod validate;

use std::{fmt, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::ValueEnum;
use market_feed::clock::MarketClock;

pub use cli::{Cli, parse_args};

/// The default `--store`.
pub const DEFAULT_STORE: &str = "sqlite://market-feed.db";
/// The store `--demo` uses unless `--store` is given: its own SQLite file (the embedded
/// default, apart from a real run's closes). It holds only what the replay observed (the
/// played day's close, taken at 15:31); a later demo, whose clock starts before that close,
/// does not show it early.
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
    /// Upstox's Market Data Feed V3 (WebSocket) for real-time prices, with the REST API for
    /// volume, reconciliation and the fallback while the stream is down (needs a token).
    UpstoxStream,
    /// A seeded random walk around realistic levels (offline).
    Simulated,
    /// A recorded real trading day, replayed on the clock's time of day (offline).
    Replay,
    /// The recorded day played as a stream: ticks between the recorded 15-minute bars,
    /// published as coalesced changes like a broker's stream (offline; what --demo plays).
    ReplayStream,
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
            SourceKind::UpstoxStream => "upstox-stream",
            SourceKind::Simulated => "simulated",
            SourceKind::Replay => "replay",
            SourceKind::ReplayStream => "replay-stream",
        }
    }

    /// Whether the source talks to Upstox (and so needs a token).
    ///
    /// ```
    /// use market_feed_server::config::SourceKind;
    /// assert!(SourceKind::UpstoxStream.is_upstox() && !SourceKind::Replay.is_upstox());
    /// ```
    pub fn is_upstox(self) -> bool {
        matches!(self, SourceKind::Upstox | SourceKind::UpstoxStream)
    }

    /// Whether the source plays the recorded day (polled or as a stream).
    ///
    /// ```
    /// use market_feed_server::config::SourceKind;
    /// assert!(SourceKind::ReplayStream.is_replay() && !SourceKind::Simulated.is_replay());
    /// ```
    pub fn is_replay(self) -> bool {
        matches!(self, SourceKind::Replay | SourceKind::ReplayStream)
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
    /// With `upstox-stream`: at most one batch of streamed changes per topic per this
    /// interval (clock time; at least 250 ms).
    pub stream_interval: Duration,
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
    /// Batches kept per topic for resume.
    pub resume_window: usize,
    /// HTTP connection limit (before the upgrade).
    pub max_http_connections: usize,
    /// `--cluster`: the cluster to join, if any.
    pub cluster: Option<ClusterSettings>,
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

#[cfg(test)]
mod tests;

/// `--cluster`, `--cluster-name`, `--node-id`, `--cluster-lease`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The NATS server's URL (may carry credentials: never shown as is).
    pub url: String,
    /// The cluster's name.
    pub name: String,
    /// This node's id.
    pub node: String,
    /// The leader's lease (real time).
    pub lease: Duration,
}
