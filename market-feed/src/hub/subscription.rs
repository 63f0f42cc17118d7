//! [`Subscription`]: one subscriber's view of the hub, a `Stream` of [`Frame`]s.
//!
//! Idle, a subscription is a broadcast receiver (a position in the shared ring) and a few
//! words of state: no queue of its own. Its backlog is the part of the ring it has not read
//! yet, bounded by [`HubConfig::buffer`](super::HubConfig::buffer). Snapshots and status
//! catch-ups are queued as *intentions* and built only when the stream is polled.
//!
//! The ring is read through `tokio_stream`'s [`BroadcastStream`], which is the receive loop
//! this module needs (one reusable boxed `recv` future, `Lagged(n)` surfaced as an item). On
//! `Lagged` the subscription replaces the stream with a new one at the ring's tail and queues
//! the resynchronizing snapshots; the per-filter frame sharing happens in
//! `Subscription::accept`, on the events the stream yields.
//!
//! **Small frames first.** A large `prices_batch` taken from the ring is *held* rather than
//! handed out at once: the subscription first drains whatever else the ring already has ready
//! (an `indices_update`, a status change) and hands those out, then yields its task once (so
//! that every other subscriber woken by the same publishes gets its small frames out too), and
//! only then hands out the held batch. So an index update published at the same instant as a
//! 400 KB prices batch, in either order, never waits behind that batch on any connection
//! whose write of it has not started. At most one frame is held; per topic, `seq` order is
//! unchanged (only frames of different topics or status frames overtake the held batch).
//!
//! The one yield puts the task behind the tasks in its worker's local run queue, which tokio
//! caps at 256; with thousands of subscribers most of them wait in the global queue and still
//! come after it. Across all subscribers the order is kept by the publisher instead: every
//! subscription counts itself off each batch it reads (or skips, or drops unread), and
//! [`Hub::fanned_out`](super::Hub::fanned_out) waits for that count to reach zero.

use std::{
    collections::VecDeque,
    fmt,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
};

use futures::Stream;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use super::{
    event::Event,
    filter::Filter,
    frame::{Frame, FrameKind},
    lock,
    metered::{self, Metered},
    pending::{Pending, ResumeFrom},
    read,
    shared::Shared,
    stats::Counters,
    status::FeedState,
};
use crate::model::Topic;

/// A subscriber's stream of frames: `snapshot` per subscribed topic, then `indices_update` /
/// `prices_batch` frames in `seq` order, `market_status` and `feed_status` frames.
///
/// Built by [`Hub::subscribe`](super::Hub::subscribe). The server's connection task owns one
/// per client and calls [`subscribe`](Subscription::subscribe) /
/// [`unsubscribe`](Subscription::unsubscribe) on client ops; a change applies from the next
/// frame polled. The stream ends only after [`Hub::close`](super::Hub::close).
///
/// **Ordering.** Per topic, batch frames arrive in increasing `seq`, each after the snapshot
/// it follows. For a whole-topic subscriber `seq` is continuous (+1) except right before a
/// `snapshot`, which announces a resynchronization. A filtered `prices` subscriber skips the
/// batches that contain none of its instruments, so its `seq` may jump without a snapshot.
///
/// **Lagging.** If the subscriber falls more than the hub's buffer behind, its backlog is
/// discarded and the next frames are a fresh `snapshot` of each subscribed topic (each followed
/// by the topic's `feed_status` if it changed meanwhile) and the current `market_status` if
/// it changed; then current data.
///
/// ```
/// use futures::StreamExt;
/// use market_feed::hub::{FrameKind, Hub};
/// use market_feed::model::{InstrumentKey, Quote, Topic};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let hub = Hub::default();
/// let rel = InstrumentKey::new("NSE_EQ|INE002A01018")?;
/// let tcs = InstrumentKey::new("NSE_EQ|INE467B01029")?;
/// hub.set_instruments(Topic::Prices, [(rel.clone(), "RELIANCE".into()), (tcs.clone(), "TCS".into())]);
///
/// let mut sub = hub.subscribe(&[Topic::Prices], Some(hub.resolve_filter(["TCS"]).filter));
/// assert_eq!(sub.next().await.unwrap().kind(), FrameKind::Snapshot);
/// hub.publish(Topic::Prices, vec![Quote::new(rel, "RELIANCE", 1391.2, 1), Quote::new(tcs, "TCS", 3210.0, 1)])?;
/// let batch = sub.next().await.unwrap();
/// assert!(!String::from_utf8_lossy(batch.bytes()).contains("RELIANCE"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Subscription {
    shared: Arc<Shared>,
    /// This subscriber's position in the ring.
    ring: BroadcastStream<Arc<Event>>,
    subscribed: [bool; 2],
    filter: Option<Filter>,
    /// Per topic: batches up to this `seq` are covered by a snapshot already sent.
    delivered_seq: [u64; 2],
    /// Per topic: the feed-status version and state the client knows (0: the initial `ok`).
    feed_known: [(u64, FeedState); 2],
    /// The market-status version the client knows.
    market_known: u64,
    pending: VecDeque<Pending>,
    /// A large frame taken from the ring and held back while smaller ready frames go first.
    held: Option<Frame>,
    /// Whether the task already yielded once since `held` was taken.
    yielded: bool,
    /// The `max_rate_ms` limit and the batches waiting for it.
    metered: Metered,
    ended: bool,
}

