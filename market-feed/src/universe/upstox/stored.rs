//! The stored form of a universe from Upstox: compact JSON with the fetch time and one array
//! per stock, kept as reference document [`REFERENCE_NAME`](super::REFERENCE_NAME).
//!
//! ```text
//! {"version":1,"fetched_at":1769655600000,"prices":[["NSE_EQ|INE002A01018","RELIANCE","RELIANCE INDUSTRIES LTD","INE002A01018"],...]}
//! ```
//!
//! Indices are not stored: they are always the bundled ones.
//!
//! ```
//! use market_feed::universe::{Universe, upstox::stored};
//! let u = Universe::bundled();
//! let body = stored::encode(&u, 1_769_655_600_000);
//! let back = stored::decode(&body)?;
//! assert_eq!(back.fetched_at, 1_769_655_600_000);
//! assert_eq!(back.universe.len(), u.len());
//! # Ok::<(), market_feed::universe::upstox::UpstoxFileError>(())
//! ```

use serde::{Deserialize, Serialize};

use super::{UpstoxFileError, universe_from_stocks};
use crate::{
    model::InstrumentKey,
    universe::{Instrument, Universe},
};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Doc {
    version: u32,
    fetched_at: i64,
    prices: Vec<(String, String, String, Option<String>)>,
}

/// A universe read back from the store.
#[derive(Debug, Clone)]
pub struct StoredUniverse {
    /// The bundled indices and the stored stocks.
    pub universe: Universe,
    /// When the file it came from was fetched, ms since the Unix epoch.
    pub fetched_at: i64,
}

/// Encodes the `prices` of `universe` with the fetch time.
///
/// See the [module docs](self) for an example.
pub fn encode(universe: &Universe, fetched_at: i64) -> Vec<u8> {
    let doc = Doc {
        version: VERSION,
        fetched_at,
        prices: universe
            .prices()
            .iter()
            .map(|i| {
                (
                    i.key.to_string(),
                    i.symbol.to_string(),
                    i.name.to_string(),
                    i.isin.as_deref().map(str::to_owned),
                )
            })
            .collect(),
    };
    // Serializing strings and numbers cannot fail.
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// Decodes a stored universe.
///
/// # Errors
///
/// [`UpstoxFileError::Corrupt`] for a document that is not this format (or another version),
/// [`UpstoxFileError::Universe`] when its stocks do not make a universe.
///
/// ```
/// assert!(market_feed::universe::upstox::stored::decode(b"{}").is_err());
/// ```
pub fn decode(body: &[u8]) -> Result<StoredUniverse, UpstoxFileError> {
    let corrupt = |message: String| UpstoxFileError::Corrupt { message };
    let doc: Doc =
        serde_json::from_slice(body).map_err(|e| corrupt(format!("stored universe: {e}")))?;
    if doc.version != VERSION {
        return Err(corrupt(format!(
            "stored universe: version {} (this build reads {VERSION})",
            doc.version
        )));
    }
    let stocks = doc
        .prices
        .into_iter()
        .map(|(key, symbol, name, isin)| {
            let key = InstrumentKey::new(&key)
                .map_err(|e| corrupt(format!("stored universe: {key:?}: {e}")))?;
            Ok(Instrument::new(key, symbol, name, isin.as_deref()))
        })
        .collect::<Result<Vec<_>, UpstoxFileError>>()?;
    if stocks.is_empty() {
        return Err(corrupt("stored universe: no stocks".to_owned()));
    }
    Ok(StoredUniverse {
        universe: universe_from_stocks(stocks)?,
        fetched_at: doc.fetched_at,
    })
}
