//! Indian Standard Time: the exchange's time zone (UTC+05:30 all year, no daylight saving).
//!
//! Instants are kept as UTC [`OffsetDateTime`]s everywhere; these helpers convert at the edges.
//! An instant near midnight IST has a different UTC date (05:29 IST is still the previous UTC
//! day), so the trading date of an instant is always [`ist_date`], never its UTC date.

use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, macros::offset};

/// The IST offset, UTC+05:30.
///
/// ```
/// assert_eq!(market_feed::clock::IST.whole_minutes(), 330);
/// ```
pub const IST: UtcOffset = offset!(+5:30);

/// The IST calendar date of an instant.
///
/// ```
/// use market_feed::clock::ist_date;
/// use time::macros::{date, datetime};
/// // 20:00 UTC on the 28th is 01:30 IST on the 29th.
/// assert_eq!(ist_date(datetime!(2026-01-28 20:00 UTC)), date!(2026-01-29));
/// ```
pub fn ist_date(t: OffsetDateTime) -> Date {
    t.to_offset(IST).date()
}

/// The IST wall-clock time of an instant.
///
/// ```
/// use market_feed::clock::ist_time;
/// use time::macros::{datetime, time};
/// assert_eq!(ist_time(datetime!(2026-01-29 03:45 UTC)), time!(09:15));
/// ```
pub fn ist_time(t: OffsetDateTime) -> Time {
    t.to_offset(IST).time()
}

/// The instant (in UTC) of an IST date and wall-clock time.
///
/// ```
/// use market_feed::clock::at_ist;
/// use time::macros::{date, datetime, time};
/// assert_eq!(at_ist(date!(2026-01-29), time!(09:15)), datetime!(2026-01-29 03:45 UTC));
/// ```
pub fn at_ist(date: Date, time: Time) -> OffsetDateTime {
    PrimitiveDateTime::new(date, time)
        .assume_offset(IST)
        .to_offset(UtcOffset::UTC)
}

/// Milliseconds since the Unix epoch, the wire form of instants.
///
/// ```
/// use market_feed::clock::to_ms;
/// use time::macros::datetime;
/// assert_eq!(to_ms(datetime!(1970-01-01 00:00:01 UTC)), 1000);
/// ```
pub fn to_ms(t: OffsetDateTime) -> i64 {
    // i128 nanoseconds → ms; every instant the `time` crate can represent fits in i64 ms.
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The instant of a millisecond timestamp, in UTC. Out-of-range values saturate to the
/// nearest representable instant.
///
/// ```
/// use market_feed::clock::{from_ms, to_ms};
/// assert_eq!(to_ms(from_ms(1769680800123)), 1769680800123);
/// ```
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(if ms < 0 {
        time::PrimitiveDateTime::MIN.assume_utc()
    } else {
        time::PrimitiveDateTime::MAX.assume_utc()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    #[test]
    fn utc_date_change_around_ist_midnight_and_0530() {
        // TC0: 23:59 IST is 18:29 UTC the same day.
        assert_eq!(
            ist_date(datetime!(2026-01-29 18:29 UTC)),
            date!(2026 - 01 - 29)
        );
        // TC1: 00:01 IST is 18:31 UTC of the previous UTC day, but the next IST day.
        assert_eq!(
            ist_date(datetime!(2026-01-29 18:31 UTC)),
            date!(2026 - 01 - 30)
        );
        // TC2: 05:29 IST is 23:59 UTC of the previous day; 05:31 IST is 00:01 UTC.
        let a = at_ist(date!(2026 - 01 - 30), time!(05:29));
        let b = at_ist(date!(2026 - 01 - 30), time!(05:31));
        assert_eq!(a.date(), date!(2026 - 01 - 29));
        assert_eq!(b.date(), date!(2026 - 01 - 30));
        assert_eq!(ist_date(a), ist_date(b));
    }
}
