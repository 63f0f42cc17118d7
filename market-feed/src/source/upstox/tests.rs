use super::*;
use crate::{model::InstrumentKey, universe::Universe};

fn source(base_url: &str) -> UpstoxSource {
    let config = UpstoxConfig {
        base_url: base_url.into(),
        request_timeout: Duration::from_millis(200),
        refresh_deadline: Duration::from_millis(500),
        backoff_base: Duration::from_millis(5),
        ..UpstoxConfig::default()
    };
    UpstoxSource::new(
        config,
        TokenProvider::fixed("tok-123-secret").unwrap(),
        MarketClock::system(),
    )
    .unwrap()
}

#[tokio::test]
async fn empty_request_calls_nobody() {
    // Port 9 (discard) on loopback: any request would fail.
    let s = source("http://127.0.0.1:9");
    assert_eq!(s.fetch(&[]).await, Ok(Fetched::default()));
}

#[tokio::test]
async fn unreachable_host_is_transient_and_names_no_token() {
    // Bind then drop a listener so the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = source(&format!("http://127.0.0.1:{port}"));
    let u = Universe::bundled();
    let err = s.fetch(u.indices()).await.unwrap_err();
    assert_eq!(err.kind(), "transient", "{err}");
    assert!(!err.to_string().contains("tok-123-secret"));
}

#[test]
fn bad_base_urls_are_config_errors() {
    for url in ["", "ftp://x", "not a url", "http://"] {
        let c = UpstoxConfig {
            base_url: url.into(),
            ..UpstoxConfig::default()
        };
        let e = UpstoxSource::new(c, TokenProvider::fixed("t").unwrap(), MarketClock::system())
            .unwrap_err();
        assert_eq!(e.kind(), "config", "{url}");
    }
}

#[test]
fn endpoint_per_segment() {
    let s = source("http://127.0.0.1:9");
    let idx = Instrument::new(
        InstrumentKey::new("BSE_INDEX|SENSEX").unwrap(),
        "SENSEX",
        "",
        None,
    );
    let stock = Instrument::new(
        InstrumentKey::new("NSE_EQ|INE002A01018").unwrap(),
        "RELIANCE",
        "",
        None,
    );
    assert_eq!(s.endpoint_for(&idx), QuoteEndpoint::FullQuoteV2);
    assert_eq!(s.endpoint_for(&stock), QuoteEndpoint::LtpV3);
    let dbg = format!("{s:?}");
    assert!(
        dbg.contains("127.0.0.1:9") && !dbg.contains("tok-123-secret"),
        "{dbg}"
    );
}

#[test]
fn a_deadline_handle_shares_everything_but_the_deadline() {
    let s = source("http://127.0.0.1:9");
    let bounded = s
        .with_deadline(Duration::from_secs(7))
        .expect("Upstox takes a deadline");
    assert_eq!(bounded.name(), "upstox");
    // The original keeps its own deadline.
    assert_eq!(s.config().refresh_deadline, Duration::from_millis(500));
    let sub = s.with_refresh_deadline(Duration::from_secs(7));
    assert_eq!(sub.config().refresh_deadline, Duration::from_secs(7));
    assert!(Arc::ptr_eq(&sub.shared, &s.shared));
}
