//! Source health per topic: the `feed_status` state machine of docs/protocol.md §3 and §6.
//!
//! ```text
//!              success                      failure (< 3 intervals without success)
//!   ┌────► ok ◄────────── degraded ◄──────────────────────────┐
//!   │       │  failure ─────►  │  no success for 3 intervals   │
//!   │       │                  └──────────────► stale ─────────┘ (success → ok)
//!   │       └─ 401 ───► unauthorized ── success with a new token or in the next window → ok
//!   └─ window ends: degraded/stale → ok (a quiet feed outside market hours is no alarm)
//! ```
//!
//! Pure: every method takes the clock's instant and returns the status to publish when the
//! state (or its detail) changed, so the scheduler stays simple and this stays table-testable.

use time::{Duration, OffsetDateTime};

use crate::{
    clock::to_ms,
    hub::{FeedState, FeedStatus},
    model::Topic,
};

/// How many intervals without a successful refresh make a live topic `stale`.
pub const STALE_AFTER_INTERVALS: i32 = 3;

/// The health of one topic's source.
///
/// ```
/// use market_feed::feed::Health;
/// use market_feed::hub::FeedState;
/// use market_feed::model::Topic;
/// use time::{macros::datetime, Duration};
///
/// let start = datetime!(2026-01-29 09:13 +05:30);
/// let mut h = Health::new(Topic::Indices, Duration::seconds(5));
/// h.window_started(start);
/// let s = h.failed(start + Duration::seconds(5), "HTTP 500").unwrap();
/// assert_eq!(s.state, FeedState::Degraded);
/// let s = h.succeeded(start + Duration::seconds(10)).unwrap();
/// assert_eq!(s.state, FeedState::Ok);
/// ```
#[derive(Debug, Clone)]
pub struct Health {
    topic: Topic,
    interval: Duration,
    state: FeedState,
    detail: String,
    last_success: Option<OffsetDateTime>,
    /// Staleness is measured from the later of the last success and the window's start.
    since: Option<OffsetDateTime>,
    /// Why the topic's stream is down, while it is (and it has one).
    stream_down: Option<String>,
    /// The state and detail last published (the polls' state with the stream's on top).
    shown: (FeedState, String),
}

impl Health {
    /// A healthy topic refreshed every `interval` (clock time).
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::model::Topic;
    /// let h = Health::new(Topic::Prices, time::Duration::minutes(2));
    /// assert!(h.state().is_ok());
    /// ```
    pub fn new(topic: Topic, interval: Duration) -> Self {
        Self {
            topic,
            interval,
            state: FeedState::Ok,
            detail: String::new(),
            last_success: None,
            since: None,
            stream_down: None,
            shown: (FeedState::Ok, String::new()),
        }
    }

    /// The current state.
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::model::Topic;
    /// assert!(Health::new(Topic::Prices, time::Duration::minutes(2)).state().is_ok());
    /// ```
    pub fn state(&self) -> FeedState {
        self.effective().0
    }

    /// The polls' state with the stream's on top: a stream that is down makes an `ok` or
    /// `degraded` topic `degraded` with the stream's reason; `stale` and `unauthorized` win.
    fn effective(&self) -> (FeedState, String) {
        match (&self.stream_down, self.state) {
            (Some(why), FeedState::Ok | FeedState::Degraded) => (FeedState::Degraded, why.clone()),
            _ => (self.state, self.detail.clone()),
        }
    }

    /// The status as published.
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::model::Topic;
    /// let s = Health::new(Topic::Prices, time::Duration::minutes(2)).status();
    /// assert_eq!(s.topic, Topic::Prices);
    /// assert_eq!(s.last_success, None);
    /// ```
    pub fn status(&self) -> FeedStatus {
        let (state, detail) = self.effective();
        FeedStatus::new(self.topic, state, detail).with_last_success(self.last_success.map(to_ms))
    }

    fn set(&mut self, state: FeedState, detail: String) -> Option<FeedStatus> {
        self.state = state;
        self.detail = detail;
        self.changed()
    }

    /// The status to publish, if it differs from the one last published.
    fn changed(&mut self) -> Option<FeedStatus> {
        let now = self.effective();
        if now == self.shown {
            return None;
        }
        self.shown = now;
        Some(self.status())
    }

