//! `market-feed-server check [the options of a run]`: checks a configuration without serving.
//!
//! [`run`] opens the store, loads the universe (the calendar was loaded with the options),
//! and with an Upstox source makes the requests of one full refresh of both topics, at any
//! hour (the operator asked for them). It returns a [`Report`]: one [`Finding`] per line, each
//! saying whether it is a problem. The process prints the lines and exits 0 when nothing is
//! wrong, 1 otherwise ([`Report::exit_code`]). The token is never printed: the source's
//! errors never carry it.
//!
//! With `--calendar-refresh on` it also applies the stored copy of the broker's holiday list and
//! reads the list once (storing a good answer, as the server would); every run reports the
//! calendar's coverage and the next holidays. Coverage warnings print as `warn:` lines and do
//! not change the exit code, except a current year no calendar covers, which is a problem.

use std::{fmt, time::Duration};

use std::sync::Arc;

use market_feed::{
    clock::{CoverageReport, Severity, coverage_report, format_date, ist_date},
    model::Topic,
    source::{MissingReason, PriceSource, SourceError},
    store::{SnapshotStore, redact_url},
    universe::Instrument,
};

use crate::{
    app::{StartError, load_universe, upstox_source},
    config::{Config, SourceKind},
};

/// How long the check's refresh of one topic may take (retries and rate-limit waits
/// included); far more than a refresh during the session, since nothing waits on it.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(60);

/// One line of the check's output.
///
/// ```
/// use market_feed_server::check::Finding;
/// let f = Finding::Answered { topic: market_feed::model::Topic::Prices, answered: 9, requested: 10 };
/// assert!(f.is_problem());
/// assert_eq!(f.to_string(), "problem: prices: 9 of 10 instruments answered");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// The store opened.
    StoreOpened {
        /// `--store`, as given (a URL with a password is shown without it).
        store: String,
    },
    /// The store did not open.
    StoreFailed {
        /// Why, naming the store.
        detail: String,
    },
    /// The universe loaded.
    Universe {
        /// Where it came from (`bundled`, `file`, `stored`, `upstox`).
        origin: String,
        /// Index count.
        indices: usize,
        /// Stock count.
        stocks: usize,
    },
    /// A line of the universe's report: when it was fetched, changes staged for the next
    /// session, a failed download (a warning: the stored or bundled list is served).
    UniverseSource {
        /// The sentence.
        text: String,
        /// True for a failed download.
        failed: bool,
    },
    /// The source needs no broker (simulated, replay): nothing to call.
    NoBroker {
        /// The source's name.
        source: String,
    },
    /// The broker accepted the access token.
    TokenAccepted,
    /// The broker refused the access token (the detail never carries it).
    TokenRefused {
        /// What the broker said.
        detail: String,
    },
    /// How many instruments of a topic the broker answered with a price.
    Answered {
        /// The topic.
        topic: Topic,
        /// Instruments with a quote.
        answered: usize,
        /// Instruments asked for.
        requested: usize,
    },
    /// An instrument the broker does not know, or answers without a price.
    Missing {
        /// Its symbol.
        symbol: String,
        /// Its key.
        key: String,
        /// Why.
        reason: MissingReason,
    },
    /// Requests of a topic failed for another reason (network, 403, 429, 5xx, bad answers).
    RequestsFailed {
        /// The topic.
        topic: Topic,
        /// The first error.
        detail: String,
    },
    /// `--source upstox-stream`: the market data feed's authorize call answered a one-use
    /// WebSocket URL (not opened: the one connection allowed per user stays free).
    StreamAuthorized,
    /// `--source upstox-stream`: the authorize call failed, or the universe exceeds what one
    /// stream connection carries.
    StreamFailed {
        /// Why (never the token or the URL).
        detail: String,
    },
    /// The broker's holiday list was read (`--calendar-refresh on`).
    HolidayList {
        /// Entries in the answer.
        entries: usize,
    },
    /// The broker's holiday list could not be read; the calendar stays as it was.
    HolidayListFailed {
        /// Why.
        detail: String,
    },
    /// A line of the calendar's coverage report.
    Coverage {
        /// The sentence.
        text: String,
        /// True for a warning (printed `warn:`).
        warn: bool,
        /// True when the current year is not covered at all (a problem).
        uncovered_now: bool,
    },
    /// The market status now.
    Market {
        /// Phase (`open`, `closed`, ...).
        phase: String,
        /// Whether the service window is open.
        live: bool,
        /// The current or next trading day.
        trading_day: String,
        /// Why closed, if closed.
        reason: Option<String>,
    },
}

