//! The refresh grid: a job's ticks fall on `window start + k × interval`, in clock time, and
//! a tick that an overrunning refresh missed is skipped rather than queued.

use time::{Duration, OffsetDateTime};

/// The first tick `start + k × interval` that is at or after `at` and after `previous`.
pub(super) fn next_tick(
    start: OffsetDateTime,
    interval: Duration,
    previous: OffsetDateTime,
    at: OffsetDateTime,
) -> OffsetDateTime {
    let step = interval.whole_nanoseconds().max(1);
    let since = (at - start).whole_nanoseconds().max(0);
    let k = since.div_euclid(step) + i128::from(since.rem_euclid(step) != 0);
    let mut tick = start + Duration::nanoseconds_i128(k * step);
    if tick <= previous {
        tick = previous + interval;
    }
    tick
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ticks_are_on_the_grid_and_never_repeat() {
        let s = datetime!(2026-01-29 09:13 +05:30);
        let i = Duration::seconds(5);
        // (previous, at) -> expected
        let cases = [
            (s, s, s + i),
            (s, s + Duration::milliseconds(1), s + i),
            (s, s + Duration::seconds(5), s + i),
            (s, s + Duration::seconds(12), s + Duration::seconds(15)),
            (s - i, s, s),
        ];
        for (prev, at, want) in cases {
            assert_eq!(next_tick(s, i, prev, at), want, "prev {prev} at {at}");
        }
    }
}
