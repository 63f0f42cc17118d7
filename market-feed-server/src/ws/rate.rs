//! Flood control for client messages (`docs/protocol.md` §3: more than 20 messages per second,
//! sustained, gets `rate_limited`; continued abuse closes the connection with 1008).
//!
//! Every client frame counts as one message here: text and binary messages, each fragment of a
//! fragmented message, pings and pongs, so neither a control-frame flood nor a stream of empty
//! fragments gets past it.
//!
//! A token bucket of [`RATE`] tokens per second with a burst of [`RATE`]. A message that finds
//! the bucket empty is not processed: the first such message after a quiet spell earns one
//! `rate_limited` error, later ones are dropped silently (answering every flood message would
//! amplify the flood), and after [`ABUSE_LIMIT`] dropped messages without a pause the
//! connection is closed. Pure: the caller passes the instant, so tests need no clock.

use std::time::{Duration, Instant};

/// Messages per second a client may send, sustained (and the burst allowance).
pub const RATE: f64 = 20.0;
/// Dropped messages, without the bucket refilling in between, before the connection is closed.
pub const ABUSE_LIMIT: u32 = 100;

/// What to do with one client message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Process it.
    Accept,
    /// Drop it and send one `rate_limited` error.
    Warn,
    /// Drop it silently.
    Drop,
    /// Close the connection with 1008.
    Close,
}

/// The per-connection limiter.
///
/// ```
/// use market_feed_server::ws::rate::{Limiter, Verdict};
/// use std::time::Instant;
/// let mut l = Limiter::new(Instant::now());
/// let now = Instant::now();
/// let verdicts: Vec<_> = (0..22).map(|_| l.check(now)).collect();
/// assert_eq!(verdicts[19], Verdict::Accept);
/// assert_eq!(verdicts[20], Verdict::Warn);
/// assert_eq!(verdicts[21], Verdict::Drop);
/// ```
#[derive(Debug, Clone)]
pub struct Limiter {
    tokens: f64,
    last: Instant,
    dropped: u32,
}

impl Limiter {
    /// A full bucket at `now`.
    ///
    /// ```
    /// # use market_feed_server::ws::rate::Limiter;
    /// let _ = Limiter::new(std::time::Instant::now());
    /// ```
    pub fn new(now: Instant) -> Self {
        Self {
            tokens: RATE,
            last: now,
            dropped: 0,
        }
    }

    /// Judges a message arriving at `now`.
    ///
    /// ```
    /// # use market_feed_server::ws::rate::{Limiter, Verdict};
    /// # use std::time::{Duration, Instant};
    /// let t = Instant::now();
    /// let mut l = Limiter::new(t);
    /// assert_eq!(l.check(t + Duration::from_secs(1)), Verdict::Accept);
    /// ```
    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * RATE).min(RATE);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            if self.tokens >= RATE - 1.0 {
                // A full bucket again: the flood is over.
                self.dropped = 0;
            }
            return Verdict::Accept;
        }
        self.dropped += 1;
        match self.dropped {
            1 => Verdict::Warn,
            n if n >= ABUSE_LIMIT => Verdict::Close,
            _ => Verdict::Drop,
        }
    }
}

/// How long a client must pause for its flood record to clear.
pub const COOL_DOWN: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sustained_twenty_per_second_is_fine() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        for i in 0..200u32 {
            let t = t0 + Duration::from_millis(50 * u64::from(i));
            assert_eq!(l.check(t), Verdict::Accept, "message {i}");
        }
    }

    #[test]
    fn a_thousand_in_a_second_warns_once_then_closes() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        let verdicts: Vec<Verdict> = (0..1000u64)
            .map(|i| l.check(t0 + Duration::from_micros(i * 1000)))
            .collect();
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Warn).count(), 1);
        assert!(verdicts.contains(&Verdict::Close));
        let first_close = verdicts.iter().position(|v| *v == Verdict::Close).unwrap();
        assert!(first_close < 200, "closed after {first_close} messages");
    }

    #[test]
    fn a_pause_clears_the_record() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        for _ in 0..60 {
            l.check(t0);
        }
        let later = t0 + COOL_DOWN + Duration::from_millis(10);
        assert_eq!(l.check(later), Verdict::Accept);
        for _ in 0..19 {
            l.check(later);
        }
        assert_eq!(l.check(later), Verdict::Warn, "a new flood is warned again");
    }
}
