//! Table-driven boundary cases and property tests for the clock's pure functions.

use super::*;
use proptest::prelude::*;
use time::macros::{date, datetime};

fn clock() -> MarketClock {
    MarketClock::system()
}

#[test]
fn phase_and_live_at_boundaries() {
    use Phase::*;
    // (IST instant, phase, live)
    let cases = [
        // TC0..: a normal Thursday
        (datetime!(2026-01-29 08:59:59.999 +05:30), Closed, false),
        (datetime!(2026-01-29 09:00 +05:30), PreOpen, false),
        (datetime!(2026-01-29 09:12:59.999 +05:30), PreOpen, false),
        (datetime!(2026-01-29 09:13 +05:30), PreOpen, true),
        (datetime!(2026-01-29 09:14:59.999 +05:30), PreOpen, true),
        (datetime!(2026-01-29 09:15 +05:30), Open, true),
        (datetime!(2026-01-29 15:29:59.999 +05:30), Open, true),
        (datetime!(2026-01-29 15:30 +05:30), PostClose, false),
        (datetime!(2026-01-29 15:59:59.999 +05:30), PostClose, false),
        (datetime!(2026-01-29 16:00 +05:30), Closed, false),
        // around IST midnight and the UTC date change at 05:30 IST
        (datetime!(2026-01-29 23:59 +05:30), Closed, false),
        (datetime!(2026-01-30 00:01 +05:30), Closed, false),
        (datetime!(2026-01-30 05:29 +05:30), Closed, false),
        (datetime!(2026-01-30 05:31 +05:30), Closed, false),
        // the same instants given in UTC
        (datetime!(2026-01-29 03:43 UTC), PreOpen, true),
        (datetime!(2026-01-29 09:59:59 UTC), Open, true),
        // Muhurat 2025 (a holiday with a 13:45-14:45 session)
        (datetime!(2025-10-21 10:00 +05:30), Closed, false),
        (datetime!(2025-10-21 13:30 +05:30), PreOpen, false),
        (datetime!(2025-10-21 13:43 +05:30), PreOpen, true),
        (datetime!(2025-10-21 14:00 +05:30), Open, true),
        (datetime!(2025-10-21 14:45 +05:30), Closed, false),
        // Saturday Budget session 2025-02-01, Sunday Budget session 2026-02-01
        (datetime!(2025-02-01 10:00 +05:30), Open, true),
        (datetime!(2026-02-01 10:00 +05:30), Open, true),
        (datetime!(2026-02-01 15:45 +05:30), PostClose, false),
        // a plain Saturday
        (datetime!(2026-01-31 10:00 +05:30), Closed, false),
    ];
    let c = clock();
    for (t, phase, live) in cases {
        assert_eq!(c.phase_at(t), phase, "phase at {t}");
        assert_eq!(c.is_live_at(t), live, "live at {t}");
    }
}

#[test]
fn status_reasons_and_trading_days() {
    // (instant, reason, trading_day)
    let cases = [
        (
            datetime!(2026-01-29 08:00 +05:30),
            Some("before_hours"),
            date!(2026 - 01 - 29),
        ),
        (
            datetime!(2026-01-29 10:00 +05:30),
            None,
            date!(2026 - 01 - 29),
        ),
        (
            datetime!(2026-01-29 15:45 +05:30),
            None,
            date!(2026 - 01 - 29),
        ),
        (
            datetime!(2026-01-29 16:00 +05:30),
            Some("after_hours"),
            date!(2026 - 01 - 30),
        ),
        // 00:01 IST on Friday is the 29th in UTC but Friday's trading day in IST.
        (
            datetime!(2026-01-30 00:01 +05:30),
            Some("before_hours"),
            date!(2026 - 01 - 30),
        ),
        (
            datetime!(2026-01-31 12:00 +05:30),
            Some("weekend"),
            date!(2026 - 02 - 01),
        ),
        (
            datetime!(2026-01-26 12:00 +05:30),
            Some("holiday: Republic Day"),
            date!(2026 - 01 - 27),
        ),
        (
            datetime!(2025-10-21 10:00 +05:30),
            Some("holiday: Diwali Laxmi Pujan"),
            date!(2025 - 10 - 21),
        ),
        (
            datetime!(2025-10-21 15:00 +05:30),
            Some("holiday: Diwali Laxmi Pujan"),
            date!(2025 - 10 - 23),
        ),
        (
            datetime!(2026-12-31 18:00 +05:30),
            Some("after_hours"),
            date!(2027 - 01 - 01),
        ),
    ];
    let c = clock();
    for (t, reason, day) in cases {
        let s = c.status_at(t);
        assert_eq!(s.reason.as_deref(), reason, "reason at {t}");
        assert_eq!(s.trading_day, day, "trading_day at {t}");
        assert_eq!(s.exchange, Exchange::Nse);
    }
}

