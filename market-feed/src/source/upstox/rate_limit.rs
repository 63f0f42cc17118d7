//! [`RateLimiter`]: a client-side limiter over several sliding windows at once (Upstox counts
//! per second, per minute and per 30 minutes).

use std::{collections::VecDeque, sync::Mutex, time::Duration};

use tokio::time::Instant;

/// Upstox's published limits for standard APIs are 50/s, 500/min and 2,000/30 min per user.
/// The client keeps 10 % below each, so a slightly different window alignment on the server
/// never trips them.
///
/// ```
/// use market_feed::source::upstox::UPSTOX_LIMITS;
/// assert_eq!(UPSTOX_LIMITS[0], (45, std::time::Duration::from_secs(1)));
/// ```
pub const UPSTOX_LIMITS: [(usize, Duration); 3] = [
    (45, Duration::from_secs(1)),
    (450, Duration::from_secs(60)),
    (1_800, Duration::from_secs(30 * 60)),
];

#[derive(Debug)]
struct Window {
    limit: usize,
    period: Duration,
    /// The instants of the last `limit` grants, oldest first.
    grants: VecDeque<Instant>,
}

/// Grants at most `limit` permits in any sliding `period`, for each of its windows.
///
/// Share one per Upstox account (the limits are per user): every clone of an
/// [`UpstoxSource`](super::UpstoxSource) shares its limiter, and
/// [`UpstoxSource::with_rate_limiter`](super::UpstoxSource::with_rate_limiter) shares one
/// between separately built sources. Built on tokio's clock, so it is testable with paused time.
///
/// ```
/// use std::time::Duration;
/// use market_feed::source::upstox::RateLimiter;
///
/// let limiter = RateLimiter::new(&[(2, Duration::from_secs(1))]);
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let start = tokio::time::Instant::now();
/// for _ in 0..3 {
///     limiter.acquire().await;
/// }
/// // The third permit waited for the first to leave the one-second window.
/// assert_eq!(start.elapsed(), Duration::from_secs(1));
/// # });
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    windows: Mutex<Vec<Window>>,
}

impl RateLimiter {
    /// A limiter with the given `(limit, period)` windows. Windows with a zero limit are
    /// treated as a limit of one.
    ///
    /// ```
    /// # use market_feed::source::upstox::RateLimiter;
    /// let _ = RateLimiter::new(&[(10, std::time::Duration::from_secs(1))]);
    /// ```
    pub fn new(limits: &[(usize, Duration)]) -> Self {
        let windows = limits
            .iter()
            .map(|&(limit, period)| Window {
                limit: limit.max(1),
                period,
                grants: VecDeque::with_capacity(limit.clamp(1, 4096)),
            })
            .collect();
        Self {
            windows: Mutex::new(windows),
        }
    }

    /// The limiter for Upstox's standard APIs ([`UPSTOX_LIMITS`]).
    ///
    /// ```
    /// # use market_feed::source::upstox::RateLimiter;
    /// assert!(RateLimiter::upstox().try_acquire().is_ok());
    /// ```
    pub fn upstox() -> Self {
        Self::new(&UPSTOX_LIMITS)
    }

    /// Takes a permit now if every window allows it; otherwise says how long to wait.
    ///
    /// ```
    /// # use market_feed::source::upstox::RateLimiter;
    /// # use std::time::Duration;
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// let l = RateLimiter::new(&[(1, Duration::from_secs(60))]);
    /// assert!(l.try_acquire().is_ok());
    /// assert_eq!(l.try_acquire(), Err(Duration::from_secs(60)));
    /// # });
    /// ```
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        for w in windows.iter_mut() {
            while w.grants.len() > w.limit {
                w.grants.pop_front();
            }
            if w.grants.len() == w.limit {
                if let Some(&oldest) = w.grants.front() {
                    let free_at = oldest + w.period;
                    if free_at > now {
                        wait = wait.max(free_at - now);
                    }
                }
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        for w in windows.iter_mut() {
            if w.grants.len() == w.limit {
                w.grants.pop_front();
            }
            w.grants.push_back(now);
        }
        Ok(())
    }

    /// Waits until a permit is free, then takes it.
    ///
    /// ```
    /// # use market_feed::source::upstox::RateLimiter;
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// RateLimiter::upstox().acquire().await;
    /// # });
    /// ```
    pub async fn acquire(&self) {
        while let Err(wait) = self.try_acquire() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits for a permit unless that would take until `deadline`; returns whether a permit
    /// was taken.
    ///
    /// ```
    /// # use market_feed::source::upstox::RateLimiter;
    /// # use std::time::Duration;
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// let l = RateLimiter::new(&[(1, Duration::from_secs(60))]);
    /// let soon = tokio::time::Instant::now() + Duration::from_secs(5);
    /// assert!(l.acquire_before(soon).await);
    /// assert!(!l.acquire_before(soon).await);
    /// # });
    /// ```
    pub async fn acquire_before(&self, deadline: Instant) -> bool {
        loop {
            match self.try_acquire() {
                Ok(()) => return true,
                Err(wait) if Instant::now() + wait >= deadline => return false,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Counts the grants in every sliding window of `period` over a list of grant instants.
    fn max_in_window(grants: &[Instant], period: Duration) -> usize {
        grants
            .iter()
            .map(|&t| grants.iter().filter(|&&u| u >= t && u < t + period).count())
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn upstox_limits_hold_under_load_from_many_tasks() {
        let limiter = Arc::new(RateLimiter::upstox());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let l = limiter.clone();
            tasks.push(tokio::spawn(async move {
                let mut at = Vec::new();
                for _ in 0..300 {
                    l.acquire().await;
                    at.push(Instant::now());
                }
                at
            }));
        }
        let mut grants = Vec::new();
        for t in tasks {
            grants.extend(t.await.unwrap());
        }
        grants.sort();
        assert_eq!(grants.len(), 2_400);
        assert!(max_in_window(&grants, Duration::from_secs(1)) <= 45);
        assert!(max_in_window(&grants, Duration::from_secs(60)) <= 450);
        assert!(max_in_window(&grants, Duration::from_secs(1800)) <= 1_800);
        // 2,400 permits need the 30-minute window to roll over once: 1,800 in the first
        // 30 minutes (450 per minute → 4 minutes), the rest after it.
        let last = *grants.last().unwrap() - start;
        assert!(last >= Duration::from_secs(1800), "{last:?}");
        assert!(last < Duration::from_secs(1800 + 120), "{last:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn first_burst_is_immediate_then_paced() {
        let limiter = RateLimiter::upstox();
        let start = Instant::now();
        for _ in 0..45 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
