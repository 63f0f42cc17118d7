//! Price sources: where quotes come from.
//!
//! A [`PriceSource`] takes instruments and returns quotes. The library ships three:
//!
//! - [`UpstoxSource`](upstox::UpstoxSource): the real Upstox REST API (batches of 500, a shared
//!   rate limiter, retries with backoff, token reload after a 401);
//! - [`SimulatedSource`]: a seeded random walk around realistic levels, no account needed;
//! - [`ReplaySource`]: plays the recorded trading day of 2026-01-29 (15-minute bars of 1,402 NSE
//!   stocks), interpolating inside each bar.
//!
//! Write your own by implementing the trait (see `examples/custom_source.rs` and
//! `docs/sources.md`).
//!
//! Brokers that push ticks implement [`PriceStream`] instead:
//! [`UpstoxStream`](upstox::UpstoxStream) speaks Upstox's Market Data Feed V3.
//!
//! ```
//! use std::sync::Arc;
//! use market_feed::{clock::MarketClock, source::{PriceSource, SimulatedSource}, universe::Universe};
//! use time::macros::datetime;
//!
//! # tokio_test_block(async {
//! let clock = MarketClock::fixed(datetime!(2026-01-29 10:30 +05:30));
//! let universe = Universe::bundled();
//! let source: Arc<dyn PriceSource> = Arc::new(SimulatedSource::new(universe.clone(), 7, clock));
//! let fetched = source.fetch(universe.indices()).await?;
//! assert_eq!(fetched.quotes.len(), 9);
//! assert!(fetched.missing.is_empty() && fetched.errors.is_empty());
//! # Ok::<(), market_feed::source::SourceError>(())
//! # });
//! # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```

mod derived;
mod error;
pub(crate) mod levels;
mod missing;
pub mod replay;
mod simulated;
mod stream;
pub mod upstox;

use std::{collections::HashSet, sync::Arc};

use async_trait::async_trait;

use crate::{
    model::{InstrumentKey, Quote},
    universe::Instrument,
};

pub use derived::IndicesFromStocks;
pub use error::{Cause, EXCERPT_CHARS, HttpStatus, Reason, SourceError};
pub use levels::{INDEX_LEVELS, bundled_prev_close};
pub use missing::{MissingInstrument, MissingReason};
pub use replay::ReplaySource;
pub use simulated::SimulatedSource;
pub use stream::{PriceStream, SegmentStatus, StreamEvent, TickStream};

/// The answer to one fetch: the quotes obtained, the keys without a quote, and the failures of
/// the requests that make up the fetch, if any.
///
/// ```
/// use market_feed::source::{Fetched, SourceError};
///
/// let partial = Fetched {
///     errors: vec![SourceError::Transient("HTTP 503".into())],
///     ..Fetched::default()
/// };
/// assert!(partial.has_failures());
/// assert!(!Fetched::default().has_failures());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    /// At most one quote per requested key, in any order.
    pub quotes: Vec<Quote>,
    /// Requested keys without a quote: unknown to the broker, answered with no price, or part of
    /// a request that failed (then [`Fetched::errors`] says why).
    pub missing: Vec<InstrumentKey>,
    /// The failures of requests that stayed failed after retries while others succeeded. A
    /// fetch with failures counts as failed (see `docs/feed.md`), but its quotes are still good to
    /// publish.
    pub errors: Vec<SourceError>,
}

impl Fetched {
    /// True when a part of the fetch failed ([`Fetched::errors`] is not empty).
    ///
    /// ```
    /// # use market_feed::source::Fetched;
    /// assert!(!Fetched::default().has_failures());
    /// ```
    pub fn has_failures(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Completes `missing` so that every requested key is either quoted or missing: the keys
    /// of `requested` that have no quote and are not listed yet are appended, in request order.
    /// A helper for implementors.
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, source::Fetched, universe::Instrument};
    /// let i = Instrument::new(InstrumentKey::new("NSE_EQ|A1").unwrap(), "A", "A", None);
    /// let mut f = Fetched::default();
    /// f.fill_missing(&[i.clone(), i]);
    /// assert_eq!(f.missing.len(), 1);
    /// ```
    pub fn fill_missing(&mut self, requested: &[Instrument]) {
        let mut seen: HashSet<&InstrumentKey> = self.quotes.iter().map(|q| &q.key).collect();
        seen.extend(self.missing.iter());
        let mut extra = Vec::new();
        for i in requested {
            if seen.insert(&i.key) {
                extra.push(i.key.clone());
            }
        }
        self.missing.extend(extra);
    }
}

