//! [`Latest`]: a topic's latest values as the leader retains them on the bus, so a node that
//! joins or reconnects serves them as its snapshot with the leader's `seq`.

use serde::{Deserialize, Serialize};
use time::{Date, macros::format_description};

use crate::{
    hub::{Hub, SnapshotMeta, Source},
    model::{Quote, Topic},
};

/// A topic's latest values, `seq` and snapshot metadata, as JSON on the bus.
///
/// ```
/// use market_feed::{cluster::Latest, hub::Hub, model::{InstrumentKey, Quote, Topic}};
/// let leader = Hub::default();
/// leader.publish(Topic::Indices, vec![Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25000.0, 7)])?;
/// let bytes = Latest::of(&leader, Topic::Indices).to_bytes()?;
///
/// let follower = Hub::default();
/// assert!(Latest::from_bytes(&bytes)?.restore_into(&follower));
/// assert_eq!(follower.seq(Topic::Indices), 1);
/// assert_eq!(follower.quote("NIFTY 50").map(|q| q.ltp), Some(25000.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    /// The topic.
    pub topic: Topic,
    /// The topic's `seq` when the values were taken.
    pub seq: u64,
    /// Whether the feed was live.
    pub live: bool,
    /// Where the values come from.
    pub source: Source,
    /// Their trading day (`YYYY-MM-DD`).
    pub trading_day: Option<String>,
    /// The newest quote time, in ms.
    pub as_of: Option<i64>,
    /// The latest quote of every instrument that has one.
    pub data: Vec<Quote>,
}

impl Latest {
    /// The hub's latest values of `topic`.
    ///
    /// See [`Latest`] for an example.
    pub fn of(hub: &Hub, topic: Topic) -> Self {
        let view = hub.view(topic);
        Self {
            topic,
            seq: view.seq,
            live: view.live,
            source: view.meta.source,
            trading_day: view
                .meta
                .trading_day
                .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())),
            as_of: view.meta.as_of,
            data: view.data,
        }
    }

    /// The JSON form.
    ///
    /// # Errors
    /// A quote that cannot be serialized (not expected).
    ///
    /// See [`Latest`] for an example.
    pub fn to_bytes(&self) -> Result<bytes::Bytes, serde_json::Error> {
        serde_json::to_vec(self).map(bytes::Bytes::from)
    }

    /// Reads the JSON form.
    ///
    /// # Errors
    /// Bytes that are not a `Latest` (a leader of an incompatible version).
    ///
    /// See [`Latest`] for an example.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Loads the values into `hub` with their `seq` (see [`Hub::restore`]); false when the
    /// hub is already further along.
    ///
    /// See [`Latest`] for an example.
    pub fn restore_into(self, hub: &Hub) -> bool {
        let day = self
            .trading_day
            .as_deref()
            .and_then(|d| Date::parse(d, format_description!("[year]-[month]-[day]")).ok());
        let meta = SnapshotMeta {
            source: self.source,
            trading_day: day,
            as_of: self.as_of,
        };
        hub.restore(self.topic, self.seq, self.data, meta, self.live)
    }
}
