//! The bundled default universe (`data/universe-nse.csv`).
//!
//! Generated from NSE's `EQUITY_L.csv` (NSE's list of listed equities, early 2026, via
//! the public repository arpitgupta4/Upstox-Data-Fetcher): every row of series `EQ`, key
//! `NSE_EQ|<ISIN>`, plus the 9 indices of the original application with their Upstox keys.
//! `market-feed/data/README.md` says how to regenerate it.

use std::sync::{Arc, OnceLock};

use super::{Inner, Universe};

/// The bundled universe file's text, in the CSV format of [`super::csv_format`].
///
/// ```
/// assert!(market_feed::universe::BUNDLED_UNIVERSE.contains("NSE_INDEX|Nifty 50"));
/// ```
pub const BUNDLED_UNIVERSE: &str = include_str!("../../data/universe-nse.csv");

/// The name the bundled universe goes by in errors and logs.
///
/// ```
/// assert_eq!(market_feed::universe::BUNDLED_UNIVERSE_LABEL, "<bundled universe-nse.csv>");
/// ```
pub const BUNDLED_UNIVERSE_LABEL: &str = "<bundled universe-nse.csv>";

pub(super) fn bundled() -> Universe {
    static BUNDLED: OnceLock<Universe> = OnceLock::new();
    BUNDLED
        .get_or_init(|| {
            Universe::from_bytes(BUNDLED_UNIVERSE_LABEL, BUNDLED_UNIVERSE.as_bytes())
                .unwrap_or_else(|e| {
                    // Unreachable with the shipped file (a unit test parses it); never panic.
                    tracing::error!(error = %e, "the bundled universe does not parse; serving none");
                    Universe {
                        inner: Arc::new(Inner {
                            lists: [Vec::new(), Vec::new()],
                            by_key: Default::default(),
                            by_symbol: Default::default(),
                        }),
                    }
                })
        })
        .clone()
}
