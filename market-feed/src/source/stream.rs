//! Push sources: brokers that stream ticks over one connection instead of answering polls.
//!
//! A [`PriceStream`] knows how to open one connection subscribed to a list of instruments and
//! turn the broker's frames into [`StreamEvent`]s. Everything else, when to connect (only
//! inside the service window), reconnecting with backoff, the stall watchdog, health
//! (`feed_status`), coalescing ticks into batches and publishing them, is the
//! [`Feed`](crate::feed::Feed)'s job and the same for every broker. So adding another broker's
//! stream (Zerodha's Kite ticker, Angel One's SmartAPI stream) means implementing
//! [`PriceStream::connect`] for it, nothing in the feed.
//!
//! ```
//! use async_trait::async_trait;
//! use futures::StreamExt;
//! use market_feed::{
//!     model::Quote,
//!     source::{PriceStream, SourceError, StreamEvent, TickStream},
//!     universe::Instrument,
//! };
//!
//! /// One tick at 100 per instrument, then the connection closes.
//! #[derive(Debug)]
//! struct Once;
//!
//! #[async_trait]
//! impl PriceStream for Once {
//!     fn name(&self) -> &str {
//!         "once"
//!     }
//!     async fn connect(&self, instruments: &[Instrument]) -> Result<TickStream, SourceError> {
//!         let quotes = instruments.iter().map(|i| Quote::new(i.key.clone(), i.symbol.clone(), 100.0, 0)).collect();
//!         Ok(futures::stream::iter([Ok(StreamEvent::Ticks(quotes))]).boxed())
//!     }
//! }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let universe = market_feed::universe::Universe::bundled();
//! let mut ticks = Once.connect(universe.indices()).await?;
//! assert!(matches!(ticks.next().await, Some(Ok(StreamEvent::Ticks(q))) if q.len() == 9));
//! assert!(ticks.next().await.is_none());
//! # Ok::<(), SourceError>(())
//! # });
//! ```

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::SourceError;
use crate::{model::Quote, universe::Instrument};

/// What one connection yields; it ends (`None`) when the broker closes it, and an `Err` item
/// means the connection failed (the feed reconnects either way).
pub type TickStream = BoxStream<'static, Result<StreamEvent, SourceError>>;

/// One decoded broker frame.
///
/// ```
/// use market_feed::source::{SegmentStatus, StreamEvent};
/// let e = StreamEvent::Segments(vec![SegmentStatus { segment: "NSE_EQ".into(), status: "NORMAL_OPEN".into(), open: true }]);
/// assert!(matches!(e, StreamEvent::Segments(s) if s[0].open));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Quotes of the instruments that ticked, with the universe's keys and symbols, `ts` the
    /// instant the tick was received (source clock), `prev_close` set when the broker sent it.
    /// Volume and open/high/low are `None` when the broker's mode lacks them: the hub then
    /// keeps the values it had. May be empty: every data frame counts as a sign of life.
    Ticks(Vec<Quote>),
    /// The broker's view of the market's state per segment. The feed logs it when it
    /// disagrees with the market clock and never acts on it.
    Segments(Vec<SegmentStatus>),
}

/// One segment's state as the broker reports it.
///
/// ```
/// # use market_feed::source::SegmentStatus;
/// let s = SegmentStatus { segment: "NSE_INDEX".into(), status: "NORMAL_CLOSE".into(), open: false };
/// assert!(!s.open);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentStatus {
    /// The broker's segment name (`NSE_EQ`, `NSE_INDEX`, ...).
    pub segment: String,
    /// The broker's status name, for the log.
    pub status: String,
    /// Whether that status means continuous trading.
    pub open: bool,
}

/// A broker's streaming market data: one connection at a time, subscribed to a list of
/// instruments.
///
/// # Contract
///
/// 1. [`PriceStream::check`] refuses, before any connection, a list the broker would not
///    accept (too many instruments for its limits), with a message that says what to change.
/// 2. [`PriceStream::connect`] opens a new connection (a fresh authorization each time when
///    the broker needs one), subscribes every given instrument, and returns the stream of its
///    frames. It fails with [`SourceError::Unauthorized`] only when the broker refused the
///    credentials; any other failure (a refused handshake, a network error) is retryable.
/// 3. Quotes carry the universe's `key` and `symbol`, never the broker's spelling, and only
///    instruments that were subscribed.
/// 4. Dropping the stream closes the connection.
///
/// The [`Feed`](crate::feed::Feed) drives it: see `docs/sources.md`.
#[async_trait]
pub trait PriceStream: Send + Sync + std::fmt::Debug {
    /// A short name for logs (`upstox-stream`).
    fn name(&self) -> &str;

    /// Whether one connection may carry `instruments`; see the
    /// [contract](PriceStream#contract). The default accepts any list.
    ///
    /// ```
    /// # use market_feed::source::{PriceStream, SourceError, TickStream};
    /// # use market_feed::universe::{Instrument, Universe};
    /// # #[derive(Debug)] struct Any;
    /// # #[async_trait::async_trait] impl PriceStream for Any {
    /// #     fn name(&self) -> &str { "any" }
    /// #     async fn connect(&self, _: &[Instrument]) -> Result<TickStream, SourceError> { unimplemented!() }
    /// # }
    /// assert!(Any.check(Universe::bundled().prices()).is_ok());
    /// ```
    fn check(&self, instruments: &[Instrument]) -> Result<(), SourceError> {
        let _ = instruments;
        Ok(())
    }

    /// Opens one connection subscribed to `instruments`; see the
    /// [contract](PriceStream#contract).
    async fn connect(&self, instruments: &[Instrument]) -> Result<TickStream, SourceError>;

    /// Whether the credentials may be used again after [`SourceError::Unauthorized`]: as
    /// [`PriceSource::credentials_usable`](super::PriceSource::credentials_usable). The
    /// default, for brokers without credentials, is `false`.
    ///
    /// ```
    /// # use market_feed::source::{PriceStream, SourceError, TickStream};
    /// # use market_feed::universe::Instrument;
    /// # #[derive(Debug)] struct Any;
    /// # #[async_trait::async_trait] impl PriceStream for Any {
    /// #     fn name(&self) -> &str { "any" }
    /// #     async fn connect(&self, _: &[Instrument]) -> Result<TickStream, SourceError> { unimplemented!() }
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert!(!Any.credentials_usable().await);
    /// # });
    /// ```
    async fn credentials_usable(&self) -> bool {
        false
    }
}
