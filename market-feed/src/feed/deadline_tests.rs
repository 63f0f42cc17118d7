//! The per-job fetch deadline the feed derives from each job's interval.

use std::{
    sync::{Arc, Mutex},
    time::Duration as StdDuration,
};

use async_trait::async_trait;
use time::{Duration, macros::datetime};

use super::{builder::fetch_deadline, *};
use crate::{
    clock::{Calendar, Exchange, TimeSource},
    source::{Fetched, SourceError},
    store::MemoryStore,
};

/// A source that records the deadlines it is asked for.
#[derive(Debug, Default)]
struct Recording {
    deadlines: Arc<Mutex<Vec<StdDuration>>>,
}

#[async_trait]
impl PriceSource for Recording {
    fn name(&self) -> &str {
        "recording"
    }
    async fn fetch(&self, _: &[Instrument]) -> Result<Fetched, SourceError> {
        Ok(Fetched::default())
    }
    fn with_deadline(&self, deadline: StdDuration) -> Option<Arc<dyn PriceSource>> {
        self.deadlines.lock().unwrap().push(deadline);
        None
    }
}

#[test]
fn the_deadline_is_most_of_the_interval_in_real_time() {
    let ms = |d: StdDuration| d.as_millis();
    assert_eq!(ms(fetch_deadline(Duration::seconds(5), 1.0)), 4_500);
    assert_eq!(ms(fetch_deadline(Duration::minutes(2), 1.0)), 108_000);
    // A clock 60 times faster than real time: 120 clock seconds are 2 real seconds.
    assert_eq!(ms(fetch_deadline(Duration::minutes(2), 60.0)), 1_800);
    // Never under 500 ms, whatever the interval or the speed.
    assert_eq!(ms(fetch_deadline(Duration::seconds(5), 600.0)), 500);
    assert_eq!(ms(fetch_deadline(Duration::ZERO, 1.0)), 500);
}

#[test]
fn each_job_asks_its_source_for_its_own_deadline() {
    let source = Recording::default();
    let deadlines = source.deadlines.clone();
    let source: Arc<dyn PriceSource> = Arc::new(source);
    let clock = MarketClock::new(
        Arc::new(Calendar::bundled(Exchange::Nse)),
        TimeSource::scaled(datetime!(2026-01-29 10:00 +05:30), 1.0),
    );
    let store = Arc::new(MemoryStore::new());
    let _ = Feed::builder(clock.clone(), Hub::default(), store.clone())
        .job(Job::new(
            Topic::Indices,
            Vec::new(),
            Duration::seconds(5),
            source.clone(),
        ))
        .job(Job::new(
            Topic::Prices,
            Vec::new(),
            Duration::minutes(2),
            source.clone(),
        ))
        .build();
    assert_eq!(
        *deadlines.lock().unwrap(),
        [StdDuration::from_millis(4_500), StdDuration::from_secs(108)]
    );
    deadlines.lock().unwrap().clear();
    let _ = Feed::builder(clock, Hub::default(), store)
        .job(Job::new(
            Topic::Indices,
            Vec::new(),
            Duration::seconds(5),
            source,
        ))
        .fetch_deadlines(false)
        .build();
    assert!(deadlines.lock().unwrap().is_empty());
}
