//! `UpstoxSource` against a real HTTP server on 127.0.0.1 that answers like Upstox
//! (`market_feed::testing::FakeUpstox`). Durations are tiny (milliseconds) so the tests run
//! fast; no assertion depends on how fast the machine is, except generous upper bounds on the
//! refresh deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashSet, sync::Arc, time::Duration};

use market_feed::{
    clock::MarketClock,
    model::InstrumentKey,
    source::{
        MissingReason, PriceSource, SourceError,
        upstox::{RateLimiter, TokenProvider, USER_AGENT, UpstoxConfig, UpstoxSource},
    },
    testing::{FakeInstrument, FakeReply, FakeUpstox, UnknownKeys},
    universe::{Instrument, Universe},
};
use time::macros::datetime;

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOi.test-token-value";

fn config(fake: &FakeUpstox) -> UpstoxConfig {
    UpstoxConfig {
        base_url: fake.base_url(),
        request_timeout: Duration::from_secs(2),
        refresh_deadline: Duration::from_secs(5),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        max_retries: 3,
        ..UpstoxConfig::default()
    }
}

fn clock() -> MarketClock {
    MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30))
}

fn source_with(config: UpstoxConfig) -> UpstoxSource {
    UpstoxSource::new(config, TokenProvider::fixed(TOKEN).unwrap(), clock()).unwrap()
}

/// `n` synthetic stocks, known to the fake with ltp = 100 + i/20, prev close 100, volume i.
async fn stocks(n: usize) -> (FakeUpstox, Vec<Instrument>) {
    let fake = FakeUpstox::start().await.unwrap();
    let mut instruments = Vec::with_capacity(n);
    for i in 0..n {
        let key = format!("NSE_EQ|INE{i:05}A0101");
        let symbol = format!("STOCK{i}");
        fake.add(FakeInstrument::stock(
            &key,
            &symbol,
            100.0 + i as f64 / 20.0,
            100.0,
            i as u64,
        ));
        instruments.push(Instrument::new(
            InstrumentKey::new(&key).unwrap(),
            symbol.as_str(),
            "",
            None,
        ));
    }
    (fake, instruments)
}

fn assert_no_token(e: &SourceError) {
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains(TOKEN) && !text.contains("test-token-value"),
        "{text}"
    );
}

#[tokio::test]
async fn a_2200_key_refresh_is_5_requests_of_at_most_500_with_the_bearer_header() {
    let (fake, instruments) = stocks(2_200).await;
    let source = source_with(config(&fake));
    let fetched = source.fetch(&instruments).await.unwrap();
    assert_eq!(fetched.quotes.len(), 2_200);
    assert!(fetched.missing.is_empty() && fetched.errors.is_empty());

    let requests = fake.requests();
    assert_eq!(requests.len(), 5);
    let mut all = HashSet::new();
    for r in &requests {
        assert_eq!(r.path, "/v3/market-quote/ltp");
        assert!(r.keys.len() <= 500, "{}", r.keys.len());
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(r.api_version, None);
        all.extend(r.keys.iter().cloned());
    }
    assert_eq!(all.len(), 2_200);

    // Values land on the right keys, with the universe's symbols and the clock's ts.
    let ts = clock().now_ms();
    for q in &fetched.quotes {
        let n: usize = q.symbol.trim_start_matches("STOCK").parse().unwrap();
        assert_eq!(q.key.as_str(), format!("NSE_EQ|INE{n:05}A0101"));
        assert_eq!(q.ltp, market_feed::model::round2(100.0 + n as f64 / 20.0));
        assert_eq!(q.prev_close, Some(100.0));
        assert_eq!(q.volume, Some(n as u64));
        assert_eq!(q.ts, ts);
    }
}

