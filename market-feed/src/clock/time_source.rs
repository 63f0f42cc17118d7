//! Where "now" comes from: the system clock, a manual clock for tests, or a scaled clock.
//!
//! A scaled clock maps elapsed *tokio* time onto clock time (`start + speed × elapsed`), so it
//! runs a trading day in minutes for demos and works under tokio's paused time in tests. The
//! manual clock only moves when told to, and wakes every [`TimeSource::sleep_until`] waiter when
//! it does.

use std::{fmt, str::FromStr, sync::Arc, time::Duration as StdDuration};

use time::{Duration, OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};
use tokio::sync::watch;

use super::schedule::Schedule;

/// A `--clock` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockSpecError {
    /// Neither `real` nor `at:...`.
    #[error(
        "bad clock {0:?}: use \"real\" or \"at:<RFC3339>[x<SPEED>]\", e.g. at:2026-01-29T09:12:00+05:30x60"
    )]
    Unknown(String),
    /// The instant after `at:` is not RFC 3339.
    #[error(
        "bad clock start {0:?}: write an RFC 3339 instant with offset, e.g. 2026-01-29T09:12:00+05:30"
    )]
    BadInstant(String),
    /// The speed after `x` is not a positive finite number.
    #[error("bad clock speed {0:?}: use a positive number such as 1, 60 or 0.5")]
    BadSpeed(String),
}

/// A parsed `--clock` option: `real`, or `at:<RFC3339>[x<SPEED>]`.
///
/// ```
/// use market_feed::clock::ClockSpec;
///
/// let spec: ClockSpec = "at:2026-01-29T09:12:00+05:30x60".parse()?;
/// assert!(matches!(spec, ClockSpec::At { speed, .. } if speed == 60.0));
/// assert_eq!("real".parse::<ClockSpec>()?, ClockSpec::Real);
/// assert!("at:yesterday".parse::<ClockSpec>().is_err());
/// # Ok::<(), market_feed::clock::ClockSpecError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockSpec {
    /// The system clock.
    Real,
    /// A clock that starts at `start` and runs `speed` times faster than real time.
    At {
        /// The clock's instant when the program starts.
        start: OffsetDateTime,
        /// Clock seconds per real second.
        speed: f64,
    },
}

impl FromStr for ClockSpec {
    type Err = ClockSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "real" {
            return Ok(ClockSpec::Real);
        }
        let rest = s
            .strip_prefix("at:")
            .ok_or_else(|| ClockSpecError::Unknown(s.to_owned()))?;
        // RFC 3339 never contains an 'x', so the last one separates the speed.
        let (instant, speed) = match rest.rsplit_once(['x', 'X']) {
            Some((i, sp)) => {
                let speed: f64 = sp
                    .parse()
                    .map_err(|_| ClockSpecError::BadSpeed(sp.to_owned()))?;
                if !(speed.is_finite() && speed > 0.0) {
                    return Err(ClockSpecError::BadSpeed(sp.to_owned()));
                }
                (i, speed)
            }
            None => (rest, 1.0),
        };
        let start = OffsetDateTime::parse(instant, &Rfc3339)
            .map_err(|_| ClockSpecError::BadInstant(instant.to_owned()))?
            .to_offset(UtcOffset::UTC);
        Ok(ClockSpec::At { start, speed })
    }
}

impl fmt::Display for ClockSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockSpec::Real => f.write_str("real"),
            ClockSpec::At { start, speed } => {
                let s = start.format(&Rfc3339).map_err(|_| fmt::Error)?;
                write!(f, "at:{s}x{speed}")
            }
        }
    }
}

/// A handle on a manual clock: moving it wakes every sleeper whose deadline has come.
///
/// ```
/// use market_feed::clock::TimeSource;
/// use time::{macros::datetime, Duration};
///
/// let (source, handle) = TimeSource::manual(datetime!(2026-01-29 03:45 UTC));
/// handle.advance(Duration::minutes(5));
/// assert_eq!(source.now(), datetime!(2026-01-29 03:50 UTC));
/// ```
#[derive(Clone)]
pub struct ManualTime {
    tx: Arc<watch::Sender<OffsetDateTime>>,
}

