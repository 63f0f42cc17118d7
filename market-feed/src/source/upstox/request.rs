//! One batch request to Upstox: the URL, the rate-limit permit, the attempt with its timeout,
//! the classification of the answer, and the retries.
//!
//! Classification: only HTTP 401, or the error code `UDAPI100050` (invalid or expired token)
//! under any status, means the token is refused. 403 (for instance from the CDN in front of
//! the API, with an HTML page), 429, 5xx and time-outs are retried with backoff; HTML and
//! malformed bodies are bad responses (the next refresh tries again). A 400 whose code says an
//! instrument key is unknown or malformed (`UDAPI1087`, `UDAPI1011`) is
//! [`BatchError::KeysRefused`]: the caller splits the request to find the key.

use std::time::Duration;

use rand::Rng;
use reqwest::{StatusCode, header};
use tokio::time::Instant;

use super::{
    QuoteEndpoint, Shared, UpstoxConfig, UpstoxToken,
    response::{Decoded, decode_quotes, error_code},
};
use crate::{
    source::{HttpStatus, Reason, SourceError},
    universe::Instrument,
};

/// The error code Upstox gives for an invalid or expired access token.
pub(super) const TOKEN_INVALID: &str = "UDAPI100050";

/// The error codes of a 400 that blame an instrument key of the request.
const KEY_CODES: [&str; 2] = ["UDAPI1087", "UDAPI1011"];

/// The text of the error returned, without a call, while the token in force is a refused one.
pub(super) const REFUSED_BEFORE: &str =
    "the broker refused this access token earlier; no request carries it again";

/// Why a batch request did not give quotes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum BatchError {
    /// HTTP 400 blaming an instrument key (`UDAPI1087`, `UDAPI1011`): some key of the batch is
    /// unknown to the broker, and the whole request was refused for it.
    KeysRefused(String),
    /// Any other failure, after retries.
    Failed(SourceError),
}

impl From<SourceError> for BatchError {
    fn from(e: SourceError) -> Self {
        BatchError::Failed(e)
    }
}

