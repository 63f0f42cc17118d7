//! The client side of the WebSocket protocol (`docs/protocol.md` §3): parsing `op` messages, and the
//! server messages that are not hub frames (`welcome`, `pong`, `error`).
//!
//! Parsing is strict and total: any text becomes either a [`ClientOp`] or a [`Refusal`] whose
//! code and message tell the client what to fix. A refusal never closes the connection.

use std::fmt;

use market_feed::{clock::MarketStatus, hub::ResumeFrom, model::Topic};
use serde::Serialize;
use serde_json::Value;

/// At most this many symbols in one `subscribe` (`docs/protocol.md` §3).
pub const MAX_SYMBOLS: usize = 500;

/// An `error` code of `docs/protocol.md` §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not an object with a known `op`.
    BadRequest,
    /// A topic other than `indices` or `prices`.
    UnknownTopic,
    /// Some symbols are unknown (the known ones are still subscribed).
    UnknownSymbol,
    /// More than [`MAX_SYMBOLS`] symbols.
    TooManySymbols,
    /// More than 20 messages per second.
    RateLimited,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownTopic => "unknown_topic",
            ErrorCode::UnknownSymbol => "unknown_symbol",
            ErrorCode::TooManySymbols => "too_many_symbols",
            ErrorCode::RateLimited => "rate_limited",
        })
    }
}

/// A refused client message: an `error` event to send back.
///
/// ```
/// use market_feed_server::ws::protocol::{parse_op, ErrorCode};
/// let refusal = parse_op("[1,2]").unwrap_err();
/// assert_eq!(refusal.code, ErrorCode::BadRequest);
/// let json = String::from_utf8(refusal.to_json()).unwrap();
/// assert!(json.starts_with(r#"{"event":"error","code":"bad_request""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error code.
    pub code: ErrorCode,
    /// What to fix, in words.
    pub message: String,
}

impl Refusal {
    /// A refusal with a code and message.
    ///
    /// ```
    /// # use market_feed_server::ws::protocol::{ErrorCode, Refusal};
    /// let r = Refusal::new(ErrorCode::RateLimited, "slow down");
    /// assert_eq!(r.code, ErrorCode::RateLimited);
    /// ```
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The `error` event, serialized.
    ///
    /// ```
    /// # use market_feed_server::ws::protocol::{ErrorCode, Refusal};
    /// let bytes = Refusal::new(ErrorCode::UnknownTopic, "no").to_json();
    /// assert_eq!(bytes, br#"{"event":"error","code":"unknown_topic","message":"no"}"#);
    /// ```
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct ErrorEvent<'a> {
            event: &'static str,
            code: ErrorCode,
            message: &'a str,
        }
        serde_json::to_vec(&ErrorEvent {
            event: "error",
            code: self.code,
            message: &self.message,
        })
        .unwrap_or_default()
    }
}

/// A client message that was understood.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientOp {
    /// Subscribe to topics; `symbols` narrows `prices` (entries are symbols or keys).
    Subscribe {
        /// The topics, deduplicated, in the order given.
        topics: Vec<Topic>,
        /// The symbol list, if given.
        symbols: Option<Vec<String>>,
        /// Where the client left each topic it resumes (`"resume"`, docs/protocol.md §7).
        resume: Vec<ResumeFrom>,
        /// At most one update per topic per this many milliseconds (`"max_rate_ms"`,
        /// docs/protocol.md §8).
        max_rate_ms: Option<u64>,
    },
    /// Stop topics.
    Unsubscribe {
        /// The topics.
        topics: Vec<Topic>,
    },
    /// A ping to echo; `id` is any JSON value (absent: `null`).
    Ping {
        /// The id to send back.
        id: Value,
    },
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::BadRequest, message)
}

fn topics_of(obj: &serde_json::Map<String, Value>, op: &str) -> Result<Vec<Topic>, Refusal> {
    let list = obj.get("topics").and_then(Value::as_array).ok_or_else(|| {
        bad(format!(
            "{op} needs \"topics\": a list such as [\"indices\",\"prices\"]"
        ))
    })?;
    if list.is_empty() {
        return Err(bad(format!(
            "{op} needs at least one topic: \"indices\" or \"prices\""
        )));
    }
    let mut topics = Vec::with_capacity(list.len());
    for v in list {
        let name = v
            .as_str()
            .ok_or_else(|| bad("topics must be strings: \"indices\" or \"prices\""))?;
        let topic: Topic = name.parse().map_err(|_| {
            Refusal::new(
                ErrorCode::UnknownTopic,
                format!("unknown topic {name:?}: use \"indices\" or \"prices\""),
            )
        })?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    Ok(topics)
}

/// Parses `"resume": {"prices": {"epoch": "..", "seq": 41}, ...}`.
fn resume_of(value: Option<&Value>) -> Result<Vec<ResumeFrom>, Refusal> {
    const SHAPE: &str = r#""resume" must be an object such as {"prices":{"epoch":"<from welcome or snapshot>","seq":41}}"#;
    let map = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(bad(SHAPE)),
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, from) in map {
        let topic: Topic = name.parse().map_err(|_| {
            Refusal::new(
                ErrorCode::UnknownTopic,
                format!("unknown topic {name:?} in \"resume\": use \"indices\" or \"prices\""),
            )
        })?;
        let epoch = from.get("epoch").and_then(Value::as_str);
        let seq = from.get("seq").and_then(Value::as_u64);
        match (epoch, seq) {
            (Some(epoch), Some(seq)) => out.push(ResumeFrom::new(topic, epoch, seq)),
            _ => {
                return Err(bad(format!(
                    "\"resume\".{name} needs \"epoch\" (a string) and \"seq\" (a whole number): {SHAPE}"
                )));
            }
        }
    }
    Ok(out)
}

