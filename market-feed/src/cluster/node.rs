//! [`ClusterNode`]: one server of a cluster. It competes for the lease; as leader it runs the
//! feed and forwards every frame its hub publishes over the [`Relay`]; as follower it runs no
//! feed and publishes the leader's frames into its own hub, unchanged.
//!
//! ```text
//!  follower ── acquire every lease/3 ──(won)──> leader: load retained values (seq continues),
//!     ^                                           start the feed, renew every lease/3
//!     └──── step down: feed stopped before the lease could lapse (renew failed or lost) ─┘
//! ```

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures::StreamExt;
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    latest::Latest,
    lease::{LeaseGuard, LeaseTiming},
    relay::{Channel, Claim, Relay, RelayError},
    status::{ClusterStats, Role},
};
use crate::{
    feed::Feed,
    hub::{FeedState, FeedStatus, Hub, Tapped},
    model::Topic,
};

/// How a node is named and how long its lease lasts.
///
/// ```
/// use std::time::Duration;
/// use market_feed::cluster::ClusterConfig;
/// let c = ClusterConfig::new("market-feed", "node-1", Duration::from_secs(10));
/// assert_eq!(c.node, "node-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// The cluster's name (the relay namespaces everything by it).
    pub name: String,
    /// This node's id.
    pub node: String,
    /// The lease's TTL.
    pub lease: Duration,
}

impl ClusterConfig {
    /// A configuration.
    ///
    /// See [`ClusterConfig`] for an example.
    pub fn new(name: impl Into<String>, node: impl Into<String>, lease: Duration) -> Self {
        Self {
            name: name.into(),
            node: node.into(),
            lease,
        }
    }
}

/// One server of a cluster (see the [`cluster`](crate::cluster) module).
///
/// The feed must poll through sources wrapped in [`LeasedSource`](crate::cluster::LeasedSource) (and a
/// stream in [`LeasedStream`](crate::cluster::LeasedStream)) over the same [`LeaseGuard`], so that no
/// broker call leaves this node once its lease deadline has passed.
#[derive(Debug)]
pub struct ClusterNode {
    relay: Arc<dyn Relay>,
    hub: Hub,
    feed: Feed,
    guard: LeaseGuard,
    timing: LeaseTiming,
    stats: Arc<ClusterStats>,
    /// The trading day of each topic's values as last sent to the followers.
    sent_day: std::sync::Mutex<[Option<time::Date>; 2]>,
}

/// Why a leader stopped leading.
enum StepDown {
    Shutdown,
    Lost(&'static str),
}

impl ClusterNode {
    /// A node that will run `feed` (publishing into `hub`) while it leads.
    ///
    /// ```no_run
    /// # async fn demo(relay: std::sync::Arc<dyn market_feed::cluster::Relay>, feed: market_feed::feed::Feed, hub: market_feed::hub::Hub) {
    /// use market_feed::cluster::{ClusterConfig, ClusterNode, LeaseGuard};
    /// let config = ClusterConfig::new("market-feed", "node-1", std::time::Duration::from_secs(10));
    /// let node = ClusterNode::new(config, relay, hub, feed, LeaseGuard::default());
    /// let stats = node.stats();
    /// node.run(market_feed::CancellationToken::new()).await;
    /// # let _ = stats;
    /// # }
    /// ```
    pub fn new(
        config: ClusterConfig,
        relay: Arc<dyn Relay>,
        hub: impl Into<Hub>,
        feed: Feed,
        guard: LeaseGuard,
    ) -> Self {
        Self {
            relay,
            hub: hub.into(),
            feed,
            guard,
            timing: LeaseTiming::new(config.lease),
            stats: Arc::new(ClusterStats::new(config.name, config.node)),
            sent_day: std::sync::Mutex::new([None; 2]),
        }
    }

    /// The node's view of the cluster (shared; it follows the node while it runs).
    ///
    /// See [`ClusterNode::new`] for an example.
    pub fn stats(&self) -> Arc<ClusterStats> {
        self.stats.clone()
    }

