//! The universe: the instruments a feed serves, by topic (`indices`, `prices`).
//!
//! [`Universe::bundled`] is the default: the 9 indices of the original application with their
//! Upstox keys, and every EQ-series stock of NSE's `EQUITY_L.csv` (2,099 stocks, keys
//! `NSE_EQ|<ISIN>`). Users load their own with [`Universe::from_path`] (`--universe PATH`) from
//!
//! - a CSV file with the header `topic,key,symbol,name,isin` (see [`csv_format`]),
//! - a JSON array of `{"topic","key","symbol","name","isin"}` objects (the `/api/v1/instruments`
//!   shape, `topic` optional),
//! - Upstox's instruments master file (`NSE.json.gz`, `complete.json.gz`: indices and EQ stocks
//!   are taken, derivatives skipped),
//!
//! plain or gzip-compressed. Bad input (malformed key, duplicate key, empty file, unknown column)
//! is a [`UniverseError`] naming the file and line.
//!
//! A universe that stays current by itself comes from Upstox's daily instrument file
//! ([`upstox`], refreshed by a [`UniverseRefresher`] into a [`LiveUniverse`]): new listings
//! and delistings take effect at the next session, and each day's changes are a
//! [`UniverseDiff`].
//!
//! ```
//! use market_feed::{model::Topic, universe::Universe};
//!
//! let u = Universe::bundled();
//! assert_eq!(u.indices().len(), 9);
//! assert!(u.prices().len() > 2_000);
//! let reliance = u.by_symbol("reliance").unwrap();
//! assert_eq!(reliance.key.as_str(), "NSE_EQ|INE002A01018");
//! assert_eq!(u.topic_of(&reliance.key), Some(Topic::Prices));
//! ```

mod bundled;
pub mod csv_format;
mod diff;
mod error;
mod instrument;
mod json_format;
mod live;
mod load;
mod refresh;
mod row;
pub mod upstox;

use std::{collections::HashMap, path::Path, sync::Arc};

use crate::model::{InstrumentKey, Topic};

pub use bundled::{BUNDLED_UNIVERSE, BUNDLED_UNIVERSE_LABEL};
pub use diff::{SYMBOLS_SHOWN, UniverseDiff};
pub use error::{Location, UniverseError};
pub use instrument::{Instrument, is_index_segment};
pub use live::{LiveUniverse, UniverseOrigin, UniverseReport};
pub use refresh::UniverseRefresher;

/// The instruments a feed serves, by topic, with lookups by key and by symbol.
///
/// Cheap to clone (an `Arc` inside).
///
/// ```
/// use market_feed::{model::{InstrumentKey, Topic}, universe::{Instrument, Universe}};
///
/// let key = InstrumentKey::new("NSE_INDEX|Nifty 50")?;
/// let u = Universe::new(vec![Instrument::new(key.clone(), "NIFTY 50", "Nifty 50", None)], vec![])?;
/// assert_eq!(u.instruments(Topic::Indices).len(), 1);
/// assert_eq!(u.get(&key).unwrap().symbol.as_ref(), "NIFTY 50");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Universe {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    lists: [Vec<Instrument>; 2],
    by_key: HashMap<InstrumentKey, (Topic, usize)>,
    by_symbol: HashMap<String, (Topic, usize)>,
}

/// One parsed instrument with the topic and line it came from (the loaders' common output).
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) topic: Topic,
    pub(crate) instrument: Instrument,
    pub(crate) line: u64,
}

