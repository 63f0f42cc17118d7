//! The server's calendar refresher: the broker's holiday list when `--calendar-refresh on`
//! (the default with an Upstox source), kept in the store, and the calendar's coverage logged
//! at start-up and daily at 08:00 IST with what the operator can do about a warning.

use std::sync::Arc;

use market_feed::{
    cluster::{LeaseGuard, LeasedCalendar},
    reference::{CalendarRefresher, CalendarSource, UpstoxHolidays},
    source::upstox::TokenProvider,
    store::SnapshotStore,
};

use crate::{config::Config, start_error::StartError};

/// Appended to every coverage warning: what the operator can do.
pub const HINT: &str = "fix: run with an Upstox source and --calendar-refresh on (the broker's \
     list covers the current year from 1 January), or pass --calendar FILE with \
     extends = \"bundled\", the year in `years` and its [[holiday]] entries (docs/operations.md, \
     \"The trading calendar\")";

/// Builds the refresher for `config` (a holiday source only with `--calendar-refresh on`).
///
/// # Errors
///
/// [`StartError::Fatal`] when the HTTP client cannot be built.
/// In a cluster (`guard` given) the list is fetched only while this node holds the lease; the
/// others use the stored copy the leader keeps current.
pub fn build(
    config: &Config,
    store: &Arc<dyn SnapshotStore>,
    guard: Option<&LeaseGuard>,
) -> Result<Arc<CalendarRefresher>, StartError> {
    let source: Option<Arc<dyn CalendarSource>> = if config.calendar_refresh {
        // The endpoint needs no token; send one when configured (harmless).
        let tokens = match (&config.upstox.token_file, &config.upstox.token) {
            (None, Some(token)) => TokenProvider::fixed(token.expose()).ok(),
            (Some(file), _) => TokenProvider::resolve(Some(file)).ok(),
            (None, None) => None,
        };
        let holidays = UpstoxHolidays::new(&config.upstox.base_url, tokens.map(Arc::new))
            .map_err(|e| StartError::Fatal(format!("error: cannot build the HTTP client: {e}")))?;
        tracing::info!(
            url = holidays.url(),
            "calendar refresh on: the broker's holiday list is read at start-up and daily at 08:00 IST"
        );
        let holidays: Arc<dyn CalendarSource> = Arc::new(holidays);
        Some(match guard {
            Some(guard) => Arc::new(LeasedCalendar::new(holidays, guard.clone())),
            None => holidays,
        })
    } else {
        tracing::info!("calendar refresh off: the calendar is the bundled one or --calendar's");
        None
    };
    Ok(Arc::new(
        CalendarRefresher::new(config.clock.clone(), source, Some(store.clone())).with_hint(HINT),
    ))
}
