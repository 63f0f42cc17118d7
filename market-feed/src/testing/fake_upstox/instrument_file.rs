//! The fake's instrument file: `GET /market-quote/instruments/exchange/NSE.json.gz`, the gzip
//! JSON array Upstox's assets host serves, in the real row shapes.
//!
//! Built from the bundled universe's stocks (or the listings a test set), with the rows a real
//! file also has and a universe must not take: NSE index rows, NSE_FO futures and options,
//! BE-series stocks, a government bond, rows with optional fields missing, and one EQ row
//! without a symbol (a bad row). Tests list and delist stocks between two days and make the
//! file fail (404, 500, an HTML page, a truncated download). Requests for it are recorded
//! apart from the market-quote requests, so quote-call counts are unaffected.

use std::{io::Write, sync::Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use serde_json::{Value, json};

use super::{FakeInstrument, FakeUpstox, State};
use crate::universe::{Instrument, Universe};

/// The path the fake serves the file at (the assets host's path).
pub(super) const PATH: &str = "/market-quote/instruments/exchange/NSE.json.gz";

/// How the fake answers requests for the instrument file (until changed).
///
/// ```
/// use market_feed::testing::FileReply;
/// assert_ne!(FileReply::Normal, FileReply::TruncatedGzip);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileReply {
    /// The file, gzip-compressed.
    Normal,
    /// An empty body with this HTTP status (404, 500, ...).
    Status(u16),
    /// An HTML error page with HTTP 200, as a captive portal or misconfigured proxy sends.
    HtmlPage,
    /// The first half of the gzip-compressed file (a download cut off).
    TruncatedGzip,
    /// The file with only its first `n` stocks (an implausibly small universe).
    FirstStocks(usize),
}

/// One request for the instrument file.
///
/// ```
/// use market_feed::testing::FileRequest;
/// let r = FileRequest { user_agent: Some("market-feed/0.1.0".into()), authorization: None };
/// assert!(r.authorization.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `Authorization` header (the assets host needs none).
    pub authorization: Option<String>,
}

/// The file's state inside the fake.
#[derive(Debug)]
pub(super) struct FileState {
    /// The stocks listed; `None` until first needed: the bundled universe's.
    stocks: Option<Vec<Instrument>>,
    reply: FileReply,
    requests: Vec<FileRequest>,
}

impl Default for FileState {
    fn default() -> Self {
        Self {
            stocks: None,
            reply: FileReply::Normal,
            requests: Vec::new(),
        }
    }
}

impl FileState {
    fn stocks(&mut self) -> &mut Vec<Instrument> {
        self.stocks
            .get_or_insert_with(|| Universe::bundled().prices().to_vec())
    }
}

impl FakeUpstox {
    /// Lists a stock in the instrument file (appended) and makes it quotable.
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, testing::FakeUpstox, universe::Instrument};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// let ipo = Instrument::new(InstrumentKey::new("NSE_EQ|INE0NEW01012").unwrap(), "NEWCO", "NewCo Limited", Some("INE0NEW01012"));
    /// fake.list_stock(ipo);
    /// assert!(fake.instrument("NSE_EQ|INE0NEW01012").is_some());
    /// assert_eq!(fake.file_stocks().last().unwrap().symbol.as_ref(), "NEWCO");
    /// # });
    /// ```
    pub fn list_stock(&self, stock: Instrument) {
        self.add(FakeInstrument::from_instrument(&stock));
        let mut s = self.lock();
        let stocks = s.instrument_file.stocks();
        stocks.retain(|i| i.key != stock.key);
        stocks.push(stock);
    }

    /// Delists a stock: gone from the instrument file, and unknown to the quote endpoints.
    ///
    /// ```
    /// # use market_feed::testing::FakeUpstox;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// assert!(fake.delist_stock("NSE_EQ|INE002A01018"));
    /// assert!(!fake.file_stocks().iter().any(|i| i.symbol.as_ref() == "RELIANCE"));
    /// # });
    /// ```
    pub fn delist_stock(&self, key: &str) -> bool {
        self.remove(key);
        let mut s = self.lock();
        let stocks = s.instrument_file.stocks();
        let before = stocks.len();
        stocks.retain(|i| i.key.as_str() != key);
        stocks.len() < before
    }

    /// The stocks the instrument file lists now (the bundled universe's until changed).
    ///
    /// See [`FakeUpstox::list_stock`] for an example.
    pub fn file_stocks(&self) -> Vec<Instrument> {
        self.lock().instrument_file.stocks().clone()
    }

    /// How the instrument file is answered from now on.
    ///
    /// ```
    /// # use market_feed::testing::{FakeUpstox, FileReply};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.set_file_reply(FileReply::Status(500));
    /// # });
    /// ```
    pub fn set_file_reply(&self, reply: FileReply) {
        self.lock().instrument_file.reply = reply;
    }

    /// Every request for the instrument file so far.
    ///
    /// ```
    /// # use market_feed::testing::FakeUpstox;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// assert!(fake.file_requests().is_empty());
    /// # });
    /// ```
    pub fn file_requests(&self) -> Vec<FileRequest> {
        self.lock().instrument_file.requests.clone()
    }
}

