//! The latest values of one topic: its instrument directory in universe order, the latest
//! quote of each instrument, the topic's `seq`, snapshot metadata and feed status.
//!
//! [`TopicState`] is plain data behind a `std::sync::RwLock` in the hub; every method is a
//! short, non-blocking computation, so the lock is never held across an `.await`.

use std::{collections::HashMap, sync::Arc};

use super::{
    filter::Filter,
    frame::Frame,
    status::{FeedStatus, SnapshotMeta},
};
use crate::model::{InstrumentKey, Quote, Topic};

/// A consistent copy of one topic's latest values, for the REST API.
///
/// ```
/// use market_feed::hub::{Hub, HubConfig};
/// use market_feed::model::{InstrumentKey, Quote, Topic};
///
/// let hub = Hub::new(HubConfig::default());
/// let key = InstrumentKey::new("NSE_INDEX|Nifty 50")?;
/// hub.publish(Topic::Indices, vec![Quote::new(key, "NIFTY 50", 25000.0, 1769680800000)])?;
/// let view = hub.view(Topic::Indices);
/// assert_eq!((view.seq, view.meta.as_of, view.data.len()), (1, Some(1769680800000), 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TopicView {
    /// The topic.
    pub topic: Topic,
    /// The topic's `seq`: the number of batches published so far.
    pub seq: u64,
    /// Whether the feed is live (the market status's `live`).
    pub live: bool,
    /// Where the values come from, their trading day and `as_of`.
    pub meta: SnapshotMeta,
    /// The latest quote of every instrument that has one, in universe order.
    pub data: Vec<Quote>,
}

struct Entry {
    key: InstrumentKey,
    symbol: Arc<str>,
    quote: Option<Quote>,
    /// Changed by a tick since the last streamed batch (listed in `TopicState::dirty`).
    dirty: bool,
}

/// The current feed status of a topic with its pre-built frame and a version that grows with
/// every change (0: the initial `ok`).
pub(crate) struct FeedEntry {
    pub(crate) version: u64,
    pub(crate) status: FeedStatus,
    pub(crate) frame: Option<Frame>,
}

/// One topic's latest values and metadata.
pub(crate) struct TopicState {
    topic: Topic,
    entries: Vec<Entry>,
    by_key: HashMap<InstrumentKey, usize>,
    by_symbol: HashMap<Arc<str>, usize>,
    pub(crate) seq: u64,
    pub(crate) live: bool,
    pub(crate) meta: SnapshotMeta,
    /// Grows whenever the snapshot content changes (values, seq, live, meta): keys the
    /// snapshot cache.
    pub(crate) version: u64,
    pub(crate) feed: FeedEntry,
    /// Entries changed by ticks since the last streamed batch, in the order they changed.
    dirty: Vec<usize>,
}

impl TopicState {
    pub(crate) fn new(topic: Topic) -> Self {
        Self {
            topic,
            entries: Vec::new(),
            by_key: HashMap::new(),
            by_symbol: HashMap::new(),
            seq: 0,
            live: false,
            meta: SnapshotMeta::default(),
            version: 0,
            feed: FeedEntry {
                version: 0,
                status: FeedStatus::ok(topic),
                frame: None,
            },
            dirty: Vec::new(),
        }
    }

    /// Replaces the directory; known quotes of instruments still listed are kept.
    pub(crate) fn set_instruments(&mut self, instruments: Vec<(InstrumentKey, Arc<str>)>) {
        let mut old: HashMap<InstrumentKey, (Quote, bool)> = self
            .entries
            .drain(..)
            .filter_map(|e| e.quote.map(|q| (e.key, (q, e.dirty))))
            .collect();
        self.by_key.clear();
        self.by_symbol.clear();
        self.dirty.clear();
        for (key, symbol) in instruments {
            if self.by_key.contains_key(&key) {
                continue;
            }
            let (quote, dirty) = old
                .remove(&key)
                .map_or((None, false), |(q, d)| (Some(q), d));
            let i = self.push(key, symbol, quote);
            if dirty {
                self.entries[i].dirty = true;
                self.dirty.push(i);
            }
        }
        self.version += 1;
    }

