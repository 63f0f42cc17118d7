//! [`UniverseDiff`]: what changed between two universes (listings, delistings), and the log
//! line that says so.

use std::{collections::HashSet, fmt};

use super::{Instrument, Universe};
use crate::model::InstrumentKey;

/// How many symbols a change line names before it says "and N more".
pub const SYMBOLS_SHOWN: usize = 20;

/// The instruments listed in a new universe and not the old one, and the other way round, by
/// key, in the new (listed) and old (delisted) universe's order.
///
/// ```
/// use market_feed::{model::InstrumentKey, universe::{Instrument, Universe, UniverseDiff}};
///
/// let stock = |k: &str, s: &str| Instrument::new(InstrumentKey::new(k).unwrap(), s, s, None);
/// let old = Universe::new(vec![], vec![stock("NSE_EQ|A1", "ABC"), stock("NSE_EQ|X1", "XYZ")])?;
/// let new = Universe::new(vec![], vec![stock("NSE_EQ|A1", "ABC"), stock("NSE_EQ|D1", "DEF")])?;
/// let diff = UniverseDiff::between(&old, &new);
/// assert_eq!(diff.to_string(), "universe: +1 listed (DEF), -1 delisted (XYZ)");
/// # Ok::<(), market_feed::universe::UniverseError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UniverseDiff {
    /// In the new universe only.
    pub listed: Vec<Instrument>,
    /// In the old universe only.
    pub delisted: Vec<Instrument>,
}

impl UniverseDiff {
    /// The difference from `old` to `new`, over both topics.
    ///
    /// See [`UniverseDiff`] for an example.
    pub fn between(old: &Universe, new: &Universe) -> Self {
        let keys = |u: &Universe| -> HashSet<InstrumentKey> {
            u.iter().map(|(_, i)| i.key.clone()).collect()
        };
        let (old_keys, new_keys) = (keys(old), keys(new));
        Self {
            listed: new
                .iter()
                .filter(|(_, i)| !old_keys.contains(&i.key))
                .map(|(_, i)| i.clone())
                .collect(),
            delisted: old
                .iter()
                .filter(|(_, i)| !new_keys.contains(&i.key))
                .map(|(_, i)| i.clone())
                .collect(),
        }
    }

    /// True when nothing was listed or delisted.
    ///
    /// ```
    /// # use market_feed::universe::{Universe, UniverseDiff};
    /// let u = Universe::bundled();
    /// assert!(UniverseDiff::between(&u, &u).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty() && self.delisted.is_empty()
    }
}

impl fmt::Display for UniverseDiff {
    /// `universe: +3 listed (ABC, DEF, GHI), -2 delisted (XYZ, PQR)`, at most
    /// [`SYMBOLS_SHOWN`] symbols per list, then `and N more`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("universe: no listings or delistings");
        }
        f.write_str("universe: ")?;
        let mut first = true;
        for (sign, word, list) in [
            ('+', "listed", &self.listed),
            ('-', "delisted", &self.delisted),
        ] {
            if list.is_empty() {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{sign}{} {word} (", list.len())?;
            for (n, i) in list.iter().take(SYMBOLS_SHOWN).enumerate() {
                if n > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(&i.symbol)?;
            }
            if list.len() > SYMBOLS_SHOWN {
                write!(f, " and {} more", list.len() - SYMBOLS_SHOWN)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stocks(symbols: impl IntoIterator<Item = String>) -> Universe {
        let list = symbols
            .into_iter()
            .map(|s| {
                Instrument::new(
                    InstrumentKey::new(&format!("NSE_EQ|IN{s}")).unwrap(),
                    s.as_str(),
                    s.as_str(),
                    None,
                )
            })
            .collect();
        Universe::new(vec![], list).unwrap()
    }

    #[test]
    fn lines_name_symbols_and_truncate() {
        let old = stocks((0..30).map(|n| format!("OLD{n}")));
        let new = stocks((0..25).map(|n| format!("NEW{n}")));
        let line = UniverseDiff::between(&old, &new).to_string();
        assert!(
            line.starts_with("universe: +25 listed (NEW0, NEW1,"),
            "{line}"
        );
        assert!(
            line.contains("NEW19 and 5 more), -30 delisted (OLD0,"),
            "{line}"
        );
        assert!(line.ends_with("OLD19 and 10 more)"), "{line}");
        assert!(!line.contains("NEW20"), "{line}");
    }

    #[test]
    fn one_sided_and_empty_changes() {
        let a = stocks(["A".to_owned(), "B".to_owned()]);
        let b = stocks(["A".to_owned()]);
        assert_eq!(
            UniverseDiff::between(&a, &b).to_string(),
            "universe: -1 delisted (B)"
        );
        assert_eq!(
            UniverseDiff::between(&b, &a).to_string(),
            "universe: +1 listed (B)"
        );
        assert_eq!(
            UniverseDiff::between(&a, &a).to_string(),
            "universe: no listings or delistings"
        );
    }
}
