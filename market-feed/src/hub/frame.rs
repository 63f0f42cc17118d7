//! [`Frame`]: one server-to-client message, already serialized, and the encoders that build
//! the hub's frames in the exact wire form of docs/protocol.md §3.
//!
//! Encoders write straight into a pre-sized `Vec<u8>` with `serde_json` and freeze it into
//! [`Bytes`], so a frame is built once and every clone after that is a reference-count bump.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::Serialize;

use super::HubError;
use super::feed_event::{FeedEvent, Quotes};
use super::status::{FeedState, FeedStatus, SnapshotMeta, Source, serialize_day};
use crate::model::{Quote, Topic};

/// What a [`Frame`] is, so the server can count frames per event kind without parsing them.
///
/// ```
/// use market_feed::hub::FrameKind;
/// assert_eq!(FrameKind::PricesBatch.event(), "prices_batch");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// `snapshot`: the latest value of every subscribed instrument of one topic.
    Snapshot,
    /// `indices_update`: one published batch of index levels.
    IndicesUpdate,
    /// `prices_batch`: one published batch of stock prices (possibly narrowed by a filter).
    PricesBatch,
    /// `market_status`: a phase or `live` change.
    MarketStatus,
    /// `feed_status`: a change in one topic's source health.
    FeedStatus,
}

impl FrameKind {
    /// The frame's `"event"` name on the wire.
    ///
    /// ```
    /// # use market_feed::hub::FrameKind;
    /// assert_eq!(FrameKind::Snapshot.event(), "snapshot");
    /// ```
    pub fn event(self) -> &'static str {
        match self {
            FrameKind::Snapshot => "snapshot",
            FrameKind::IndicesUpdate => "indices_update",
            FrameKind::PricesBatch => "prices_batch",
            FrameKind::MarketStatus => "market_status",
            FrameKind::FeedStatus => "feed_status",
        }
    }

    /// The batch kind of a topic: `indices_update` or `prices_batch`.
    ///
    /// ```
    /// # use market_feed::hub::FrameKind;
    /// # use market_feed::model::Topic;
    /// assert_eq!(FrameKind::batch_of(Topic::Indices), FrameKind::IndicesUpdate);
    /// ```
    pub fn batch_of(topic: Topic) -> Self {
        match topic {
            Topic::Indices => FrameKind::IndicesUpdate,
            Topic::Prices => FrameKind::PricesBatch,
        }
    }
}

/// One serialized server-to-client message (a UTF-8 JSON object), ready to be written to a
/// WebSocket text frame, and the same message as values ([`Frame::event`]).
///
/// Cloning is cheap: the bytes, their compressed form and the values are shared with every
/// other subscriber that received the same frame.
///
/// ```
/// use futures::StreamExt;
/// use market_feed::hub::{FrameKind, Hub, HubConfig};
/// use market_feed::model::Topic;
///
/// # tokio_test_rt(async {
/// let hub = Hub::new(HubConfig::default());
/// let mut sub = hub.subscribe(&[Topic::Indices], None);
/// let frame = sub.next().await.unwrap();
/// assert_eq!(frame.kind(), FrameKind::Snapshot);
/// assert_eq!((frame.topic(), frame.seq()), (Some(Topic::Indices), Some(0)));
/// assert!(frame.bytes().starts_with(br#"{"event":"snapshot","topic":"indices","seq":0"#));
/// # });
/// # fn tokio_test_rt(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Frame {
    kind: FrameKind,
    topic: Option<Topic>,
    seq: Option<u64>,
    bytes: Bytes,
    /// What every clone shares besides the bytes: one allocation, so a frame is no bigger
    /// and no dearer to clone for carrying its values.
    shared: Arc<Shared>,
}

struct Shared {
    /// The permessage-deflate form of `bytes`, computed on first use and shared by every
    /// clone of this frame (so by every connection that gets it).
    deflated: OnceLock<Option<Bytes>>,
    /// The message as values, kept when the frame was built.
    event: FeedEvent,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field(
                "deflated",
                &self.deflated.get().map(|z| z.as_ref().map(Bytes::len)),
            )
            .field("event", &self.event)
            .finish()
    }
}

