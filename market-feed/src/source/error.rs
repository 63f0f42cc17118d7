//! [`SourceError`]: why a price source could not answer, phrased as what the caller should do.
//!
//! The type is broker-neutral: its messages never name a broker, a command-line flag or an
//! environment variable. A source adds its own wording in the detail it passes (for example
//! the broker's error code), and an application adds its own hints (which flag or file holds
//! the credentials) where it reports the error.
//!
//! Where a failure has an underlying error value (an HTTP status, a transport error from the
//! HTTP client, a JSON decoding error), it is carried as a typed cause and returned by
//! [`Error::source`](std::error::Error::source), not repeated in the message. Print the whole
//! chain with [`Report`](crate::Report) (or any error reporter).

use std::{error::Error as StdError, fmt, sync::Arc};

/// The longest response excerpt a [`SourceError::BadResponse`] carries, in characters.
///
/// ```
/// assert_eq!(market_feed::source::EXCERPT_CHARS, 160);
/// ```
pub const EXCERPT_CHARS: usize = 160;

/// The underlying error of a [`SourceError`]: any error value, shared (so the error stays
/// `Clone`). Two causes are equal when they are the same value or read the same.
///
/// ```
/// use market_feed::source::Cause;
///
/// let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out");
/// let cause = Cause::new(io);
/// assert_eq!(cause.to_string(), "timed out");
/// assert!(cause.downcast_ref::<std::io::Error>().is_some());
/// ```
#[derive(Clone)]
pub struct Cause(Arc<dyn StdError + Send + Sync + 'static>);

impl Cause {
    /// Wraps an error value.
    ///
    /// See [`Cause`] for an example.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// The underlying error as a `T`, if it is one.
    ///
    /// See [`Cause`] for an example.
    pub fn downcast_ref<T: StdError + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    /// The cause with `secret` replaced by `***` everywhere in its chain's text; the same cause
    /// when the text does not contain it (the typed value is kept then).
    fn redact(self, secret: &str) -> Self {
        let text = crate::Report::new(&self).to_string();
        if text.contains(secret) {
            Self(Arc::new(Redacted(text.replace(secret, "***"))))
        } else {
            self
        }
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for Cause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}

/// A cause whose text had to be redacted: only the text is kept.
#[derive(Debug)]
struct Redacted(String);

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Redacted {}

/// An HTTP error status a broker answered, with the broker's error code and message if its
/// answer had them.
///
/// ```
/// use market_feed::source::HttpStatus;
///
/// let s = HttpStatus { status: 503, code: Some("E100".into()), message: Some("busy".into()) };
/// assert_eq!(s.to_string(), "HTTP 503 E100: busy");
/// assert_eq!(HttpStatus::new(502).to_string(), "HTTP 502");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct HttpStatus {
    /// The status code.
    pub status: u16,
    /// The broker's error code, if the answer carried one.
    pub code: Option<String>,
    /// The broker's error message, if the answer carried one.
    pub message: Option<String>,
}

impl HttpStatus {
    /// A status without a broker error code or message.
    ///
    /// See [`HttpStatus`] for an example.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            code: None,
            message: None,
        }
    }
}

impl fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => write!(f, " {code}: {message}"),
            (Some(code), None) => write!(f, " {code}"),
            (None, Some(message)) => write!(f, ": {message}"),
            (None, None) => Ok(()),
        }
    }
}

