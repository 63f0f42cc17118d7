//! [`FakeUpstox`]: a local HTTP server that answers like Upstox's market-quote API.
//!
//! It behaves like the real service where the project knows how the real service behaves:
//! the response map keyed `SEGMENT:SYMBOL` with each entry's `instrument_token`, the error
//! envelope (`error_code`, or the deprecated `errorCode` with [`FakeUpstox::camel_case_errors`]),
//! a whole-request HTTP 400 `UDAPI1087` when any requested key is unknown (by default; see
//! [`UnknownKeys`]), 401 `UDAPI100050` for a wrong token, and on request a CDN-style 403 page
//! ([`FakeReply::CdnForbidden`]) or a `partial_success` answer ([`FakeReply::PartialSuccess`]).

mod feed;
mod holidays;
mod http;
mod instrument;
mod instrument_file;

pub use feed::{FakeFeed, FeedSubscription};
pub use holidays::{HolidayReply, holiday_closed, special_session};

use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use hyper::{server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinHandle};

pub use instrument::FakeInstrument;
pub use instrument_file::{FileReply, FileRequest};

use crate::universe::Universe;

/// How the fake answers one request.
#[derive(Debug, Clone, PartialEq)]
///
/// ```
/// use market_feed::testing::FakeReply;
/// let script = [FakeReply::Status(429), FakeReply::MalformedJson, FakeReply::Normal];
/// assert_ne!(script[0], script[2]);
/// ```
pub enum FakeReply {
    /// The documented success body for the known keys (unknown keys: see [`UnknownKeys`]).
    Normal,
    /// An Upstox error body with this HTTP status (401 → `UDAPI100050`, 429 → `UDAPI10005`,
    /// 400 → `UDAPI1087`, 5xx → `UDAPI100500`), using the deprecated `errorCode` spelling for
    /// 5xx and the current `error_code` otherwise.
    Status(u16),
    /// Waits this long, then answers normally (for client timeouts).
    Slow(Duration),
    /// HTTP 200 with a JSON body cut off in the middle.
    MalformedJson,
    /// HTTP 403 with the HTML page a CDN in front of the API sends (not an Upstox body).
    CdnForbidden,
    /// HTTP 200 `"status":"partial_success"` answering only the first half of the known keys.
    PartialSuccess,
    /// An HTML error page (as a proxy or load balancer sends) with this status.
    HtmlPage(u16),
    /// Anything else.
    Raw {
        /// HTTP status.
        status: u16,
        /// `Content-Type`.
        content_type: String,
        /// The body.
        body: String,
    },
}

