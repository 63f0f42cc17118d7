//! From one binary `FeedResponse` frame to quotes and segment statuses.
//!
//! The broker keys its feeds by instrument key (`NSE_EQ|INE002A01018`); the decoder maps them
//! back to the universe's instruments (keys not subscribed are ignored), stamps each quote
//! with the instant the frame was received, and takes the previous close from `cp` (a zero
//! `cp`, which proto3 also sends when the field is absent, gives no close).

use std::{collections::HashMap, sync::Arc};

use prost::Message;

use super::proto::{Feed, FeedType, MarketInfo, MarketStatus};
use crate::{
    model::{InstrumentKey, Quote},
    source::{SegmentStatus, SourceError},
    universe::Instrument,
};

/// [`FeedResponse`](super::proto::FeedResponse) as the decoder reads it: wire-identical (a
/// protobuf map is a repeated key-value message on the wire), with the `feeds` map read as its
/// entries, so decoding a 2,110-instrument `initial_feed` builds no hash map that would only be
/// walked once.
#[derive(Clone, PartialEq, prost::Message)]
struct FeedResponseEntries {
    #[prost(enumeration = "FeedType", tag = "1")]
    r#type: i32,
    #[prost(message, repeated, tag = "2")]
    feeds: Vec<FeedEntry>,
    #[prost(int64, tag = "3")]
    current_ts: i64,
    #[prost(message, optional, tag = "4")]
    market_info: Option<MarketInfo>,
}

/// One entry of the `feeds` map.
#[derive(Clone, PartialEq, prost::Message)]
struct FeedEntry {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    value: Option<Feed>,
}

/// What one frame carried.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    /// Quotes of the subscribed instruments in the frame.
    pub quotes: Vec<Quote>,
    /// The segments' statuses, when the frame is a `market_info`.
    pub segments: Vec<SegmentStatus>,
}

/// Decodes frames for one subscription.
///
/// ```
/// use market_feed::source::upstox::stream::{Decoder, proto::{Feed, FeedResponse, FeedType, FeedUnion, Ltpc}};
/// use market_feed::universe::Universe;
/// use prost::Message;
///
/// let universe = Universe::bundled();
/// let decoder = Decoder::new(universe.indices());
/// let nifty = universe.indices()[0].key.as_str().to_owned();
/// let ltpc = Ltpc { ltp: 25010.456, ltt: 1, ltq: 0, cp: 25000.0 };
/// let frame = FeedResponse {
///     r#type: FeedType::LiveFeed as i32,
///     feeds: [(nifty, Feed { feed_union: Some(FeedUnion::Ltpc(ltpc)), request_mode: 0 })].into(),
///     ..FeedResponse::default()
/// };
/// let d = decoder.decode(&frame.encode_to_vec(), 42)?;
/// assert_eq!((d.quotes[0].ltp, d.quotes[0].change, d.quotes[0].ts), (25010.46, Some(10.46), 42));
/// # Ok::<(), market_feed::source::SourceError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    by_key: Arc<HashMap<String, (InstrumentKey, Arc<str>)>>,
}

impl Decoder {
    /// A decoder for the subscribed `instruments`.
    ///
    /// See [`Decoder`] for an example.
    pub fn new(instruments: &[Instrument]) -> Self {
        let by_key = instruments
            .iter()
            .map(|i| (i.key.as_str().to_owned(), (i.key.clone(), i.symbol.clone())))
            .collect();
        Self {
            by_key: Arc::new(by_key),
        }
    }

    /// Decodes one binary frame received at `received_ms` (market clock, ms).
    ///
    /// # Errors
    /// [`SourceError::BadResponse`] when the bytes are not a `FeedResponse`.
    ///
    /// See [`Decoder`] for an example.
    pub fn decode(&self, frame: &[u8], received_ms: i64) -> Result<Decoded, SourceError> {
        let response = FeedResponseEntries::decode(frame).map_err(|e| {
            SourceError::undecodable("a market data feed frame is not a FeedResponse", frame, e)
        })?;
        let mut out = Decoded {
            quotes: Vec::with_capacity(response.feeds.len()),
            segments: Vec::new(),
        };
        for entry in &response.feeds {
            let Some((key, symbol)) = self.by_key.get(entry.key.as_str()) else {
                continue;
            };
            let Some(ltpc) = entry.value.as_ref().and_then(Feed::ltpc) else {
                continue;
            };
            if !ltpc.ltp.is_finite() || ltpc.ltp <= 0.0 {
                continue;
            }
            let close = (ltpc.cp.is_finite() && ltpc.cp > 0.0).then_some(ltpc.cp);
            out.quotes.push(
                Quote::new(key.clone(), symbol.clone(), ltpc.ltp, received_ms)
                    .with_prev_close(close),
            );
        }
        if let Some(info) = &response.market_info {
            let mut segments: Vec<SegmentStatus> = info
                .segment_status
                .iter()
                .map(|(segment, &status)| segment_status(segment, status))
                .collect();
            segments.sort_by(|a, b| a.segment.cmp(&b.segment));
            out.segments = segments;
        }
        Ok(out)
    }
}

