//! [`Schedule`]: a clock whose speed changes along the way, then stops.
//!
//! A demo wants each phase of a trading day on screen long enough to be seen (15 minutes of
//! pre-open is over in 15 s at 60x, the 6¼ hours of trading take 6 minutes), so a schedule is a
//! list of legs, each running from one clock instant to the next at its own speed. After the
//! last leg the clock stands still at the leg's end: the replayed day is over and nothing that
//! follows it (the next day) is played.

use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime, UtcOffset};

/// One leg of a [`Schedule`]: the clock runs from the previous leg's end (or the start) to
/// `until` at `speed` clock seconds per real second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    /// The clock instant at which the leg ends.
    pub until: OffsetDateTime,
    /// Clock seconds per real second (positive).
    pub speed: f64,
}

/// A schedule that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A leg that does not move forward, or whose speed is not a positive number.
    #[error(
        "schedule leg {index}: each leg must end after the previous one and have a positive finite speed"
    )]
    BadLeg {
        /// The leg's position (0-based).
        index: usize,
    },
    /// No legs at all.
    #[error("a schedule needs at least one leg")]
    Empty,
}

/// A piecewise-linear map from real (tokio) time elapsed to clock time.
///
/// ```
/// use market_feed::clock::{Leg, Schedule};
/// use std::time::Duration;
/// use time::macros::datetime;
///
/// let s = Schedule::new(datetime!(2026-01-29 09:00 +05:30), vec![
///     Leg { until: datetime!(2026-01-29 09:15 +05:30), speed: 60.0 }, // 15 s
///     Leg { until: datetime!(2026-01-29 10:15 +05:30), speed: 120.0 }, // 30 s
/// ])?;
/// assert_eq!(s.at(Duration::from_secs(15)), datetime!(2026-01-29 09:15 +05:30));
/// assert_eq!(s.at(Duration::from_secs(30)), datetime!(2026-01-29 09:45 +05:30));
/// // After the last leg the clock stands still.
/// assert_eq!(s.at(Duration::from_secs(600)), datetime!(2026-01-29 10:15 +05:30));
/// assert_eq!(s.real_length(), Duration::from_secs(45));
/// # Ok::<(), market_feed::clock::ScheduleError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    start: OffsetDateTime,
    /// Each leg with the real offset (seconds) at which it starts.
    legs: Vec<(f64, OffsetDateTime, Leg)>,
    end_real: f64,
}

impl Schedule {
    /// A schedule that starts at `start` and runs through `legs` in order.
    ///
    /// # Errors
    /// [`ScheduleError`] for no legs, a leg that does not end after the previous one, or a
    /// speed that is not positive and finite.
    ///
    /// ```
    /// # use market_feed::clock::{Leg, Schedule};
    /// # use time::macros::datetime;
    /// let t = datetime!(2026-01-29 09:00 +05:30);
    /// assert!(Schedule::new(t, vec![Leg { until: t, speed: 60.0 }]).is_err());
    /// ```
    pub fn new(start: OffsetDateTime, legs: Vec<Leg>) -> Result<Self, ScheduleError> {
        if legs.is_empty() {
            return Err(ScheduleError::Empty);
        }
        let start = start.to_offset(UtcOffset::UTC);
        let mut out = Vec::with_capacity(legs.len());
        let (mut real, mut from) = (0.0, start);
        for (index, leg) in legs.into_iter().enumerate() {
            if leg.until <= from || !(leg.speed.is_finite() && leg.speed > 0.0) {
                return Err(ScheduleError::BadLeg { index });
            }
            let leg = Leg {
                until: leg.until.to_offset(UtcOffset::UTC),
                speed: leg.speed,
            };
            out.push((real, from, leg));
            real += (leg.until - from).as_seconds_f64() / leg.speed;
            from = leg.until;
        }
        Ok(Self {
            start,
            legs: out,
            end_real: real,
        })
    }

    /// The clock instant at the start.
    ///
    /// ```
    /// # use market_feed::clock::{Leg, Schedule};
    /// # use time::macros::datetime;
    /// let t = datetime!(2026-01-29 09:00 +05:30);
    /// let s = Schedule::new(t, vec![Leg { until: t + time::Duration::hours(1), speed: 60.0 }]).unwrap();
    /// assert_eq!(s.start(), t);
    /// ```
    pub fn start(&self) -> OffsetDateTime {
        self.start
    }

    /// The clock instant at which the schedule ends and the clock stops.
    ///
    /// ```
    /// # use market_feed::clock::{Leg, Schedule};
    /// # use time::macros::datetime;
    /// let t = datetime!(2026-01-29 09:00 +05:30);
    /// let s = Schedule::new(t, vec![Leg { until: t + time::Duration::hours(1), speed: 60.0 }]).unwrap();
    /// assert_eq!(s.end(), datetime!(2026-01-29 10:00 +05:30));
    /// ```
    pub fn end(&self) -> OffsetDateTime {
        self.legs.last().map_or(self.start, |(_, _, leg)| leg.until)
    }

    /// How long the whole schedule takes in real time.
    ///
    /// See [`Schedule`] for an example.
    pub fn real_length(&self) -> StdDuration {
        StdDuration::from_secs_f64(self.end_real)
    }

