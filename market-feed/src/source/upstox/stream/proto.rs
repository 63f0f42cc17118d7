//! The Market Data Feed V3 messages (`MarketDataFeedV3.proto`), written by hand with `prost`
//! derives: the build needs no `protoc`.
//!
//! Field numbers follow the broker's schema. Decoding is lenient as protobuf is: fields this
//! table lacks (newer schema versions add some) are skipped, and proto3 omits default values,
//! so a frame without `type` is an `initial_feed` and a missing enum decodes as its value 0.
//!
//! ```
//! use market_feed::source::upstox::stream::proto::{FeedResponse, FeedType};
//! use prost::Message;
//!
//! let frame = FeedResponse { r#type: FeedType::LiveFeed as i32, current_ts: 5, ..FeedResponse::default() };
//! let back = FeedResponse::decode(frame.encode_to_vec().as_slice())?;
//! assert_eq!(back.r#type(), FeedType::LiveFeed);
//! # Ok::<(), prost::DecodeError>(())
//! ```

use std::collections::HashMap;

/// One server frame.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::{FeedResponse, FeedType};
/// assert_eq!(FeedResponse::default().r#type(), FeedType::InitialFeed);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct FeedResponse {
    /// The frame's kind ([`FeedType`]).
    #[prost(enumeration = "FeedType", tag = "1")]
    pub r#type: i32,
    /// The instruments of the frame, by instrument key.
    #[prost(map = "string, message", tag = "2")]
    pub feeds: HashMap<String, Feed>,
    /// The broker's time of the frame, in ms since the epoch.
    #[prost(int64, tag = "3")]
    pub current_ts: i64,
    /// The segments' market status (in `market_info` frames).
    #[prost(message, optional, tag = "4")]
    pub market_info: Option<MarketInfo>,
}

/// The kind of a [`FeedResponse`].
///
/// ```
/// # use market_feed::source::upstox::stream::proto::FeedType;
/// assert_eq!(FeedType::try_from(2), Ok(FeedType::MarketInfo));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum FeedType {
    /// The current values of what was subscribed (the first data after `market_info`).
    InitialFeed = 0,
    /// Ticks: only the instruments that ticked.
    LiveFeed = 1,
    /// The segments' market status.
    MarketInfo = 2,
}

/// One instrument's data.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::{Feed, FeedUnion, Ltpc};
/// let f = Feed { feed_union: Some(FeedUnion::Ltpc(Ltpc { ltp: 1.5, ..Ltpc::default() })), request_mode: 0 };
/// assert_eq!(f.ltpc().map(|l| l.ltp), Some(1.5));
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct Feed {
    /// The data, in the shape of the subscription's mode.
    #[prost(oneof = "FeedUnion", tags = "1, 2, 3")]
    pub feed_union: Option<FeedUnion>,
    /// The mode the instrument is subscribed in ([`RequestMode`]).
    #[prost(enumeration = "RequestMode", tag = "4")]
    pub request_mode: i32,
}

impl Feed {
    /// The instrument's last traded price and close, whatever the mode carried it.
    ///
    /// See [`Feed`] for an example.
    pub fn ltpc(&self) -> Option<&Ltpc> {
        match self.feed_union.as_ref()? {
            FeedUnion::Ltpc(l) => Some(l),
            FeedUnion::FullFeed(f) => match f.full_feed_union.as_ref()? {
                FullFeedUnion::MarketFf(m) => m.ltpc.as_ref(),
                FullFeedUnion::IndexFf(i) => i.ltpc.as_ref(),
            },
            FeedUnion::FirstLevelWithGreeks(g) => g.ltpc.as_ref(),
        }
    }
}

/// The `oneof` of [`Feed`].
///
/// ```
/// # use market_feed::source::upstox::stream::proto::{FeedUnion, Ltpc};
/// assert!(matches!(FeedUnion::Ltpc(Ltpc::default()), FeedUnion::Ltpc(_)));
/// ```
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FeedUnion {
    /// `ltpc` mode.
    #[prost(message, tag = "1")]
    Ltpc(Ltpc),
    /// `full` mode.
    #[prost(message, tag = "2")]
    FullFeed(FullFeed),
    /// `option_greeks` mode.
    #[prost(message, tag = "3")]
    FirstLevelWithGreeks(FirstLevelWithGreeks),
}

