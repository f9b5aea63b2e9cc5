//! Adding up a run: what each connection ended with, the lateness histograms and the wrong lines
//! seen, into the [`Report`].
//!
//! Pure: the load generator hands over what it collected, and the figures are computed here,
//! where they are tested on fixed inputs.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::cpu::CpuTimes;
use super::lateness::Lateness;
use super::ledger::LedgerCounts;
use super::report::{
    Connections, CpuUse, EchoLines, ErrorCount, LatenessReport, Report, Settings, escape_line,
};
use super::{BenchConfig, Expect, Pace};
use crate::echo::Voice;

/// What one connection ended with.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The connection was made (whatever happened after).
    pub made: bool,
    /// It broke, or the server closed it, before it ended in an orderly way.
    pub dropped: bool,
    /// Why it failed or broke.
    pub error: Option<String>,
    pub counts: LedgerCounts,
    /// Echo lines still owed at its end.
    pub missing: u64,
    pub first_send: Option<Instant>,
    pub last_heard: Option<Instant>,
}

/// The first few wrong lines of the run, escaped, for the report.
#[derive(Debug, Default)]
pub struct WrongExamples(Vec<String>);

impl WrongExamples {
    /// Wrong lines shown in the report.
    pub const KEPT: usize = 5;

    /// Keeps `line` if fewer than [`KEPT`](Self::KEPT) are kept already.
    pub fn note(&mut self, line: &[u8]) {
        if self.0.len() < Self::KEPT {
            self.0.push(escape_line(line));
        }
    }
}

