//! Connection limits and timers of the HTTP and WebSocket endpoints.

use std::time::Duration;

/// WebSocket limits and timers.
///
/// ```
/// use market_feed_server::settings::WsSettings;
/// let s = WsSettings::default();
/// assert_eq!((s.max_connections, s.max_message), (10_000, 16 * 1024));
/// ```
#[derive(Debug, Clone)]
pub struct WsSettings {
    /// Connections at once; more get 503.
    pub max_connections: usize,
    /// WebSocket ping period (real time).
    pub heartbeat: Duration,
    /// A socket that accepts no bytes this long is closed (1008 "slow consumer").
    pub slow_consumer_timeout: Duration,
    /// Largest inbound message; larger closes with 1009.
    pub max_message: usize,
}

impl Default for WsSettings {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            heartbeat: Duration::from_secs(20),
            slow_consumer_timeout: Duration::from_secs(30),
            max_message: 16 * 1024,
        }
    }
}

/// HTTP connection limits (applied by the reference server's accept loop).
///
/// ```
/// use market_feed_server::settings::HttpSettings;
/// let s = HttpSettings::default();
/// assert_eq!(s.header_timeout, std::time::Duration::from_secs(30));
/// assert_eq!(s.max_connections, 10_000);
/// ```
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// A connection that has not completed a request's headers within this is closed.
    pub header_timeout: Duration,
    /// Connections in their HTTP phase at once; more get a JSON 503 and are closed.
    pub max_connections: usize,
    /// The recorded day the server replays (`--demo`): the dashboard says so.
    pub replay_of: Option<time::Date>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            replay_of: None,
        }
    }
}
