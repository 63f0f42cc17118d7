//! [`Report`]: an error and its chain of causes on one line.
//!
//! The library's errors carry their underlying error (a database driver's error, an HTTP
//! status, a JSON decoding error) as [`Error::source`] and do not repeat it in their own
//! message, so an error reporter prints each cause once. [`Report`] is such a reporter for log
//! lines: `message: cause: cause of the cause`.

use std::{error::Error, fmt};

/// Displays an error followed by each of its causes, separated by `": "`.
///
/// ```
/// use market_feed::{Report, store::StoreError};
///
/// let cause = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
/// let err = StoreError::Open { location: "/data/feed.db".into(), source: Box::new(cause) };
/// let line = Report::new(&err).to_string();
/// assert!(line.starts_with("cannot open the store at /data/feed.db"));
/// assert!(line.ends_with(": permission denied"));
/// assert_eq!(line.matches("permission denied").count(), 1);
/// ```
#[derive(Clone, Copy)]
pub struct Report<'a>(&'a (dyn Error + 'static));

impl<'a> Report<'a> {
    /// A report of `error` and its causes.
    ///
    /// See [`Report`] for an example.
    pub fn new(error: &'a (dyn Error + 'static)) -> Self {
        Self(error)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
