//! Command-line options (PROTOCOL.md §5) and their validation.
//!
//! Every bad option or value is reported as one line that names the option, and the process
//! exits with code 2 ([`ConfigError::exit_code`]).

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use clap::{Parser, ValueEnum};
use market_feed::clock::{Calendar, ClockSpec, Exchange, MarketClock, TimeSource};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// market-feed-server: live NSE/BSE prices over WebSocket and REST, only in market hours.
#[derive(Debug, Clone, Parser)]
#[command(name = "market-feed-server", version, about, long_about = None)]
pub struct Cli {
    /// Where to serve HTTP and WebSocket (host:port; port 0 picks a free port).
    #[arg(
        long,
        env = "MARKET_FEED_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,

    /// The market clock: `real`, or `at:<RFC3339>[x<SPEED>]` to start at an instant and run
    /// SPEED times faster (e.g. at:2026-01-29T09:12:00+05:30x60).
    #[arg(long, default_value = "real", value_name = "SPEC")]
    pub clock: ClockSpec,

    /// A calendar file (TOML) that replaces the bundled NSE/BSE calendar, or extends it when it
    /// says `extends = "bundled"`.
    #[arg(long, value_name = "PATH")]
    pub calendar: Option<PathBuf>,

    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
}

/// A configuration value that cannot be used; the server exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A command-line parse error (already one line, naming the option).
    #[error("{0}")]
    Cli(String),
    /// The calendar file is unreadable or invalid.
    #[error("--calendar: {0}")]
    Calendar(#[from] market_feed::clock::CalendarError),
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

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// The market clock (calendar + time source).
    pub clock: MarketClock,
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

/// Parses and validates the command line. Blocking (reads the calendar file): call it before
/// starting the runtime.
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
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    Ok(Parsed::Exit(e.render().to_string()))
                }
                _ => {
                    // clap renders usage and hints over several lines; keep the first, which
                    // names the option and the problem.
                    let text = e.render().to_string();
                    let line = text.lines().next().unwrap_or("error: bad arguments").trim();
                    Err(ConfigError::Cli(line.to_owned()))
                }
            };
        }
    };
    Config::from_cli(cli).map(|c| Parsed::Run(Box::new(c)))
}

impl Config {
    /// Validates parsed options: loads the calendar and builds the clock.
    ///
    /// ```
    /// use clap::Parser;
    /// use market_feed_server::config::{Cli, Config};
    /// let cli = Cli::parse_from(["market-feed-server", "--clock", "at:2026-01-29T10:00:00+05:30"]);
    /// let config = Config::from_cli(cli).unwrap();
    /// assert_eq!(config.clock.status().phase.as_str(), "open");
    /// ```
    pub fn from_cli(cli: Cli) -> Result<Self, ConfigError> {
        let calendar = match &cli.calendar {
            Some(path) => Calendar::from_path(path, Exchange::Nse)?,
            None => Calendar::bundled(Exchange::Nse),
        };
        let clock = MarketClock::new(Arc::new(calendar), TimeSource::from_spec(cli.clock));
        Ok(Config {
            listen: cli.listen,
            clock,
            log_format: cli.log_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_are_one_line_naming_the_option() {
        let cases: [&[&str]; 4] = [
            &["--clock", "at:yesterday"],
            &["--listen", "nowhere"],
            &["--log-format", "xml"],
            &["--no-such-option"],
        ];
        for args in cases {
            let argv = std::iter::once("market-feed-server").chain(args.iter().copied());
            let err = parse_args(argv).unwrap_err().to_string();
            assert!(!err.contains('\n'), "{err}");
            assert!(err.contains(args[0]), "{err} should name {}", args[0]);
        }
    }

    #[test]
    fn bad_calendar_file_names_the_option_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cal.toml");
        std::fs::write(
            &path,
            "years = [2026]\n[[holiday]]\ndate = \"2026-02-30\"\nname = \"x\"\n",
        )
        .unwrap();
        let err = parse_args(["market-feed-server", "--calendar", path.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--calendar: ") && err.contains("cal.toml") && !err.contains('\n'),
            "{err}"
        );
        let missing = parse_args(["market-feed-server", "--calendar", "/nonexistent/cal.toml"])
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/cal.toml"), "{missing}");
    }

    #[test]
    fn help_exits_zero_with_text() {
        match parse_args(["market-feed-server", "--help"]).unwrap() {
            Parsed::Exit(text) => assert!(text.contains("--calendar") && text.contains("--clock")),
            Parsed::Run(_) => panic!("--help should not run"),
        }
    }
}