impl Universe {
    /// A universe of the given indices and stocks. Keys must be unique.
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, universe::{Instrument, Universe}};
    /// let i = Instrument::new(InstrumentKey::new("NSE_EQ|INE002A01018").unwrap(), "RELIANCE", "Reliance", None);
    /// assert!(Universe::new(vec![], vec![i.clone(), i]).is_err());
    /// ```
    pub fn new(indices: Vec<Instrument>, prices: Vec<Instrument>) -> Result<Self, UniverseError> {
        let entries = indices
            .into_iter()
            .map(|i| (Topic::Indices, i))
            .chain(prices.into_iter().map(|i| (Topic::Prices, i)))
            .enumerate()
            .map(|(n, (topic, instrument))| Entry {
                topic,
                instrument,
                line: n as u64 + 1,
            })
            .collect();
        Self::from_entries("<in-memory universe>", entries)
    }

    /// The bundled default universe (parsed once per process, then shared).
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// let u = Universe::bundled();
    /// assert_eq!(u.by_symbol("SENSEX").unwrap().key.as_str(), "BSE_INDEX|SENSEX");
    /// ```
    pub fn bundled() -> Universe {
        bundled::bundled()
    }

    /// Loads a universe file: CSV, JSON or Upstox's instruments master, plain or gzipped,
    /// detected from the content. Blocking file I/O: at start-up, or inside `spawn_blocking`.
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("u.csv");
    /// std::fs::write(&path, "key,symbol\nNSE_EQ|INE002A01018,RELIANCE\n")?;
    /// assert_eq!(Universe::from_path(&path)?.prices().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, UniverseError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| UniverseError::Io {
            file: file.clone(),
            source,
        })?;
        Self::from_bytes(&file, &bytes)
    }

    /// Parses a universe from bytes; `file` names it in errors. Same formats as
    /// [`Universe::from_path`].
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// let json = br#"[{"key":"NSE_INDEX|Nifty 50","symbol":"NIFTY 50"}]"#;
    /// let u = Universe::from_bytes("u.json", json)?;
    /// assert_eq!(u.indices()[0].symbol.as_ref(), "NIFTY 50");
    /// # Ok::<(), market_feed::universe::UniverseError>(())
    /// ```
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Self, UniverseError> {
        let entries = load::parse(file, bytes)?;
        Self::from_entries(file, entries)
    }

    pub(crate) fn from_entries(file: &str, entries: Vec<Entry>) -> Result<Self, UniverseError> {
        if entries.is_empty() {
            return Err(UniverseError::Empty(Location::new(file, None)));
        }
        let mut lists: [Vec<Instrument>; 2] = [Vec::new(), Vec::new()];
        let mut by_key: HashMap<InstrumentKey, (Topic, usize)> =
            HashMap::with_capacity(entries.len());
        let mut lines: HashMap<InstrumentKey, u64> = HashMap::with_capacity(entries.len());
        let mut by_symbol = HashMap::with_capacity(entries.len());
        for Entry {
            topic,
            instrument,
            line,
        } in entries
        {
            if let Some(first_line) = lines.get(&instrument.key) {
                return Err(UniverseError::DuplicateKey {
                    at: Location::new(file, Some(line)),
                    key: instrument.key.to_string(),
                    first_line: *first_line,
                });
            }
            lines.insert(instrument.key.clone(), line);
            let list = &mut lists[topic.index()];
            let slot = (topic, list.len());
            by_key.insert(instrument.key.clone(), slot);
            by_symbol
                .entry(instrument.symbol.to_uppercase())
                .or_insert(slot);
            list.push(instrument);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                lists,
                by_key,
                by_symbol,
            }),
        })
    }

    /// The instruments of a topic, in file order.
    ///
    /// ```
    /// # use market_feed::{model::Topic, universe::Universe};
    /// assert_eq!(Universe::bundled().instruments(Topic::Indices)[0].symbol.as_ref(), "NIFTY 50");
    /// ```
    pub fn instruments(&self, topic: Topic) -> &[Instrument] {
        &self.inner.lists[topic.index()]
    }

    /// The indices (`instruments(Topic::Indices)`).
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// assert!(Universe::bundled().indices().iter().all(|i| i.is_index()));
    /// ```
    pub fn indices(&self) -> &[Instrument] {
        self.instruments(Topic::Indices)
    }

    /// The stocks (`instruments(Topic::Prices)`).
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// assert!(Universe::bundled().prices().iter().all(|i| !i.is_index()));
    /// ```
    pub fn prices(&self) -> &[Instrument] {
        self.instruments(Topic::Prices)
    }

    /// Every instrument with its topic, indices first.
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// let u = Universe::bundled();
    /// assert_eq!(u.iter().count(), u.len());
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (Topic, &Instrument)> + '_ {
        Topic::ALL
            .into_iter()
            .flat_map(move |t| self.instruments(t).iter().map(move |i| (t, i)))
    }

    /// The number of instruments over both topics.
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// assert_eq!(Universe::bundled().len(), 9 + 2099);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.lists.iter().map(Vec::len).sum()
    }

    /// True when the universe has no instruments (never for a loaded one).
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// assert!(!Universe::bundled().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The instrument with this key.
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, universe::Universe};
    /// let key = InstrumentKey::new("NSE_INDEX|India VIX").unwrap();
    /// assert_eq!(Universe::bundled().get(&key).unwrap().symbol.as_ref(), "INDIA VIX");
    /// ```
    pub fn get(&self, key: &InstrumentKey) -> Option<&Instrument> {
        self.inner.by_key.get(key).map(|&slot| self.at(slot))
    }

    /// The topic an instrument belongs to.
    ///
    /// ```
    /// # use market_feed::{model::{InstrumentKey, Topic}, universe::Universe};
    /// let key = InstrumentKey::new("BSE_INDEX|BANKEX").unwrap();
    /// assert_eq!(Universe::bundled().topic_of(&key), Some(Topic::Indices));
    /// ```
    pub fn topic_of(&self, key: &InstrumentKey) -> Option<Topic> {
        self.inner.by_key.get(key).map(|&(topic, _)| topic)
    }

    /// The instrument with this symbol, ignoring case. When two instruments share a symbol (the
    /// same stock on NSE and BSE), the first one in the file wins.
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// assert_eq!(Universe::bundled().by_symbol("Nifty Bank").unwrap().key.as_str(), "NSE_INDEX|Nifty Bank");
    /// ```
    pub fn by_symbol(&self, symbol: &str) -> Option<&Instrument> {
        let slot = match self.inner.by_symbol.get(symbol) {
            Some(slot) => Some(slot),
            None => self.inner.by_symbol.get(&symbol.to_uppercase()),
        };
        slot.map(|&slot| self.at(slot))
    }

    /// The instrument named by a symbol or a key, as clients may write either (docs/protocol.md §3).
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// let u = Universe::bundled();
    /// assert_eq!(u.resolve("TCS"), u.resolve("NSE_EQ|INE467B01029"));
    /// assert!(u.resolve("NO SUCH THING").is_none());
    /// ```
    pub fn resolve(&self, symbol_or_key: &str) -> Option<&Instrument> {
        if symbol_or_key.contains('|') {
            if let Ok(key) = InstrumentKey::new(symbol_or_key) {
                if let Some(i) = self.get(&key) {
                    return Some(i);
                }
            }
        }
        self.by_symbol(symbol_or_key)
    }

    fn at(&self, (topic, index): (Topic, usize)) -> &Instrument {
        &self.inner.lists[topic.index()][index]
    }
}

#[cfg(test)]
mod tests;
