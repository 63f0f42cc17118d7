//! Per-topic status the hub carries: where the latest values come from ([`SnapshotMeta`],
//! [`Source`]) and how healthy the topic's price source is ([`FeedStatus`], [`FeedState`]).

use serde::{Deserialize, Serialize, Serializer};
use time::Date;

use crate::model::Topic;

/// Where a topic's latest values come from, as announced in `snapshot.source` (docs/protocol.md §3).
///
/// ```
/// use market_feed::hub::Source;
/// assert_eq!(serde_json::to_string(&Source::Checkpoint).unwrap(), "\"checkpoint\"");
/// assert_eq!(Source::default(), Source::Close);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Refreshed in the current session (set by every [`Hub::publish`](super::Hub::publish)).
    Live,
    /// Saved earlier in the current session, before a restart.
    Checkpoint,
    /// The closing prices of `trading_day`.
    #[default]
    Close,
}

impl Source {
    /// The wire name (`live`, `checkpoint`, `close`).
    ///
    /// ```
    /// # use market_feed::hub::Source;
    /// assert_eq!(Source::Live.as_str(), "live");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Live => "live",
            Source::Checkpoint => "checkpoint",
            Source::Close => "close",
        }
    }
}

/// The metadata a topic's `snapshot` frame carries besides its quotes.
///
/// Set by [`Hub::load`](super::Hub::load) (closing prices or a checkpoint at start-up); a
/// [`Hub::publish`](super::Hub::publish) turns `source` into [`Source::Live`] and moves
/// `as_of` to the newest quote time.
///
/// ```
/// use market_feed::hub::{SnapshotMeta, Source};
/// use time::macros::date;
///
/// let meta = SnapshotMeta::new(Source::Close, date!(2026 - 01 - 28), 1769594400000);
/// assert_eq!(meta.trading_day, Some(date!(2026 - 01 - 28)));
/// assert_eq!(SnapshotMeta::default().as_of, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotMeta {
    /// Where the values come from.
    pub source: Source,
    /// The trading day the values belong to (`null` on the wire while unknown).
    pub trading_day: Option<Date>,
    /// When the values were current, in ms (`null` on the wire while no value is known).
    pub as_of: Option<i64>,
}

impl SnapshotMeta {
    /// Metadata with every field known.
    ///
    /// ```
    /// # use market_feed::hub::{SnapshotMeta, Source};
    /// let m = SnapshotMeta::new(Source::Checkpoint, time::macros::date!(2026 - 01 - 29), 5);
    /// assert_eq!(m.as_of, Some(5));
    /// ```
    pub fn new(source: Source, trading_day: Date, as_of: i64) -> Self {
        Self {
            source,
            trading_day: Some(trading_day),
            as_of: Some(as_of),
        }
    }
}

/// A topic's source health, as sent in `feed_status.state` (docs/protocol.md §3, §6).
///
/// ```
/// use market_feed::hub::FeedState;
/// assert_eq!(serde_json::to_string(&FeedState::Unauthorized).unwrap(), "\"unauthorized\"");
/// assert!(FeedState::Ok.is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedState {
    /// Refreshes succeed.
    #[default]
    Ok,
    /// Some requests of the last refresh failed (its partial data was still published).
    Degraded,
    /// No successful refresh for too long while the topic is live.
    Stale,
    /// The broker refused the access token: replace it.
    Unauthorized,
}

impl FeedState {
    /// True for [`FeedState::Ok`].
    ///
    /// ```
    /// # use market_feed::hub::FeedState;
    /// assert!(!FeedState::Stale.is_ok());
    /// ```
    pub fn is_ok(self) -> bool {
        self == FeedState::Ok
    }

    /// The wire name (`ok`, `degraded`, `stale`, `unauthorized`), as in a `feed_status` frame.
    ///
    /// ```
    /// # use market_feed::hub::FeedState;
    /// assert_eq!(FeedState::Unauthorized.as_str(), "unauthorized");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::Ok => "ok",
            FeedState::Degraded => "degraded",
            FeedState::Stale => "stale",
            FeedState::Unauthorized => "unauthorized",
        }
    }
}

/// One topic's source health, the body of a `feed_status` frame.
///
/// The feed scheduler publishes it with [`Hub::publish_feed_status`](super::Hub::publish_feed_status)
/// when it changes; the hub sends it to that topic's subscribers, and right after the snapshot to
/// a client that subscribes while the topic is not ok.
///
/// ```
/// use market_feed::hub::{FeedState, FeedStatus};
/// use market_feed::model::Topic;
///
/// let s = FeedStatus::new(Topic::Prices, FeedState::Degraded, "2 of 5 requests failed")
///     .with_last_success(Some(1769680800000));
/// assert_eq!(s.topic, Topic::Prices);
/// assert_eq!(FeedStatus::ok(Topic::Indices).state, FeedState::Ok);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    /// The topic whose source this is.
    pub topic: Topic,
    /// Its health.
    pub state: FeedState,
    /// A human-readable explanation (empty when ok).
    pub detail: String,
    /// When the last refresh succeeded, in ms, if ever.
    pub last_success: Option<i64>,
}

impl FeedStatus {
    /// A status with no `last_success`.
    ///
    /// ```
    /// # use market_feed::hub::{FeedState, FeedStatus};
    /// # use market_feed::model::Topic;
    /// let s = FeedStatus::new(Topic::Indices, FeedState::Stale, "no data for 30 s");
    /// assert_eq!(s.last_success, None);
    /// ```
    pub fn new(topic: Topic, state: FeedState, detail: impl Into<String>) -> Self {
        Self {
            topic,
            state,
            detail: detail.into(),
            last_success: None,
        }
    }

    /// The `ok` status with an empty detail: every topic's status until told otherwise.
    ///
    /// ```
    /// # use market_feed::hub::{FeedState, FeedStatus};
    /// # use market_feed::model::Topic;
    /// assert!(FeedStatus::ok(Topic::Prices).state.is_ok());
    /// ```
    pub fn ok(topic: Topic) -> Self {
        Self::new(topic, FeedState::Ok, "")
    }

    /// Sets when the last refresh succeeded.
    ///
    /// ```
    /// # use market_feed::hub::{FeedState, FeedStatus};
    /// # use market_feed::model::Topic;
    /// let s = FeedStatus::ok(Topic::Prices).with_last_success(Some(7));
    /// assert_eq!(s.last_success, Some(7));
    /// ```
    pub fn with_last_success(mut self, last_success: Option<i64>) -> Self {
        self.last_success = last_success;
        self
    }
}

/// Serializes an optional date as `"YYYY-MM-DD"` or `null`.
pub(crate) fn serialize_day<S: Serializer>(day: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match day {
        Some(d) => s.collect_str(&format_args!(
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[derive(Serialize)]
    struct Day {
        #[serde(serialize_with = "serialize_day")]
        d: Option<Date>,
    }

    #[test]
    fn days_are_iso_dates_or_null() {
        let s = serde_json::to_string(&Day {
            d: Some(date!(2026 - 01 - 08)),
        })
        .unwrap();
        assert_eq!(s, r#"{"d":"2026-01-08"}"#);
        assert_eq!(
            serde_json::to_string(&Day { d: None }).unwrap(),
            r#"{"d":null}"#
        );
    }
}
