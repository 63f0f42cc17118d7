//! Running the jobs through one service window: refresh ticks, overruns, health, checkpoints.

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError, atomic::Ordering::Relaxed},
    time::Instant,
};

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::{Ctx, Health, Job, status::publish_status, tick::next_tick};
use crate::{
    clock::ServiceWindow,
    hub::Source,
    source::{Fetched, SourceError},
    universe::Instrument,
};

/// A job and its health.
#[derive(Debug)]
pub(super) struct JobState {
    pub(super) job: Job,
    health: Mutex<Health>,
    /// The instruments refreshed now: the job's, until a new universe replaces them.
    instruments: Mutex<Arc<[Instrument]>>,
    /// The last tick this job has dealt with (refreshed and published, or skipped), so a job
    /// with a larger batch due at the same instant can let it go first.
    passed: tokio::sync::watch::Sender<OffsetDateTime>,
}

impl JobState {
    pub(super) fn new(job: Job) -> Self {
        let health = Mutex::new(Health::new(job.topic, job.interval));
        let instruments = Mutex::new(job.instruments.clone());
        Self {
            job,
            health,
            instruments,
            passed: tokio::sync::watch::Sender::new(OffsetDateTime::UNIX_EPOCH),
        }
    }

    /// Records that the job is done with `tick`.
    fn pass(&self, tick: OffsetDateTime) {
        self.passed.send_replace(tick);
    }