/// What the fake does with a requested key it does not know.
///
/// ```
/// use market_feed::testing::UnknownKeys;
/// assert_eq!(UnknownKeys::default(), UnknownKeys::Reject);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnknownKeys {
    /// Refuse the whole request: HTTP 400 with `UDAPI1087` "Invalid Instrument key" (what the
    /// real service does for a key it does not know).
    #[default]
    Reject,
    /// Leave the key out of the `data` map and answer the others.
    Omit,
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
///
/// ```
/// use market_feed::testing::RecordedRequest;
/// let r = RecordedRequest {
///     number: 1, path: "/v3/market-quote/ltp".into(), keys: vec![], authorization: None,
///     api_version: None, user_agent: None, received: std::time::Instant::now(),
/// };
/// assert_eq!(r.number, 1);
/// ```
pub struct RecordedRequest {
    /// 1-based arrival number.
    pub number: usize,
    /// The path (`/v3/market-quote/ltp`).
    pub path: String,
    /// The decoded `instrument_key` values, in order.
    pub keys: Vec<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Api-Version` header.
    pub api_version: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// When it arrived (real time: tells the requests of one refresh from the next).
    pub received: std::time::Instant,
}

#[derive(Debug, Default)]
struct State {
    instruments: HashMap<String, FakeInstrument>,
    required_token: Option<String>,
    scripted: HashMap<usize, FakeReply>,
    queued: VecDeque<FakeReply>,
    requests: Vec<RecordedRequest>,
    unknown_keys: UnknownKeys,
    camel_case: bool,
    no_price: HashSet<String>,
    holidays: holidays::Holidays,
    instrument_file: instrument_file::FileState,
    feed: feed::FeedState,
}

/// A fake Upstox API on `127.0.0.1:<free port>`: `GET /v3/market-quote/ltp` and
/// `GET /v2/market-quote/quotes` in the documented formats (data keyed `SEGMENT:symbol`, each
/// entry with its `instrument_token`), 400 for a missing `instrument_key`, more than 500
/// keys or (by default) any unknown key, 404 for other paths. The server stops when the value
/// is dropped.
///
/// ```
/// use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
///
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// let fake = FakeUpstox::start().await?;
/// fake.add(FakeInstrument::stock("NSE_EQ|INE002A01018", "RELIANCE", 1391.2, 1402.9, 100));
/// fake.require_token("t0k");
/// fake.reply_to(1, FakeReply::Status(429)); // the first request is rate-limited
/// assert!(fake.base_url().starts_with("http://127.0.0.1:"));
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct FakeUpstox {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl FakeUpstox {
    /// Starts the server on a free loopback port.
    ///
    /// ```
    /// # use market_feed::testing::FakeUpstox;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// assert_eq!(fake.request_count(), 0);
    /// # });
    /// ```
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// Starts the fake on a chosen loopback port (0: any free one), for a fake run by hand.
    ///
    /// # Errors
    /// If the port cannot be bound.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let fake = market_feed::testing::FakeUpstox::start_on(0).await?;
    /// assert!(fake.addr().port() > 0);
    /// # Ok(()) }
    /// ```
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| http::handle(state.clone(), req));
                    // A client that hangs up mid-request is not the fake's problem.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self { addr, state, task })
    }

    /// [`FakeUpstox::with_universe`] on a chosen loopback port (0: any free one).
    ///
    /// # Errors
    /// If the port cannot be bound.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let u = market_feed::universe::Universe::bundled();
    /// let fake = market_feed::testing::FakeUpstox::with_universe_on(&u, 0).await?;
    /// assert!(fake.instrument(u.prices()[0].key.as_str()).is_some());
    /// # Ok(()) }
    /// ```
    pub async fn with_universe_on(universe: &Universe, port: u16) -> std::io::Result<Self> {
        let fake = Self::start_on(port).await?;
        fake.add_all(
            universe
                .iter()
                .map(|(_, i)| FakeInstrument::from_instrument(i)),
        );
        Ok(fake)
    }

    /// Starts the server knowing every instrument of `universe`
    /// ([`FakeInstrument::from_instrument`]).
    ///
    /// ```
    /// # use market_feed::{testing::FakeUpstox, universe::Universe};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::with_universe(&Universe::bundled()).await.unwrap();
    /// assert!(fake.instrument("NSE_INDEX|Nifty 50").is_some());
    /// # });
    /// ```
    pub async fn with_universe(universe: &Universe) -> std::io::Result<Self> {
        Self::with_universe_on(universe, 0).await
    }

    /// The root URL to give the client (`--upstox-base-url`).
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// assert_eq!(fake.base_url(), format!("http://{}", fake.addr()));
    /// # });
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// assert!(fake.addr().ip().is_loopback());
    /// # });
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds (or replaces) an instrument.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.add(FakeInstrument::index("BSE_INDEX|SENSEX", 82_000.0, 82_300.0));
    /// assert_eq!(fake.instrument("BSE_INDEX|SENSEX").unwrap().map_key, "BSE_INDEX:SENSEX");
    /// # });
    /// ```
    pub fn add(&self, instrument: FakeInstrument) {
        self.lock()
            .instruments
            .insert(instrument.key.clone(), instrument);
    }

    /// Adds many instruments.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.add_all([FakeInstrument::stock("NSE_EQ|A1", "A", 1.0, 1.0, 0), FakeInstrument::stock("NSE_EQ|B1", "B", 2.0, 2.0, 0)]);
    /// assert!(fake.instrument("NSE_EQ|B1").is_some());
    /// # });
    /// ```
    pub fn add_all(&self, instruments: impl IntoIterator<Item = FakeInstrument>) {
        let mut state = self.lock();
        for i in instruments {
            state.instruments.insert(i.key.clone(), i);
        }
    }

