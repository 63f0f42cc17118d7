//! [`Exchange`]: the exchanges whose equity segment the clock follows (NSE, BSE).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::calendar_error::CalendarError;

/// An exchange whose equity segment the clock follows.
///
/// ```
/// use market_feed::clock::Exchange;
/// assert_eq!("BSE".parse::<Exchange>().unwrap(), Exchange::Bse);
/// assert_eq!(Exchange::Nse.to_string(), "NSE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Exchange {
    /// National Stock Exchange of India.
    #[default]
    #[serde(rename = "NSE")]
    Nse,
    /// BSE (Bombay Stock Exchange).
    #[serde(rename = "BSE")]
    Bse,
}

impl Exchange {
    /// The exchange's code, as on the wire.
    ///
    /// ```
    /// # use market_feed::clock::Exchange;
    /// assert_eq!(Exchange::Bse.as_str(), "BSE");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Exchange::Nse => "NSE",
            Exchange::Bse => "BSE",
        }
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Exchange {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "NSE" => Ok(Exchange::Nse),
            "BSE" => Ok(Exchange::Bse),
            other => Err(CalendarError::UnknownExchange(other.to_owned())),
        }
    }
}
