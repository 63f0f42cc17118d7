//! [`Hub`]: the publishing side and the read accessors. Holds the latest values, builds every
//! published frame once and puts it in the broadcast ring.

use std::{
    fmt,
    sync::{Arc, atomic::Ordering},
};

use serde::Serialize;
use time::Date;
use tokio::sync::broadcast;

use super::{
    HubConfig, HubError, Quotes,
    event::{Batch, Event},
    filter::{Filter, FilterResolution},
    frame::{Frame, encode_feed_status, encode_market_status},
    lock, read,
    shared::Shared,
    state::TopicView,
    stats::HubStats,
    status::{FeedStatus, SnapshotMeta, Source},
    subscription::Subscription,
    write,
};
use crate::model::{InstrumentKey, Quote, Topic};

/// The broadcast hub: one per process. Keeps the latest quote of every instrument per topic
/// and fans published batches and status changes out to [`Subscription`]s.
///
/// See the [module docs](crate::hub) for the design. `Hub` is cheap to clone (an `Arc`
/// inside); every method is synchronous, short and never blocks on a subscriber.
///
/// ```
/// use futures::StreamExt;
/// use market_feed::hub::{FrameKind, Hub, HubConfig};
/// use market_feed::model::{InstrumentKey, Quote, Topic};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let hub = Hub::new(HubConfig::default());
/// let nifty = InstrumentKey::new("NSE_INDEX|Nifty 50")?;
/// let mut sub = hub.subscribe(&[Topic::Indices], None);
/// assert_eq!(sub.next().await.map(|f| f.kind()), Some(FrameKind::Snapshot));
///
/// hub.publish(Topic::Indices, vec![Quote::new(nifty, "NIFTY 50", 25000.0, 1)])?;
/// let update = sub.next().await.unwrap();
/// assert_eq!((update.kind(), update.seq()), (FrameKind::IndicesUpdate, Some(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(HubConfig::default())
    }
}

/// The hub inside an `Arc` (a handle on the same hub, not a copy): lets APIs that take a `Hub`
/// accept the `Arc<Hub>` that earlier versions asked for.
///
/// ```
/// use std::sync::Arc;
/// use market_feed::hub::Hub;
/// let shared = Arc::new(Hub::default());
/// let hub = Hub::from(shared.clone());
/// hub.set_live(true);
/// assert!(shared.view(market_feed::model::Topic::Indices).live);
/// ```
impl From<Arc<Hub>> for Hub {
    fn from(hub: Arc<Hub>) -> Self {
        Hub::clone(&hub)
    }
}

impl Hub {
    pub(super) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// A hub with no instruments, `seq` 0 on both topics, not live, feeds `ok`.
    ///
    /// ```
    /// # use market_feed::hub::{Hub, HubConfig};
    /// let hub = Hub::new(HubConfig::with_buffer(64));
    /// assert_eq!(hub.seq(market_feed::model::Topic::Prices), 0);
    /// ```
    pub fn new(config: HubConfig) -> Self {
        let config = config.normalized();
        let (tx, _) = broadcast::channel(config.buffer);
        Self {
            shared: Arc::new(Shared::new(config, tx)),
        }
    }