    /// The instruments the job refreshes now.
    pub(super) fn instruments(&self) -> Arc<[Instrument]> {
        self.instruments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the instruments (a new universe, at the start of a session).
    pub(super) fn set_instruments(&self, instruments: Arc<[Instrument]>) {
        *self
            .instruments
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = instruments;
    }

    pub(super) fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The outcome of one fetch, after publishing what it brought.
pub(super) enum Outcome {
    /// Every request succeeded.
    Ok(Fetched),
    /// Some or all requests failed; the quotes obtained (if any) were published.
    Failed(String),
    /// The source refused the credentials.
    Unauthorized,
}

/// Fetches one job's instruments, publishes the quotes and updates the counters (not the
/// health: the caller decides what a failure means at that moment).
pub(super) async fn refresh(ctx: &Ctx, state: &JobState, grace: &CancellationToken) -> Outcome {
    let job = &state.job;
    let stats = ctx.stats.topic(job.topic);
    stats.fetches.fetch_add(1, Relaxed);
    let started = Instant::now();
    let instruments = state.instruments();
    let fetch = job.source.fetch(&instruments);
    tokio::pin!(fetch);
    // On shutdown the in-flight fetch gets a grace period, then is dropped (cancelled).
    let result = tokio::select! {
        r = &mut fetch => Some(r),
        () = grace.cancelled() => tokio::time::timeout(ctx.settings.shutdown_grace, &mut fetch).await.ok(),
    };
    stats.duration.observe(started.elapsed());
    let result = match result {
        Some(r) => r,
        None => {
            stats.failures.fetch_add(1, Relaxed);
            return Outcome::Failed("cancelled by shutdown".into());
        }
    };
    match result {
        Ok(fetched) => {
            if !fetched.quotes.is_empty() {
                stats.quotes.fetch_add(fetched.quotes.len() as u64, Relaxed);
                if let Err(e) = ctx.hub.publish(job.topic, fetched.quotes.clone()) {
                    tracing::error!(topic = %job.topic, error = %e, "cannot publish a batch");
                }
            }
            if fetched.has_failures() {
                stats.failures.fetch_add(1, Relaxed);
                let why = fetched
                    .errors
                    .first()
                    .map_or_else(String::new, |e| crate::Report::new(e).to_string());
                Outcome::Failed(why)
            } else {
                Outcome::Ok(fetched)
            }
        }
        Err(SourceError::Unauthorized(_)) => {
            stats.failures.fetch_add(1, Relaxed);
            stats.unauthorized.fetch_add(1, Relaxed);
            Outcome::Unauthorized
        }
        Err(e) => {
            stats.failures.fetch_add(1, Relaxed);
            Outcome::Failed(crate::Report::new(&e).to_string())
        }
    }
}

/// Runs every job, and the checkpoints, from the window's start to its end (or shutdown).
pub(super) async fn run_window(ctx: &Ctx, window: ServiceWindow, shutdown: &CancellationToken) {
    tracing::info!(trading_day = %window.trading_day, "service window open: fetching prices");
    super::universe::apply_staged(ctx);
    ctx.hub.set_trading_day(window.trading_day);
    for state in &ctx.jobs {
        state.health().window_started(window.start);
    }
    let jobs = ctx
        .jobs
        .iter()
        .map(|state| job_loop(ctx, state, window, shutdown));
    tokio::join!(
        futures::future::join_all(jobs),
        checkpoint_loop(ctx, window, shutdown),
        super::stream::run(ctx, window, shutdown)
    );
    // The last ticks end before the window does: wait for its end, so the daily loop moves on
    // to the next event instead of entering the same window again.
    ctx.sleep_until(window.end, shutdown).await;
    for state in &ctx.jobs {
        let change = state.health().window_ended();
        publish_status(ctx, change);
    }
    tracing::info!(trading_day = %window.trading_day, "service window closed: no more source calls until the end-of-day snapshot");
}

async fn job_loop(
    ctx: &Ctx,
    state: &JobState,
    window: ServiceWindow,
    shutdown: &CancellationToken,
) {
    let job = &state.job;
    // The first refresh at the window's start, or at once when starting inside the window
    // (a restart at 12:00 refreshes at 12:00); later ones on the window's grid.
    let mut tick = window.start.max(ctx.clock.now());
    while tick < window.end {
        if !ctx.sleep_until(tick, shutdown).await {
            return;
        }
        if ctx.poll_paused(job.topic) {
            // The stream carries this topic now: no poll until it is down.
            state.pass(tick);
            tick = next_tick(window.start, job.interval, tick, ctx.clock.now());
            continue;
        }
        if state.health().state() == crate::hub::FeedState::Unauthorized
            && !job.source.credentials_usable().await
        {
            // No call on a refused token: look again at the next check, within the window.
            let check = ctx.settings.credential_check.min(job.interval);
            state.pass(tick);
            tick = next_tick(window.start, check, tick, ctx.clock.now());
            continue;
        }
        small_batches_first(ctx, state, window, tick).await;
        let began = ctx.clock.now();
        let outcome = refresh(ctx, state, shutdown).await;
        state.pass(tick);
        let ended = ctx.clock.now();
        let change = {
            let mut h = state.health();
            match &outcome {
                Outcome::Ok(_) => h.succeeded(ended),
                Outcome::Failed(why) => h.failed(ended, why),
                Outcome::Unauthorized => h.unauthorized(ended),
            }
        };
        publish_status(ctx, change);
        if ended - began > job.interval {
            ctx.stats.topic(job.topic).overruns.fetch_add(1, Relaxed);
            tracing::warn!(topic = %job.topic, took = %(ended - began), interval = %job.interval, "a refresh overran its interval; the next starts on the next tick");
        }
        tick = next_tick(window.start, job.interval, tick, ended);
    }
}

/// The longest a job waits for smaller jobs due at the same tick.
const SMALL_FIRST_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits, at most [`SMALL_FIRST_WAIT`] in all, until every job with fewer instruments that is
/// due at the same `tick` (same window grid) has dealt with it, and its batch has been taken
/// by every subscriber ([`Hub::fanned_out`](crate::hub::Hub::fanned_out)). So when the
/// indices and the prices fall due together, the small index update is published first and
/// goes on the wire on every connection ahead of the 400 KB prices batch, instead of waiting
/// behind it.
async fn small_batches_first(
    ctx: &Ctx,
    state: &JobState,
    window: ServiceWindow,
    tick: OffsetDateTime,
) {
    let size = state.instruments().len();
    let deadline = tokio::time::Instant::now() + SMALL_FIRST_WAIT;
    for other in &ctx.jobs {
        let step = other.job.interval.whole_nanoseconds().max(1);
        let on_grid = (tick - window.start).whole_nanoseconds().rem_euclid(step) == 0;
        if std::ptr::eq(other, state) || other.instruments().len() >= size || !on_grid {
            continue;
        }
        let mut passed = other.passed.subscribe();
        let dealt = passed.wait_for(|p| *p >= tick);
        if tokio::time::timeout_at(deadline, dealt).await.is_ok() {
            // Published: now let every connection take it before the larger batch exists.
            let fanned_out = ctx.hub.fanned_out(other.job.topic);
            let _ = tokio::time::timeout_at(deadline, fanned_out).await;
        }
    }
}

async fn checkpoint_loop(ctx: &Ctx, window: ServiceWindow, shutdown: &CancellationToken) {
    let every = ctx.settings.checkpoint_interval;
    let mut at = window.start + every;
    while at < window.end {
        if !ctx.sleep_until(at, shutdown).await {
            return;
        }
        checkpoint(ctx, window).await;
        at += every;
    }
}

/// Saves the live values of every topic as the checkpoint of the window's trading day.
async fn checkpoint(ctx: &Ctx, window: ServiceWindow) {
    for topic in ctx.topics() {
        let view = ctx.hub.view(topic);
        if view.meta.source != Source::Live || view.data.is_empty() {
            continue;
        }
        match ctx
            .store
            .save_checkpoint(topic, window.trading_day, &view.data)
            .await
        {
            Ok(()) => {
                ctx.stats.checkpoints.fetch_add(1, Relaxed);
            }
            Err(e) => {
                ctx.stats.checkpoint_failures.fetch_add(1, Relaxed);
                tracing::warn!(%topic, error = %crate::Report::new(&e), "cannot save a checkpoint; the next one will try again");
            }
        }
    }
}
