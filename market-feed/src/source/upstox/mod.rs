//! [`UpstoxSource`]: quotes from the Upstox REST API.
//!
//! # Endpoints, per topic
//!
//! Index keys (`*_INDEX`) and stock keys go to different endpoints by default
//! ([`UpstoxConfig::index_endpoint`], [`UpstoxConfig::stock_endpoint`]):
//!
//! - **Indices → v2 full quote** (`GET /v2/market-quote/quotes`). The 9 indices are one small
//!   request every 5 seconds, and the full quote adds the day's open, high and low that an index
//!   ticker shows. Its `ohlc.close` is *not* the previous close (in the docs' example it equals
//!   `last_price`), so the previous close is derived as `last_price - net_change`.
//! - **Stocks → v3 LTP** (`GET /v3/market-quote/ltp`). 2,200 stocks are 5 requests of 500 every
//!   2 minutes; v3 LTP gives exactly what a price list needs (`last_price`, `cp` = previous
//!   close, `volume`) in about a seventh of the full quote's bytes (no 5-level depth), so a
//!   500-key response parses well within a millisecond. v2 LTP is deprecated and lacks `cp`.
//!
//! Set both to [`QuoteEndpoint::FullQuoteV2`] to get open/high/low for stocks too, at the cost
//! of larger responses. Both endpoints work with Upstox's 1-year read-only *Analytics Token*.
//!
//! # Requests
//!
//! At most 500 keys per request (Upstox's limit); the requests of one fetch run concurrently
//! up to [`UpstoxConfig::concurrency`]; every request first takes a permit from the
//! [`RateLimiter`] shared by all clones of the source (one per Upstox account); each attempt is
//! bounded by [`UpstoxConfig::request_timeout`]; 429, 5xx, timeouts and connection failures are
//! retried with exponential backoff and full jitter, up to [`UpstoxConfig::max_retries`] times
//! and never past [`UpstoxConfig::refresh_deadline`]. 400 and 401 are never retried blindly.
//! Every request carries `User-Agent: market-feed/<version>` ([`USER_AGENT`]).
//!
//! What counts as what: only HTTP 401, or the error code `UDAPI100050` under any status, is a
//! refused token. A 403 (the CDN in front of the API answers it with an HTML page), 429, 5xx
//! and time-outs are retried and, if they last, fail the refresh ([`SourceError::Transient`],
//! [`SourceError::RateLimited`]); HTML and malformed bodies are [`SourceError::BadResponse`].
//! None of these stops the feed. `"status":"partial_success"` is a success for the keys it
//! answers.
//!
//! # Keys the broker does not know
//!
//! Upstox refuses a whole request with HTTP 400 `UDAPI1087` when one of its keys is unknown.
//! The source then splits the request in halves until each unknown key stands alone, so every
//! other key is still served in the same refresh (each split request takes a rate-limit
//! permit). Unknown keys are held back, not asked for again, until the next trading day (IST
//! date) or until the fetch asks for a different set of keys (a universe change); they are
//! `missing` in every fetch meanwhile. Keys the broker leaves out of its answer, or answers
//! without a price, are missing too, and are asked for again each time. Both kinds are logged
//! once per day by symbol and listed by [`PriceSource::missing`].
//!
//! # The token
//!
//! From `UPSTOX_ACCESS_TOKEN` or a token file ([`TokenProvider`]). After a 401 the source
//! re-reads the file once: if the token changed it retries the request at once with the new
//! one, else the fetch fails with [`SourceError::Unauthorized`] and the token is marked
//! refused: from then on no request of any clone (any topic) carries it, and fetches fail at
//! once without a call until the file (or variable) holds another token. A feed that sees
//! `Unauthorized` polls [`PriceSource::credentials_usable`] every few seconds; it re-reads the
//! file and answers `true`, to every caller, once the token changed. The token never appears
//! in logs, errors or `Debug` output.
//!
//! ```no_run
//! use market_feed::{
//!     clock::MarketClock,
//!     source::{upstox::{TokenProvider, UpstoxConfig, UpstoxSource}, PriceSource},
//!     universe::Universe,
//! };
//!
//! # async fn run() -> Result<(), market_feed::source::SourceError> {
//! let source = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::from_env()?, MarketClock::system())?;
//! let universe = Universe::bundled();
//! let fetched = source.fetch(universe.indices()).await?;
//! println!("{} quotes, {} missing", fetched.quotes.len(), fetched.missing.len());
//! # Ok(()) }
//! ```

