//! Rows and columns: a stored row back into a [`Quote`], and a save's quotes as the column
//! arrays its `UNNEST` statements take.

use tokio_postgres::{Row, types::ToSql};

use crate::{
    model::{InstrumentKey, Quote},
    store::{StoreError, validate_quote},
};

pub(super) fn read_quote(row: &Row, location: &str) -> Result<Quote, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        location: location.to_owned(),
        detail,
    };
    let col = |e: tokio_postgres::Error| corrupt(e.to_string());
    let raw_key: String = row.try_get(0).map_err(col)?;
    let key = InstrumentKey::new(&raw_key).map_err(|e| corrupt(e.to_string()))?;
    let volume: Option<i64> = row.try_get(9).map_err(col)?;
    let volume = volume
        .map(|v| u64::try_from(v).map_err(|_| corrupt(format!("{raw_key}: negative volume {v}"))))
        .transpose()?;
    let symbol: String = row.try_get(1).map_err(col)?;
    Ok(Quote {
        key,
        symbol: symbol.into(),
        ltp: row.try_get(2).map_err(col)?,
        prev_close: row.try_get(3).map_err(col)?,
        change: row.try_get(4).map_err(col)?,
        change_pct: row.try_get(5).map_err(col)?,
        open: row.try_get(6).map_err(col)?,
        high: row.try_get(7).map_err(col)?,
        low: row.try_get(8).map_err(col)?,
        volume,
        ts: row.try_get(10).map_err(col)?,
    })
}

/// The quotes of one save as column arrays for `UNNEST`, validated and deduplicated.
pub(super) struct Columns<'a> {
    key: Vec<&'a str>,
    symbol: Vec<&'a str>,
    ltp: Vec<f64>,
    prev_close: Vec<Option<f64>>,
    change: Vec<Option<f64>>,
    change_pct: Vec<Option<f64>>,
    open: Vec<Option<f64>>,
    high: Vec<Option<f64>>,
    low: Vec<Option<f64>>,
    volume: Vec<Option<i64>>,
    ts: Vec<i64>,
}

impl<'a> Columns<'a> {
    pub(super) fn new(quotes: &[&'a Quote]) -> Result<Self, StoreError> {
        quotes.iter().try_for_each(|q| validate_quote(q))?;
        let col = |f: fn(&Quote) -> Option<f64>| quotes.iter().map(|q| f(q)).collect();
        Ok(Self {
            key: quotes.iter().map(|q| q.key.as_str()).collect(),
            symbol: quotes.iter().map(|q| q.symbol.as_ref()).collect(),
            ltp: quotes.iter().map(|q| q.ltp).collect(),
            prev_close: col(|q| q.prev_close),
            change: col(|q| q.change),
            change_pct: col(|q| q.change_pct),
            open: col(|q| q.open),
            high: col(|q| q.high),
            low: col(|q| q.low),
            // validate_quote guarantees every volume fits an i64.
            volume: quotes
                .iter()
                .map(|q| q.volume.and_then(|v| i64::try_from(v).ok()))
                .collect(),
            ts: quotes.iter().map(|q| q.ts).collect(),
        })
    }

    /// The 11 quote columns as statement parameters, in the statements' column order
    /// (key, symbol, ltp, prev_close, change, change_pct, open, high, low, volume, ts).
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 11] {
        [
            &self.key,
            &self.symbol,
            &self.ltp,
            &self.prev_close,
            &self.change,
            &self.change_pct,
            &self.open,
            &self.high,
            &self.low,
            &self.volume,
            &self.ts,
        ]
    }
}
