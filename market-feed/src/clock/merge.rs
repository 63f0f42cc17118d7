//! Merging the broker's holiday list over a calendar ([`Calendar::merged_with`]) and the
//! differences that result ([`CalendarDifference`]).
//!
//! Rules: the broker wins for every date it mentions for the exchange; a year it lists becomes
//! confirmed, and the provisional entries of that year that it does not repeat are dropped;
//! confirmed entries of the calendar on dates the broker does not mention are kept.

use std::{collections::BTreeSet, fmt};

use time::{Date, Weekday};

use super::{
    broker_list::{BrokerDay, BrokerDays},
    calendar::{Calendar, Holiday, Special},
    session_times::SessionTimes,
};

/// A date on which the merged calendar differs from the calendar before the merge.
///
/// ```
/// use market_feed::clock::{BrokerDays, Calendar, Exchange, HolidayEntry, SessionTimes};
/// let list: Vec<HolidayEntry> = serde_json::from_str(r#"[{"date":"2026-12-31","description":"Year-end",
///     "holiday_type":"TRADING_HOLIDAY","closed_exchanges":["NSE"],"open_exchanges":[]}]"#)?;
/// let cal = Calendar::bundled(Exchange::Nse);
/// let (_, diffs) = cal.merged_with(&BrokerDays::from_entries(&list, Exchange::Nse, SessionTimes::REGULAR));
/// assert_eq!(diffs[0].to_string(), "2026-12-31: calendar: trading day; broker: holiday \"Year-end\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDifference {
    /// The date.
    pub date: Date,
    /// What the calendar said before the merge.
    pub before: String,
    /// What the broker says (the merged calendar's answer).
    pub broker: String,
}

impl fmt::Display for CalendarDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: calendar: {}; broker: {}",
            self.date, self.before, self.broker
        )
    }
}

fn hhmm(t: time::Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn describe_times(t: SessionTimes) -> String {
    format!(
        "pre-open {} open {}-{}{}",
        hhmm(t.pre_open),
        hhmm(t.open),
        hhmm(t.close),
        if t.post_close_end > t.close {
            format!(" post-close to {}", hhmm(t.post_close_end))
        } else {
            String::new()
        }
    )
}

/// One line about what `cal` says of `date`, for the difference log.
pub(super) fn describe_day(cal: &Calendar, date: Date) -> String {
    let holiday = cal.holidays.get(&date).map(|h| {
        format!(
            "holiday {:?}{}",
            &*h.name,
            if h.provisional { " (provisional)" } else { "" }
        )
    });
    match (cal.specials.get(&date), holiday) {
        (Some(s), Some(h)) => format!(
            "{h} with special session {:?} ({})",
            &*s.name,
            describe_times(s.times)
        ),
        (Some(s), None) => format!(
            "special session {:?} ({})",
            &*s.name,
            describe_times(s.times)
        ),
        (None, Some(h)) => h,
        (None, None) if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) => {
            "weekend".to_owned()
        }
        (None, None) => "trading day".to_owned(),
    }
}

impl Calendar {
    /// This calendar with the broker's list merged over it (see the module's rules), and every
    /// date on which the result differs from this calendar.
    ///
    /// ```
    /// use market_feed::clock::{BrokerDays, Calendar, Coverage, Exchange, HolidayEntry, SessionTimes};
    /// use time::macros::date;
    /// let list: Vec<HolidayEntry> = serde_json::from_str(r#"[{"date":"2027-01-26","description":"Republic Day",
    ///     "holiday_type":"TRADING_HOLIDAY","closed_exchanges":["NSE"],"open_exchanges":[]}]"#)?;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// assert_eq!(cal.coverage(2027), Coverage::Provisional);
    /// let (merged, _) = cal.merged_with(&BrokerDays::from_entries(&list, Exchange::Nse, SessionTimes::REGULAR));
    /// assert_eq!(merged.coverage(2027), Coverage::Confirmed);
    /// assert!(!merged.is_provisional_holiday(date!(2027-01-26)));
    /// assert!(merged.is_trading_day(date!(2027-03-26))); // the provisional Good Friday is dropped
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn merged_with(&self, broker: &BrokerDays) -> (Calendar, Vec<CalendarDifference>) {
        let mut out = self.clone();
        let mut touched: BTreeSet<Date> = BTreeSet::new();
        for &year in &broker.years {
            out.provisional_years.remove(&year);
            out.years.insert(year);
            let provisional: Vec<Date> = out
                .holidays
                .iter()
                .filter(|(d, h)| d.year() == year && h.provisional)
                .map(|(d, _)| *d)
                .collect();
            for d in provisional {
                out.holidays.remove(&d);
                touched.insert(d);
            }
        }
        for (&date, day) in &broker.days {
            touched.insert(date);
            out.holidays.remove(&date);
            out.specials.remove(&date);
            match day {
                BrokerDay::Holiday { name } => {
                    out.holidays.insert(
                        date,
                        Holiday {
                            name: name.clone(),
                            provisional: false,
                        },
                    );
                }
                BrokerDay::Special {
                    name,
                    times,
                    holiday,
                } => {
                    if let Some(h) = holiday {
                        out.holidays.insert(
                            date,
                            Holiday {
                                name: h.clone(),
                                provisional: false,
                            },
                        );
                    }
                    out.specials.insert(
                        date,
                        Special {
                            name: name.clone(),
                            times: *times,
                        },
                    );
                }
                BrokerDay::Regular => {}
            }
        }
        let differences = touched
            .into_iter()
            .filter_map(|date| {
                let (before, after) = (describe_day(self, date), describe_day(&out, date));
                (before != after).then_some(CalendarDifference {
                    date,
                    before,
                    broker: after,
                })
            })
            .collect();
        (out, differences)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Coverage, Exchange, HolidayEntry, OpenWindow, at_ist, to_ms};
    use time::macros::{date, time};

