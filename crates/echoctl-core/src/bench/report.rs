//! The result of a bench run: counts, lateness and the bench's own cost, as a table for people
//! and as JSON for scripts.
//!
//! Pure: the load generator fills a [`Report`] in; the verdict lives in `verdict.rs`, the table in
//! `table.rs`, the JSON and the units the text is written in here.

mod table;
mod verdict;

use serde::Serialize;

use super::Expect;
use super::lateness::{Measurements, Percentiles, Summary};
use super::outcome::ConnectionError;

pub use verdict::delay_looks_longer_by;

/// The JSON report's layout version: 2 added the schema version, start time, command line,
/// lateness from the plan (`lateness`, which was from the send in 1), `lateness_from_send`,
/// `send_slip`, `connect_time`, `early_by`, the steady rate, the failed checks and `cut_short`,
/// and min, mean, p90 and p99.99 beside every lateness's percentiles. Every field of 1 is kept.
/// 3 added what a faulty server does (`connections.reset`, `closed_early`, `stalled`,
/// `echo_lines.late`, `corrupted`), `settings.allow_faults`, `echo_lines.not_yet_due` (a run cut
/// short no longer counts those as missing) and `delay_looks_longer_by_ms`; every field of 2 is
/// kept. 4 added, for runs over UDP only, `datagrams` (lost, duplicated, reordered, and whether
/// the target was loopback) and `settings.max_loss_percent`; every field of 3 is kept, and a run
/// over TCP or a Unix socket has no other. 5 added the handshake a transport makes after its
/// connect (TLS): `handshake_time` and `connections.handshake_failed`; every field of 4 is kept.
pub const SCHEMA_VERSION: u32 = 5;

/// Everything a run measured. Serialized as is for `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// The command line that ran it (empty when run as a library).
    pub command_line: Vec<String>,
    /// The address the connections went to.
    pub target: String,
    pub settings: Settings,
    pub connections: Connections,
    pub shouts_sent: u64,
    pub echo_lines: EchoLines,
    /// Wall time from the first connect to the end of the last connection, in seconds.
    pub elapsed_s: f64,
    /// Echo lines received per second, from the first shout sent to the last echo heard.
    pub echo_lines_per_s: f64,
    /// Echo lines received per second over the steady part of the run: from the moment the last
    /// connection sent its first shout (the ramp-up over) to the moment the first connection sent
    /// its last (the drain begun). `None` when there is no such part.
    pub steady_echo_lines_per_s: Option<f64>,
    /// How long the steady part lasted, in seconds (0 when there is none).
    pub steady_s: f64,
    /// What lateness is measured from.
    pub lateness_measured_from: MeasuredFrom,
    /// Against each echo's due time from its shout's planned send (in throughput mode, from its
    /// actual send).
    pub lateness: LatenessReport,
    /// Against each echo's due time from its shout's actual send.
    pub lateness_from_send: LatenessReport,
    /// Actual minus planned send time of the shouts paced by time; `None` in throughput mode.
    pub send_slip: Option<Summary>,
    /// How long the connections that were made took to connect.
    pub connect_time: Summary,
    /// How long their handshakes took after the connect (count 0: the transport has none).
    pub handshake_time: Summary,
    /// How long before their due time the early echo lines arrived (count 0: none was early).
    pub early_by: Summary,
    /// How much longer than `--delay` the server's delay looks, when each voice is later than
    /// the one before by about the same step (see [`delay_looks_longer_by`]); a failed check.
    pub delay_looks_longer_by_ms: Option<f64>,
    /// The bench's own CPU time and memory, so its cost next to the server is known.
    pub bench_cpu: Option<CpuUse>,
    /// Over UDP: the datagrams lost, duplicated and reordered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datagrams: Option<Datagrams>,
    /// The first few wrong lines, escaped, to show what went wrong.
    pub wrong_examples: Vec<String>,
    /// Connection errors, each with its count, most frequent first (then by message).
    pub errors: Vec<ErrorCount>,
    /// The checks the run failed, each with its count: `"3 missing"`, `"1 early"`, ...
    pub failed_checks: Vec<String>,
    /// Ended by Ctrl-C (or SIGTERM) before it was done: the figures cover what was measured
    /// until then; what was still owed counts as missing if it was overdue, and as
    /// `echo_lines.not_yet_due` if not.
    pub cut_short: bool,
    /// Nothing missing, wrong or early, no connection failed or dropped, no p99 over
    /// `--max-p99`, and not cut short.
    pub ok: bool,
    /// The histograms the figures come from, for `--percentiles` and `--svg`.
    #[serde(skip)]
    pub measurements: Measurements,
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub connections: usize,
    pub shouts_per_connection: u64,
    /// Time between a connection's shouts, when paced by time.
    pub interval_ms: Option<f64>,
    /// Shouts in flight per connection, in throughput mode.
    pub window: Option<usize>,
    pub delay_ms: f64,
    pub ramp_up_ms: f64,
    pub duration_cap_ms: Option<f64>,
    /// `--max-p99`: the run fails when the p99 lateness of any voice is over it.
    pub max_p99_ms: Option<f64>,
    /// `--allow-faults`: the damage a faulty server does on purpose does not fail the run.
    pub allow_faults: bool,
    /// What the server was expected to send back: `reverb` or `plain`.
    pub expect: Expect,
    /// Over UDP, `--max-loss`: the share of the echo lines owed, in percent, that may be lost
    /// before the run fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_loss_percent: Option<f64>,
}

