//! [`SourceError`]: why a price source could not answer, phrased as what the caller should do.

/// The longest response excerpt a [`SourceError::BadResponse`] carries, in characters.
///
/// ```
/// assert_eq!(market_feed::source::EXCERPT_CHARS, 160);
/// ```
pub const EXCERPT_CHARS: usize = 160;

/// Why a fetch failed. Each variant tells the caller what to do next.
///
/// ```
/// use market_feed::source::SourceError;
///
/// let e = SourceError::bad_response("not JSON", b"<html><body>502 Bad Gateway</body></html>");
/// assert!(!e.is_retryable());
/// assert!(e.to_string().contains("502 Bad Gateway"));
/// assert!(SourceError::Transient("timed out".into()).is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The broker refused the credentials (token expired, revoked or wrong). Stop calling until
    /// the token changes; retrying with the same token cannot help.
    #[error(
        "unauthorized ({0}): replace the Upstox access token (UPSTOX_ACCESS_TOKEN or the token file); calls stop until it changes"
    )]
    Unauthorized(String),
    /// The broker (or the client-side limiter) says to slow down. Try again on a later refresh.
    #[error("rate limited ({0}): the broker asked to slow down; the next refresh tries again")]
    RateLimited(String),
    /// A failure that may pass by itself: HTTP 5xx, a timeout, a refused or broken connection.
    #[error("transient failure ({0}): the next refresh tries again")]
    Transient(String),
    /// The broker answered something that cannot be understood. Carries a short excerpt of the
    /// answer (never the token) for the logs.
    #[error("bad response from the broker ({message}); it began with {excerpt:?}")]
    BadResponse {
        /// What was wrong with it.
        message: String,
        /// The first characters of the answer.
        excerpt: String,
    },
    /// The source is configured wrongly (bad base URL, a key the broker refuses, missing token
    /// file). Fix the configuration; retrying cannot help.
    #[error("configuration error: {0}")]
    Config(String),
}

impl SourceError {
    /// A [`SourceError::BadResponse`] with an excerpt of at most [`EXCERPT_CHARS`] characters of
    /// `body`, control characters replaced by spaces.
    ///
    /// ```
    /// # use market_feed::source::SourceError;
    /// let SourceError::BadResponse { excerpt, .. } = SourceError::bad_response("x", &[b'a'; 1000]) else { unreachable!() };
    /// assert_eq!(excerpt.chars().count(), 160);
    /// ```
    pub fn bad_response(message: impl Into<String>, body: &[u8]) -> Self {
        SourceError::BadResponse {
            message: message.into(),
            excerpt: excerpt(body),
        }
    }

    /// True for the failures a retry may cure: [`SourceError::RateLimited`] and
    /// [`SourceError::Transient`].
    ///
    /// ```
    /// # use market_feed::source::SourceError;
    /// assert!(!SourceError::Unauthorized("401".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SourceError::RateLimited(_) | SourceError::Transient(_)
        )
    }

    /// A short stable name of the variant, for metrics and `feed_status` details.
    ///
    /// ```
    /// # use market_feed::source::SourceError;
    /// assert_eq!(SourceError::Config("x".into()).kind(), "config");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::Unauthorized(_) => "unauthorized",
            SourceError::RateLimited(_) => "rate_limited",
            SourceError::Transient(_) => "transient",
            SourceError::BadResponse { .. } => "bad_response",
            SourceError::Config(_) => "config",
        }
    }

    /// The same error with every occurrence of `secret` replaced by `***` (defence in depth:
    /// an error text must never carry the token, even if a server echoed it).
    ///
    /// ```
    /// # use market_feed::source::SourceError;
    /// let e = SourceError::Transient("echo s3cret".into()).redact("s3cret");
    /// assert_eq!(e, SourceError::Transient("echo ***".into()));
    /// ```
    pub fn redact(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let r = |s: String| {
            if s.contains(secret) {
                s.replace(secret, "***")
            } else {
                s
            }
        };
        match self {
            SourceError::Unauthorized(s) => SourceError::Unauthorized(r(s)),
            SourceError::RateLimited(s) => SourceError::RateLimited(r(s)),
            SourceError::Transient(s) => SourceError::Transient(r(s)),
            SourceError::BadResponse { message, excerpt } => SourceError::BadResponse {
                message: r(message),
                excerpt: r(excerpt),
            },
            SourceError::Config(s) => SourceError::Config(r(s)),
        }
    }
}

fn excerpt(body: &[u8]) -> String {
    let head = &body[..body.len().min(EXCERPT_CHARS * 4)];
    String::from_utf8_lossy(head)
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_short_and_single_line() {
        let body = "line1\nline2\r\n".repeat(100);
        let SourceError::BadResponse { excerpt, .. } =
            SourceError::bad_response("m", body.as_bytes())
        else {
            panic!("variant")
        };
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS);
        assert!(!excerpt.contains('\n'));
        assert!(excerpt.starts_with("line1 line2"));
    }

    #[test]
    fn redact_covers_every_variant() {
        let all = [
            SourceError::Unauthorized("s3cr3t".into()),
            SourceError::RateLimited("s3cr3t".into()),
            SourceError::Transient("s3cr3t".into()),
            SourceError::bad_response("s3cr3t", b"xs3cr3tx"),
            SourceError::Config("s3cr3t".into()),
        ];
        for e in all {
            assert!(!e.redact("s3cr3t").to_string().contains("s3cr3t"));
        }
    }
}