    /// The configuration in use (with `buffer` clamped to its valid range).
    ///
    /// ```
    /// # use market_feed::hub::{Hub, HubConfig};
    /// assert_eq!(Hub::default().config().buffer, HubConfig::default().buffer);
    /// ```
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// Sets a topic's instrument directory: the universe order of snapshots and the names
    /// filters are resolved against. Latest values of instruments still listed are kept.
    /// Quotes of unlisted instruments may still be published: they are appended.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::{InstrumentKey, Topic};
    /// let hub = Hub::default();
    /// hub.set_instruments(Topic::Prices, [(InstrumentKey::new("NSE_EQ|INE002A01018")?, "RELIANCE".into())]);
    /// assert_eq!(hub.instruments(Topic::Prices).len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_instruments(
        &self,
        topic: Topic,
        instruments: impl IntoIterator<Item = (InstrumentKey, Arc<str>)>,
    ) {
        let list = instruments.into_iter().collect();
        write(self.shared.topic(topic)).set_instruments(list);
    }

    /// Replaces a topic's instrument directory with a new universe's, as
    /// [`Hub::set_instruments`] does (values of instruments no longer listed are dropped), and
    /// sends every subscriber of the topic a fresh `snapshot` of the new list. A `prices`
    /// filter naming a delisted instrument then simply matches nothing for it.
    ///
    /// ```
    /// # use futures::StreamExt;
    /// # use market_feed::hub::{FrameKind, Hub};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let hub = Hub::default();
    /// let (a, b) = (InstrumentKey::new("NSE_EQ|A1")?, InstrumentKey::new("NSE_EQ|B1")?);
    /// hub.set_instruments(Topic::Prices, [(a.clone(), "A".into())]);
    /// hub.publish(Topic::Prices, vec![Quote::new(a, "A", 1.0, 1)])?;
    /// let mut sub = hub.subscribe(&[Topic::Prices], None);
    /// assert_eq!(sub.next().await.unwrap().kind(), FrameKind::Snapshot);
    /// hub.replace_instruments(Topic::Prices, [(b, "B".into())]);
    /// let fresh = sub.next().await.unwrap();
    /// assert_eq!(fresh.kind(), FrameKind::Snapshot);
    /// assert!(!String::from_utf8_lossy(fresh.bytes()).contains("\"A\""));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replace_instruments(
        &self,
        topic: Topic,
        instruments: impl IntoIterator<Item = (InstrumentKey, Arc<str>)>,
    ) {
        self.set_instruments(topic, instruments);
        // Batches of the old list no longer describe the topic: resuming falls back to a
        // snapshot.
        lock(&self.shared.history[topic.index()]).clear();
        self.shared.send(Event::Resnapshot(topic));
    }

    /// A topic's instrument directory, in universe order.
    ///
    /// See [`Hub::set_instruments`] for an example.
    pub fn instruments(&self, topic: Topic) -> Vec<(InstrumentKey, Arc<str>)> {
        read(self.shared.topic(topic)).instruments()
    }

    /// Loads values without publishing them: no `seq` change and no frame to subscribers, who
    /// see them in their next snapshot. For the closing prices or checkpoint loaded at
    /// start-up. `meta` replaces the topic's snapshot metadata; when `meta.as_of` is `None`
    /// the newest quote time is used.
    ///
    /// ```
    /// # use market_feed::hub::{Hub, SnapshotMeta, Source};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// use time::macros::date;
    /// let hub = Hub::default();
    /// let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25000.0, 5);
    /// hub.load(Topic::Indices, vec![q], SnapshotMeta { source: Source::Close, trading_day: Some(date!(2026 - 01 - 28)), as_of: None });
    /// assert_eq!((hub.seq(Topic::Indices), hub.meta(Topic::Indices).as_of), (0, Some(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(&self, topic: Topic, quotes: Vec<Quote>, mut meta: SnapshotMeta) {
        if meta.as_of.is_none() {
            meta.as_of = quotes.iter().map(|q| q.ts).max();
        }
        let mut st = write(self.shared.topic(topic));
        st.apply(&quotes);
        st.meta = meta;
    }

    /// Publishes a batch: stores the quotes as the latest values, increments the topic's
    /// `seq`, marks its source `live`, moves `as_of` to the newest quote time, and sends one
    /// `indices_update` / `prices_batch` frame, serialized once, to every subscriber of the
    /// topic. Never waits on a subscriber. Returns the batch's `seq`.
    ///
    /// # Errors
    /// [`HubError::Serialize`] if the batch cannot be serialized (nothing is changed then).
    ///
    /// ```
    /// # use market_feed::hub::{Hub, Source};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// let hub = Hub::default();
    /// let q = Quote::new(InstrumentKey::new("NSE_EQ|INE002A01018")?, "RELIANCE", 1391.2, 9);
    /// assert_eq!(hub.publish(Topic::Prices, vec![q])?, 1);
    /// assert_eq!(hub.meta(Topic::Prices).source, Source::Live);
    /// assert_eq!(hub.quote("RELIANCE").map(|q| q.ltp), Some(1391.2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish(&self, topic: Topic, quotes: Vec<Quote>) -> Result<u64, HubError> {
        let shared = &self.shared;
        let _one_publisher = lock(&shared.publishing[topic.index()]);
        let seq = read(shared.topic(topic)).seq + 1;
        let quotes: Quotes = quotes.into();
        let frame = Frame::encode_batch(topic, seq, quotes.clone())?;
        let newest = quotes.iter().map(|q| q.ts).max();
        {
            let mut st = write(shared.topic(topic));
            st.apply(&quotes);
            st.seq = seq;
            st.meta.source = Source::Live;
            st.meta.as_of = st.meta.as_of.max(newest);
        }
        shared.counters.published(frame.len());
        shared.send_batch(Batch::new(topic, seq, frame, quotes));
        Ok(seq)
    }

    /// Publishes a market-status change to every subscriber as
    /// `{"event":"market_status", ...fields of status}` (fields in `status`'s order). If the
    /// status has a boolean `live` field (docs/protocol.md §2 does), the hub's live flag follows it,
    /// as with [`Hub::set_live`].
    ///
    /// # Errors
    /// [`HubError::NotAnObject`] if `status` does not serialize to a JSON object,
    /// [`HubError::Serialize`] if it cannot be serialized.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// let hub = Hub::default();
    /// hub.publish_market_status(&serde_json::json!({"exchange": "NSE", "phase": "open", "live": true}))?;
    /// assert!(hub.view(market_feed::model::Topic::Indices).live);
    /// assert_eq!(hub.market_status().unwrap()["phase"], "open");
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn publish_market_status<T: Serialize + ?Sized>(&self, status: &T) -> Result<(), HubError> {
        let value = serde_json::to_value(status).map_err(HubError::Serialize)?;
        let frame = encode_market_status(status, value.clone())?;
        self.send_market_status(value, frame);
        Ok(())
    }

    /// Keeps a market status (its JSON fields and its frame) as the latest and sends the
    /// frame; the live flag follows the status's `live` field.
    pub(super) fn send_market_status(&self, value: serde_json::Value, frame: Frame) {
        if let Some(live) = value.get("live").and_then(serde_json::Value::as_bool) {
            self.set_live(live);
        }
        let version = {
            let mut m = write(&self.shared.market);
            m.version += 1;
            m.value = Some(value);
            m.frame = Some(frame.clone());
            m.version
        };
        self.shared.counters.published(frame.len());
        self.shared.send(Event::MarketStatus { version, frame });
    }

    /// Publishes a change in one topic's source health to that topic's subscribers, and
    /// remembers it: a client subscribing while the topic is not ok gets it right after the
    /// snapshot (docs/protocol.md §3). Call it when the status changes.
    ///
    /// # Errors
    /// [`HubError::Serialize`] if the status cannot be serialized.
    ///
    /// ```
    /// # use market_feed::hub::{FeedState, FeedStatus, Hub};
    /// # use market_feed::model::Topic;
    /// let hub = Hub::default();
    /// hub.publish_feed_status(FeedStatus::new(Topic::Prices, FeedState::Stale, "no data for 10 min"))?;
    /// assert_eq!(hub.feed_status(Topic::Prices).state, FeedState::Stale);
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn publish_feed_status(&self, status: FeedStatus) -> Result<(), HubError> {
        let frame = encode_feed_status(status.clone())?;
        self.send_feed_status(status, frame);
        Ok(())
    }

    /// Keeps a topic's feed status and its frame as the latest and sends the frame.
    pub(super) fn send_feed_status(&self, status: FeedStatus, frame: Frame) {
        let topic = status.topic;
        let state = status.state;
        let version = {
            let mut st = write(self.shared.topic(topic));
            st.feed.version += 1;
            st.feed.status = status;
            st.feed.frame = Some(frame.clone());
            st.feed.version
        };
        self.shared.counters.published(frame.len());
        self.shared.send(Event::FeedStatus {
            topic,
            version,
            state,
            frame,
        });
    }

    /// Sets whether the feed is live (`snapshot.live`), for both topics. Also done by
    /// [`Hub::publish_market_status`] from the status's `live` field.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// let hub = Hub::default();
    /// hub.set_live(true);
    /// assert!(hub.view(market_feed::model::Topic::Prices).live);
    /// ```
    pub fn set_live(&self, live: bool) {
        for t in Topic::ALL {
            let mut st = write(self.shared.topic(t));
            if st.live != live {
                st.live = live;
                st.version += 1;
            }
        }
    }

    /// Sets the trading day of both topics' values (`snapshot.trading_day`). The feed calls it
    /// when a session starts, before the session's first publish.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// use time::macros::date;
    /// let hub = Hub::default();
    /// hub.set_trading_day(date!(2026 - 01 - 29));
    /// assert_eq!(hub.meta(market_feed::model::Topic::Prices).trading_day, Some(date!(2026 - 01 - 29)));
    /// ```
    pub fn set_trading_day(&self, day: Date) {
        for t in Topic::ALL {
            let mut st = write(self.shared.topic(t));
            if st.meta.trading_day != Some(day) {
                st.meta.trading_day = Some(day);
                st.version += 1;
            }
        }
    }

    /// Resolves a client's `symbols` list (symbols or keys, docs/protocol.md §3) against the
    /// `prices` directory into an interned [`Filter`], listing the entries that are unknown.
    /// Symbols match exactly, then upper-cased; keys match exactly.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::{InstrumentKey, Topic};
    /// let hub = Hub::default();
    /// hub.set_instruments(Topic::Prices, [(InstrumentKey::new("NSE_EQ|INE467B01029")?, "TCS".into())]);
    /// let r = hub.resolve_filter(["tcs", "NSE_EQ|NOPE"]);
    /// assert_eq!((r.filter.len(), r.unknown.as_slice()), (1, ["NSE_EQ|NOPE".to_string()].as_slice()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve_filter<I, S>(&self, symbols: I) -> FilterResolution
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut keys = Vec::new();
        let mut unknown = Vec::new();
        {
            let st = read(self.shared.topic(Topic::Prices));
            for s in symbols {
                match st.lookup(s.as_ref()) {
                    Some(k) => keys.push(k.clone()),
                    None => unknown.push(s.as_ref().to_owned()),
                }
            }
        }
        let filter = lock(&self.shared.filters).intern(keys);
        FilterResolution { filter, unknown }
    }

    /// Subscribes to `topics`, narrowing `prices` by `filter`. The subscription's stream
    /// starts with one `snapshot` per topic (followed by the topic's `feed_status` if it is
    /// not ok), then carries every later batch, market-status and feed-status frame. With no
    /// topics it carries market-status frames only, until [`Subscription::subscribe`].
    ///
    /// See [`Hub`] and [`Subscription`] for examples.
    pub fn subscribe(&self, topics: &[Topic], filter: Option<Filter>) -> Subscription {
        Subscription::new(self.shared.clone(), topics, filter)
    }

    /// A `snapshot` frame of `topic` as it is now (narrowed by `filter` on `prices`).
    ///
    /// # Errors
    /// [`HubError::Serialize`] if the snapshot cannot be serialized.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// let f = Hub::default().snapshot_frame(market_feed::model::Topic::Indices, None)?;
    /// assert_eq!(f.seq(), Some(0));
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn snapshot_frame(&self, topic: Topic, filter: Option<&Filter>) -> Result<Frame, HubError> {
        self.shared.snapshot(topic, filter)
    }

    /// The latest quote of an instrument of either topic, by key or symbol.
    ///
    /// See [`Hub::publish`] for an example.
    pub fn quote(&self, key_or_symbol: &str) -> Option<Quote> {
        Topic::ALL.into_iter().find_map(|t| {
            let st = read(self.shared.topic(t));
            st.lookup(key_or_symbol).and_then(|k| st.quote(k)).cloned()
        })
    }

    /// The latest quote of an instrument of either topic, by key.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::InstrumentKey;
    /// assert!(Hub::default().quote_by_key(&InstrumentKey::new("NSE_EQ|X1")?).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn quote_by_key(&self, key: &InstrumentKey) -> Option<Quote> {
        Topic::ALL
            .into_iter()
            .find_map(|t| read(self.shared.topic(t)).quote(key).cloned())
    }

    /// A consistent copy of a topic's latest values and metadata.
    ///
    /// See [`TopicView`] for an example.
    pub fn view(&self, topic: Topic) -> TopicView {
        read(self.shared.topic(topic)).view()
    }

    /// This hub's epoch: a string that names its `seq` numbering (docs/protocol.md §7). It is
    /// the same for both topics, sent in `welcome` and every `snapshot`, and differs between
    /// two hubs (so between two runs of a server): a client resumes only within one epoch.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// let (a, b) = (Hub::default(), Hub::default());
    /// assert_eq!(a.epoch(), a.clone().epoch());
    /// assert_ne!(a.epoch(), b.epoch());
    /// ```
    pub fn epoch(&self) -> &str {
        &self.shared.epoch
    }

    /// The topic's `seq`: the number of batches published on it.
    ///
    /// See [`Hub::new`] for an example.
    pub fn seq(&self, topic: Topic) -> u64 {
        read(self.shared.topic(topic)).seq
    }

    /// The topic's snapshot metadata (source, trading day, `as_of`).
    ///
    /// See [`Hub::load`] for an example.
    pub fn meta(&self, topic: Topic) -> SnapshotMeta {
        read(self.shared.topic(topic)).meta
    }

    /// The topic's current feed status (`ok` until told otherwise).
    ///
    /// See [`Hub::publish_feed_status`] for an example.
    pub fn feed_status(&self, topic: Topic) -> FeedStatus {
        read(self.shared.topic(topic)).feed.status.clone()
    }

    /// The last market status published, as a JSON object.
    ///
    /// See [`Hub::publish_market_status`] for an example.
    pub fn market_status(&self) -> Option<serde_json::Value> {
        read(&self.shared.market).value.clone()
    }

    /// The last `market_status` frame published.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// let hub = Hub::default();
    /// hub.publish_market_status(&serde_json::json!({"phase": "closed"}))?;
    /// assert_eq!(&hub.market_status_frame().unwrap().bytes()[..], br#"{"event":"market_status","phase":"closed"}"#);
    /// # Ok::<(), market_feed::hub::HubError>(())
    /// ```
    pub fn market_status_frame(&self) -> Option<Frame> {
        self.shared.market().1
    }

    /// The hub's counters.
    ///
    /// See [`HubStats`] for an example.
    pub fn stats(&self) -> HubStats {
        self.shared.counters.snapshot()
    }

    /// Closes the hub: every subscription ends (yields `None`) after the frames already
    /// published, and later subscriptions end at once. For a graceful shutdown.
    ///
    /// ```
    /// # use futures::StreamExt;
    /// # use market_feed::hub::Hub;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let hub = Hub::default();
    /// let mut sub = hub.subscribe(&[], None);
    /// hub.close();
    /// assert!(sub.next().await.is_none());
    /// # });
    /// ```
    pub fn close(&self) {
        if !self.shared.closed.swap(true, Ordering::SeqCst) {
            self.shared.send(Event::Closed);
        }
    }
}
