//! [`UniverseError`]: why a universe file was refused, always naming the file and, where there is
//! one, the line.

use std::fmt;

/// Where in a universe file something went wrong: the file's name and a 1-based line number.
///
/// ```
/// use market_feed::universe::Location;
/// assert_eq!(Location::new("u.csv", Some(3)).to_string(), "u.csv:3");
/// assert_eq!(Location::new("u.csv", None).to_string(), "u.csv");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (or a label such as `<bundled universe-nse.csv>`).
    pub file: String,
    /// The 1-based line, when the problem is on one line.
    pub line: Option<u64>,
}

impl Location {
    /// A location in `file`, at `line` if given.
    ///
    /// ```
    /// # use market_feed::universe::Location;
    /// assert_eq!(Location::new("x.json", Some(1)).line, Some(1));
    /// ```
    pub fn new(file: impl Into<String>, line: Option<u64>) -> Self {
        Self {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// A universe that could not be loaded. Every variant names the file, and the line where the
/// problem is on one line.
///
/// ```
/// use market_feed::universe::Universe;
///
/// let err = Universe::from_bytes("my.csv", b"topic,key,symbol,colour\n").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "my.csv:1: unknown column \"colour\": the columns are topic, key, symbol, name, isin"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
pub enum UniverseError {
    /// The file could not be read.
    #[error("{file}: cannot read the universe file: {source}: check the path given to --universe")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file holds no instruments.
    #[error("{0}: the universe file is empty: list at least one instrument (see docs/sources.md)")]
    Empty(Location),
    /// A CSV header names a column this format does not have.
    #[error("{at}: unknown column {column:?}: the columns are topic, key, symbol, name, isin")]
    UnknownColumn {
        /// Where.
        at: Location,
        /// The column's name.
        column: String,
    },
    /// A required column or field is missing.
    #[error("{at}: missing {what}: every instrument needs a key and a symbol")]
    Missing {
        /// Where.
        at: Location,
        /// What is missing (a column or field name).
        what: String,
    },
    /// An instrument key is malformed.
    #[error("{at}: {source}")]
    BadKey {
        /// Where.
        at: Location,
        /// Why the key is invalid.
        source: crate::model::KeyError,
    },
    /// The same key appears twice.
    #[error("{at}: duplicate key {key:?} (first on line {first_line}): list each instrument once")]
    DuplicateKey {
        /// Where the second occurrence is.
        at: Location,
        /// The key.
        key: String,
        /// Where the first occurrence is.
        first_line: u64,
    },
    /// A line or JSON entry that cannot be understood (bad topic, bad CSV quoting, invalid JSON).
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl UniverseError {
    /// Where the error is.
    ///
    /// ```
    /// # use market_feed::universe::Universe;
    /// let err = Universe::from_bytes("u.csv", b"").unwrap_err();
    /// assert_eq!(err.location().file, "u.csv");
    /// ```
    pub fn location(&self) -> Location {
        match self {
            UniverseError::Io { file, .. } => Location::new(file.clone(), None),
            UniverseError::Empty(at)
            | UniverseError::UnknownColumn { at, .. }
            | UniverseError::Missing { at, .. }
            | UniverseError::BadKey { at, .. }
            | UniverseError::DuplicateKey { at, .. }
            | UniverseError::Invalid { at, .. } => at.clone(),
        }
    }
}
