//! [`UniverseRefresher`]: the universe from Upstox's instrument file at start-up and every day
//! at 08:00 IST, kept in the store, with fallbacks.
//!
//! - **Start-up** ([`UniverseRefresher::start_up`]): download the file; if that fails (or the
//!   file is refused), use the last good copy from the store, else the bundled list. One log
//!   line says which is used and why.
//! - **Daily** ([`UniverseRefresher::run`]): at 08:00 IST on the market clock, download again
//!   (retrying twice, 15 clock minutes apart; a failed start-up download is retried the same
//!   way right away). A good file is stored and *staged*: the feed
//!   applies it when the next service window opens. A bad file is refused with a WARN and the
//!   last good universe stays.
//!
//! These downloads are not broker quote calls: they happen at any hour.

use std::sync::Arc;

use time::Duration;
use tokio_util::sync::CancellationToken;

use super::{
    LiveUniverse, Universe, UniverseOrigin,
    upstox::{InstrumentFile, REFERENCE_NAME, Refreshed, UpstoxFileError, stored},
};
use crate::{
    clock::{MarketClock, REFRESH_AT},
    store::{ReferenceDoc, SnapshotStore},
};

/// Attempts per daily refresh, and the clock time between them.
const ATTEMPTS: u32 = 3;
const RETRY_AFTER: Duration = Duration::minutes(15);

/// Refreshes a [`LiveUniverse`] from Upstox's instrument file.
///
/// ```no_run
/// use std::sync::Arc;
/// use market_feed::{clock::MarketClock, store::MemoryStore, universe::{UniverseRefresher, upstox::{InstrumentFile, InstrumentFileConfig}}};
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let file = InstrumentFile::new(InstrumentFileConfig::default())?;
/// let refresher = UniverseRefresher::start_up(file, Arc::new(MemoryStore::new()), MarketClock::system()).await;
/// let live = refresher.live().clone(); // give it to the feed and the API
/// tokio::spawn(refresher.run(tokio_util::sync::CancellationToken::new()));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct UniverseRefresher {
    file: InstrumentFile,
    store: Arc<dyn SnapshotStore>,
    clock: MarketClock,
    live: LiveUniverse,
}

