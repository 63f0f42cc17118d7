//! [`FakeFeed`]: the Market Data Feed V3 of [`FakeUpstox`], for tests of streaming clients.

mod connection;

use std::{
    collections::{BTreeMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde_json::json;
use tokio::{net::TcpListener, task::JoinHandle};

use super::{FakeUpstox, State};
use crate::source::upstox::stream::proto::MarketStatus;

/// The path of the fake feed's WebSocket.
const WS_PATH: &str = "/v3/feed/market-data-feed";

/// One subscribe request the fake received.
///
/// ```
/// # use market_feed::testing::FeedSubscription;
/// let s = FeedSubscription { binary: true, method: "sub".into(), mode: Some("ltpc".into()), keys: vec![] };
/// assert!(s.binary);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSubscription {
    /// Whether it came in a binary frame (the only kind the real feed acts on).
    pub binary: bool,
    /// `sub`, `unsub`, `change_mode`.
    pub method: String,
    /// The requested mode.
    pub mode: Option<String>,
    /// The instrument keys.
    pub keys: Vec<String>,
}

/// The feed's part of the fake's state.
#[derive(Debug)]
pub(super) struct FeedState {
    ws_addr: Option<SocketAddr>,
    codes: HashSet<String>,
    next_code: u64,
    authorize_statuses: std::collections::VecDeque<u16>,
    refuse_handshakes: usize,
    silent: bool,
    tick_rate: f64,
    tick_skew: f64,
    ping_every: Duration,
    segments: BTreeMap<String, MarketStatus>,
    authorizations: usize,
    handshakes: usize,
    refused: usize,
    subscriptions: Vec<FeedSubscription>,
    pongs: usize,
    /// The id of the newest connection: older ones close (one connection per user).
    current: u64,
    /// Bumped by [`FakeFeed::drop_connections`].
    drop_epoch: u64,
    open: usize,
    ticks_sent: u64,
}

impl Default for FeedState {
    fn default() -> Self {
        Self {
            ws_addr: None,
            codes: HashSet::new(),
            next_code: 0,
            authorize_statuses: Default::default(),
            refuse_handshakes: 0,
            silent: false,
            tick_rate: 50.0,
            tick_skew: 0.0,
            ping_every: Duration::from_millis(500),
            segments: [
                ("NSE_EQ".to_owned(), MarketStatus::NormalOpen),
                ("NSE_INDEX".to_owned(), MarketStatus::NormalOpen),
            ]
            .into(),
            authorizations: 0,
            handshakes: 0,
            refused: 0,
            subscriptions: Vec::new(),
            pongs: 0,
            current: 0,
            drop_epoch: 0,
            open: 0,
            ticks_sent: 0,
        }
    }
}

/// The answer to the authorize call: `(status, JSON body)`.
pub(super) fn authorize(state: &mut State, authorization: Option<&str>) -> (u16, String) {
    let error = |status: u16, code: &str, message: &str| {
        let item = json!({"error_code": code, "message": message, "property_path": null, "invalid_value": null});
        (
            status,
            json!({"status": "error", "errors": [item]}).to_string(),
        )
    };
    if let Some(required) = &state.required_token {
        if authorization != Some(format!("Bearer {required}").as_str()) {
            return error(401, "UDAPI100050", "Invalid token used to access API");
        }
    }
    let feed = &mut state.feed;
    feed.authorizations += 1;
    if let Some(status) = feed.authorize_statuses.pop_front() {
        return error(status, "UDAPI100500", "Something went wrong");
    }
    let Some(addr) = feed.ws_addr else {
        return error(404, "UDAPI100060", "Resource not Found.");
    };
    feed.next_code += 1;
    let code = format!(
        "fake{:08x}{}",
        feed.next_code * 2_654_435_761,
        feed.next_code
    );
    feed.codes.insert(code.clone());
    let url = format!("ws://{addr}{WS_PATH}?code={code}");
    let body = json!({"status": "success", "data": {"authorized_redirect_uri": url, "authorizedRedirectUri": url}});
    (200, body.to_string())
}

/// The fake feed's WebSocket server and its controls. Dropping it stops the server.
///
/// Started with [`FakeUpstox::start_feed`]. It behaves like the real feed, quirks included:
///
/// - `GET /v3/feed/market-data-feed/authorize` on the fake's HTTP side answers
///   `{"status":"success","data":{"authorized_redirect_uri":"ws://…?code=…","authorizedRedirectUri":…}}`
///   (401 `UDAPI100050` for a wrong token, like every call); each URL's code works **once**:
///   a second handshake with it is refused with 403;
/// - one connection per user: a new connection closes the previous one;
/// - the first frame is `market_info`; a **binary** JSON `sub` frame in `ltpc` mode gets an
///   `initial_feed` of the subscribed keys' current values, then `live_feed` frames carry
///   only the instruments that ticked; a text frame is ignored (the real feed wants binary);
///   more than 5,000 keys in `ltpc` closes the connection with 1008;
/// - the server pings every [`FakeFeed::ping_every`] and counts the pongs.
///
/// Controls: [`FakeFeed::drop_connections`] (the TCP connection ends without a close
/// frame), [`FakeFeed::set_silent`] (no data frames; pings go on),
/// [`FakeFeed::refuse_handshakes`] (403 on the next handshakes while the token works for
/// REST), [`FakeFeed::set_tick_rate`], [`FakeFeed::set_segment`].
///
/// ```
/// use futures::{SinkExt, StreamExt};
/// use market_feed::testing::{FakeInstrument, FakeUpstox};
/// use tokio_tungstenite::tungstenite::Message;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fake = FakeUpstox::start().await?;
/// fake.add(FakeInstrument::stock("NSE_EQ|INE002A01018", "RELIANCE", 1391.2, 1380.0, 5));
/// let feed = fake.start_feed().await?;
/// let url = feed.authorize_url();
/// let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
/// let first = ws.next().await.unwrap()?; // market_info
/// assert!(matches!(first, Message::Binary(_)));
/// ws.send(Message::Binary(br#"{"guid":"1","method":"sub","data":{"mode":"ltpc","instrumentKeys":["NSE_EQ|INE002A01018"]}}"#.to_vec().into())).await?;
/// assert!(matches!(ws.next().await.unwrap()?, Message::Binary(_))); // initial_feed
/// assert_eq!(feed.subscriptions()[0].keys.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FakeFeed {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FakeUpstox {
    /// Starts the fake's Market Data Feed V3 on another loopback port and answers the
    /// authorize call with URLs to it.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    ///
    /// See [`FakeFeed`] for an example.
    pub async fn start_feed(&self) -> std::io::Result<FakeFeed> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        self.lock().feed.ws_addr = Some(addr);
        let state = self.state.clone();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                connections.spawn(connection::serve(shared.clone(), stream));
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(FakeFeed { state, addr, task })
    }
}

