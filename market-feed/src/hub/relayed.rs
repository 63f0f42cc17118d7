//! The hub's side of a relay between servers: [`Hub::tap`] hands every frame a leader
//! publishes to a relay, and the `*_relayed` methods let a follower publish the leader's frames
//! into its own hub **unchanged**: the same bytes, the same `seq`.
//!
//! A follower never numbers batches itself: [`Hub::publish_relayed`] takes the leader's `seq`
//! and refuses one that is not newer than the topic's (a late frame of a leader that lost its
//! lease), so `seq` never goes back for a connected client. [`Hub::restore`] loads a topic's
//! retained latest values with their `seq` (a node that joins or reconnects) and sends a fresh
//! `snapshot` to the topic's subscribers.

use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::{
    HubError,
    event::{Batch, Event},
    fanout::Hub,
    feed_event::{FeedEvent, Quotes},
    frame::Frame,
    lock, read,
    status::{FeedState, FeedStatus, SnapshotMeta},
    write,
};
use crate::model::{Quote, Topic};

/// One frame a hub published, as a relay sees it (see [`Hub::tap`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Tapped {
    /// An `indices_update` / `prices_batch` frame with its `seq`.
    Batch {
        /// The topic.
        topic: Topic,
        /// The batch's `seq`.
        seq: u64,
        /// The frame, as sent to clients.
        frame: Frame,
    },
    /// A `market_status` frame.
    MarketStatus(Frame),
    /// A `feed_status` frame of one topic.
    FeedStatus {
        /// The topic.
        topic: Topic,
        /// The frame, as sent to clients.
        frame: Frame,
    },
    /// A topic's subscribers were sent a fresh snapshot (a new instrument list).
    Resnapshot(Topic),
    /// The tap fell behind and missed `n` frames: send the latest values of every topic.
    Lagged(u64),
}

/// A receiver of every frame the hub publishes, from [`Hub::tap`].
#[derive(Debug)]
pub struct Tap {
    rx: broadcast::Receiver<Arc<Event>>,
}

impl Tap {
    /// The next published frame; `None` once the hub is closed.
    ///
    /// See [`Hub::tap`] for an example.
    pub async fn next(&mut self) -> Option<Tapped> {
        let event = match self.rx.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(n)) => return Some(Tapped::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some(match &*event {
            Event::Batch(batch) => Tapped::Batch {
                topic: batch.topic,
                seq: batch.seq,
                frame: batch.frame.clone(),
            },
            Event::MarketStatus { frame, .. } => Tapped::MarketStatus(frame.clone()),
            Event::FeedStatus { topic, frame, .. } => Tapped::FeedStatus {
                topic: *topic,
                frame: frame.clone(),
            },
            Event::Resnapshot(topic) => Tapped::Resnapshot(*topic),
            Event::Closed => return None,
        })
    }
}

/// The parts of a batch frame a follower reads back.
#[derive(Deserialize)]
struct BatchWire {
    seq: u64,
    data: Vec<Quote>,
}

/// The parts of a `feed_status` frame a follower reads back.
#[derive(Deserialize)]
struct FeedStatusWire {
    topic: Topic,
    state: FeedState,
    #[serde(default)]
    detail: String,
    last_success: Option<i64>,
}