/// The smallest `prices_batch` that is held back behind smaller frames (see the module docs).
pub(crate) const LARGE_FRAME: usize = 4096;

/// Whether `frame` is a large frame that small frames may overtake.
fn is_large(frame: &Frame) -> bool {
    frame.kind() == FrameKind::PricesBatch && frame.len() >= LARGE_FRAME
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topics", &self.topics())
            .field("filter", &self.filter)
            .field("delivered_seq", &self.delivered_seq)
            .field("pending", &self.pending)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    pub(crate) fn new(shared: Arc<Shared>, topics: &[Topic], filter: Option<Filter>) -> Self {
        // The receiver exists before any snapshot is read: every batch published after a
        // snapshot is therefore in the ring for this subscriber.
        let rx = shared.tx.subscribe();
        let market_known = shared.market().0;
        Counters::add(&shared.counters.subscribers, 1);
        let ended = shared.closed.load(Ordering::SeqCst);
        let mut sub = Self {
            shared,
            ring: BroadcastStream::new(rx),
            subscribed: [false; 2],
            filter: None,
            delivered_seq: [0; 2],
            feed_known: [(0, FeedState::Ok); 2],
            market_known,
            pending: VecDeque::new(),
            held: None,
            yielded: false,
            metered: Metered::default(),
            ended,
        };
        sub.subscribe(topics, filter);
        sub
    }

    /// Subscribes to more topics, or again to subscribed ones: each gets a new `snapshot`
    /// (docs/protocol.md §3). When `topics` contains `prices`, `filter` replaces the earlier symbol
    /// filter (`None`: the whole topic); it applies from the next frame.
    ///
    /// ```
    /// # use futures::StreamExt;
    /// # use market_feed::hub::{FrameKind, Hub};
    /// # use market_feed::model::Topic;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let hub = Hub::default();
    /// let mut sub = hub.subscribe(&[], None);
    /// sub.subscribe(&[Topic::Indices, Topic::Prices], None);
    /// let a = sub.next().await.unwrap();
    /// let b = sub.next().await.unwrap();
    /// assert_eq!((a.topic(), b.topic()), (Some(Topic::Indices), Some(Topic::Prices)));
    /// assert_eq!(b.kind(), FrameKind::Snapshot);
    /// # });
    /// ```
    pub fn subscribe(&mut self, topics: &[Topic], filter: Option<Filter>) {
        self.subscribe_resuming(topics, filter, &[]);
    }

    /// Like [`Subscription::subscribe`], but a topic named in `resume` with this hub's epoch
    /// gets, instead of a snapshot, the batches published after the client's `seq`, in order,
    /// with their original `seq` and narrowed by `filter` as live batches are, when the hub
    /// still holds every one of them (nothing at all when the client is up to date);
    /// otherwise a snapshot as usual (docs/protocol.md §7). The replay follows the current
    /// filter: a client that changed its symbol list should not resume.
    ///
    /// ```
    /// # use futures::StreamExt;
    /// # use market_feed::hub::{FrameKind, Hub, ResumeFrom};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let hub = Hub::default();
    /// let key = InstrumentKey::new("NSE_INDEX|Nifty 50")?;
    /// for ltp in [1.0, 2.0, 3.0] {
    ///     hub.publish(Topic::Indices, vec![Quote::new(key.clone(), "NIFTY 50", ltp, 1)])?;
    /// }
    /// // A client that saw seq 1 before it dropped gets batches 2 and 3, not a snapshot.
    /// let mut sub = hub.subscribe(&[], None);
    /// sub.subscribe_resuming(&[Topic::Indices], None, &[ResumeFrom::new(Topic::Indices, hub.epoch(), 1)]);
    /// let (a, b) = (sub.next().await.unwrap(), sub.next().await.unwrap());
    /// assert_eq!((a.kind(), a.seq(), b.seq()), (FrameKind::IndicesUpdate, Some(2), Some(3)));
    /// // Another epoch (a restarted server): a snapshot.
    /// sub.subscribe_resuming(&[Topic::Indices], None, &[ResumeFrom::new(Topic::Indices, "old", 1)]);
    /// assert_eq!(sub.next().await.unwrap().kind(), FrameKind::Snapshot);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe_resuming(
        &mut self,
        topics: &[Topic],
        filter: Option<Filter>,
        resume: &[ResumeFrom],
    ) {
        for &topic in topics {
            if topic == Topic::Prices {
                self.filter = filter.clone();
            }
            self.subscribed[topic.index()] = true;
            self.pending.retain(|p| p.topic() != Some(topic));
            let from = resume
                .iter()
                .find(|r| r.topic == topic && *r.epoch == *self.shared.epoch);
            self.pending.push_back(match from {
                Some(r) => Pending::Resume { topic, seq: r.seq },
                None => Pending::Snapshot {
                    topic,
                    laggard: false,
                },
            });
        }
    }

    /// Limits `topics` to one update per `period` (`None`: every batch as published). Batches
    /// that arrive sooner are merged into the next update, which carries the latest value of
    /// every instrument updated since the previous one and the `seq` of the newest batch
    /// merged in (docs/protocol.md §8). Snapshots and resume replays are not limited.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use futures::StreamExt;
    /// # use market_feed::hub::{FrameKind, Hub};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?.block_on(async {
    /// let hub = Hub::default();
    /// let key = InstrumentKey::new("NSE_INDEX|Nifty 50")?;
    /// let mut sub = hub.subscribe(&[Topic::Indices], None);
    /// sub.set_max_rate(&[Topic::Indices], Some(Duration::from_secs(2)));
    /// assert_eq!(sub.next().await.unwrap().kind(), FrameKind::Snapshot);
    /// for ltp in [1.0, 2.0, 3.0] {
    ///     hub.publish(Topic::Indices, vec![Quote::new(key.clone(), "NIFTY 50", ltp, 1)])?;
    /// }
    /// assert_eq!(sub.next().await.unwrap().seq(), Some(1)); // the first goes at once
    /// let merged = sub.next().await.unwrap(); // 2 s later: 2 and 3 merged, latest value
    /// assert_eq!(merged.seq(), Some(3));
    /// assert!(String::from_utf8_lossy(merged.bytes()).contains("\"ltp\":3.0"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_max_rate(&mut self, topics: &[Topic], period: Option<std::time::Duration>) {
        for &topic in topics {
            self.metered.set(topic, period);
        }
    }

    /// Stops the topics' frames from the next frame on; unsubscribing `prices` drops its
    /// filter.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::Topic;
    /// let hub = Hub::default();
    /// let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
    /// sub.unsubscribe(&[Topic::Prices]);
    /// assert_eq!(sub.topics(), vec![Topic::Indices]);
    /// ```
    pub fn unsubscribe(&mut self, topics: &[Topic]) {
        for &topic in topics {
            self.subscribed[topic.index()] = false;
            if topic == Topic::Prices {
                self.filter = None;
            }
            if self.held.as_ref().is_some_and(|f| f.topic() == Some(topic)) {
                self.held = None;
            }
            self.metered.set(topic, None);
            self.pending
                .retain(|p| !matches!(p, Pending::Snapshot { topic: t, .. } | Pending::FeedStatus(t) if *t == topic));
        }
    }

    /// The subscribed topics, in wire order.
    ///
    /// See [`Subscription::unsubscribe`] for an example.
    pub fn topics(&self) -> Vec<Topic> {
        Topic::ALL
            .into_iter()
            .filter(|t| self.subscribed[t.index()])
            .collect()
    }

    /// The `prices` filter, if any.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::Topic;
    /// let hub = Hub::default();
    /// let f = hub.resolve_filter(["X"]).filter;
    /// let sub = hub.subscribe(&[Topic::Prices], Some(f.clone()));
    /// assert_eq!(sub.prices_filter(), Some(&f));
    /// ```
    pub fn prices_filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Builds the frame a pending item stands for, if the client still needs it.
    fn build(&mut self, pending: Pending) -> Option<Frame> {
        match pending {
            Pending::Snapshot { topic, laggard } => {
                let filter = self.filter.as_ref().filter(|_| topic == Topic::Prices);
                match self.shared.snapshot(topic, filter) {
                    Ok(frame) => {
                        let i = topic.index();
                        self.delivered_seq[i] = frame.seq().unwrap_or(self.delivered_seq[i]);
                        self.metered.reset(topic);
                        let c = &self.shared.counters;
                        Counters::add(&c.snapshots_sent, 1);
                        if laggard {
                            Counters::add(&c.laggard_snapshots, 1);
                        }
                        self.pending.push_front(Pending::FeedStatus(topic));
                        Some(frame)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, %topic, "cannot build a snapshot frame");
                        None
                    }
                }
            }
            Pending::Resume { topic, seq } => {
                let replay = lock(&self.shared.history[topic.index()]).after(seq);
                let Some((events, last)) = replay else {
                    Counters::add(&self.shared.counters.resume_fallbacks, 1);
                    return self.build(Pending::Snapshot {
                        topic,
                        laggard: false,
                    });
                };
                Counters::add(&self.shared.counters.resumes, 1);
                // Ring events up to `last` are covered by the replay (or were before `seq`).
                self.delivered_seq[topic.index()] = last;
                self.metered.reset(topic);
                self.pending.push_front(Pending::FeedStatus(topic));
                for event in events.into_iter().rev() {
                    self.pending.push_front(Pending::Replay { topic, event });
                }
                None
            }
            Pending::Replay { topic, event } => {
                let Event::Batch(batch) = &*event else {
                    return None;
                };
                if !self.subscribed[topic.index()] {
                    return None;
                }
                let frame = match (&self.filter, topic) {
                    (Some(filter), Topic::Prices) => {
                        batch.for_filter(filter, &self.shared.counters)
                    }
                    _ => Some(batch.frame.clone()),
                };
                if frame.is_some() {
                    Counters::add(&self.shared.counters.batches_replayed, 1);
                }
                frame
            }
            Pending::FeedStatus(topic) => {
                let i = topic.index();
                let (version, state, frame) = {
                    let st = read(self.shared.topic(topic));
                    (st.feed.version, st.feed.status.state, st.feed.frame.clone())
                };
                let (known_version, known_state) = self.feed_known[i];
                self.feed_known[i] = (version, state);
                // Tell the client when the topic is not ok, or when it recovered from a state
                // the client was told about.
                let news = version != known_version && !(state.is_ok() && known_state.is_ok());
                frame.filter(|_| news)
            }
            Pending::MarketStatus => {
                let (version, frame) = self.shared.market();
                let news = version != self.market_known;
                self.market_known = version;
                frame.filter(|_| news)
            }
        }
    }

    /// The frame an event from the ring gives this subscriber, if any.
    fn accept(&mut self, shared_event: &Arc<Event>) -> Option<Frame> {
        match &**shared_event {
            Event::Batch(batch) => {
                let i = batch.topic.index();
                if !self.subscribed[i] || batch.seq <= self.delivered_seq[i] {
                    return None;
                }
                self.delivered_seq[i] = batch.seq;
                let now = tokio::time::Instant::now();
                if !self.metered.admit(batch.topic, shared_event, now) {
                    return None;
                }
                match (&self.filter, batch.topic) {
                    (Some(filter), Topic::Prices) => {
                        batch.for_filter(filter, &self.shared.counters)
                    }
                    _ => Some(batch.frame.clone()),
                }
            }
            Event::MarketStatus { version, frame } => {
                if *version <= self.market_known {
                    return None;
                }
                self.market_known = *version;
                Some(frame.clone())
            }
            Event::FeedStatus {
                topic,
                version,
                state,
                frame,
            } => {
                let i = topic.index();
                if !self.subscribed[i] || *version <= self.feed_known[i].0 {
                    return None;
                }
                self.feed_known[i] = (*version, *state);
                Some(frame.clone())
            }
            Event::Resnapshot(topic) => {
                if self.subscribed[topic.index()] {
                    let topic = *topic;
                    self.pending.retain(|p| {
                        !matches!(p, Pending::Snapshot { topic: t, .. } | Pending::Resume { topic: t, .. } | Pending::Replay { topic: t, .. } if *t == topic)
                    });
                    self.pending.push_back(Pending::Snapshot {
                        topic,
                        laggard: false,
                    });
                }
                None
            }
            Event::Closed => {
                self.ended = true;
                None
            }
        }
    }

    /// The subscriber fell `missed` frames behind: drop the backlog (a fresh receiver at the
    /// ring's tail) and queue one snapshot per subscribed topic plus a market-status catch-up.
    fn resync(&mut self, missed: u64) {
        let c = &self.shared.counters;
        Counters::add(&c.lagged, 1);
        Counters::add(&c.frames_discarded, missed + u64::from(self.held.is_some()));
        // A held batch is older than the snapshot that replaces the backlog.
        self.held = None;
        for topic in Topic::ALL {
            self.metered.reset(topic);
        }
        count_off(&mut self.ring);
        self.ring = BroadcastStream::new(self.shared.tx.subscribe());
        if self.shared.closed.load(Ordering::SeqCst) {
            self.ended = true;
            return;
        }
        self.pending.clear();
        for topic in self.topics() {
            self.pending.push_back(Pending::Snapshot {
                topic,
                laggard: true,
            });
        }
        self.pending.push_back(Pending::MarketStatus);
    }
}

