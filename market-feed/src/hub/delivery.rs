//! How far a published batch has got: [`Hub::fanned_out`] waits until every subscriber has
//! taken the latest batch of a topic from the ring.
//!
//! Each batch event counts the subscribers that have yet to read it (the ring's receivers when
//! it was sent); a subscription counts itself off when it reads the event, whether the event
//! gives it a frame or not, and when it is dropped with the event still unread. A subscriber
//! reads an event and writes the frame it gives in one turn of its task, so when the count
//! reaches zero the frame is on its way on every connection.
//!
//! This is what lets a small frame overtake a large one *across* connections. Holding a large
//! frame back inside one subscription (see [`Subscription`](super::Subscription)) only helps
//! against the few hundred tasks ahead of it in its worker's run queue; with 5,000 connections
//! most of them sit in the runtime's global queue, and each writes a 400 KB `prices_batch`
//! before the next one even reads its index update. A publisher that waits for
//! `fanned_out(Topic::Indices)` before publishing the prices lets every connection write the
//! index update first.

use std::time::Duration;

use super::{event::Event, fanout::Hub, lock};
use crate::model::Topic;

/// How long the count of readers may stay still before [`Hub::fanned_out`] stops waiting: the
/// subscribers left are not reading (a slow client blocked on its socket, one that lagged past
/// the event, one just closing), and will not read soon.
pub(crate) const STALL: Duration = Duration::from_millis(20);
/// How often [`Hub::fanned_out`] looks at the count.
const LOOK_EVERY: Duration = Duration::from_millis(1);

impl Hub {
    /// Waits until every subscriber has taken the latest batch of `topic` from the ring (so
    /// every connection has its frame on the way), or until the subscribers still missing it
    /// stop reading for 20 ms (slow clients blocked on their sockets, which may take seconds).
    /// Returns at once when nothing was published or the batch is gone. Bound it with a timeout
    /// if a fan-out can take longer than you are ready to wait.
    ///
    /// The feed calls it when a small and a large batch fall due at the same instant: the
    /// prices are published once the index update has reached every connection, so that no
    /// connection writes a 400 KB `prices_batch` while another has yet to write its index
    /// update.
    ///
    /// ```
    /// # use futures::StreamExt;
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let hub = Hub::default();
    /// let key = InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap();
    /// let mut sub = hub.subscribe(&[Topic::Indices], None);
    /// let _snapshot = sub.next().await;
    /// hub.publish(Topic::Indices, vec![Quote::new(key, "NIFTY 50", 25010.5, 1)]).unwrap();
    /// assert_eq!(hub.unread(Topic::Indices), 1);
    /// let update = sub.next().await.unwrap();
    /// hub.fanned_out(Topic::Indices).await; // at once: the one subscriber has it
    /// assert_eq!(hub.unread(Topic::Indices), 0);
    /// # });
    /// ```
    pub async fn fanned_out(&self, topic: Topic) {
        let mut left = self.unread(topic);
        let mut still = Duration::ZERO;
        while left > 0 && still < STALL {
            tokio::time::sleep(LOOK_EVERY).await;
            let now = self.unread(topic);
            still = if now < left {
                Duration::ZERO
            } else {
                still + LOOK_EVERY
            };
            left = now;
        }
    }

    /// How many subscribers have yet to take the latest batch of `topic` from the ring (0 when
    /// every one has, or when nothing was published).
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::Topic;
    /// assert_eq!(Hub::default().unread(Topic::Prices), 0);
    /// ```
    pub fn unread(&self, topic: Topic) -> usize {
        let latest = lock(&self.shared().latest[topic.index()]).upgrade();
        match latest.as_deref() {
            Some(Event::Batch(batch)) => batch.unread.left(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use futures::StreamExt;

    use super::*;
    use crate::{
        hub::{FrameKind, HubConfig},
        model::{InstrumentKey, Quote},
    };

    fn publish_index(hub: &Hub, ltp: f64) {
        let key = InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap();
        hub.publish(Topic::Indices, vec![Quote::new(key, "NIFTY 50", ltp, 1)])
            .unwrap();
    }

    /// Every subscriber counts, whether it takes the batch, skips it (another topic), drops
    /// its subscription or is resynchronized past it.
    #[tokio::test]
    async fn every_way_of_leaving_a_batch_behind_counts_off() {
        let hub = Hub::new(HubConfig::with_buffer(2));
        let mut reader = hub.subscribe(&[Topic::Indices], None);
        let mut other_topic = hub.subscribe(&[Topic::Prices], None);
        let dropped = hub.subscribe(&[Topic::Indices], None);
        let mut lagging = hub.subscribe(&[Topic::Indices], None);
        for sub in [&mut reader, &mut other_topic, &mut lagging] {
            assert_eq!(sub.next().await.unwrap().kind(), FrameKind::Snapshot);
        }
        publish_index(&hub, 1.0);
        assert_eq!(hub.unread(Topic::Indices), 4);
        assert_eq!(reader.next().await.unwrap().seq(), Some(1));
        assert_eq!(hub.unread(Topic::Indices), 3);
        drop(dropped);
        assert_eq!(hub.unread(Topic::Indices), 2);
        let nothing = tokio::time::timeout(Duration::from_millis(5), other_topic.next()).await;
        assert!(
            nothing.is_err(),
            "an indices batch gives a prices subscriber nothing"
        );
        assert_eq!(hub.unread(Topic::Indices), 1);
        // The ring holds 2: the lagging subscriber misses the first batches, and is counted
        // off everything it skips when it is resynchronized.
        for ltp in [2.0, 3.0, 4.0] {
            publish_index(&hub, ltp);
        }
        assert_eq!(hub.unread(Topic::Indices), 3);
        assert_eq!(lagging.next().await.unwrap().kind(), FrameKind::Snapshot);
        assert_eq!(hub.unread(Topic::Indices), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn fanned_out_waits_for_readers_but_not_for_a_subscriber_that_does_not_read() {
        let hub = Hub::default();
        assert_eq!(hub.unread(Topic::Indices), 0);
        let started = tokio::time::Instant::now();
        hub.fanned_out(Topic::Indices).await;
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "nothing published: no wait"
        );

        let mut reader = hub.subscribe(&[Topic::Indices], None);
        let _snapshot = reader.next().await;
        publish_index(&hub, 1.0);
        let started = tokio::time::Instant::now();
        let late_reader = async {
            tokio::time::sleep(Duration::from_millis(15)).await;
            reader.next().await
        };
        let ((), frame) = tokio::join!(hub.fanned_out(Topic::Indices), late_reader);
        assert_eq!(frame.unwrap().seq(), Some(1));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(15) && waited <= Duration::from_millis(16));

        let _asleep = hub.subscribe(&[Topic::Indices], None);
        publish_index(&hub, 2.0);
        let started = tokio::time::Instant::now();
        let ((), frame) = tokio::join!(hub.fanned_out(Topic::Indices), reader.next());
        assert_eq!(frame.unwrap().seq(), Some(2));
        let waited = started.elapsed();
        assert!(
            waited >= STALL && waited <= STALL + LOOK_EVERY,
            "{waited:?}"
        );
        assert_eq!(hub.unread(Topic::Indices), 1);
    }
}
