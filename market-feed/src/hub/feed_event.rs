//! [`FeedEvent`]: what a [`Frame`](super::Frame) says, as Rust values, next to its bytes.
//!
//! The hub serializes each message once for the wire. An embedding application that wants
//! quotes rather than JSON reads them from the same frame with [`Frame::event`](super::Frame::event):
//! the values were kept when the frame was built (a batch's quotes are one shared [`Quotes`]
//! list by the hub's ring and every subscriber), so nothing is parsed or copied per
//! subscriber. A subscriber that only forwards bytes never touches them: the typed side lives
//! in the allocation the frame already shares for its compressed form, so a frame is as small
//! and as cheap to clone as before.

use std::sync::Arc;

use super::status::{FeedStatus, SnapshotMeta};
use crate::{
    clock::MarketStatus,
    model::{Quote, Topic},
};

/// The quotes of a snapshot or batch, shared by every subscriber that gets them: cloning is a
/// reference-count increment. Derefs to `[Quote]`.
///
/// They are the very list the feed published (no copy is made to share it), or, for a filtered
/// subscription, the ones its symbols select.
///
/// ```
/// use market_feed::hub::Quotes;
/// use market_feed::model::{InstrumentKey, Quote};
///
/// let q = Quote::new(InstrumentKey::new("NSE_EQ|INE467B01029")?, "TCS", 3120.5, 1);
/// let quotes = Quotes::from(vec![q]);
/// let shared = quotes.clone();
/// assert_eq!((shared.len(), shared[0].ltp), (1, 3120.5));
/// assert!(std::ptr::eq(quotes.as_ptr(), shared.as_ptr()));
/// for q in &quotes {
///     assert_eq!(&*q.symbol, "TCS");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Quotes(Arc<Vec<Quote>>);

impl std::ops::Deref for Quotes {
    type Target = [Quote];

    fn deref(&self) -> &[Quote] {
        &self.0
    }
}

impl std::fmt::Debug for Quotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl From<Vec<Quote>> for Quotes {
    fn from(quotes: Vec<Quote>) -> Self {
        Quotes(Arc::new(quotes))
    }
}

impl From<&[Quote]> for Quotes {
    fn from(quotes: &[Quote]) -> Self {
        Quotes(Arc::new(quotes.to_vec()))
    }
}

impl FromIterator<Quote> for Quotes {
    fn from_iter<I: IntoIterator<Item = Quote>>(iter: I) -> Self {
        Quotes(Arc::new(iter.into_iter().collect()))
    }
}

impl<'a> IntoIterator for &'a Quotes {
    type Item = &'a Quote;
    type IntoIter = std::slice::Iter<'a, Quote>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One server-to-client message as values: what [`Frame::bytes`](super::Frame::bytes) says
/// in JSON.
///
/// ```
/// use futures::StreamExt;
/// use market_feed::hub::{FeedEvent, Hub};
/// use market_feed::model::{InstrumentKey, Quote, Topic};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let hub = Hub::default();
/// let mut sub = hub.subscribe(&[Topic::Prices], None);
/// assert!(matches!(sub.next().await.unwrap().event(), FeedEvent::Snapshot { .. }));
///
/// let q = Quote::new(InstrumentKey::new("NSE_EQ|INE002A01018").unwrap(), "RELIANCE", 1391.2, 9);
/// hub.publish(Topic::Prices, vec![q]).unwrap();
/// match sub.next().await.unwrap().event() {
///     FeedEvent::Batch { topic, seq, quotes } => {
///         assert_eq!((*topic, *seq, quotes[0].symbol.as_ref()), (Topic::Prices, 1, "RELIANCE"));
///     }
///     other => panic!("expected a batch, got {other:?}"),
/// }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FeedEvent {
    /// `snapshot`: the latest value of every subscribed instrument of one topic.
    Snapshot {
        /// The topic.
        topic: Topic,
        /// The topic's `seq` when the snapshot was taken.
        seq: u64,
        /// The hub's incarnation (see [`Hub::epoch`](super::Hub::epoch)).
        epoch: Arc<str>,
        /// Whether the feed's service window is open.
        live: bool,
        /// Where the values come from, their trading day and time.
        meta: SnapshotMeta,
        /// The quotes, in universe order (narrowed to the subscriber's symbols on `prices`).
        quotes: Quotes,
    },
    /// `indices_update` / `prices_batch`: one published batch (narrowed to the subscriber's
    /// symbols on a filtered `prices` subscription).
    Batch {
        /// The topic.
        topic: Topic,
        /// The batch's number on the topic.
        seq: u64,
        /// The quotes of the batch.
        quotes: Quotes,
    },
    /// `market_status`: the phase or `live` changed.
    MarketStatus(MarketStatus),
    /// `market_status` published by the application with fields other than the market
    /// clock's ([`Hub::publish_market_status`](super::Hub::publish_market_status) takes any
    /// JSON object): the object as published.
    CustomMarketStatus(Arc<serde_json::Value>),
    /// `feed_status`: one topic's source health changed.
    FeedStatus(FeedStatus),
}