impl ManualTime {
    /// Moves the clock forward (or backward, with a negative duration).
    ///
    /// ```
    /// # use market_feed::clock::TimeSource;
    /// # use time::{macros::datetime, Duration};
    /// let (source, handle) = TimeSource::manual(datetime!(2026-01-29 00:00 UTC));
    /// handle.advance(Duration::hours(1));
    /// assert_eq!(source.now(), datetime!(2026-01-29 01:00 UTC));
    /// ```
    pub fn advance(&self, by: Duration) {
        self.tx.send_modify(|t| *t += by);
    }

    /// Sets the clock to an instant.
    ///
    /// ```
    /// # use market_feed::clock::TimeSource;
    /// # use time::macros::datetime;
    /// let (source, handle) = TimeSource::manual(datetime!(2026-01-29 00:00 UTC));
    /// handle.set(datetime!(2026-02-01 00:00 UTC));
    /// assert_eq!(source.now(), datetime!(2026-02-01 00:00 UTC));
    /// ```
    pub fn set(&self, to: OffsetDateTime) {
        self.tx.send_replace(to.to_offset(UtcOffset::UTC));
    }

    /// The clock's current instant.
    ///
    /// ```
    /// # use market_feed::clock::TimeSource;
    /// # use time::macros::datetime;
    /// let (_, handle) = TimeSource::manual(datetime!(2026-01-29 00:00 UTC));
    /// assert_eq!(handle.now(), datetime!(2026-01-29 00:00 UTC));
    /// ```
    pub fn now(&self) -> OffsetDateTime {
        *self.tx.borrow()
    }
}

impl fmt::Debug for ManualTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualTime")
            .field("now", &self.now())
            .finish()
    }
}

/// Where a [`MarketClock`](super::MarketClock) reads the time.
///
/// ```
/// use market_feed::clock::TimeSource;
/// use time::macros::datetime;
///
/// let fixed = TimeSource::scaled(datetime!(2026-01-29 03:42 UTC), 60.0);
/// assert!(fixed.now() >= datetime!(2026-01-29 03:42 UTC));
/// ```
#[derive(Clone)]
pub enum TimeSource {
    /// The operating system's clock.
    System,
    /// A clock that moves only through its [`ManualTime`] handle.
    Manual(ManualTime),
    /// `start + speed × (tokio now − origin)`.
    Scaled {
        /// Clock instant at `origin`.
        start: OffsetDateTime,
        /// Tokio instant at which the clock read `start`.
        origin: tokio::time::Instant,
        /// Clock seconds per real second.
        speed: f64,
    },
    /// A [`Schedule`] followed from `origin` (tokio time): speeds that change, then a stop.
    Scheduled {
        /// The legs.
        schedule: Arc<Schedule>,
        /// Tokio instant at which the clock read the schedule's start.
        origin: tokio::time::Instant,
    },
}

impl fmt::Debug for TimeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSource::System => f.write_str("System"),
            TimeSource::Manual(m) => m.fmt(f),
            TimeSource::Scaled { start, speed, .. } => f
                .debug_struct("Scaled")
                .field("start", start)
                .field("speed", speed)
                .finish(),
            TimeSource::Scheduled { schedule, .. } => f
                .debug_struct("Scheduled")
                .field("start", &schedule.start())
                .field("end", &schedule.end())
                .finish(),
        }
    }
}

impl TimeSource {
    /// A manual clock at `start` and the handle that moves it.
    ///
    /// ```
    /// # use market_feed::clock::TimeSource;
    /// # use time::macros::datetime;
    /// let (source, _handle) = TimeSource::manual(datetime!(2026-01-29 00:00 UTC));
    /// assert_eq!(source.now(), datetime!(2026-01-29 00:00 UTC));
    /// ```
    pub fn manual(start: OffsetDateTime) -> (Self, ManualTime) {
        let (tx, _) = watch::channel(start.to_offset(UtcOffset::UTC));
        let handle = ManualTime { tx: Arc::new(tx) };
        (TimeSource::Manual(handle.clone()), handle)
    }