    /// The topic's stream went down (or could not connect) for `why`, inside the window.
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::hub::FeedState;
    /// # use market_feed::model::Topic;
    /// let mut h = Health::new(Topic::Prices, time::Duration::minutes(2));
    /// let s = h.stream_down("connection lost").unwrap();
    /// assert_eq!((s.state, s.detail.as_str()), (FeedState::Degraded, "connection lost"));
    /// assert_eq!(h.stream_up(datetime()).unwrap().state, FeedState::Ok);
    /// # fn datetime() -> time::OffsetDateTime { time::macros::datetime!(2026-01-29 10:00 +05:30) }
    /// ```
    pub fn stream_down(&mut self, why: &str) -> Option<FeedStatus> {
        self.stream_down = Some(why.to_owned());
        self.changed()
    }

    /// The topic's stream is connected at `now`: the stream's reason is cleared, and a topic
    /// `unauthorized` is `ok` again (the broker took the credentials).
    ///
    /// See [`Health::stream_down`] for an example.
    pub fn stream_up(&mut self, now: OffsetDateTime) -> Option<FeedStatus> {
        self.stream_down = None;
        self.stream_data(now);
        if self.state == FeedState::Unauthorized {
            self.state = FeedState::Ok;
            self.detail.clear();
        }
        self.changed()
    }

    /// Data arrived from the topic's stream at `now`: it counts as a success for staleness
    /// (a poll that fails after an hour of streaming is `degraded` first, not `stale`).
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::model::Topic;
    /// let mut h = Health::new(Topic::Indices, time::Duration::seconds(5));
    /// h.stream_data(time::macros::datetime!(2026-01-29 10:00 +05:30));
    /// assert!(h.status().last_success.is_some());
    /// ```
    pub fn stream_data(&mut self, now: OffsetDateTime) {
        self.last_success = Some(now);
        self.since = Some(now);
    }

    /// A service window starts at `start`: staleness counts from here.
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::model::Topic;
    /// # use time::macros::datetime;
    /// let mut h = Health::new(Topic::Indices, time::Duration::seconds(5));
    /// h.window_started(datetime!(2026-01-29 09:13 +05:30));
    /// ```
    pub fn window_started(&mut self, start: OffsetDateTime) {
        self.since = Some(start);
    }

    /// A refresh succeeded at `now` (all its requests did).
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::model::Topic;
    /// # use time::macros::datetime;
    /// let mut h = Health::new(Topic::Indices, time::Duration::seconds(5));
    /// // Already ok: nothing to publish.
    /// assert!(h.succeeded(datetime!(2026-01-29 09:13 +05:30)).is_none());
    /// ```
    pub fn succeeded(&mut self, now: OffsetDateTime) -> Option<FeedStatus> {
        self.last_success = Some(now);
        self.since = Some(now);
        self.set(FeedState::Ok, String::new())
    }

    /// A refresh failed at `now` (or some of its requests did), for `why`.
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::hub::FeedState;
    /// # use market_feed::model::Topic;
    /// # use time::{macros::datetime, Duration};
    /// let t0 = datetime!(2026-01-29 09:13 +05:30);
    /// let mut h = Health::new(Topic::Indices, Duration::seconds(5));
    /// h.window_started(t0);
    /// h.failed(t0 + Duration::seconds(5), "timeout");
    /// h.failed(t0 + Duration::seconds(10), "timeout");
    /// assert_eq!(h.failed(t0 + Duration::seconds(15), "timeout").unwrap().state, FeedState::Stale);
    /// ```
    pub fn failed(&mut self, now: OffsetDateTime, why: &str) -> Option<FeedStatus> {
        if self.state == FeedState::Unauthorized {
            return None;
        }
        let since = self.since.get_or_insert(now);
        let stale = now - *since >= self.interval * STALE_AFTER_INTERVALS;
        let (state, detail) = if stale {
            let what = match self.last_success {
                Some(_) => "since the last success",
                None => "since the service window opened",
            };
            (
                FeedState::Stale,
                format!(
                    "no successful refresh for {STALE_AFTER_INTERVALS} intervals {what}; last error: {why}"
                ),
            )
        } else {
            (FeedState::Degraded, format!("last refresh failed: {why}"))
        };
        self.set(state, detail)
    }

    /// The source refused the credentials at `now`.
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::hub::FeedState;
    /// # use market_feed::model::Topic;
    /// # use time::macros::datetime;
    /// let mut h = Health::new(Topic::Prices, time::Duration::minutes(2));
    /// let s = h.unauthorized(datetime!(2026-01-29 10:00 +05:30)).unwrap();
    /// assert_eq!(s.state, FeedState::Unauthorized);
    /// ```
    pub fn unauthorized(&mut self, _now: OffsetDateTime) -> Option<FeedStatus> {
        self.set(
            FeedState::Unauthorized,
            "the broker refused the access token: the operator must replace it; no calls are made \
             until it changes or the next session"
                .to_owned(),
        )
    }

