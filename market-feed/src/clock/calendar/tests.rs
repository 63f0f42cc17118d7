//! Unit tests of the calendar: the bundled data, file parsing, provisional years.

use super::*;
use crate::clock::Coverage;
use time::macros::{date, time};

#[test]
fn bundled_calendar_parses_and_has_2026_holidays() {
    let cal = Calendar::from_toml_str(BUNDLED_CALENDAR, "bundled", Exchange::Nse).unwrap();
    let holidays_2026: Vec<_> = cal.holidays.keys().filter(|d| d.year() == 2026).collect();
    assert_eq!(
        holidays_2026.len(),
        17,
        "16 weekday holidays + Diwali Sunday"
    );
    assert_eq!(cal.holidays.keys().filter(|d| d.year() == 2025).count(), 14);
    assert!(cal.covers_year(2025) && cal.covers_year(2026));
}

#[test]
fn every_2026_weekday_holiday_is_closed_with_its_name() {
    let cal = Calendar::bundled(Exchange::Nse);
    let expected = [
        (
            date!(2026 - 01 - 15),
            "Municipal Corporation Elections, Maharashtra",
        ),
        (date!(2026 - 01 - 26), "Republic Day"),
        (date!(2026 - 03 - 03), "Holi"),
        (date!(2026 - 03 - 26), "Shri Ram Navami"),
        (date!(2026 - 03 - 31), "Shri Mahavir Jayanti"),
        (date!(2026 - 04 - 03), "Good Friday"),
        (date!(2026 - 04 - 14), "Dr. Baba Saheb Ambedkar Jayanti"),
        (date!(2026 - 05 - 01), "Maharashtra Day"),
        (date!(2026 - 05 - 28), "Bakri Id"),
        (date!(2026 - 06 - 26), "Muharram"),
        (date!(2026 - 09 - 14), "Ganesh Chaturthi"),
        (date!(2026 - 10 - 02), "Mahatma Gandhi Jayanti"),
        (date!(2026 - 10 - 20), "Dussehra"),
        (date!(2026 - 11 - 10), "Diwali Balipratipada"),
        (date!(2026 - 11 - 24), "Prakash Gurpurb Sri Guru Nanak Dev"),
        (date!(2026 - 12 - 25), "Christmas"),
    ];
    for (d, name) in expected {
        assert!(
            !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
            "{d}"
        );
        match cal.day(d) {
            DayKind::Holiday { name: n } => assert_eq!(&*n, name, "{d}"),
            other => panic!("{d} should be a holiday, got {other:?}"),
        }
    }
}

