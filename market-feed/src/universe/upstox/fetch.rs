//! Downloading the instrument file: one GET with a time-out and size caps, the body parsed on a
//! blocking thread, the result checked against the last good universe.

use std::time::Duration;

use super::{ParsedFile, UpstoxFileError, parse_instrument_file, plausible, universe_from_stocks};
use crate::universe::Universe;

/// Upstox's assets host (`--upstox-assets-url`).
///
/// ```
/// assert_eq!(market_feed::universe::upstox::DEFAULT_ASSETS_URL, "https://assets.upstox.com");
/// ```
pub const DEFAULT_ASSETS_URL: &str = "https://assets.upstox.com";

/// The NSE instrument file's path under the assets host.
///
/// ```
/// assert!(market_feed::universe::upstox::NSE_FILE_PATH.ends_with("/NSE.json.gz"));
/// ```
pub const NSE_FILE_PATH: &str = "/market-quote/instruments/exchange/NSE.json.gz";

/// Settings of an [`InstrumentFile`].
///
/// ```
/// use market_feed::universe::upstox::InstrumentFileConfig;
/// let c = InstrumentFileConfig { assets_url: "http://127.0.0.1:9".into(), ..Default::default() };
/// assert_eq!(c.min_ratio, 0.5);
/// ```
#[derive(Debug, Clone)]
pub struct InstrumentFileConfig {
    /// The assets host, without a trailing slash (default [`DEFAULT_ASSETS_URL`]).
    pub assets_url: String,
    /// The whole download's time-out (default 60 s).
    pub timeout: Duration,
    /// The most compressed bytes accepted (default 64 MiB; the real file is a few MB).
    pub max_download_bytes: u64,
    /// The most JSON bytes inflated from them (default 512 MiB; the real file is tens of MB).
    pub max_inflated_bytes: u64,
    /// A file with fewer stocks than this share of the last good universe is refused
    /// (default 0.5).
    pub min_ratio: f64,
}

impl Default for InstrumentFileConfig {
    fn default() -> Self {
        Self {
            assets_url: DEFAULT_ASSETS_URL.to_owned(),
            timeout: Duration::from_secs(60),
            max_download_bytes: 64 << 20,
            max_inflated_bytes: 512 << 20,
            min_ratio: 0.5,
        }
    }
}

/// A good universe from the file, with what the parse passed over.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The bundled indices and the file's stocks.
    pub universe: Universe,
    /// The parse's counts (rows, bad rows and a few examples).
    pub parsed: ParsedFile,
}

/// Upstox's NSE instrument file: download, parse, check.
///
/// ```
/// use market_feed::universe::upstox::{InstrumentFile, InstrumentFileConfig};
/// let file = InstrumentFile::new(InstrumentFileConfig { assets_url: "http://127.0.0.1:9/".into(), ..Default::default() })?;
/// assert_eq!(file.url(), "http://127.0.0.1:9/market-quote/instruments/exchange/NSE.json.gz");
/// # Ok::<(), market_feed::universe::upstox::UpstoxFileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct InstrumentFile {
    client: reqwest::Client,
    url: String,
    config: InstrumentFileConfig,
}

impl InstrumentFile {
    /// A downloader for the NSE file under `config.assets_url`. It sends
    /// `User-Agent: market-feed/<version>` and no credentials (the assets host needs none).
    ///
    /// # Errors
    ///
    /// [`UpstoxFileError::Network`] when the HTTP client cannot be built.
    ///
    /// See [`InstrumentFile`] for an example.
    pub fn new(config: InstrumentFileConfig) -> Result<Self, UpstoxFileError> {
        let url = format!("{}{NSE_FILE_PATH}", config.assets_url.trim_end_matches('/'));
        let client = reqwest::Client::builder()
            .user_agent(concat!("market-feed/", env!("CARGO_PKG_VERSION")))
            // An unreachable host fails fast: start-up waits for this download.
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .timeout(config.timeout)
            .build()
            .map_err(|e| UpstoxFileError::Network {
                url: url.clone(),
                message: e.to_string(),
            })?;
        Ok(Self {
            client,
            url,
            config,
        })
    }

    /// The file's URL.
    ///
    /// See [`InstrumentFile`] for an example.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Downloads and parses the file, and refuses it when it has fewer stocks than
    /// `min_ratio` of `previous_stocks` (the last good universe's).
    ///
    /// # Errors
    ///
    /// Every [`UpstoxFileError`]: network, status, size, format, plausibility.
    pub async fn fetch(&self, previous_stocks: usize) -> Result<Refreshed, UpstoxFileError> {
        let body = self.download().await?;
        let cap = self.config.max_inflated_bytes;
        let parsed = tokio::task::spawn_blocking(move || parse_instrument_file(&body, cap))
            .await
            .map_err(|e| UpstoxFileError::Task(e.to_string()))??;
        if !plausible(parsed.stocks.len(), previous_stocks, self.config.min_ratio) {
            return Err(UpstoxFileError::Implausible {
                stocks: parsed.stocks.len(),
                previous: previous_stocks,
            });
        }
        // In symbol order, like the bundled list: a file that only reorders its rows is the
        // same universe (nothing staged) and snapshots keep a stable order.
        let mut stocks = parsed.stocks.clone();
        stocks.sort_by(|a, b| a.symbol.cmp(&b.symbol).then_with(|| a.key.cmp(&b.key)));
        let universe = universe_from_stocks(stocks)?;
        Ok(Refreshed { universe, parsed })
    }

    async fn download(&self) -> Result<Vec<u8>, UpstoxFileError> {
        let network = |e: reqwest::Error| UpstoxFileError::Network {
            url: self.url.clone(),
            message: e.without_url().to_string(),
        };
        let mut response = self.client.get(&self.url).send().await.map_err(network)?;
        let status = response.status();
        if !status.is_success() {
            return Err(UpstoxFileError::Status {
                url: self.url.clone(),
                status: status.as_u16(),
            });
        }
        let limit = self.config.max_download_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(UpstoxFileError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(UpstoxFileError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