impl Finding {
    /// True for a warning: printed `warn:`, but the exit code stays 0.
    ///
    /// ```
    /// # use market_feed_server::check::Finding;
    /// assert!(Finding::HolidayListFailed { detail: "HTTP 503".into() }.is_warning());
    /// assert!(!Finding::TokenAccepted.is_warning());
    /// ```
    pub fn is_warning(&self) -> bool {
        match self {
            Finding::HolidayListFailed { .. } | Finding::UniverseSource { failed: true, .. } => {
                true
            }
            Finding::Coverage {
                warn,
                uncovered_now,
                ..
            } => *warn && !uncovered_now,
            _ => false,
        }
    }

    /// True when this finding means something is wrong (exit code 1).
    ///
    /// ```
    /// # use market_feed_server::check::Finding;
    /// assert!(!Finding::TokenAccepted.is_problem());
    /// assert!(Finding::TokenRefused { detail: "HTTP 401".into() }.is_problem());
    /// ```
    pub fn is_problem(&self) -> bool {
        match self {
            Finding::StoreFailed { .. }
            | Finding::TokenRefused { .. }
            | Finding::Missing { .. }
            | Finding::RequestsFailed { .. }
            | Finding::StreamFailed { .. } => true,
            Finding::Coverage { uncovered_now, .. } => *uncovered_now,
            Finding::Answered {
                answered,
                requested,
                ..
            } => answered < requested,
            Finding::StoreOpened { .. }
            | Finding::Universe { .. }
            | Finding::UniverseSource { .. }
            | Finding::NoBroker { .. }
            | Finding::TokenAccepted
            | Finding::StreamAuthorized
            | Finding::HolidayList { .. }
            | Finding::HolidayListFailed { .. }
            | Finding::Market { .. } => false,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_problem() {
            "problem: "
        } else if self.is_warning() {
            "warn: "
        } else {
            "ok: "
        })?;
        match self {
            Finding::StoreOpened { store } => write!(f, "store {store} opened"),
            Finding::StoreFailed { detail } => write!(f, "store: {detail}"),
            Finding::Universe {
                origin,
                indices,
                stocks,
            } => write!(f, "universe: {origin}, {indices} indices, {stocks} stocks"),
            Finding::UniverseSource { text, .. } => write!(f, "universe: {text}"),
            Finding::NoBroker { source } => {
                write!(f, "source {source}: no broker to call")
            }
            Finding::TokenAccepted => f.write_str("Upstox accepted the access token"),
            Finding::TokenRefused { detail } => write!(
                f,
                "Upstox refused the access token ({detail}): write a new one into the token file or UPSTOX_ACCESS_TOKEN"
            ),
            Finding::Answered {
                topic,
                answered,
                requested,
            } => write!(f, "{topic}: {answered} of {requested} instruments answered"),
            Finding::Missing {
                symbol,
                key,
                reason,
            } => write!(f, "{symbol} ({key}): {}", reason.as_str()),
            Finding::RequestsFailed { topic, detail } => {
                write!(f, "{topic}: requests failed: {detail}")
            }
            Finding::StreamAuthorized => {
                f.write_str("market data feed: the authorize call answered a one-use WebSocket URL")
            }
            Finding::StreamFailed { detail } => write!(f, "market data feed: {detail}"),
            Finding::HolidayList { entries } => write!(
                f,
                "calendar: the broker's holiday list answered ({entries} entries) and is merged and stored"
            ),
            Finding::HolidayListFailed { detail } => write!(
                f,
                "calendar: cannot read the broker's holiday list ({detail}); the server would keep the stored or bundled calendar"
            ),
            Finding::Coverage { text, .. } => write!(f, "calendar: {text}"),
            Finding::Market {
                phase,
                live,
                trading_day,
                reason,
            } => {
                write!(
                    f,
                    "market now: {phase}{}, trading day {trading_day}",
                    if *live { ", live" } else { "" }
                )?;
                match reason {
                    Some(r) => write!(f, " ({r})"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Every finding of one check, in order.
///
/// ```
/// use market_feed_server::check::{Finding, Report};
/// let report = Report { findings: vec![Finding::TokenAccepted] };
/// assert_eq!(report.exit_code(), 0);
/// assert_eq!(report.lines(), vec!["ok: Upstox accepted the access token".to_owned()]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// 0 when no finding is a problem, else 1.
    ///
    /// See [`Report`] for an example.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.findings.iter().any(Finding::is_problem))
    }

    /// One line per finding.
    ///
    /// See [`Report`] for an example.
    pub fn lines(&self) -> Vec<String> {
        self.findings.iter().map(ToString::to_string).collect()
    }
}

/// Runs the check of `config`.
///
/// # Errors
/// [`StartError::Config`] for a bad universe file or Upstox setting (exit code 2).
pub async fn run(config: &Config) -> Result<Report, StartError> {
    let mut report = Report::default();
    let store = match market_feed::store::open(&config.store).await {
        Ok(store) => {
            report.findings.push(Finding::StoreOpened {
                store: redact_url(&config.store),
            });
            store
        }
        Err(e) => {
            report.findings.push(Finding::StoreFailed {
                detail: format!("--store: {}", market_feed::Report::new(&e)),
            });
            // The rest of the check still runs: without a store nothing stored is known.
            Arc::new(market_feed::store::MemoryStore::new())
        }
    };
    check_calendar(config, &store, &mut report).await?;
    let (live, _refresher) = load_universe(config, store, &config.clock).await?;
    let universe = live.current();
    // The report's own lines, less the size (the Universe finding says it) and "no changes".
    let mut lines = live.report().to_string();
    lines.retain(|c| c != '\r');
    for line in lines.lines().skip(1) {
        let text = line.strip_prefix("universe: ").unwrap_or(line).to_owned();
        if text != "no changes pending" {
            report.findings.push(Finding::UniverseSource {
                failed: text.starts_with("the last refresh failed"),
                text,
            });
        }
    }
    report.findings.push(Finding::Universe {
        origin: live.report().origin.as_str().to_owned(),
        indices: universe.indices().len(),
        stocks: universe.prices().len(),
    });
    if config.source.kind.is_upstox() {
        let source = upstox_source(config, &config.clock)?.with_refresh_deadline(CHECK_DEADLINE);
        refresh_both(&source, universe.indices(), universe.prices(), &mut report).await;
        if config.source.kind == SourceKind::UpstoxStream {
            check_stream(&source, &universe, &mut report).await;
        }
    } else {
        report.findings.push(Finding::NoBroker {
            source: config.source.kind.as_str().to_owned(),
        });
    }
    let status = config.clock.status();
    report.findings.push(Finding::Market {
        phase: status.phase.to_string(),
        live: status.live,
        trading_day: format_date(status.trading_day),
        reason: status.reason,
    });
    Ok(report)
}

/// The stream's limits and its authorize call (the WebSocket itself is not opened).
async fn check_stream(
    source: &market_feed::source::upstox::UpstoxSource,
    universe: &market_feed::universe::Universe,
    report: &mut Report,
) {
    use market_feed::source::PriceStream;
    let stream = source.stream();
    let all: Vec<Instrument> = universe.iter().map(|(_, i)| i.clone()).collect();
    if let Err(e) = stream.check(&all) {
        report.findings.push(Finding::StreamFailed {
            detail: e.to_string(),
        });
        return;
    }
    match stream.authorize_only().await {
        Ok(()) => report.findings.push(Finding::StreamAuthorized),
        Err(e) => report.findings.push(Finding::StreamFailed {
            detail: format!(
                "the authorize call failed: {}",
                market_feed::Report::new(&e)
            ),
        }),
    }
}

/// The broker's holiday list (when refreshing is on), then the coverage and the next holidays.
async fn check_calendar(
    config: &Config,
    store: &Arc<dyn SnapshotStore>,
    report: &mut Report,
) -> Result<(), StartError> {
    if config.calendar_refresh {
        let refresher = crate::calendar_refresh::build(config, store, None)?;
        refresher.load_stored().await;
        match refresher.refresh().await {
            Ok(entries) => report.findings.push(Finding::HolidayList { entries }),
            Err(e) => report.findings.push(Finding::HolidayListFailed {
                detail: e.to_string(),
            }),
        }
    }
    let today = ist_date(config.clock.now());
    push_coverage(&coverage_report(&config.clock, today), report);
    Ok(())
}

/// The coverage report's lines (coverage, next holidays) as findings.
fn push_coverage(coverage: &CoverageReport, report: &mut Report) {
    let uncovered_now = coverage.covered_until.is_none();
    for line in &coverage.lines {
        let warn = line.severity == Severity::Warn;
        report.findings.push(Finding::Coverage {
            text: line.text.clone(),
            warn,
            uncovered_now: warn && uncovered_now,
        });
    }
}

/// One refresh of each topic through `source`, as the feed would make it.
async fn refresh_both(
    source: &dyn PriceSource,
    indices: &[Instrument],
    prices: &[Instrument],
    report: &mut Report,
) {
    let mut accepted = false;
    for (topic, instruments) in [(Topic::Indices, indices), (Topic::Prices, prices)] {
        if instruments.is_empty() {
            continue;
        }
        match source.fetch(instruments).await {
            Ok(fetched) => {
                if !accepted {
                    accepted = true;
                    report.findings.push(Finding::TokenAccepted);
                }
                report.findings.push(Finding::Answered {
                    topic,
                    answered: fetched.quotes.len(),
                    requested: instruments.len(),
                });
                if let Some(e) = fetched.errors.first() {
                    report.findings.push(Finding::RequestsFailed {
                        topic,
                        detail: market_feed::Report::new(e).to_string(),
                    });
                }
            }
            Err(SourceError::Unauthorized(detail)) => {
                report.findings.push(Finding::TokenRefused {
                    detail: detail.to_string(),
                });
                return;
            }
            Err(e) => report.findings.push(Finding::RequestsFailed {
                topic,
                detail: market_feed::Report::new(&e).to_string(),
            }),
        }
    }
    for m in source.missing() {
        report.findings.push(Finding::Missing {
            symbol: m.symbol,
            key: m.key.to_string(),
            reason: m.reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_set_the_exit_code() {
        let mut r = Report {
            findings: vec![Finding::Answered {
                topic: Topic::Indices,
                answered: 9,
                requested: 9,
            }],
        };
        assert_eq!(r.exit_code(), 0);
        r.findings.push(Finding::Missing {
            symbol: "GONE".into(),
            key: "NSE_EQ|INE000X01010".into(),
            reason: MissingReason::Unknown,
        });
        assert_eq!(r.exit_code(), 1);
        assert_eq!(
            r.lines()[1],
            "problem: GONE (NSE_EQ|INE000X01010): unknown to the broker"
        );
    }
}