impl Stream for Subscription {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return Poll::Ready(this.held.take());
            }
            if !this.pending.is_empty() {
                // A queued snapshot must not overtake an older batch of its topic.
                if let Some(frame) = this.held.take() {
                    return Poll::Ready(Some(frame));
                }
                if let Some(pending) = this.pending.pop_front() {
                    if let Some(frame) = this.build(pending) {
                        return Poll::Ready(Some(frame));
                    }
                }
                continue;
            }
            if let Some((topic, events)) = this.metered.poll_due(cx) {
                let filter = this.filter.as_ref().filter(|_| topic == Topic::Prices);
                if let Some(frame) = metered::merge(topic, &events, filter) {
                    return Poll::Ready(Some(frame));
                }
                continue;
            }
            match Pin::new(&mut this.ring).poll_next(cx) {
                Poll::Pending => {
                    let Some(frame) = this.held.take() else {
                        return Poll::Pending;
                    };
                    if !this.yielded {
                        // Yield once before the large frame: other subscribers woken by the
                        // same publishes hand out their small frames first, and a small frame
                        // published right after this one still overtakes it.
                        this.yielded = true;
                        this.held = Some(frame);
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    return Poll::Ready(Some(frame));
                }
                Poll::Ready(Some(Ok(event))) => {
                    event.read_one();
                    let Some(frame) = this.accept(&event) else {
                        continue;
                    };
                    if !is_large(&frame) {
                        return Poll::Ready(Some(frame));
                    }
                    this.yielded = false;
                    if let Some(older) = this.held.replace(frame) {
                        return Poll::Ready(Some(older));
                    }
                }
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(missed)))) => {
                    this.resync(missed);
                }
                Poll::Ready(None) => {
                    this.ended = true;
                }
            }
        }
    }
}

/// Counts a ring position being given up off the events it will never read, so that
/// [`Hub::fanned_out`](super::Hub::fanned_out) does not wait for it.
fn count_off(ring: &mut BroadcastStream<Arc<Event>>) {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    while let Poll::Ready(Some(item)) = Pin::new(&mut *ring).poll_next(&mut cx) {
        if let Ok(event) = item {
            event.read_one();
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        count_off(&mut self.ring);
        self.shared
            .counters
            .subscribers
            .fetch_sub(1, Ordering::Relaxed);
    }
}
