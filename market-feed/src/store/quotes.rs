//! What stores return ([`ClosingSnapshot`], [`Checkpoint`]) and the rules every store applies to
//! the quotes it is given ([`validate_quote`], last-duplicate-wins, key order).

use std::collections::HashMap;

use time::{Date, format_description::BorrowedFormatItem, macros::format_description};

use super::StoreError;
use crate::model::{Quote, Topic};

/// The closing quotes of one topic: one trading day's ([`load_close`]) or the latest of every
/// instrument ([`latest_closes`]).
///
/// [`load_close`]: super::SnapshotStore::load_close
/// [`latest_closes`]: super::SnapshotStore::latest_closes
///
/// ```
/// use market_feed::model::{InstrumentKey, Quote, Topic};
/// use market_feed::store::ClosingSnapshot;
/// use time::macros::date;
///
/// let b = Quote::new(InstrumentKey::new("NSE_EQ|B")?, "B", 2.0, 20);
/// let a = Quote::new(InstrumentKey::new("NSE_EQ|A")?, "A", 1.0, 10);
/// let snap = ClosingSnapshot::new(Topic::Prices, date!(2026 - 01 - 29), vec![b, a]);
/// assert_eq!(snap.as_of, 20);
/// assert_eq!(snap.quotes[0].symbol.as_ref(), "A");
/// # Ok::<(), market_feed::model::KeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClosingSnapshot {
    /// The topic of the quotes.
    pub topic: Topic,
    /// The trading day of the closes (for `latest_closes`: the newest stored trading day).
    pub trading_day: Date,
    /// The largest `ts` among `quotes`, in ms since the Unix epoch (0 when `quotes` is empty).
    pub as_of: i64,
    /// The quotes, ordered by instrument key.
    pub quotes: Vec<Quote>,
}

impl ClosingSnapshot {
    /// Builds a snapshot: sorts `quotes` by key and computes `as_of`.
    ///
    /// ```
    /// # use market_feed::{model::Topic, store::ClosingSnapshot};
    /// let s = ClosingSnapshot::new(Topic::Indices, time::macros::date!(2026 - 01 - 29), vec![]);
    /// assert_eq!(s.as_of, 0);
    /// ```
    pub fn new(topic: Topic, trading_day: Date, mut quotes: Vec<Quote>) -> Self {
        sort_by_key(&mut quotes);
        Self {
            topic,
            trading_day,
            as_of: as_of(&quotes),
            quotes,
        }
    }
}

/// The intraday checkpoint of one topic: the latest quotes saved during `trading_day`.
///
/// ```
/// use market_feed::model::{InstrumentKey, Quote, Topic};
/// use market_feed::store::Checkpoint;
///
/// let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50")?, "NIFTY 50", 25000.0, 99);
/// let cp = Checkpoint::new(Topic::Indices, time::macros::date!(2026 - 01 - 29), vec![q]);
/// assert_eq!(cp.as_of, 99);
/// # Ok::<(), market_feed::model::KeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The topic of the quotes.
    pub topic: Topic,
    /// The trading day during which the checkpoint was saved.
    pub trading_day: Date,
    /// The largest `ts` among `quotes`, in ms since the Unix epoch (0 when `quotes` is empty).
    pub as_of: i64,
    /// The quotes, ordered by instrument key.
    pub quotes: Vec<Quote>,
}

impl Checkpoint {
    /// Builds a checkpoint: sorts `quotes` by key and computes `as_of`.
    ///
    /// ```
    /// # use market_feed::{model::Topic, store::Checkpoint};
    /// let c = Checkpoint::new(Topic::Prices, time::macros::date!(2026 - 01 - 29), vec![]);
    /// assert!(c.quotes.is_empty());
    /// ```
    pub fn new(topic: Topic, trading_day: Date, mut quotes: Vec<Quote>) -> Self {
        sort_by_key(&mut quotes);
        Self {
            topic,
            trading_day,
            as_of: as_of(&quotes),
            quotes,
        }
    }
}

