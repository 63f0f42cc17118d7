//! [`Shared`]: the state a [`Hub`](super::Hub) and its subscriptions share (the latest
//! values, the broadcast ring's sender, the snapshot and market-status caches, the counters).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock, Weak, atomic::AtomicBool},
};

use tokio::sync::broadcast;

use super::{
    HubConfig, HubError,
    event::{Batch, Event},
    filter::{Filter, Interner},
    frame::{Frame, encode_snapshot},
    history::{self, History},
    lock, read,
    state::TopicState,
    stats::Counters,
    unread::Unread,
};
use crate::model::Topic;

/// The most filtered snapshots one topic caches per version (whole-topic snapshots are always
/// cached): bounds memory when many distinct filters subscribe at once.
const MAX_SNAPSHOTS_CACHED: usize = 64;

/// The latest market status, with its frame and a version that grows with every change.
#[derive(Default)]
pub(super) struct MarketEntry {
    pub(super) version: u64,
    pub(super) value: Option<serde_json::Value>,
    pub(super) frame: Option<Frame>,
}

/// Snapshot frames of one topic at one state version, keyed by filter id (0: whole topic).
#[derive(Default)]
struct SnapshotCache {
    version: u64,
    frames: HashMap<u64, Frame>,
}

/// Everything a [`Hub`] and its subscriptions share.
pub(crate) struct Shared {
    pub(crate) config: HubConfig,
    pub(crate) tx: broadcast::Sender<Arc<Event>>,
    /// The relays' own ring ([`Hub::tap`](super::Hub::tap)), fed the same events just before
    /// the subscribers' ring: a relay's task is woken ahead of thousands of connection tasks,
    /// so a follower's clients do not wait for the leader's fan-out.
    pub(crate) tap_tx: broadcast::Sender<Arc<Event>>,
    pub(crate) topics: [RwLock<TopicState>; 2],
    /// Serializes publishers of one topic, so `seq` and ring order agree; never held across
    /// an `.await` (publishing is synchronous).
    pub(super) publishing: [Mutex<()>; 2],
    snapshots: [Mutex<SnapshotCache>; 2],
    pub(super) market: RwLock<MarketEntry>,
    pub(super) filters: Mutex<Interner>,
    pub(crate) counters: Counters,
    pub(crate) closed: AtomicBool,
    /// The last batches per topic, for resume.
    pub(crate) history: [Mutex<History>; 2],
    /// This hub's incarnation: `seq` numbering is only comparable within one epoch.
    pub(crate) epoch: Arc<str>,
    /// The latest batch event sent per topic, to follow its fan-out
    /// ([`Hub::fanned_out`](super::Hub::fanned_out)); weak, so it pins no memory.
    pub(crate) latest: [Mutex<Weak<Event>>; 2],
}

/// A new epoch: random, so two incarnations of a server never share one.
fn new_epoch() -> Arc<str> {
    Arc::from(format!("{:016x}", rand::random::<u64>()))
}

impl Shared {
    /// Shared state for a hub with `config` (already normalized) and its ring's sender.
    pub(super) fn new(config: HubConfig, tx: broadcast::Sender<Arc<Event>>) -> Self {
        let (tap_tx, _) = broadcast::channel(config.buffer);
        Self {
            config,
            tx,
            tap_tx,
            topics: Topic::ALL.map(|t| RwLock::new(TopicState::new(t))),
            publishing: [Mutex::new(()), Mutex::new(())],
            snapshots: Default::default(),
            market: RwLock::default(),
            filters: Mutex::default(),
            counters: Counters::default(),
            closed: AtomicBool::new(false),
            history: Default::default(),
            epoch: new_epoch(),
            latest: Default::default(),
        }
    }

    pub(crate) fn topic(&self, topic: Topic) -> &RwLock<TopicState> {
        &self.topics[topic.index()]
    }

    /// The current market-status version and frame.
    pub(crate) fn market(&self) -> (u64, Option<Frame>) {
        let m = read(&self.market);
        (m.version, m.frame.clone())
    }

    /// A `snapshot` frame of `topic` as it is now, narrowed by `filter` (prices only). Cached
    /// per state version, so thousands of subscribers joining or resyncing at once serialize
    /// it once.
    pub(crate) fn snapshot(
        &self,
        topic: Topic,
        filter: Option<&Filter>,
    ) -> Result<Frame, HubError> {
        let filter = filter.filter(|_| topic == Topic::Prices);
        let cache_key = filter.map_or(0, Filter::id);
        let cache = &self.snapshots[topic.index()];
        let (version, seq, live, meta, quotes) = {
            let st = read(self.topic(topic));
            let c = lock(cache);
            if c.version == st.version {
                if let Some(frame) = c.frames.get(&cache_key) {
                    return Ok(frame.clone());
                }
            }
            drop(c);
            (st.version, st.seq, st.live, st.meta, st.quotes(filter))
        };
        // Serialized outside the state lock, so publishers are never held up by it.
        let frame = encode_snapshot(topic, seq, &self.epoch, live, &meta, quotes.into())?;
        let mut c = lock(cache);
        if version > c.version {
            c.version = version;
            c.frames.clear();
        }
        if version == c.version && (cache_key == 0 || c.frames.len() < MAX_SNAPSHOTS_CACHED) {
            c.frames.insert(cache_key, frame.clone());
        }
        Ok(frame)
    }

    /// Sends a published batch, after keeping it for resume. Kept before it is sent: a
    /// resuming subscriber (whose ring position predates its look at the history) finds each
    /// batch in one or the other, or both.
    pub(super) fn send_batch(&self, mut batch: Batch) {
        let (topic, seq, cost) = (batch.topic, batch.seq, history::cost(batch.frame.len()));
        // Publishers of one topic are serialized, so nothing else sends on it meanwhile; a
        // subscriber joining between the count and the send is harmless (see `Unread`).
        batch.unread = Unread::new(self.tx.receiver_count());
        let event = Arc::new(Event::Batch(batch));
        *lock(&self.latest[topic.index()]) = Arc::downgrade(&event);
        let config = &self.config;
        lock(&self.history[topic.index()]).push(
            seq,
            event.clone(),
            cost,
            config.resume_window,
            config.resume_bytes,
        );
        // Sent after the state update: a subscriber whose snapshot shows `seq` skips this
        // event, one whose snapshot predates it receives it (see `Subscription`).
        self.send_shared(event);
    }

    pub(super) fn send(&self, event: Event) {
        self.send_shared(Arc::new(event));
    }

    pub(super) fn send_shared(&self, event: Arc<Event>) {
        // `send` fails only when nobody listens; the event is then simply not needed. Relays
        // first (see `tap_tx`).
        let _ = self.tap_tx.send(event.clone());
        let _ = self.tx.send(event);
    }
}
