//! The leader's lease, seen from this node: when to renew it ([`LeaseTiming`]) and until when
//! this node may still call the broker ([`LeaseGuard`]).
//!
//! The lease itself lives in the bus (a key with a TTL, written with compare-and-set on its
//! revision). Its TTL starts when the bus stores the write, which is after this node sent it,
//! so a deadline counted from the moment the request was *sent* always ends before the bus can
//! let the lease lapse. The guard ends a safety margin earlier still: a leader that could not
//! renew stops calling the broker before any other node can take over.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

/// When a leader renews its lease and how early it stops before it could lapse.
///
/// ```
/// use std::time::Duration;
/// use market_feed::cluster::LeaseTiming;
/// let t = LeaseTiming::new(Duration::from_secs(10));
/// assert_eq!(t.renew_every().as_millis(), 3333);
/// assert_eq!(t.usable(), Duration::from_secs(9));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    lease: Duration,
}

impl LeaseTiming {
    /// Timing for a lease of `lease` (the TTL of the lease key); under 300 ms counts as 300 ms.
    ///
    /// See [`LeaseTiming`] for an example.
    pub fn new(lease: Duration) -> Self {
        Self {
            lease: lease.max(Duration::from_millis(300)),
        }
    }

    /// The lease's TTL.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use market_feed::cluster::LeaseTiming;
    /// assert_eq!(LeaseTiming::new(Duration::ZERO).lease(), Duration::from_millis(300));
    /// ```
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// How often a leader renews: every third of the lease.
    ///
    /// See [`LeaseTiming`] for an example.
    pub fn renew_every(&self) -> Duration {
        self.lease / 3
    }

    /// How often a leader retries a renewal that failed: a tenth of the lease.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use market_feed::cluster::LeaseTiming;
    /// assert_eq!(LeaseTiming::new(Duration::from_secs(2)).retry_every(), Duration::from_millis(200));
    /// ```
    pub fn retry_every(&self) -> Duration {
        self.lease / 10
    }

    /// How long after *sending* a successful write of the lease this node may act as leader:
    /// the lease less a tenth of it (the margin that covers clock-rate differences and the
    /// time to stop the feed).
    ///
    /// See [`LeaseTiming`] for an example.
    pub fn usable(&self) -> Duration {
        self.lease - self.lease / 10
    }
}

/// Whether this node holds the lease now: the deadline after which it must no longer call the
/// broker. Cheap to clone (shared); the price sources of a cluster leader check it before
/// every call ([`LeasedSource`](crate::cluster::LeasedSource)), so a leader that wakes up after being
/// paused past its lease makes no call, whatever task runs first.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use market_feed::cluster::LeaseGuard;
/// use tokio::time::Instant;
/// let guard = LeaseGuard::default();
/// assert!(!guard.holds());
/// guard.hold_until(Instant::now() + Duration::from_secs(9));
/// assert!(guard.holds());
/// tokio::time::sleep(Duration::from_secs(9)).await;
/// assert!(!guard.holds());
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct LeaseGuard {
    until: Arc<Mutex<Option<Instant>>>,
}

impl LeaseGuard {
    /// Whether the deadline is still ahead.
    ///
    /// See [`LeaseGuard`] for an example.
    pub fn holds(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() < d)
    }

    /// The deadline, if this node holds (or held) the lease.
    ///
    /// ```
    /// # use market_feed::cluster::LeaseGuard;
    /// assert!(LeaseGuard::default().deadline().is_none());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds the lease until `deadline`.
    ///
    /// See [`LeaseGuard`] for an example.
    pub fn hold_until(&self, deadline: Instant) {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) = Some(deadline);
    }

    /// Gives the lease up: [`LeaseGuard::holds`] is false from now on.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use market_feed::cluster::LeaseGuard;
    /// let guard = LeaseGuard::default();
    /// guard.hold_until(tokio::time::Instant::now() + std::time::Duration::from_secs(5));
    /// guard.release();
    /// assert!(!guard.holds());
    /// # }
    /// ```
    pub fn release(&self) {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_renews_three_times_per_lease_and_stops_before_it_lapses() {
        let t = LeaseTiming::new(Duration::from_secs(2));
        assert!(t.renew_every() * 3 <= t.lease());
        assert!(t.renew_every() * 3 > t.lease() - Duration::from_millis(1));
        assert!(t.usable() < t.lease());
        // Two renewals can fail and the third still lands before the deadline.
        assert!(t.renew_every() * 2 + t.retry_every() < t.usable());
    }

    #[tokio::test(start_paused = true)]
    async fn the_guard_ends_at_its_deadline_even_if_nobody_looks_in_between() {
        let guard = LeaseGuard::default();
        let t = LeaseTiming::new(Duration::from_secs(10));
        guard.hold_until(Instant::now() + t.usable());
        tokio::time::advance(Duration::from_millis(8_999)).await;
        assert!(guard.holds());
        // A process paused (SIGSTOP) past its lease wakes up to a guard that says no.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(!guard.holds());
    }
}
