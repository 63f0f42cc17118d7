//! What a [`Subscription`](super::Subscription) has queued for its next polls, and
//! [`ResumeFrom`], where a client asks to resume.

use std::{fmt, sync::Arc};

use super::event::Event;
use crate::model::Topic;

/// Where a client left a topic: the `epoch` and `seq` of the last batch (or snapshot) it
/// received, for [`Subscription::subscribe_resuming`](super::Subscription::subscribe_resuming) (docs/protocol.md §7).
///
/// ```
/// use market_feed::hub::ResumeFrom;
/// use market_feed::model::Topic;
/// let from = ResumeFrom::new(Topic::Prices, "5f0c3a9e1b2d4c6f", 41);
/// assert_eq!((from.topic, from.seq), (Topic::Prices, 41));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResumeFrom {
    /// The topic.
    pub topic: Topic,
    /// The epoch the client's `seq` belongs to (from its `welcome` or `snapshot`).
    pub epoch: String,
    /// The last `seq` the client received on the topic.
    pub seq: u64,
}

impl ResumeFrom {
    /// Where a client left `topic`.
    ///
    /// See [`ResumeFrom`] for an example.
    pub fn new(topic: Topic, epoch: impl Into<String>, seq: u64) -> Self {
        Self {
            topic,
            epoch: epoch.into(),
            seq,
        }
    }
}

/// Work queued for the next polls, built lazily from the hub's state at that moment.
#[derive(Clone)]
pub(crate) enum Pending {
    /// A snapshot of the topic; followed by its feed status when the client should hear it.
    Snapshot { topic: Topic, laggard: bool },
    /// The batches of the topic after `seq` if the hub still holds them all, else a snapshot.
    Resume { topic: Topic, seq: u64 },
    /// One batch being replayed.
    Replay { topic: Topic, event: Arc<Event> },
    /// The topic's current feed status, if the client does not know it yet.
    FeedStatus(Topic),
    /// The current market status, if it changed since the client last heard it.
    MarketStatus,
}

impl Pending {
    /// The topic the item is about (`None`: the market status).
    pub(crate) fn topic(&self) -> Option<Topic> {
        match self {
            Pending::Snapshot { topic, .. }
            | Pending::Resume { topic, .. }
            | Pending::Replay { topic, .. }
            | Pending::FeedStatus(topic) => Some(*topic),
            Pending::MarketStatus => None,
        }
    }
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pending::Snapshot { topic, laggard } => write!(f, "Snapshot({topic}, {laggard})"),
            Pending::Resume { topic, seq } => write!(f, "Resume({topic} after {seq})"),
            Pending::Replay { topic, .. } => write!(f, "Replay({topic})"),
            Pending::FeedStatus(topic) => write!(f, "FeedStatus({topic})"),
            Pending::MarketStatus => write!(f, "MarketStatus"),
        }
    }
}
