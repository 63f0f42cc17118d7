//! CPU time and memory of a process, read from Linux's `/proc` (no other platform is supported:
//! the functions return `None` there).

/// Clock ticks per second of `/proc/PID/stat` times (`USER_HZ`, 100 on every Linux ABI in use).
const TICKS_PER_SECOND: f64 = 100.0;

/// A process's resource usage at one moment.
///
/// ```
/// use market_feed_load::procfs::Usage;
/// let me = Usage::read(std::process::id()).unwrap();
/// assert!(me.rss_kib > 0 && me.hwm_kib >= me.rss_kib);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// User plus system CPU seconds used so far, by all threads.
    pub cpu_s: f64,
    /// Resident set size now, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size so far, KiB (`VmHWM`).
    pub hwm_kib: u64,
}

impl Usage {
    /// Reads `/proc/PID/stat` and `/proc/PID/status`; `None` when the process is gone.
    ///
    /// ```
    /// assert!(market_feed_load::procfs::Usage::read(u32::MAX).is_none());
    /// ```
    pub fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        Some(Self {
            cpu_s: parse_cpu_seconds(&stat)?,
            rss_kib: status_kib(&status, "VmRSS:")?,
            hwm_kib: status_kib(&status, "VmHWM:")?,
        })
    }
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in seconds. The command name
/// (field 2) may hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

fn status_kib(status: &str, label: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(label))?;
    line[label.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_fields_are_counted_after_the_command_name() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
    }

    #[test]
    fn status_values_are_read_in_kib() {
        let s = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(status_kib(s, "VmRSS:"), Some(1024));
        assert_eq!(status_kib(s, "VmHWM:"), Some(2048));
        assert_eq!(status_kib(s, "VmSwap:"), None);
    }

    #[test]
    fn this_process_uses_some_cpu() {
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let u = Usage::read(std::process::id()).unwrap();
        assert!(u.cpu_s >= 0.0);
    }
}
