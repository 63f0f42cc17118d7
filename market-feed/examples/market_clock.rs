//! "Is the market open, and when does it next open?", answered with `MarketClock` alone.
//!
//! It prints the time now in IST, the market phase, whether a feed would be live (polling
//! its sources), why the market is closed, the next phase change in words ("Opens Monday
//! 09:15 IST"), the next trading day and today's service window. Nothing here touches the
//! network: the answers come from the calendar and the clock.
//!
//! You can run this with:
//!
//! ```text
//! cargo run -p market-feed --example market_clock
//! cargo run -p market-feed --example market_clock -- --at 2026-01-23T16:30:00+05:30
//! cargo run -p market-feed --example market_clock -- --calendar my-calendar.toml
//! ```
//!
//! `--at <RFC3339>` asks about any instant instead of now; `--calendar PATH` uses a calendar
//! file (TOML, the format of `market-feed/data/calendar.toml`; `extends = "bundled"` adds to
//! the bundled NSE calendar) instead of the bundled one.

use std::{error::Error, path::PathBuf, process::ExitCode, sync::Arc};

use market_feed::clock::{
    Calendar, DayKind, Exchange, IST, MarketClock, Phase, SessionKind, TimeSource, format_date,
    ist_date,
};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

const USAGE: &str = "usage: market_clock [--at <RFC3339>] [--calendar PATH]

  --at <RFC3339>     answer for this instant instead of now (e.g. 2026-01-23T16:30:00+05:30)
  --calendar PATH    use this calendar file instead of the bundled NSE calendar";

/// The command line.
#[derive(Debug, Default)]
struct Options {
    at: Option<OffsetDateTime>,
    calendar: Option<PathBuf>,
}

