//! [`AppState`]: what every request handler shares.

use std::sync::Arc;

use market_feed::clock::MarketClock;

#[derive(Debug)]
struct Inner {
    clock: MarketClock,
}

/// The server's shared state; cheap to clone.
///
/// ```
/// use market_feed_server::state::AppState;
/// let state = AppState::new(market_feed::clock::MarketClock::system());
/// assert!(state.clock().now_ms() > 0);
/// ```
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    /// State over a market clock.
    ///
    /// ```
    /// # use market_feed_server::state::AppState;
    /// let _ = AppState::new(market_feed::clock::MarketClock::system());
    /// ```
    pub fn new(clock: MarketClock) -> Self {
        Self {
            inner: Arc::new(Inner { clock }),
        }
    }

    /// The market clock.
    ///
    /// ```
    /// # use market_feed_server::state::AppState;
    /// let state = AppState::new(market_feed::clock::MarketClock::system());
    /// let _status = state.clock().status();
    /// ```
    pub fn clock(&self) -> &MarketClock {
        &self.inner.clock
    }
}