    /// Joins the cluster and runs until `shutdown`: loads the retained values (ready), then
    /// follows or leads. A leader shutting down stops its feed (which stores a due end-of-day
    /// snapshot) and gives the lease up so another node takes over at once.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        // Live messages are subscribed before the retained ones are read: nothing falls in
        // between (a frame seen twice is refused by its `seq`).
        let inbound = loop {
            match this.relay.subscribe().await {
                Ok(stream) => break stream,
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: cannot subscribe to the leader's frames; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        };
        let tap = this.hub.tap();
        while let Err(e) = this.load_retained().await {
            tracing::warn!(error = %e, "cluster: cannot read the latest values; retrying");
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        this.stats.set_ready();
        let follower = tokio::spawn(this.clone().follow(inbound, shutdown.clone()));
        let forwarder = tokio::spawn(this.clone().forward(tap, shutdown.clone()));
        this.elect(&shutdown).await;
        for task in [follower, forwarder] {
            task.abort();
            let _ = task.await;
        }
    }

    /// Competes for the lease until shutdown.
    async fn elect(&self, shutdown: &CancellationToken) {
        let mut last_error: Option<String> = None;
        while !shutdown.is_cancelled() {
            let sent = Instant::now();
            match self.relay.acquire(self.stats.node()).await {
                Ok(Claim::Won(revision)) => {
                    last_error = None;
                    if let StepDown::Shutdown = self.lead(revision, sent, shutdown).await {
                        return;
                    }
                    continue;
                }
                Ok(Claim::Held(by)) => {
                    last_error = None;
                    self.stats.see_leader(by);
                }
                Err(e) => {
                    let text = e.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        tracing::warn!(error = %text, "cluster: cannot reach the lease; still following");
                    }
                    last_error = Some(text);
                    self.stats.see_leader(None);
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.timing.renew_every()) => {}
            }
        }
    }

    /// Leads from a won lease at `revision` (written by a request sent at `sent`) until the
    /// lease is lost or the node shuts down.
    async fn lead(&self, revision: u64, sent: Instant, shutdown: &CancellationToken) -> StepDown {
        self.guard.hold_until(sent + self.timing.usable());
        // Continue the cluster's numbering: the retained values may be newer than the frames
        // this node saw.
        if let Err(e) = self.load_retained().await {
            tracing::warn!(error = %e, "cluster: cannot read the latest values before leading; continuing from the frames seen");
        }
        let previous = self.stats.see_leader(Some(self.stats.node().to_owned()));
        self.stats.set_role(Role::Leader);
        self.stats.became_leader();
        match previous {
            Some(old) if old != self.stats.node() => tracing::info!(
                node = self.stats.node(),
                previous = %old,
                "cluster: became leader: the lease of {old} lapsed or was released; starting the feed"
            ),
            _ => tracing::info!(
                node = self.stats.node(),
                "cluster: became leader: the lease was free; starting the feed"
            ),
        }
        let feed_stop = CancellationToken::new();
        let feed: JoinHandle<()> = tokio::spawn(self.feed.clone().run(feed_stop.clone()));
        let mut revision = revision;
        let mut next = sent + self.timing.renew_every();
        let why = loop {
            let Some(deadline) = self.guard.deadline() else {
                break StepDown::Lost("the lease guard was released");
            };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break StepDown::Shutdown,
                () = tokio::time::sleep_until(next.min(deadline)) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                break StepDown::Lost("the lease could not be renewed before it could lapse");
            }
            match tokio::time::timeout(
                deadline - now,
                self.relay.renew(self.stats.node(), revision),
            )
            .await
            {
                Ok(Ok(r)) => {
                    revision = r;
                    self.guard.hold_until(now + self.timing.usable());
                    next = now + self.timing.renew_every();
                }
                Ok(Err(RelayError::LeaseLost)) => {
                    break StepDown::Lost("another node holds the lease (it lapsed meanwhile)");
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cluster: renewing the lease failed; retrying");
                    next = Instant::now() + self.timing.retry_every();
                }
                Err(_) => next = Instant::now(),
            }
        };
        match why {
            StepDown::Shutdown => {
                // Still within the lease: the feed may store a due end-of-day snapshot.
                feed_stop.cancel();
                let left = self.guard.deadline().map_or(Duration::ZERO, |d| {
                    d.saturating_duration_since(Instant::now())
                });
                if tokio::time::timeout(left, feed).await.is_err() {
                    tracing::warn!("cluster: the feed did not stop within the lease");
                }
                self.stats.set_role(Role::Follower);
                self.guard.release();
                match tokio::time::timeout(Duration::from_secs(2), self.relay.release(revision))
                    .await
                {
                    Ok(Ok(())) => tracing::info!(
                        "cluster: stepped down: shutting down; the lease is released"
                    ),
                    _ => tracing::warn!(
                        "cluster: stepped down: shutting down; the lease could not be released and lapses by itself"
                    ),
                }
                StepDown::Shutdown
            }
            StepDown::Lost(reason) => {
                // Frames of the stopping feed are no longer forwarded; broker calls are refused
                // by the guard from now on.
                self.stats.set_role(Role::Follower);
                self.guard.release();
                feed_stop.cancel();
                tracing::warn!(
                    node = self.stats.node(),
                    "cluster: stepped down: {reason}; following"
                );
                if tokio::time::timeout(self.timing.lease(), feed)
                    .await
                    .is_err()
                {
                    tracing::warn!("cluster: the feed did not stop within the lease");
                }
                self.stats.see_leader(None);
                if let Err(e) = self.load_retained().await {
                    tracing::warn!(error = %e, "cluster: cannot read the latest values after stepping down");
                }
                StepDown::Lost(reason)
            }
        }
    }