    /// The legs, in order.
    ///
    /// ```
    /// # use market_feed::clock::{Leg, Schedule};
    /// # use time::macros::datetime;
    /// let t = datetime!(2026-01-29 09:00 +05:30);
    /// let s = Schedule::new(t, vec![Leg { until: t + time::Duration::hours(1), speed: 60.0 }]).unwrap();
    /// assert_eq!(s.legs().count(), 1);
    /// ```
    pub fn legs(&self) -> impl Iterator<Item = &Leg> + '_ {
        self.legs.iter().map(|(_, _, leg)| leg)
    }

    /// The clock instant after `elapsed` real time.
    ///
    /// See [`Schedule`] for an example.
    pub fn at(&self, elapsed: StdDuration) -> OffsetDateTime {
        let real = elapsed.as_secs_f64();
        if real >= self.end_real {
            return self.end();
        }
        let i = self
            .legs
            .partition_point(|(r, _, _)| *r <= real)
            .saturating_sub(1);
        let (r0, from, leg) = self.legs[i];
        (from + Duration::seconds_f64((real - r0) * leg.speed)).min(leg.until)
    }

    /// Clock seconds per real second after `elapsed` real time (0 once the schedule is over).
    ///
    /// ```
    /// # use market_feed::clock::{Leg, Schedule};
    /// # use time::macros::datetime;
    /// # use std::time::Duration;
    /// let t = datetime!(2026-01-29 09:00 +05:30);
    /// let s = Schedule::new(t, vec![Leg { until: t + time::Duration::minutes(1), speed: 60.0 }]).unwrap();
    /// assert_eq!(s.speed_at(Duration::ZERO), 60.0);
    /// assert_eq!(s.speed_at(Duration::from_secs(2)), 0.0);
    /// ```
    pub fn speed_at(&self, elapsed: StdDuration) -> f64 {
        let real = elapsed.as_secs_f64();
        if real >= self.end_real {
            return 0.0;
        }
        let i = self
            .legs
            .partition_point(|(r, _, _)| *r <= real)
            .saturating_sub(1);
        self.legs[i].2.speed
    }

    /// The real time elapsed at which the clock reads `t`: `None` when it never does (after
    /// the end), zero for instants before the start.
    ///
    /// ```
    /// # use market_feed::clock::{Leg, Schedule};
    /// # use time::macros::datetime;
    /// # use std::time::Duration;
    /// let t = datetime!(2026-01-29 09:00 +05:30);
    /// let s = Schedule::new(t, vec![Leg { until: t + time::Duration::minutes(1), speed: 60.0 }]).unwrap();
    /// assert_eq!(s.real_at(datetime!(2026-01-29 09:00:30 +05:30)), Some(Duration::from_millis(500)));
    /// assert_eq!(s.real_at(datetime!(2026-01-29 09:02 +05:30)), None);
    /// ```
    pub fn real_at(&self, t: OffsetDateTime) -> Option<StdDuration> {
        if t <= self.start {
            return Some(StdDuration::ZERO);
        }
        if t > self.end() {
            return None;
        }
        let i = self
            .legs
            .partition_point(|(_, from, _)| *from <= t)
            .saturating_sub(1);
        let (r0, from, leg) = self.legs[i];
        let real = r0 + (t - from).as_seconds_f64() / leg.speed;
        Some(StdDuration::from_secs_f64(real.max(0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn demo() -> Schedule {
        Schedule::new(
            datetime!(2026-01-29 08:56 +05:30),
            vec![
                Leg {
                    until: datetime!(2026-01-29 09:00 +05:30),
                    speed: 12.0,
                },
                Leg {
                    until: datetime!(2026-01-29 09:15 +05:30),
                    speed: 40.0,
                },
                Leg {
                    until: datetime!(2026-01-29 15:30 +05:30),
                    speed: 64.0,
                },
            ],
        )
        .unwrap()
    }

    #[test]
    fn at_and_real_at_are_inverse() {
        let s = demo();
        for secs in [0.0, 5.0, 20.0, 30.0, 42.5, 100.0, 300.0] {
            let t = s.at(StdDuration::from_secs_f64(secs));
            let back = s.real_at(t).unwrap().as_secs_f64();
            assert!((back - secs).abs() < 1e-3, "{secs} -> {t} -> {back}");
        }
        // Leg boundaries: 4 min at 12x = 20 s; 15 min at 40x = 22.5 s.
        assert_eq!(
            s.at(StdDuration::from_secs(20)),
            datetime!(2026-01-29 09:00 +05:30)
        );
        assert_eq!(
            s.at(StdDuration::from_secs_f64(42.5)),
            datetime!(2026-01-29 09:15 +05:30)
        );
        assert_eq!(s.speed_at(StdDuration::from_secs(21)), 40.0);
    }

    #[test]
    fn stops_at_the_end() {
        let s = demo();
        let len = s.real_length();
        assert_eq!(s.at(len + StdDuration::from_secs(3600)), s.end());
        assert_eq!(s.speed_at(len), 0.0);
        assert_eq!(s.real_at(s.end() + Duration::seconds(1)), None);
    }

    #[test]
    fn rejects_bad_legs() {
        let t = datetime!(2026-01-29 09:00 +05:30);
        assert_eq!(Schedule::new(t, vec![]), Err(ScheduleError::Empty));
        let back = Leg {
            until: t - Duration::minutes(1),
            speed: 1.0,
        };
        assert_eq!(
            Schedule::new(t, vec![back]),
            Err(ScheduleError::BadLeg { index: 0 })
        );
        let zero = Leg {
            until: t + Duration::minutes(1),
            speed: 0.0,
        };
        assert!(Schedule::new(t, vec![zero]).is_err());
    }
}
