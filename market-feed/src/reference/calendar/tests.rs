//! The refresher on a manual clock with a scripted source and a memory store.

use std::sync::Mutex as StdMutex;

use async_trait::async_trait;
use time::macros::{date, datetime};

use super::*;
use crate::{clock::Coverage, store::MemoryStore};

#[derive(Debug, Default)]
struct Scripted {
    answer: StdMutex<Option<Result<Vec<HolidayEntry>, CalendarFetchError>>>,
    calls: StdMutex<usize>,
}

impl Scripted {
    fn set(&self, r: Result<Vec<HolidayEntry>, CalendarFetchError>) {
        *self.answer.lock().unwrap() = Some(r);
    }
    fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

#[async_trait]
impl CalendarSource for Scripted {
    fn store_name(&self) -> &str {
        CALENDAR_DOC
    }
    async fn fetch(&self) -> Result<Vec<HolidayEntry>, CalendarFetchError> {
        *self.calls.lock().unwrap() += 1;
        self.answer.lock().unwrap().clone().unwrap_or(Ok(vec![]))
    }
}

fn holiday(date: &str, name: &str) -> HolidayEntry {
    serde_json::from_value(serde_json::json!({"date": date, "description": name,
        "holiday_type": "TRADING_HOLIDAY", "closed_exchanges": ["NSE", "BSE"], "open_exchanges": []}))
    .unwrap()
}

fn down() -> CalendarFetchError {
    CalendarFetchError::Status {
        url: "http://fake/v2/market/holidays".into(),
        status: 500,
        detail: String::new(),
    }
}

#[tokio::test]
async fn a_failed_fetch_keeps_the_last_good_list_and_a_restart_uses_the_stored_copy() {
    let store: Arc<dyn SnapshotStore> = Arc::new(MemoryStore::default());
    let source = Arc::new(Scripted::default());
    source.set(Ok(vec![holiday("2027-01-25", "Broker only")]));
    let clock = MarketClock::fixed(datetime!(2027-01-20 10:00 +05:30));
    let r = CalendarRefresher::new(clock.clone(), Some(source.clone()), Some(store.clone()));
    r.start().await;
    assert_eq!(
        clock.calendar().holiday_name(date!(2027 - 01 - 25)),
        Some("Broker only")
    );
    assert_eq!(clock.calendar().coverage(2027), Coverage::Confirmed);
    source.set(Err(down()));
    assert!(r.refresh().await.is_err());
    assert_eq!(
        clock.calendar().holiday_name(date!(2027 - 01 - 25)),
        Some("Broker only")
    );
    assert_eq!((r.stats().successes(), r.stats().failures()), (1, 1));

    // A new process: bundled calendar, broker down, same store.
    let clock2 = MarketClock::fixed(datetime!(2027-01-20 10:00 +05:30));
    assert!(clock2.calendar().is_trading_day(date!(2027 - 01 - 25)));
    let r2 = CalendarRefresher::new(clock2.clone(), Some(source.clone()), Some(store));
    r2.start().await;
    assert_eq!(
        clock2.calendar().holiday_name(date!(2027 - 01 - 25)),
        Some("Broker only")
    );
}

#[tokio::test]
async fn an_answer_for_a_new_year_keeps_the_stored_years() {
    let source = Arc::new(Scripted::default());
    let clock = MarketClock::fixed(datetime!(2026-12-31 10:00 +05:30));
    let r = CalendarRefresher::new(clock.clone(), Some(source.clone()), None);
    source.set(Ok(vec![holiday("2026-12-31", "Year end")]));
    r.refresh().await.unwrap();
    source.set(Ok(vec![holiday("2027-01-25", "New year's list")]));
    r.refresh().await.unwrap();
    let cal = clock.calendar();
    assert_eq!(cal.holiday_name(date!(2026 - 12 - 31)), Some("Year end"));
    assert_eq!(
        cal.holiday_name(date!(2027 - 01 - 25)),
        Some("New year's list")
    );
}

#[tokio::test(start_paused = true)]
async fn the_daily_refresh_at_08_00_ist_picks_up_a_new_holiday() {
    let source = Arc::new(Scripted::default());
    let clock = MarketClock::fixed(datetime!(2027-01-24 20:00 +05:30));
    let r = Arc::new(CalendarRefresher::new(
        clock.clone(),
        Some(source.clone()),
        None,
    ));
    r.start().await;
    assert_eq!(source.calls(), 1);
    let stop = CancellationToken::new();
    let task = tokio::spawn(r.clone().run_daily(stop.clone()));
    source.set(Ok(vec![holiday("2027-01-25", "Announced overnight")]));
    clock.set(datetime!(2027-01-25 07:59 +05:30)).unwrap();
    tokio::task::yield_now().await;
    assert_eq!(source.calls(), 1, "not before 08:00");
    clock.set(datetime!(2027-01-25 08:00 +05:30)).unwrap();
    for _ in 0..100 {
        if source.calls() == 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(source.calls(), 2);
    for _ in 0..100 {
        if clock.status().reason.as_deref() == Some("holiday: Announced overnight") {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        clock.status().reason.as_deref(),
        Some("holiday: Announced overnight")
    );
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn without_a_source_nothing_is_fetched_or_applied() {
    let clock = MarketClock::fixed(datetime!(2027-01-20 10:00 +05:30));
    let before = clock.calendar_version();
    let r = CalendarRefresher::new(clock.clone(), None, None);
    r.start().await;
    assert_eq!(r.refresh().await.unwrap(), 0);
    assert_eq!(clock.calendar_version(), before);
}