/// The subscription mode of a [`Feed`].
///
/// ```
/// # use market_feed::source::upstox::stream::proto::RequestMode;
/// assert_eq!(RequestMode::default(), RequestMode::Ltpc);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum RequestMode {
    /// Last traded price and close.
    Ltpc = 0,
    /// Full, five depth levels.
    FullD5 = 1,
    /// Option greeks.
    OptionGreeks = 2,
    /// Full, thirty depth levels.
    FullD30 = 3,
}

/// Last traded price, time, quantity and the previous close.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::Ltpc;
/// assert_eq!(Ltpc::default().cp, 0.0);
/// ```
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Ltpc {
    /// Last traded price.
    #[prost(double, tag = "1")]
    pub ltp: f64,
    /// Last trade time, ms since the epoch.
    #[prost(int64, tag = "2")]
    pub ltt: i64,
    /// Last traded quantity.
    #[prost(int64, tag = "3")]
    pub ltq: i64,
    /// Previous close.
    #[prost(double, tag = "4")]
    pub cp: f64,
}

/// `full` mode data.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::FullFeed;
/// assert!(FullFeed::default().full_feed_union.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct FullFeed {
    /// A stock's or an index's full feed.
    #[prost(oneof = "FullFeedUnion", tags = "1, 2")]
    pub full_feed_union: Option<FullFeedUnion>,
}

/// The `oneof` of [`FullFeed`].
///
/// ```
/// # use market_feed::source::upstox::stream::proto::{FullFeedUnion, IndexFullFeed};
/// assert!(matches!(FullFeedUnion::IndexFf(IndexFullFeed::default()), FullFeedUnion::IndexFf(_)));
/// ```
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FullFeedUnion {
    /// A tradable instrument.
    #[prost(message, tag = "1")]
    MarketFf(MarketFullFeed),
    /// An index.
    #[prost(message, tag = "2")]
    IndexFf(IndexFullFeed),
}

/// A tradable instrument's full feed.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::MarketFullFeed;
/// assert_eq!(MarketFullFeed::default().vtt, 0);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketFullFeed {
    /// Price and close.
    #[prost(message, optional, tag = "1")]
    pub ltpc: Option<Ltpc>,
    /// Order book levels.
    #[prost(message, optional, tag = "2")]
    pub market_level: Option<MarketLevel>,
    /// Option greeks.
    #[prost(message, optional, tag = "3")]
    pub option_greeks: Option<OptionGreeks>,
    /// OHLC bars.
    #[prost(message, optional, tag = "4")]
    pub market_ohlc: Option<MarketOhlc>,
    /// Average traded price.
    #[prost(double, tag = "5")]
    pub atp: f64,
    /// Volume traded today.
    #[prost(int64, tag = "6")]
    pub vtt: i64,
    /// Open interest.
    #[prost(double, tag = "7")]
    pub oi: f64,
    /// Implied volatility.
    #[prost(double, tag = "8")]
    pub iv: f64,
    /// Total buy quantity.
    #[prost(double, tag = "9")]
    pub tbq: f64,
    /// Total sell quantity.
    #[prost(double, tag = "10")]
    pub tsq: f64,
}

/// An index's full feed.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::IndexFullFeed;
/// assert!(IndexFullFeed::default().ltpc.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct IndexFullFeed {
    /// Level and close.
    #[prost(message, optional, tag = "1")]
    pub ltpc: Option<Ltpc>,
    /// OHLC bars.
    #[prost(message, optional, tag = "2")]
    pub market_ohlc: Option<MarketOhlc>,
}

/// OHLC bars.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::MarketOhlc;
/// assert!(MarketOhlc::default().ohlc.is_empty());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketOhlc {
    /// One bar per interval (`1d`, `I1`, ...).
    #[prost(message, repeated, tag = "1")]
    pub ohlc: Vec<Ohlc>,
}

/// One OHLC bar.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::Ohlc;
/// assert!(Ohlc::default().interval.is_empty());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ohlc {
    /// The bar's interval.
    #[prost(string, tag = "1")]
    pub interval: String,
    /// Open.
    #[prost(double, tag = "2")]
    pub open: f64,
    /// High.
    #[prost(double, tag = "3")]
    pub high: f64,
    /// Low.
    #[prost(double, tag = "4")]
    pub low: f64,
    /// Close.
    #[prost(double, tag = "5")]
    pub close: f64,
    /// Volume.
    #[prost(int64, tag = "6")]
    pub vol: i64,
    /// The bar's start, ms since the epoch.
    #[prost(int64, tag = "7")]
    pub ts: i64,
}

