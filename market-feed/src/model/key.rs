//! [`InstrumentKey`]: a validated `SEGMENT|ID` instrument key in Upstox form.

use std::{fmt, str::FromStr, sync::Arc};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid instrument key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key has no `|` between segment and identifier.
    #[error("instrument key {0:?} has no '|': write it as SEGMENT|ID, e.g. NSE_EQ|INE002A01018")]
    MissingSeparator(String),
    /// The segment part is empty or not made of `A-Z`, `0-9` and `_`.
    #[error(
        "instrument key {0:?} has an invalid segment: use upper-case letters, digits and '_' (NSE_EQ, NSE_INDEX, BSE_INDEX)"
    )]
    BadSegment(String),
    /// The identifier part is empty, has surrounding spaces or control characters.
    #[error("instrument key {0:?} has an empty or invalid identifier after '|'")]
    BadId(String),
}

/// An instrument key in Upstox form: `SEGMENT|ID`, such as `NSE_EQ|INE002A01018`,
/// `NSE_INDEX|Nifty 50` or `BSE_INDEX|SENSEX`.
///
/// Cloning is cheap (a reference-counted string), so keys can be copied into every quote.
///
/// ```
/// use market_feed::model::InstrumentKey;
///
/// let key: InstrumentKey = "NSE_EQ|INE002A01018".parse()?;
/// assert_eq!(key.segment(), "NSE_EQ");
/// assert_eq!(key.id(), "INE002A01018");
/// assert!("RELIANCE".parse::<InstrumentKey>().is_err());
/// # Ok::<(), market_feed::model::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstrumentKey(Arc<str>);

impl InstrumentKey {
    /// Validates and wraps a key.
    ///
    /// ```
    /// # use market_feed::model::InstrumentKey;
    /// assert!(InstrumentKey::new("NSE_INDEX|Nifty 50").is_ok());
    /// ```
    pub fn new(s: &str) -> Result<Self, KeyError> {
        let (segment, id) = s
            .split_once('|')
            .ok_or_else(|| KeyError::MissingSeparator(s.to_owned()))?;
        if segment.is_empty()
            || !segment
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(KeyError::BadSegment(s.to_owned()));
        }
        if id.is_empty() || id.trim() != id || id.chars().any(|c| c.is_control() || c == '|') {
            return Err(KeyError::BadId(s.to_owned()));
        }
        Ok(Self(Arc::from(s)))
    }

    /// The whole key, as sent to the broker.
    ///
    /// ```
    /// # use market_feed::model::InstrumentKey;
    /// let key = InstrumentKey::new("BSE_INDEX|SENSEX").unwrap();
    /// assert_eq!(key.as_str(), "BSE_INDEX|SENSEX");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segment before `|` (`NSE_EQ`, `NSE_INDEX`, ...).
    ///
    /// ```
    /// # use market_feed::model::InstrumentKey;
    /// assert_eq!(InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap().segment(), "NSE_INDEX");
    /// ```
    pub fn segment(&self) -> &str {
        self.0.split_once('|').map_or("", |(s, _)| s)
    }

    /// The identifier after `|` (an ISIN for equities, a name for indices).
    ///
    /// ```
    /// # use market_feed::model::InstrumentKey;
    /// assert_eq!(InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap().id(), "Nifty 50");
    /// ```
    pub fn id(&self) -> &str {
        self.0.split_once('|').map_or("", |(_, id)| id)
    }
}

impl FromStr for InstrumentKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for InstrumentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InstrumentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl AsRef<str> for InstrumentKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for InstrumentKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for InstrumentKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for InstrumentKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_keys() {
        // TC0..: (input, valid?)
        let cases = [
            ("NSE_EQ|INE002A01018", true),
            ("NSE_INDEX|Nifty 50", true),
            ("BSE_INDEX|SENSEX", true),
            ("NSE_FO|51834", true),
            ("RELIANCE", false),
            ("|INE002A01018", false),
            ("nse_eq|INE002A01018", false),
            ("NSE_EQ|", false),
            ("NSE_EQ| X", false),
            ("NSE_EQ|A|B", false),
        ];
        for (input, ok) in cases {
            assert_eq!(InstrumentKey::new(input).is_ok(), ok, "{input}");
        }
    }

    #[test]
    fn serde_round_trip_validates() {
        let k: InstrumentKey = serde_json::from_str("\"NSE_INDEX|Nifty 50\"").unwrap();
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"NSE_INDEX|Nifty 50\"");
        assert!(serde_json::from_str::<InstrumentKey>("\"oops\"").is_err());
    }
}
