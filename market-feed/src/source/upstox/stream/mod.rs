//! [`UpstoxStream`]: Upstox's Market Data Feed V3 as a [`PriceStream`].
//!
//! One connection: `GET /v3/feed/market-data-feed/authorize` (with the source's token and
//! rate limiter) gives a one-use `wss://` URL (`ws://` against a local fake); the WebSocket is
//! opened there, every instrument is subscribed in `ltpc` mode with one **binary** JSON frame,
//! and each binary protobuf `FeedResponse` frame is decoded into quotes (see [`Decoder`]).
//! Pings are answered with pongs by the WebSocket layer.
//!
//! Failures map as the feed expects: a 401 (or `UDAPI100050`) on the authorize call or the
//! handshake is [`SourceError::Unauthorized`] and marks the token refused; a handshake
//! refused with 403 (it happens while the token works for REST) and every other failure are
//! retryable. The one-use URL and the token never appear in errors or logs.
//!
//! ```no_run
//! use market_feed::{
//!     clock::MarketClock,
//!     source::{PriceStream, upstox::{TokenProvider, UpstoxConfig, UpstoxSource}},
//!     universe::Universe,
//! };
//! # async fn run() -> Result<(), market_feed::source::SourceError> {
//! let rest = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::from_env()?, MarketClock::system())?;
//! let stream = rest.stream();
//! let universe = Universe::bundled();
//! stream.check(universe.prices())?;
//! let _ticks = stream.connect(universe.prices()).await?;
//! # Ok(()) }
//! ```

mod connect;
mod decode;
pub mod proto;

use std::sync::Arc;

use async_trait::async_trait;

pub use decode::{Decoded, Decoder};

use super::Shared;
use crate::{
    source::{PriceStream, SourceError, TickStream},
    universe::Instrument,
};

/// The most instruments one connection may subscribe in `ltpc` mode alone.
pub const MAX_LTPC_KEYS: usize = 5_000;

/// The path of the authorize call.
pub const AUTHORIZE_PATH: &str = "/v3/feed/market-data-feed/authorize";

/// Upstox's Market Data Feed V3, sharing an [`UpstoxSource`](super::UpstoxSource)'s HTTP
/// client, token and rate limiter. Build it with [`UpstoxSource::stream`](super::UpstoxSource::stream).
///
/// See the [module docs](self) for an example.
#[derive(Clone)]
pub struct UpstoxStream {
    shared: Arc<Shared>,
    timeout: std::time::Duration,
}

impl std::fmt::Debug for UpstoxStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstoxStream")
            .field("base_url", &self.shared.base_url.as_str())
            .field("tokens", &self.shared.tokens)
            .finish_non_exhaustive()
    }
}

impl UpstoxStream {
    pub(super) fn new(shared: Arc<Shared>, timeout: std::time::Duration) -> Self {
        Self { shared, timeout }
    }

    /// Makes the authorize call and returns nothing but whether it worked: what
    /// `market-feed-server check` runs. The one-use URL it got is dropped unused.
    ///
    /// # Errors
    /// As [`PriceStream::connect`] for the authorize step.
    ///
    /// ```no_run
    /// # use market_feed::{clock::MarketClock, source::upstox::{TokenProvider, UpstoxConfig, UpstoxSource}};
    /// # async fn run() -> Result<(), market_feed::source::SourceError> {
    /// let rest = UpstoxSource::new(UpstoxConfig::default(), TokenProvider::from_env()?, MarketClock::system())?;
    /// rest.stream().authorize_only().await?;
    /// # Ok(()) }
    /// ```
    pub async fn authorize_only(&self) -> Result<(), SourceError> {
        connect::authorize(&self.shared, self.timeout)
            .await
            .map(drop)
    }
}

#[async_trait]
impl PriceStream for UpstoxStream {
    fn name(&self) -> &str {
        "upstox-stream"
    }

    fn check(&self, instruments: &[Instrument]) -> Result<(), SourceError> {
        if instruments.len() > MAX_LTPC_KEYS {
            return Err(SourceError::Config(format!(
                "the universe has {} instruments, but one Upstox market data connection carries at most \
                 {MAX_LTPC_KEYS} in ltpc mode (and Upstox allows one connection per user): trim the \
                 universe file, or use --source upstox (polling)",
                instruments.len()
            )
            .into()));
        }
        Ok(())
    }

    async fn connect(&self, instruments: &[Instrument]) -> Result<TickStream, SourceError> {
        self.check(instruments)?;
        connect::open(&self.shared, self.timeout, instruments).await
    }

    async fn credentials_usable(&self) -> bool {
        self.shared.tokens.usable().await
    }
}

#[cfg(test)]
mod tests;