impl FakeFeed {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The WebSocket server's address.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let fake = market_feed::testing::FakeUpstox::start().await?;
    /// assert!(fake.start_feed().await?.addr().ip().is_loopback());
    /// # Ok(()) }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Issues a one-use URL as the authorize call would (without a call; counts as one).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// assert!(feed.authorize_url().starts_with("ws://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub fn authorize_url(&self) -> String {
        let mut s = self.lock();
        let bearer = s.required_token.as_ref().map(|t| format!("Bearer {t}"));
        let (_, body) = authorize(&mut s, bearer.as_deref());
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v["data"]["authorized_redirect_uri"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }

    /// Ends every open connection abruptly (no close frame), as a network failure would.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// feed.drop_connections();
    /// # Ok(()) }
    /// ```
    pub fn drop_connections(&self) {
        self.lock().feed.drop_epoch += 1;
    }

    /// Stops (or resumes) sending data frames; pings go on, so only a client that watches
    /// data, not pongs, notices.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// feed.set_silent(true);
    /// # Ok(()) }
    /// ```
    pub fn set_silent(&self, silent: bool) {
        self.lock().feed.silent = silent;
    }

    /// Refuses the next `n` handshakes with HTTP 403 (the authorize call still works).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// feed.refuse_handshakes(3);
    /// # Ok(()) }
    /// ```
    pub fn refuse_handshakes(&self, n: usize) {
        self.lock().feed.refuse_handshakes = n;
    }

