//! [`StartError`]: why the server (or `check`) could not start, and its exit code.

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A bad configuration value found while building (exit code 2).
    #[error("{0}")]
    Config(String),
    /// A fatal runtime error, such as a store that cannot be opened (exit code 1).
    #[error("{0}")]
    Fatal(String),
}

impl StartError {
    /// The process exit code: 2 for configuration, 1 for runtime failures.
    ///
    /// ```
    /// use market_feed_server::start_error::StartError;
    /// assert_eq!(StartError::Config("x".into()).exit_code(), 2);
    /// assert_eq!(StartError::Fatal("x".into()).exit_code(), 1);
    /// ```
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Config(_) => 2,
            StartError::Fatal(_) => 1,
        }
    }
}
