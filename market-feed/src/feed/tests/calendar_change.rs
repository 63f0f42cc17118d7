//! A calendar change while the feed sleeps: a session announced on the morning of a weekend
//! day (the broker's list at 08:00) is served, although the feed had planned its next window
//! for Monday.

use super::*;
use time::macros::{date, datetime};

#[tokio::test(start_paused = true)]
async fn a_session_learned_while_sleeping_is_served() {
    let clock = clock_at(datetime!(2026-02-07 07:00 +05:30)); // a plain Saturday
    let store = Arc::new(MemoryStore::new());
    store_close(&store, date!(2026 - 02 - 06)).await;
    let rig = Rig::start(
        clock.clone(),
        store.clone(),
        Counting::new(&clock, answer),
        Counting::new(&clock, answer),
    )
    .await;
    rig.until(datetime!(2026-02-07 08:00 +05:30)).await;
    assert!(rig.indices.calls().is_empty());
    let session = r#"
        extends = "bundled"
        [[special_session]]
        date = "2026-02-07"
        name = "Announced session"
        pre_open = "09:45"
        open = "10:00"
        close = "10:05"
    "#;
    clock.set_calendar(Arc::new(
        Calendar::from_toml_str(session, "test", Exchange::Nse).unwrap(),
    ));
    rig.until(datetime!(2026-02-07 11:00 +05:30)).await;
    let rig = rig.stop().await;
    let calls = rig.indices.calls();
    let (start, end) = (
        datetime!(2026-02-07 09:58 +05:30),
        datetime!(2026-02-07 10:06 +05:30),
    );
    assert!(
        calls.iter().filter(|t| **t >= start && **t < end).count() >= 80,
        "{calls:?}"
    );
    assert!(matches!(
        rig.store
            .load_close(Topic::Prices, date!(2026 - 02 - 07))
            .await,
        Ok(Some(_))
    ));
}