impl Hub {
    /// Every frame this hub publishes from now on, for a relay to forward: batches, market
    /// and feed status. Reading it never slows publishers: a tap that falls more than the
    /// ring's size behind gets [`Tapped::Lagged`]. Taps have a ring of their own, fed just
    /// before the subscribers' ring, so a relay's task is woken ahead of the connections.
    ///
    /// ```
    /// # use market_feed::hub::{Hub, Tapped};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let hub = Hub::default();
    /// let mut tap = hub.tap();
    /// let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25000.0, 1);
    /// hub.publish(Topic::Indices, vec![q])?;
    /// assert!(matches!(tap.next().await, Some(Tapped::Batch { seq: 1, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tap(&self) -> Tap {
        Tap {
            rx: self.shared().tap_tx.subscribe(),
        }
    }

    /// Publishes a batch frame another hub built (`{"event":"indices_update"|"prices_batch",
    /// "seq":N,"data":[...]}`) with its own `seq` and bytes: its quotes become the latest
    /// values and subscribers get exactly these bytes. Returns `Ok(false)` and changes nothing
    /// when `seq` is not newer than the topic's.
    ///
    /// # Errors
    /// [`HubError::Relayed`] when the bytes are not a batch frame.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::Topic;
    /// let hub = Hub::default();
    /// let frame = br#"{"event":"indices_update","seq":41,"data":[{"key":"NSE_INDEX|Nifty 50","symbol":"NIFTY 50","ltp":25000.5,"ts":1}]}"#;
    /// assert!(hub.publish_relayed(Topic::Indices, bytes::Bytes::from_static(frame))?);
    /// assert_eq!(hub.seq(Topic::Indices), 41);
    /// assert!(!hub.publish_relayed(Topic::Indices, bytes::Bytes::from_static(frame))?);
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn publish_relayed(&self, topic: Topic, bytes: Bytes) -> Result<bool, HubError> {
        let wire: BatchWire = serde_json::from_slice(&bytes).map_err(HubError::Relayed)?;
        let shared = self.shared();
        let _one_publisher = lock(&shared.publishing[topic.index()]);
        let seq = wire.seq;
        let quotes: Quotes = wire.data.into();
        let newest = quotes.iter().map(|q| q.ts).max();
        {
            let mut st = write(shared.topic(topic));
            if seq <= st.seq {
                return Ok(false);
            }
            st.apply(&quotes);
            st.seq = seq;
            st.meta.source = super::status::Source::Live;
            st.meta.as_of = st.meta.as_of.max(newest);
        }
        let frame = Frame::new(
            bytes,
            FeedEvent::Batch {
                topic,
                seq,
                quotes: quotes.clone(),
            },
        );
        shared.counters.published(frame.len());
        shared.send_batch(Batch::new(topic, seq, frame, quotes));
        Ok(true)
    }

    /// Publishes a `market_status` frame another hub built, with its bytes unchanged (the
    /// hub's live flag follows its `live` field, as with [`Hub::publish_market_status`]).
    ///
    /// # Errors
    /// [`HubError::Relayed`] when the bytes are not a JSON object.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// let hub = Hub::default();
    /// hub.publish_market_status_relayed(bytes::Bytes::from_static(br#"{"event":"market_status","phase":"open","live":true}"#))?;
    /// assert_eq!(hub.market_status().unwrap()["phase"], "open");
    /// assert!(hub.view(market_feed::model::Topic::Prices).live);
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn publish_market_status_relayed(&self, bytes: Bytes) -> Result<(), HubError> {
        let mut value: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(HubError::Relayed)?;
        value.remove("event");
        let value = serde_json::Value::Object(value);
        let frame = Frame::new(bytes, FeedEvent::market_status(value.clone()));
        self.send_market_status(value, frame);
        Ok(())
    }

    /// Publishes a `feed_status` frame another hub built, with its bytes unchanged.
    ///
    /// # Errors
    /// [`HubError::Relayed`] when the bytes are not a `feed_status` frame.
    ///
    /// ```
    /// # use market_feed::hub::{FeedState, Hub};
    /// # use market_feed::model::Topic;
    /// let hub = Hub::default();
    /// let frame = br#"{"event":"feed_status","topic":"prices","state":"stale","detail":"x","last_success":null}"#;
    /// hub.publish_feed_status_relayed(bytes::Bytes::from_static(frame))?;
    /// assert_eq!(hub.feed_status(Topic::Prices).state, FeedState::Stale);
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn publish_feed_status_relayed(&self, bytes: Bytes) -> Result<(), HubError> {
        let wire: FeedStatusWire = serde_json::from_slice(&bytes).map_err(HubError::Relayed)?;
        let status = FeedStatus::new(wire.topic, wire.state, wire.detail)
            .with_last_success(wire.last_success);
        let frame = Frame::new(bytes, FeedEvent::FeedStatus(status.clone()));
        self.send_feed_status(status, frame);
        Ok(())
    }

    /// Restores a topic's retained latest values (a node joining a cluster, or reconnecting):
    /// the quotes, their metadata and `live`, and `seq`, which only moves forward. Subscribers
    /// of the topic get a fresh `snapshot`. Returns whether anything changed (`false` when
    /// `seq` is older than the topic's).
    ///
    /// ```
    /// # use market_feed::hub::{Hub, SnapshotMeta, Source};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// let hub = Hub::default();
    /// let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25000.0, 5);
    /// assert!(hub.restore(Topic::Indices, 40, vec![q.clone()], SnapshotMeta::default(), false));
    /// assert_eq!(hub.seq(Topic::Indices), 40);
    /// assert!(!hub.restore(Topic::Indices, 39, vec![q], SnapshotMeta::default(), false));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore(
        &self,
        topic: Topic,
        seq: u64,
        quotes: Vec<Quote>,
        meta: SnapshotMeta,
        live: bool,
    ) -> bool {
        let shared = self.shared();
        {
            let _one_publisher = lock(&shared.publishing[topic.index()]);
            let mut st = write(shared.topic(topic));
            if seq < st.seq {
                return false;
            }
            st.apply(&quotes);
            if seq > st.seq {
                // Batches in between were never seen here: resuming falls back to a snapshot.
                lock(&shared.history[topic.index()]).clear();
            }
            st.seq = seq;
            st.meta = meta;
            st.live = live;
        }
        shared.send(Event::Resnapshot(topic));
        true
    }

    /// The last `feed_status` frame of the topic, if its status ever changed.
    ///
    /// ```
    /// # use market_feed::hub::{FeedStatus, Hub};
    /// # use market_feed::model::Topic;
    /// let hub = Hub::default();
    /// assert!(hub.feed_status_frame(Topic::Prices).is_none());
    /// hub.publish_feed_status(FeedStatus::ok(Topic::Prices))?;
    /// assert!(hub.feed_status_frame(Topic::Prices).is_some());
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn feed_status_frame(&self, topic: Topic) -> Option<Frame> {
        read(self.shared().topic(topic)).feed.frame.clone()
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::{hub::FrameKind, model::InstrumentKey};

    fn nifty(ltp: f64) -> Quote {
        Quote::new(
            InstrumentKey::new("NSE_INDEX|Nifty 50").expect("key"),
            "NIFTY 50",
            ltp,
            1,
        )
    }

    #[tokio::test]
    async fn a_follower_sends_the_leaders_bytes_with_the_leaders_seq() {
        let (leader, follower) = (Hub::default(), Hub::default());
        let mut tap = leader.tap();
        let mut sub = follower.subscribe(&[Topic::Indices], None);
        assert_eq!(
            sub.next().await.map(|f| f.kind()),
            Some(FrameKind::Snapshot)
        );
        leader
            .publish(Topic::Indices, vec![nifty(1.0)])
            .expect("publish");
        leader
            .publish(Topic::Indices, vec![nifty(2.0)])
            .expect("publish");
        for _ in 0..2 {
            let Some(Tapped::Batch { topic, frame, .. }) = tap.next().await else {
                panic!("a batch was expected");
            };
            assert!(
                follower
                    .publish_relayed(topic, frame.bytes().clone())
                    .expect("relay")
            );
            let got = sub.next().await.expect("frame");
            assert_eq!((got.bytes(), got.seq()), (frame.bytes(), frame.seq()));
        }
        assert_eq!(follower.quote("NIFTY 50").map(|q| q.ltp), Some(2.0));
    }

    #[tokio::test]
    async fn a_late_frame_of_an_old_leader_is_refused() {
        let hub = Hub::default();
        hub.restore(
            Topic::Indices,
            10,
            vec![nifty(5.0)],
            SnapshotMeta::default(),
            true,
        );
        let stale = Frame::batch(Topic::Indices, 10, &[nifty(9.0)]).expect("frame");
        assert!(
            !hub.publish_relayed(Topic::Indices, stale.into_bytes())
                .expect("relay")
        );
        assert_eq!(hub.quote("NIFTY 50").map(|q| q.ltp), Some(5.0));
        assert!(
            hub.publish_relayed(
                Topic::Indices,
                Frame::batch(Topic::Indices, 11, &[nifty(6.0)])
                    .expect("frame")
                    .into_bytes()
            )
            .expect("relay")
        );
    }

    #[tokio::test]
    async fn restoring_newer_values_resnapshots_subscribers() {
        let hub = Hub::default();
        let mut sub = hub.subscribe(&[Topic::Indices], None);
        assert_eq!(sub.next().await.and_then(|f| f.seq()), Some(0));
        hub.restore(
            Topic::Indices,
            7,
            vec![nifty(3.0)],
            SnapshotMeta::default(),
            true,
        );
        let fresh = sub.next().await.expect("snapshot");
        assert_eq!((fresh.kind(), fresh.seq()), (FrameKind::Snapshot, Some(7)));
    }

    #[test]
    fn a_relayed_frame_that_is_not_a_batch_is_an_error() {
        let hub = Hub::default();
        assert!(
            hub.publish_relayed(Topic::Prices, Bytes::from_static(b"nope"))
                .is_err()
        );
        assert_eq!(hub.seq(Topic::Prices), 0);
    }
}
