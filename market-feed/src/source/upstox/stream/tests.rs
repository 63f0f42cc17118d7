//! The Upstox stream client against the fake feed over loopback.

use std::time::Duration;

use futures::StreamExt;

use super::*;
use crate::{
    clock::MarketClock,
    source::{
        StreamEvent,
        upstox::{TokenProvider, UpstoxConfig, UpstoxSource},
    },
    testing::{FakeFeed, FakeUpstox},
    universe::Universe,
};

async fn setup() -> (FakeUpstox, FakeFeed, UpstoxStream, Universe) {
    let universe = Universe::bundled();
    let fake = FakeUpstox::with_universe(&universe).await.unwrap();
    fake.require_token("good");
    let feed = fake.start_feed().await.unwrap();
    let config = UpstoxConfig {
        base_url: fake.base_url(),
        ..UpstoxConfig::default()
    };
    let rest = UpstoxSource::new(
        config,
        TokenProvider::fixed("good").unwrap(),
        MarketClock::system(),
    )
    .unwrap();
    (fake, feed, rest.stream(), universe)
}

/// The next event within 5 s (real time; a hang fails the test instead of blocking it).
async fn next(ticks: &mut TickStream) -> Option<Result<StreamEvent, SourceError>> {
    tokio::time::timeout(Duration::from_secs(5), ticks.next())
        .await
        .expect("no event within 5 s")
}

#[tokio::test]
async fn connects_subscribes_in_binary_ltpc_and_yields_market_info_then_the_initial_feed() {
    let (_fake, feed, stream, universe) = setup().await;
    let instruments = universe.prices();
    let mut ticks = stream.connect(instruments).await.unwrap();
    match next(&mut ticks).await {
        Some(Ok(StreamEvent::Segments(s))) => {
            assert!(s.iter().any(|s| s.segment == "NSE_EQ" && s.open));
        }
        other => panic!("expected market_info first, got {other:?}"),
    }
    // The market_info frame carried no feeds: an empty tick batch (a sign of life).
    assert!(matches!(next(&mut ticks).await, Some(Ok(StreamEvent::Ticks(q))) if q.is_empty()));
    match next(&mut ticks).await {
        Some(Ok(StreamEvent::Ticks(q))) => {
            assert_eq!(q.len(), instruments.len(), "initial_feed has every key");
            assert!(
                q.iter()
                    .all(|q| q.prev_close.is_some() && q.volume.is_none())
            );
        }
        other => panic!("expected the initial feed, got {other:?}"),
    }
    let subs = feed.subscriptions();
    assert_eq!(subs.len(), 1);
    assert!(subs[0].binary);
    assert_eq!(
        (subs[0].method.as_str(), subs[0].mode.as_deref()),
        ("sub", Some("ltpc"))
    );
    assert_eq!(subs[0].keys.len(), instruments.len());
    // Live ticks carry only the instruments that ticked.
    match next(&mut ticks).await {
        Some(Ok(StreamEvent::Ticks(q))) => assert!(!q.is_empty() && q.len() < instruments.len()),
        other => panic!("expected live ticks, got {other:?}"),
    }
    assert_eq!((feed.authorizations(), feed.handshakes()), (1, 1));
}

#[tokio::test]
async fn pings_are_answered_and_every_connect_authorizes_afresh() {
    let (_fake, feed, stream, universe) = setup().await;
    feed.ping_every(Duration::from_millis(20));
    let mut ticks = stream.connect(universe.indices()).await.unwrap();
    for _ in 0..200 {
        if feed.pongs() > 0 {
            break;
        }
        let _ = next(&mut ticks).await;
    }
    assert!(feed.pongs() > 0, "the client answers the server's pings");
    // A second connection (one per user) closes the first and needs a new one-use URL.
    let _second = stream.connect(universe.indices()).await.unwrap();
    assert_eq!(feed.authorizations(), 2);
    let mut ended = false;
    for _ in 0..500 {
        match next(&mut ticks).await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                assert!(e.to_string().contains("another connection"), "{e}");
                ended = true;
                break;
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended, "the older connection is closed by the broker");
}