impl FeedEvent {
    /// The quotes a snapshot or batch carries; `None` for status events.
    ///
    /// ```
    /// # use market_feed::hub::{FeedEvent, Frame};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25000.0, 1);
    /// let frame = Frame::batch(Topic::Indices, 3, &[q])?;
    /// assert_eq!(frame.event().quotes().map(|q| q.len()), Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn quotes(&self) -> Option<&Quotes> {
        match self {
            FeedEvent::Snapshot { quotes, .. } | FeedEvent::Batch { quotes, .. } => Some(quotes),
            _ => None,
        }
    }

    /// The typed form of a published market status: the clock's [`MarketStatus`] when the
    /// object has its shape, otherwise the object itself.
    pub(crate) fn market_status(value: serde_json::Value) -> Self {
        match <MarketStatus as serde::Deserialize>::deserialize(&value) {
            Ok(status) => FeedEvent::MarketStatus(status),
            Err(_) => FeedEvent::CustomMarketStatus(Arc::new(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::StreamExt;

    use super::*;
    use crate::{
        clock::{MarketClock, Phase},
        hub::{Frame, Hub},
        model::{InstrumentKey, ServerMessage},
    };

    /// The quotes a frame's bytes carry, parsed as a remote client would.
    fn parsed_quotes(frame: &Frame) -> Vec<Quote> {
        match ServerMessage::parse(frame.bytes()).unwrap() {
            ServerMessage::Snapshot { data, .. }
            | ServerMessage::PricesBatch { data, .. }
            | ServerMessage::IndicesUpdate { data, .. } => data,
            other => panic!("not a quote message: {other:?}"),
        }
    }

    async fn next(sub: &mut crate::hub::Subscription) -> Frame {
        tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("a frame in time")
            .expect("the stream is open")
    }

    #[tokio::test(start_paused = true)]
    async fn whole_filtered_and_merged_frames_carry_the_quotes_their_bytes_say() {
        let hub = Hub::default();
        let instruments: Vec<(InstrumentKey, std::sync::Arc<str>)> = ["A", "B", "C"]
            .iter()
            .map(|s| {
                (
                    InstrumentKey::new(&format!("NSE_EQ|{s}")).unwrap(),
                    (*s).into(),
                )
            })
            .collect();
        hub.set_instruments(Topic::Prices, instruments.clone());
        let batch = |ltp: f64| -> Vec<Quote> {
            instruments
                .iter()
                .map(|(k, s)| Quote::new(k.clone(), s.as_ref(), ltp, 1))
                .collect()
        };
        let mut whole = hub.subscribe(&[Topic::Prices], None);
        let mut narrow = hub.subscribe_symbols(["B"]).unwrap();
        let mut merged = hub.subscribe(&[Topic::Prices], None);
        merged.set_max_rate(&[Topic::Prices], Some(Duration::from_secs(2)));
        for sub in [&mut whole, &mut narrow, &mut merged] {
            let snap = next(sub).await;
            assert!(
                matches!(snap.event(), FeedEvent::Snapshot { seq: 0, .. }),
                "{snap:?}"
            );
        }
        for ltp in [1.0, 2.0, 3.0] {
            hub.publish(Topic::Prices, batch(ltp)).unwrap();
        }
        let mut frames = Vec::new();
        for _ in 0..3 {
            frames.push(next(&mut whole).await);
            frames.push(next(&mut narrow).await);
        }
        frames.push(next(&mut merged).await); // seq 1 at once
        frames.push(next(&mut merged).await); // 2 and 3 merged
        for f in &frames {
            let quotes = f.event().quotes().expect("a batch");
            assert_eq!(&quotes[..], &parsed_quotes(f)[..], "{f:?}");
            assert!(matches!(f.event(), FeedEvent::Batch { seq, .. } if Some(*seq) == f.seq()));
        }
        // The narrow subscriber's values are its symbol's only; the merged one's the latest.
        assert!(
            frames[1]
                .event()
                .quotes()
                .unwrap()
                .iter()
                .all(|q| &*q.symbol == "B")
        );
        let last = frames.last().unwrap();
        assert_eq!(last.seq(), Some(3));
        assert!(last.event().quotes().unwrap().iter().all(|q| q.ltp == 3.0));
    }

    #[test]
    fn the_clocks_status_is_typed_and_anything_else_is_kept_as_published() {
        let status = MarketClock::fixed(time::macros::datetime!(2026-01-29 10:00 +05:30)).status();
        let value = serde_json::to_value(&status).unwrap();
        match FeedEvent::market_status(value) {
            FeedEvent::MarketStatus(s) => {
                assert_eq!(s.phase, Phase::Open);
                assert_eq!(s, status);
            }
            other => panic!("expected the typed status, got {other:?}"),
        }
        let custom = serde_json::json!({"phase": "lunch", "live": false});
        assert_eq!(
            FeedEvent::market_status(custom.clone()),
            FeedEvent::CustomMarketStatus(Arc::new(custom))
        );
    }
}
