//! One batch request to Upstox: the URL, the rate-limit permit, the attempt with its timeout,
//! the classification of the answer, and the retries.

use std::time::Duration;

use rand::Rng;
use reqwest::{StatusCode, header};
use tokio::time::Instant;

use super::{
    QuoteEndpoint, Shared, UpstoxConfig, UpstoxToken,
    response::{Decoded, decode_quotes, error_code},
};
use crate::{source::SourceError, universe::Instrument};

/// Fetches one batch (at most 500 keys) with retries, ending by `deadline`.
pub(super) async fn fetch_batch(
    shared: &Shared,
    config: &UpstoxConfig,
    endpoint: QuoteEndpoint,
    batch: &[Instrument],
    deadline: Instant,
) -> Result<Decoded, SourceError> {
    let url = batch_url(&shared.base_url, endpoint, batch)?;
    let mut attempt = 0u32;
    let mut token_renewed = false;
    loop {
        if !shared.limiter.acquire_before(deadline).await {
            return Err(SourceError::RateLimited(
                "client-side limit: no request slot before the refresh deadline".into(),
            ));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(SourceError::Transient(
                "the refresh deadline passed before the request could be sent".into(),
            ));
        }
        let (token, generation) = shared.tokens.snapshot();
        let timeout = config.request_timeout.min(deadline - now);
        let outcome = attempt_once(shared, endpoint, &url, &token, timeout, batch)
            .await
            .map_err(|e| e.redact(token.expose()));
        match outcome {
            Ok(decoded) => return Ok(decoded),
            Err(SourceError::Unauthorized(detail)) => {
                if !token_renewed && shared.tokens.renew_after_rejection(generation).await {
                    tracing::info!("Upstox refused the token; retrying with the renewed token");
                    token_renewed = true;
                    continue;
                }
                return Err(SourceError::Unauthorized(detail));
            }
            Err(e) if e.is_retryable() && attempt < config.max_retries => {
                let pause = backoff(config, attempt);
                if Instant::now() + pause >= deadline {
                    return Err(e);
                }
                tracing::debug!(error = %e, attempt, ?pause, "Upstox request failed; retrying");
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn attempt_once(
    shared: &Shared,
    endpoint: QuoteEndpoint,
    url: &reqwest::Url,
    token: &UpstoxToken,
    timeout: Duration,
    batch: &[Instrument],
) -> Result<Decoded, SourceError> {
    let mut request = shared
        .http
        .get(url.clone())
        .bearer_auth(token.expose())
        .header(header::ACCEPT, "application/json");
    if endpoint == QuoteEndpoint::FullQuoteV2 {
        // The official SDKs send it on v2 calls; harmless where it is not needed.
        request = request.header("Api-Version", "2.0");
    }
    let exchange = async {
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, body))
    };
    let (status, body) = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => {
            return Err(SourceError::Transient(format!(
                "no answer from Upstox within {} ms",
                timeout.as_millis()
            )));
        }
        Ok(Err(e)) => return Err(transport_error(&e)),
        Ok(Ok(answer)) => answer,
    };
    if status == StatusCode::OK {
        return decode_quotes(endpoint, &body, batch, shared.clock.now_ms());
    }
    Err(classify(status, endpoint, &body))
}

/// Maps a non-200 answer to what the caller should do.
fn classify(status: StatusCode, endpoint: QuoteEndpoint, body: &[u8]) -> SourceError {
    let code = error_code(body);
    let detail = match &code {
        Some((code, message)) => format!("HTTP {} {code}: {message}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    };
    match status.as_u16() {
        401 => SourceError::Unauthorized(detail),
        403 => SourceError::Unauthorized(format!(
            "{detail}: this token may not call {}",
            endpoint.path()
        )),
        429 => SourceError::RateLimited(detail),
        400 => SourceError::Config(format!(
            "Upstox refused the request ({detail}): check the universe's instrument keys"
        )),
        404 | 405 => SourceError::Config(format!(
            "{detail} for {}: check --upstox-base-url",
            endpoint.path()
        )),
        500..=599 => SourceError::Transient(detail),
        _ if code.is_some() => SourceError::bad_response(detail, body),
        _ => SourceError::bad_response(format!("unexpected HTTP {}", status.as_u16()), body),
    }
}

fn transport_error(e: &reqwest::Error) -> SourceError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect to Upstox"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    // The message names the cause, not the URL (the keys are not secret, but it keeps logs short).
    let source = std::error::Error::source(e)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    SourceError::Transient(format!("{what}{source}"))
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
        .map_err(|e| SourceError::Config(format!("cannot build a request URL: {e}")))
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

    #[test]
    fn statuses_map_to_actions() {
        let cases = [
            (401, "unauthorized"),
            (403, "unauthorized"),
            (429, "rate_limited"),
            (400, "config"),
            (404, "config"),
            (500, "transient"),
            (503, "transient"),
            (302, "bad_response"),
        ];
        for (status, kind) in cases {
            let e = classify(
                StatusCode::from_u16(status).unwrap(),
                QuoteEndpoint::LtpV3,
                b"{}",
            );
            assert_eq!(e.kind(), kind, "{status}");
        }
        let e = classify(
            StatusCode::TOO_MANY_REQUESTS,
            QuoteEndpoint::LtpV3,
            br#"{"status":"error","errors":[{"error_code":"UDAPI10005","message":"Too Many Request Sent"}]}"#,
        );
        assert!(e.to_string().contains("UDAPI10005"), "{e}");
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
