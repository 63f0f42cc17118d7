//! Running a [`Feed`] without managing a cancellation token: [`Feed::run_until`] stops it when
//! any future completes, and [`Feed::spawn`] returns a [`RunningFeed`] whose one
//! [`shutdown`](RunningFeed::shutdown) call stops the feed and then closes the hub, in that
//! order (so subscribers' streams end after the last frame the feed published).

use std::future::Future;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Feed;
use crate::hub::Hub;

impl Feed {
    /// Runs the daily cycle until `stop` completes (Ctrl-C, a timer, a shutdown signal of your
    /// own), then shuts down as [`Feed::run`] does. The hub stays open: close it with
    /// [`Hub::close`] when the subscribers should end, or use [`Feed::spawn`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new())).build();
    /// feed.run_until(std::future::ready(())).await; // e.g. tokio::signal::ctrl_c()
    /// # }
    /// # async fn with_ctrl_c(feed: Feed) {
    /// feed.run_until(tokio::signal::ctrl_c()).await; // any output is fine
    /// # }
    /// ```
    pub async fn run_until(self, stop: impl Future) {
        let token = CancellationToken::new();
        let run = self.run(token.clone());
        tokio::pin!(run);
        tokio::select! {
            () = &mut run => return,
            _ = stop => token.cancel(),
        }
        run.await;
    }

    /// Runs the feed on its own task. [`RunningFeed::shutdown`] stops it and closes the hub.
    ///
    /// ```
    /// use futures::StreamExt;
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, model::Topic, store::MemoryStore};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let hub = Hub::default();
    /// let feed = Feed::builder(MarketClock::system(), hub.clone(), Arc::new(MemoryStore::new())).build();
    /// let mut updates = hub.subscribe(&[Topic::Indices], None);
    /// let running = feed.spawn();
    /// running.shutdown().await;
    /// while let Some(_frame) = updates.next().await {} // ends: the hub is closed
    /// # }
    /// ```
    pub fn spawn(self) -> RunningFeed {
        let hub = self.ctx.hub.clone();
        let token = CancellationToken::new();
        let task = tokio::spawn(self.run(token.clone()));
        RunningFeed { hub, token, task }
    }
}

/// A feed running on its own task (from [`Feed::spawn`]). Dropping it without
/// [`shutdown`](Self::shutdown) stops the feed too, without waiting for it.
///
/// See [`Feed::spawn`] for an example.
#[derive(Debug)]
pub struct RunningFeed {
    hub: Hub,
    token: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningFeed {
    /// The hub the feed publishes to.
    ///
    /// See [`Feed::spawn`] for an example.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Stops the feed (the in-flight refresh ends, a due end-of-day snapshot is stored first, as
    /// [`Feed::run`] says), waits for it, then closes the hub so every subscription's stream
    /// ends. A panic of the feed's task is resumed here.
    ///
    /// See [`Feed::spawn`] for an example.
    pub async fn shutdown(mut self) {
        self.token.cancel();
        let outcome = (&mut self.task).await;
        self.hub.close();
        if let Err(e) = outcome {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
}

impl Drop for RunningFeed {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::StreamExt;
    use time::macros::datetime;

    use super::*;
    use crate::{
        clock::MarketClock,
        feed::Job,
        model::Topic,
        source::SimulatedSource,
        store::{MemoryStore, SnapshotStore},
        universe::Universe,
    };

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_the_feed_then_ends_the_streams() {
        let clock = MarketClock::scaled(datetime!(2026-01-29 10:00 +05:30), 10.0);
        let universe = Universe::bundled();
        let source = Arc::new(SimulatedSource::new(universe.clone(), 7, clock.clone()));
        let hub = Hub::default();
        let store = Arc::new(MemoryStore::new());
        let feed = Feed::builder(clock, hub.clone(), store.clone())
            .job(Job::new(
                Topic::Indices,
                universe.indices().to_vec(),
                time::Duration::seconds(5),
                source,
            ))
            .build();
        let mut updates = hub.subscribe(&[Topic::Indices], None);
        let running = feed.spawn();
        let mut batches = 0;
        while batches < 3 {
            let frame = updates.next().await.expect("frames while the feed runs");
            if frame.kind() == crate::hub::FrameKind::IndicesUpdate {
                batches += 1;
            }
        }
        running.shutdown().await;
        while updates.next().await.is_some() {}
        assert!(hub.seq(Topic::Indices) >= 3);
        // Nothing was stored for a session that did not end.
        assert!(store.latest_closes(Topic::Indices).await.unwrap().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn run_until_returns_when_the_future_completes() {
        let clock = MarketClock::scaled(datetime!(2026-01-29 10:00 +05:30), 10.0);
        let feed = Feed::builder(clock, Hub::default(), Arc::new(MemoryStore::new())).build();
        feed.run_until(tokio::time::sleep(std::time::Duration::from_secs(30)))
            .await;
    }
}