/// What UDP did to the echo datagrams (each echo line is one): the figures of [`EchoLines`]
/// that datagrams make, under their names.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Datagrams {
    /// Echo datagrams that never came: `echo_lines.missing`.
    pub lost: u64,
    /// Lost, in percent of the echo lines expected.
    pub lost_percent: f64,
    /// Repeats of an echo already heard (of `echo_lines.wrong`).
    pub duplicated: u64,
    /// Echoes heard after a younger shout's echo of the same voice: `echo_lines.out_of_order`.
    pub reordered: u64,
    /// Every address the target resolved to is a loopback address, where nothing should be
    /// lost: a loss there is a receive buffer that overflowed.
    pub loopback: bool,
}

/// What lateness is measured from; in JSON, `"plan"` or `"send"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasuredFrom {
    /// Paced by time: each shout's planned send, so a bench that falls behind shows in it.
    Plan,
    /// Throughput mode, a closed loop: each shout's actual send.
    Send,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Connections {
    /// Connections attempted (fewer than asked if `--duration` ended the ramp-up).
    pub attempted: u64,
    pub made: u64,
    pub failed: u64,
    /// Connected, then failed in the handshake (of the failed).
    pub handshake_failed: u64,
    /// Made, then closed by the server or reset before every echo arrived.
    pub dropped: u64,
    /// Reset by the server (of the dropped).
    pub reset: u64,
    /// Closed by the server with echo lines owed (of the dropped).
    pub closed_early: u64,
    /// Left open by a server gone silent with echo lines owed.
    pub stalled: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EchoLines {
    /// Three per shout sent.
    pub expected: u64,
    pub received: u64,
    pub missing: u64,
    pub wrong: u64,
    /// Owed when the run was cut short, but not yet due (nor past due by less than `--grace`):
    /// not counted missing.
    pub not_yet_due: u64,
    /// Matched a younger shout while an older one was still owed the same voice.
    pub out_of_order: u64,
    /// Arrived before they were due: the server's delay is shorter than `--delay`.
    pub early: u64,
    /// Arrived more than [`LATE_AFTER`](super::ledger::LATE_AFTER) after they were due
    /// (from the send): reported, failing a run only through `--max-p99`.
    pub late: u64,
    /// Wrong lines one byte off an echo line owed (of the wrong): what a `corrupt` fault does.
    pub corrupted: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatenessReport {
    pub upper: Percentiles,
    pub original: Percentiles,
    pub lower: Percentiles,
    pub all: Percentiles,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuUse {
    pub user_s: f64,
    pub system_s: f64,
    /// CPU time over wall time: 100 means one core busy the whole run.
    pub percent_of_one_core: f64,
    /// Microseconds of the bench's CPU per echo line received.
    pub us_per_echo_line: f64,
    pub peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorCount {
    pub error: ConnectionError,
    pub count: u64,
}

impl Report {
    pub fn json(&self) -> String {
        // Serializing plain structs of numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl LatenessReport {
    /// The three voices, named, in the order they are echoed.
    pub fn voices(&self) -> [(&'static str, &Percentiles); 3] {
        [
            ("upper", &self.upper),
            ("original", &self.original),
            ("lower", &self.lower),
        ]
    }
}

/// A measured time in milliseconds, with precision where it matters, as one token the options
/// take: `0.214ms`, `12.3ms`, `1000ms`.
pub fn ms(value: f64) -> String {
    format!("{}ms", number(value))
}

/// A setting held in milliseconds, written as its option takes it: `250ms`, `1s`, `1.5s`.
pub fn setting_ms(value: f64) -> String {
    let nanos = (value * 1e6).round().max(0.0);
    // Settings are at most a year (`duration::MAX`), far within u64 nanoseconds.
    crate::duration::format(std::time::Duration::from_nanos(nanos as u64))
}

/// A number of milliseconds without the unit: `0.214`, `12.3`, `1000`.
fn number(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.3}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// A count with a comma between each three digits: `10,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `part` of `whole`, in percent (0 of nothing).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// A share in percent with precision where it matters: `0%`, `0.013%`, `2.5%`, `40%`.
fn percent_text(value: f64) -> String {
    if value == 0.0 {
        "0%".into()
    } else {
        format!("{}%", number(value))
    }
}

/// A received line, escaped and quoted, its first 120 bytes at most, for the wrong-line examples.
pub fn escape_line(line: &[u8]) -> String {
    let shown = &line[..line.len().min(120)];
    let mut text = crate::escape::escape(shown);
    if line.len() > shown.len() {
        text.push_str("...");
    }
    format!("\"{text}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::lateness::Quantile;

    pub(super) fn p(ms: f64) -> Percentiles {
        Percentiles {
            count: 10,
            p50_ms: ms,
            p99_ms: ms,
            p99_9_ms: ms,
            max_ms: ms,
            min_ms: ms,
            mean_ms: ms,
            p90_ms: ms,
            p99_99_ms: ms,
            too_few_samples_for: vec![Quantile::P99, Quantile::P999, Quantile::P9999],
        }
    }

    pub(super) fn summary(ms: f64) -> Summary {
        Summary {
            count: 10,
            p50_ms: ms,
            p99_ms: ms,
            max_ms: ms,
        }
    }

    pub(super) fn report() -> Report {
        let lateness = LatenessReport {
            upper: p(0.1),
            original: p(0.2),
            lower: p(0.3),
            all: p(0.3),
        };
        Report {
            schema_version: SCHEMA_VERSION,
            started_at: "2026-12-02T10:00:00.000Z".into(),
            command_line: vec!["echoctl".into(), "bench".into()],
            target: "127.0.0.1:8000".into(),
            settings: Settings {
                connections: 2,
                shouts_per_connection: 5,
                interval_ms: Some(1000.0),
                window: None,
                delay_ms: 1000.0,
                expect: Expect::Reverb,
                ramp_up_ms: 1000.0,
                duration_cap_ms: None,
                max_p99_ms: None,
                allow_faults: false,
                max_loss_percent: None,
            },
            connections: Connections {
                attempted: 2,
                made: 2,
                ..Connections::default()
            },
            shouts_sent: 10,
            echo_lines: EchoLines {
                expected: 30,
                received: 30,
                ..EchoLines::default()
            },
            elapsed_s: 7.0,
            echo_lines_per_s: 4.5,
            steady_echo_lines_per_s: Some(5.0),
            steady_s: 4.0,
            lateness_measured_from: MeasuredFrom::Plan,
            lateness: lateness.clone(),
            lateness_from_send: lateness,
            send_slip: Some(summary(0.01)),
            connect_time: summary(0.2),
            handshake_time: Summary {
                count: 0,
                ..summary(0.0)
            },
            early_by: Summary {
                count: 0,
                ..summary(0.0)
            },
            delay_looks_longer_by_ms: None,
            bench_cpu: None,
            datagrams: None,
            wrong_examples: vec![],
            errors: vec![],
            failed_checks: vec![],
            cut_short: false,
            ok: true,
            measurements: Measurements::new(),
        }
    }

    /// [`report`]'s run over UDP: 30 echo datagrams owed, `lost` of them lost.
    pub(super) fn udp_report(lost: u64, loopback: bool) -> Report {
        let mut r = report();
        r.target = "udp:127.0.0.1:8000".into();
        r.echo_lines.received -= lost;
        r.echo_lines.missing = lost;
        r.datagrams = Some(Datagrams {
            lost,
            lost_percent: percent(lost, 30),
            duplicated: 1,
            reordered: 2,
            loopback,
        });
        r
    }

    #[test]
    fn json_has_the_counts_under_stable_names() {
        let v: serde_json::Value = serde_json::from_str(&report().json()).unwrap();
        assert_eq!(v["echo_lines"]["missing"], 0);
        assert_eq!(v["echo_lines"]["expected"], 30);
        assert_eq!(v["connections"]["made"], 2);
        assert_eq!(v["lateness"]["lower"]["p99_ms"], 0.3);
        assert_eq!(v["ok"], true);
    }

    #[test]
    fn json_carries_the_schema_the_start_and_the_command_line() {
        let v: serde_json::Value = serde_json::from_str(&report().json()).unwrap();
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["started_at"], "2026-12-02T10:00:00.000Z");
        assert_eq!(v["command_line"][1], "bench");
        assert_eq!(v["steady_echo_lines_per_s"], 5.0);
        assert_eq!(v["settings"]["max_p99_ms"], serde_json::Value::Null);
    }

    #[test]
    fn milliseconds_are_readable() {
        assert_eq!(ms(0.2144), "0.214ms");
        assert_eq!(ms(12.34), "12.3ms");
        assert_eq!(ms(1000.0), "1000ms");
        assert_eq!(setting_ms(1000.0), "1s");
        assert_eq!(setting_ms(250.0), "250ms");
        assert_eq!(setting_ms(0.25), "250us");
        // Every time the table prints is one token the options read back.
        for text in [ms(0.2144), ms(12.34), ms(1000.0), setting_ms(1500.0)] {
            assert!(crate::duration::parse(&text).is_ok(), "{text}");
        }
        assert_eq!(escape_line(&[b'a'; 200]).len(), 2 + 120 + 3);
    }
}