mod config;
mod quarantine;
mod rate_limit;
mod request;
mod response;
mod split;
pub mod stream;
mod token;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use futures::{StreamExt, stream as futures_stream};

use super::{Fetched, MissingInstrument, PriceSource, SourceError};
use crate::{
    clock::{MarketClock, ist_date},
    universe::Instrument,
};

pub use config::{DEFAULT_BASE_URL, MAX_KEYS_PER_REQUEST, QuoteEndpoint, USER_AGENT, UpstoxConfig};
pub use rate_limit::{RateLimiter, UPSTOX_LIMITS};
pub use response::{Decoded, decode_quotes, error_code};
pub use stream::UpstoxStream;
pub use token::{TOKEN_ENV, TokenProvider, UpstoxToken};

/// The parts every clone of a source shares: one HTTP client, one token, one rate limiter,
/// one book of unknown keys.
struct Shared {
    http: reqwest::Client,
    base_url: reqwest::Url,
    tokens: Arc<TokenProvider>,
    limiter: Arc<RateLimiter>,
    clock: MarketClock,
    book: Arc<quarantine::Book>,
}

/// Quotes from the Upstox REST API. Cheap to clone; clones share the HTTP connection pool, the
/// token and the rate limiter, so one source (and its clones) per Upstox account keeps every
/// job under the account's limits.
///
/// ```
/// use market_feed::{clock::MarketClock, source::upstox::{TokenProvider, UpstoxConfig, UpstoxSource}};
///
/// let source = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::fixed("secret-token")?, MarketClock::system())?;
/// let prices = source.with_refresh_deadline(std::time::Duration::from_secs(100));
/// assert!(std::sync::Arc::ptr_eq(source.rate_limiter(), prices.rate_limiter()));
/// assert!(!format!("{source:?}").contains("secret-token"));
/// # Ok::<(), market_feed::source::SourceError>(())
/// ```
#[derive(Clone)]
pub struct UpstoxSource {
    shared: Arc<Shared>,
    config: Arc<UpstoxConfig>,
}