#[tokio::test]
async fn a_403_handshake_is_retryable_and_a_401_is_unauthorized() {
    let (fake, feed, stream, universe) = setup().await;
    feed.refuse_handshakes(1);
    let err = stream.connect(universe.indices()).await.err().unwrap();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.http_status().map(|s| s.status), Some(403));
    assert!(stream.connect(universe.indices()).await.is_ok());

    feed.fail_authorize([503]);
    let err = stream.connect(universe.indices()).await.err().unwrap();
    assert!(err.is_retryable(), "{err}");

    fake.require_token("another");
    let err = stream.connect(universe.indices()).await.err().unwrap();
    assert!(matches!(err, SourceError::Unauthorized(_)), "{err}");
    assert!(!err.to_string().contains("good"), "no token in errors");
    assert!(
        !stream.credentials_usable().await,
        "the fixed token stays refused"
    );
    let before = feed.authorizations();
    assert!(stream.connect(universe.indices()).await.is_err());
    assert_eq!(feed.authorizations(), before, "no call on a refused token");
}

#[tokio::test]
async fn a_one_use_url_cannot_be_used_twice() {
    let (_fake, feed, _stream, _universe) = setup().await;
    let url = feed.authorize_url();
    assert!(tokio_tungstenite::connect_async(url.as_str()).await.is_ok());
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_dropped_connection_ends_the_stream_with_an_error() {
    let (_fake, feed, stream, universe) = setup().await;
    let mut ticks = stream.connect(universe.indices()).await.unwrap();
    let _ = next(&mut ticks).await;
    feed.drop_connections();
    let mut saw_error = false;
    loop {
        match next(&mut ticks).await {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                assert!(e.is_retryable(), "{e}");
                saw_error = true;
            }
            None => break,
        }
    }
    assert!(saw_error);
}

#[tokio::test]
async fn a_silent_feed_sends_no_data_frames() {
    let (_fake, feed, stream, universe) = setup().await;
    feed.set_silent(true);
    feed.ping_every(Duration::from_millis(20));
    let mut ticks = stream.connect(universe.indices()).await.unwrap();
    // market_info (segments + empty ticks), then initial_feed; then nothing but pings.
    for _ in 0..3 {
        assert!(matches!(next(&mut ticks).await, Some(Ok(_))));
    }
    let quiet = tokio::time::timeout(Duration::from_millis(300), ticks.next()).await;
    assert!(quiet.is_err(), "pings are not data: {quiet:?}");
    assert_eq!(feed.ticks_sent(), 0);
}

#[test]
fn a_universe_over_the_ltpc_limit_is_refused_before_any_call() {
    let rest = UpstoxSource::new(
        UpstoxConfig::default(),
        TokenProvider::fixed("t").unwrap(),
        MarketClock::system(),
    )
    .unwrap();
    let one = Universe::bundled().prices()[0].clone();
    let many = vec![one; MAX_LTPC_KEYS + 1];
    let err = rest.stream().check(&many).unwrap_err();
    assert!(err.to_string().contains("at most 5000"), "{err}");
    assert!(rest.stream().check(&many[..MAX_LTPC_KEYS]).is_ok());
}

#[tokio::test]
async fn a_skewed_fake_ticks_the_first_ranks_most() {
    let (_fake, feed, stream, universe) = setup().await;
    feed.set_tick_rate(5000.0);
    feed.set_tick_skew(1.0);
    let instruments = universe.prices();
    let mut ticks = stream.connect(instruments).await.unwrap();
    let (first, last) = (&instruments[0].key, &instruments[instruments.len() - 1].key);
    let (mut n_first, mut n_last, mut total) = (0, 0, 0);
    // Skip market_info and the initial feed (every key once).
    for _ in 0..3 {
        let _ = next(&mut ticks).await;
    }
    while total < 5_000 {
        if let Some(Ok(StreamEvent::Ticks(q))) = next(&mut ticks).await {
            total += q.len();
            n_first += q.iter().filter(|q| &q.key == first).count();
            n_last += q.iter().filter(|q| &q.key == last).count();
        }
    }
    // Rank 1 has ~1/8 of the ticks (Zipf, s = 1, over ~2,100 keys), so it is in nearly every
    // frame of ~100 ticks (a frame lists an instrument once); the last rank ~1/17,000.
    assert!(n_first >= 30, "{n_first} frames of {total} ticks");
    assert!(n_last * 10 < n_first, "{n_last} vs {n_first}");
}
