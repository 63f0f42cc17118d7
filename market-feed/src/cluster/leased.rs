//! [`LeasedSource`], [`LeasedStream`] and [`LeasedCalendar`]: a price source, a stream, or the
//! broker's holiday list, that calls the broker only while this node holds the cluster lease.
//!
//! The feed of a cluster leader is stopped when the lease is lost, but a feed task may run
//! before the task that notices (a process resumed after SIGSTOP runs every due timer at once).
//! Checking the [`LeaseGuard`] right before each broker call closes that gap: no call leaves a
//! node whose lease deadline has passed.

use std::sync::Arc;

use async_trait::async_trait;

use super::lease::LeaseGuard;
use crate::{
    clock::HolidayEntry,
    reference::{CalendarFetchError, CalendarSource},
    source::{Fetched, MissingInstrument, PriceSource, PriceStream, SourceError, TickStream},
    universe::Instrument,
};

/// The error a leased source answers with when this node does not hold the lease.
fn not_leader() -> SourceError {
    SourceError::Transient("this node does not hold the cluster lease: the leader polls".into())
}

/// A [`PriceSource`] that fetches only while its [`LeaseGuard`] holds.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use market_feed::{clock::MarketClock, cluster::{LeaseGuard, LeasedSource}, source::{PriceSource, SimulatedSource}, universe::Universe};
/// let u = Universe::bundled();
/// let guard = LeaseGuard::default();
/// let source = LeasedSource::new(Arc::new(SimulatedSource::new(u.clone(), 1, MarketClock::system())), guard.clone());
/// assert!(source.fetch(&u.indices()[..1]).await.is_err());
/// guard.hold_until(tokio::time::Instant::now() + std::time::Duration::from_secs(5));
/// assert!(source.fetch(&u.indices()[..1]).await.is_ok());
/// # }
/// ```
#[derive(Debug)]
pub struct LeasedSource {
    inner: Arc<dyn PriceSource>,
    guard: LeaseGuard,
}

impl LeasedSource {
    /// Wraps `inner`.
    ///
    /// See [`LeasedSource`] for an example.
    pub fn new(inner: Arc<dyn PriceSource>, guard: LeaseGuard) -> Self {
        Self { inner, guard }
    }
}

#[async_trait]
impl PriceSource for LeasedSource {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        if !self.guard.holds() {
            return Err(not_leader());
        }
        self.inner.fetch(instruments).await
    }

    async fn credentials_usable(&self) -> bool {
        self.inner.credentials_usable().await
    }

    fn missing(&self) -> Vec<MissingInstrument> {
        self.inner.missing()
    }

    fn with_deadline(&self, deadline: std::time::Duration) -> Option<Arc<dyn PriceSource>> {
        let inner = self.inner.with_deadline(deadline)?;
        Some(Arc::new(Self::new(inner, self.guard.clone())))
    }
}

/// A [`PriceStream`] that connects only while its [`LeaseGuard`] holds (an open stream is
/// closed when the leader's feed stops).
///
/// ```
/// # use std::sync::Arc;
/// # use market_feed::cluster::{LeaseGuard, LeasedStream};
/// # use market_feed::source::{PriceStream, SourceError, TickStream};
/// # use market_feed::universe::Instrument;
/// #[derive(Debug)]
/// struct Never;
/// #[async_trait::async_trait]
/// impl PriceStream for Never {
///     fn name(&self) -> &str { "never" }
///     async fn connect(&self, _: &[Instrument]) -> Result<TickStream, SourceError> {
///         Err(SourceError::Transient("down".into()))
///     }
/// }
/// let leased = LeasedStream::new(Arc::new(Never), LeaseGuard::default());
/// assert_eq!(leased.name(), "never");
/// ```
#[derive(Debug)]
pub struct LeasedStream {
    inner: Arc<dyn PriceStream>,
    guard: LeaseGuard,
}

impl LeasedStream {
    /// Wraps `inner`.
    ///
    /// See [`LeasedStream`] for an example.
    pub fn new(inner: Arc<dyn PriceStream>, guard: LeaseGuard) -> Self {
        Self { inner, guard }
    }
}

#[async_trait]
impl PriceStream for LeasedStream {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn check(&self, instruments: &[Instrument]) -> Result<(), SourceError> {
        self.inner.check(instruments)
    }

    async fn connect(&self, instruments: &[Instrument]) -> Result<TickStream, SourceError> {
        if !self.guard.holds() {
            return Err(not_leader());
        }
        self.inner.connect(instruments).await
    }

    async fn credentials_usable(&self) -> bool {
        self.inner.credentials_usable().await
    }
}

/// A [`CalendarSource`] (the broker's holiday list) fetched only while its [`LeaseGuard`]
/// holds; a follower keeps the stored list, which the leader refreshes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # use std::sync::Arc;
/// use market_feed::cluster::{LeaseGuard, LeasedCalendar};
/// use market_feed::reference::{CalendarFetchError, CalendarSource, UpstoxHolidays};
/// let holidays = Arc::new(UpstoxHolidays::new("http://127.0.0.1:9", None).unwrap());
/// let leased = LeasedCalendar::new(holidays, LeaseGuard::default());
/// assert_eq!(leased.fetch().await.unwrap_err(), CalendarFetchError::NotLeader);
/// # }
/// ```
#[derive(Debug)]
pub struct LeasedCalendar {
    inner: Arc<dyn CalendarSource>,
    guard: LeaseGuard,
}

impl LeasedCalendar {
    /// Wraps `inner`.
    ///
    /// See [`LeasedCalendar`] for an example.
    pub fn new(inner: Arc<dyn CalendarSource>, guard: LeaseGuard) -> Self {
        Self { inner, guard }
    }
}

#[async_trait]
impl CalendarSource for LeasedCalendar {
    fn store_name(&self) -> &str {
        self.inner.store_name()
    }

    async fn fetch(&self) -> Result<Vec<HolidayEntry>, CalendarFetchError> {
        if !self.guard.holds() {
            return Err(CalendarFetchError::NotLeader);
        }
        self.inner.fetch().await
    }
}