impl UniverseRefresher {
    /// Builds the start-up universe: the file, else the stored copy, else the bundled list
    /// (each choice logged with its reason). Never fails.
    ///
    /// See [`UniverseRefresher`] for an example.
    pub async fn start_up(
        file: InstrumentFile,
        store: Arc<dyn SnapshotStore>,
        clock: MarketClock,
    ) -> Self {
        let stored = load_stored(store.as_ref()).await;
        let reference = stored
            .as_ref()
            .map_or_else(Universe::bundled, |s| s.universe.clone());
        let live = match file.fetch(reference.prices().len()).await {
            Ok(got) => {
                let now = clock.now_ms();
                log_fetched(&file, &got);
                if let Some(s) = &stored {
                    let diff = super::UniverseDiff::between(&s.universe, &got.universe);
                    if !diff.is_empty() {
                        tracing::info!("{diff} since the stored copy");
                    }
                }
                save(store.as_ref(), &got.universe, now).await;
                LiveUniverse::new(got.universe, UniverseOrigin::Upstox, Some(now))
            }
            Err(e) => {
                let live = match stored {
                    Some(s) => {
                        tracing::warn!(
                            stocks = s.universe.prices().len(),
                            "universe: using the stored copy of Upstox's instrument file, fetched at {}, because the download failed: {e}",
                            super::live::ist_text(s.fetched_at)
                        );
                        LiveUniverse::new(s.universe, UniverseOrigin::Stored, Some(s.fetched_at))
                    }
                    None => {
                        tracing::warn!(
                            "universe: using the bundled list (NSE, early 2026), because the download failed and the store has no earlier copy: {e}"
                        );
                        LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None)
                    }
                };
                live.record_failure(e.to_string());
                live
            }
        };
        Self {
            file,
            store,
            clock,
            live,
        }
    }

    /// The universe this refresher keeps current.
    ///
    /// See [`UniverseRefresher`] for an example.
    pub fn live(&self) -> &LiveUniverse {
        &self.live
    }

    /// One refresh now: download, check against the newest good universe, store, stage.
    /// Returns the staged changes (empty when the file lists the same instruments).
    ///
    /// # Errors
    ///
    /// The [`UpstoxFileError`] that refused the file (also recorded in the report); the last
    /// good universe stays.
    pub async fn refresh_once(&self) -> Result<super::UniverseDiff, UpstoxFileError> {
        let previous = self.live.latest().prices().len();
        match self.file.fetch(previous).await {
            Ok(got) => {
                let now = self.clock.now_ms();
                log_fetched(&self.file, &got);
                save(self.store.as_ref(), &got.universe, now).await;
                let diff = self
                    .live
                    .stage(got.universe, UniverseOrigin::Upstox, Some(now));
                if diff.is_empty() {
                    tracing::info!("universe: no listings or delistings today");
                } else {
                    tracing::info!("{diff}; applied when the next session opens");
                }
                Ok(diff)
            }
            Err(e) => {
                self.live.record_failure(e.to_string());
                Err(e)
            }
        }
    }

    /// Refreshes every day at 08:00 IST on the clock until `shutdown`.
    ///
    /// See [`UniverseRefresher`] for an example.
    pub async fn run(self, shutdown: CancellationToken) {
        // A start-up download that failed is retried before the next 08:00.
        if self.live.report().last_error.is_some() && !self.retry(RETRY_AFTER, 1, &shutdown).await {
            return;
        }
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                _ = self.clock.sleep_until_daily(REFRESH_AT) => {}
            }
            if !self.retry(Duration::ZERO, 0, &shutdown).await {
                return;
            }
        }
    }

    /// Up to [`ATTEMPTS`] refreshes, the first after `first_wait`, then [`RETRY_AFTER`] apart;
    /// `done` attempts were made before. False on shutdown.
    async fn retry(&self, first_wait: Duration, done: u32, shutdown: &CancellationToken) -> bool {
        let mut wait = first_wait;
        for attempt in done + 1..=ATTEMPTS {
            if wait > Duration::ZERO {
                let at = self.clock.now() + wait;
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return false,
                    () = self.clock.sleep_until(at) => {}
                }
            }
            match self.refresh_once().await {
                Ok(_) => return true,
                Err(e) if attempt < ATTEMPTS => tracing::warn!(
                    attempt,
                    "universe: refresh failed, keeping the last good universe; trying again in {RETRY_AFTER}: {e}"
                ),
                Err(e) => tracing::warn!(
                    attempt,
                    "universe: refresh failed, keeping the last good universe until the 08:00 IST refresh: {e}"
                ),
            }
            wait = RETRY_AFTER;
        }
        true
    }
}

fn log_fetched(file: &InstrumentFile, got: &Refreshed) {
    let p = &got.parsed;
    tracing::info!(
        url = file.url(),
        rows = p.rows,
        stocks = p.stocks.len(),
        bad_rows = p.bad_rows,
        "universe: {} stocks and {} indices from Upstox's instrument file ({} rows read, {} bad rows skipped)",
        p.stocks.len(),
        got.universe.indices().len(),
        p.rows,
        p.bad_rows
    );
    if p.bad_rows > 0 {
        tracing::warn!(
            "universe: {} rows of the instrument file were skipped, e.g. {}",
            p.bad_rows,
            p.bad_examples.join("; ")
        );
    }
}

async fn load_stored(store: &dyn SnapshotStore) -> Option<stored::StoredUniverse> {
    match store.load_reference(REFERENCE_NAME).await {
        // Decoding a few thousand rows is CPU work: off the async threads.
        Ok(Some(doc)) => match tokio::task::spawn_blocking(move || stored::decode(&doc.body))
            .await
            .map_err(|e| UpstoxFileError::Task(e.to_string()))
            .and_then(|r| r)
        {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("universe: ignoring the stored copy: {e}");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(
                "universe: cannot read the stored copy: {}",
                crate::Report::new(&e)
            );
            None
        }
    }
}

async fn save(store: &dyn SnapshotStore, universe: &Universe, fetched_at: i64) {
    let copy = universe.clone();
    let body = match tokio::task::spawn_blocking(move || stored::encode(&copy, fetched_at)).await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!("universe: cannot encode the new universe for the store: {e}");
            return;
        }
    };
    let doc = ReferenceDoc::new(fetched_at, body);
    if let Err(e) = store.save_reference(REFERENCE_NAME, &doc).await {
        tracing::warn!(
            "universe: cannot keep the new universe in the store (a restart without the network will use an older one): {}",
            crate::Report::new(&e)
        );
    }
}

#[cfg(test)]
mod tests;
