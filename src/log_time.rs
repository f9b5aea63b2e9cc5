//! The time at the start of each log line: local time to the millisecond with its offset from
//! UTC, `2026-12-02T14:03:07.123+01:00` (RFC 3339), which a person reads at a glance and a
//! machine parses as it is. The zone is the system's, or `TZ`'s (`TZ=UTC echoctl serve`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// A calendar time, as the system's clock and zone give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millisecond: u32,
    /// Seconds east of UTC.
    pub utc_offset: i64,
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.utc_offset < 0 { '-' } else { '+' };
        let offset_minutes = self.utc_offset.unsigned_abs() / 60;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{sign}{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.millisecond,
            offset_minutes / 60,
            offset_minutes % 60
        )
    }
}

impl LocalTime {
    /// Now, in the local zone; None if the system cannot say.
    pub fn now() -> Option<LocalTime> {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
        local(since_epoch.as_secs(), since_epoch.subsec_millis())
    }
}

#[cfg(unix)]
fn local(seconds: u64, millisecond: u32) -> Option<LocalTime> {
    let seconds = libc::time_t::try_from(seconds).ok()?;
    // SAFETY: localtime_r writes only into the `tm` it is given, which lives across the call;
    // a null result (a time it cannot represent) is checked.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&seconds, &mut tm).is_null() {
            return None;
        }
        tm
    };
    Some(LocalTime {
        year: tm.tm_year + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
        millisecond,
        // c_long: 64 bits here, 32 on some targets.
        #[allow(clippy::useless_conversion)]
        utc_offset: i64::from(tm.tm_gmtoff),
    })
}

#[cfg(not(unix))]
fn local(_seconds: u64, _millisecond: u32) -> Option<LocalTime> {
    None
}

/// The log lines' clock, for `tracing_subscriber`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalMillis;

impl FormatTime for LocalMillis {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        match LocalTime::now() {
            Some(now) => write!(w, "{now}"),
            None => w.write_str("(no clock)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_prints_as_rfc_3339_to_the_millisecond() {
        let time = LocalTime {
            year: 2026,
            month: 12,
            day: 2,
            hour: 14,
            minute: 3,
            second: 7,
            millisecond: 45,
            utc_offset: 3600,
        };
        assert_eq!(time.to_string(), "2026-12-02T14:03:07.045+01:00");
        let west = LocalTime {
            utc_offset: -(9 * 3600 + 30 * 60),
            ..time
        };
        assert_eq!(west.to_string(), "2026-12-02T14:03:07.045-09:30");
        let utc = LocalTime {
            utc_offset: 0,
            ..time
        };
        assert_eq!(utc.to_string(), "2026-12-02T14:03:07.045+00:00");
    }

    #[cfg(unix)]
    #[test]
    fn the_epoch_in_the_local_zone_is_the_epoch_shifted_by_its_offset() {
        let epoch = local(0, 0).expect("the system knows 1970");
        let shifted_minutes = i64::from(epoch.hour) * 60 + i64::from(epoch.minute)
            - if epoch.year < 1970 { 24 * 60 } else { 0 };
        assert_eq!(shifted_minutes, epoch.utc_offset / 60);
    }
}
