//! The universe from Upstox's daily instrument file (`--universe upstox` in the server).
//!
//! Upstox publishes every instrument it trades, refreshed each morning, at
//! `{assets}/market-quote/instruments/exchange/NSE.json.gz` (no token needed). From it a
//! universe is built: the `NSE_EQ` rows of `instrument_type` `EQ` become the `prices` topic, and
//! the 9 indices of the bundled universe (their bundled keys and names) the `indices` topic.
//!
//! - [`parse_instrument_file`]: the lenient, streaming parser (bad rows skipped and counted).
//! - [`InstrumentFile`]: downloads and parses the file (size caps, parsing off the async
//!   threads) and checks that the result is plausible.
//! - [`stored`]: the compact JSON kept in the store as reference document
//!   [`REFERENCE_NAME`], so a restart without the network still has the last good list.
//!
//! ```
//! use market_feed::universe::{Universe, upstox::universe_from_stocks};
//! let u = universe_from_stocks(Universe::bundled().prices().to_vec())?;
//! assert_eq!(u.indices().len(), 9);
//! # Ok::<(), market_feed::universe::UniverseError>(())
//! ```

mod fetch;
mod parse;
pub mod stored;

pub use fetch::{
    DEFAULT_ASSETS_URL, InstrumentFile, InstrumentFileConfig, NSE_FILE_PATH, Refreshed,
};
pub use parse::{ParsedFile, parse_instrument_file};

use super::{Instrument, Universe, UniverseError};

/// The store's name for the last good universe from Upstox
/// ([`SnapshotStore::save_reference`](crate::store::SnapshotStore::save_reference)).
///
/// ```
/// assert_eq!(market_feed::universe::upstox::REFERENCE_NAME, "universe:upstox");
/// ```
pub const REFERENCE_NAME: &str = "universe:upstox";

/// Why an instrument file was not used. The messages say what happened and what to check.
///
/// ```
/// use market_feed::universe::upstox::UpstoxFileError;
/// let e = UpstoxFileError::Implausible { stocks: 10, previous: 2000 };
/// assert!(e.to_string().contains("10 stocks"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstoxFileError {
    /// The download failed (connection, time-out, TLS).
    #[error(
        "cannot download the instrument file {url}: {message}: check the network and --upstox-assets-url"
    )]
    Network {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The server answered with an error status.
    #[error("the instrument file {url} answered HTTP {status}: check --upstox-assets-url")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The download, or the JSON inflated from it, is larger than the cap.
    #[error(
        "the instrument file is larger than {limit} bytes: refused (a broken or hostile download)"
    )]
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The body is not gzip or a JSON array (an HTML error page, say).
    #[error("the instrument file is not gzip-compressed JSON (it starts with {starts_with:?})")]
    NotJson {
        /// The first characters of the body, or a description.
        starts_with: String,
    },
    /// The gzip stream or the JSON in it is cut off or broken.
    #[error(
        "the instrument file is corrupt ({message}): a truncated download; the next refresh tries again"
    )]
    Corrupt {
        /// The decoder's message.
        message: String,
    },
    /// The file parsed, but gives far fewer stocks than the last good universe.
    #[error(
        "the instrument file lists {stocks} stocks where the last good universe has {previous}: refused as implausible"
    )]
    Implausible {
        /// Stocks in the file.
        stocks: usize,
        /// Stocks in the universe it would replace.
        previous: usize,
    },
    /// The file's stocks do not make a universe.
    #[error("the instrument file does not make a universe: {0}")]
    Universe(#[from] UniverseError),
    /// The parsing task failed.
    #[error("parsing the instrument file failed: {0}")]
    Task(String),
}

/// The universe of the bundled indices and `stocks`.
///
/// # Errors
///
/// [`UniverseError::DuplicateKey`] when a stock has an index's key (never with real files).
///
/// See the [module docs](self) for an example.
pub fn universe_from_stocks(stocks: Vec<Instrument>) -> Result<Universe, UniverseError> {
    Universe::new(Universe::bundled().indices().to_vec(), stocks)
}

/// Whether a new universe of `stocks` may replace one of `previous` stocks: at least one stock,
/// and at least `min_ratio` of the previous count.
///
/// ```
/// use market_feed::universe::upstox::plausible;
/// assert!(plausible(2100, 2099, 0.5));
/// assert!(!plausible(900, 2099, 0.5));
/// assert!(!plausible(0, 0, 0.5));
/// ```
pub fn plausible(stocks: usize, previous: usize, min_ratio: f64) -> bool {
    stocks > 0 && (stocks as f64) >= (previous as f64) * min_ratio
}