    /// A clock that reads `start` now and runs `speed` times faster than tokio's clock.
    /// A non-positive or non-finite speed is treated as 1.
    ///
    /// ```
    /// # use market_feed::clock::TimeSource;
    /// # use time::macros::datetime;
    /// let s = TimeSource::scaled(datetime!(2026-01-29 00:00 UTC), 60.0);
    /// assert!(matches!(s, TimeSource::Scaled { speed, .. } if speed == 60.0));
    /// ```
    pub fn scaled(start: OffsetDateTime, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        TimeSource::Scaled {
            start: start.to_offset(UtcOffset::UTC),
            origin: tokio::time::Instant::now(),
            speed,
        }
    }

    /// A clock that follows `schedule` from now on.
    ///
    /// ```
    /// # use market_feed::clock::{Leg, Schedule, TimeSource};
    /// # use time::macros::datetime;
    /// let t = datetime!(2026-01-29 09:00 +05:30);
    /// let s = Schedule::new(t, vec![Leg { until: t + time::Duration::hours(1), speed: 60.0 }]).unwrap();
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// assert!(TimeSource::scheduled(s).now() >= t);
    /// # });
    /// ```
    pub fn scheduled(schedule: Schedule) -> Self {
        TimeSource::Scheduled {
            schedule: Arc::new(schedule),
            origin: tokio::time::Instant::now(),
        }
    }

    /// The time source a `--clock` option asks for.
    ///
    /// ```
    /// # use market_feed::clock::{ClockSpec, TimeSource};
    /// assert!(matches!(TimeSource::from_spec(ClockSpec::Real), TimeSource::System));
    /// ```
    pub fn from_spec(spec: ClockSpec) -> Self {
        match spec {
            ClockSpec::Real => TimeSource::System,
            ClockSpec::At { start, speed } => TimeSource::scaled(start, speed),
        }
    }

    /// The current instant, in UTC.
    ///
    /// ```
    /// # use market_feed::clock::TimeSource;
    /// assert!(TimeSource::System.now().year() >= 2024);
    /// ```
    pub fn now(&self) -> OffsetDateTime {
        match self {
            TimeSource::System => OffsetDateTime::now_utc(),
            TimeSource::Manual(m) => m.now(),
            TimeSource::Scaled {
                start,
                origin,
                speed,
            } => {
                let real = tokio::time::Instant::now().saturating_duration_since(*origin);
                *start + Duration::seconds_f64(real.as_secs_f64() * speed)
            }
            TimeSource::Scheduled { schedule, origin } => {
                schedule.at(tokio::time::Instant::now().saturating_duration_since(*origin))
            }
        }
    }

    /// Clock seconds per real second (1 for the system clock; 0 for a manual clock,
    /// which never moves by itself).
    ///
    /// ```
    /// # use market_feed::clock::TimeSource;
    /// assert_eq!(TimeSource::System.speed(), 1.0);
    /// ```
    pub fn speed(&self) -> f64 {
        match self {
            TimeSource::System => 1.0,
            TimeSource::Manual(_) => 0.0,
            TimeSource::Scaled { speed, .. } => *speed,
            TimeSource::Scheduled { schedule, origin } => {
                schedule.speed_at(tokio::time::Instant::now().saturating_duration_since(*origin))
            }
        }
    }

