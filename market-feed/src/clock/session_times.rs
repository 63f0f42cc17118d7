//! [`SessionTimes`]: the IST wall-clock times of one session.

use time::Time;

/// The IST wall-clock times of one session: pre-open, open, close and the end of post-close.
///
/// ```
/// use market_feed::clock::SessionTimes;
/// let t = SessionTimes::REGULAR;
/// assert!(t.pre_open < t.open && t.open < t.close && t.close <= t.post_close_end);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// Pre-open order entry starts (09:00 on a normal day).
    pub pre_open: Time,
    /// Continuous trading starts (09:15).
    pub open: Time,
    /// Continuous trading ends (15:30).
    pub close: Time,
    /// The post-close session ends (16:00); equal to `close` when there is none.
    pub post_close_end: Time,
}

impl SessionTimes {
    /// The regular NSE/BSE equity session: 09:00 / 09:15 / 15:30 / 16:00 IST.
    pub const REGULAR: SessionTimes = SessionTimes {
        pre_open: time::macros::time!(09:00),
        open: time::macros::time!(09:15),
        close: time::macros::time!(15:30),
        post_close_end: time::macros::time!(16:00),
    };

    pub(super) fn validate(self, what: &str) -> Result<Self, String> {
        if self.pre_open <= self.open && self.open < self.close && self.close <= self.post_close_end
        {
            Ok(self)
        } else {
            Err(format!(
                "{what}: times must satisfy pre_open <= open < close <= post_close_end"
            ))
        }
    }
}