#[tokio::test]
async fn indices_use_the_full_quote_and_keep_the_universe_symbols() {
    let u = Universe::bundled();
    let fake = FakeUpstox::start().await.unwrap();
    fake.add(FakeInstrument::index(
        "NSE_INDEX|Nifty 50",
        25_010.55,
        25_300.0,
    ));
    fake.add(
        FakeInstrument::index("BSE_INDEX|SENSEX", 82_000.0, 82_300.0)
            .clone_with_ohlc(82_350.0, 82_400.0, 81_900.0),
    );
    let reliance = u.by_symbol("RELIANCE").unwrap().clone();
    fake.add(FakeInstrument::stock(
        reliance.key.as_str(),
        "RELIANCE",
        1391.2,
        1402.9,
        4_769_483,
    ));
    let wanted = vec![
        u.by_symbol("NIFTY 50").unwrap().clone(),
        u.by_symbol("SENSEX").unwrap().clone(),
        reliance,
    ];
    let fetched = source_with(config(&fake)).fetch(&wanted).await.unwrap();
    assert_eq!(fetched.quotes.len(), 3);
    let by = |s: &str| {
        fetched
            .quotes
            .iter()
            .find(|q| &*q.symbol == s)
            .unwrap()
            .clone()
    };

    let nifty = by("NIFTY 50"); // Upstox calls it "NSE_INDEX:Nifty 50"
    assert_eq!(nifty.key.as_str(), "NSE_INDEX|Nifty 50");
    assert_eq!((nifty.ltp, nifty.prev_close), (25_010.55, Some(25_300.0)));
    assert_eq!(
        (nifty.change, nifty.change_pct),
        (Some(-289.45), Some(-1.14))
    );
    assert_eq!(nifty.volume, None);
    let sensex = by("SENSEX");
    assert_eq!(
        (sensex.open, sensex.high, sensex.low),
        (Some(82_350.0), Some(82_400.0), Some(81_900.0))
    );
    assert_eq!(sensex.prev_close, Some(82_300.0)); // from net_change, not ohlc.close

    let rel = by("RELIANCE");
    assert_eq!((rel.change, rel.change_pct), (Some(-11.7), Some(-0.83)));
    assert_eq!(rel.open, None); // v3 LTP has no OHLC

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let full = requests
        .iter()
        .find(|r| r.path == "/v2/market-quote/quotes")
        .unwrap();
    assert_eq!(full.keys, ["NSE_INDEX|Nifty 50", "BSE_INDEX|SENSEX"]);
    assert_eq!(full.api_version.as_deref(), Some("2.0"));
}

trait WithOhlc {
    fn clone_with_ohlc(self, open: f64, high: f64, low: f64) -> Self;
}
impl WithOhlc for FakeInstrument {
    fn clone_with_ohlc(self, open: f64, high: f64, low: f64) -> Self {
        FakeInstrument {
            open,
            high,
            low,
            ..self
        }
    }
}

#[tokio::test]
async fn keys_the_broker_silently_omits_are_missing_not_errors() {
    let (fake, instruments) = stocks(600).await;
    fake.unknown_keys(UnknownKeys::Omit);
    for i in (0..600).step_by(7) {
        fake.remove(instruments[i].key.as_str());
    }
    let source = source_with(config(&fake));
    let fetched = source.fetch(&instruments).await.unwrap();
    // Omitted keys are "no price" and asked for again next time (nothing is held back).
    let report = source.missing();
    assert_eq!(report.len(), (0..600).step_by(7).count());
    assert!(report.iter().all(|m| m.reason == MissingReason::NoPrice));
    assert!(report.iter().any(|m| m.symbol == "STOCK7"));
    assert_eq!(fake.request_count(), 2);
    source.fetch(&instruments).await.unwrap();
    assert_eq!(fake.request_count(), 4);
    let expected_missing = (0..600).step_by(7).count();
    assert_eq!(fetched.missing.len(), expected_missing);
    assert_eq!(fetched.quotes.len(), 600 - expected_missing);
    assert!(fetched.errors.is_empty());
    let missing: HashSet<_> = fetched.missing.iter().collect();
    assert!(missing.contains(&instruments[7].key));
    assert!(fetched.quotes.iter().all(|q| !missing.contains(&q.key)));
}