impl UpstoxSource {
    /// A source with its own [`RateLimiter::upstox`]. Fails with [`SourceError::Config`] on a
    /// base URL that is not an `http(s)` URL.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::upstox::{TokenProvider, UpstoxConfig, UpstoxSource}};
    /// let bad = UpstoxConfig { base_url: "api.upstox.com".into(), ..UpstoxConfig::default() };
    /// assert!(UpstoxSource::new(bad, TokenProvider::fixed("t").unwrap(), MarketClock::system()).is_err());
    /// ```
    pub fn new(
        config: UpstoxConfig,
        tokens: TokenProvider,
        clock: MarketClock,
    ) -> Result<Self, SourceError> {
        let base_url = reqwest::Url::parse(config.base_url.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                SourceError::Config(format!(
                    "the Upstox base URL {:?} is not an http(s) URL: use e.g. {DEFAULT_BASE_URL}",
                    config.base_url
                ).into())
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .user_agent(USER_AGENT)
            .pool_max_idle_per_host(config.concurrency.max(1))
            .build()
            .map_err(|e| {
                SourceError::Config(format!("cannot build the HTTP client: {e}").into())
            })?;
        let config = UpstoxConfig {
            batch_size: config.batch_size.clamp(1, MAX_KEYS_PER_REQUEST),
            concurrency: config.concurrency.max(1),
            ..config
        };
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                base_url,
                tokens: Arc::new(tokens),
                limiter: Arc::new(RateLimiter::upstox()),
                clock,
                book: Arc::default(),
            }),
            config: Arc::new(config),
        })
    }

    /// The same source drawing permits from `limiter` (to share one limiter between sources
    /// built separately for the same account).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, source::upstox::{RateLimiter, TokenProvider, UpstoxConfig, UpstoxSource}};
    /// let limiter = Arc::new(RateLimiter::upstox());
    /// let s = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::fixed("t").unwrap(), MarketClock::system())
    ///     .unwrap()
    ///     .with_rate_limiter(limiter.clone());
    /// assert!(Arc::ptr_eq(s.rate_limiter(), &limiter));
    /// ```
    pub fn with_rate_limiter(self, limiter: Arc<RateLimiter>) -> Self {
        let shared = Shared {
            http: self.shared.http.clone(),
            base_url: self.shared.base_url.clone(),
            tokens: self.shared.tokens.clone(),
            limiter,
            clock: self.shared.clock.clone(),
            book: self.shared.book.clone(),
        };
        Self {
            shared: Arc::new(shared),
            config: self.config,
        }
    }

    /// A clone (same client, token and limiter) whose fetches end within `deadline`: use one
    /// per job, with a deadline under the job's interval.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use market_feed::{clock::MarketClock, source::upstox::{TokenProvider, UpstoxConfig, UpstoxSource}};
    /// let s = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::fixed("t").unwrap(), MarketClock::system()).unwrap();
    /// assert_eq!(s.with_refresh_deadline(Duration::from_secs(90)).config().refresh_deadline, Duration::from_secs(90));
    /// ```
    pub fn with_refresh_deadline(&self, deadline: Duration) -> Self {
        Self {
            shared: self.shared.clone(),
            config: Arc::new(UpstoxConfig {
                refresh_deadline: deadline,
                ..(*self.config).clone()
            }),
        }
    }

    /// The Market Data Feed V3 on the same account: a [`PriceStream`](crate::source::PriceStream)
    /// sharing this source's HTTP client, token (a refusal seen by one is seen by both) and
    /// rate limiter, with this source's request timeout for the authorize call and the
    /// handshake.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{PriceStream, upstox::{TokenProvider, UpstoxConfig, UpstoxSource}}};
    /// let rest = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::fixed("t")?, MarketClock::system())?;
    /// assert_eq!(rest.stream().name(), "upstox-stream");
    /// # Ok::<(), market_feed::source::SourceError>(())
    /// ```
    pub fn stream(&self) -> UpstoxStream {
        UpstoxStream::new(self.shared.clone(), self.config.request_timeout)
    }

    /// The configuration in force (batch size and concurrency clamped to valid values).
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::upstox::{TokenProvider, UpstoxConfig, UpstoxSource}};
    /// let c = UpstoxConfig { batch_size: 10_000, ..UpstoxConfig::default() };
    /// let s = UpstoxSource::new(c, TokenProvider::fixed("t").unwrap(), MarketClock::system()).unwrap();
    /// assert_eq!(s.config().batch_size, 500);
    /// ```
    pub fn config(&self) -> &UpstoxConfig {
        &self.config
    }

    /// The rate limiter this source draws from.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::upstox::{TokenProvider, UpstoxConfig, UpstoxSource}};
    /// let s = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::fixed("t").unwrap(), MarketClock::system()).unwrap();
    /// assert!(s.rate_limiter().try_acquire().is_ok());
    /// ```
    pub fn rate_limiter(&self) -> &Arc<RateLimiter> {
        &self.shared.limiter
    }

    /// The token's generation: it changes exactly when the token does (see
    /// [`TokenProvider::generation`]).
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::upstox::{TokenProvider, UpstoxConfig, UpstoxSource}};
    /// let s = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::fixed("t").unwrap(), MarketClock::system()).unwrap();
    /// assert_eq!(s.token_generation(), 1);
    /// ```
    pub fn token_generation(&self) -> u64 {
        self.shared.tokens.generation()
    }

    /// Re-reads the token file (or variable); `Ok(true)` when the token changed. While the
    /// source is unauthorized, call this every few seconds and resume fetching when it returns
    /// `true`. Cheap: one small file read, no network.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::upstox::{TokenProvider, UpstoxConfig, UpstoxSource}};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let s = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::fixed("t").unwrap(), MarketClock::system()).unwrap();
    /// assert_eq!(s.reload_token().await, Ok(false));
    /// # });
    /// ```
    pub async fn reload_token(&self) -> Result<bool, SourceError> {
        self.shared.tokens.reload().await
    }

    /// Forgets the keys held back as unknown to the broker (and the missing report), so the
    /// next fetch asks for every key again. Done by itself at the next trading day or when
    /// the keys of a fetch change.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{PriceSource, upstox::{TokenProvider, UpstoxConfig, UpstoxSource}}};
    /// let s = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::fixed("t").unwrap(), MarketClock::system()).unwrap();
    /// s.forget_unknown_keys();
    /// assert!(s.missing().is_empty());
    /// ```
    pub fn forget_unknown_keys(&self) {
        self.shared.book.clear();
    }

    fn endpoint_for(&self, instrument: &Instrument) -> QuoteEndpoint {
        if instrument.is_index() {
            self.config.index_endpoint
        } else {
            self.config.stock_endpoint
        }
    }
}