/// Checks that a quote can be stored by every store: finite prices and a volume that fits a
/// signed 64-bit SQL integer.
///
/// # Errors
///
/// [`StoreError::InvalidQuote`] naming the key and the field.
///
/// ```
/// use market_feed::model::{InstrumentKey, Quote};
/// use market_feed::store::validate_quote;
///
/// let mut q = Quote::new(InstrumentKey::new("NSE_EQ|X")?, "X", 1.0, 0);
/// assert!(validate_quote(&q).is_ok());
/// q.high = Some(f64::INFINITY);
/// assert!(validate_quote(&q).unwrap_err().to_string().contains("high"));
/// # Ok::<(), market_feed::model::KeyError>(())
/// ```
pub fn validate_quote(q: &Quote) -> Result<(), StoreError> {
    let bad = |reason: String| StoreError::InvalidQuote {
        key: q.key.to_string(),
        reason,
    };
    if !q.ltp.is_finite() {
        return Err(bad(format!("ltp is {}", q.ltp)));
    }
    let optional = [
        ("prev_close", q.prev_close),
        ("change", q.change),
        ("change_pct", q.change_pct),
        ("open", q.open),
        ("high", q.high),
        ("low", q.low),
    ];
    for (field, value) in optional {
        if let Some(v) = value.filter(|v| !v.is_finite()) {
            return Err(bad(format!("{field} is {v}")));
        }
    }
    if let Some(v) = q.volume.filter(|v| i64::try_from(*v).is_err()) {
        return Err(bad(format!("volume {v} is larger than {}", i64::MAX)));
    }
    Ok(())
}

/// The quotes of one save with duplicate keys removed, the last occurrence winning.
pub(crate) fn dedup_last(quotes: &[Quote]) -> Vec<&Quote> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(quotes.len());
    let mut out: Vec<&Quote> = Vec::with_capacity(quotes.len());
    for q in quotes {
        match index.get(q.key.as_str()) {
            Some(&i) => out[i] = q,
            None => {
                index.insert(q.key.as_str(), out.len());
                out.push(q);
            }
        }
    }
    out
}

/// Sorts quotes by the byte order of their key string, the order every store returns.
pub(crate) fn sort_by_key(quotes: &mut [Quote]) {
    quotes.sort_unstable_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
}

/// The largest `ts`, or 0 for no quotes.
pub(crate) fn as_of<'a>(quotes: impl IntoIterator<Item = &'a Quote>) -> i64 {
    quotes.into_iter().map(|q| q.ts).max().unwrap_or(0)
}

/// `YYYY-MM-DD`, how SQLite stores trading days (sorts like the dates it names).
const DAY_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Formats a trading day as `YYYY-MM-DD`.
pub(crate) fn day_to_text(day: Date) -> String {
    // Formatting a Date with a year in 0..=9999 cannot fail; fall back to Display otherwise.
    day.format(DAY_FORMAT).unwrap_or_else(|_| day.to_string())
}

/// Parses a `YYYY-MM-DD` trading day read back from a database.
pub(crate) fn day_from_text(text: &str) -> Option<Date> {
    Date::parse(text, DAY_FORMAT).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InstrumentKey;

    fn q(key: &str, ltp: f64, ts: i64) -> Quote {
        Quote::new(InstrumentKey::new(key).unwrap(), "S", ltp, ts)
    }

    #[test]
    fn dedup_keeps_the_last_occurrence_in_first_position() {
        let quotes = [
            q("NSE_EQ|A", 1.0, 1),
            q("NSE_EQ|B", 2.0, 2),
            q("NSE_EQ|A", 3.0, 3),
        ];
        let d = dedup_last(&quotes);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].ltp, d[1].ltp), (3.0, 2.0));
    }

    #[test]
    fn validation_table() {
        let base = q("NSE_EQ|A", 1.0, 1);
        let mut nan_ltp = base.clone();
        nan_ltp.ltp = f64::NAN;
        let mut inf_low = base.clone();
        inf_low.low = Some(f64::NEG_INFINITY);
        let mut big_volume = base.clone();
        big_volume.volume = Some(u64::MAX);
        let mut max_volume = base.clone();
        max_volume.volume = Some(i64::MAX as u64);
        let cases = [
            (base, true),
            (nan_ltp, false),
            (inf_low, false),
            (big_volume, false),
            (max_volume, true),
        ];
        for (i, (quote, ok)) in cases.iter().enumerate() {
            assert_eq!(validate_quote(quote).is_ok(), *ok, "case {i}");
        }
    }

    #[test]
    fn day_text_round_trip() {
        let d = time::macros::date!(2026 - 01 - 05);
        assert_eq!(day_to_text(d), "2026-01-05");
        assert_eq!(day_from_text("2026-01-05"), Some(d));
        assert_eq!(day_from_text("05/01/2026"), None);
    }
}
