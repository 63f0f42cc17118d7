//! A changing universe in the feed: a universe staged by a refresher replaces the jobs'
//! instruments and the hub's directories when a service window opens, never mid-session.

use std::{collections::HashSet, sync::Arc};

use super::Ctx;
use crate::{
    model::{InstrumentKey, Quote, Topic},
    universe::{Instrument, Universe},
};

/// Applies the staged universe, if any: each job gets its topic's instruments, the hub its
/// directories (values of delisted instruments dropped), subscribers a fresh snapshot.
pub(super) fn apply_staged(ctx: &Ctx) {
    let Some(live) = &ctx.universe else {
        return;
    };
    if live.pending().is_some() {
        if let Some(why) = refused_by_stream(ctx, &live.latest()) {
            tracing::error!(
                "the new universe is refused and the current one stays: {why}; trim the universe file, or use a polling source"
            );
            live.refuse_staged(why);
            return;
        }
    }
    let Some((universe, diff)) = live.apply_staged() else {
        return;
    };
    for state in &ctx.jobs {
        let topic = state.job.topic;
        let list: Arc<[Instrument]> = universe.instruments(topic).into();
        if *state.instruments() == *list {
            // Unchanged (the indices, usually): no snapshot for its subscribers.
            continue;
        }
        state.set_instruments(list.clone());
        ctx.hub.replace_instruments(
            topic,
            list.iter().map(|i| (i.key.clone(), i.symbol.clone())),
        );
    }
    tracing::info!(
        indices = universe.indices().len(),
        stocks = universe.prices().len(),
        "{diff}: the new universe applies from this session"
    );
}

/// Why the price stream could not carry `universe` (its broker's limit on one connection),
/// or `None` when it can or there is no stream.
fn refused_by_stream(ctx: &Ctx, universe: &Universe) -> Option<String> {
    let st = ctx.stream.as_ref()?;
    let mut seen = HashSet::new();
    let list: Vec<Instrument> = st
        .job()
        .topics
        .iter()
        .flat_map(|t| universe.instruments(*t).iter().cloned())
        .filter(|i| seen.insert(i.key.clone()))
        .collect();
    let e = st.job().source.check(&list).err()?;
    Some(crate::Report::new(&e).to_string())
}

