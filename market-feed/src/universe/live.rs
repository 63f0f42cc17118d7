//! [`LiveUniverse`]: the universe a running server serves, and the one staged for the next
//! session.
//!
//! A refresher (the daily instrument file) *stages* a new universe; the feed *applies* it when
//! the next service window opens, so listings and delistings never change a session in
//! progress. Readers (the REST API, metrics, `check`) see the applied one.

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use super::{Universe, UniverseDiff};
use crate::clock::from_ms;

/// Where the universe being served came from.
///
/// ```
/// use market_feed::universe::UniverseOrigin;
/// assert_eq!(UniverseOrigin::Stored.as_str(), "stored");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniverseOrigin {
    /// The bundled NSE list (early 2026).
    Bundled,
    /// A file given by the operator (`--universe PATH`).
    File,
    /// The last good instrument file, read back from the store.
    Stored,
    /// Upstox's instrument file, fetched by this process.
    Upstox,
}

impl UniverseOrigin {
    /// The label used in metrics and reports.
    ///
    /// See [`UniverseOrigin`] for an example.
    pub fn as_str(self) -> &'static str {
        match self {
            UniverseOrigin::Bundled => "bundled",
            UniverseOrigin::File => "file",
            UniverseOrigin::Stored => "stored",
            UniverseOrigin::Upstox => "upstox",
        }
    }

    /// Every origin, for metrics that list them all.
    pub const ALL: [UniverseOrigin; 4] = [
        UniverseOrigin::Bundled,
        UniverseOrigin::File,
        UniverseOrigin::Stored,
        UniverseOrigin::Upstox,
    ];
}

/// A universe with where it came from and when it was fetched.
#[derive(Debug, Clone)]
struct Versioned {
    universe: Universe,
    origin: UniverseOrigin,
    fetched_at: Option<i64>,
}

#[derive(Debug)]
struct State {
    current: Versioned,
    staged: Option<(Versioned, UniverseDiff)>,
    last_error: Option<String>,
}

/// The served universe and a staged successor; cheap to clone (shared).
///
/// ```
/// use market_feed::universe::{LiveUniverse, Universe, UniverseOrigin};
///
/// let live = LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None);
/// let fewer = Universe::new(Universe::bundled().indices().to_vec(), Universe::bundled().prices()[1..].to_vec())?;
/// let diff = live.stage(fewer, UniverseOrigin::Upstox, Some(1_769_655_600_000));
/// assert_eq!(diff.delisted.len(), 1);
/// assert_eq!(live.current().prices().len(), 2099); // not yet: at the next session
/// let (applied, _) = live.apply_staged().unwrap();
/// assert_eq!(applied.prices().len(), 2098);
/// assert_eq!(live.origin(), UniverseOrigin::Upstox);
/// # Ok::<(), market_feed::universe::UniverseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LiveUniverse {
    inner: Arc<Mutex<State>>,
}