fn segment_status(segment: &str, status: i32) -> SegmentStatus {
    match MarketStatus::try_from(status) {
        Ok(s) => SegmentStatus {
            segment: segment.to_owned(),
            status: s.name().to_owned(),
            open: s == MarketStatus::NormalOpen,
        },
        Err(_) => SegmentStatus {
            segment: segment.to_owned(),
            status: format!("unknown status {status}"),
            open: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::proto::*;
    use super::*;
    use crate::universe::Universe;

    fn ltpc_feed(ltp: f64, cp: f64) -> Feed {
        Feed {
            feed_union: Some(FeedUnion::Ltpc(Ltpc {
                ltp,
                ltt: 1,
                ltq: 1,
                cp,
            })),
            request_mode: RequestMode::Ltpc as i32,
        }
    }

    #[test]
    fn ltpc_full_and_index_feeds_give_quotes_of_subscribed_keys_only() {
        let u = Universe::bundled();
        let stock = &u.prices()[0];
        let index = &u.indices()[0];
        let d = Decoder::new(&[stock.clone(), index.clone()]);
        let full_index = Feed {
            feed_union: Some(FeedUnion::FullFeed(FullFeed {
                full_feed_union: Some(FullFeedUnion::IndexFf(IndexFullFeed {
                    ltpc: Some(Ltpc {
                        ltp: 25000.0,
                        ltt: 0,
                        ltq: 0,
                        cp: 0.0,
                    }),
                    market_ohlc: None,
                })),
            })),
            request_mode: RequestMode::FullD5 as i32,
        };
        let frame = FeedResponse {
            r#type: FeedType::LiveFeed as i32,
            feeds: [
                (stock.key.as_str().to_owned(), ltpc_feed(100.004, 99.0)),
                (index.key.as_str().to_owned(), full_index),
                ("NSE_EQ|NOT-SUBSCRIBED".to_owned(), ltpc_feed(5.0, 5.0)),
                (u.prices()[1].key.as_str().to_owned(), ltpc_feed(1.0, 1.0)),
            ]
            .into(),
            current_ts: 7,
            market_info: None,
        };
        let mut out = d.decode(&frame.encode_to_vec(), 9).unwrap();
        out.quotes.sort_by(|a, b| a.ltp.total_cmp(&b.ltp));
        assert_eq!(out.quotes.len(), 2);
        assert_eq!(
            (
                &*out.quotes[0].symbol,
                out.quotes[0].ltp,
                out.quotes[0].prev_close
            ),
            (&*stock.symbol, 100.0, Some(99.0))
        );
        assert_eq!(out.quotes[0].change, Some(1.0));
        assert_eq!((out.quotes[1].prev_close, out.quotes[1].ts), (None, 9));
        assert!(out.quotes.iter().all(|q| q.volume.is_none()));
    }

    #[test]
    fn market_info_gives_every_present_segment_and_a_zero_status_is_pre_open() {
        let d = Decoder::new(&[]);
        let frame = FeedResponse {
            r#type: FeedType::MarketInfo as i32,
            market_info: Some(MarketInfo {
                segment_status: [
                    ("NSE_EQ".to_owned(), MarketStatus::NormalOpen as i32),
                    ("NSE_INDEX".to_owned(), MarketStatus::PreOpenStart as i32),
                    ("MCX_FO".to_owned(), 42),
                ]
                .into(),
            }),
            ..FeedResponse::default()
        };
        let out = d.decode(&frame.encode_to_vec(), 0).unwrap();
        let got: Vec<(&str, &str, bool)> = out
            .segments
            .iter()
            .map(|s| (s.segment.as_str(), s.status.as_str(), s.open))
            .collect();
        assert_eq!(
            got,
            [
                ("MCX_FO", "unknown status 42", false),
                ("NSE_EQ", "NORMAL_OPEN", true),
                ("NSE_INDEX", "PRE_OPEN_START", false)
            ]
        );
    }

    #[test]
    fn unknown_fields_are_skipped_and_garbage_is_a_bad_response() {
        let u = Universe::bundled();
        let stock = &u.prices()[0];
        let frame = FeedResponse {
            r#type: FeedType::LiveFeed as i32,
            feeds: [(stock.key.as_str().to_owned(), ltpc_feed(10.0, 9.0))].into(),
            ..FeedResponse::default()
        };
        let mut bytes = frame.encode_to_vec();
        // A newer schema's field 9 (varint 5) at the top level.
        bytes.extend_from_slice(&[0x48, 0x05]);
        let d = Decoder::new(std::slice::from_ref(stock));
        assert_eq!(d.decode(&bytes, 0).unwrap().quotes.len(), 1);
        let err = d.decode(&[0xff, 0xff, 0xff], 0).unwrap_err();
        assert_eq!(err.kind(), "bad_response");
        // Zero, negative or non-finite prices are no quotes.
        let zero = FeedResponse {
            feeds: [(stock.key.as_str().to_owned(), ltpc_feed(0.0, 9.0))].into(),
            ..FeedResponse::default()
        };
        assert!(
            d.decode(&zero.encode_to_vec(), 0)
                .unwrap()
                .quotes
                .is_empty()
        );
    }
}