/// Parses `"max_rate_ms": 2000` (250..=60000).
fn max_rate_of(value: Option<&Value>) -> Result<Option<u64>, Refusal> {
    let range = market_feed::hub::MAX_RATE_RANGE;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(ms) if range.contains(&ms) => Ok(Some(ms)),
            _ => Err(bad(format!(
                "\"max_rate_ms\" must be a whole number of milliseconds from {} to {}, such as 2000",
                range.start(),
                range.end()
            ))),
        },
    }
}

/// Parses one client text message.
///
/// ```
/// use market_feed_server::ws::protocol::{parse_op, ClientOp, ErrorCode};
/// use market_feed::model::Topic;
///
/// let op = parse_op(r#"{"op":"subscribe","topics":["prices"],"symbols":["RELIANCE"]}"#).unwrap();
/// assert_eq!(op, ClientOp::Subscribe { topics: vec![Topic::Prices], symbols: Some(vec!["RELIANCE".into()]), resume: vec![], max_rate_ms: None });
/// let op = parse_op(r#"{"op":"subscribe","topics":["prices"],"resume":{"prices":{"epoch":"e1","seq":41}}}"#).unwrap();
/// assert!(matches!(op, ClientOp::Subscribe { resume, .. } if resume[0].seq == 41 && resume[0].epoch == "e1"));
/// assert_eq!(parse_op(r#"{"op":"dance"}"#).unwrap_err().code, ErrorCode::BadRequest);
/// assert_eq!(parse_op(r#"{"op":"subscribe","topics":["news"]}"#).unwrap_err().code, ErrorCode::UnknownTopic);
/// ```
pub fn parse_op(text: &str) -> Result<ClientOp, Refusal> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "not JSON ({e}): send an object such as {{\"op\":\"ping\",\"id\":1}}"
        ))
    })?;
    parse_op_value(&value)
}

/// Parses one client message already read as JSON (the Socket.IO endpoint's event bodies, with
/// the event name as `op`).
///
/// ```
/// use market_feed_server::ws::protocol::{parse_op_value, ClientOp};
/// let op = parse_op_value(&serde_json::json!({"op":"unsubscribe","topics":["prices"]})).unwrap();
/// assert_eq!(op, ClientOp::Unsubscribe { topics: vec![market_feed::model::Topic::Prices] });
/// ```
pub fn parse_op_value(value: &Value) -> Result<ClientOp, Refusal> {
    let obj = value
        .as_object()
        .ok_or_else(|| bad("send a JSON object with an \"op\": subscribe, unsubscribe or ping"))?;
    let op = obj
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing \"op\": use subscribe, unsubscribe or ping"))?;
    match op {
        "subscribe" => {
            let topics = topics_of(obj, op)?;
            let symbols = match obj.get("symbols") {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => {
                    if items.len() > MAX_SYMBOLS {
                        return Err(Refusal::new(
                            ErrorCode::TooManySymbols,
                            format!(
                                "{} symbols in one subscription; the limit is {MAX_SYMBOLS}: subscribe to fewer, or without \"symbols\" for all",
                                items.len()
                            ),
                        ));
                    }
                    let mut out = Vec::with_capacity(items.len());
                    for v in items {
                        match v.as_str() {
                            Some(s) if !s.trim().is_empty() => out.push(s.trim().to_owned()),
                            _ => {
                                return Err(bad(
                                    "symbols must be non-empty strings (symbols or keys)",
                                ));
                            }
                        }
                    }
                    Some(out)
                }
                Some(_) => return Err(bad("\"symbols\" must be a list of symbols or keys")),
            };
            let resume = resume_of(obj.get("resume"))?;
            let max_rate_ms = max_rate_of(obj.get("max_rate_ms"))?;
            Ok(ClientOp::Subscribe {
                topics,
                symbols,
                resume,
                max_rate_ms,
            })
        }
        "unsubscribe" => Ok(ClientOp::Unsubscribe {
            topics: topics_of(obj, op)?,
        }),
        "ping" => Ok(ClientOp::Ping {
            id: obj.get("id").cloned().unwrap_or(Value::Null),
        }),
        other => Err(bad(format!(
            "unknown op {other:?}: use subscribe, unsubscribe or ping"
        ))),
    }
}