/// Keeps only the quotes of instruments a job of `topic` refreshes (stored closes of a
/// delisted stock are not loaded back).
pub(super) fn retain_listed(ctx: &Ctx, topic: Topic, quotes: &mut Vec<Quote>) {
    let listed: HashSet<InstrumentKey> = ctx
        .jobs
        .iter()
        .filter(|s| s.job.topic == topic)
        .flat_map(|s| {
            s.instruments()
                .iter()
                .map(|i| i.key.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    quotes.retain(|q| listed.contains(&q.key));
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use futures::StreamExt;
    use time::{Duration, macros::datetime};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::{
        clock::{Calendar, Exchange, MarketClock, TimeSource},
        feed::{Feed, Job, StreamJob},
        hub::{FrameKind, Hub},
        source::{Fetched, PriceSource, PriceStream, SourceError, TickStream},
        store::{MemoryStore, SnapshotStore},
        universe::{LiveUniverse, Universe, UniverseOrigin},
    };

    /// Records the keys of every call; answers 100.0 for each.
    #[derive(Debug)]
    struct Recording {
        clock: MarketClock,
        calls: Mutex<Vec<Vec<String>>>,
    }

    #[async_trait]
    impl PriceSource for Recording {
        fn name(&self) -> &str {
            "recording"
        }

        async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
            self.calls
                .lock()
                .unwrap()
                .push(instruments.iter().map(|i| i.key.to_string()).collect());
            let ts = self.clock.now_ms();
            Ok(Fetched {
                quotes: instruments
                    .iter()
                    .map(|i| Quote::new(i.key.clone(), i.symbol.clone(), 100.0, ts))
                    .collect(),
                ..Fetched::default()
            })
        }
    }

    fn stock(id: &str) -> Instrument {
        Instrument::new(
            InstrumentKey::new(&format!("NSE_EQ|{id}")).unwrap(),
            id,
            id,
            None,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_staged_universe_applies_when_the_window_opens() {
        let clock = MarketClock::new(
            Arc::new(Calendar::bundled(Exchange::Nse)),
            TimeSource::scaled(datetime!(2026-01-29 08:30 +05:30), 1.0),
        );
        let old = Universe::new(vec![], vec![stock("A"), stock("B")]).unwrap();
        let store = Arc::new(MemoryStore::new());
        // Yesterday's closes include X, no longer listed at all: it is not loaded back.
        let ts = crate::clock::to_ms(datetime!(2026-01-28 15:31 +05:30));
        let closes: Vec<Quote> = [stock("A"), stock("B"), stock("X")]
            .into_iter()
            .map(|i| Quote::new(i.key, i.symbol, 90.0, ts))
            .collect();
        store
            .save_close(Topic::Prices, time::macros::date!(2026 - 01 - 28), &closes)
            .await
            .unwrap();
        let live = LiveUniverse::new(old.clone(), UniverseOrigin::Stored, Some(1));
        let source = Arc::new(Recording {
            clock: clock.clone(),
            calls: Mutex::new(Vec::new()),
        });
        let hub = Arc::new(Hub::default());
        let feed = Feed::builder(clock.clone(), hub.clone(), store.clone())
            .job(Job::new(
                Topic::Prices,
                old.prices().to_vec(),
                Duration::seconds(120),
                source.clone(),
            ))
            .universe(live.clone())
            .build();
        feed.prepare().await;
        let mut sub = hub.subscribe(
            &[Topic::Prices],
            Some(hub.resolve_filter(["B", "A"]).filter),
        );
        let first = sub.next().await.unwrap();
        let text = String::from_utf8_lossy(first.bytes()).into_owned();
        assert!(text.contains("\"B\"") && !text.contains("\"X\""), "{text}");

        // 08:00-ish refresh: B delisted, C listed. Nothing changes before the session.
        let new = Universe::new(vec![], vec![stock("A"), stock("C")]).unwrap();
        let diff = live.stage(new, UniverseOrigin::Upstox, Some(2));
        assert_eq!(diff.to_string(), "universe: +1 listed (C), -1 delisted (B)");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(feed.run(shutdown.clone()));
        clock.sleep_until(datetime!(2026-01-29 09:12 +05:30)).await;
        assert_eq!(live.current().prices().len(), 2);
        assert!(live.current().prices().iter().any(|i| &*i.symbol == "B"));
        assert!(source.calls.lock().unwrap().is_empty());

        // 09:13: the window opens with the new list.
        clock.sleep_until(datetime!(2026-01-29 09:14 +05:30)).await;
        let calls = source.calls.lock().unwrap().clone();
        assert_eq!(calls, [vec!["NSE_EQ|A".to_owned(), "NSE_EQ|C".to_owned()]]);
        assert_eq!(live.origin(), UniverseOrigin::Upstox);
        assert!(live.pending().is_none());
        let listed: Vec<String> = hub
            .instruments(Topic::Prices)
            .into_iter()
            .map(|(_, s)| s.to_string())
            .collect();
        assert_eq!(listed, ["A", "C"]);
        // The filtered subscriber gets a fresh snapshot without B, then A's live price.
        let mut kinds = Vec::new();
        while let Ok(Some(f)) =
            tokio::time::timeout(std::time::Duration::from_millis(10), sub.next()).await
        {
            kinds.push((f.kind(), String::from_utf8_lossy(f.bytes()).into_owned()));
        }
        let snap = kinds
            .iter()
            .find(|(k, _)| *k == FrameKind::Snapshot)
            .expect("a fresh snapshot");
        assert!(!snap.1.contains("\"B\""), "{}", snap.1);
        assert!(
            kinds.iter().all(|(_, t)| !t.contains("\"C\"")),
            "C is not in the filter"
        );
        shutdown.cancel();
        task.await.unwrap();
    }

    /// A stream that carries at most three instruments, records each connection's list and
    /// then stays quiet.
    #[derive(Debug, Default)]
    struct SmallStream {
        connects: Mutex<Vec<Vec<String>>>,
    }

    #[async_trait]
    impl PriceStream for SmallStream {
        fn name(&self) -> &str {
            "small"
        }

        fn check(&self, instruments: &[Instrument]) -> Result<(), SourceError> {
            match instruments.len() {
                0..=3 => Ok(()),
                n => Err(SourceError::Config(
                    format!("{n} instruments, one connection carries at most 3").into(),
                )),
            }
        }

        async fn connect(&self, instruments: &[Instrument]) -> Result<TickStream, SourceError> {
            self.check(instruments)?;
            self.connects
                .lock()
                .unwrap()
                .push(instruments.iter().map(|i| i.symbol.to_string()).collect());
            Ok(futures::stream::pending().boxed())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_universe_the_stream_cannot_carry_is_refused_and_the_current_one_stays() {
        let clock = MarketClock::new(
            Arc::new(Calendar::bundled(Exchange::Nse)),
            TimeSource::scaled(datetime!(2026-01-29 08:30 +05:30), 1.0),
        );
        let old = Universe::new(vec![], vec![stock("A"), stock("B")]).unwrap();
        let live = LiveUniverse::new(old.clone(), UniverseOrigin::Stored, Some(1));
        let source = Arc::new(Recording {
            clock: clock.clone(),
            calls: Mutex::new(Vec::new()),
        });
        let stream = Arc::new(SmallStream::default());
        let hub = Arc::new(Hub::default());
        let feed = Feed::builder(clock.clone(), hub.clone(), Arc::new(MemoryStore::new()))
            .job(Job::new(
                Topic::Prices,
                old.prices().to_vec(),
                Duration::seconds(120),
                source.clone(),
            ))
            .stream(StreamJob {
                // Quiet on purpose: no stall reconnects within the test.
                stall_after: Duration::hours(12),
                ..StreamJob::new(stream.clone(), [Topic::Prices]).pause_polls([Topic::Prices])
            })
            .universe(live.clone())
            .build();
        feed.prepare().await;
        // The refresher stages a universe that grew past what one connection carries.
        let grown: Vec<Instrument> = ["A", "B", "C", "D"].into_iter().map(stock).collect();
        live.stage(
            Universe::new(vec![], grown).unwrap(),
            UniverseOrigin::Upstox,
            Some(2),
        );
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(feed.run(shutdown.clone()));
        clock.sleep_until(datetime!(2026-01-29 09:20 +05:30)).await;

        assert_eq!(
            live.current().prices(),
            old.prices(),
            "the current universe stays"
        );
        assert!(
            live.pending().is_none(),
            "the refused one is not retried at every open"
        );
        let report = live.report().to_string();
        assert!(
            report.contains("4 instruments, one connection carries at most 3"),
            "{report}"
        );
        assert_eq!(
            *stream.connects.lock().unwrap(),
            [vec!["A".to_owned(), "B".to_owned()]]
        );
        shutdown.cancel();
        task.await.unwrap();
    }
}
