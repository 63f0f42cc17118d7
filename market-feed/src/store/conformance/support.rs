//! Sample data and small helpers shared by the conformance cases.

use std::future::Future;

use time::{Date, macros::date};

use crate::{
    model::{InstrumentKey, Quote},
    store::StoreError,
};

/// `count` quotes with distinct keys `NSE_EQ|INE000000`, `NSE_EQ|INE000001`, ... and every
/// field set, except every 7th quote, which has only the always-present fields (like an index).
/// `ts` is `base_ts + i`.
///
/// ```
/// let qs = market_feed::store::conformance::sample_quotes(2200, 1_000);
/// assert_eq!(qs.len(), 2200);
/// assert_eq!(qs[0].volume, None);
/// assert!(qs[1].volume.is_some());
/// ```
pub fn sample_quotes(count: usize, base_ts: i64) -> Vec<Quote> {
    (0..count)
        .map(|i| {
            let key = InstrumentKey::new(&format!("NSE_EQ|INE{i:06}"))
                .unwrap_or_else(|e| panic!("sample key {i}: {e}"));
            let ltp = 100.0 + (i % 1000) as f64 + 0.05;
            let q = Quote::new(key, format!("SYM{i}"), ltp, base_ts + i as i64);
            if i % 7 == 0 {
                q
            } else {
                q.with_prev_close(Some(ltp - 1.5))
                    .with_ohlc(Some(ltp - 1.0), Some(ltp + 2.25), Some(ltp - 3.1))
                    .with_volume(Some(1_000 * i as u64))
            }
        })
        .collect()
}

pub(super) fn quote(key: &str, ltp: f64, ts: i64) -> Quote {
    let key = InstrumentKey::new(key).unwrap_or_else(|e| panic!("test key {key}: {e}"));
    let symbol = key.id().to_owned();
    Quote::new(key, symbol, ltp, ts)
}

pub(super) fn keys(quotes: &[Quote]) -> Vec<&str> {
    quotes.iter().map(|q| q.key.as_str()).collect()
}

pub(super) async fn must<T>(what: &str, fut: impl Future<Output = Result<T, StoreError>>) -> T {
    match fut.await {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {}", crate::Report::new(&e)),
    }
}

pub(super) const D1: Date = date!(2026 - 01 - 27);
pub(super) const D2: Date = date!(2026 - 01 - 28);
pub(super) const D3: Date = date!(2026 - 01 - 29);
pub(super) const D4: Date = date!(2026 - 01 - 30);