    fn push(&mut self, key: InstrumentKey, symbol: Arc<str>, quote: Option<Quote>) -> usize {
        let i = self.entries.len();
        self.by_key.insert(key.clone(), i);
        self.by_symbol.entry(symbol.clone()).or_insert(i);
        self.entries.push(Entry {
            key,
            symbol,
            quote,
            dirty: false,
        });
        i
    }

    /// Stores streamed ticks as the latest values and marks the instruments whose price or
    /// close changed for the next [`TopicState::take_changed`]; a tick that changes neither
    /// is ignored. Fields a tick lacks (volume, open/high/low) keep their known values.
    /// Returns how many instruments changed.
    pub(crate) fn apply_ticks(&mut self, ticks: &[Quote]) -> usize {
        let mut changed = 0;
        for t in ticks {
            let i = match self.by_key.get(&t.key) {
                Some(&i) => i,
                None => self.push(t.key.clone(), t.symbol.clone(), None),
            };
            let entry = &mut self.entries[i];
            let merged = match &entry.quote {
                Some(old) if old.ltp == t.ltp && old.prev_close == t.prev_close => continue,
                Some(old) => {
                    let mut q = t.clone();
                    q.volume = q.volume.or(old.volume);
                    if q.open.is_none() && q.high.is_none() && q.low.is_none() {
                        q.open = old.open;
                        q.high = old.high.map(|h| h.max(q.ltp));
                        q.low = old.low.map(|l| l.min(q.ltp));
                    }
                    q
                }
                None => t.clone(),
            };
            entry.quote = Some(merged);
            if !entry.dirty {
                entry.dirty = true;
                self.dirty.push(i);
            }
            changed += 1;
        }
        if changed > 0 {
            self.version += 1;
        }
        changed
    }

    /// The latest quotes of the instruments changed by ticks since the last call, in
    /// universe order, and clears the marks.
    pub(crate) fn take_changed(&mut self) -> Vec<Quote> {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty
            .into_iter()
            .filter_map(|i| {
                let e = &mut self.entries[i];
                e.dirty = false;
                e.quote.clone()
            })
            .collect()
    }

    /// Marks instruments as changed again (a streamed batch that could not be published).
    pub(crate) fn mark_changed(&mut self, quotes: &[Quote]) {
        for q in quotes {
            if let Some(&i) = self.by_key.get(&q.key) {
                if !self.entries[i].dirty {
                    self.entries[i].dirty = true;
                    self.dirty.push(i);
                }
            }
        }
    }

    /// Stores the quotes as the latest values; instruments not in the directory are appended.
    pub(crate) fn apply(&mut self, quotes: &[Quote]) {
        for q in quotes {
            match self.by_key.get(&q.key) {
                Some(&i) => self.entries[i].quote = Some(q.clone()),
                None => {
                    self.push(q.key.clone(), q.symbol.clone(), Some(q.clone()));
                }
            }
        }
        self.version += 1;
    }

    /// The directory, in universe order.
    pub(crate) fn instruments(&self) -> Vec<(InstrumentKey, Arc<str>)> {
        self.entries
            .iter()
            .map(|e| (e.key.clone(), e.symbol.clone()))
            .collect()
    }

    /// Finds an instrument by key (`SEGMENT|ID`) or symbol (exact, then upper-cased).
    pub(crate) fn lookup(&self, key_or_symbol: &str) -> Option<&InstrumentKey> {
        let i = if key_or_symbol.contains('|') {
            self.by_key.get(key_or_symbol)
        } else {
            self.by_symbol.get(key_or_symbol).or_else(|| {
                self.by_symbol
                    .get(key_or_symbol.to_ascii_uppercase().as_str())
            })
        };
        i.map(|&i| &self.entries[i].key)
    }