/// Fetches one batch (at most 500 keys) with retries, ending by `deadline`.
pub(super) async fn fetch_batch(
    shared: &Shared,
    config: &UpstoxConfig,
    endpoint: QuoteEndpoint,
    batch: &[Instrument],
    deadline: Instant,
) -> Result<Decoded, BatchError> {
    let url = batch_url(&shared.base_url, endpoint, batch)?;
    let mut attempt = 0u32;
    let mut token_renewed = false;
    loop {
        // A token the broker refused is never sent again, by any request of any topic.
        if !shared.tokens.usable().await {
            return Err(SourceError::Unauthorized(REFUSED_BEFORE.into()).into());
        }
        if !shared.limiter.acquire_before(deadline).await {
            return Err(SourceError::RateLimited(
                "client-side limit: no request slot before the refresh deadline".into(),
            )
            .into());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(SourceError::Transient(
                "the refresh deadline passed before the request could be sent".into(),
            )
            .into());
        }
        let (token, generation) = shared.tokens.snapshot();
        let timeout = config.request_timeout.min(deadline - now);
        let outcome = attempt_once(shared, endpoint, &url, &token, timeout, batch)
            .await
            .map_err(|e| match e {
                BatchError::Failed(e) => BatchError::Failed(e.redact(token.expose())),
                BatchError::KeysRefused(d) => {
                    BatchError::KeysRefused(d.replace(token.expose(), "***"))
                }
            });
        if matches!(outcome, Ok(_) | Err(BatchError::KeysRefused(_))) {
            shared.tokens.accept(generation);
        }
        match outcome {
            Ok(decoded) => return Ok(decoded),
            Err(BatchError::Failed(SourceError::Unauthorized(why))) => {
                shared.tokens.refuse(generation);
                if !token_renewed && shared.tokens.renew_after_rejection(generation).await {
                    tracing::info!("Upstox refused the token; retrying with the renewed token");
                    token_renewed = true;
                    continue;
                }
                return Err(SourceError::Unauthorized(why).into());
            }
            Err(BatchError::Failed(e)) if e.is_retryable() && attempt < config.max_retries => {
                let pause = backoff(config, attempt);
                if Instant::now() + pause >= deadline {
                    return Err(e.into());
                }
                tracing::debug!(error = %crate::Report::new(&e), attempt, ?pause, "Upstox request failed; retrying");
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sends `request` and reads the whole answer, within `timeout`: `None` when it took longer.
/// Every call to Upstox (the quotes, the stream's authorize call) goes through it.
pub(super) async fn send_within(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Option<Result<(StatusCode, bytes::Bytes), reqwest::Error>> {
    let exchange = async {
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange).await.ok()
}

async fn attempt_once(
    shared: &Shared,
    endpoint: QuoteEndpoint,
    url: &reqwest::Url,
    token: &UpstoxToken,
    timeout: Duration,
    batch: &[Instrument],
) -> Result<Decoded, BatchError> {
    let mut request = shared
        .http
        .get(url.clone())
        .bearer_auth(token.expose())
        .header(header::ACCEPT, "application/json");
    if endpoint == QuoteEndpoint::FullQuoteV2 {
        // The official SDKs send it on v2 calls; harmless where it is not needed.
        request = request.header("Api-Version", "2.0");
    }
    let (status, body) = match send_within(request, timeout).await {
        None => {
            return Err(SourceError::Transient(format!(
                "no answer from Upstox within {} ms",
                timeout.as_millis()
            ))
            .into());
        }
        Some(Err(e)) => return Err(transport_error(e).into()),
        Some(Ok(answer)) => answer,
    };
    if status == StatusCode::OK {
        return decode_quotes(endpoint, &body, batch, shared.clock.now_ms()).map_err(|e| {
            // An error envelope under HTTP 200 still says what it says.
            match error_code(&body) {
                Some(_) => classify(status, endpoint, &body),
                None => e.into(),
            }
        });
    }
    Err(classify(status, endpoint, &body))
}

/// Maps an error answer to what the caller should do. The broker's status, error code and
/// message travel as the typed [`HttpStatus`] of the error; the text says what it means here.
fn classify(status: StatusCode, endpoint: QuoteEndpoint, body: &[u8]) -> BatchError {
    let answer = error_code(body);
    let (code, message) = answer.map_or((None, None), |(c, m)| (Some(c), Some(m)));
    let http = HttpStatus {
        status: status.as_u16(),
        code: code.clone(),
        message: message.clone(),
    };
    if status == StatusCode::UNAUTHORIZED || code.as_deref() == Some(TOKEN_INVALID) {
        return SourceError::Unauthorized(Reason::from_status("Upstox refused the token", http))
            .into();
    }
    let e = match status.as_u16() {
        400 if code.as_deref().is_some_and(|c| KEY_CODES.contains(&c)) => {
            return BatchError::KeysRefused(http.to_string());
        }
        400 if code.is_some() => SourceError::Config(Reason::from_status(
            "Upstox refused the request: check the universe's instrument keys",
            http,
        )),
        // Not a token problem: a 403 often comes from the CDN in front of the API (with an
        // HTML page). Retried like a 5xx; the feed keeps running.
        403 => SourceError::Http(HttpStatus {
            message: message.or_else(|| {
                Some(format!(
                    "access to {} denied (often the CDN in front of Upstox)",
                    endpoint.path()
                ))
            }),
            ..http
        }),
        429 => SourceError::RateLimited(Reason::from_status("Upstox asked to slow down", http)),
        404 | 405 => SourceError::Config(Reason::from_status(
            format!(
                "no {} at this address: check the Upstox base URL",
                endpoint.path()
            ),
            http,
        )),
        408 | 500..=599 => SourceError::Http(http),
        _ if code.is_some() => SourceError::bad_response(http.to_string(), body),
        _ => SourceError::bad_response(format!("unexpected HTTP {}", status.as_u16()), body),
    };
    e.into()
}

fn transport_error(e: reqwest::Error) -> SourceError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect to Upstox"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    // The cause without the URL (the keys are not secret, but it keeps logs short).
    SourceError::network(what, e.without_url())
}

/// `base + path + ?instrument_key=k1,k2,...`, each key percent-encoded (`|` → `%7C`, space →
/// `%20`), the commas left as they are, like the Upstox docs' examples.
fn batch_url(
    base: &reqwest::Url,
    endpoint: QuoteEndpoint,
    batch: &[Instrument],
) -> Result<reqwest::Url, SourceError> {
    let mut s = String::with_capacity(base.as_str().len() + 40 + batch.len() * 24);
    s.push_str(base.as_str().trim_end_matches('/'));
    s.push_str(endpoint.path());
    s.push_str("?instrument_key=");
    for (n, i) in batch.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        for b in i.key.as_str().bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                s.push(char::from(b));
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
    }
    reqwest::Url::parse(&s)
        .map_err(|e| SourceError::Config(format!("cannot build a request URL: {e}").into()))
}

/// Exponential backoff with jitter: a random pause between half and all of
/// `min(base × 2^attempt, max)`.
fn backoff(config: &UpstoxConfig, attempt: u32) -> Duration {
    let exp = config
        .backoff_base
        .saturating_mul(1u32 << attempt.min(16))
        .min(config.backoff_max);
    let nanos = exp.as_nanos().min(u128::from(u64::MAX)) as u64;
    Duration::from_nanos(rand::thread_rng().gen_range(nanos / 2..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InstrumentKey;

    #[test]
    fn url_encodes_pipes_and_spaces_and_keeps_commas() {
        let base = reqwest::Url::parse("http://127.0.0.1:1/prefix/").unwrap();
        let batch = [
            Instrument::new(
                InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap(),
                "NIFTY 50",
                "",
                None,
            ),
            Instrument::new(
                InstrumentKey::new("NSE_EQ|INE002A01018").unwrap(),
                "RELIANCE",
                "",
                None,
            ),
        ];
        let url = batch_url(&base, QuoteEndpoint::LtpV3, &batch).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/prefix/v3/market-quote/ltp?instrument_key=NSE_INDEX%7CNifty%2050,NSE_EQ%7CINE002A01018"
        );
    }

    fn failed(e: BatchError) -> SourceError {
        match e {
            BatchError::Failed(e) => e,
            BatchError::KeysRefused(d) => panic!("keys refused: {d}"),
        }
    }

    fn envelope(code: &str) -> String {
        format!(r#"{{"status":"error","errors":[{{"error_code":"{code}","message":"m"}}]}}"#)
    }

    #[test]
    fn statuses_map_to_actions() {
        let html = b"<html><body><h1>403 Forbidden</h1>cloudfront</body></html>";
        let cases: [(u16, &[u8], &str); 9] = [
            (401, b"{}", "unauthorized"),
            (403, html, "transient"),
            (403, b"{}", "transient"),
            (429, b"{}", "rate_limited"),
            (404, b"{}", "config"),
            (500, b"{}", "transient"),
            (503, html, "transient"),
            (400, html, "bad_response"),
            (302, b"{}", "bad_response"),
        ];
        for (status, body, kind) in cases {
            let e = failed(classify(
                StatusCode::from_u16(status).unwrap(),
                QuoteEndpoint::LtpV3,
                body,
            ));
            assert_eq!(e.kind(), kind, "{status}");
        }
        let e = failed(classify(
            StatusCode::TOO_MANY_REQUESTS,
            QuoteEndpoint::LtpV3,
            envelope("UDAPI10005").as_bytes(),
        ));
        let status = e.http_status().expect("a typed status");
        assert_eq!(
            (status.status, status.code.as_deref()),
            (429, Some("UDAPI10005"))
        );
        // Every HTTP-derived error carries its status, whatever its class.
        for status in [400u16, 401, 403, 404, 429, 500] {
            let e = failed(classify(
                StatusCode::from_u16(status).unwrap(),
                QuoteEndpoint::LtpV3,
                envelope("UDAPI1").as_bytes(),
            ));
            assert_eq!(e.http_status().map(|s| s.status), Some(status), "{e}");
        }
        let e = failed(classify(
            StatusCode::SERVICE_UNAVAILABLE,
            QuoteEndpoint::LtpV3,
            envelope("UDAPI100500").as_bytes(),
        ));
        let status = e.http_status().expect("a typed status");
        assert_eq!(
            (status.status, status.code.as_deref()),
            (503, Some("UDAPI100500"))
        );
    }

    #[test]
    fn only_401_or_the_token_code_means_unauthorized() {
        // The token code under another status (and in the deprecated spelling) is a refused
        // token; a 403 is not.
        for status in [400, 403, 500] {
            let e = failed(classify(
                StatusCode::from_u16(status).unwrap(),
                QuoteEndpoint::LtpV3,
                envelope(TOKEN_INVALID).as_bytes(),
            ));
            assert_eq!(e.kind(), "unauthorized", "{status}");
        }
        let camel = br#"{"status":"error","errors":[{"errorCode":"UDAPI100050","message":"Invalid token used to access API"}]}"#;
        let e = failed(classify(StatusCode::OK, QuoteEndpoint::LtpV3, camel));
        assert_eq!(e.kind(), "unauthorized");
    }

    #[test]
    fn a_400_blaming_a_key_is_keys_refused_and_other_400s_are_config() {
        for code in ["UDAPI1087", "UDAPI1011"] {
            let e = classify(
                StatusCode::BAD_REQUEST,
                QuoteEndpoint::LtpV3,
                envelope(code).as_bytes(),
            );
            assert!(
                matches!(e, BatchError::KeysRefused(ref d) if d.contains(code)),
                "{e:?}"
            );
        }
        let e = failed(classify(
            StatusCode::BAD_REQUEST,
            QuoteEndpoint::LtpV3,
            envelope("UDAPI100043").as_bytes(),
        ));
        assert_eq!(e.kind(), "config");
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let c = UpstoxConfig::default();
        for attempt in 0..6 {
            let exp = c
                .backoff_base
                .saturating_mul(1 << attempt)
                .min(c.backoff_max);
            for _ in 0..50 {
                let b = backoff(&c, attempt);
                assert!(b >= exp / 2 && b <= exp, "{attempt}: {b:?}");
            }
        }
    }
}