/// Frames are equal when they carry the same message (the compression cache is not compared).
impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        (self.kind, self.topic, self.seq, &self.bytes)
            == (other.kind, other.topic, other.seq, &other.bytes)
    }
}

impl Eq for Frame {}

impl Frame {
    /// A frame of `bytes`, which must be `event` in the wire form.
    pub(crate) fn new(bytes: Bytes, event: FeedEvent) -> Self {
        let (kind, topic, seq) = match &event {
            FeedEvent::Snapshot { topic, seq, .. } => {
                (FrameKind::Snapshot, Some(*topic), Some(*seq))
            }
            FeedEvent::Batch { topic, seq, .. } => {
                (FrameKind::batch_of(*topic), Some(*topic), Some(*seq))
            }
            FeedEvent::MarketStatus(_) | FeedEvent::CustomMarketStatus(_) => {
                (FrameKind::MarketStatus, None, None)
            }
            FeedEvent::FeedStatus(s) => (FrameKind::FeedStatus, Some(s.topic), None),
        };
        Self {
            kind,
            topic,
            seq,
            bytes,
            shared: Arc::new(Shared {
                deflated: OnceLock::new(),
                event,
            }),
        }
    }

    /// A batch frame of `quotes` (the whole batch or the part a filter selects).
    pub(crate) fn encode_batch(topic: Topic, seq: u64, quotes: Quotes) -> Result<Frame, HubError> {
        let bytes = encode_batch(topic, seq, quotes.iter(), quotes.len())?;
        Ok(Frame::new(bytes, FeedEvent::Batch { topic, seq, quotes }))
    }