#[test]
fn status_json_is_the_wire_form() {
    let s = clock().status_at(datetime!(2026-01-29 10:00 +05:30));
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "exchange": "NSE", "phase": "open", "live": true, "trading_day": "2026-01-29",
            "next_change": to_ms(datetime!(2026-01-29 15:30 +05:30)), "next_phase": "post_close",
            "reason": null
        })
    );
}

#[test]
fn next_transitions_across_weekends_holidays_and_years() {
    use Phase::*;
    // (from, expected at, expected phase)
    let cases = [
        // Friday 15:31 → Friday 16:00 closed, then Monday 09:00 pre-open
        (
            datetime!(2026-01-30 15:31 +05:30),
            datetime!(2026-01-30 16:00 +05:30),
            Closed,
        ),
        (
            datetime!(2026-01-30 16:00 +05:30),
            datetime!(2026-02-01 09:00 +05:30),
            PreOpen,
        ), // Budget Sunday
        (
            datetime!(2026-02-06 16:30 +05:30),
            datetime!(2026-02-09 09:00 +05:30),
            PreOpen,
        ), // plain weekend
        // Friday 2026-01-23 after hours → Tuesday (Monday is Republic Day)
        (
            datetime!(2026-01-23 18:00 +05:30),
            datetime!(2026-01-27 09:00 +05:30),
            PreOpen,
        ),
        // across the year end: 31 December → 1 January 2027 (uncovered year: weekdays trade)
        (
            datetime!(2026-12-31 16:00 +05:30),
            datetime!(2027-01-01 09:00 +05:30),
            PreOpen,
        ),
        // Christmas Eve after hours → the 28th (25th holiday, 26-27 weekend)
        (
            datetime!(2026-12-24 17:00 +05:30),
            datetime!(2026-12-28 09:00 +05:30),
            PreOpen,
        ),
        // Muhurat: closed at 10:00 on the holiday → 13:30 pre-open
        (
            datetime!(2025-10-21 10:00 +05:30),
            datetime!(2025-10-21 13:30 +05:30),
            PreOpen,
        ),
        // Muhurat has no post-close: open → closed at 14:45
        (
            datetime!(2025-10-21 14:00 +05:30),
            datetime!(2025-10-21 14:45 +05:30),
            Closed,
        ),
        // exactly at a boundary: strictly later
        (
            datetime!(2026-01-29 09:15 +05:30),
            datetime!(2026-01-29 15:30 +05:30),
            PostClose,
        ),
    ];
    let c = clock();
    for (from, at, phase) in cases {
        let t = c.next_transition_at(from);
        assert_eq!((t.at, t.phase), (at, phase), "from {from}");
    }
}

#[test]
fn every_2026_holiday_has_no_window_and_says_its_name() {
    let c = clock();
    let cal = c.calendar();
    let mut d = date!(2026 - 01 - 01);
    let mut holidays = 0;
    while d.year() == 2026 {
        if let Some(name) = cal.holiday_name(d) {
            holidays += 1;
            if cal.session(d).is_none() {
                assert!(c.service_window(d).is_none(), "{d}");
                let s = c.status_at(at_ist(d, time::macros::time!(11:00)));
                assert_eq!(s.phase, Phase::Closed);
                assert!(!s.live);
                assert_eq!(s.reason, Some(format!("holiday: {name}")), "{d}");
            }
        }
        d = d.next_day().unwrap();
    }
    assert_eq!(holidays, 17);
}

