//! The keys Upstox does not know, held back until the next trading day or a universe change,
//! and the report of every instrument without a quote (logged once per day by symbol).
//!
//! One [`Book`] per source (shared by its clones, so by both topics). A fetch asks it which
//! of its keys to leave out ([`Book::hold`]) and tells it what came back ([`Book::record`]).
//! A held key is released when the IST date changes (the next trading day comes on a later
//! date) or when the fetch that asks for it is made of a different set of keys (the universe
//! changed).

use std::{
    collections::{BTreeMap, HashMap},
    hash::{Hash, Hasher},
    sync::{Mutex, MutexGuard, PoisonError},
};

use time::Date;

use crate::{
    model::InstrumentKey,
    source::{MissingInstrument, MissingReason},
    universe::Instrument,
};

/// A key the broker refused: since when, and in which fetch (by its fingerprint).
#[derive(Debug, Clone, Copy)]
struct Held {
    day: Date,
    fingerprint: u64,
}

#[derive(Debug, Default)]
struct State {
    held: HashMap<InstrumentKey, Held>,
    report: BTreeMap<InstrumentKey, (String, MissingReason)>,
    /// The day each (key, reason) was last logged.
    logged: HashMap<(InstrumentKey, MissingReason), Date>,
}

/// See the [module docs](self).
#[derive(Debug, Default)]
pub(super) struct Book {
    state: Mutex<State>,
}

/// A fingerprint of the keys of one fetch: it changes when the universe does.
pub(super) fn fingerprint(instruments: &[&Instrument]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for i in instruments {
        i.key.hash(&mut h);
    }
    h.finish()
}

impl Book {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Splits the instruments of a fetch into those to ask for and the keys held back; held
    /// keys from an earlier day or another universe are released first.
    pub(super) fn hold<'a>(
        &self,
        unique: &[&'a Instrument],
        today: Date,
        fingerprint: u64,
    ) -> (Vec<&'a Instrument>, Vec<InstrumentKey>) {
        let mut s = self.lock();
        if s.held.is_empty() {
            return (unique.to_vec(), Vec::new());
        }
        let mut ask = Vec::with_capacity(unique.len());
        let mut held = Vec::new();
        for i in unique {
            match s.held.get(&i.key).copied() {
                Some(h) if h.day == today && h.fingerprint == fingerprint => {
                    held.push(i.key.clone());
                }
                Some(_) => {
                    s.held.remove(&i.key);
                    s.report.remove(&i.key);
                    ask.push(*i);
                }
                None => ask.push(*i),
            }
        }
        (ask, held)
    }

    /// Records what a fetch found: `quoted` keys are no longer missing, `no_price` ones are
    /// missing for that reason, `unknown` ones are held back and missing as unknown. Logs each
    /// newly missing instrument once per day, by symbol.
    pub(super) fn record(
        &self,
        today: Date,
        fingerprint: u64,
        quoted: impl IntoIterator<Item = InstrumentKey>,
        no_price: &[&Instrument],
        unknown: &[Instrument],
    ) {
        let mut s = self.lock();
        for key in quoted {
            if !s.report.is_empty() {
                s.report.remove(&key);
            }
        }
        let mut fresh: BTreeMap<MissingReason, Vec<String>> = BTreeMap::new();
        let lists = [
            (MissingReason::NoPrice, no_price.to_vec()),
            (MissingReason::Unknown, unknown.iter().collect()),
        ];
        for (reason, list) in lists {
            for i in list {
                if reason == MissingReason::Unknown {
                    s.held.insert(
                        i.key.clone(),
                        Held {
                            day: today,
                            fingerprint,
                        },
                    );
                }
                s.report
                    .insert(i.key.clone(), (i.symbol.to_string(), reason));
                let when = s.logged.insert((i.key.clone(), reason), today);
                if when != Some(today) {
                    fresh.entry(reason).or_default().push(i.symbol.to_string());
                }
            }
        }
        drop(s);
        for (reason, symbols) in fresh {
            match reason {
                MissingReason::Unknown => tracing::warn!(
                    count = symbols.len(),
                    symbols = %symbols.join(", "),
                    "Upstox does not know {} instrument(s) of the universe: {}; they are not requested again until the next trading day or a universe change",
                    symbols.len(),
                    symbols.join(", ")
                ),
                MissingReason::NoPrice => tracing::warn!(
                    count = symbols.len(),
                    symbols = %symbols.join(", "),
                    "Upstox answered {} instrument(s) without a price: {}",
                    symbols.len(),
                    symbols.join(", ")
                ),
            }
        }
    }

    /// Every instrument currently reported missing, by symbol.
    pub(super) fn missing(&self) -> Vec<MissingInstrument> {
        let s = self.lock();
        let mut out: Vec<MissingInstrument> = s
            .report
            .iter()
            .map(|(key, (symbol, reason))| MissingInstrument {
                key: key.clone(),
                symbol: symbol.clone(),
                reason: *reason,
            })
            .collect();
        out.sort_by(|a, b| a.symbol.cmp(&b.symbol).then(a.key.cmp(&b.key)));
        out
    }

    /// Forgets every held key and report (the next fetch asks for everything again).
    pub(super) fn clear(&self) {
        let mut s = self.lock();
        s.held.clear();
        s.report.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn inst(n: usize) -> Instrument {
        Instrument::new(
            InstrumentKey::new(&format!("NSE_EQ|INE{n:05}X0101")).unwrap(),
            format!("S{n}"),
            "",
            None,
        )
    }

    #[test]
    fn unknown_keys_are_held_until_the_next_day_or_another_universe() {
        let all: Vec<Instrument> = (0..4).map(inst).collect();
        let refs: Vec<&Instrument> = all.iter().collect();
        let fp = fingerprint(&refs);
        let day = date!(2026 - 01 - 29);
        let book = Book::default();
        book.record(day, fp, [all[0].key.clone()], &[&all[1]], &[all[2].clone()]);
        let (ask, held) = book.hold(&refs, day, fp);
        assert_eq!(ask.len(), 3);
        assert_eq!(held, vec![all[2].key.clone()]);
        let reasons: Vec<_> = book
            .missing()
            .into_iter()
            .map(|m| (m.symbol, m.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("S1".to_owned(), MissingReason::NoPrice),
                ("S2".to_owned(), MissingReason::Unknown)
            ]
        );
        // A price later clears "no price".
        book.record(day, fp, [all[1].key.clone()], &[], &[]);
        assert_eq!(book.missing().len(), 1);
        // Another universe (a different key set) asks again.
        let (ask, held) = book.hold(&refs[..3], day, fingerprint(&refs[..3]));
        assert_eq!((ask.len(), held.len()), (3, 0));
        assert!(book.missing().is_empty());
        // The next day asks again.
        book.record(day, fp, [], &[], &[all[2].clone()]);
        let (ask, _) = book.hold(&refs, date!(2026 - 01 - 30), fp);
        assert_eq!(ask.len(), 4);
    }
}