#[tokio::test]
async fn extra_entries_nulls_and_both_error_spellings_are_tolerated() {
    let (fake, instruments) = stocks(3).await;
    let body = format!(
        r#"{{"status":"success","data":{{
            "NSE_EQ:STOCK0":{{"last_price":101.5,"instrument_token":"{k0}","ltq":1,"volume":null,"cp":100.0}},
            "NSE_EQ:STOCK1":null,
            "NSE_EQ:OTHER":{{"last_price":5.0,"instrument_token":"NSE_EQ|INE99999Z0101","cp":4.0}}
        }}}}"#,
        k0 = instruments[0].key
    );
    fake.reply_to(
        1,
        FakeReply::Raw {
            status: 200,
            content_type: "application/json".into(),
            body,
        },
    );
    let fetched = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap();
    assert_eq!(fetched.quotes.len(), 1);
    assert_eq!(fetched.quotes[0].ltp, 101.5);
    assert_eq!(fetched.quotes[0].volume, None);
    assert_eq!(fetched.missing.len(), 2);

    // The fake's 5xx bodies use the deprecated `errorCode`; 429 uses `error_code`.
    for (reply, code) in [
        (FakeReply::Status(503), "UDAPI100500"),
        (FakeReply::Status(429), "UDAPI10005"),
    ] {
        let (fake, instruments) = stocks(1).await;
        for n in 1..=4 {
            fake.reply_to(n, reply.clone());
        }
        let e = source_with(config(&fake))
            .fetch(&instruments)
            .await
            .unwrap_err();
        // The code is in the error's chain: a typed `HttpStatus` cause for the 503 and the 429.
        let text = market_feed::Report::new(&e).to_string();
        assert_eq!(text.matches(code).count(), 1, "{text}");
        assert_eq!(e.http_status().and_then(|s| s.code.as_deref()), Some(code));
        assert!(e.is_retryable());
        assert_eq!(fake.request_count(), 4, "1 try + 3 retries");
    }
}

#[tokio::test]
async fn a_429_then_success_is_a_clean_refresh() {
    let (fake, instruments) = stocks(10).await;
    fake.reply_to(1, FakeReply::Status(429));
    let fetched = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap();
    assert_eq!(fetched.quotes.len(), 10);
    assert!(fetched.errors.is_empty());
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn a_500_is_retried_and_a_lasting_one_fails_only_its_batch() {
    // TC0: one 500, then success.
    let (fake, instruments) = stocks(10).await;
    fake.reply_to(1, FakeReply::Status(500));
    let fetched = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap();
    assert_eq!((fetched.quotes.len(), fake.request_count()), (10, 2));

    // TC1: 2 batches (batch size 5), one answered 500 four times (1 try + 3 retries): the
    // other batch's quotes come back with the failure reported.
    let (fake, instruments) = stocks(10).await;
    let cfg = UpstoxConfig {
        batch_size: 5,
        concurrency: 1,
        ..config(&fake)
    };
    for n in 1..=4 {
        fake.reply_to(n, FakeReply::Status(500));
    }
    let fetched = source_with(cfg).fetch(&instruments).await.unwrap();
    assert_eq!(fetched.quotes.len(), 5);
    assert_eq!(fetched.missing.len(), 5);
    assert_eq!(fetched.errors.len(), 1);
    assert_eq!(fetched.errors[0].kind(), "transient");
    assert!(fetched.has_failures());
    assert_eq!(fake.request_count(), 5);
}

#[tokio::test]
async fn a_401_is_not_retried_with_the_same_token() {
    let (fake, instruments) = stocks(10).await;
    fake.require_token("another-token");
    let source = source_with(config(&fake));
    let e = source.fetch(&instruments).await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized(_)), "{e}");
    // The broker's answer is the typed cause: status and code, printed once by a reporter.
    let status = e.http_status().expect("the HTTP status is the cause");
    assert_eq!(
        (status.status, status.code.as_deref()),
        (401, Some("UDAPI100050"))
    );
    let report = market_feed::Report::new(&e).to_string();
    assert_eq!(report.matches("UDAPI100050").count(), 1, "{report}");
    assert_no_token(&e);
    assert_eq!(fake.request_count(), 1);
    // Unauthorized anywhere fails the whole fetch, even when other batches succeeded.
    let (fake2, more) = stocks(1_000).await;
    fake2.require_token(TOKEN);
    fake2.reply_to(2, FakeReply::Status(401));
    let e = source_with(config(&fake2)).fetch(&more).await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized(_)), "{e}");
}

#[tokio::test]
async fn after_a_401_a_changed_token_file_is_used_at_once() {
    let (fake, instruments) = stocks(10).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upstox-token");
    std::fs::write(&path, "expired-token\n").unwrap();
    fake.require_token("fresh-token");
    let source = UpstoxSource::new(
        config(&fake),
        TokenProvider::from_file(&path).unwrap(),
        clock(),
    )
    .unwrap();

    // TC0: the file still holds the refused token: Unauthorized after one request.
    assert!(matches!(
        source.fetch(&instruments).await,
        Err(SourceError::Unauthorized(_))
    ));
    assert_eq!((fake.request_count(), source.token_generation()), (1, 1));
    assert_eq!(source.reload_token().await, Ok(false));

    // TC1: the file is replaced; the next fetch gets a 401, re-reads, retries once, succeeds.
    std::fs::write(&path, "fresh-token\n").unwrap();
    let fetched = source.fetch(&instruments).await.unwrap();
    assert_eq!(fetched.quotes.len(), 10);
    assert_eq!(source.token_generation(), 2);
    let auth: Vec<_> = fake
        .requests()
        .into_iter()
        .map(|r| r.authorization.unwrap())
        .collect();
    // The refused token is not sent again: the replaced file is read before the next call.
    assert_eq!(auth, ["Bearer expired-token", "Bearer fresh-token"]);
}