impl std::fmt::Debug for UpstoxSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstoxSource")
            .field("base_url", &self.shared.base_url.as_str())
            .field("tokens", &self.shared.tokens)
            .field("config", &self.config)
            .finish()
    }
}

#[async_trait]
impl PriceSource for UpstoxSource {
    fn name(&self) -> &str {
        "upstox"
    }

    async fn credentials_usable(&self) -> bool {
        self.shared.tokens.usable().await
    }

    fn missing(&self) -> Vec<MissingInstrument> {
        self.shared.book.missing()
    }

    fn with_deadline(&self, deadline: Duration) -> Option<Arc<dyn PriceSource>> {
        Some(Arc::new(self.with_refresh_deadline(deadline)))
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        if !self.shared.tokens.usable().await {
            return Err(SourceError::Unauthorized(request::REFUSED_BEFORE.into()));
        }
        let deadline = tokio::time::Instant::now() + self.config.refresh_deadline;
        let mut seen = std::collections::HashSet::with_capacity(instruments.len());
        let unique: Vec<&Instrument> = instruments.iter().filter(|i| seen.insert(&i.key)).collect();
        let today = ist_date(self.shared.clock.now());
        let fingerprint = quarantine::fingerprint(&unique);
        let (ask, held) = self.shared.book.hold(&unique, today, fingerprint);
        let mut batches: Vec<(QuoteEndpoint, Vec<Instrument>)> = Vec::new();
        for endpoint in [self.config.index_endpoint, self.config.stock_endpoint] {
            let group: Vec<Instrument> = ask
                .iter()
                .filter(|i| self.endpoint_for(i) == endpoint)
                .map(|i| (*i).clone())
                .collect();
            for chunk in group.chunks(self.config.batch_size) {
                batches.push((endpoint, chunk.to_vec()));
            }
            if self.config.index_endpoint == self.config.stock_endpoint {
                break;
            }
        }
        let mut fetched = Fetched {
            missing: held,
            ..Fetched::default()
        };
        if batches.is_empty() {
            return Ok(fetched);
        }
        // A token the broker has not answered yet is tried with one request first: if it is
        // refused, that is one call, not one per batch in flight.
        let mut results = Vec::with_capacity(batches.len());
        if !self.shared.tokens.is_accepted() && batches.len() > 1 {
            let (endpoint, batch) = batches.remove(0);
            let first =
                split::resolve(&self.shared, &self.config, endpoint, batch, deadline).await?;
            results.push(Ok(first));
        }
        let rest: Vec<_> = futures_stream::iter(batches)
            .map(|(endpoint, batch)| {
                split::resolve(&self.shared, &self.config, endpoint, batch, deadline)
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        results.extend(rest);
        let mut answered = false;
        let mut unknown = Vec::new();
        let mut no_price = Vec::new();
        for result in results {
            let resolved = result?;
            answered |= resolved.answered;
            fetched.quotes.extend(resolved.decoded.quotes);
            no_price.extend(resolved.decoded.missing);
            unknown.extend(resolved.unknown);
            for (batch, e) in resolved.failed {
                fetched.missing.extend(batch.into_iter().map(|i| i.key));
                fetched.errors.push(e);
            }
        }
        let by_key: std::collections::HashMap<&crate::model::InstrumentKey, &Instrument> =
            ask.iter().map(|i| (&i.key, *i)).collect();
        let no_price_instruments: Vec<&Instrument> = no_price
            .iter()
            .filter_map(|k| by_key.get(k).copied())
            .collect();
        self.shared.book.record(
            today,
            fingerprint,
            fetched.quotes.iter().map(|q| q.key.clone()),
            &no_price_instruments,
            &unknown,
        );
        fetched.missing.extend(no_price);
        fetched.missing.extend(unknown.into_iter().map(|i| i.key));
        if !answered && !fetched.errors.is_empty() {
            return Err(fetched.errors.remove(0));
        }
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests;
