//! [`CalendarSource`]: where a broker's holiday list comes from, and [`UpstoxHolidays`], the
//! Upstox implementation (`GET {base}/v2/market/holidays`, current year only).

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::{
    clock::{HolidayEntry, parse_holiday_answer},
    source::upstox::TokenProvider,
};

/// The `User-Agent` of every request market-feed sends.
pub const USER_AGENT: &str = concat!("market-feed/", env!("CARGO_PKG_VERSION"));

/// Why a holiday list could not be fetched. The messages never contain the access token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarFetchError {
    /// This server is a cluster follower: only the leader calls the broker (the stored list,
    /// which the leader keeps current, is used meanwhile).
    #[error("not fetched: this node does not hold the cluster lease; the leader fetches the list")]
    NotLeader,
    /// The request did not get an answer (DNS, connection refused, time-out).
    #[error("cannot reach {url}: {detail}; check the network and --upstox-base-url")]
    Unreachable {
        /// The URL (no credentials).
        url: String,
        /// What failed.
        detail: String,
    },
    /// An HTTP status other than 200.
    #[error("{url} answered HTTP {status}{detail}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The error codes, if the body had any (starts with "; ").
        detail: String,
    },
    /// A 200 answer that is not a holiday list.
    #[error("{url}: {reason}")]
    Answer {
        /// The URL.
        url: String,
        /// What is wrong.
        #[source]
        reason: AnswerError,
    },
}

/// What is wrong with an answer body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswerError(pub String);

/// A source of the broker's holiday list.
///
/// ```
/// use market_feed::{clock::HolidayEntry, reference::{CalendarFetchError, CalendarSource}};
/// #[derive(Debug)]
/// struct Fixed(Vec<HolidayEntry>);
/// #[async_trait::async_trait]
/// impl CalendarSource for Fixed {
///     fn store_name(&self) -> &str { "calendar:fixed" }
///     async fn fetch(&self) -> Result<Vec<HolidayEntry>, CalendarFetchError> { Ok(self.0.clone()) }
/// }
/// assert_eq!(Fixed(vec![]).store_name(), "calendar:fixed");
/// ```
#[async_trait]
pub trait CalendarSource: Send + Sync + fmt::Debug {
    /// The name the last good answer is stored under (`calendar:upstox`).
    fn store_name(&self) -> &str;
    /// Fetches the list (for Upstox: the current year).
    async fn fetch(&self) -> Result<Vec<HolidayEntry>, CalendarFetchError>;
}

/// Upstox's market-holiday list: `GET {base}/v2/market/holidays` with `Accept:
/// application/json`, the access token when one is configured (the endpoint does not need
/// it), and `User-Agent: market-feed/<version>`.
///
/// ```
/// use market_feed::reference::{CalendarSource, UpstoxHolidays};
/// let s = UpstoxHolidays::new("http://127.0.0.1:9", None)?;
/// assert_eq!(s.url(), "http://127.0.0.1:9/v2/market/holidays");
/// assert_eq!(s.store_name(), "calendar:upstox");
/// # Ok::<(), reqwest::Error>(())
/// ```
pub struct UpstoxHolidays {
    http: reqwest::Client,
    url: String,
    tokens: Option<Arc<TokenProvider>>,
}

impl fmt::Debug for UpstoxHolidays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstoxHolidays")
            .field("url", &self.url)
            .field("token", &self.tokens.as_ref().map(|_| "***"))
            .finish()
    }
}

impl UpstoxHolidays {
    /// A source for the API root `base` (`https://api.upstox.com`), sending the token of
    /// `tokens` if given.
    ///
    /// # Errors
    ///
    /// The HTTP client cannot be built (no TLS backend).
    ///
    /// ```
    /// # use market_feed::reference::UpstoxHolidays;
    /// assert!(UpstoxHolidays::new("https://api.upstox.com/", None).is_ok());
    /// ```
    pub fn new(base: &str, tokens: Option<Arc<TokenProvider>>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Self {
            http,
            url: format!("{}/v2/market/holidays", base.trim_end_matches('/')),
            tokens,
        })
    }

    /// The URL it fetches.
    ///
    /// ```
    /// # use market_feed::reference::UpstoxHolidays;
    /// assert!(UpstoxHolidays::new("http://x", None)?.url().ends_with("/v2/market/holidays"));
    /// # Ok::<(), reqwest::Error>(())
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }
}

#[async_trait]
impl CalendarSource for UpstoxHolidays {
    fn store_name(&self) -> &str {
        super::CALENDAR_DOC
    }

    async fn fetch(&self) -> Result<Vec<HolidayEntry>, CalendarFetchError> {
        let mut req = self
            .http
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(tokens) = &self.tokens {
            req = req.bearer_auth(tokens.current().expose());
        }
        let unreachable = |e: reqwest::Error| CalendarFetchError::Unreachable {
            url: self.url.clone(),
            // Without the URL: reqwest repeats it, and it never carries the token anyway.
            detail: e.without_url().to_string(),
        };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(unreachable)?;
        if status != 200 {
            let detail = match parse_holiday_answer(&body) {
                Err(why) if why.contains("error codes") => format!("; {why}"),
                _ => String::new(),
            };
            return Err(CalendarFetchError::Status {
                url: self.url.clone(),
                status,
                detail,
            });
        }
        parse_holiday_answer(&body).map_err(|why| CalendarFetchError::Answer {
            url: self.url.clone(),
            reason: AnswerError(why),
        })
    }
}

#[cfg(test)]
mod tests;
