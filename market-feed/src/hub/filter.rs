//! [`Filter`]: the set of `prices` instruments a subscriber asked for, interned so that
//! subscribers with the same list share one filter and therefore one filtered frame per batch.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Weak},
};

use crate::model::{InstrumentKey, Quote};

/// A symbol filter on the `prices` topic (docs/protocol.md §3: `symbols` narrows `prices` only).
///
/// Obtain one from [`Hub::resolve_filter`](super::Hub::resolve_filter), which maps symbols and
/// keys to instrument keys and interns the result: two filters naming the same instruments, in
/// any order and spelling, are the same filter ([`Filter::id`] is equal), so a batch is
/// filtered and serialized once for all of their subscribers. Cloning is cheap.
///
/// ```
/// use market_feed::hub::{Hub, HubConfig};
/// use market_feed::model::{InstrumentKey, Topic};
///
/// let hub = Hub::new(HubConfig::default());
/// let rel = InstrumentKey::new("NSE_EQ|INE002A01018")?;
/// hub.set_instruments(Topic::Prices, [(rel.clone(), "RELIANCE".into())]);
/// let a = hub.resolve_filter(["RELIANCE"]).filter;
/// let b = hub.resolve_filter(["NSE_EQ|INE002A01018"]).filter;
/// assert_eq!(a.id(), b.id());
/// assert!(a.contains(&rel));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Filter(Arc<FilterInner>);

struct FilterInner {
    id: u64,
    keys: Box<[InstrumentKey]>,
    set: HashSet<InstrumentKey>,
}

impl Filter {
    /// The interned identity: equal for filters naming the same instruments.
    ///
    /// See [`Filter`] for an example.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The instrument keys of the filter, sorted.
    ///
    /// ```
    /// # use market_feed::hub::{Hub, HubConfig};
    /// # use market_feed::model::{InstrumentKey, Topic};
    /// let hub = Hub::new(HubConfig::default());
    /// hub.set_instruments(Topic::Prices, [(InstrumentKey::new("NSE_EQ|X1")?, "X".into())]);
    /// assert_eq!(hub.resolve_filter(["X"]).filter.keys()[0].as_str(), "NSE_EQ|X1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keys(&self) -> &[InstrumentKey] {
        &self.0.keys
    }

    /// True when the filter names `key`.
    ///
    /// See [`Filter`] for an example.
    pub fn contains(&self, key: &InstrumentKey) -> bool {
        self.0.set.contains(key)
    }

    /// True when the filter names no instrument (every requested symbol was unknown).
    ///
    /// ```
    /// # use market_feed::hub::{Hub, HubConfig};
    /// let hub = Hub::new(HubConfig::default());
    /// assert!(hub.resolve_filter(["NOPE"]).filter.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.keys.is_empty()
    }

    /// The number of instruments the filter names.
    ///
    /// ```
    /// # use market_feed::hub::{Hub, HubConfig};
    /// let hub = Hub::new(HubConfig::default());
    /// assert_eq!(hub.resolve_filter(Vec::<String>::new()).filter.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.keys.len()
    }

    /// True when more than one subscription holds this filter, so a filtered frame is worth
    /// caching for the others.
    pub(crate) fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }

    /// The quotes of `quotes` this filter names, in their order.
    pub(crate) fn select<'a>(
        &'a self,
        quotes: &'a [Quote],
    ) -> impl Iterator<Item = &'a Quote> + 'a {
        quotes.iter().filter(move |q| self.0.set.contains(&q.key))
    }
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for Filter {}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("id", &self.0.id)
            .field("keys", &self.0.keys.len())
            .finish()
    }
}

/// The result of resolving a client's `symbols` list: the filter of the known instruments and
/// the entries that matched none (for an `unknown_symbol` error, docs/protocol.md §3).
///
/// ```
/// use market_feed::hub::{Hub, HubConfig};
/// use market_feed::model::{InstrumentKey, Topic};
///
/// let hub = Hub::new(HubConfig::default());
/// hub.set_instruments(Topic::Prices, [(InstrumentKey::new("NSE_EQ|X1")?, "X".into())]);
/// let r = hub.resolve_filter(["X", "NOPE"]);
/// assert_eq!(r.filter.len(), 1);
/// assert_eq!(r.unknown, vec!["NOPE".to_string()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FilterResolution {
    /// The filter of the known entries (possibly empty).
    pub filter: Filter,
    /// The entries that are neither a known symbol nor a known key, as given.
    pub unknown: Vec<String>,
}

/// Interns filters by their sorted key set. Entries are held weakly: a filter disappears with
/// its last subscription, and dead entries are purged when the table has doubled since the
/// last purge, so the table stays proportional to the live filters.
#[derive(Default)]
pub(crate) struct Interner {
    by_keys: HashMap<Box<[InstrumentKey]>, Weak<FilterInner>>,
    next_id: u64,
    purge_at: usize,
}

impl Interner {
    pub(crate) fn intern(&mut self, mut keys: Vec<InstrumentKey>) -> Filter {
        keys.sort_unstable();
        keys.dedup();
        let keys = keys.into_boxed_slice();
        if let Some(inner) = self.by_keys.get(&keys).and_then(Weak::upgrade) {
            return Filter(inner);
        }
        if self.by_keys.len() >= self.purge_at {
            self.by_keys.retain(|_, w| w.strong_count() > 0);
            self.purge_at = (self.by_keys.len() * 2).max(64);
        }
        self.next_id += 1;
        let inner = Arc::new(FilterInner {
            id: self.next_id,
            set: keys.iter().cloned().collect(),
            keys: keys.clone(),
        });
        self.by_keys.insert(keys, Arc::downgrade(&inner));
        Filter(inner)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(id: &str) -> InstrumentKey {
        InstrumentKey::new(&format!("NSE_EQ|{id}")).unwrap()
    }

    #[test]
    fn same_set_in_any_order_is_the_same_filter() {
        let mut i = Interner::default();
        let a = i.intern(vec![k("A"), k("B")]);
        let b = i.intern(vec![k("B"), k("A"), k("A")]);
        let c = i.intern(vec![k("A")]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(b.len(), 2);
        assert!(a.is_shared());
    }

    #[test]
    fn dropped_filters_are_purged_and_never_reuse_ids() {
        let mut i = Interner::default();
        let first = i.intern(vec![k("A")]).id();
        for n in 0..200 {
            drop(i.intern(vec![k(&format!("X{n}"))]));
        }
        assert!(i.len() <= 64, "dead entries purged, got {}", i.len());
        let again = i.intern(vec![k("A")]);
        assert_ne!(again.id(), first, "a re-created filter gets a fresh id");
        assert!(!again.is_shared());
    }

    #[test]
    fn select_keeps_batch_order() {
        let mut i = Interner::default();
        let f = i.intern(vec![k("C"), k("A")]);
        let qs: Vec<Quote> = ["A", "B", "C"]
            .iter()
            .map(|s| Quote::new(k(s), *s, 1.0, 0))
            .collect();
        let got: Vec<&str> = f.select(&qs).map(|q| &*q.symbol).collect();
        assert_eq!(got, ["A", "C"]);
    }
}