/// The report of a run: `attempted` connections, of which `outcomes` ended (in any order),
/// `elapsed` from the first connect, the bench's CPU times before and after, and what all
/// connections heard.
pub fn build_report(
    config: &BenchConfig,
    attempted: u64,
    outcomes: &[Outcome],
    elapsed: Duration,
    cpu: Option<(CpuTimes, CpuTimes)>,
    lateness: &Lateness,
    wrong_examples: &WrongExamples,
) -> Report {
    let mut connections = Connections {
        attempted,
        ..Connections::default()
    };
    let mut lines = EchoLines::default();
    let mut shouts = 0;
    let mut errors: HashMap<&str, u64> = HashMap::new();
    let mut first_send: Option<Instant> = None;
    let mut last_heard: Option<Instant> = None;
    for o in outcomes {
        if o.made {
            connections.made += 1;
        } else {
            connections.failed += 1;
        }
        connections.dropped += u64::from(o.dropped);
        if let Some(error) = &o.error {
            *errors.entry(error).or_default() += 1;
        }
        shouts += o.counts.shouts;
        lines.received += o.counts.received;
        lines.wrong += o.counts.wrong;
        lines.out_of_order += o.counts.out_of_order;
        lines.early += o.counts.early;
        lines.missing += o.missing;
        first_send = match (first_send, o.first_send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last_heard = last_heard.max(o.last_heard);
    }
    lines.expected = shouts * config.expect.lines_per_shout();
    let mut errors: Vec<ErrorCount> = errors
        .into_iter()
        .map(|(error, count)| ErrorCount {
            error: error.to_string(),
            count,
        })
        .collect();
    errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.error.cmp(&b.error)));

    let active = match (first_send, last_heard) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    let echo_lines_per_s = if active.is_zero() {
        0.0
    } else {
        lines.received as f64 / active.as_secs_f64()
    };
    let bench_cpu = cpu.map(|(before, after)| {
        let user = after.user.saturating_sub(before.user).as_secs_f64();
        let system = after.system.saturating_sub(before.system).as_secs_f64();
        CpuUse {
            user_s: user,
            system_s: system,
            percent_of_one_core: 100.0 * (user + system) / elapsed.as_secs_f64().max(1e-9),
            us_per_echo_line: if lines.received == 0 {
                0.0
            } else {
                1e6 * (user + system) / lines.received as f64
            },
            peak_rss_mb: after.peak_rss as f64 / 1e6,
        }
    });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut report = Report {
        target: config.addr.clone(),
        settings: Settings {
            connections: config.connections,
            shouts_per_connection: config.shouts,
            interval_ms: match config.pace {
                Pace::Interval(interval) => Some(ms(interval)),
                Pace::Window(_) => None,
            },
            window: match config.pace {
                Pace::Window(window) => Some(window),
                Pace::Interval(_) => None,
            },
            delay_ms: ms(config.delay),
            ramp_up_ms: ms(config.ramp_up),
            duration_cap_ms: config.duration.map(ms),
            expect: match config.expect {
                Expect::Reverb => "reverb",
                Expect::Plain => "plain",
            },
        },
        connections,
        shouts_sent: shouts,
        echo_lines: lines,
        elapsed_s: elapsed.as_secs_f64(),
        echo_lines_per_s,
        lateness: LatenessReport {
            upper: lateness.voice(Voice::Upper),
            original: lateness.voice(Voice::Original),
            lower: lateness.voice(Voice::Lower),
            all: lateness.all(),
        },
        bench_cpu,
        wrong_examples: wrong_examples.0.clone(),
        errors,
        ok: false,
    };
    report.ok = report.verdict();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::lateness::Samples;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn config(pace: Pace) -> BenchConfig {
        BenchConfig {
            addr: "127.0.0.1:7".into(),
            connections: 5,
            shouts: 4,
            pace,
            delay: ms(1000),
            ramp_up: ms(2000),
            duration: Some(ms(10_000)),
            connect_timeout: ms(1000),
            grace: ms(500),
            expect: Default::default(),
        }
    }

    fn counts(shouts: u64, received: u64, wrong: u64) -> LedgerCounts {
        LedgerCounts {
            shouts,
            received,
            wrong,
            ..LedgerCounts::default()
        }
    }

    fn cpu(user_ms: u64, system_ms: u64, peak_rss: u64) -> CpuTimes {
        CpuTimes {
            user: ms(user_ms),
            system: ms(system_ms),
            peak_rss,
        }
    }

    /// Lateness samples, in microseconds, by voice.
    fn lateness(samples: &[(Voice, u64)]) -> Lateness {
        let mut lateness = Lateness::new();
        let mut batch = Samples::default();
        for &(voice, micros) in samples {
            batch.push(voice, Duration::from_micros(micros));
        }
        lateness.add(&mut batch);
        lateness
    }

    /// Five connections: one clean, one closed early with lines owed, two refused, one reset.
    fn troubled_run() -> Report {
        let t0 = Instant::now();
        let outcomes = [
            Outcome {
                made: true,
                counts: LedgerCounts {
                    out_of_order: 1,
                    ..counts(4, 12, 0)
                },
                first_send: Some(t0 + ms(100)),
                last_heard: Some(t0 + ms(3100)),
                ..Outcome::default()
            },
            Outcome {
                made: true,
                dropped: true,
                error: Some("server closed the connection with 5 echo lines owed".into()),
                counts: LedgerCounts {
                    early: 1,
                    ..counts(3, 4, 2)
                },
                missing: 5,
                first_send: Some(t0 + ms(50)),
                last_heard: Some(t0 + ms(4050)),
            },
            Outcome {
                error: Some("connect to 127.0.0.1:7: refused".into()),
                ..Outcome::default()
            },
            Outcome {
                made: true,
                dropped: true,
                error: Some("read: reset".into()),
                counts: counts(1, 0, 0),
                missing: 3,
                first_send: Some(t0 + ms(900)),
                ..Outcome::default()
            },
            Outcome {
                error: Some("connect to 127.0.0.1:7: refused".into()),
                ..Outcome::default()
            },
        ];
        let mut wrong = WrongExamples::default();
        for line in [&b"\tbad\n"[..], b"\t SHOUT C1 N9\n"] {
            wrong.note(line);
        }
        build_report(
            &config(Pace::Interval(ms(250))),
            5,
            &outcomes,
            ms(5000),
            Some((cpu(1000, 500, 0), cpu(2000, 1000, 20_000_000))),
            &lateness(&[
                (Voice::Upper, 100),
                (Voice::Upper, 300),
                (Voice::Original, 200),
                (Voice::Lower, 1000),
            ]),
            &wrong,
        )
    }

    #[test]
    fn counts_add_up_over_connections() {
        let r = troubled_run();
        let c = &r.connections;
        assert_eq!((c.attempted, c.made, c.failed, c.dropped), (5, 3, 2, 2));
        assert_eq!(r.shouts_sent, 8);
        let e = &r.echo_lines;
        assert_eq!(
            (
                e.expected,
                e.received,
                e.missing,
                e.wrong,
                e.out_of_order,
                e.early
            ),
            (24, 16, 8, 2, 1, 1)
        );
        assert!(!r.ok);
    }

    #[test]
    fn errors_are_counted_by_message_most_frequent_first_then_by_name() {
        let report = troubled_run();
        let errors: Vec<(&str, u64)> = report
            .errors
            .iter()
            .map(|e| (e.error.as_str(), e.count))
            .collect();
        assert_eq!(
            errors,
            [
                ("connect to 127.0.0.1:7: refused", 2),
                ("read: reset", 1),
                ("server closed the connection with 5 echo lines owed", 1),
            ]
        );
    }

    #[test]
    fn rate_runs_from_the_first_shout_sent_to_the_last_echo_heard() {
        // 16 lines between 50 ms and 4050 ms, whatever the 5 s of wall time.
        let r = troubled_run();
        assert_eq!(r.echo_lines_per_s, 4.0);
        assert_eq!(r.elapsed_s, 5.0);
    }

    #[test]
    fn lateness_rows_come_from_the_histograms_by_voice() {
        let l = troubled_run().lateness;
        assert_eq!(
            (l.upper.count, l.upper.p50_ms, l.upper.max_ms),
            (2, 0.1, 0.3)
        );
        assert_eq!((l.original.count, l.original.p50_ms), (1, 0.2));
        assert_eq!((l.lower.count, l.lower.max_ms), (1, 1.0));
        assert_eq!((l.all.count, l.all.p50_ms, l.all.max_ms), (4, 0.2, 1.0));
    }

    #[test]
    fn bench_cost_is_the_cpu_used_over_the_run() {
        let cpu = troubled_run().bench_cpu.expect("cpu times were given");
        assert_eq!((cpu.user_s, cpu.system_s), (1.0, 0.5));
        assert_eq!(cpu.percent_of_one_core, 30.0);
        assert_eq!(cpu.us_per_echo_line, 93_750.0);
        assert_eq!(cpu.peak_rss_mb, 20.0);
    }

    #[test]
    fn settings_say_how_the_shouts_were_paced() {
        let s = troubled_run().settings;
        assert_eq!((s.connections, s.shouts_per_connection), (5, 4));
        assert_eq!((s.interval_ms, s.window), (Some(250.0), None));
        assert_eq!((s.delay_ms, s.ramp_up_ms), (1000.0, 2000.0));
        assert_eq!(s.duration_cap_ms, Some(10_000.0));
        let quiet = build_report(
            &config(Pace::Window(8)),
            0,
            &[],
            ms(10),
            None,
            &Lateness::new(),
            &WrongExamples::default(),
        );
        assert_eq!(
            (quiet.settings.interval_ms, quiet.settings.window),
            (None, Some(8))
        );
    }

    #[test]
    fn the_table_of_a_troubled_run() {
        assert_eq!(
            troubled_run().table(),
            "\
echoctl bench 127.0.0.1:7: 5 connections x 4 shouts, every 250 ms, server delay 1000 ms
connections  3 made, 2 failed, 2 dropped (of 5 attempted)
shouts       8 sent
echo lines   24 expected, 16 received, 8 missing, 2 wrong
             1 out of order, 1 early (is the server's delay shorter than --delay?)
rate         4 echo lines/s, 5.00 s in all
lateness          count        p50        p99      p99.9        max
  upper               2   0.100 ms   0.300 ms   0.300 ms   0.300 ms
  original            1   0.200 ms   0.200 ms   0.200 ms   0.200 ms
  lower               1   1.000 ms   1.000 ms   1.000 ms   1.000 ms
  all                 4   0.200 ms   1.000 ms   1.000 ms   1.000 ms
bench cost   1.00 s user + 0.50 s system = 30% of one core, 93750.00 us per echo line, peak RSS 20.0 MB
error        2 x connect to 127.0.0.1:7: refused
error        1 x read: reset
error        1 x server closed the connection with 5 echo lines owed
wrong line   \"\\tbad\\n\"
wrong line   \"\\t SHOUT C1 N9\\n\"
result       FAILED: echo lines missing or wrong, or connections failed
"
        );
    }

    #[test]
    fn a_clean_run_passes() {
        let t0 = Instant::now();
        let outcomes = [Outcome {
            made: true,
            counts: counts(4, 12, 0),
            first_send: Some(t0),
            last_heard: Some(t0 + ms(3000)),
            ..Outcome::default()
        }];
        let r = build_report(
            &config(Pace::Interval(ms(250))),
            1,
            &outcomes,
            ms(3500),
            None,
            &Lateness::new(),
            &WrongExamples::default(),
        );
        assert!(r.ok);
        assert_eq!(r.echo_lines_per_s, 4.0);
        assert!(r.bench_cpu.is_none());
        assert!(r.errors.is_empty() && r.wrong_examples.is_empty());
    }

    #[test]
    fn nothing_heard_is_a_zero_rate_and_a_zero_cost_per_line() {
        let t0 = Instant::now();
        let outcomes = [Outcome {
            made: true,
            counts: counts(2, 0, 0),
            missing: 6,
            first_send: Some(t0),
            ..Outcome::default()
        }];
        let r = build_report(
            &config(Pace::Window(1)),
            1,
            &outcomes,
            ms(1000),
            Some((cpu(0, 0, 0), cpu(10, 0, 0))),
            &Lateness::new(),
            &WrongExamples::default(),
        );
        assert_eq!(r.echo_lines_per_s, 0.0);
        assert_eq!(r.bench_cpu.map(|c| c.us_per_echo_line), Some(0.0));
        assert_eq!(r.echo_lines.missing, 6);
        assert!(!r.ok);
    }

    #[test]
    fn only_the_first_few_wrong_lines_are_kept() {
        let mut wrong = WrongExamples::default();
        for i in 0..WrongExamples::KEPT + 3 {
            wrong.note(format!("line {i}\n").as_bytes());
        }
        assert_eq!(wrong.0.len(), WrongExamples::KEPT);
        assert_eq!(wrong.0[0], r#""line 0\n""#);
        assert_eq!(wrong.0[4], r#""line 4\n""#);
    }
}
