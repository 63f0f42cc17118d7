//! [`Event`]: what travels through the hub's broadcast ring, one `Arc<Event>` per publish.
//!
//! A batch event carries its whole-topic frame, already serialized, plus the quotes themselves
//! so that filtered frames can be built lazily by the first subscriber of each shared filter
//! and cached in the event for the others (see [`Batch::for_filter`]). The cache lives and dies
//! with the event: once every subscriber has moved past it, the ring slot and its cache are freed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use super::{
    Quotes, filter::Filter, frame::Frame, lock, stats::Counters, status::FeedState, unread::Unread,
};
use crate::model::Topic;

/// The most filtered frames one batch caches. Past it, further filters build their frame per
/// subscriber without caching, which bounds the memory a batch can pin in the ring.
pub(crate) const MAX_FILTERS_CACHED: usize = 128;

/// One entry of the broadcast ring.
pub(crate) enum Event {
    /// A published batch of one topic.
    Batch(Batch),
    /// A market-status change, for every subscriber.
    MarketStatus { version: u64, frame: Frame },
    /// A feed-status change, for the subscribers of `frame.topic()`.
    FeedStatus {
        topic: Topic,
        version: u64,
        state: FeedState,
        frame: Frame,
    },
    /// A topic's instrument list changed (a new universe): its subscribers get a fresh
    /// `snapshot`.
    Resnapshot(Topic),
    /// The hub was closed: subscriptions end after this.
    Closed,
}

impl Event {
    /// Counts one subscriber off this event (a batch; other events are not followed).
    pub(crate) fn read_one(&self) {
        if let Event::Batch(batch) = self {
            batch.unread.read_one();
        }
    }
}

type Cached = Arc<OnceLock<Option<Frame>>>;

/// A published batch and its per-filter frame cache.
pub(crate) struct Batch {
    pub(crate) topic: Topic,
    pub(crate) seq: u64,
    pub(crate) frame: Frame,
    pub(crate) quotes: Quotes,
    filtered: Mutex<HashMap<u64, Cached>>,
    /// The subscribers that have not read this batch yet (see [`Hub::fanned_out`]).
    ///
    /// [`Hub::fanned_out`]: super::Hub::fanned_out
    pub(crate) unread: Unread,
}

impl Batch {
    pub(crate) fn new(topic: Topic, seq: u64, frame: Frame, quotes: Quotes) -> Self {
        Self {
            topic,
            seq,
            frame,
            quotes,
            filtered: Mutex::new(HashMap::new()),
            unread: Unread::default(),
        }
    }

    /// The frame for a subscriber with `filter`: `None` when the filter matches nothing in
    /// this batch. Built once per distinct shared filter and batch; a filter held by a single
    /// subscription is built directly, since nobody else could reuse it.
    pub(crate) fn for_filter(&self, filter: &Filter, counters: &Counters) -> Option<Frame> {
        if !filter.is_shared() {
            return self.build(filter, counters);
        }
        let cell = {
            let mut map = lock(&self.filtered);
            match map.get(&filter.id()) {
                Some(cell) => Some(cell.clone()),
                None if map.len() < MAX_FILTERS_CACHED => {
                    let cell = Cached::default();
                    map.insert(filter.id(), cell.clone());
                    Some(cell)
                }
                None => None,
            }
        };
        // Built outside the map lock: subscribers of other filters are not held up, those of
        // the same filter wait for the one build.
        match cell {
            Some(cell) => cell.get_or_init(|| self.build(filter, counters)).clone(),
            None => self.build(filter, counters),
        }
    }

    fn build(&self, filter: &Filter, counters: &Counters) -> Option<Frame> {
        let matching: Quotes = filter.select(&self.quotes).cloned().collect();
        if matching.is_empty() {
            return None;
        }
        match Frame::encode_batch(self.topic, self.seq, matching) {
            Ok(frame) => {
                Counters::add(&counters.filtered_frames_built, 1);
                Some(frame)
            }
            Err(e) => {
                tracing::error!(error = %e, topic = %self.topic, seq = self.seq, "cannot build a filtered batch frame");
                None
            }
        }
    }
}
