//! Table-driven tests of the broker list's rules, with entries in Upstox's real shape.

use super::*;
use crate::clock::{at_ist, to_ms};
use time::macros::{date, time};

/// The answer of Upstox's documentation (2024), verbatim but for whitespace.
const UPSTOX_2024: &str = r#"{"status":"success","data":[
 {"date":"2024-01-01","description":"New Year Day","holiday_type":"TRADING_HOLIDAY","closed_exchanges":[],"open_exchanges":[
   {"exchange":"MCX","start_time":1704079800000,"end_time":1704108600000},{"exchange":"NSE","start_time":1704080700000,"end_time":1704103200000},
   {"exchange":"NFO","start_time":1704080700000,"end_time":1704103200000},{"exchange":"CDS","start_time":1704079800000,"end_time":1704108600000},
   {"exchange":"BSE","start_time":1704080700000,"end_time":1704103200000},{"exchange":"BCD","start_time":1704079800000,"end_time":1704108600000},
   {"exchange":"BFO","start_time":1704080700000,"end_time":1704103200000}]},
 {"date":"2024-01-20","description":"Special DR Trading","holiday_type":"TRADING_HOLIDAY","closed_exchanges":["MCX","CDS","BCD"],"open_exchanges":[
   {"exchange":"NSE","start_time":1705722300000,"end_time":1705734000000},{"exchange":"NFO","start_time":1705722300000,"end_time":1705734000000},
   {"exchange":"BSE","start_time":1705722300000,"end_time":1705734000000},{"exchange":"BFO","start_time":1705722300000,"end_time":1705734000000}]},
 {"date":"2024-01-26","description":"Republic Day","holiday_type":"TRADING_HOLIDAY","closed_exchanges":["NFO","CDS","BSE","BCD","MCX","NSE","BFO"],"open_exchanges":[]}]}"#;

fn entry(date: Date, kind: &str, closed: &[&str], open: &[(&str, Time, Time)]) -> HolidayEntry {
    HolidayEntry {
        date,
        description: "X".into(),
        holiday_type: kind.into(),
        closed_exchanges: closed.iter().map(|s| (*s).to_owned()).collect(),
        open_exchanges: open
            .iter()
            .map(|(x, a, b)| OpenWindow {
                exchange: (*x).into(),
                start_time: to_ms(at_ist(date, *a)),
                end_time: to_ms(at_ist(date, *b)),
            })
            .collect(),
    }
}