/// Answers a request for the instrument file.
pub(super) fn serve(state: &Mutex<State>, request: FileRequest) -> Response<Full<Bytes>> {
    let (reply, stocks) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let file = &mut s.instrument_file;
        file.requests.push(request);
        (file.reply.clone(), file.stocks().clone())
    };
    match reply {
        FileReply::Normal => respond(200, "application/gzip", gzip(&body(&stocks))),
        FileReply::FirstStocks(n) => respond(
            200,
            "application/gzip",
            gzip(&body(&stocks[..n.min(stocks.len())])),
        ),
        FileReply::TruncatedGzip => {
            let mut gz = gzip(&body(&stocks));
            gz.truncate(gz.len() / 2);
            respond(200, "application/gzip", gz)
        }
        FileReply::Status(status) => respond(status, "text/plain", Vec::new()),
        FileReply::HtmlPage => respond(
            200,
            "text/html",
            b"<!DOCTYPE html><html><body><h1>Please sign in to the network</h1></body></html>"
                .to_vec(),
        ),
    }
}

/// The JSON array: index rows, the stocks, and the rows a universe must pass over.
fn body(stocks: &[Instrument]) -> Vec<u8> {
    let mut rows: Vec<Value> = Vec::with_capacity(stocks.len() + 16);
    let indices = Universe::bundled();
    for (n, i) in indices
        .indices()
        .iter()
        .filter(|i| &*i.segment == "NSE_INDEX")
        .enumerate()
    {
        rows.push(json!({"segment":"NSE_INDEX","name":i.key.as_str()["NSE_INDEX|".len()..],"exchange":"NSE",
            "instrument_type":"INDEX","instrument_key":i.key.as_str(),"exchange_token":(26000 + n).to_string(),
            "trading_symbol":&*i.symbol}));
    }
    rows.push(json!({"segment":"NSE_INDEX","name":"Nifty Auto","exchange":"NSE","instrument_type":"INDEX",
        "instrument_key":"NSE_INDEX|Nifty Auto","exchange_token":"26029","trading_symbol":"NIFTY AUTO"}));
    for (n, i) in stocks.iter().enumerate() {
        let token = (10_000 + n).to_string();
        let row = if n % 97 == 5 {
            // Optional fields missing, as some real rows have them.
            json!({"segment":"NSE_EQ","name":&*i.name,"exchange":"NSE","instrument_type":"EQ",
                "instrument_key":i.key.as_str(),"exchange_token":token,"trading_symbol":&*i.symbol})
        } else {
            json!({"segment":"NSE_EQ","name":&*i.name,"exchange":"NSE","isin":i.isin.as_deref(),
                "instrument_type":"EQ","instrument_key":i.key.as_str(),"lot_size":1,"freeze_quantity":100000.0,
                "exchange_token":token,"tick_size":5.0,"trading_symbol":&*i.symbol,"short_name":&*i.symbol,
                "security_type":"NORMAL"})
        };
        rows.push(row);
        if n == 10 {
            rows.push(json!({"segment":"NSE_FO","name":"NIFTY","exchange":"NSE","expiry":1769680800000_i64,
                "instrument_type":"FUT","asset_symbol":"NIFTY","underlying_symbol":"NIFTY",
                "instrument_key":"NSE_FO|43919","lot_size":75,"freeze_quantity":1800.0,"exchange_token":"43919",
                "minimum_lot":75,"tick_size":10.0,"asset_type":"INDEX","underlying_type":"INDEX",
                "underlying_key":"NSE_INDEX|Nifty 50","trading_symbol":"NIFTY FUT 29 JAN 26",
                "strike_price":0.0,"weekly":false}));
            for (k, kind) in ["CE", "PE"].into_iter().enumerate() {
                rows.push(json!({"segment":"NSE_FO","name":"RELIANCE","exchange":"NSE","expiry":1769680800000_i64,
                    "instrument_type":kind,"instrument_key":format!("NSE_FO|5123{k}"),"lot_size":500,
                    "exchange_token":format!("5123{k}"),"tick_size":5.0,"underlying_key":"NSE_EQ|INE002A01018",
                    "trading_symbol":format!("RELIANCE 1400 {kind} 29 JAN 26"),"strike_price":1400.0,"weekly":false}));
            }
        }
        if n == 20 {
            for k in 0..3 {
                rows.push(json!({"segment":"NSE_EQ","name":format!("BE SERIES CO {k}"),"exchange":"NSE",
                    "isin":format!("INE9BE{k:02}01011"),"instrument_type":"BE",
                    "instrument_key":format!("NSE_EQ|INE9BE{k:02}01011"),"lot_size":1,"exchange_token":format!("9{k}"),
                    "tick_size":1.0,"trading_symbol":format!("BESERIES{k}"),"security_type":"NORMAL"}));
            }
            rows.push(
                json!({"segment":"NSE_EQ","name":"GOI LOAN 7.26% 2033","exchange":"NSE",
                "isin":"IN0020220151","instrument_type":"GS","instrument_key":"NSE_EQ|IN0020220151",
                "exchange_token":"777","tick_size":1.0,"trading_symbol":"726GS2033"}),
            );
            // A bad row: an EQ listing without a symbol is skipped and counted.
            rows.push(json!({"segment":"NSE_EQ","name":"NO SYMBOL LTD","exchange":"NSE","instrument_type":"EQ",
                "instrument_key":"NSE_EQ|INE9NS001011","exchange_token":"778"}));
        }
    }
    serde_json::to_vec(&rows).unwrap_or_default()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(bytes);
    gz.finish().unwrap_or_default()
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}