#[tokio::test]
async fn a_timeout_is_retried_and_a_refresh_never_outlives_its_deadline() {
    // TC0: the first answer comes too late; the retry succeeds.
    let (fake, instruments) = stocks(10).await;
    // Margins wide enough for a loaded machine: a normal answer comes well within 1 s.
    fake.reply_to(1, FakeReply::Slow(Duration::from_secs(5)));
    let cfg = UpstoxConfig {
        request_timeout: Duration::from_secs(1),
        ..config(&fake)
    };
    let fetched = source_with(cfg).fetch(&instruments).await.unwrap();
    assert_eq!((fetched.quotes.len(), fake.request_count()), (10, 2));

    // TC1: every answer is slow: the fetch fails as transient by its deadline.
    let (fake, instruments) = stocks(10).await;
    for n in 1..=10 {
        fake.reply_to(n, FakeReply::Slow(Duration::from_secs(2)));
    }
    let cfg = UpstoxConfig {
        request_timeout: Duration::from_millis(60),
        refresh_deadline: Duration::from_millis(150),
        max_retries: 10,
        ..config(&fake)
    };
    let started = std::time::Instant::now();
    let e = source_with(cfg).fetch(&instruments).await.unwrap_err();
    assert_eq!(e.kind(), "transient", "{e}");
    // Timed out, or (on a loaded machine) the deadline passed before a retry could be sent.
    let text = e.to_string();
    assert!(
        text.contains("no answer") || text.contains("deadline"),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(fake.request_count() <= 3, "{}", fake.request_count());
}

#[tokio::test]
async fn malformed_json_and_html_pages_are_bad_responses_with_an_excerpt() {
    // TC0: truncated JSON: not retried.
    let (fake, instruments) = stocks(10).await;
    fake.reply_to(1, FakeReply::MalformedJson);
    let e = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap_err();
    let SourceError::BadResponse { excerpt, .. } = &e else {
        panic!("{e}")
    };
    assert!(excerpt.starts_with(r#"{"status":"success""#), "{excerpt}");
    assert_no_token(&e);
    assert_eq!(fake.request_count(), 1);

    // TC1: an HTML page with HTTP 200 (a captive portal, a wrong base URL).
    let (fake, instruments) = stocks(10).await;
    fake.reply_to(1, FakeReply::HtmlPage(200));
    let e = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "bad_response");
    assert!(e.to_string().contains("<!DOCTYPE html>"), "{e}");

    // TC2: a proxy's 502 page is a transient failure, retried.
    let (fake, instruments) = stocks(10).await;
    fake.reply_to(1, FakeReply::HtmlPage(502));
    let fetched = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap();
    assert_eq!((fetched.quotes.len(), fake.request_count()), (10, 2));
}

#[tokio::test]
async fn a_400_that_blames_no_key_is_a_config_error_and_is_not_retried() {
    let (fake, instruments) = stocks(10).await;
    fake.reply_to(
        1,
        FakeReply::Raw {
            status: 400,
            content_type: "application/json".into(),
            body: r#"{"status":"error","errors":[{"error_code":"UDAPI100043","message":"Maximum instrument key limit exceeded"}]}"#.into(),
        },
    );
    let e = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "config");
    assert_eq!(
        e.http_status().and_then(|s| s.code.as_deref()),
        Some("UDAPI100043")
    );
    assert!(
        market_feed::Report::new(&e)
            .to_string()
            .contains("UDAPI100043: Maximum instrument key limit exceeded"),
        "{e}"
    );
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn the_token_is_in_no_error_even_when_the_server_echoes_it() {
    let (fake, instruments) = stocks(1).await;
    let body = format!("<html>your token {TOKEN} is bad</html>");
    fake.reply_to(
        1,
        FakeReply::Raw {
            status: 200,
            content_type: "text/html".into(),
            body: body.clone(),
        },
    );
    fake.reply_to(
        2,
        FakeReply::Raw {
            status: 418,
            content_type: "text/html".into(),
            body,
        },
    );
    let source = source_with(config(&fake));
    for _ in 0..2 {
        let e = source.fetch(&instruments).await.unwrap_err();
        assert_no_token(&e);
        assert!(e.to_string().contains("***"), "{e}");
    }
    assert!(!format!("{source:?}").contains(TOKEN));
}

#[tokio::test]
async fn clones_share_one_rate_limiter() {
    let (fake, instruments) = stocks(1_500).await;
    // 3 requests a minute: the first fetch (3 batches) uses them all.
    let limiter = Arc::new(RateLimiter::new(&[(3, Duration::from_secs(60))]));
    // A generous deadline for the three real requests (a loaded machine must not fail it).
    let prices = source_with(UpstoxConfig {
        refresh_deadline: Duration::from_secs(10),
        ..config(&fake)
    })
    .with_rate_limiter(limiter.clone());
    let indices = prices.with_refresh_deadline(Duration::from_millis(100));
    assert_eq!(
        prices.fetch(&instruments).await.unwrap().quotes.len(),
        1_500
    );
    // The other job's clone finds no permit before its deadline: rate limited, no request.
    let e = indices.fetch(&instruments[..1]).await.unwrap_err();
    assert_eq!(e.kind(), "rate_limited", "{e}");
    assert_eq!(fake.request_count(), 3);
}

/// 2,200 stocks of which the broker does not know 3 (in different batches), the real
/// service's way: HTTP 400 UDAPI1087 for any request that names one of them.
#[tokio::test]
async fn unknown_keys_are_found_by_splitting_served_around_and_held_back() {
    let (fake, instruments) = stocks(2_200).await;
    let unknown = [3usize, 777, 2_199];
    for n in unknown {
        fake.remove(instruments[n].key.as_str());
    }
    let limiter = Arc::new(RateLimiter::new(&[(1_000, Duration::from_secs(600))]));
    let source = source_with(config(&fake)).with_rate_limiter(limiter.clone());
    let fetched = source.fetch(&instruments).await.unwrap();
    // Every other key is served in the same refresh; the unknown ones are missing, no error.
    assert_eq!(fetched.quotes.len(), 2_197);
    assert!(fetched.errors.is_empty(), "{:?}", fetched.errors);
    let mut missing: Vec<_> = fetched
        .missing
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    missing.sort();
    let mut expected: Vec<_> = unknown
        .iter()
        .map(|&n| instruments[n].key.as_str().to_owned())
        .collect();
    expected.sort();
    assert_eq!(missing, expected);
    let report = source.missing();
    assert_eq!(
        report
            .iter()
            .map(|m| (m.symbol.as_str(), m.reason))
            .collect::<Vec<_>>(),
        [
            ("STOCK2199", MissingReason::Unknown),
            ("STOCK3", MissingReason::Unknown),
            ("STOCK777", MissingReason::Unknown)
        ]
    );
    // Every split request took a permit from the limiter: exactly as many as requests made.
    let first = fake.request_count();
    assert!(first > 5, "{first}");
    let mut left = 0;
    while limiter.try_acquire().is_ok() {
        left += 1;
    }
    assert_eq!(left, 1_000 - first, "one permit per request");

    // The next refresh leaves them out: at most ceil(N/500) + 1 requests, none with them.
    let limiter2 = Arc::new(RateLimiter::new(&[(1_000, Duration::from_secs(600))]));
    let again = source.with_rate_limiter(limiter2);
    let fetched = again.fetch(&instruments).await.unwrap();
    assert_eq!(fetched.quotes.len(), 2_197);
    assert_eq!(fetched.missing.len(), 3);
    let later = &fake.requests()[first..];
    assert!(
        later.len() <= 2_200usize.div_ceil(500) + 1,
        "{} requests",
        later.len()
    );
    assert!(
        later
            .iter()
            .all(|r| r.keys.iter().all(|k| !expected.contains(k))),
        "an unknown key was asked for again"
    );
    // A changed universe (a different set of keys) asks again.
    again.fetch(&instruments[..2_199]).await.unwrap();
    let asked: HashSet<String> = fake.requests()[first + later.len()..]
        .iter()
        .flat_map(|r| r.keys.clone())
        .collect();
    assert!(asked.contains(instruments[3].key.as_str()));
}

#[tokio::test]
async fn answers_without_a_price_are_reported_as_no_price() {
    let (fake, instruments) = stocks(4).await;
    fake.without_price(instruments[1].key.as_str());
    let source = source_with(config(&fake));
    let fetched = source.fetch(&instruments).await.unwrap();
    assert_eq!((fetched.quotes.len(), fetched.missing.len()), (3, 1));
    let report = source.missing();
    assert_eq!(report.len(), 1);
    assert_eq!(
        (report[0].symbol.as_str(), report[0].reason),
        ("STOCK1", MissingReason::NoPrice)
    );
}

#[tokio::test]
async fn partial_success_is_a_success_for_the_keys_it_answers() {
    let (fake, instruments) = stocks(10).await;
    fake.reply_to(1, FakeReply::PartialSuccess);
    let fetched = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap();
    assert_eq!((fetched.quotes.len(), fetched.missing.len()), (5, 5));
    assert!(fetched.errors.is_empty());
}

#[tokio::test]
async fn a_cdn_403_is_retried_and_is_not_a_refused_token() {
    let (fake, instruments) = stocks(10).await;
    fake.reply_to(1, FakeReply::CdnForbidden);
    let source = source_with(config(&fake));
    let fetched = source.fetch(&instruments).await.unwrap();
    assert_eq!((fetched.quotes.len(), fake.request_count()), (10, 2));
    // A lasting 403 fails the refresh as transient, never as unauthorized.
    for n in 3..=6 {
        fake.reply_to(n, FakeReply::CdnForbidden);
    }
    let e = source.fetch(&instruments).await.unwrap_err();
    assert_eq!(e.kind(), "transient", "{e}");
    assert!(source.credentials_usable().await);
    fake.reply_to(7, FakeReply::Status(403));
    assert_eq!(source.fetch(&instruments).await.unwrap().quotes.len(), 10);
}

#[tokio::test]
async fn the_token_code_is_unauthorized_in_both_spellings() {
    for camel in [false, true] {
        let (fake, instruments) = stocks(2).await;
        fake.camel_case_errors(camel);
        fake.require_token("other");
        let e = source_with(config(&fake))
            .fetch(&instruments)
            .await
            .unwrap_err();
        assert!(matches!(e, SourceError::Unauthorized(_)), "{camel}: {e}");
        let code = e.http_status().and_then(|s| s.code.clone());
        assert_eq!(code.as_deref(), Some("UDAPI100050"), "{camel}: {e}");
    }
}

#[tokio::test]
async fn every_request_carries_the_user_agent() {
    let (fake, instruments) = stocks(600).await;
    source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap();
    assert_eq!(
        USER_AGENT,
        format!("market-feed/{}", env!("CARGO_PKG_VERSION"))
    );
    for r in fake.requests() {
        assert_eq!(r.user_agent.as_deref(), Some(USER_AGENT));
    }
}

#[tokio::test]
async fn a_token_refused_on_one_topic_is_sent_by_no_other_and_a_new_one_resumes_both() {
    let (fake, instruments) = stocks(10).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upstox-token");
    std::fs::write(&path, "expired-token\n").unwrap();
    fake.require_token("fresh-token");
    let indices = UpstoxSource::new(
        config(&fake),
        TokenProvider::from_file(&path).unwrap(),
        clock(),
    )
    .unwrap();
    let prices = indices.with_refresh_deadline(Duration::from_secs(5));
    assert!(matches!(
        indices.fetch(&instruments[..2]).await,
        Err(SourceError::Unauthorized(_))
    ));
    assert_eq!(fake.request_count(), 1);
    // The other topic does not send the refused token.
    assert!(matches!(
        prices.fetch(&instruments).await,
        Err(SourceError::Unauthorized(_))
    ));
    assert_eq!(fake.request_count(), 1);
    assert!(!indices.credentials_usable().await && !prices.credentials_usable().await);
    // A new token: both topics are told so (the first to ask does not use it up).
    std::fs::write(&path, "fresh-token\n").unwrap();
    assert!(indices.credentials_usable().await);
    assert!(prices.credentials_usable().await);
    assert_eq!(
        indices.fetch(&instruments[..2]).await.unwrap().quotes.len(),
        2
    );
    assert_eq!(prices.fetch(&instruments).await.unwrap().quotes.len(), 10);
}

#[tokio::test]
async fn a_refused_token_costs_one_call_not_one_per_batch() {
    let (fake, instruments) = stocks(2_200).await;
    fake.require_token("another-token");
    let e = source_with(config(&fake))
        .fetch(&instruments)
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized(_)), "{e}");
    assert_eq!(fake.request_count(), 1);
}