    /// The message as values: the quotes of a batch or snapshot, the market or feed status.
    /// Kept when the frame was built and shared by every clone, so reading it costs no
    /// parsing and no copy.
    ///
    /// ```
    /// # use market_feed::hub::{FeedEvent, Frame};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// let q = Quote::new(InstrumentKey::new("NSE_EQ|INE467B01029")?, "TCS", 3120.5, 1);
    /// let frame = Frame::batch(Topic::Prices, 7, &[q])?;
    /// let FeedEvent::Batch { seq, quotes, .. } = frame.event() else { unreachable!() };
    /// assert_eq!((*seq, quotes[0].ltp), (7, 3120.5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn event(&self) -> &FeedEvent {
        &self.shared.event
    }

    /// The message compressed for permessage-deflate (RFC 7692, without context takeover),
    /// or `None` when it goes uncompressed (under 1 KiB, or it would not shrink). Computed
    /// once, on first call, and shared by every clone of the frame: the connections that get
    /// the same frame send the same compressed bytes. See [`deflate_message`](super::deflate_message).
    ///
    /// ```
    /// # use market_feed::hub::{Frame, deflate_message};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// let quotes: Vec<Quote> = (0..20)
    ///     .map(|i| Quote::new(InstrumentKey::new(&format!("NSE_EQ|INE{i:07}")).unwrap(), format!("S{i}"), 100.0 + i as f64, 1))
    ///     .collect();
    /// let frame = Frame::batch(Topic::Prices, 1, &quotes)?;
    /// let copy = frame.clone();
    /// let z = frame.deflated().expect("a 20-quote batch compresses");
    /// assert!(z.len() < frame.len() / 2);
    /// // The clone shares the compressed bytes (the same allocation).
    /// assert_eq!(copy.deflated().unwrap().as_ptr(), z.as_ptr());
    /// assert_eq!(Some(z), deflate_message(frame.bytes()).as_ref());
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn deflated(&self) -> Option<&Bytes> {
        self.shared
            .deflated
            .get_or_init(|| super::deflate::deflate_message(&self.bytes))
            .as_ref()
    }

    /// Serializes a batch into an `indices_update` / `prices_batch` frame, exactly as
    /// [`Hub::publish`](super::Hub::publish) does (for tools, replays and benchmarks).
    ///
    /// # Errors
    /// [`HubError::Serialize`] if a quote cannot be serialized.
    ///
    /// ```
    /// use market_feed::hub::{Frame, FrameKind};
    /// use market_feed::model::{InstrumentKey, Quote, Topic};
    ///
    /// let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25000.0, 1);
    /// let f = Frame::batch(Topic::Indices, 42, &[q])?;
    /// assert_eq!((f.kind(), f.seq()), (FrameKind::IndicesUpdate, Some(42)));
    /// assert!(f.bytes().starts_with(br#"{"event":"indices_update","seq":42,"data":[{"key""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn batch(topic: Topic, seq: u64, quotes: &[Quote]) -> Result<Frame, HubError> {
        Frame::encode_batch(topic, seq, quotes.into())
    }

    /// What the frame is.
    ///
    /// See [`Frame`] for an example.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The topic of a `snapshot`, batch or `feed_status` frame; `None` for `market_status`.
    ///
    /// See [`Frame`] for an example.
    pub fn topic(&self) -> Option<Topic> {
        self.topic
    }

    /// The `seq` of a `snapshot` or batch frame; `None` for status frames.
    ///
    /// See [`Frame`] for an example.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// The JSON text, as bytes (always valid UTF-8).
    ///
    /// See [`Frame`] for an example.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The JSON text, as shared bytes (always valid UTF-8), without copying.
    ///
    /// ```
    /// # use market_feed::hub::{Hub, HubConfig};
    /// let hub = Hub::new(HubConfig::default());
    /// let bytes = hub.snapshot_frame(market_feed::model::Topic::Prices, None)?.into_bytes();
    /// assert!(bytes.ends_with(b"\"data\":[]}"));
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The size of the JSON text in bytes.
    ///
    /// ```
    /// # use market_feed::hub::{Hub, HubConfig};
    /// let hub = Hub::new(HubConfig::default());
    /// let f = hub.snapshot_frame(market_feed::model::Topic::Prices, None)?;
    /// assert_eq!(f.len(), f.bytes().len());
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a frame is never empty. Present for clippy's `len_without_is_empty`.
    ///
    /// ```
    /// # use market_feed::hub::{Hub, HubConfig};
    /// let hub = Hub::new(HubConfig::default());
    /// assert!(!hub.snapshot_frame(market_feed::model::Topic::Prices, None)?.is_empty());
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Rough JSON size of one quote, to pre-size buffers (a full stock quote is ~200 bytes).
const QUOTE_SIZE_HINT: usize = 224;

fn buffer_for(quotes: usize) -> Vec<u8> {
    Vec::with_capacity(160 + quotes * QUOTE_SIZE_HINT)
}

#[derive(Serialize)]
struct BatchWire<I: Serialize> {
    event: &'static str,
    seq: u64,
    data: I,
}

/// `{"event":"indices_update"|"prices_batch","seq":N,"data":[QUOTE,...]}` of the given quotes.
pub(crate) fn encode_batch<'a, I>(
    topic: Topic,
    seq: u64,
    quotes: I,
    len: usize,
) -> Result<Bytes, HubError>
where
    I: IntoIterator<Item = &'a Quote>,
{
    let mut buf = buffer_for(len);
    let wire = BatchWire {
        event: FrameKind::batch_of(topic).event(),
        seq,
        data: Seq(std::cell::Cell::new(Some(quotes.into_iter()))),
    };
    serde_json::to_writer(&mut buf, &wire).map_err(HubError::Serialize)?;
    Ok(Bytes::from(buf))
}

/// Serializes an iterator of quotes as a JSON array without collecting it first.
struct Seq<I>(std::cell::Cell<Option<I>>);

impl<'a, I: Iterator<Item = &'a Quote>> Serialize for Seq<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.take() {
            Some(iter) => s.collect_seq(iter),
            None => Err(serde::ser::Error::custom("quote sequence serialized twice")),
        }
    }
}

#[derive(Serialize)]
struct SnapshotWire<'a> {
    event: &'static str,
    topic: Topic,
    seq: u64,
    epoch: &'a str,
    live: bool,
    source: Source,
    #[serde(serialize_with = "serialize_day")]
    trading_day: Option<time::Date>,
    as_of: Option<i64>,
    data: &'a [Quote],
}

