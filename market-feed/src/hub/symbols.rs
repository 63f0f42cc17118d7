//! [`Hub::subscribe_symbols`]: a subscription to named instruments that fails loudly when a
//! name is unknown, instead of silently yielding nothing.

use super::{Hub, Subscription};
use crate::model::Topic;

/// Symbols (or keys) that name no instrument of the hub's `prices` topic.
///
/// The hub knows the instruments from the moment a [`Feed`](crate::feed::Feed) is built
/// with it (or from [`Hub::set_instruments`]); an unknown entry is a typo, a delisted stock, or
/// a hub that no feed was built on yet.
///
/// ```
/// # use market_feed::hub::{Hub, UnknownSymbols};
/// let e = UnknownSymbols { unknown: vec!["RELIANC".into()] };
/// assert_eq!(e.to_string(), "unknown symbols: RELIANC (not in the prices universe: check the spelling, or build the feed on this hub first)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown symbols: {} (not in the prices universe: check the spelling, or build the feed on this hub first)",
    unknown.join(", ")
)]
pub struct UnknownSymbols {
    /// The entries that are neither a known symbol nor a known key, as given.
    pub unknown: Vec<String>,
}

impl Hub {
    /// Subscribes to `prices` narrowed to `symbols` (symbols or instrument keys, as
    /// [`Hub::resolve_filter`] reads them), or fails with every entry that names nothing.
    /// Add [`Topic::Indices`] with [`Subscription::subscribe`] if you want both.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use market_feed::{hub::Hub, model::{InstrumentKey, Topic}};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let hub = Hub::default();
    /// hub.set_instruments(Topic::Prices, [(InstrumentKey::new("NSE_EQ|INE467B01029")?, "TCS".into())]);
    /// assert_eq!(hub.subscribe_symbols(["TCS", "TSC"]).unwrap_err().unknown, ["TSC"]);
    /// let mut sub = hub.subscribe_symbols(["tcs"])?;
    /// let first = sub.next().await.expect("a snapshot first");
    /// assert_eq!(first.topic(), Some(Topic::Prices));
    /// # Ok(()) }
    /// ```
    pub fn subscribe_symbols<I, S>(&self, symbols: I) -> Result<Subscription, UnknownSymbols>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let resolved = self.resolve_filter(symbols);
        if !resolved.unknown.is_empty() || resolved.filter.is_empty() {
            return Err(UnknownSymbols {
                unknown: resolved.unknown,
            });
        }
        Ok(self.subscribe(&[Topic::Prices], Some(resolved.filter)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InstrumentKey;

    #[test]
    fn an_empty_list_or_any_unknown_entry_is_an_error() {
        let hub = Hub::default();
        assert_eq!(
            hub.subscribe_symbols(["TCS"]).unwrap_err().unknown,
            ["TCS"],
            "a hub without instruments knows nothing"
        );
        hub.set_instruments(
            Topic::Prices,
            [(
                InstrumentKey::new("NSE_EQ|INE467B01029").unwrap(),
                "TCS".into(),
            )],
        );
        assert!(hub.subscribe_symbols(Vec::<String>::new()).is_err());
        assert!(hub.subscribe_symbols(["TCS", "NSE_EQ|NOPE"]).is_err());
        assert!(hub.subscribe_symbols(["NSE_EQ|INE467B01029"]).is_ok());
    }
}
