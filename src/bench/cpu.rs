//! The bench's own CPU time and peak memory, from `getrusage`, so a run can say what it cost next
//! to the server it loads (both share the same cores when run on one machine).

use std::time::Duration;

pub(crate) use echoctl_core::bench::CpuTimes;

/// This process's CPU times so far (all threads), or `None` where `getrusage` is not available.
#[cfg(unix)]
pub(crate) fn now() -> Option<CpuTimes> {
    // SAFETY: `rusage` is plain old data, so all-zero is a valid value, and `getrusage` only
    // writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return None;
        }
        usage
    };
    let time = |tv: libc::timeval| {
        Duration::from_secs(u64::try_from(tv.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(tv.tv_usec).unwrap_or(0))
    };
    // Linux reports ru_maxrss in kilobytes (macOS in bytes).
    let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    Some(CpuTimes {
        user: time(usage.ru_utime),
        system: time(usage.ru_stime),
        peak_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * unit,
    })
}

#[cfg(not(unix))]
pub fn now() -> Option<CpuTimes> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(unix)]
    fn reads_this_process_own_usage() {
        let usage = super::now().expect("getrusage works on unix");
        // A test binary has run code and mapped memory by now; zero would mean unread fields.
        assert!(usage.user + usage.system > std::time::Duration::ZERO);
        assert!(usage.peak_rss > 0);
    }
}