/// The `snapshot` frame of docs/protocol.md §3.
pub(crate) fn encode_snapshot(
    topic: Topic,
    seq: u64,
    epoch: &Arc<str>,
    live: bool,
    meta: &SnapshotMeta,
    quotes: Quotes,
) -> Result<Frame, HubError> {
    let mut buf = buffer_for(quotes.len());
    let wire = SnapshotWire {
        event: FrameKind::Snapshot.event(),
        topic,
        seq,
        epoch,
        live,
        source: meta.source,
        trading_day: meta.trading_day,
        as_of: meta.as_of,
        data: &quotes,
    };
    serde_json::to_writer(&mut buf, &wire).map_err(HubError::Serialize)?;
    let event = FeedEvent::Snapshot {
        topic,
        seq,
        epoch: epoch.clone(),
        live,
        meta: *meta,
        quotes,
    };
    Ok(Frame::new(Bytes::from(buf), event))
}

#[derive(Serialize)]
struct FeedStatusWire<'a> {
    event: &'static str,
    topic: Topic,
    state: FeedState,
    detail: &'a str,
    last_success: Option<i64>,
}

/// The `feed_status` frame of docs/protocol.md §3.
pub(crate) fn encode_feed_status(status: FeedStatus) -> Result<Frame, HubError> {
    let wire = FeedStatusWire {
        event: FrameKind::FeedStatus.event(),
        topic: status.topic,
        state: status.state,
        detail: &status.detail,
        last_success: status.last_success,
    };
    let bytes = serde_json::to_vec(&wire).map_err(HubError::Serialize)?;
    Ok(Frame::new(
        Bytes::from(bytes),
        FeedEvent::FeedStatus(status),
    ))
}

