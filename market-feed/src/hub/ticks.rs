//! Streamed ticks: [`Hub::tick`] updates the latest values at once, [`Hub::flush`] publishes
//! the instruments that changed since the previous flush as one batch.
//!
//! A streaming source delivers thousands of ticks a second; sending each to every client
//! would cost a frame per tick per client. Instead ticks only update the latest values (so
//! the REST API and new snapshots see them at once) and mark the instrument; the feed calls
//! `flush` once per stream interval, which builds one ordinary `indices_update` /
//! `prices_batch` (next `seq`, serialized once, filtered per client as usual) carrying only
//! the marked instruments.

use super::{
    HubError, Quotes, event::Batch, fanout::Hub, frame::Frame, lock, status::Source, write,
};
use crate::model::{Quote, Topic};

impl Hub {
    /// Stores streamed ticks as the topic's latest values without publishing them, and marks
    /// the instruments whose price or previous close changed for the next [`Hub::flush`]. A
    /// tick's missing volume and open/high/low keep the values known from polls (high and
    /// low widen to the tick's price). Marks the source `live` and moves `as_of`. Returns how
    /// many instruments changed.
    ///
    /// ```
    /// # use market_feed::hub::Hub;
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// let hub = Hub::default();
    /// let key = InstrumentKey::new("NSE_EQ|INE002A01018")?;
    /// hub.publish(Topic::Prices, vec![Quote::new(key.clone(), "RELIANCE", 1391.2, 1).with_volume(Some(9))])?;
    /// assert_eq!(hub.tick(Topic::Prices, &[Quote::new(key.clone(), "RELIANCE", 1392.0, 2)]), 1);
    /// let now = hub.quote("RELIANCE").unwrap();
    /// assert_eq!((now.ltp, now.volume, hub.seq(Topic::Prices)), (1392.0, Some(9), 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tick(&self, topic: Topic, ticks: &[Quote]) -> usize {
        if ticks.is_empty() {
            return 0;
        }
        let newest = ticks.iter().map(|q| q.ts).max();
        let mut st = write(self.shared().topic(topic));
        let changed = st.apply_ticks(ticks);
        if changed > 0 {
            st.meta.source = Source::Live;
            st.meta.as_of = st.meta.as_of.max(newest);
        }
        changed
    }

    /// Publishes the instruments changed by [`Hub::tick`] since the previous flush as one
    /// batch (next `seq`, universe order), like [`Hub::publish`] without storing anything.
    /// Returns the batch's `seq`, or `None` when nothing changed (no frame, no `seq`).
    ///
    /// # Errors
    /// [`HubError::Serialize`] if the batch cannot be serialized; the instruments stay
    /// marked for the next flush.
    ///
    /// ```
    /// # use futures::StreamExt;
    /// # use market_feed::hub::{FrameKind, Hub};
    /// # use market_feed::model::{InstrumentKey, Quote, Topic};
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let hub = Hub::default();
    /// let (a, b) = (InstrumentKey::new("NSE_EQ|A1")?, InstrumentKey::new("NSE_EQ|B1")?);
    /// hub.set_instruments(Topic::Prices, [(a.clone(), "A".into()), (b.clone(), "B".into())]);
    /// let mut sub = hub.subscribe(&[Topic::Prices], None);
    /// let _snapshot = sub.next().await;
    /// hub.tick(Topic::Prices, &[Quote::new(a.clone(), "A", 1.0, 1), Quote::new(a, "A", 1.1, 2)]);
    /// assert_eq!(hub.flush(Topic::Prices)?, Some(1));
    /// assert_eq!(hub.flush(Topic::Prices)?, None, "nothing changed since");
    /// let batch = sub.next().await.unwrap();
    /// assert_eq!(batch.kind(), FrameKind::PricesBatch);
    /// let text = String::from_utf8_lossy(batch.bytes()).into_owned();
    /// assert!(text.contains(r#""ltp":1.1"#) && !text.contains(r#""symbol":"B""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self, topic: Topic) -> Result<Option<u64>, HubError> {
        let shared = self.shared();
        let _one_publisher = lock(&shared.publishing[topic.index()]);
        // Taken, encoded and numbered under the write lock, so a snapshot is either before
        // this batch (and older than its values) or after it (and shows its `seq`).
        let (seq, quotes, frame) = {
            let mut st = write(shared.topic(topic));
            let quotes: Quotes = st.take_changed().into();
            if quotes.is_empty() {
                return Ok(None);
            }
            let seq = st.seq + 1;
            let frame = match Frame::encode_batch(topic, seq, quotes.clone()) {
                Ok(f) => f,
                Err(e) => {
                    st.mark_changed(&quotes);
                    return Err(e);
                }
            };
            st.seq = seq;
            st.version += 1;
            (seq, quotes, frame)
        };
        shared.counters.published(frame.len());
        shared.send_batch(Batch::new(topic, seq, frame, quotes));
        Ok(Some(seq))
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use crate::{
        hub::{FrameKind, Hub},
        model::{InstrumentKey, Quote, Topic},
    };

    fn q(id: &str, ltp: f64) -> Quote {
        Quote::new(
            InstrumentKey::new(&format!("NSE_EQ|{id}")).unwrap(),
            id,
            ltp,
            5,
        )
    }

    #[tokio::test]
    async fn a_filtered_client_gets_only_its_changed_symbols_and_snapshots_carry_everything() {
        let hub = Hub::default();
        let ids = ["A", "B", "C"];
        hub.set_instruments(
            Topic::Prices,
            ids.iter().map(|id| {
                (
                    InstrumentKey::new(&format!("NSE_EQ|{id}")).unwrap(),
                    (*id).into(),
                )
            }),
        );
        hub.publish(Topic::Prices, ids.iter().map(|id| q(id, 1.0)).collect())
            .unwrap();
        let filter = hub.resolve_filter(["A", "B"]).filter;
        let mut filtered = hub.subscribe(&[Topic::Prices], Some(filter));
        let mut all = hub.subscribe(&[Topic::Prices], None);
        assert_eq!(filtered.next().await.unwrap().kind(), FrameKind::Snapshot);
        assert_eq!(all.next().await.unwrap().kind(), FrameKind::Snapshot);

        hub.tick(Topic::Prices, &[q("C", 2.0)]);
        assert_eq!(hub.flush(Topic::Prices).unwrap(), Some(2));
        hub.tick(Topic::Prices, &[q("B", 3.0), q("C", 3.0)]);
        assert_eq!(hub.flush(Topic::Prices).unwrap(), Some(3));

        let first = all.next().await.unwrap();
        let text = String::from_utf8_lossy(first.bytes()).into_owned();
        assert!(text.contains(r#""symbol":"C""#) && !text.contains(r#""symbol":"A""#));
        // The filtered client skips the batch that changed none of its symbols.
        let only = filtered.next().await.unwrap();
        assert_eq!(only.seq(), Some(3));
        let text = String::from_utf8_lossy(only.bytes()).into_owned();
        assert!(text.contains(r#""symbol":"B""#) && !text.contains(r#""symbol":"C""#));

        let snapshot = hub.snapshot_frame(Topic::Prices, None).unwrap();
        let text = String::from_utf8_lossy(snapshot.bytes()).into_owned();
        assert_eq!(text.matches(r#""symbol":"#).count(), 3);
        assert!(text.contains(r#""seq":3"#));
    }

    #[tokio::test]
    async fn streamed_batches_are_kept_for_resume_like_published_ones() {
        let hub = Hub::default();
        hub.publish(Topic::Prices, vec![q("A", 1.0)]).unwrap();
        for ltp in [2.0, 3.0] {
            hub.tick(Topic::Prices, &[q("A", ltp)]);
            hub.flush(Topic::Prices).unwrap();
        }
        // A client that saw seq 1 before it dropped gets the two streamed batches, no snapshot.
        let mut sub = hub.subscribe(&[], None);
        let from = crate::hub::ResumeFrom::new(Topic::Prices, hub.epoch(), 1);
        sub.subscribe_resuming(&[Topic::Prices], None, &[from]);
        let (a, b) = (sub.next().await.unwrap(), sub.next().await.unwrap());
        assert_eq!(
            (a.kind(), a.seq(), b.kind(), b.seq()),
            (
                FrameKind::PricesBatch,
                Some(2),
                FrameKind::PricesBatch,
                Some(3)
            )
        );
    }
}