    /// The latest quote of `key`, if any.
    pub(crate) fn quote(&self, key: &InstrumentKey) -> Option<&Quote> {
        self.by_key
            .get(key)
            .and_then(|&i| self.entries[i].quote.as_ref())
    }

    /// The latest quotes in universe order, narrowed by `filter` when given.
    pub(crate) fn quotes(&self, filter: Option<&Filter>) -> Vec<Quote> {
        let all = self.entries.iter().filter_map(|e| e.quote.as_ref());
        match filter {
            Some(f) => all.filter(|q| f.contains(&q.key)).cloned().collect(),
            None => all.cloned().collect(),
        }
    }

    pub(crate) fn view(&self) -> TopicView {
        TopicView {
            topic: self.topic,
            seq: self.seq,
            live: self.live,
            meta: self.meta,
            data: self.quotes(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(id: &str) -> InstrumentKey {
        InstrumentKey::new(&format!("NSE_EQ|{id}")).unwrap()
    }

    fn q(id: &str, ltp: f64) -> Quote {
        Quote::new(k(id), id, ltp, 0)
    }

    #[test]
    fn values_follow_directory_order_and_unknowns_are_appended() {
        let mut s = TopicState::new(Topic::Prices);
        s.set_instruments(vec![(k("B"), "B".into()), (k("A"), "A".into())]);
        s.apply(&[q("A", 1.0), q("Z", 3.0), q("B", 2.0)]);
        let view = s.view();
        let order: Vec<&str> = view.data.iter().map(|q| &*q.symbol).collect();
        assert_eq!(order, ["B", "A", "Z"]);
        assert_eq!(s.lookup("z").map(InstrumentKey::as_str), Some("NSE_EQ|Z"));
        assert_eq!(
            s.lookup("NSE_EQ|A").map(InstrumentKey::as_str),
            Some("NSE_EQ|A")
        );
        assert!(s.lookup("NSE_EQ|Q").is_none());
    }

    #[test]
    fn ticks_mark_only_real_changes_keep_volume_and_come_out_in_universe_order() {
        let mut s = TopicState::new(Topic::Prices);
        s.set_instruments(vec![(k("A"), "A".into()), (k("B"), "B".into())]);
        s.apply(&[q("A", 1.0).with_volume(Some(7)), q("B", 2.0)]);
        assert_eq!(s.apply_ticks(&[q("B", 2.5), q("A", 1.0), q("A", 1.5)]), 2);
        assert_eq!(s.apply_ticks(&[q("B", 2.5)]), 0, "same price: no change");
        let out = s.take_changed();
        let got: Vec<(&str, f64, Option<u64>)> =
            out.iter().map(|q| (&*q.symbol, q.ltp, q.volume)).collect();
        assert_eq!(got, [("A", 1.5, Some(7)), ("B", 2.5, None)]);
        assert!(s.take_changed().is_empty(), "marks are cleared");
        s.apply_ticks(&[q("A", 1.6)]);
        s.set_instruments(vec![(k("A"), "A".into())]);
        s.mark_changed(&[q("A", 1.6)]);
        assert_eq!(
            s.take_changed().len(),
            1,
            "a mark survives a directory change once"
        );
    }

    #[test]
    fn replacing_the_directory_keeps_known_values_of_listed_instruments() {
        let mut s = TopicState::new(Topic::Prices);
        s.apply(&[q("A", 1.0), q("B", 2.0)]);
        s.set_instruments(vec![(k("B"), "B".into()), (k("C"), "C".into())]);
        assert_eq!(s.quote(&k("B")).map(|q| q.ltp), Some(2.0));
        assert!(s.quote(&k("A")).is_none());
        assert_eq!(s.instruments().len(), 2);
        assert_eq!(s.quotes(None).len(), 1);
    }
}