/// `{"event":"market_status", ...fields of status}`, keeping the fields in the order `status`
/// serializes them; `status` must serialize to a JSON object, `value` is that object.
pub(crate) fn encode_market_status<T: Serialize + ?Sized>(
    status: &T,
    value: serde_json::Value,
) -> Result<Frame, HubError> {
    let body = serde_json::to_vec(status).map_err(HubError::Serialize)?;
    if body.first() != Some(&b'{') {
        return Err(HubError::NotAnObject);
    }
    let prefix: &[u8] = br#"{"event":"market_status""#;
    let mut buf = Vec::with_capacity(prefix.len() + body.len() + 1);
    buf.extend_from_slice(prefix);
    if body.as_slice() == b"{}" {
        buf.push(b'}');
    } else {
        buf.push(b',');
        buf.extend_from_slice(&body[1..]);
    }
    Ok(Frame::new(
        Bytes::from(buf),
        FeedEvent::market_status(value),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InstrumentKey;
    use time::macros::date;

    fn quote(id: &str, ltp: f64) -> Quote {
        Quote::new(
            InstrumentKey::new(&format!("NSE_EQ|{id}")).unwrap(),
            id,
            ltp,
            7,
        )
    }

    #[test]
    fn batch_frame_is_exactly_the_protocol_shape() {
        let qs = [quote("A", 1.5), quote("B", 2.0)];
        let b = encode_batch(Topic::Prices, 42, qs.iter(), qs.len()).unwrap();
        let expected = format!(
            r#"{{"event":"prices_batch","seq":42,"data":[{},{}]}}"#,
            serde_json::to_string(&qs[0]).unwrap(),
            serde_json::to_string(&qs[1]).unwrap()
        );
        assert_eq!(std::str::from_utf8(&b).unwrap(), expected);
        let b = encode_batch(Topic::Indices, 1, [].iter(), 0).unwrap();
        assert_eq!(&b[..], br#"{"event":"indices_update","seq":1,"data":[]}"#);
    }

    #[test]
    fn snapshot_frame_is_exactly_the_protocol_shape() {
        let meta = SnapshotMeta::new(Source::Close, date!(2026 - 01 - 28), 99);
        let f = encode_snapshot(
            Topic::Indices,
            41,
            &"e1".into(),
            false,
            &meta,
            Quotes::default(),
        )
        .unwrap();
        assert_eq!(
            &f.bytes()[..],
            br#"{"event":"snapshot","topic":"indices","seq":41,"epoch":"e1","live":false,"source":"close","trading_day":"2026-01-28","as_of":99,"data":[]}"#
        );
        let f = encode_snapshot(
            Topic::Prices,
            0,
            &"e2".into(),
            true,
            &SnapshotMeta::default(),
            Quotes::default(),
        )
        .unwrap();
        assert_eq!(
            &f.bytes()[..],
            br#"{"event":"snapshot","topic":"prices","seq":0,"epoch":"e2","live":true,"source":"close","trading_day":null,"as_of":null,"data":[]}"#
        );
    }

    #[test]
    fn feed_status_frame_is_exactly_the_protocol_shape() {
        let s = FeedStatus::new(Topic::Prices, FeedState::Degraded, "1 of 5 failed")
            .with_last_success(Some(3));
        let f = encode_feed_status(s.clone()).unwrap();
        assert_eq!(
            &f.bytes()[..],
            br#"{"event":"feed_status","topic":"prices","state":"degraded","detail":"1 of 5 failed","last_success":3}"#
        );
        assert_eq!(f.kind(), FrameKind::FeedStatus);
        assert_eq!(f.topic(), Some(Topic::Prices));
        assert_eq!(f.event(), &FeedEvent::FeedStatus(s));
    }

    #[test]
    fn every_frame_carries_its_message_as_values() {
        let qs = [quote("A", 1.5), quote("B", 2.0)];
        let f = Frame::batch(Topic::Prices, 42, &qs).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(f.bytes()).unwrap();
        let FeedEvent::Batch { topic, seq, quotes } = f.event() else {
            panic!("{:?}", f.event())
        };
        assert_eq!((*topic, *seq, &quotes[..]), (Topic::Prices, 42, &qs[..]));
        assert_eq!(parsed["data"], serde_json::to_value(&qs).unwrap());

        let meta = SnapshotMeta::new(Source::Close, date!(2026 - 01 - 28), 99);
        let f = encode_snapshot(
            Topic::Indices,
            41,
            &"e1".into(),
            false,
            &meta,
            qs[..1].into(),
        )
        .unwrap();
        assert_eq!(
            f.event(),
            &FeedEvent::Snapshot {
                topic: Topic::Indices,
                seq: 41,
                epoch: "e1".into(),
                live: false,
                meta,
                quotes: qs[..1].into()
            }
        );
        // A clone shares the values (the same allocation), as it shares the bytes.
        let copy = f.clone();
        assert!(std::ptr::eq(
            copy.event().quotes().unwrap().as_ptr(),
            f.event().quotes().unwrap().as_ptr()
        ));
    }

    #[test]
    fn a_frame_is_no_bigger_for_carrying_values() {
        // kind, topic, seq, the bytes and one shared pointer: the values add nothing per clone.
        assert!(
            std::mem::size_of::<Frame>() <= 64,
            "{}",
            std::mem::size_of::<Frame>()
        );
    }

    #[test]
    fn market_status_is_flattened_after_event() {
        #[derive(Serialize)]
        struct St {
            exchange: &'static str,
            live: bool,
        }
        fn encode<T: Serialize>(status: &T) -> Result<Frame, HubError> {
            encode_market_status(status, serde_json::to_value(status).unwrap())
        }
        let f = encode(&St {
            exchange: "NSE",
            live: true,
        })
        .unwrap();
        assert_eq!(
            &f.bytes()[..],
            br#"{"event":"market_status","exchange":"NSE","live":true}"#
        );
        let f = encode(&serde_json::json!({})).unwrap();
        assert_eq!(&f.bytes()[..], br#"{"event":"market_status"}"#);
        assert!(matches!(encode(&3), Err(HubError::NotAnObject)));
        assert!(matches!(encode(&"x"), Err(HubError::NotAnObject)));
    }
}