/// The `welcome` event: the first message on every connection, with the hub's epoch.
///
/// ```
/// use market_feed::clock::MarketClock;
/// use market_feed_server::ws::protocol::welcome;
/// use time::macros::datetime;
/// let clock = MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30));
/// let v: serde_json::Value = serde_json::from_slice(&welcome(clock.now_ms(), "e1", &clock.status())).unwrap();
/// assert_eq!((v["event"].as_str(), v["protocol"].as_i64()), (Some("welcome"), Some(1)));
/// assert_eq!(v["epoch"], "e1");
/// assert_eq!(v["market"]["phase"], "open");
/// ```
pub fn welcome(server_time: i64, epoch: &str, market: &MarketStatus) -> Vec<u8> {
    #[derive(Serialize)]
    struct Welcome<'a> {
        event: &'static str,
        protocol: u32,
        server_time: i64,
        epoch: &'a str,
        market: &'a MarketStatus,
    }
    serde_json::to_vec(&Welcome {
        event: "welcome",
        protocol: 1,
        server_time,
        epoch,
        market,
    })
    .unwrap_or_default()
}

/// The `pong` event answering a `ping`.
///
/// ```
/// use market_feed_server::ws::protocol::pong;
/// assert_eq!(pong(&serde_json::json!(123), 5), br#"{"event":"pong","id":123,"server_time":5}"#);
/// ```
pub fn pong(id: &Value, server_time: i64) -> Vec<u8> {
    #[derive(Serialize)]
    struct Pong<'a> {
        event: &'static str,
        id: &'a Value,
        server_time: i64,
    }
    serde_json::to_vec(&Pong {
        event: "pong",
        id,
        server_time,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals() {
        let many: Vec<String> = (0..501).map(|i| format!("\"S{i}\"")).collect();
        let too_many = format!(
            r#"{{"op":"subscribe","topics":["prices"],"symbols":[{}]}}"#,
            many.join(",")
        );
        // (input, expected code)
        let cases = [
            ("hello", ErrorCode::BadRequest),
            ("[]", ErrorCode::BadRequest),
            ("42", ErrorCode::BadRequest),
            (r#"{"topics":["prices"]}"#, ErrorCode::BadRequest),
            (r#"{"op":7}"#, ErrorCode::BadRequest),
            (r#"{"op":"subscribe"}"#, ErrorCode::BadRequest),
            (r#"{"op":"subscribe","topics":[]}"#, ErrorCode::BadRequest),
            (
                r#"{"op":"subscribe","topics":"prices"}"#,
                ErrorCode::BadRequest,
            ),
            (r#"{"op":"subscribe","topics":[1]}"#, ErrorCode::BadRequest),
            (
                r#"{"op":"subscribe","topics":["prices"],"symbols":"TCS"}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"symbols":[""]}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices","news"]}"#,
                ErrorCode::UnknownTopic,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"resume":[41]}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"max_rate_ms":249}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"max_rate_ms":60001}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"max_rate_ms":"2000"}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"max_rate_ms":1500.5}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"resume":{"prices":{"seq":41}}}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"resume":{"prices":{"epoch":"e","seq":-1}}}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"resume":{"prices":{"epoch":7,"seq":1}}}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"op":"subscribe","topics":["prices"],"resume":{"news":{"epoch":"e","seq":1}}}"#,
                ErrorCode::UnknownTopic,
            ),
            (
                r#"{"op":"unsubscribe","topics":["news"]}"#,
                ErrorCode::UnknownTopic,
            ),
            (too_many.as_str(), ErrorCode::TooManySymbols),
        ];
        for (input, code) in cases {
            let r = parse_op(input).unwrap_err();
            assert_eq!(r.code, code, "{input}");
            assert!(!r.message.is_empty());
        }
    }

    #[test]
    fn accepted_ops() {
        assert!(matches!(
            parse_op(r#"{"op":"subscribe","topics":["prices"],"max_rate_ms":250}"#).unwrap(),
            ClientOp::Subscribe {
                max_rate_ms: Some(250),
                ..
            }
        ));
        assert!(matches!(
            parse_op(r#"{"op":"subscribe","topics":["prices"],"max_rate_ms":60000}"#).unwrap(),
            ClientOp::Subscribe {
                max_rate_ms: Some(60000),
                ..
            }
        ));
        assert_eq!(
            parse_op(r#"{"op":"subscribe","topics":["indices","indices","prices"]}"#).unwrap(),
            ClientOp::Subscribe {
                topics: vec![Topic::Indices, Topic::Prices],
                symbols: None,
                resume: vec![],
                max_rate_ms: None,
            }
        );
        assert_eq!(
            parse_op(r#"{"op":"ping","id":"abc"}"#).unwrap(),
            ClientOp::Ping {
                id: Value::from("abc")
            }
        );
        assert_eq!(
            parse_op(r#"{"op":"ping"}"#).unwrap(),
            ClientOp::Ping { id: Value::Null }
        );
        let five_hundred: Vec<String> = (0..500).map(|i| format!("\"S{i}\"")).collect();
        let ok = format!(
            r#"{{"op":"subscribe","topics":["prices"],"symbols":[{}]}}"#,
            five_hundred.join(",")
        );
        assert!(
            matches!(parse_op(&ok), Ok(ClientOp::Subscribe { symbols: Some(s), .. }) if s.len() == 500)
        );
    }
}