    /// Applies the leader's live frames while this node follows; reloads the retained values
    /// when the bus comes back, and marks the topics stale (in market hours) while it is gone.
    async fn follow(
        self: Arc<Self>,
        mut inbound: futures::stream::BoxStream<'static, (Channel, Bytes)>,
        shutdown: CancellationToken,
    ) {
        let mut connected = self.relay.connected();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                msg = inbound.next() => {
                    let Some((channel, payload)) = msg else { return };
                    if self.stats.role() != Role::Leader {
                        self.apply(channel, payload);
                    }
                }
                changed = connected.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let up = *connected.borrow_and_update();
                    if self.stats.role() == Role::Leader {
                        continue;
                    }
                    if up {
                        tracing::info!("cluster: the bus is back; reloading the latest values");
                        if let Err(e) = self.load_retained().await {
                            tracing::warn!(error = %e, "cluster: cannot reload the latest values");
                        }
                    } else {
                        tracing::warn!("cluster: the bus is unreachable; serving the last values");
                        self.mark_stale();
                    }
                }
            }
        }
    }

    /// While the bus is lost in market hours, a follower's topics are `stale`.
    fn mark_stale(&self) {
        if !self.hub.view(Topic::Indices).live {
            return;
        }
        for topic in Topic::ALL {
            let status = FeedStatus::new(
                topic,
                FeedState::Stale,
                "the cluster bus is unreachable; showing the last values",
            )
            .with_last_success(self.hub.feed_status(topic).last_success);
            if let Err(e) = self.hub.publish_feed_status(status) {
                tracing::warn!(error = %e, "cluster: cannot publish the feed status");
            }
        }
    }

    /// Publishes one of the leader's frames into this node's hub.
    fn apply(&self, channel: Channel, payload: Bytes) {
        let result = match channel {
            Channel::Batch(topic) => self.hub.publish_relayed(topic, payload).map(|_| ()),
            Channel::MarketStatus => {
                if self
                    .hub
                    .market_status_frame()
                    .is_some_and(|f| *f.bytes() == payload)
                {
                    return;
                }
                self.hub.publish_market_status_relayed(payload)
            }
            Channel::FeedStatus(topic) => {
                if self
                    .hub
                    .feed_status_frame(topic)
                    .is_some_and(|f| *f.bytes() == payload)
                {
                    return;
                }
                self.hub.publish_feed_status_relayed(payload)
            }
            Channel::Latest(_) => match Latest::from_bytes(&payload) {
                Ok(latest) => {
                    latest.restore_into(&self.hub);
                    Ok(())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: unreadable latest values from the leader");
                    Ok(())
                }
            },
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, ?channel, "cluster: unreadable frame from the leader");
        }
    }

    /// Loads every retained channel into the hub (a node joining, reconnecting, leading).
    async fn load_retained(&self) -> Result<(), RelayError> {
        for channel in Channel::RETAINED {
            match self.relay.retained(channel).await? {
                Some(payload) => self.apply(channel, payload),
                // The leader never reported a problem on this topic: it is ok (this node may
                // have marked it stale while the bus was gone).
                None => {
                    if let Channel::FeedStatus(topic) = channel {
                        if !self.hub.feed_status(topic).state.is_ok() {
                            let ok = FeedStatus::ok(topic)
                                .with_last_success(self.hub.feed_status(topic).last_success);
                            if let Err(e) = self.hub.publish_feed_status(ok) {
                                tracing::warn!(error = %e, "cluster: cannot publish the feed status");
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Forwards every frame of this node's hub while it leads.
    async fn forward(self: Arc<Self>, mut tap: crate::hub::Tap, shutdown: CancellationToken) {
        loop {
            let tapped = tokio::select! {
                () = shutdown.cancelled() => None,
                t = tap.next() => t,
            };
            let Some(tapped) = tapped else { return };
            if self.stats.role() != Role::Leader {
                continue;
            }
            if let Err(e) = self.send(tapped).await {
                tracing::warn!(error = %e, "cluster: cannot publish to the followers");
            }
        }
    }

    /// Sends one tapped frame to the followers, and retains what a joining node needs.
    async fn send(&self, tapped: Tapped) -> Result<(), RelayError> {
        match tapped {
            Tapped::Batch { topic, frame, .. } => {
                self.relay
                    .publish(Channel::Batch(topic), frame.into_bytes())
                    .await?;
                // A new trading day is not in the batch frames: the followers get the whole
                // values (and their clients a snapshot) when it changes.
                let day = self.hub.meta(topic).trading_day;
                let new_day = {
                    let mut sent = self
                        .sent_day
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let changed = sent[topic.index()] != day;
                    sent[topic.index()] = day;
                    changed
                };
                self.retain_latest(topic, new_day).await
            }
            Tapped::MarketStatus(frame) => {
                let bytes = frame.into_bytes();
                self.relay
                    .publish(Channel::MarketStatus, bytes.clone())
                    .await?;
                self.relay.retain(Channel::MarketStatus, bytes).await
            }
            Tapped::FeedStatus { topic, frame } => {
                let bytes = frame.into_bytes();
                self.relay
                    .publish(Channel::FeedStatus(topic), bytes.clone())
                    .await?;
                self.relay.retain(Channel::FeedStatus(topic), bytes).await
            }
            Tapped::Resnapshot(topic) => self.retain_latest(topic, true).await,
            Tapped::Lagged(_) => {
                for topic in Topic::ALL {
                    self.retain_latest(topic, true).await?;
                }
                Ok(())
            }
        }
    }

    /// Retains the topic's latest values; `live` also sends them to the followers now (they
    /// restore them and resnapshot their clients).
    async fn retain_latest(&self, topic: Topic, live: bool) -> Result<(), RelayError> {
        let bytes = Latest::of(&self.hub, topic)
            .to_bytes()
            .map_err(|e| RelayError::Bus(format!("cannot serialize the latest values: {e}")))?;
        if live {
            self.relay
                .publish(Channel::Latest(topic), bytes.clone())
                .await?;
        }
        self.relay.retain(Channel::Latest(topic), bytes).await
    }
}