    fn entry(
        date: Date,
        desc: &str,
        kind: &str,
        closed: &[&str],
        open: &[(&str, time::Time, time::Time)],
    ) -> HolidayEntry {
        HolidayEntry {
            date,
            description: desc.into(),
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

    fn merge(entries: &[HolidayEntry]) -> (Calendar, Vec<CalendarDifference>) {
        let cal = Calendar::bundled(Exchange::Nse);
        cal.merged_with(&BrokerDays::from_entries(
            entries,
            Exchange::Nse,
            cal.regular(),
        ))
    }

    #[test]
    fn broker_wins_on_its_dates_and_confirms_its_years() {
        let (merged, diffs) = merge(&[
            entry(
                date!(2027 - 01 - 26),
                "Republic Day",
                "TRADING_HOLIDAY",
                &["NSE", "BSE"],
                &[],
            ),
            entry(
                date!(2027 - 03 - 23),
                "Holi",
                "TRADING_HOLIDAY",
                &["NSE"],
                &[],
            ),
        ]);
        assert_eq!(merged.coverage(2027), Coverage::Confirmed);
        assert_eq!(merged.holiday_name(date!(2027 - 03 - 23)), Some("Holi"));
        // The provisional Holi of 22 March, Good Friday and the others are dropped.
        assert!(merged.is_trading_day(date!(2027 - 03 - 22)));
        assert!(merged.is_trading_day(date!(2027 - 03 - 26)));
        // Republic Day: same name, no longer provisional: a difference (the provisional mark).
        let by_date: Vec<_> = diffs.iter().map(|d| d.date).collect();
        assert!(by_date.contains(&date!(2027 - 01 - 26)));
        assert!(by_date.contains(&date!(2027 - 03 - 22)));
        assert!(by_date.contains(&date!(2027 - 03 - 23)));
        let holi = diffs
            .iter()
            .find(|d| d.date == date!(2027 - 03 - 22))
            .unwrap();
        assert_eq!(holi.before, "holiday \"Holi\" (provisional)");
        assert_eq!(holi.broker, "trading day");
    }

    #[test]
    fn confirmed_entries_the_broker_does_not_mention_are_kept() {
        let (merged, diffs) = merge(&[entry(
            date!(2026 - 12 - 25),
            "Christmas",
            "TRADING_HOLIDAY",
            &["NSE"],
            &[],
        )]);
        assert_eq!(
            merged.holiday_name(date!(2026 - 01 - 26)),
            Some("Republic Day")
        );
        assert!(diffs.is_empty(), "{diffs:?}");
    }

    #[test]
    fn a_broker_session_replaces_a_bundled_holiday_and_is_logged() {
        let (merged, diffs) = merge(&[entry(
            date!(2026 - 11 - 08),
            "Diwali Laxmi Pujan",
            "TRADING_HOLIDAY",
            &[],
            &[("NSE", time!(18:00), time!(19:00))],
        )]);
        let s = merged.session(date!(2026 - 11 - 08)).unwrap();
        assert_eq!(
            (s.times.pre_open, s.times.open, s.times.close),
            (time!(17:45), time!(18:00), time!(19:00))
        );
        assert_eq!(diffs.len(), 1);
        assert_eq!(
            diffs[0].to_string(),
            "2026-11-08: calendar: holiday \"Diwali Laxmi Pujan\"; broker: special session \"Diwali Laxmi Pujan\" (pre-open 17:45 open 18:00-19:00)"
        );
    }

    #[test]
    fn an_empty_list_changes_nothing() {
        let (merged, diffs) = merge(&[]);
        assert!(diffs.is_empty());
        assert_eq!(merged.coverage(2027), Coverage::Provisional);
    }
}
