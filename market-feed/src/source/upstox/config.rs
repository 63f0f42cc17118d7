//! [`UpstoxConfig`]: how an [`UpstoxSource`](super::UpstoxSource) talks to Upstox, and the API's fixed values.

use std::time::Duration;

/// Upstox's limit of instrument keys per market-quote request.
///
/// ```
/// assert_eq!(market_feed::source::upstox::MAX_KEYS_PER_REQUEST, 500);
/// ```
pub const MAX_KEYS_PER_REQUEST: usize = 500;

/// The `User-Agent` of every request: `market-feed/<crate version>`.
///
/// ```
/// assert!(market_feed::source::upstox::USER_AGENT.starts_with("market-feed/"));
/// ```
pub const USER_AGENT: &str = concat!("market-feed/", env!("CARGO_PKG_VERSION"));

/// The production API root.
///
/// ```
/// assert!(market_feed::source::upstox::DEFAULT_BASE_URL.starts_with("https://"));
/// ```
pub const DEFAULT_BASE_URL: &str = "https://api.upstox.com";

/// Which market-quote endpoint a request goes to.
///
/// ```
/// use market_feed::source::upstox::QuoteEndpoint;
/// assert_eq!(QuoteEndpoint::LtpV3.path(), "/v3/market-quote/ltp");
/// assert_eq!(QuoteEndpoint::FullQuoteV2.path(), "/v2/market-quote/quotes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuoteEndpoint {
    /// `GET /v3/market-quote/ltp`: `last_price`, `cp` (previous close), `volume`.
    LtpV3,
    /// `GET /v2/market-quote/quotes`: adds `ohlc` and `net_change` (and depth, ignored).
    FullQuoteV2,
}

impl QuoteEndpoint {
    /// The URL path.
    ///
    /// ```
    /// # use market_feed::source::upstox::QuoteEndpoint;
    /// assert!(QuoteEndpoint::LtpV3.path().starts_with("/v3/"));
    /// ```
    pub fn path(self) -> &'static str {
        match self {
            QuoteEndpoint::LtpV3 => "/v3/market-quote/ltp",
            QuoteEndpoint::FullQuoteV2 => "/v2/market-quote/quotes",
        }
    }
}

/// How an [`UpstoxSource`](super::UpstoxSource) talks to Upstox.
///
/// ```
/// use std::time::Duration;
/// use market_feed::source::upstox::UpstoxConfig;
///
/// let config = UpstoxConfig {
///     base_url: "http://127.0.0.1:9000".into(),
///     refresh_deadline: Duration::from_secs(100),
///     ..UpstoxConfig::default()
/// };
/// assert_eq!(config.batch_size, 500);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UpstoxConfig {
    /// The API root, default [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// Keys per request, at most [`MAX_KEYS_PER_REQUEST`] (default 500).
    pub batch_size: usize,
    /// Requests of one fetch in flight at once (default 5).
    pub concurrency: usize,
    /// Time limit of one attempt, connection included (default 3 s).
    pub request_timeout: Duration,
    /// Retries of a request after a 429, 5xx, timeout or connection failure (default 3).
    pub max_retries: u32,
    /// The first backoff; each retry doubles it, with full jitter (default 250 ms).
    pub backoff_base: Duration,
    /// The longest backoff (default 2 s).
    pub backoff_max: Duration,
    /// A whole fetch, retries and rate-limit waits included, ends within this (default 4.5 s,
    /// under the 5-second index interval). A [`Feed`](crate::feed::Feed) replaces it per job
    /// with one derived from the job's interval ([`UpstoxSource::with_refresh_deadline`](super::UpstoxSource::with_refresh_deadline)).
    pub refresh_deadline: Duration,
    /// The endpoint for index keys (default [`QuoteEndpoint::FullQuoteV2`]).
    pub index_endpoint: QuoteEndpoint,
    /// The endpoint for every other key (default [`QuoteEndpoint::LtpV3`]).
    pub stock_endpoint: QuoteEndpoint,
}

impl Default for UpstoxConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            batch_size: MAX_KEYS_PER_REQUEST,
            concurrency: 5,
            request_timeout: Duration::from_secs(3),
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(2),
            refresh_deadline: Duration::from_millis(4_500),
            index_endpoint: QuoteEndpoint::FullQuoteV2,
            stock_endpoint: QuoteEndpoint::LtpV3,
        }
    }
}