#[test]
fn muhurat_is_a_holiday_with_a_special_session() {
    let cal = Calendar::bundled(Exchange::Nse);
    let s = cal.session(date!(2025 - 10 - 21)).unwrap();
    assert_eq!(s.times.open, time!(13:45));
    assert_eq!(s.times.close, time!(14:45));
    match &s.kind {
        SessionKind::Special { holiday, .. } => {
            assert_eq!(holiday.as_deref(), Some("Diwali Laxmi Pujan"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_files_name_the_problem() {
    let cases = [
        (
            "years = [2026]\n[[holiday]]\ndate = \"2026-13-01\"\nname = \"x\"",
            "not YYYY-MM-DD",
        ),
        (
            "[[holiday]]\ndate = \"2026-01-01\"\nname = \"\"",
            "name must not be empty",
        ),
        (
            "[[holiday]]\ndate = \"2026-01-01\"\nnaem = \"x\"",
            "line 3: unknown field",
        ),
        ("extends = \"nyse\"", "extends"),
        (
            "[[special_session]]\ndate = \"2026-11-08\"\nname = \"M\"\npre_open = \"13:30\"\nopen = \"14:45\"\nclose = \"13:45\"",
            "pre_open <= open < close",
        ),
        (
            "[[special_session]]\ndate = \"2026-11-08\"\nname = \"M\"\npre_open = \"1:3\"\nopen = \"x\"\nclose = \"y\"",
            "HH:MM",
        ),
    ];
    for (text, needle) in cases {
        let err = Calendar::from_toml_str(text, "my.toml", Exchange::Nse)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("my.toml") && err.contains(needle) && !err.contains('\n'),
            "{err}"
        );
    }
}

#[test]
fn exchange_specific_entries() {
    let text = "[[holiday]]\ndate = \"2026-07-01\"\nname = \"BSE only\"\nexchanges = [\"BSE\"]";
    let nse = Calendar::from_toml_str(text, "t", Exchange::Nse).unwrap();
    let bse = Calendar::from_toml_str(text, "t", Exchange::Bse).unwrap();
    assert!(nse.is_trading_day(date!(2026 - 07 - 01)));
    assert!(!bse.is_trading_day(date!(2026 - 07 - 01)));
}

#[test]
fn uncovered_year_trades_on_weekdays() {
    let cal = Calendar::bundled(Exchange::Nse);
    assert!(cal.is_trading_day(date!(2031 - 01 - 01)));
    assert!(!cal.is_trading_day(date!(2031 - 01 - 04))); // Saturday
    assert!(cal.warned_years.lock().unwrap().contains(&2031));
}

#[test]
fn provisional_2027_closes_the_market_and_is_visible_as_provisional() {
    let cal = Calendar::bundled(Exchange::Nse);
    assert_eq!(cal.coverage(2027), Coverage::Provisional);
    assert!(cal.covers_year(2027));
    let expected = [
        (date!(2027 - 01 - 26), "Republic Day"),
        (date!(2027 - 03 - 22), "Holi"),
        (date!(2027 - 03 - 26), "Good Friday"),
        (date!(2027 - 04 - 14), "Dr. Baba Saheb Ambedkar Jayanti"),
        (date!(2027 - 10 - 29), "Diwali Laxmi Pujan"),
    ];
    let listed: Vec<_> = cal
        .holidays
        .keys()
        .filter(|d| d.year() == 2027)
        .copied()
        .collect();
    assert_eq!(listed, expected.map(|(d, _)| d).to_vec());
    for (d, name) in expected {
        assert!(
            !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
            "{d}"
        );
        assert_eq!(cal.holiday_name(d), Some(name));
        assert!(cal.is_provisional_holiday(d), "{d}");
        assert!(!cal.is_trading_day(d));
    }
    // A 2027 session is not assumed: the year is covered, if provisionally.
    assert!(!cal.session(date!(2027 - 01 - 27)).unwrap().is_assumed());
    assert!(!cal.is_provisional_holiday(date!(2026 - 01 - 26)));
}

#[test]
fn provisional_entries_need_a_reason_and_provisional_years_mark_theirs() {
    let no_reason = "[[holiday]]\ndate = \"2031-01-01\"\nname = \"x\"\nprovisional = true";
    let err = Calendar::from_toml_str(no_reason, "my.toml", Exchange::Nse).unwrap_err();
    assert!(err.to_string().contains("needs a reason"), "{err}");
    let year = "provisional_years = [2031]\n[[holiday]]\ndate = \"2031-01-01\"\nname = \"x\"";
    let cal = Calendar::from_toml_str(year, "my.toml", Exchange::Nse).unwrap();
    assert_eq!(cal.coverage(2031), Coverage::Provisional);
    assert!(cal.is_provisional_holiday(date!(2031 - 01 - 01)));
    // A file that confirms a year the bundled file has as provisional.
    let confirm = "extends = \"bundled\"\nyears = [2027]";
    let cal = Calendar::from_toml_str(confirm, "my.toml", Exchange::Nse).unwrap();
    assert_eq!(cal.coverage(2027), Coverage::Confirmed);
}

#[test]
fn an_uncovered_session_is_assumed() {
    let cal = Calendar::weekdays_only(Exchange::Nse);
    assert!(cal.session(date!(2027 - 01 - 26)).unwrap().is_assumed());
}