impl Options {
    /// Parses the arguments after the program name; `Ok(None)` means `--help`.
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Self>, String> {
        let mut opts = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match name.as_str() {
                "--at" => {
                    let text = value()?;
                    let at = OffsetDateTime::parse(&text, &Rfc3339).map_err(|e| {
                        format!("--at {text:?}: {e}: give an RFC 3339 instant such as 2026-01-29T09:12:00+05:30")
                    })?;
                    opts.at = Some(at);
                }
                "--calendar" => opts.calendar = Some(PathBuf::from(value()?)),
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(Some(opts))
    }
}

fn main() -> ExitCode {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<(), Box<dyn Error>> {
    let calendar = match &opts.calendar {
        Some(path) => Calendar::from_path(path, Exchange::Nse)?,
        None => Calendar::bundled(Exchange::Nse),
    };
    let time = match opts.at {
        // A manual clock that stands still at the instant asked about.
        Some(at) => TimeSource::manual(at).0,
        None => TimeSource::System,
    };
    let clock = MarketClock::new(Arc::new(calendar), time);
    print!("{}", report(&clock));
    Ok(())
}

/// The whole answer, one fact a line.
fn report(clock: &MarketClock) -> String {
    let now = clock.now();
    let today = ist_date(now);
    let status = clock.status_at(now);
    let next = clock.next_transition_at(now);
    let mut lines = vec![
        ("Now", format!("{} IST", stamp(now))),
        ("Exchange", status.exchange.to_string()),
        (
            "Phase",
            format!("{} ({})", status.phase, phase_words(status.phase)),
        ),
        (
            "Live",
            if status.live {
                "yes: inside the service window, a feed polls its sources".to_owned()
            } else {
                "no: outside the service window, a feed makes no source calls".to_owned()
            },
        ),
        (
            "Reason",
            status.reason.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        (
            "Next change",
            format!(
                "{} {} (in {})",
                transition_words(next.phase),
                when(now, next.at),
                duration_words(next.at - now)
            ),
        ),
    ];
    if status.phase != Phase::Open {
        if let Some(open) = next_open(clock, now) {
            lines.push((
                "Next open",
                format!(
                    "Opens {} (in {})",
                    when(now, open),
                    duration_words(open - now)
                ),
            ));
        }
    }
    // The trading day as the server reports it (`trading_day`): today until its session ends
    // (before hours too), else the next one.
    let day = status.trading_day;
    let kind = clock.calendar().session(day).map(|s| s.kind);
    lines.push((
        "Trading day",
        format!(
            "{} {}{}",
            weekday(day),
            format_date(day),
            kind.as_ref().map(special_note).unwrap_or_default()
        ),
    ));
    lines.push(("Today's window", today_window(clock, today)));
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    lines
        .into_iter()
        .map(|(k, v)| format!("{:width$} {v}\n", format!("{k}:")))
        .collect()
}

/// Today's service window, or why there is none.
fn today_window(clock: &MarketClock, today: time::Date) -> String {
    match clock.calendar().day(today) {
        DayKind::Trading(session) => {
            let w = session.service_window(clock.lead());
            format!(
                "{}-{} IST (trading {}-{}){}",
                hhmm(w.start),
                hhmm(w.end),
                hhmm(session.open()),
                hhmm(session.close()),
                special_note(&session.kind)
            )
        }
        DayKind::Weekend => "none (weekend)".to_owned(),
        DayKind::Holiday { name } => format!("none (holiday: {name})"),
    }
}

/// The first instant after `now` at which continuous trading starts.
fn next_open(clock: &MarketClock, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let mut session = clock.calendar().trading_day_on_or_after(ist_date(now));
    // A few steps at most: today's session (if its open is still ahead), else the next one.
    for _ in 0..3 {
        if session.open() > now {
            return Some(session.open());
        }
        session = clock.calendar().next_trading_day(session.date);
    }
    None
}

fn phase_words(phase: Phase) -> &'static str {
    match phase {
        Phase::Closed => "no session is running",
        Phase::PreOpen => "pre-open order collection",
        Phase::Open => "continuous trading",
        Phase::PostClose => "closing session",
    }
}

fn transition_words(to: Phase) -> &'static str {
    match to {
        Phase::PreOpen => "Pre-open starts",
        Phase::Open => "Opens",
        Phase::PostClose => "Trading closes",
        Phase::Closed => "Post-close ends",
    }
}

fn special_note(kind: &SessionKind) -> String {
    match kind {
        SessionKind::Regular => String::new(),
        SessionKind::Special { name, .. } => format!(", special session: {name}"),
    }
}

/// "today 09:15 IST", "tomorrow 09:15 IST", "Monday 09:15 IST", or with the date when it is
/// a week or more away.
fn when(now: OffsetDateTime, at: OffsetDateTime) -> String {
    let (today, day) = (ist_date(now), ist_date(at));
    let days = (day - today).whole_days();
    let which = match days {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        2..=6 => weekday(day).to_owned(),
        _ => format!("{} {}", weekday(day), format_date(day)),
    };
    format!("{which} {} IST", hhmm(at))
}

fn weekday(date: time::Date) -> &'static str {
    use time::Weekday::*;
    match date.weekday() {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}

fn hhmm(t: OffsetDateTime) -> String {
    let t = t.to_offset(IST);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(IST);
    format!(
        "{} {} {:02}:{:02}:{:02}",
        weekday(t.date()),
        format_date(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// "2 d 23 h 15 min", "45 min", "under a minute".
fn duration_words(d: Duration) -> String {
    let minutes = d.whole_minutes();
    if minutes < 1 {
        return "under a minute".to_owned();
    }
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} d"));
    }
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if mins > 0 {
        parts.push(format!("{mins} min"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn line(at: OffsetDateTime, key: &str) -> String {
        let clock = MarketClock::fixed(at);
        report(&clock)
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn the_trading_day_is_the_servers() {
        // Before hours on a trading day the server says today; the example agrees.
        for (at, day) in [
            (datetime!(2026-01-29 07:00 +05:30), date!(2026 - 01 - 29)),
            (datetime!(2026-01-29 12:00 +05:30), date!(2026 - 01 - 29)),
            (datetime!(2026-01-29 17:00 +05:30), date!(2026 - 01 - 30)),
        ] {
            let want = MarketClock::fixed(at).status().trading_day;
            assert_eq!(want, day);
            assert!(
                line(at, "Trading day:").contains(&format_date(day)),
                "{at}: {}",
                line(at, "Trading day:")
            );
        }
    }
}