    /// Removes an instrument: the fake then omits it like an unknown key.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.add(FakeInstrument::stock("NSE_EQ|A1", "A", 1.0, 1.0, 0));
    /// assert!(fake.remove("NSE_EQ|A1").is_some());
    /// assert!(fake.instrument("NSE_EQ|A1").is_none());
    /// # });
    /// ```
    pub fn remove(&self, key: &str) -> Option<FakeInstrument> {
        self.lock().instruments.remove(key)
    }

    /// The instrument served for `key`.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// assert!(fake.instrument("NSE_EQ|A1").is_none());
    /// # });
    /// ```
    pub fn instrument(&self, key: &str) -> Option<FakeInstrument> {
        self.lock().instruments.get(key).cloned()
    }

    /// Changes an instrument's last price (keeping high/low consistent); false if unknown.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.add(FakeInstrument::stock("NSE_EQ|A1", "A", 10.0, 10.0, 0));
    /// assert!(fake.set_last_price("NSE_EQ|A1", 12.0));
    /// assert_eq!(fake.instrument("NSE_EQ|A1").unwrap().high, 12.0);
    /// assert!(!fake.set_last_price("NSE_EQ|Z9", 1.0));
    /// # });
    /// ```
    pub fn set_last_price(&self, key: &str, last_price: f64) -> bool {
        match self.lock().instruments.get_mut(key) {
            Some(i) => {
                i.last_price = last_price;
                i.high = i.high.max(last_price);
                i.low = i.low.min(last_price);
                true
            }
            None => false,
        }
    }

    /// Requests without `Authorization: Bearer <token>` get HTTP 401 from now on.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.require_token("t0k"); // "Authorization: Bearer t0k" or HTTP 401
    /// # });
    /// ```
    pub fn require_token(&self, token: &str) {
        self.lock().required_token = Some(token.to_owned());
    }

    /// How unknown keys are answered from now on (default [`UnknownKeys::Reject`]).
    ///
    /// ```
    /// # use market_feed::testing::{FakeUpstox, UnknownKeys};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.unknown_keys(UnknownKeys::Omit); // answer the others, leave unknown keys out
    /// # });
    /// ```
    pub fn unknown_keys(&self, mode: UnknownKeys) {
        self.lock().unknown_keys = mode;
    }

    /// Error bodies use the deprecated `errorCode` spelling (`true`) or `error_code`
    /// (`false`, the default except for 5xx answers, which always use `errorCode`).
    ///
    /// ```
    /// # use market_feed::testing::FakeUpstox;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.camel_case_errors(true);
    /// # });
    /// ```
    pub fn camel_case_errors(&self, camel: bool) {
        self.lock().camel_case = camel;
    }

    /// The fake knows `key` but answers it with `"last_price": null` (an instrument without a
    /// trade, a suspended one).
    ///
    /// ```
    /// # use market_feed::testing::FakeUpstox;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.without_price("NSE_EQ|INE002A01018");
    /// # });
    /// ```
    pub fn without_price(&self, key: &str) {
        self.lock().no_price.insert(key.to_owned());
    }

    /// The `number`-th request (1-based, counted from the start) gets `reply`.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.reply_to(2, FakeReply::HtmlPage(502)); // the second request hits a proxy error
    /// # });
    /// ```
    pub fn reply_to(&self, number: usize, reply: FakeReply) {
        self.lock().scripted.insert(number, reply);
    }

    /// The next request without a numbered reply gets `reply` (queued in order).
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.push_reply(FakeReply::Status(500));
    /// fake.push_reply(FakeReply::Slow(std::time::Duration::from_millis(10)));
    /// # });
    /// ```
    pub fn push_reply(&self, reply: FakeReply) {
        self.lock().queued.push_back(reply);
    }

    /// Every request received so far, in arrival order.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// assert!(fake.requests().is_empty());
    /// # });
    /// ```
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The number of requests received so far.
    ///
    /// ```
    /// # use market_feed::testing::{FakeInstrument, FakeReply, FakeUpstox};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// assert_eq!(fake.request_count(), 0);
    /// # });
    /// ```
    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FakeUpstox {
    fn drop(&mut self) {
        self.task.abort();
    }
}
