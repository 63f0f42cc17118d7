//! `--demo`: the recorded day (2026-01-29) replayed under its own date, and how the server says
//! so: the start-up lines, the line at the end of the day, the universe of exactly the recorded
//! stocks and the derived indices, and the previous session's closes shown before the open.

use market_feed::{
    clock::{IST, MarketClock, TimeSource, ist_date},
    hub::{Hub, SnapshotMeta, Source},
    model::Topic,
    source::replay::{DEMO_PHASE_SECONDS, DemoDay},
    universe::Universe,
};
use time::{OffsetDateTime, macros::format_description};

/// `HH:MM IST` of an instant.
fn hm(t: OffsetDateTime) -> String {
    t.to_offset(IST)
        .format(format_description!("[hour]:[minute]"))
        .unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM:SS IST` of an instant.
///
/// ```
/// use market_feed_server::demo::ist_stamp;
/// assert_eq!(ist_stamp(time::macros::datetime!(2026-01-29 03:26 UTC)), "2026-01-29 08:56:00 IST");
/// ```
pub fn ist_stamp(t: OffsetDateTime) -> String {
    t.to_offset(IST)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] IST"
        ))
        .unwrap_or_default()
}

/// The market clock in plain words, in IST, for the start-up line.
///
/// ```
/// use market_feed::clock::TimeSource;
/// use market_feed_server::demo::clock_words;
/// assert_eq!(clock_words(&TimeSource::System), "the system clock");
/// let at = TimeSource::scaled(time::macros::datetime!(2026-01-29 03:42 UTC), 60.0);
/// assert!(clock_words(&at).starts_with("started at 2026-01-29 09:12:00 IST, running 60x"));
/// ```
pub fn clock_words(time: &TimeSource) -> String {
    match time {
        TimeSource::System => "the system clock".to_owned(),
        TimeSource::Manual(m) => format!("a manual clock at {}", ist_stamp(m.now())),
        TimeSource::Scaled { start, speed, .. } => {
            format!(
                "started at {}, running {speed}x real time",
                ist_stamp(*start)
            )
        }
        TimeSource::Scheduled { schedule, .. } => format!(
            "a schedule from {} to {} ({} s of real time), then stopped",
            ist_stamp(schedule.start()),
            hm(schedule.end()),
            schedule.real_length().as_secs()
        ),
    }
}

/// The demo's universe: exactly the recorded stocks of `base` and the derived indices.
///
/// # Errors
/// The bundled recording or membership list cannot be read (a build defect).
pub fn universe(base: &Universe) -> Result<Universe, String> {
    Ok(DemoDay::bundled()?.universe(base))
}

/// Logs what the demo plays and shows the previous session's closes until the day opens
/// (they are the recording's own previous closes, shown, not stored).
///
/// # Errors
/// The bundled recording or membership list cannot be read (a build defect).
pub fn announce_and_seed(
    clock: &MarketClock,
    universe: &Universe,
    hub: &Hub,
) -> Result<(), String> {
    let demo = DemoDay::bundled()?;
    let day = demo.day();
    let minutes = DEMO_PHASE_SECONDS.iter().sum::<f64>() / 60.0;
    tracing::info!(
        replay = %day,
        "demo: a replay of {} ({}) — {} NSE stocks as recorded in 15-minute bars, {} indices derived from their members (membership as of {}); closed → pre-open 09:00 → open 09:15 → close 15:30 → post-close to 16:00 → closed, in about {minutes:.1} minutes, then the clock stops",
        day,
        day.weekday(),
        universe.prices().len(),
        universe.indices().len(),
        demo.members().as_of,
    );
    if clock.status().phase.as_str() == "closed" && ist_date(clock.now()) == day {
        let (indices, stocks, as_of) = demo.previous_closes(universe);
        let previous = demo.previous_day();
        for (topic, quotes) in [(Topic::Indices, indices), (Topic::Prices, stocks)] {
            if hub.meta(topic).as_of.is_none() {
                hub.load(
                    topic,
                    quotes,
                    SnapshotMeta::new(Source::Close, previous, as_of),
                );
            }
        }
    }
    Ok(())
}

/// Waits until the demo clock has stopped, then says that the replay is over. Returns at once
/// for any other clock.
pub async fn end_of_replay(clock: MarketClock) {
    let TimeSource::Scheduled { schedule, .. } = clock.time_source() else {
        return;
    };
    let end = schedule.end();
    let day = ist_date(end);
    clock.sleep_until(end).await;
    tracing::info!(
        replay = %day,
        "demo: the replay of {day} is over; the clock stays at {} and the server keeps serving the day's closing prices; restart with --demo to play it again",
        hm(end)
    );
}

/// The shared form of [`end_of_replay`]'s clock, for spawning.
pub fn spawn_end_of_replay(clock: &MarketClock) -> Option<tokio::task::JoinHandle<()>> {
    matches!(clock.time_source(), TimeSource::Scheduled { .. })
        .then(|| tokio::spawn(end_of_replay(clock.clone())))
}
