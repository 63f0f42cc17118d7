//! [`CalendarError`]: why a calendar file cannot be used.

/// A calendar file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The file could not be read.
    #[error("cannot read calendar file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid calendar TOML.
    #[error("calendar {origin} is invalid: {message}")]
    Parse {
        /// The file, or "bundled calendar".
        origin: String,
        /// What is wrong, with the line where TOML says.
        message: String,
    },
    /// An exchange other than NSE or BSE.
    #[error("unknown exchange {0:?}: use \"NSE\" or \"BSE\"")]
    UnknownExchange(String),
}
