//! [`CalendarRefresher`]: keeps the clock's calendar current with the broker's holiday list.
//!
//! At start-up it applies the copy kept in the store (so a restart without the network still
//! knows the broker's answer), then fetches the list once; afterwards daily at 08:00 IST on the
//! market clock. Each answer is merged over the *base* calendar (the bundled one or the user's
//! file, as the clock had it when the refresher was made) and set on the clock; every date on
//! which the broker differs from the base is logged once. A failed fetch keeps the last good
//! calendar and logs a warning. The calendar's coverage is logged at start-up and daily.
//!
//! The list is kept by year: an answer replaces the stored entries of the years it lists and
//! keeps the others (Upstox answers for the current year only, so last year's list stays).

use std::{
    collections::{BTreeSet, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
    },
};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::upstox_holidays::{CalendarFetchError, CalendarSource};
use crate::{
    clock::{
        BrokerDays, Calendar, HolidayEntry, MarketClock, REFRESH_AT, Severity, coverage_report,
        ist_date,
    },
    store::{ReferenceDoc, SnapshotStore},
};

/// The store name of the broker's holiday list.
pub const CALENDAR_DOC: &str = "calendar:upstox";

/// The stored document: the broker's entries (all years kept), as JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredList {
    entries: Vec<HolidayEntry>,
}

/// Counters of a [`CalendarRefresher`], for metrics.
///
/// ```
/// use market_feed::reference::RefreshStats;
/// let s = RefreshStats::default();
/// assert_eq!(s.failures(), 0);
/// ```
#[derive(Debug, Default)]
pub struct RefreshStats {
    successes: AtomicU64,
    failures: AtomicU64,
    last_success_ms: AtomicI64,
}

impl RefreshStats {
    /// Successful fetches.
    ///
    /// ```
    /// # use market_feed::reference::RefreshStats;
    /// assert_eq!(RefreshStats::default().successes(), 0);
    /// ```
    pub fn successes(&self) -> u64 {
        self.successes.load(Relaxed)
    }

    /// Failed fetches.
    ///
    /// ```
    /// # use market_feed::reference::RefreshStats;
    /// assert_eq!(RefreshStats::default().failures(), 0);
    /// ```
    pub fn failures(&self) -> u64 {
        self.failures.load(Relaxed)
    }

    /// When the last successful fetch ended (clock ms; 0: never).
    ///
    /// ```
    /// # use market_feed::reference::RefreshStats;
    /// assert_eq!(RefreshStats::default().last_success_ms(), 0);
    /// ```
    pub fn last_success_ms(&self) -> i64 {
        self.last_success_ms.load(Relaxed)
    }
}

#[derive(Debug, Default)]
struct State {
    entries: Vec<HolidayEntry>,
    logged: HashSet<String>,
}

/// Keeps a clock's calendar current (see the module documentation).
///
/// ```
/// use std::sync::Arc;
/// use market_feed::{clock::{HolidayEntry, MarketClock}, reference::{CalendarFetchError, CalendarRefresher, CalendarSource}};
/// use time::macros::datetime;
///
/// #[derive(Debug)]
/// struct Fixed;
/// #[async_trait::async_trait]
/// impl CalendarSource for Fixed {
///     fn store_name(&self) -> &str { "calendar:fixed" }
///     async fn fetch(&self) -> Result<Vec<HolidayEntry>, CalendarFetchError> {
///         Ok(serde_json::from_str(r#"[{"date":"2027-01-25","description":"Announced late",
///             "holiday_type":"TRADING_HOLIDAY","closed_exchanges":["NSE"],"open_exchanges":[]}]"#).unwrap())
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let clock = MarketClock::fixed(datetime!(2027-01-25 08:00 +05:30));
/// let refresher = CalendarRefresher::new(clock.clone(), Some(Arc::new(Fixed)), None);
/// refresher.start().await;
/// assert_eq!(clock.status().reason.as_deref(), Some("holiday: Announced late"));
/// # }
/// ```
#[derive(Debug)]
pub struct CalendarRefresher {
    clock: MarketClock,
    base: Arc<Calendar>,
    source: Option<Arc<dyn CalendarSource>>,
    store: Option<Arc<dyn SnapshotStore>>,
    hint: String,
    state: Mutex<State>,
    stats: Arc<RefreshStats>,
}

impl CalendarRefresher {
    /// A refresher for `clock`, whose current calendar becomes the base. Without a `source`
    /// it only reports coverage (at start-up and daily); without a `store` nothing is kept
    /// across restarts.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, reference::CalendarRefresher};
    /// let r = CalendarRefresher::new(MarketClock::system(), None, None);
    /// assert_eq!(r.stats().successes(), 0);
    /// ```
    pub fn new(
        clock: MarketClock,
        source: Option<Arc<dyn CalendarSource>>,
        store: Option<Arc<dyn SnapshotStore>>,
    ) -> Self {
        Self {
            base: clock.calendar(),
            clock,
            source,
            store,
            hint: String::new(),
            state: Mutex::new(State::default()),
            stats: Arc::new(RefreshStats::default()),
        }
    }

