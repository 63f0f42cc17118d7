//! The end-of-day snapshot: one final refresh of every job after the close, saved through the
//! store for that trading day, retried with backoff until stored (`docs/feed.md`).
//!
//! It is the only source call allowed outside the service window, and it happens at most once
//! per trading day and topic: a topic whose close for the day is already stored is skipped.
//! When the process was down at the due time, the daily loop finds the snapshot missing at
//! start-up and takes it then.

use std::sync::atomic::Ordering::Relaxed;

use time::Date;
use tokio_util::sync::CancellationToken;

use super::{
    Ctx,
    job::{Outcome, refresh},
    status::publish_status,
};
use crate::{
    hub::{FeedState, SnapshotMeta, Source},
    model::Quote,
};

/// Takes (or confirms) the end-of-day snapshot of `day` for every job. Returns true once every
/// topic's close for `day` is stored, false if shut down first.
pub(super) async fn take(ctx: &Ctx, day: Date, shutdown: &CancellationToken) -> bool {
    let mut backoff = ctx.settings.eod_retry_initial;
    loop {
        match attempt(ctx, day, shutdown).await {
            Ok(()) => return true,
            Err(why) => {
                ctx.stats.eod_failures.fetch_add(1, Relaxed);
                tracing::warn!(%day, error = %why, retry_in = %backoff, "end-of-day snapshot not stored yet; retrying");
            }
        }
        let at = ctx.clock.now() + backoff;
        if !ctx.sleep_until(at, shutdown).await {
            return false;
        }
        backoff = (backoff * 2_i32).min(ctx.settings.eod_retry_max);
    }
}

/// Whether the end-of-day snapshot of `session` is due at `now` and can still be taken: after
/// close + delay, and before the next session's service window opens (a refresh then would
/// give the next session's prices, not that day's close).
pub(super) fn due_and_current(
    ctx: &Ctx,
    session: &crate::clock::Session,
    now: time::OffsetDateTime,
) -> bool {
    let due = session.close() + ctx.settings.eod_delay;
    let next_window = ctx.clock.window_at_or_after(session.close()).start;
    due <= now && now < next_window
}

/// Whether every job's close for `day` is stored (a store error counts as not stored).
pub(super) async fn stored(ctx: &Ctx, day: Date) -> bool {
    for state in &ctx.jobs {
        if !matches!(
            ctx.store.load_close(state.job.topic, day).await,
            Ok(Some(_))
        ) {
            return false;
        }
    }
    true
}

/// One attempt over every job whose close for `day` is not stored yet.
async fn attempt(ctx: &Ctx, day: Date, shutdown: &CancellationToken) -> Result<(), String> {
    let mut failures = Vec::new();
    for state in &ctx.jobs {
        let topic = state.job.topic;
        match ctx.store.load_close(topic, day).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => {
                failures.push(format!(
                    "{topic}: cannot read the store: {}",
                    crate::Report::new(&e)
                ));
                continue;
            }
        }
        if state.health().state() == FeedState::Unauthorized
            && !state.job.source.credentials_usable().await
        {
            failures.push(format!("{topic}: waiting for a new access token"));
            continue;
        }
        tracing::info!(%topic, %day, "taking the end-of-day snapshot");
        let fetched = match refresh(ctx, state, shutdown).await {
            Outcome::Ok(fetched) => {
                publish_status(ctx, state.health().succeeded(ctx.clock.now()));
                fetched
            }
            Outcome::Failed(why) => {
                // A partial answer is not a complete close: retry the whole refresh.
                failures.push(format!("{topic}: {why}"));
                continue;
            }
            Outcome::Unauthorized => {
                publish_status(ctx, state.health().unauthorized(ctx.clock.now()));
                failures.push(format!("{topic}: the access token was refused"));
                continue;
            }
        };
        let quotes = closing_quotes(ctx, topic, day, fetched.quotes);
        match ctx.store.save_close(topic, day, &quotes).await {
            Ok(()) => {
                // From now on, until the next session, clients see these as that day's closes.
                let as_of = quotes.iter().map(|q| q.ts).max().unwrap_or_default();
                ctx.hub
                    .load(topic, quotes, SnapshotMeta::new(Source::Close, day, as_of));
                ctx.stats.eod_stored.fetch_add(1, Relaxed);
                ctx.stats.eod_last_day.store(day_number(day), Relaxed);
                tracing::info!(%topic, %day, "end-of-day snapshot stored");
            }
            Err(e) => failures.push(format!("{topic}: cannot save: {}", crate::Report::new(&e))),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The quotes to store as `day`'s close: the final refresh, plus the latest live values of
/// instruments it did not answer, if they were observed on or after that session's pre-open
/// (never an older day's value under a newer date).
fn closing_quotes(
    ctx: &Ctx,
    topic: crate::model::Topic,
    day: Date,
    fresh: Vec<Quote>,
) -> Vec<Quote> {
    let since = ctx
        .clock
        .session(day)
        .map_or(i64::MAX, |s| crate::clock::to_ms(s.pre_open()));
    let answered: std::collections::HashSet<_> = fresh.iter().map(|q| q.key.clone()).collect();
    let mut quotes = fresh;
    quotes.extend(
        ctx.hub
            .view(topic)
            .data
            .into_iter()
            .filter(|q| q.ts >= since && !answered.contains(&q.key)),
    );
    quotes
}

/// `YYYYMMDD` as a number, for a gauge.
fn day_number(d: Date) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(u8::from(d.month())) * 100 + i64::from(d.day())
}

/// On shutdown: if the last session's end-of-day snapshot is due and not stored, store it now
/// (one bounded attempt; the next start-up catches up otherwise).
pub(super) async fn on_shutdown(ctx: &Ctx) {
    let now = ctx.clock.now();
    let Some(session) = ctx.clock.last_closed_session_at(now) else {
        return;
    };
    if !due_and_current(ctx, &session, now)
        || ctx
            .settings
            .first_day
            .is_some_and(|first| session.date < first)
    {
        return;
    }
    // A fresh token: the refresh gets the usual shutdown grace only if it is cancelled, so
    // bound the whole attempt here.
    let never = CancellationToken::new();
    let bound = ctx.settings.shutdown_grace * 2;
    match tokio::time::timeout(bound, attempt(ctx, session.date, &never)).await {
        Ok(Ok(())) => {}
        Ok(Err(why)) => {
            tracing::error!(day = %session.date, error = %why, "end-of-day snapshot not stored at shutdown; it will be taken at the next start")
        }
        Err(_) => {
            tracing::error!(day = %session.date, "end-of-day snapshot timed out at shutdown; it will be taken at the next start")
        }
    }
}