impl LiveUniverse {
    /// Serves `universe` from `origin`, fetched at `fetched_at` (ms) when known.
    ///
    /// See [`LiveUniverse`] for an example.
    pub fn new(universe: Universe, origin: UniverseOrigin, fetched_at: Option<i64>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(State {
                current: Versioned {
                    universe,
                    origin,
                    fetched_at,
                },
                staged: None,
                last_error: None,
            })),
        }
    }

    // The lock guards a few field moves; it is never held across an `.await`.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The universe served now.
    ///
    /// See [`LiveUniverse`] for an example.
    pub fn current(&self) -> Universe {
        self.lock().current.universe.clone()
    }

    /// Where the served universe came from.
    ///
    /// See [`LiveUniverse`] for an example.
    pub fn origin(&self) -> UniverseOrigin {
        self.lock().current.origin
    }

    /// When the served universe was fetched (ms), if it was.
    ///
    /// ```
    /// # use market_feed::universe::{LiveUniverse, Universe, UniverseOrigin};
    /// let live = LiveUniverse::new(Universe::bundled(), UniverseOrigin::Stored, Some(5));
    /// assert_eq!(live.fetched_at(), Some(5));
    /// ```
    pub fn fetched_at(&self) -> Option<i64> {
        self.lock().current.fetched_at
    }

    /// The newest good universe: the staged one, else the served one (what a new file is
    /// compared with).
    ///
    /// ```
    /// # use market_feed::universe::{LiveUniverse, Universe, UniverseOrigin};
    /// let live = LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None);
    /// assert_eq!(live.latest().len(), Universe::bundled().len());
    /// ```
    pub fn latest(&self) -> Universe {
        let st = self.lock();
        match &st.staged {
            Some((v, _)) => v.universe.clone(),
            None => st.current.universe.clone(),
        }
    }

    /// Stages `universe` for the next session and returns its changes from the served one.
    /// A universe equal to the served one is not staged: only its fetch time is updated (and
    /// an earlier staged one dropped).
    ///
    /// See [`LiveUniverse`] for an example.
    pub fn stage(
        &self,
        universe: Universe,
        origin: UniverseOrigin,
        fetched_at: Option<i64>,
    ) -> UniverseDiff {
        let mut st = self.lock();
        st.last_error = None;
        let same = st.current.universe.indices() == universe.indices()
            && st.current.universe.prices() == universe.prices();
        if same {
            st.staged = None;
            st.current.origin = origin;
            st.current.fetched_at = fetched_at;
            return UniverseDiff::default();
        }
        let diff = UniverseDiff::between(&st.current.universe, &universe);
        st.staged = Some((
            Versioned {
                universe,
                origin,
                fetched_at,
            },
            diff.clone(),
        ));
        diff
    }

    /// The changes waiting for the next session, if a universe is staged.
    ///
    /// ```
    /// # use market_feed::universe::{LiveUniverse, Universe, UniverseOrigin};
    /// let live = LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None);
    /// assert!(live.pending().is_none());
    /// ```
    pub fn pending(&self) -> Option<UniverseDiff> {
        self.lock().staged.as_ref().map(|(_, d)| d.clone())
    }

    /// Makes the staged universe the served one; returns it and its changes, or `None` when
    /// nothing is staged. The feed calls this when a service window opens.
    ///
    /// See [`LiveUniverse`] for an example.
    pub fn apply_staged(&self) -> Option<(Universe, UniverseDiff)> {
        let mut st = self.lock();
        let (next, diff) = st.staged.take()?;
        let universe = next.universe.clone();
        st.current = next;
        Some((universe, diff))
    }

    /// Drops the staged universe because it cannot be served (it exceeds what the price
    /// stream carries, say): the served one stays, and `why` is reported as the last refresh
    /// failure. Returns the refused changes, or `None` when nothing was staged.
    ///
    /// ```
    /// # use market_feed::universe::{LiveUniverse, Universe, UniverseOrigin};
    /// let live = LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None);
    /// let fewer = Universe::new(vec![], Universe::bundled().prices()[..1].to_vec()).unwrap();
    /// live.stage(fewer, UniverseOrigin::Upstox, Some(1));
    /// assert!(live.refuse_staged("too many instruments").is_some());
    /// assert!(live.pending().is_none());
    /// assert_eq!(live.current().len(), Universe::bundled().len());
    /// assert!(live.report().to_string().contains("too many instruments"));
    /// ```
    pub fn refuse_staged(&self, why: impl Into<String>) -> Option<UniverseDiff> {
        let mut st = self.lock();
        let (_, diff) = st.staged.take()?;
        st.last_error = Some(why.into());
        Some(diff)
    }

    /// Records why the last refresh failed (shown by [`LiveUniverse::report`] until the next
    /// good one).
    ///
    /// ```
    /// # use market_feed::universe::{LiveUniverse, Universe, UniverseOrigin};
    /// let live = LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None);
    /// live.record_failure("HTTP 500");
    /// assert!(live.report().to_string().contains("HTTP 500"));
    /// ```
    pub fn record_failure(&self, why: impl Into<String>) {
        self.lock().last_error = Some(why.into());
    }

    /// A summary for operators (the server's `check`, logs).
    ///
    /// ```
    /// # use market_feed::universe::{LiveUniverse, Universe, UniverseOrigin};
    /// let live = LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None);
    /// let text = live.report().to_string();
    /// assert!(text.starts_with("universe: bundled, 9 indices, 2099 stocks"), "{text}");
    /// ```
    pub fn report(&self) -> UniverseReport {
        let st = self.lock();
        UniverseReport {
            origin: st.current.origin,
            indices: st.current.universe.indices().len(),
            stocks: st.current.universe.prices().len(),
            fetched_at: st.current.fetched_at,
            pending: st.staged.as_ref().map(|(_, d)| d.clone()),
            last_error: st.last_error.clone(),
        }
    }
}

/// What [`LiveUniverse::report`] says: one line per fact when displayed.
///
/// ```text
/// universe: upstox, 9 indices, 2101 stocks
/// universe: fetched at 2026-01-29 08:00:00 IST
/// universe: changes for the next session: universe: +2 listed (ABC, DEF)
/// universe: the last refresh failed: the instrument file ... answered HTTP 500 ...
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniverseReport {
    /// Where the served universe came from.
    pub origin: UniverseOrigin,
    /// Indices served.
    pub indices: usize,
    /// Stocks served.
    pub stocks: usize,
    /// When it was fetched (ms), if it was.
    pub fetched_at: Option<i64>,
    /// Changes staged for the next session.
    pub pending: Option<UniverseDiff>,
    /// Why the last refresh failed, if it did and none succeeded since.
    pub last_error: Option<String>,
}

impl fmt::Display for UniverseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "universe: {}, {} indices, {} stocks",
            self.origin.as_str(),
            self.indices,
            self.stocks
        )?;
        if let Some(at) = self.fetched_at {
            writeln!(f, "universe: fetched at {}", ist_text(at))?;
        }
        match &self.pending {
            Some(diff) => writeln!(f, "universe: changes for the next session: {diff}")?,
            None => writeln!(f, "universe: no changes pending")?,
        }
        if let Some(e) = &self.last_error {
            writeln!(f, "universe: the last refresh failed: {e}")?;
        }
        Ok(())
    }
}

/// `2026-01-29 08:00:00 IST` for an instant in ms.
pub(crate) fn ist_text(ms: i64) -> String {
    let ist = from_ms(ms).to_offset(crate::clock::IST);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} IST",
        ist.year(),
        u8::from(ist.month()),
        ist.day(),
        ist.hour(),
        ist.minute(),
        ist.second()
    )
}