#[test]
fn service_window_and_last_closed_session() {
    let c = clock();
    let w = c.service_window(date!(2025 - 10 - 21)).unwrap();
    assert_eq!(
        (w.start, w.end),
        (
            datetime!(2025-10-21 13:43 +05:30),
            datetime!(2025-10-21 14:45 +05:30)
        )
    );
    assert!(c.service_window(date!(2026 - 01 - 31)).is_none());
    // Monday 08:00 after a weekend: the last closed session is Friday's.
    let s = c
        .last_closed_session_at(datetime!(2026-02-09 08:00 +05:30))
        .unwrap();
    assert_eq!(s.date, date!(2026 - 02 - 06));
    // A Sunday session counts.
    let s = c
        .last_closed_session_at(datetime!(2026-02-01 15:30 +05:30))
        .unwrap();
    assert_eq!(s.date, date!(2026 - 02 - 01));
}

#[test]
fn next_status_change_includes_the_window() {
    let c = clock();
    let cases = [
        (
            datetime!(2026-01-29 08:00 +05:30),
            datetime!(2026-01-29 09:00 +05:30),
        ),
        (
            datetime!(2026-01-29 09:00 +05:30),
            datetime!(2026-01-29 09:13 +05:30),
        ),
        (
            datetime!(2026-01-29 09:13 +05:30),
            datetime!(2026-01-29 09:15 +05:30),
        ),
        (
            datetime!(2026-01-29 09:15 +05:30),
            datetime!(2026-01-29 15:30 +05:30),
        ),
        (
            datetime!(2026-01-29 15:30 +05:30),
            datetime!(2026-01-29 16:00 +05:30),
        ),
    ];
    for (from, want) in cases {
        assert_eq!(c.next_status_change_at(from), want, "from {from}");
    }
}

#[test]
fn manual_clock_cannot_be_confused_with_others() {
    let c = MarketClock::scaled(datetime!(2026-01-29 10:00 UTC), 2.0);
    assert_eq!(
        c.set(datetime!(2026-01-29 10:00 UTC)),
        Err(ClockError::NotManual("a scaled clock"))
    );
}

fn instant() -> impl Strategy<Value = OffsetDateTime> {
    // 2024-12-25 .. 2027-01-10: covered years, their edges and the uncovered neighbours,
    // at millisecond resolution.
    let lo = to_ms(datetime!(2024-12-25 00:00 UTC));
    let hi = to_ms(datetime!(2027-01-10 00:00 UTC));
    (lo..hi).prop_map(from_ms)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn next_transition_is_strictly_later_and_changes_phase(t in instant()) {
        let c = clock();
        let next = c.next_transition_at(t);
        prop_assert!(next.at > t);
        prop_assert_ne!(next.phase, c.phase_at(t));
        prop_assert_eq!(c.phase_at(next.at), next.phase);
    }

    #[test]
    fn phase_is_constant_until_the_next_transition(t in instant(), frac in 0.0f64..1.0) {
        let c = clock();
        let next = c.next_transition_at(t);
        let span = (next.at - t).as_seconds_f64();
        let probe = t + time::Duration::seconds_f64(span * frac);
        if probe < next.at {
            prop_assert_eq!(c.phase_at(probe), c.phase_at(t));
        }
        // Just before the transition the phase is still the old one.
        let just_before = next.at - time::Duration::milliseconds(1);
        if just_before >= t {
            prop_assert_eq!(c.phase_at(just_before), c.phase_at(t));
        }
    }

    #[test]
    fn a_service_window_lies_inside_its_trading_day(t in instant(), lead_min in 0i64..600) {
        let c = clock().with_lead(time::Duration::minutes(lead_min));
        let w = c.window_at_or_after(t);
        prop_assert!(w.start < w.end);
        prop_assert_eq!(ist_date(w.start), w.trading_day);
        prop_assert_eq!(ist_date(w.end - time::Duration::milliseconds(1)), w.trading_day);
        prop_assert!(c.calendar().is_trading_day(w.trading_day));
        prop_assert!(w.end > t);
    }

    #[test]
    fn status_is_consistent(t in instant()) {
        let c = clock();
        let s = c.status_at(t);
        prop_assert_eq!(s.phase, c.phase_at(t));
        prop_assert_eq!(s.reason.is_some(), s.phase == Phase::Closed);
        prop_assert!(c.calendar().is_trading_day(s.trading_day));
        prop_assert!(s.trading_day >= ist_date(t));
        prop_assert!(s.next_change > to_ms(t));
    }
}
