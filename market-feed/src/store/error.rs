//! [`StoreError`]: everything a snapshot store can report, with messages that say what to do.

use std::error::Error as StdError;

/// A boxed error from the underlying database driver or file system.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a snapshot store operation failed.
///
/// Every variant that concerns a database names its location (a file path or a PostgreSQL URL
/// with the password replaced by `***`, see [`redact_url`]), so an operator can tell which store
/// is meant. A failed save never loses what was stored before: see the `# Contract` of
/// [`SnapshotStore`](super::SnapshotStore).
///
/// The driver's or file system's error is the variant's `source` ([`std::error::Error::source`])
/// and is not repeated in the message, so error reporters print it once; log the whole chain
/// with [`Report`](crate::Report).
///
/// ```
/// use market_feed::store::StoreError;
///
/// let err = StoreError::SchemaTooNew { location: "feed.db".into(), found: 7, supported: 1 };
/// assert!(err.to_string().contains("upgrade market-feed"));
/// assert!(!err.is_retryable());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store URL given to [`open`](super::open) is not understood.
    #[error("invalid store URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given, with any password redacted.
        url: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// The database could not be opened or created (missing directory, not writable, not a
    /// database file).
    #[error(
        "cannot open the store at {location}: check that the path (or server) exists and is writable, or choose another one"
    )]
    Open {
        /// The path or redacted URL.
        location: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The database was written by a newer market-feed whose schema this version does not know.
    #[error(
        "the store at {location} has schema version {found} but this market-feed supports at most {supported}: upgrade market-feed or point it at another database"
    )]
    SchemaTooNew {
        /// The path or redacted URL.
        location: String,
        /// The version found in the database.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
    /// The database server cannot be reached (down, restarting, refusing connections).
    #[error(
        "the store at {location} is unavailable: check that the database server is running; the operation can be retried"
    )]
    Unavailable {
        /// The redacted URL.
        location: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The database reported an error while running a statement; the transaction was rolled back.
    #[error("database error in the store at {location}; the transaction was rolled back")]
    Database {
        /// The path or redacted URL.
        location: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// A stored row cannot be turned back into a quote.
    #[error(
        "the store at {location} holds an unreadable row: {detail}: repair or remove the row (or restore a backup)"
    )]
    Corrupt {
        /// The path or redacted URL.
        location: String,
        /// Which row and what is wrong with it.
        detail: String,
    },
    /// A quote passed to a save cannot be stored; nothing of that save was stored.
    #[error("the quote for {key} cannot be stored: {reason}: fix the quote at its source")]
    InvalidQuote {
        /// The instrument key of the offending quote.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A reference document name that a store does not accept.
    #[error("invalid reference document name {name:?}: {reason}")]
    InvalidName {
        /// The name given (at most 80 characters of it).
        name: String,
        /// Which rule the name breaks.
        reason: String,
    },
}

impl StoreError {
    /// Whether retrying the same call later may succeed (the server was down, a lock was busy).
    /// Bad URLs, schema mismatches, corrupt rows and invalid quotes are not retryable.
    ///
    /// ```
    /// use market_feed::store::StoreError;
    /// let e = StoreError::InvalidQuote { key: "NSE_EQ|X".into(), reason: "ltp is NaN".into() };
    /// assert!(!e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Database { .. })
    }
}

/// Replaces the password of a URL (`scheme://user:password@host/...`) with `***`, so it can
/// appear in errors, logs and `Debug` output. Strings without a password are returned unchanged.
///
/// ```
/// use market_feed::store::redact_url;
/// assert_eq!(redact_url("postgres://feed:s3cret@db:5432/test"), "postgres://feed:***@db:5432/test");
/// assert_eq!(redact_url("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
/// assert_eq!(redact_url("sqlite://feed.db"), "sqlite://feed.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    // The authority ends at the first '/', '?' or '#'; the user info ends at its last '@'.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let user_info = &authority[..at];
    match user_info.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..rest_start],
            &user_info[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_table() {
        let cases = [
            ("postgres://u:p@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p:q@h/db?x=1", "postgres://u:***@h/db?x=1"),
            ("postgresql://u:p%40x@h", "postgresql://u:***@h"),
            ("postgres://h/db?user=a@b", "postgres://h/db?user=a@b"),
            ("postgres://u@h", "postgres://u@h"),
            ("memory", "memory"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(input), want, "{input}");
        }
    }

    #[test]
    fn messages_name_the_location_and_the_fix() {
        let e = StoreError::Open {
            location: "/nope/feed.db".into(),
            source: "unable to open database file".into(),
        };
        let msg = e.to_string();
        assert!(
            msg.contains("/nope/feed.db") && msg.contains("writable"),
            "{msg}"
        );
    }

    #[test]
    fn causes_are_printed_once_by_a_reporter() {
        let e = StoreError::Database {
            location: "feed.db".into(),
            source: "disk I/O error".into(),
        };
        assert!(!e.to_string().contains("disk I/O error"));
        let line = crate::Report::new(&e).to_string();
        assert_eq!(line.matches("disk I/O error").count(), 1, "{line}");
    }
}