    /// Waits until the clock reads `deadline` or later. Honours the scale, works under tokio's
    /// paused time, and re-checks after waking so that a system clock that jumps is followed.
    ///
    /// ```
    /// # use market_feed::clock::TimeSource;
    /// # use time::{macros::datetime, Duration};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (source, handle) = TimeSource::manual(datetime!(2026-01-29 00:00 UTC));
    /// let waiter = tokio::spawn({
    ///     let source = source.clone();
    ///     async move { source.sleep_until(datetime!(2026-01-29 00:10 UTC)).await }
    /// });
    /// handle.advance(Duration::minutes(10));
    /// waiter.await.unwrap();
    /// # }
    /// ```
    pub async fn sleep_until(&self, deadline: OffsetDateTime) {
        match self {
            TimeSource::Manual(m) => {
                let mut rx = m.tx.subscribe();
                // `wait_for` checks the current value first, then every change.
                let _ = rx.wait_for(|now| *now >= deadline).await;
            }
            TimeSource::Scheduled { schedule, origin } => match schedule.real_at(deadline) {
                // A millisecond more, so that rounding never wakes the caller just before it.
                Some(real) => {
                    tokio::time::sleep_until(*origin + real + StdDuration::from_millis(1)).await
                }
                // The schedule stops before the deadline: the clock never gets there.
                None => std::future::pending().await,
            },
            _ => loop {
                let now = self.now();
                if now >= deadline {
                    return;
                }
                let clock_left = (deadline - now).as_seconds_f64();
                let real = clock_left / self.speed();
                // Re-check at least every minute of real time, and never sleep less than 1 ms
                // (the timer's resolution) so the loop cannot spin.
                let real = StdDuration::from_secs_f64(real.clamp(0.001, 60.0));
                tokio::time::sleep(real).await;
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parse_clock_specs() {
        let cases: [(&str, Option<(OffsetDateTime, f64)>); 7] = [
            (
                "at:2026-01-29T10:00:00+05:30",
                Some((datetime!(2026-01-29 04:30 UTC), 1.0)),
            ),
            (
                "at:2026-01-29T09:12:00+05:30x60",
                Some((datetime!(2026-01-29 03:42 UTC), 60.0)),
            ),
            (
                "at:2026-01-29T03:42:00Zx0.5",
                Some((datetime!(2026-01-29 03:42 UTC), 0.5)),
            ),
            ("at:2026-01-29T09:12:00+05:30x0", None),
            ("at:2026-01-29T09:12:00+05:30x-1", None),
            ("at:2026-01-29", None),
            ("fast", None),
        ];
        for (input, want) in cases {
            let got = input.parse::<ClockSpec>();
            match want {
                Some((start, speed)) => {
                    assert_eq!(got, Ok(ClockSpec::At { start, speed }), "{input}")
                }
                None => assert!(got.is_err(), "{input}"),
            }
        }
    }

    #[test]
    fn display_round_trips() {
        let spec: ClockSpec = "at:2026-01-29T09:12:00+05:30x60".parse().unwrap();
        assert_eq!(spec.to_string().parse::<ClockSpec>().unwrap(), spec);
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_clock_follows_paused_tokio_time() {
        let s = TimeSource::scaled(datetime!(2026-01-29 03:42 UTC), 60.0);
        tokio::time::advance(StdDuration::from_secs(10)).await;
        assert_eq!(s.now(), datetime!(2026-01-29 03:52 UTC));
        // Sleeping 1 hour of clock time takes 1 minute of (paused) tokio time.
        let before = tokio::time::Instant::now();
        s.sleep_until(datetime!(2026-01-29 04:52 UTC)).await;
        let took = before.elapsed();
        assert!(
            took >= StdDuration::from_secs(60) && took < StdDuration::from_secs(61),
            "{took:?}"
        );
        assert!(s.now() >= datetime!(2026-01-29 04:52 UTC));
    }

    #[tokio::test(start_paused = true)]
    async fn manual_sleep_wakes_only_at_deadline() {
        let (s, h) = TimeSource::manual(datetime!(2026-01-29 00:00 UTC));
        let task = tokio::spawn({
            let s = s.clone();
            async move { s.sleep_until(datetime!(2026-01-29 01:00 UTC)).await }
        });
        tokio::task::yield_now().await;
        h.advance(Duration::minutes(59));
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        h.advance(Duration::minutes(1));
        task.await.unwrap();
    }
}