    /// The service window ended: a degraded or stale topic is `ok` again (`docs/feed.md`:
    /// outside the window a topic is ok unless unauthorized).
    ///
    /// ```
    /// # use market_feed::feed::Health;
    /// # use market_feed::hub::FeedState;
    /// # use market_feed::model::Topic;
    /// # use time::macros::datetime;
    /// let mut h = Health::new(Topic::Prices, time::Duration::minutes(2));
    /// h.failed(datetime!(2026-01-29 10:00 +05:30), "HTTP 503");
    /// assert_eq!(h.window_ended().unwrap().state, FeedState::Ok);
    /// ```
    pub fn window_ended(&mut self) -> Option<FeedStatus> {
        self.since = None;
        self.stream_down = None;
        match self.state {
            FeedState::Degraded | FeedState::Stale => self.set(FeedState::Ok, String::new()),
            FeedState::Ok | FeedState::Unauthorized => self.changed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn transitions() {
        let t0 = datetime!(2026-01-29 09:13 +05:30);
        let s = |n: i64| t0 + Duration::seconds(n);
        let mut h = Health::new(Topic::Indices, Duration::seconds(5));
        h.window_started(t0);
        // (event, expected published state or None)
        assert!(h.succeeded(s(0)).is_none());
        assert_eq!(
            h.failed(s(5), "e").map(|x| x.state),
            Some(FeedState::Degraded)
        );
        assert!(
            h.failed(s(10), "e").is_none(),
            "same state and detail: no event"
        );
        assert_eq!(
            h.failed(s(15), "e").map(|x| x.state),
            Some(FeedState::Stale)
        );
        let ok = h.succeeded(s(20)).unwrap();
        assert_eq!(
            (ok.state, ok.last_success),
            (FeedState::Ok, Some(to_ms(s(20))))
        );
        assert_eq!(
            h.unauthorized(s(25)).map(|x| x.state),
            Some(FeedState::Unauthorized)
        );
        assert!(
            h.failed(s(30), "e").is_none(),
            "unauthorized is not downgraded"
        );
        assert!(
            h.window_ended().is_none(),
            "unauthorized survives the window's end"
        );
        assert_eq!(h.succeeded(s(40)).map(|x| x.state), Some(FeedState::Ok));
    }

    #[test]
    fn a_stream_that_is_down_degrades_an_ok_topic_until_it_is_up_or_the_window_ends() {
        let t0 = datetime!(2026-01-29 09:13 +05:30);
        let mut h = Health::new(Topic::Prices, Duration::minutes(2));
        h.window_started(t0);
        let s = h.stream_down("stream down: HTTP 403").unwrap();
        assert_eq!(s.state, FeedState::Degraded);
        assert!(
            h.stream_down("stream down: HTTP 403").is_none(),
            "no repeat"
        );
        assert!(
            h.succeeded(t0).is_none(),
            "a poll success does not hide the stream"
        );
        assert!(
            h.failed(t0 + Duration::minutes(2), "e").is_none(),
            "degraded already"
        );
        let s = h.failed(t0 + Duration::minutes(6), "e").unwrap();
        assert_eq!(
            s.state,
            FeedState::Stale,
            "the polls failing too: stale wins"
        );
        assert_eq!(
            h.succeeded(t0 + Duration::minutes(7)).unwrap().detail,
            "stream down: HTTP 403"
        );
        assert_eq!(
            h.stream_up(t0 + Duration::minutes(4)).unwrap().state,
            FeedState::Ok
        );
        h.stream_down("again");
        assert_eq!(h.window_ended().unwrap().state, FeedState::Ok);
        h.unauthorized(t0);
        assert!(h.stream_down("x").is_none(), "unauthorized wins");
        assert_eq!(
            h.stream_up(t0).unwrap().state,
            FeedState::Ok,
            "the broker took the token"
        );
    }

    #[test]
    fn stale_counts_from_the_window_start_without_any_success() {
        let t0 = datetime!(2026-01-29 09:13 +05:30);
        let mut h = Health::new(Topic::Prices, Duration::minutes(2));
        h.window_started(t0);
        assert_eq!(h.failed(t0, "e").unwrap().state, FeedState::Degraded);
        assert_eq!(
            h.failed(t0 + Duration::minutes(6), "e").unwrap().state,
            FeedState::Stale
        );
        assert_eq!(h.window_ended().unwrap().state, FeedState::Ok);
    }
}
