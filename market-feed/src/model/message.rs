//! [`ServerMessage`]: the server's WebSocket messages (`docs/protocol.md` §3) as a client reads
//! them, for Rust clients of a market-feed server and for programs that read a
//! [`Subscription`](crate::hub::Subscription)'s frames as values.

use serde::Deserialize;
use time::Date;

use crate::{
    clock::MarketStatus,
    hub::{FeedState, Source},
    model::{Quote, Topic},
};

/// One message from the server, decoded. Fields a newer server adds are ignored, and an
/// event this version does not know fails to parse (match on `event` first if you must accept
/// those).
///
/// ```
/// use market_feed::model::ServerMessage;
/// let text = r#"{"event":"prices_batch","seq":7,"data":[{"key":"NSE_EQ|INE467B01029","symbol":"TCS","ltp":3120.5,"ts":1769680800000}]}"#;
/// let ServerMessage::PricesBatch { seq, data } = ServerMessage::parse(text.as_bytes())? else { unreachable!() };
/// assert_eq!((seq, data[0].symbol.as_ref(), data[0].ltp), (7, "TCS", 3120.5));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerMessage {
    /// The first message on every connection.
    Welcome {
        /// The protocol version (1).
        protocol: u32,
        /// The server's market-clock time, ms since the epoch.
        server_time: i64,
        /// The market status.
        market: MarketStatus,
    },
    /// The market status changed (phase or `live`).
    MarketStatus(MarketStatus),
    /// Every instrument of a topic (narrowed to the client's symbols on `prices`).
    Snapshot {
        /// The topic.
        topic: Topic,
        /// The topic's `seq` when the snapshot was taken.
        seq: u64,
        /// The server's incarnation: `seq` numbering restarts only with a new epoch; send it
        /// back with `seq` to resume after a reconnect. `None` from a server that predates it.
        #[serde(default)]
        epoch: Option<String>,
        /// Whether prices are being fetched.
        live: bool,
        /// Where the values come from.
        source: Source,
        /// The trading day of the values.
        #[serde(default, deserialize_with = "optional_date")]
        trading_day: Option<Date>,
        /// When the values were last refreshed, ms since the epoch.
        as_of: Option<i64>,
        /// The quotes.
        data: Vec<Quote>,
    },
    /// A refresh of the indices.
    IndicesUpdate {
        /// The batch's number on the topic.
        seq: u64,
        /// The quotes.
        data: Vec<Quote>,
    },
    /// A refresh of stock prices (only the client's symbols if it subscribed with a list).
    PricesBatch {
        /// The batch's number on the topic.
        seq: u64,
        /// The quotes.
        data: Vec<Quote>,
    },
    /// A topic's source health changed.
    FeedStatus {
        /// The topic.
        topic: Topic,
        /// Its health.
        state: FeedState,
        /// Why, in words.
        #[serde(default)]
        detail: String,
        /// The last successful refresh, ms since the epoch.
        last_success: Option<i64>,
    },
    /// The answer to a `ping`.
    Pong {
        /// The id the client sent.
        #[serde(default)]
        id: serde_json::Value,
        /// The server's market-clock time, ms since the epoch.
        server_time: i64,
    },
    /// A client message was refused.
    Error {
        /// A stable code (`unknown_symbol`, `bad_request`, ...).
        code: String,
        /// What to fix.
        message: String,
    },
}

impl ServerMessage {
    /// Decodes one message (a WebSocket text frame, or a hub frame's bytes).
    ///
    /// See [`ServerMessage`] for an example.
    pub fn parse(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

fn optional_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "crate::clock::deserialize_date")] Date);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use time::macros::{date, datetime};

    use super::*;
    use crate::{
        clock::{MarketClock, Phase},
        hub::Hub,
        model::InstrumentKey,
    };

    #[tokio::test(start_paused = true)]
    async fn every_frame_the_hub_builds_parses() {
        let hub = Hub::default();
        let key = InstrumentKey::new("NSE_EQ|INE467B01029").unwrap();
        hub.set_instruments(Topic::Prices, [(key.clone(), "TCS".into())]);
        hub.set_trading_day(date!(2026 - 01 - 29));
        let mut sub = hub.subscribe(&[Topic::Prices], None);
        let snapshot = ServerMessage::parse(sub.next().await.unwrap().bytes()).unwrap();
        let quote = Quote::new(key, "TCS", 3120.5, 1_769_680_800_000);
        hub.publish(Topic::Prices, vec![quote.clone()]).unwrap();
        assert!(matches!(
            snapshot,
            ServerMessage::Snapshot { topic: Topic::Prices, trading_day: Some(d), ref epoch, .. }
                if d == date!(2026 - 01 - 29) && epoch.as_deref() == Some(hub.epoch())
        ));
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), sub.next())
            .await
            .expect("the batch arrives")
            .unwrap();
        let ServerMessage::PricesBatch { seq, data } = ServerMessage::parse(next.bytes()).unwrap()
        else {
            panic!("a prices_batch");
        };
        assert_eq!((seq, data), (1, vec![quote]));
        let status = MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30)).status();
        let text = serde_json::to_string(&status).unwrap();
        let back: MarketStatus = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (back.phase, back.trading_day),
            (Phase::Open, date!(2026 - 01 - 29))
        );
    }

    #[test]
    fn documented_messages_parse_and_new_fields_are_ignored() {
        for text in [
            r#"{"event":"welcome","protocol":1,"server_time":1,"epoch":"x","market":{"exchange":"NSE","phase":"open","live":true,"trading_day":"2026-01-29","next_change":2,"next_phase":"post_close","reason":null}}"#,
            r#"{"event":"market_status","exchange":"NSE","phase":"closed","live":false,"trading_day":"2026-01-30","next_change":3,"next_phase":"pre_open","reason":"after_hours"}"#,
            r#"{"event":"feed_status","topic":"prices","state":"degraded","detail":"HTTP 503","last_success":null}"#,
            r#"{"event":"pong","id":7,"server_time":5}"#,
            r#"{"event":"error","code":"unknown_symbol","message":"unknown: NOPE"}"#,
            r#"{"event":"snapshot","topic":"indices","seq":0,"live":false,"source":"close","trading_day":null,"as_of":null,"data":[]}"#,
        ] {
            ServerMessage::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
        let bad = ServerMessage::parse(br#"{"event":"market_status","trading_day":"29/01/2026"}"#);
        assert!(bad.is_err());
    }
}
