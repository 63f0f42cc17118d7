//! [`Metered`]: a subscription's update rate limit (`max_rate_ms`, docs/protocol.md §8).
//!
//! A metered topic gets at most one update per period. A batch that arrives sooner is not
//! copied: the subscription keeps a reference to the batch's shared event (the same `Arc` the
//! ring holds) and, when the period has passed, builds *one* frame with the latest quote of
//! every instrument those batches updated, stamped with the newest batch's `seq`. So merging
//! costs a pointer per batch until send time, and the JSON is written once per merged update.
//! Snapshots and resume replays are not updates: they neither count nor wait.

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tokio::time::{Instant, Sleep};

use super::{event::Event, filter::Filter, frame::Frame};
use crate::model::{InstrumentKey, Quote, Topic};

/// The accepted range of `max_rate_ms`, in milliseconds (docs/protocol.md §8).
///
/// ```
/// assert!(market_feed::hub::MAX_RATE_RANGE.contains(&2000));
/// assert!(!market_feed::hub::MAX_RATE_RANGE.contains(&100));
/// ```
pub const MAX_RATE_RANGE: std::ops::RangeInclusive<u64> = 250..=60_000;

/// Rate state of one subscription, per topic.
#[derive(Default)]
pub(crate) struct Metered {
    period: [Option<Duration>; 2],
    last_sent: [Option<Instant>; 2],
    merged: [Vec<Arc<Event>>; 2],
    timer: Option<Pin<Box<Sleep>>>,
}

impl Metered {
    /// Meters `topic` at one update per `period` (`None`: every batch as it comes).
    pub(crate) fn set(&mut self, topic: Topic, period: Option<Duration>) {
        self.period[topic.index()] = period;
        self.reset(topic);
    }

    /// Forgets the batches waiting on `topic` (a snapshot or a replay covers them).
    pub(crate) fn reset(&mut self, topic: Topic) {
        self.merged[topic.index()].clear();
    }

    /// Whether a batch of `topic` may go out now. If not, it is kept for the next merged
    /// update and the timer is armed.
    pub(crate) fn admit(&mut self, topic: Topic, event: &Arc<Event>, now: Instant) -> bool {
        let i = topic.index();
        let Some(period) = self.period[i] else {
            return true;
        };
        let due = self.last_sent[i].is_none_or(|last| now >= last + period);
        if due && self.merged[i].is_empty() {
            self.last_sent[i] = Some(now);
            return true;
        }
        self.merged[i].push(event.clone());
        self.arm();
        false
    }

    /// (Re)arms the timer for the earliest topic with batches waiting.
    fn arm(&mut self) {
        let deadline = Topic::ALL
            .into_iter()
            .filter(|t| !self.merged[t.index()].is_empty())
            .filter_map(|t| Some(self.last_sent[t.index()]? + self.period[t.index()]?))
            .min();
        match (deadline, self.timer.as_mut()) {
            (None, _) => self.timer = None,
            (Some(d), Some(timer)) => {
                if timer.deadline() != d {
                    timer.as_mut().reset(d);
                }
            }
            (Some(d), None) => self.timer = Some(Box::pin(tokio::time::sleep_until(d))),
        }
    }

    /// A topic whose merged update is due now, with the batches to merge (oldest first).
    /// Registers the waker for the next due time otherwise.
    pub(crate) fn poll_due(&mut self, cx: &mut Context<'_>) -> Option<(Topic, Vec<Arc<Event>>)> {
        let timer = self.timer.as_mut()?;
        if timer.as_mut().poll(cx) == Poll::Pending {
            return None;
        }
        let now = Instant::now();
        let due = Topic::ALL.into_iter().find(|t| {
            let i = t.index();
            !self.merged[i].is_empty()
                && matches!((self.last_sent[i], self.period[i]), (Some(l), Some(p)) if now >= l + p)
        });
        let taken = due.map(|t| {
            self.last_sent[t.index()] = Some(now);
            (t, std::mem::take(&mut self.merged[t.index()]))
        });
        self.timer = None;
        self.arm();
        if let Some(timer) = self.timer.as_mut() {
            // Registers the waker for the next deadline.
            let _ = timer.as_mut().poll(cx);
        }
        taken
    }
}

/// One update of `topic` from the batches `events` (oldest first): the latest quote of every
/// instrument they carry (narrowed by `filter` on `prices`), `seq` of the newest batch.
/// `None` when nothing is left for the subscriber.
pub(crate) fn merge(topic: Topic, events: &[Arc<Event>], filter: Option<&Filter>) -> Option<Frame> {
    let batches: Vec<_> = events
        .iter()
        .filter_map(|e| match &**e {
            Event::Batch(b) => Some(b),
            _ => None,
        })
        .collect();
    let seq = batches.last()?.seq;
    let mut seen: HashSet<&InstrumentKey> = HashSet::new();
    let mut latest: Vec<&Quote> = Vec::new();
    for b in batches.iter().rev() {
        for q in b.quotes.iter() {
            if filter.is_some_and(|f| topic == Topic::Prices && !f.contains(&q.key)) {
                continue;
            }
            if seen.insert(&q.key) {
                latest.push(q);
            }
        }
    }
    if latest.is_empty() {
        return None;
    }
    latest.reverse();
    match Frame::encode_batch(topic, seq, latest.into_iter().cloned().collect()) {
        Ok(frame) => Some(frame),
        Err(e) => {
            tracing::error!(error = %e, %topic, seq, "cannot build a merged update");
            None
        }
    }
}
