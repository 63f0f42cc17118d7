//! [`IndexMembers`]: which stocks each index holds, with the index's previous close (the bundled
//! list is the membership in force on the recorded day, 2026-01-29).

use std::sync::OnceLock;

use serde::Deserialize;

use crate::{
    model::InstrumentKey,
    universe::{Instrument, Universe},
};

/// The bundled membership file (TOML): NIFTY 50, SENSEX, NIFTY BANK, NIFTY IT and BANKEX as of
/// January 2026.
///
/// ```
/// assert!(market_feed::source::replay::BUNDLED_MEMBERS.contains("as_of = \"2026-01-29\""));
/// ```
pub const BUNDLED_MEMBERS: &str = include_str!("../../../data/index-members-2026-01.toml");

/// One index: its key and symbol, its previous close, and its members' symbols.
#[derive(Debug, Clone, PartialEq, Deserialize)]
///
/// ```
/// # use market_feed::source::replay::IndexMembers;
/// let nifty = &IndexMembers::bundled().unwrap().indices[0];
/// assert_eq!((nifty.symbol.as_str(), nifty.members.len()), ("NIFTY 50", 50));
/// ```
pub struct IndexDef {
    /// The index's symbol (as in the universe).
    pub symbol: String,
    /// The index's instrument key.
    pub key: String,
    /// The index's name.
    pub name: String,
    /// The index's close of the previous session.
    pub prev_close: f64,
    /// Whether `prev_close` is a published close (true) or an approximate level (false).
    pub prev_close_known: bool,
    /// The members' NSE symbols.
    pub members: Vec<String>,
}

/// Index membership lists, dated.
///
/// ```
/// use market_feed::source::replay::IndexMembers;
/// let m = IndexMembers::bundled()?;
/// assert_eq!(m.as_of, "2026-01-29");
/// assert_eq!(m.indices.len(), 5);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IndexMembers {
    /// The date the membership is in force for.
    pub as_of: String,
    /// The indices.
    #[serde(rename = "index")]
    pub indices: Vec<IndexDef>,
}

impl IndexMembers {
    /// The bundled lists, parsed once per process.
    ///
    /// See [`IndexMembers`] for an example.
    pub fn bundled() -> Result<&'static IndexMembers, String> {
        static BUNDLED: OnceLock<Result<IndexMembers, String>> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                IndexMembers::parse("<bundled index-members-2026-01.toml>", BUNDLED_MEMBERS)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses a membership file; `label` names it in errors.
    ///
    /// ```
    /// # use market_feed::source::replay::IndexMembers;
    /// let m = IndexMembers::parse("x", "as_of = \"2026-01-29\"\n[[index]]\nsymbol = \"X\"\nkey = \"NSE_INDEX|X\"\nname = \"X\"\nprev_close = 100.0\nprev_close_known = false\nmembers = [\"A\"]\n")?;
    /// assert_eq!(m.indices[0].members, ["A"]);
    /// assert!(IndexMembers::parse("x", "as_of = 1").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(label: &str, text: &str) -> Result<Self, String> {
        let m: IndexMembers = toml::from_str(text).map_err(|e| format!("{label}: {e}"))?;
        for i in &m.indices {
            InstrumentKey::new(&i.key).map_err(|e| format!("{label}: index {}: {e}", i.symbol))?;
            if !(i.prev_close.is_finite() && i.prev_close > 0.0) || i.members.is_empty() {
                return Err(format!(
                    "{label}: index {}: give a positive prev_close and at least one member",
                    i.symbol
                ));
            }
        }
        Ok(m)
    }

    /// The index instruments, with the universe's names where it has them.
    ///
    /// ```
    /// # use market_feed::{source::replay::IndexMembers, universe::Universe};
    /// let idx = IndexMembers::bundled().unwrap().instruments();
    /// assert_eq!(&*idx[1].name, "BSE SENSEX");
    /// ```
    pub fn instruments(&self) -> Vec<Instrument> {
        self.indices
            .iter()
            .filter_map(|i| {
                let key = InstrumentKey::new(&i.key).ok()?;
                Some(Instrument::new(
                    key,
                    i.symbol.as_str(),
                    i.name.as_str(),
                    None,
                ))
            })
            .collect()
    }

    /// Each index's member instruments found in `universe` (by symbol), in the file's order.
    ///
    /// ```
    /// # use market_feed::{source::replay::IndexMembers, universe::Universe};
    /// let m = IndexMembers::bundled().unwrap();
    /// let found = m.resolve(&Universe::bundled());
    /// assert_eq!(found[0].len(), 50);
    /// ```
    pub fn resolve(&self, universe: &Universe) -> Vec<Vec<Instrument>> {
        self.indices
            .iter()
            .map(|i| {
                i.members
                    .iter()
                    .filter_map(|s| universe.by_symbol(s).cloned())
                    .filter(|inst| !inst.is_index())
                    .collect()
            })
            .collect()
    }
}
