//! The time at the start of each log line: local time to the millisecond with its offset from
//! UTC, `2026-12-02T14:03:07.123+01:00` (RFC 3339), which a person reads at a glance and a
//! machine parses as it is. The zone is the system's, or `TZ`'s (`TZ=UTC echoctl serve`).
//!
//! chrono reads the zone itself (`TZ`, else `/etc/localtime`) rather than through libc's
//! `localtime_r`, which reads the environment unguarded beside threads that may be setting it.

use tracing_subscriber::fmt::time::ChronoLocal;

/// RFC 3339 to the millisecond, in chrono's strftime terms.
const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f%:z";

/// The log lines' clock, for `tracing_subscriber`.
pub fn local_millis() -> ChronoLocal {
    ChronoLocal::new(FORMAT.to_string())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, FixedOffset, Local, TimeZone};
    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime;

    use super::*;

    #[test]
    fn local_time_prints_as_rfc_3339_to_the_millisecond() {
        let at = |east: i32| {
            let time = FixedOffset::east_opt(east)
                .expect("an offset within a day")
                .with_ymd_and_hms(2026, 12, 2, 14, 3, 7)
                .single()
                .expect("a time that exists")
                + chrono::Duration::microseconds(45_678);
            time.format(FORMAT).to_string()
        };
        assert_eq!(at(3600), "2026-12-02T14:03:07.045+01:00");
        assert_eq!(at(-(9 * 3600 + 30 * 60)), "2026-12-02T14:03:07.045-09:30");
        assert_eq!(at(0), "2026-12-02T14:03:07.045+00:00");
    }

    #[test]
    fn the_clock_writes_now_in_the_local_zone() {
        let mut written = String::new();
        local_millis()
            .format_time(&mut Writer::new(&mut written))
            .expect("formats");
        let stamp = DateTime::parse_from_rfc3339(&written).expect("RFC 3339");
        let now = Local::now();
        assert_eq!(stamp.offset(), now.offset(), "{written}");
        let apart = (now.fixed_offset() - stamp).abs();
        assert!(apart < chrono::Duration::seconds(5), "{written}, now {now}");
        assert_eq!(
            written.len(),
            "2026-12-02T14:03:07.045+01:00".len(),
            "{written}"
        );
    }
}