/// A source of quotes: give it instruments, get quotes back.
///
/// Object-safe: the feed holds an `Arc<dyn PriceSource>`. Implementations must be cheap to
/// call concurrently (the feed may fetch `indices` and `prices` at the same time).
///
/// # Contract
///
/// For `fetch(instruments)`:
///
/// 1. **Every requested key ends up in exactly one place**: a quote in [`Fetched::quotes`] or
///    a key in [`Fetched::missing`]. Duplicated input keys are answered once.
/// 2. **Quotes carry the universe's identity**: `quote.key` and `quote.symbol` are the
///    requested instrument's `key` and `symbol` (never the broker's spelling, such as
///    `Nifty 50` for `NIFTY 50`). `ts` is the source clock's current instant (offline sources,
///    Upstox) unless the source knows the exchange's trade time.
/// 3. **Partial answers are normal**: keys the broker does not know are listed in `missing`;
///    that is not an error.
/// 4. **Partly failed fetches return `Ok`**: when the fetch is made of several requests and
///    some still fail after retries while others succeed, the quotes obtained are returned
///    with the failed requests' keys in `missing` and their errors in [`Fetched::errors`]. The
///    caller counts such a refresh as failed but still publishes its quotes.
/// 5. **`Err` when nothing useful came back**: every request failed (the first error is
///    returned), or the broker refused the credentials anywhere in the fetch
///    ([`SourceError::Unauthorized`], even if other requests succeeded: the caller must stop
///    until the token changes).
/// 6. **Bounded time**: a fetch finishes within the source's own deadline (for
///    [`upstox::UpstoxSource`], [`upstox::UpstoxConfig::refresh_deadline`]), so a refresh never
///    outlives its interval. The feed sets that deadline per job through
///    [`PriceSource::with_deadline`]. Dropping the future cancels the fetch.
/// 7. An empty request returns an empty `Ok` without calling the broker.
///
/// # Push-based sources
///
/// Brokers that push ticks over one connection (Upstox's Market Data Feed V3) implement
/// [`PriceStream`] instead; the [`Feed`](crate::feed::Feed) runs such a stream beside the
/// polled sources (see [`FeedBuilder::stream`](crate::feed::FeedBuilder::stream)).
///
/// # Implementing
///
/// ```
/// use async_trait::async_trait;
/// use market_feed::{model::Quote, source::{Fetched, PriceSource, SourceError}, universe::Instrument};
///
/// /// Every instrument at 100.
/// #[derive(Debug)]
/// struct Flat;
///
/// #[async_trait]
/// impl PriceSource for Flat {
///     fn name(&self) -> &str {
///         "flat"
///     }
///     async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
///         let quotes = instruments
///             .iter()
///             .map(|i| Quote::new(i.key.clone(), i.symbol.clone(), 100.0, 0).with_prev_close(Some(100.0)))
///             .collect();
///         Ok(Fetched { quotes, ..Fetched::default() })
///     }
/// }
/// let _: std::sync::Arc<dyn PriceSource> = std::sync::Arc::new(Flat);
/// ```
#[cfg_attr(any(test, feature = "testing"), mockall::automock)]
#[async_trait]
pub trait PriceSource: Send + Sync + std::fmt::Debug {
    /// A short name for logs and metrics (`upstox`, `simulated`, `replay`).
    fn name(&self) -> &str;

    /// Quotes for `instruments`; see the [contract](PriceSource#contract).
    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError>;

    /// Whether the source's credentials may be used: re-reads them from where they come from
    /// (for [`upstox::UpstoxSource`], the token file or variable) when the ones in force were
    /// refused, and answers `true` unless the credentials in force are still refused ones.
    ///
    /// The feed calls this, instead of fetching, every few seconds while a topic is
    /// `unauthorized`, and fetches again as soon as it returns `true`: no call is made on a
    /// refused token. Every caller gets the same answer (several topics sharing one source all
    /// resume on a new token; none "uses up" the change). The default, for sources without
    /// credentials, is `false` (the feed then tries again in the next session).
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{PriceSource, SimulatedSource}, universe::Universe};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let s = SimulatedSource::new(Universe::bundled(), 1, MarketClock::system());
    /// assert!(!s.credentials_usable().await);
    /// # });
    /// ```
    async fn credentials_usable(&self) -> bool {
        false
    }

    /// The instruments this source currently knows it cannot quote, and why (keys the broker
    /// does not know, keys it answers without a price). The default is none.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{PriceSource, SimulatedSource}, universe::Universe};
    /// let s = SimulatedSource::new(Universe::bundled(), 1, MarketClock::system());
    /// assert!(s.missing().is_empty());
    /// ```
    fn missing(&self) -> Vec<MissingInstrument> {
        Vec::new()
    }

    /// A handle on this source whose fetches end within `deadline` (real time), for sources
    /// that bound a fetch themselves ([contract](PriceSource#contract) item 6). The
    /// [`Feed`](crate::feed::Feed) calls it once per job when it is built, with a deadline
    /// derived from the job's interval, and uses the handle it gets for that job; `None` (the
    /// default) keeps this source as it is. [`upstox::UpstoxSource`] answers a clone sharing
    /// its client, token and rate limiter; [`IndicesFromStocks`] passes it on to its stock
    /// source.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{PriceSource, SimulatedSource}, universe::Universe};
    /// let s = SimulatedSource::new(Universe::bundled(), 1, MarketClock::system());
    /// assert!(s.with_deadline(std::time::Duration::from_secs(4)).is_none());
    /// ```
    fn with_deadline(&self, deadline: std::time::Duration) -> Option<Arc<dyn PriceSource>> {
        let _ = deadline;
        None
    }
}

#[cfg(test)]
mod tests;