/// Order book levels.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::MarketLevel;
/// assert!(MarketLevel::default().bid_ask_quote.is_empty());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketLevel {
    /// Bid and ask per level.
    #[prost(message, repeated, tag = "1")]
    pub bid_ask_quote: Vec<BookQuote>,
}

/// One level of the order book (`Quote` in the broker's schema).
///
/// ```
/// # use market_feed::source::upstox::stream::proto::BookQuote;
/// assert_eq!(BookQuote::default().bid_q, 0);
/// ```
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct BookQuote {
    /// Bid quantity.
    #[prost(int64, tag = "1")]
    pub bid_q: i64,
    /// Bid price.
    #[prost(double, tag = "2")]
    pub bid_p: f64,
    /// Ask quantity.
    #[prost(int64, tag = "3")]
    pub ask_q: i64,
    /// Ask price.
    #[prost(double, tag = "4")]
    pub ask_p: f64,
}

/// Option greeks.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::OptionGreeks;
/// assert_eq!(OptionGreeks::default().delta, 0.0);
/// ```
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct OptionGreeks {
    /// Delta.
    #[prost(double, tag = "1")]
    pub delta: f64,
    /// Theta.
    #[prost(double, tag = "2")]
    pub theta: f64,
    /// Gamma.
    #[prost(double, tag = "3")]
    pub gamma: f64,
    /// Vega.
    #[prost(double, tag = "4")]
    pub vega: f64,
    /// Rho.
    #[prost(double, tag = "5")]
    pub rho: f64,
}

/// `option_greeks` mode data.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::FirstLevelWithGreeks;
/// assert!(FirstLevelWithGreeks::default().ltpc.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct FirstLevelWithGreeks {
    /// Price and close.
    #[prost(message, optional, tag = "1")]
    pub ltpc: Option<Ltpc>,
    /// The best bid and ask.
    #[prost(message, optional, tag = "2")]
    pub first_depth: Option<BookQuote>,
    /// Option greeks.
    #[prost(message, optional, tag = "3")]
    pub option_greeks: Option<OptionGreeks>,
    /// Volume traded today.
    #[prost(int64, tag = "4")]
    pub vtt: i64,
    /// Open interest.
    #[prost(double, tag = "5")]
    pub oi: f64,
    /// Implied volatility.
    #[prost(double, tag = "6")]
    pub iv: f64,
}

/// The segments' market status.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::MarketInfo;
/// assert!(MarketInfo::default().segment_status.is_empty());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketInfo {
    /// Status per segment (`NSE_EQ`, `NSE_INDEX`, ...), as [`MarketStatus`] values.
    #[prost(map = "string, enumeration(MarketStatus)", tag = "1")]
    pub segment_status: HashMap<String, i32>,
}

/// A segment's market status.
///
/// ```
/// # use market_feed::source::upstox::stream::proto::MarketStatus;
/// assert_eq!(MarketStatus::try_from(2), Ok(MarketStatus::NormalOpen));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MarketStatus {
    /// Pre-open session started.
    PreOpenStart = 0,
    /// Pre-open session ended.
    PreOpenEnd = 1,
    /// Normal market open.
    NormalOpen = 2,
    /// Normal market closed.
    NormalClose = 3,
    /// Closing session started.
    ClosingStart = 4,
    /// Closing session ended.
    ClosingEnd = 5,
}

impl MarketStatus {
    /// The broker's name of the status.
    ///
    /// ```
    /// # use market_feed::source::upstox::stream::proto::MarketStatus;
    /// assert_eq!(MarketStatus::NormalOpen.name(), "NORMAL_OPEN");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            MarketStatus::PreOpenStart => "PRE_OPEN_START",
            MarketStatus::PreOpenEnd => "PRE_OPEN_END",
            MarketStatus::NormalOpen => "NORMAL_OPEN",
            MarketStatus::NormalClose => "NORMAL_CLOSE",
            MarketStatus::ClosingStart => "CLOSING_START",
            MarketStatus::ClosingEnd => "CLOSING_END",
        }
    }
}