/// What a [`SourceError::Unauthorized`], [`SourceError::RateLimited`] or
/// [`SourceError::Config`] is about: the source's own words and, when the broker's HTTP answer
/// said it, the typed [`HttpStatus`] ([`Reason::status`], [`SourceError::http_status`]), so a
/// caller can act on the status and the broker's code without parsing text. Both are in the
/// error's message, once.
///
/// ```
/// use market_feed::{Report, source::{HttpStatus, Reason, SourceError}};
///
/// // From the source's own words.
/// let e = SourceError::Config("the base URL has no host".into());
/// assert_eq!(e.to_string(), "configuration error: the base URL has no host");
///
/// // From the broker's answer: the status is the cause, printed once by a reporter.
/// let status = HttpStatus { status: 401, code: Some("UDAPI100050".into()), message: Some("Invalid token".into()) };
/// let e = SourceError::Unauthorized(Reason::from_status("the token was refused", status));
/// assert_eq!(e.http_status().map(|s| s.status), Some(401));
/// assert_eq!(
///     Report::new(&e).to_string(),
///     "unauthorized (the token was refused: HTTP 401 UDAPI100050: Invalid token): the broker \
///      refused the credentials; calls stop until they are replaced"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    text: String,
    status: Option<HttpStatus>,
}

impl Reason {
    /// A reason in the source's words, with no HTTP status.
    ///
    /// ```
    /// # use market_feed::source::Reason;
    /// assert_eq!(Reason::new("no slot before the deadline").to_string(), "no slot before the deadline");
    /// ```
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            status: None,
        }
    }

    /// A reason the broker gave with an HTTP error status: `text` says what it means to the
    /// source, `status` is what the broker answered.
    ///
    /// See [`Reason`] for an example.
    pub fn from_status(text: impl Into<String>, status: HttpStatus) -> Self {
        Self {
            text: text.into(),
            status: Some(status),
        }
    }

    /// The HTTP status the broker answered, if the reason came from one.
    ///
    /// ```
    /// # use market_feed::source::{HttpStatus, Reason};
    /// assert_eq!(Reason::from_status("slow down", HttpStatus::new(429)).status().map(|s| s.status), Some(429));
    /// assert!(Reason::new("x").status().is_none());
    /// ```
    pub fn status(&self) -> Option<&HttpStatus> {
        self.status.as_ref()
    }

    fn redact(self, r: impl Fn(String) -> String) -> Self {
        Self {
            text: r(self.text),
            status: self.status.map(|s| HttpStatus {
                status: s.status,
                code: s.code.map(&r),
                message: s.message.map(&r),
            }),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            Some(status) => write!(f, "{}: {status}", self.text),
            None => f.write_str(&self.text),
        }
    }
}

impl From<&str> for Reason {
    fn from(text: &str) -> Self {
        Reason::new(text)
    }
}

impl From<String> for Reason {
    fn from(text: String) -> Self {
        Reason::new(text)
    }
}