    /// Appends `hint` to every coverage warning (how to fix it in the embedding application,
    /// e.g. the server's options).
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, reference::CalendarRefresher};
    /// let r = CalendarRefresher::new(MarketClock::system(), None, None).with_hint("see the docs");
    /// # let _ = r;
    /// ```
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    /// The counters.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, reference::CalendarRefresher};
    /// assert_eq!(CalendarRefresher::new(MarketClock::system(), None, None).stats().failures(), 0);
    /// ```
    pub fn stats(&self) -> Arc<RefreshStats> {
        self.stats.clone()
    }

    /// Start-up: applies the stored copy, fetches once, logs the coverage. Never fails: a
    /// problem is logged and the best calendar available stays on the clock.
    pub async fn start(&self) {
        if self.source.is_some() {
            self.load_stored().await;
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "cannot fetch the broker's holiday list at start-up; using {}", self.describe_current());
            }
        }
        self.log_coverage();
    }

    /// Daily at 08:00 IST (market clock) until `shutdown`: fetch, then log the coverage.
    pub async fn run_daily(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                _ = self.clock.sleep_until_daily(REFRESH_AT) => {}
            }
            if self.source.is_some() {
                if let Err(e) = self.refresh().await {
                    tracing::warn!(error = %e, "cannot fetch the broker's holiday list; keeping {}", self.describe_current());
                }
            }
            self.log_coverage();
        }
    }

    /// Applies the copy kept in the store, if any; true if one was applied.
    pub async fn load_stored(&self) -> bool {
        let (Some(store), Some(source)) = (&self.store, &self.source) else {
            return false;
        };
        let doc = match store.load_reference(source.store_name()).await {
            Ok(Some(doc)) => doc,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %crate::Report::new(&e), "cannot read the stored holiday list");
                return false;
            }
        };
        match serde_json::from_slice::<StoredList>(&doc.body) {
            Ok(list) => {
                let fetched = crate::clock::from_ms(doc.fetched_at);
                tracing::info!(entries = list.entries.len(), fetched_at = %fetched, "using the stored copy of the broker's holiday list");
                self.apply(list.entries);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "the stored holiday list is unreadable; ignoring it");
                false
            }
        }
    }

    /// Fetches the list, merges it and keeps it in the store. Returns the number of entries.
    ///
    /// # Errors
    ///
    /// The fetch failed; the clock keeps its calendar.
    pub async fn refresh(&self) -> Result<usize, CalendarFetchError> {
        let Some(source) = &self.source else {
            return Ok(0);
        };
        let fresh = match source.fetch().await {
            Ok(list) => list,
            Err(e) => {
                self.stats.failures.fetch_add(1, Relaxed);
                return Err(e);
            }
        };
        let count = fresh.len();
        let years: BTreeSet<i32> = fresh.iter().map(|e| e.date.year()).collect();
        let entries = {
            let state = self.lock();
            let mut kept: Vec<HolidayEntry> = state
                .entries
                .iter()
                .filter(|e| !years.contains(&e.date.year()))
                .cloned()
                .collect();
            kept.extend(fresh);
            kept.sort_by_key(|e| e.date);
            kept
        };
        let now = self.clock.now_ms();
        self.stats.successes.fetch_add(1, Relaxed);
        self.stats.last_success_ms.store(now, Relaxed);
        tracing::info!(entries = count, years = ?years, "fetched the broker's holiday list");
        self.apply(entries.clone());
        if let Some(store) = &self.store {
            let body = serde_json::to_vec(&StoredList { entries }).unwrap_or_default();
            if let Err(e) = store
                .save_reference(source.store_name(), &ReferenceDoc::new(now, body))
                .await
            {
                tracing::warn!(error = %crate::Report::new(&e), "cannot keep the broker's holiday list in the store; a restart without the network will not know it");
            }
        }
        Ok(count)
    }

    /// Merges `entries` over the base calendar, sets the result on the clock and logs each new
    /// difference once.
    fn apply(&self, entries: Vec<HolidayEntry>) {
        let days = BrokerDays::from_entries(&entries, self.base.exchange(), self.base.regular());
        let (merged, differences) = self.base.merged_with(&days);
        self.clock.set_calendar(Arc::new(merged));
        let mut state = self.lock();
        state.entries = entries;
        for d in differences {
            let line = d.to_string();
            if state.logged.insert(line.clone()) {
                tracing::info!(date = %d.date, "the broker's holiday list differs from the bundled or file calendar (the broker wins): {line}");
            }
        }
    }

    fn describe_current(&self) -> &'static str {
        if self.lock().entries.is_empty() {
            "the bundled or file calendar"
        } else {
            "the last good holiday list"
        }
    }

    /// Logs the coverage report: warnings as WARN, the rest as INFO.
    pub fn log_coverage(&self) {
        let report = coverage_report(&self.clock, ist_date(self.clock.now()));
        for line in &report.lines {
            match line.severity {
                Severity::Warn if self.hint.is_empty() => tracing::warn!("{}", line.text),
                Severity::Warn => tracing::warn!("{}; {}", line.text, self.hint),
                Severity::Info => tracing::info!("{}", line.text),
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests;