    /// Answers the next authorize calls with these HTTP statuses (an error envelope each).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// feed.fail_authorize([500]);
    /// # Ok(()) }
    /// ```
    pub fn fail_authorize(&self, statuses: impl IntoIterator<Item = u16>) {
        self.lock().feed.authorize_statuses.extend(statuses);
    }

    /// Ticks per second (real time) over all subscribed instruments (default 50; 0 stops).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// feed.set_tick_rate(2000.0);
    /// # Ok(()) }
    /// ```
    pub fn set_tick_rate(&self, per_second: f64) {
        self.lock().feed.tick_rate = per_second.max(0.0);
    }

    /// How ticks spread over the subscribed instruments: 0 (the default) ticks them in turn,
    /// evenly; `s > 0` picks the instrument of rank `k` (subscription order) with a weight of
    /// `1 / k^s`, like a real market where a few liquid stocks trade most (1.0 is typical).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// feed.set_tick_skew(1.0);
    /// # Ok(()) }
    /// ```
    pub fn set_tick_skew(&self, s: f64) {
        self.lock().feed.tick_skew = if s.is_finite() { s.max(0.0) } else { 0.0 };
    }

    /// How often the server pings (real time; default 500 ms).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// feed.ping_every(std::time::Duration::from_millis(50));
    /// # Ok(()) }
    /// ```
    pub fn ping_every(&self, every: Duration) {
        self.lock().feed.ping_every = every.max(Duration::from_millis(10));
    }

    /// Sets a segment's status in the `market_info` frame sent on every new connection.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// use market_feed::source::upstox::stream::proto::MarketStatus;
    /// let feed = fake.start_feed().await?;
    /// feed.set_segment("NSE_EQ", MarketStatus::NormalClose);
    /// # Ok(()) }
    /// ```
    pub fn set_segment(&self, segment: &str, status: MarketStatus) {
        self.lock().feed.segments.insert(segment.to_owned(), status);
    }

    /// Authorize calls answered so far (successful or not, with a valid token).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// let feed = fake.start_feed().await?;
    /// assert_eq!(feed.authorizations(), 0);
    /// # Ok(()) }
    /// ```
    pub fn authorizations(&self) -> usize {
        self.lock().feed.authorizations
    }

    /// Handshakes accepted so far.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// assert_eq!(fake.start_feed().await?.handshakes(), 0);
    /// # Ok(()) }
    /// ```
    pub fn handshakes(&self) -> usize {
        self.lock().feed.handshakes
    }

    /// Handshakes refused so far (403: on request, or a reused or unknown code).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// assert_eq!(fake.start_feed().await?.refused_handshakes(), 0);
    /// # Ok(()) }
    /// ```
    pub fn refused_handshakes(&self) -> usize {
        self.lock().feed.refused
    }

    /// Connections open now.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// assert_eq!(fake.start_feed().await?.open_connections(), 0);
    /// # Ok(()) }
    /// ```
    pub fn open_connections(&self) -> usize {
        self.lock().feed.open
    }

    /// Every subscribe request received, in order.
    ///
    /// See [`FakeFeed`] for an example.
    pub fn subscriptions(&self) -> Vec<FeedSubscription> {
        self.lock().feed.subscriptions.clone()
    }

    /// Pongs received (answers to the server's pings).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// assert_eq!(fake.start_feed().await?.pongs(), 0);
    /// # Ok(()) }
    /// ```
    pub fn pongs(&self) -> usize {
        self.lock().feed.pongs
    }

    /// Instrument ticks sent in `live_feed` frames so far.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// # let fake = market_feed::testing::FakeUpstox::start().await?;
    /// assert_eq!(fake.start_feed().await?.ticks_sent(), 0);
    /// # Ok(()) }
    /// ```
    pub fn ticks_sent(&self) -> u64 {
        self.lock().feed.ticks_sent
    }
}

impl Drop for FakeFeed {
    fn drop(&mut self) {
        self.task.abort();
        self.lock().feed.drop_epoch += 1;
    }
}