/// Why a fetch failed. Each variant tells the caller what to do next; [`is_retryable`]
/// classifies them.
///
/// ```
/// use market_feed::{Report, source::{HttpStatus, SourceError}};
///
/// let e = SourceError::bad_response("not JSON", b"<html><body>502 Bad Gateway</body></html>");
/// assert!(!e.is_retryable());
/// assert!(e.to_string().contains("502 Bad Gateway"));
/// assert!(SourceError::Transient("timed out".into()).is_retryable());
///
/// // A typed cause: the status is the error's source, printed by a reporter.
/// let e = SourceError::Http(HttpStatus::new(503));
/// assert!(e.is_retryable());
/// assert!(Report::new(&e).to_string().ends_with(": HTTP 503"));
/// ```
///
/// [`is_retryable`]: SourceError::is_retryable
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The broker refused the credentials (token expired, revoked or wrong). Stop calling until
    /// the credentials change; retrying with the same ones cannot help.
    #[error(
        "unauthorized ({0}): the broker refused the credentials; calls stop until they are replaced"
    )]
    Unauthorized(Reason),
    /// The broker (or the client-side limiter) says to slow down. Try again on a later refresh.
    #[error("rate limited ({0}): the broker asked to slow down; the next refresh tries again")]
    RateLimited(Reason),
    /// A failure that may pass by itself and has no underlying error value (a deadline that
    /// passed, an answer without usable quotes).
    #[error("transient failure ({0}): the next refresh tries again")]
    Transient(String),
    /// The request got no complete answer: it timed out, could not connect, or the answer broke
    /// off. The cause is the HTTP client's error. Retryable.
    #[error("{context}; the next refresh tries again")]
    Network {
        /// What failed ("timed out", "cannot connect to the broker", ...).
        context: String,
        /// The HTTP client's error.
        #[source]
        cause: Cause,
    },
    /// The broker answered an HTTP error status that may pass by itself (408, 5xx, a CDN's
    /// 403). The status is the cause. Retryable.
    #[error("the broker answered an error status; the next refresh tries again")]
    Http(#[source] HttpStatus),
    /// The broker answered something that cannot be understood. Carries a short excerpt of the
    /// answer (never the token) for the logs, and the decoding error if there is one.
    #[error("bad response from the broker ({message}); it began with {excerpt:?}")]
    BadResponse {
        /// What was wrong with it.
        message: String,
        /// The first characters of the answer.
        excerpt: String,
        /// The decoding error, if decoding failed.
        #[source]
        cause: Option<Cause>,
    },
    /// The source is configured wrongly (bad base URL, a key the broker refuses, missing
    /// credentials). Fix the configuration; retrying cannot help.
    #[error("configuration error: {0}")]
    Config(Reason),
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
            cause: None,
        }
    }

    /// A [`SourceError::BadResponse`] caused by a decoding error (for example a
    /// `serde_json::Error`), with an excerpt of `body`.
    ///
    /// ```
    /// # use market_feed::source::SourceError;
    /// let body = b"{not json";
    /// let err = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
    /// let e = SourceError::undecodable("not the expected JSON", body, err);
    /// assert!(std::error::Error::source(&e).is_some());
    /// assert_eq!(e.kind(), "bad_response");
    /// ```
    pub fn undecodable(
        message: impl Into<String>,
        body: &[u8],
        cause: impl StdError + Send + Sync + 'static,
    ) -> Self {
        SourceError::BadResponse {
            message: message.into(),
            excerpt: excerpt(body),
            cause: Some(Cause::new(cause)),
        }
    }

    /// A [`SourceError::Network`] failure: `context` says what failed, `cause` is the HTTP
    /// client's error.
    ///
    /// ```
    /// # use market_feed::source::SourceError;
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    /// let e = SourceError::network("cannot connect to the broker", io);
    /// assert!(e.is_retryable());
    /// assert_eq!(e.kind(), "transient");
    /// ```
    pub fn network(
        context: impl Into<String>,
        cause: impl StdError + Send + Sync + 'static,
    ) -> Self {
        SourceError::Network {
            context: context.into(),
            cause: Cause::new(cause),
        }
    }

    /// True for the failures a retry may cure: [`SourceError::RateLimited`],
    /// [`SourceError::Transient`], [`SourceError::Network`] and [`SourceError::Http`].
    ///
    /// ```
    /// # use market_feed::source::SourceError;
    /// assert!(!SourceError::Unauthorized("401".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SourceError::RateLimited(_)
                | SourceError::Transient(_)
                | SourceError::Network { .. }
                | SourceError::Http(_)
        )
    }

    /// A short stable name of the class of failure, for metrics and `feed_status` details:
    /// `unauthorized`, `rate_limited`, `transient` (also for [`SourceError::Network`] and
    /// [`SourceError::Http`]), `bad_response`, `config`.
    ///
    /// ```
    /// # use market_feed::source::SourceError;
    /// assert_eq!(SourceError::Config("x".into()).kind(), "config");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::Unauthorized(_) => "unauthorized",
            SourceError::RateLimited(_) => "rate_limited",
            SourceError::Transient(_) | SourceError::Network { .. } | SourceError::Http(_) => {
                "transient"
            }
            SourceError::BadResponse { .. } => "bad_response",
            SourceError::Config(_) => "config",
        }
    }

    /// The HTTP status the broker answered, when the error came from one.
    ///
    /// ```
    /// # use market_feed::source::{HttpStatus, SourceError};
    /// assert_eq!(SourceError::Http(HttpStatus::new(502)).http_status().map(|s| s.status), Some(502));
    /// assert!(SourceError::Transient("x".into()).http_status().is_none());
    /// ```
    pub fn http_status(&self) -> Option<&HttpStatus> {
        match self {
            SourceError::Http(status) => Some(status),
            SourceError::Unauthorized(r) | SourceError::RateLimited(r) | SourceError::Config(r) => {
                r.status()
            }
            _ => None,
        }
    }

    /// The same error with every occurrence of `secret` replaced by `***`, in its message and
    /// its cause (defence in depth: an error text must never carry the token, even if a server
    /// echoed it).
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
        let ro = |s: Option<String>| s.map(r);
        match self {
            SourceError::Unauthorized(why) => SourceError::Unauthorized(why.redact(r)),
            SourceError::RateLimited(why) => SourceError::RateLimited(why.redact(r)),
            SourceError::Transient(s) => SourceError::Transient(r(s)),
            SourceError::Network { context, cause } => SourceError::Network {
                context: r(context),
                cause: cause.redact(secret),
            },
            SourceError::Http(HttpStatus {
                status,
                code,
                message,
            }) => SourceError::Http(HttpStatus {
                status,
                code: ro(code),
                message: ro(message),
            }),
            SourceError::BadResponse {
                message,
                excerpt,
                cause,
            } => SourceError::BadResponse {
                message: r(message),
                excerpt: r(excerpt),
                cause: cause.map(|c| c.redact(secret)),
            },
            SourceError::Config(why) => SourceError::Config(why.redact(r)),
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
    use crate::Report;

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
        let io = || std::io::Error::other("s3cr3t");
        let all = [
            SourceError::Unauthorized("s3cr3t".into()),
            SourceError::RateLimited("s3cr3t".into()),
            SourceError::Transient("s3cr3t".into()),
            SourceError::network("s3cr3t", io()),
            SourceError::Http(HttpStatus {
                status: 500,
                code: Some("s3cr3t".into()),
                message: Some("s3cr3t".into()),
            }),
            SourceError::bad_response("s3cr3t", b"xs3cr3tx"),
            SourceError::undecodable("s3cr3t", b"xs3cr3tx", io()),
            SourceError::Config("s3cr3t".into()),
        ];
        for e in all {
            let text = Report::new(&e.redact("s3cr3t")).to_string();
            assert!(!text.contains("s3cr3t"), "{text}");
        }
    }

    #[test]
    fn a_reason_with_a_status_is_reported_once() {
        let status = HttpStatus {
            status: 429,
            code: Some("UDAPI10005".into()),
            message: Some("Too many requests".into()),
        };
        let e = SourceError::RateLimited(Reason::from_status("too fast", status));
        let text = Report::new(&e).to_string();
        assert_eq!(text.matches("UDAPI10005").count(), 1, "{text}");
        assert_eq!(text.matches("too fast").count(), 1, "{text}");
        assert_eq!(e.http_status().map(|s| s.status), Some(429));
    }

    #[test]
    fn causes_are_reported_once() {
        let e = SourceError::network("timed out", std::io::Error::other("deadline elapsed"));
        assert!(!e.to_string().contains("deadline elapsed"));
        let text = Report::new(&e).to_string();
        assert_eq!(text.matches("deadline elapsed").count(), 1, "{text}");
    }

    #[test]
    fn messages_name_no_broker_and_no_flag() {
        let all = [
            SourceError::Unauthorized("HTTP 401".into()),
            SourceError::RateLimited("HTTP 429".into()),
            SourceError::Transient("x".into()),
            SourceError::Http(HttpStatus::new(503)),
            SourceError::bad_response("x", b"x"),
            SourceError::Config("x".into()),
        ];
        for e in all {
            let text = e.to_string();
            assert!(
                !text.to_lowercase().contains("upstox") && !text.contains("--"),
                "{text}"
            );
        }
    }
}
