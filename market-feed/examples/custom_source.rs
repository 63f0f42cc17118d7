//! A custom `PriceSource`: quotes read from a CSV file, re-read on every fetch.
//!
//! Run with:
//!
//! ```text
//! cargo run -p market-feed --example custom_source              # writes a sample file first
//! cargo run -p market-feed --example custom_source -- quotes.csv
//! ```
//!
//! The file has the header `key,ltp,prev_close,volume` (the last two may be empty), for
//! example `NSE_EQ|INE002A01018,1391.20,1402.90,4769483`. Instruments that are not in the file
//! are reported as `missing`, as the `PriceSource` contract asks.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use async_trait::async_trait;
use market_feed::{
    clock::MarketClock,
    model::{InstrumentKey, Quote},
    source::{Fetched, PriceSource, SourceError},
    universe::{Instrument, Universe},
};

/// Quotes from a CSV file that another program keeps up to date.
#[derive(Debug)]
struct CsvQuoteSource {
    path: PathBuf,
    clock: MarketClock,
}

/// One row of the file.
#[derive(Debug, serde::Deserialize)]
struct Row {
    key: String,
    ltp: f64,
    prev_close: Option<f64>,
    volume: Option<u64>,
}

impl CsvQuoteSource {
    /// Reads and parses the whole file: the last row of a key wins.
    async fn read(&self) -> Result<HashMap<InstrumentKey, Row>, SourceError> {
        // Async file I/O: never block the runtime's threads.
        let bytes = tokio::fs::read(&self.path).await.map_err(|e| {
            SourceError::Config(
                format!("cannot read {}: {e}: check the path", self.path.display()).into(),
            )
        })?;
        let mut rows = HashMap::new();
        for (n, row) in csv::Reader::from_reader(&bytes[..])
            .deserialize::<Row>()
            .enumerate()
        {
            let line = n + 2; // after the header
            let row =
                row.map_err(|e| SourceError::bad_response(format!("line {line}: {e}"), &bytes))?;
            let key = InstrumentKey::new(&row.key).map_err(|e| {
                SourceError::Config(format!("{}:{line}: {e}", self.path.display()).into())
            })?;
            rows.insert(key, row);
        }
        Ok(rows)
    }
}

#[async_trait]
impl PriceSource for CsvQuoteSource {
    fn name(&self) -> &str {
        "csv-file"
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        let rows = self.read().await?;
        let ts = self.clock.now_ms();
        let mut fetched = Fetched::default();
        for i in instruments {
            if let Some(row) = rows.get(&i.key) {
                // Key and symbol come from the universe (contract point 2).
                fetched.quotes.push(
                    Quote::new(i.key.clone(), i.symbol.clone(), row.ltp, ts)
                        .with_prev_close(row.prev_close)
                        .with_volume(row.volume),
                );
            }
        }
        // Every requested key is quoted or missing (contract point 1), each once.
        fetched.fill_missing(instruments);
        Ok(fetched)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = match std::env::args_os().nth(1) {
        Some(p) => PathBuf::from(p),
        None => {
            let p = dir.path().join("quotes.csv");
            std::fs::write(
                &p,
                "key,ltp,prev_close,volume\n\
                 NSE_EQ|INE002A01018,1391.20,1402.90,4769483\n\
                 NSE_EQ|INE040A01034,1932.55,1921.00,\n\
                 NSE_INDEX|Nifty 50,25010.55,25300.00,\n",
            )?;
            println!("wrote a sample file: {}", p.display());
            p
        }
    };
    let source: Arc<dyn PriceSource> = Arc::new(CsvQuoteSource {
        path,
        clock: MarketClock::system(),
    });

    let universe = Universe::bundled();
    let wanted: Vec<Instrument> = ["RELIANCE", "HDFCBANK", "TCS", "NIFTY 50"]
        .iter()
        .filter_map(|s| universe.by_symbol(s).cloned())
        .collect();
    let fetched = source.fetch(&wanted).await?;
    for q in &fetched.quotes {
        println!("{}", serde_json::to_string(q)?);
    }
    println!("missing: {:?}", fetched.missing);
    Ok(())
}
