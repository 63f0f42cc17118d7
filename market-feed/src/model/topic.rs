//! [`Topic`]: the two streams a feed serves, `indices` and `prices`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// An unknown topic name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic {0:?}: use \"indices\" or \"prices\"")]
pub struct TopicError(pub String);

/// A stream of quotes: index levels (`indices`) or stock prices (`prices`).
///
/// ```
/// use market_feed::model::Topic;
///
/// assert_eq!("prices".parse::<Topic>().unwrap(), Topic::Prices);
/// assert_eq!(Topic::Indices.as_str(), "indices");
/// assert_eq!(serde_json::to_string(&Topic::Indices).unwrap(), "\"indices\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topic {
    /// Index levels (NIFTY 50, SENSEX, ...), refreshed every few seconds.
    Indices,
    /// Stock prices, refreshed in large batches every couple of minutes.
    Prices,
}

impl Topic {
    /// Every topic, in wire order.
    pub const ALL: [Topic; 2] = [Topic::Indices, Topic::Prices];

    /// The wire name.
    ///
    /// ```
    /// # use market_feed::model::Topic;
    /// assert_eq!(Topic::Prices.as_str(), "prices");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Indices => "indices",
            Topic::Prices => "prices",
        }
    }

    /// A dense index (0 for `indices`, 1 for `prices`) for per-topic arrays.
    ///
    /// ```
    /// # use market_feed::model::Topic;
    /// assert_eq!(Topic::Prices.index(), 1);
    /// ```
    pub fn index(self) -> usize {
        match self {
            Topic::Indices => 0,
            Topic::Prices => 1,
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Topic {
    type Err = TopicError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "indices" => Ok(Topic::Indices),
            "prices" => Ok(Topic::Prices),
            other => Err(TopicError(other.to_owned())),
        }
    }
}