#[test]
fn the_documented_answer_converts_by_the_rules() {
    let list = parse_holiday_answer(UPSTOX_2024.as_bytes()).unwrap();
    assert_eq!(list.len(), 3);
    let nse = BrokerDays::from_entries(&list, Exchange::Nse, SessionTimes::REGULAR);
    assert!(nse.lists_year(2024));
    // New Year Day: typed TRADING_HOLIDAY, but NSE is open with the regular hours.
    assert_eq!(nse.day(date!(2024 - 01 - 01)), Some(&BrokerDay::Regular));
    // Saturday "Special DR Trading": a special session 09:15-12:30, pre-open 09:00.
    match nse.day(date!(2024 - 01 - 20)) {
        Some(BrokerDay::Special {
            name,
            times,
            holiday,
        }) => {
            assert_eq!(&**name, "Special DR Trading");
            assert_eq!(
                (
                    times.pre_open,
                    times.open,
                    times.close,
                    times.post_close_end
                ),
                (time!(09:00), time!(09:15), time!(12:30), time!(12:30))
            );
            assert_eq!(holiday, &None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        nse.day(date!(2024 - 01 - 26)),
        Some(&BrokerDay::Holiday {
            name: "Republic Day".into()
        })
    );
    let bse = BrokerDays::from_entries(&list, Exchange::Bse, SessionTimes::REGULAR);
    assert_eq!(bse, nse, "BSE is listed exactly like NSE here");
}

#[test]
fn entries_convert_per_exchange() {
    let wed = date!(2027 - 03 - 10);
    let sun = date!(2027 - 10 - 31);
    let cases: Vec<(&str, HolidayEntry, Exchange, Option<BrokerDay>)> = vec![
        (
            "NSE closed",
            entry(wed, "TRADING_HOLIDAY", &["NSE", "BSE"], &[]),
            Exchange::Nse,
            Some(BrokerDay::Holiday { name: "X".into() }),
        ),
        (
            "only BSE closed: nothing for NSE",
            entry(wed, "TRADING_HOLIDAY", &["BSE"], &[]),
            Exchange::Nse,
            None,
        ),
        (
            "only BSE closed: a holiday for BSE",
            entry(wed, "TRADING_HOLIDAY", &["BSE"], &[]),
            Exchange::Bse,
            Some(BrokerDay::Holiday { name: "X".into() }),
        ),
        (
            "settlement holiday changes nothing",
            entry(wed, "SETTLEMENT_HOLIDAY", &["NSE"], &[]),
            Exchange::Nse,
            None,
        ),
        (
            "unknown type is ignored",
            entry(wed, "SOMETHING_NEW", &["NSE"], &[]),
            Exchange::Nse,
            None,
        ),
        (
            "weekday Muhurat: holiday with a session",
            entry(
                wed,
                "TRADING_HOLIDAY",
                &[],
                &[("NSE", time!(13:45), time!(14:45))],
            ),
            Exchange::Nse,
            Some(BrokerDay::Special {
                name: "X".into(),
                times: SessionTimes {
                    pre_open: time!(13:30),
                    open: time!(13:45),
                    close: time!(14:45),
                    post_close_end: time!(14:45),
                },
                holiday: Some("X".into()),
            }),
        ),
        (
            "weekday special timing: a session, no holiday",
            entry(
                wed,
                "SPECIAL_TIMING",
                &[],
                &[("NSE", time!(09:15), time!(13:00))],
            ),
            Exchange::Nse,
            Some(BrokerDay::Special {
                name: "X".into(),
                times: SessionTimes {
                    pre_open: time!(09:00),
                    open: time!(09:15),
                    close: time!(13:00),
                    post_close_end: time!(13:00),
                },
                holiday: None,
            }),
        ),
        (
            "Sunday full session gets the regular times",
            entry(
                sun,
                "TRADING_HOLIDAY",
                &["MCX"],
                &[("NSE", time!(09:15), time!(15:30))],
            ),
            Exchange::Nse,
            Some(BrokerDay::Special {
                name: "X".into(),
                times: SessionTimes::REGULAR,
                holiday: None,
            }),
        ),
        (
            "unknown exchanges are ignored",
            entry(
                wed,
                "TRADING_HOLIDAY",
                &["XYZ"],
                &[("ABC", time!(09:15), time!(15:30))],
            ),
            Exchange::Nse,
            None,
        ),
        (
            "a window on another date is ignored; closed still counts",
            HolidayEntry {
                open_exchanges: vec![OpenWindow {
                    exchange: "NSE".into(),
                    start_time: to_ms(at_ist(date!(2027 - 03 - 11), time!(09:15))),
                    end_time: to_ms(at_ist(date!(2027 - 03 - 11), time!(15:30))),
                }],
                ..entry(wed, "TRADING_HOLIDAY", &["NSE"], &[])
            },
            Exchange::Nse,
            Some(BrokerDay::Holiday { name: "X".into() }),
        ),
    ];
    for (what, e, exchange, expected) in cases {
        let days =
            BrokerDays::from_entries(std::slice::from_ref(&e), exchange, SessionTimes::REGULAR);
        assert_eq!(days.day(e.date).cloned(), expected, "{what}");
        assert!(days.lists_year(2027), "{what}: the year counts as listed");
    }
}

#[test]
fn bad_answers_are_errors_that_say_why() {
    let cases: [(&[u8], &str); 6] = [
        (b"<!DOCTYPE html><html>502 Bad Gateway</html>", "not JSON"),
        (
            br#"{"status":"error","errors":[{"errorCode":"UDAPI100050","message":"Invalid token"}]}"#,
            "UDAPI100050",
        ),
        (br#"{"status":"success"}"#, "no \"data\""),
        (
            br#"{"status":"success","data":[{"date":"2027-01-26","description":"R","holidayType":"TRADING_HOLIDAY","closedExchanges":["NSE"],"openExchanges":[]}]}"#,
            "unexpected shape",
        ),
        (
            br#"{"status":"success","data":[{"date":"2027-01-26","description":"R","holiday_type":"TRADING_HOLIDAY","closed_exchanges":["NSE"]}]}"#,
            "open_exchanges",
        ),
        (
            br#"{"status":"success","data":[{"date":"26/01/2027","description":"R","holiday_type":"TRADING_HOLIDAY","closed_exchanges":[],"open_exchanges":[]}]}"#,
            "unexpected shape",
        ),
    ];
    for (body, needle) in cases {
        let err = parse_holiday_answer(body).unwrap_err();
        assert!(err.contains(needle) && !err.contains('\n'), "{err}");
    }
}
