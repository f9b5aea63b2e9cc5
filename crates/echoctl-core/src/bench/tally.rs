//! Adding up a run: what each connection ended with, the lateness histograms and the wrong lines
//! seen, into the [`Report`].
//!
//! Pure: the load generator hands over what it collected, and the figures are computed here,
//! where they are tested on fixed inputs.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::CpuTimes;
use super::lateness::{Lateness, Measurements, Summary};
use super::outcome::{ConnectionError, Damage, Outcome};
use super::report::{
    Connections, CpuUse, Datagrams, EchoLines, ErrorCount, LatenessReport, MeasuredFrom, Report,
    SCHEMA_VERSION, Settings, delay_looks_longer_by, escape_line, percent,
};
use super::{BenchConfig, Expect, Pace};
use crate::echo::Voice;

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

/// What a run collected, for [`build_report`].
pub struct Collected<'a> {
    /// Connections attempted, of which `outcomes` ended (in any order).
    pub attempted: u64,
    pub outcomes: &'a [Outcome],
    /// When the run started, on the clock of the outcomes and as the time of day.
    pub started: Instant,
    pub started_at: SystemTime,
    /// From the first connect to the end of the last connection.
    pub elapsed: Duration,
    /// The bench's CPU times before and after.
    pub cpu: Option<(CpuTimes, CpuTimes)>,
    pub measurements: &'a Measurements,
    pub wrong_examples: &'a WrongExamples,
    pub cut_short: bool,
}

/// The report of a run of `config` from what it collected.
pub fn build_report(config: &BenchConfig, collected: &Collected) -> Report {
    let &Collected {
        attempted,
        outcomes,
        started,
        started_at,
        elapsed,
        cpu,
        measurements,
        wrong_examples,
        cut_short,
    } = collected;
    let mut connections = Connections {
        attempted,
        ..Connections::default()
    };
    let mut lines = EchoLines::default();
    let mut shouts = 0;
    let mut errors: HashMap<&ConnectionError, u64> = HashMap::new();
    let mut duplicated = 0;
    let mut first_send: Option<Instant> = None;
    let mut last_heard: Option<Instant> = None;
    // The steady part: from the last connection's first shout to the first connection's last.
    let mut steady_from: Option<Instant> = None;
    let mut steady_to: Option<Instant> = None;
    for o in outcomes {
        if o.made {
            connections.made += 1;
        } else {
            connections.failed += 1;
        }
        if let Some(ConnectionError::Handshake { .. }) = o.error {
            connections.handshake_failed += 1;
        }
        connections.dropped += u64::from(o.dropped);
        match o.damage {
            Some(Damage::Reset) => connections.reset += 1,
            Some(Damage::ClosedEarly) => connections.closed_early += 1,
            Some(Damage::Stalled) => connections.stalled += 1,
            None => {}
        }
        if let Some(error) = &o.error {
            *errors.entry(error).or_default() += 1;
        }
        shouts += o.counts.shouts;
        lines.received += o.counts.received;
        lines.wrong += o.counts.wrong;
        lines.out_of_order += o.counts.out_of_order;
        lines.early += o.counts.early;
        lines.late += o.counts.late;
        lines.corrupted += o.counts.corrupted;
        duplicated += o.counts.duplicated;
        lines.missing += o.missing;
        lines.not_yet_due += o.not_yet_due;
        first_send = match (first_send, o.first_send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last_heard = last_heard.max(o.last_heard);
        steady_from = steady_from.max(o.first_send);
        steady_to = match (steady_to, o.last_send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    lines.expected = shouts * config.expect.lines_per_shout();
    let datagrams = config.addr.is_udp().then(|| Datagrams {
        lost: lines.missing,
        lost_percent: percent(lines.missing, lines.expected),
        duplicated,
        reordered: lines.out_of_order,
        // Said by the load generator, which resolved the target.
        loopback: false,
    });
    let mut errors: Vec<ErrorCount> = errors
        .into_iter()
        .map(|(error, count)| ErrorCount {
            error: error.clone(),
            count,
        })
        .collect();
    errors.sort_by_cached_key(|e| (Reverse(e.count), e.error.to_string()));

    let active = match (first_send, last_heard) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    let echo_lines_per_s = if active.is_zero() {
        0.0
    } else {
        lines.received as f64 / active.as_secs_f64()
    };
    let (steady_echo_lines_per_s, steady) = match (steady_from, steady_to) {
        (Some(from), Some(to)) if to > from => {
            let (from, to) = (from - started, to - started);
            let lines = measurements.arrived_between(from, to);
            (Some(lines as f64 / (to - from).as_secs_f64()), to - from)
        }
        _ => (None, Duration::ZERO),
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
    let lateness_report = |lateness: &Lateness| LatenessReport {
        upper: lateness.voice(Voice::Upper),
        original: lateness.voice(Voice::Original),
        lower: lateness.voice(Voice::Lower),
        all: lateness.all(),
    };
    let closed_loop = matches!(config.pace, Pace::Window(_));
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        command_line: Vec::new(),
        target: config.addr.to_string(),
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
            max_p99_ms: None,
            allow_faults: false,
            expect: config.expect,
            max_loss_percent: None,
        },
        connections,
        shouts_sent: shouts,
        echo_lines: lines,
        elapsed_s: elapsed.as_secs_f64(),
        echo_lines_per_s,
        steady_echo_lines_per_s,
        steady_s: steady.as_secs_f64(),
        lateness_measured_from: if closed_loop {
            MeasuredFrom::Send
        } else {
            MeasuredFrom::Plan
        },
        lateness: lateness_report(&measurements.from_plan),
        lateness_from_send: lateness_report(&measurements.from_send),
        send_slip: (!closed_loop).then(|| Summary::of(&measurements.slip)),
        connect_time: Summary::of(&measurements.connect),
        handshake_time: Summary::of(&measurements.handshake),
        early_by: Summary::of(&measurements.early_by),
        delay_looks_longer_by_ms: match config.expect {
            Expect::Reverb => {
                delay_looks_longer_by(&lateness_report(&measurements.from_send), ms(config.delay))
            }
            Expect::Plain => None,
        },
        bench_cpu,
        datagrams,
        wrong_examples: wrong_examples.0.clone(),
        errors,
        failed_checks: Vec::new(),
        cut_short,
        ok: false,
        measurements: measurements.clone(),
    };
    report.judge();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::lateness::Samples;
    use crate::bench::ledger::LedgerCounts;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn config(pace: Pace) -> BenchConfig {
        BenchConfig {
            addr: "127.0.0.1:7".parse().unwrap(),
            connections: 5,
            shouts: 4,
            pace,
            delay: ms(1000),
            ramp_up: ms(2000),
            duration: Some(ms(10_000)),
            connect_timeout: Some(ms(1000)),
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

    /// Lateness samples, in microseconds, by voice: from the plan, and half that from the send.
    fn lateness(samples: &[(Voice, u64)]) -> Measurements {
        let mut m = Measurements::new();
        let mut batch = Samples::default();
        for &(voice, micros) in samples {
            let late = Duration::from_micros(micros);
            batch.push_echo(voice, late, late / 2, Duration::ZERO);
        }
        batch.push_slip(Duration::from_micros(40));
        batch.push_slip(Duration::from_micros(60));
        batch.push_early(ms(2));
        batch.push_connect(Duration::from_micros(300));
        m.add(&mut batch);
        m
    }

    /// A run of `outcomes` (all attempted) started at `started`, 5 s long, no CPU times.
    fn collected<'a>(
        outcomes: &'a [Outcome],
        started: Instant,
        measurements: &'a Measurements,
        wrong_examples: &'a WrongExamples,
    ) -> Collected<'a> {
        Collected {
            attempted: outcomes.len() as u64,
            outcomes,
            started,
            started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            elapsed: ms(5000),
            cpu: None,
            measurements,
            wrong_examples,
            cut_short: false,
        }
    }

    fn refused() -> ConnectionError {
        ConnectionError::Connect {
            addr: ([127, 0, 0, 1], 7).into(),
            reason: "refused".into(),
        }
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
                error: Some(ConnectionError::ClosedWithEchoesOwed { owed: 5 }),
                counts: LedgerCounts {
                    early: 1,
                    ..counts(3, 4, 2)
                },
                missing: 5,
                first_send: Some(t0 + ms(50)),
                last_send: Some(t0 + ms(550)),
                last_heard: Some(t0 + ms(4050)),
                ..Outcome::default()
            },
            Outcome {
                error: Some(refused()),
                ..Outcome::default()
            },
            Outcome {
                made: true,
                dropped: true,
                error: Some(ConnectionError::Read {
                    reason: "reset".into(),
                    reset: false,
                }),
                counts: counts(1, 0, 0),
                missing: 3,
                first_send: Some(t0 + ms(900)),
                ..Outcome::default()
            },
            Outcome {
                error: Some(refused()),
                ..Outcome::default()
            },
        ];
        let mut wrong = WrongExamples::default();
        for line in [&b"\tbad\n"[..], b"\t SHOUT C1 N9\n"] {
            wrong.note(line);
        }
        let measured = lateness(&[
            (Voice::Upper, 100),
            (Voice::Upper, 300),
            (Voice::Original, 200),
            (Voice::Lower, 1000),
        ]);
        build_report(
            &config(Pace::Interval(ms(250))),
            &Collected {
                cpu: Some((cpu(1000, 500, 0), cpu(2000, 1000, 20_000_000))),
                ..collected(&outcomes, t0, &measured, &wrong)
            },
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
        let errors: Vec<(String, u64)> = report
            .errors
            .iter()
            .map(|e| (e.error.to_string(), e.count))
            .collect();
        assert_eq!(
            errors,
            [
                ("connect to 127.0.0.1:7: refused".to_string(), 2),
                ("read: reset".to_string(), 1),
                (
                    "server closed the connection with 5 echo lines owed".to_string(),
                    1
                ),
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
        let (nothing, no_wrong) = (Measurements::new(), WrongExamples::default());
        let quiet = build_report(
            &config(Pace::Window(8)),
            &collected(&[], Instant::now(), &nothing, &no_wrong),
        );
        assert_eq!(quiet.lateness_measured_from, MeasuredFrom::Send);
        assert_eq!(quiet.send_slip, None, "no schedule in a closed loop");
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
echoctl bench 127.0.0.1:7: 5 connections x 4 shouts, every 250ms, server delay 1s
connections  3 made, 2 failed, 2 dropped (of 5 attempted)
connect      p50 0.300ms, p99 0.300ms, max 0.300ms
shouts       8 sent on schedule; behind the plan p50 0.040ms, p99 0.060ms, max 0.060ms
echo lines   24 expected, 16 received, 8 missing, 2 wrong
             1 out of order, 1 early by up to 2.000ms (is the server's delay shorter than --delay?)
rate         4 echo lines/s, 5.00s in all
lateness     from the planned send (each shout's place on the schedule), in ms
             count      min      mean       p50       p90       p99     p99.9    p99.99       max
  upper          2    0.100     0.200     0.100     0.300*    0.300*    0.300*    0.300*    0.300
  original       1    0.200     0.200     0.200*    0.200*    0.200*    0.200*    0.200*    0.200
  lower          1    1.000     1.000     1.000*    1.000*    1.000*    1.000*    1.000*    1.000
  all            4    0.100     0.400     0.200     1.000*    1.000*    1.000*    1.000*    1.000
             * too few samples for that percentile (p50 needs 2): it is the max
from send    p99 0.150 / 0.100 / 0.500ms (upper / original / lower), max 0.500ms
bench cost   1.00s user + 0.50s system = 30% of one core, 93750.00us per echo line, peak RSS 20.0 MB
error        2 x connect to 127.0.0.1:7: refused
error        1 x read: reset
error        1 x server closed the connection with 5 echo lines owed
wrong line   \"\\tbad\\n\"
wrong line   \"\\t SHOUT C1 N9\\n\"
result       FAILED: 8 missing, 2 wrong, 1 early, 2 connections failed, 2 connections dropped
"
        );
    }

    #[test]
    fn at_sixty_columns_the_table_keeps_four_lateness_columns_and_wraps_its_lines_by_word() {
        let r = troubled_run();
        let narrow = r.table_for(Some(60));
        assert_eq!(
            narrow,
            "\
echoctl bench 127.0.0.1:7: 5 connections x 4 shouts, every
             250ms, server delay 1s
connections  3 made, 2 failed, 2 dropped (of 5 attempted)
connect      p50 0.300ms, p99 0.300ms, max 0.300ms
shouts       8 sent on schedule; behind the plan p50
             0.040ms, p99 0.060ms, max 0.060ms
echo lines   24 expected, 16 received, 8 missing, 2 wrong
             1 out of order, 1 early by up to 2.000ms (is
             the server's delay shorter than --delay?)
rate         4 echo lines/s, 5.00s in all
lateness     from the planned send (each shout's place on
             the schedule), in ms
             count      p50       p99     p99.9       max
  upper          2    0.100     0.300*    0.300*    0.300
  original       1    0.200*    0.200*    0.200*    0.200
  lower          1    1.000*    1.000*    1.000*    1.000
  all            4    0.200     1.000*    1.000*    1.000
             * too few samples for that percentile (p50
             needs 2): it is the max
from send    p99 0.150 / 0.100 / 0.500ms (upper / original /
             lower), max 0.500ms
bench cost   1.00s user + 0.50s system = 30% of one core,
             93750.00us per echo line, peak RSS 20.0 MB
error        2 x connect to 127.0.0.1:7: refused
error        1 x read: reset
error        1 x server closed the connection with 5 echo
             lines owed
wrong line   \"\\tbad\\n\"
wrong line   \"\\t SHOUT C1 N9\\n\"
result       FAILED: 8 missing, 2 wrong, 1 early, 2
             connections failed, 2 connections dropped
"
        );
        for width in [40, 50, 60, 80, 100] {
            let table = r.table_for(Some(width));
            for line in table.lines() {
                assert!(line.chars().count() <= width, "{width}: {line:?}\n{table}");
            }
        }
        // At 80, two more columns; where the whole table fits, it is the table.
        let at_80 = r.table_for(Some(80));
        assert!(
            at_80.contains("count     mean       p50       p90       p99     p99.9       max\n"),
            "{at_80}"
        );
        assert_eq!(r.table_for(Some(120)), r.table());
        assert_eq!(r.table_for(None), r.table());
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
        let (nothing, no_wrong) = (Measurements::new(), WrongExamples::default());
        let r = build_report(
            &config(Pace::Interval(ms(250))),
            &collected(&outcomes, t0, &nothing, &no_wrong),
        );
        assert!(r.ok);
        assert!(r.failed_checks.is_empty());
        assert!(r.table().contains("result       OK"), "{}", r.table());
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
        let (nothing, no_wrong) = (Measurements::new(), WrongExamples::default());
        let r = build_report(
            &config(Pace::Window(1)),
            &Collected {
                elapsed: ms(1000),
                cpu: Some((cpu(0, 0, 0), cpu(10, 0, 0))),
                ..collected(&outcomes, t0, &nothing, &no_wrong)
            },
        );
        assert!(
            r.table().contains("lateness     no echoes heard\n"),
            "no rows of zeros: {}",
            r.table()
        );
        assert_eq!(r.echo_lines_per_s, 0.0);
        assert_eq!(r.bench_cpu.map(|c| c.us_per_echo_line), Some(0.0));
        assert!(
            r.table()
                .contains("bench cost   0.01s user + 0.00s system = 1% of one core, peak RSS"),
            "no cost per line when no line came: {}",
            r.table()
        );
        assert_eq!(r.echo_lines.missing, 6);
        assert!(!r.ok);
    }

    #[test]
    fn the_steady_rate_counts_what_arrived_between_the_ramp_up_and_the_drain() {
        // Two connections: shouts from 0 to 4 s and from 1 s to 5 s, so the steady part is from
        // 1 s to 4 s; 10 echoes arrive in it, 5 outside.
        let t0 = Instant::now();
        let connection = |first: u64, last: u64| Outcome {
            made: true,
            counts: counts(5, 15, 0),
            first_send: Some(t0 + ms(first)),
            last_send: Some(t0 + ms(last)),
            last_heard: Some(t0 + ms(last + 100)),
            ..Outcome::default()
        };
        let outcomes = [connection(0, 4000), connection(1000, 5000)];
        let mut m = Measurements::new();
        let mut batch = Samples::default();
        for arrival in [500, 900, 4000, 4500, 4999]
            .into_iter()
            .chain((0..10).map(|i| 1000 + i * 300))
        {
            batch.push_echo(Voice::Upper, ms(1), ms(1), ms(arrival));
        }
        m.add(&mut batch);
        let no_wrong = WrongExamples::default();
        let r = build_report(
            &config(Pace::Interval(ms(1000))),
            &collected(&outcomes, t0, &m, &no_wrong),
        );
        assert_eq!(r.steady_s, 3.0);
        let steady = r.steady_echo_lines_per_s.expect("a steady part");
        assert!((steady - 10.0 / 3.0).abs() < 1e-9, "{steady}");
        assert!(
            r.table()
                .contains("3 steady (the 3.00s between ramp-up and drain)"),
            "{}",
            r.table()
        );
        // One connection whose shouts end before another's begin: no steady part.
        let apart = [connection(0, 1000), connection(2000, 3000)];
        let r = build_report(
            &config(Pace::Interval(ms(1000))),
            &collected(&apart, t0, &m, &no_wrong),
        );
        assert_eq!((r.steady_echo_lines_per_s, r.steady_s), (None, 0.0));
    }

    /// A failed handshake is a failed connection, counted apart from the connects that failed
    /// and listed with its reason; handshake times stand beside connect times.
    #[test]
    fn handshakes_are_timed_and_their_failures_counted_apart() {
        let t0 = Instant::now();
        let not_trusted = || ConnectionError::Handshake {
            reason: "the server's certificate is not signed by a CA this machine trusts".into(),
        };
        let outcomes = [
            Outcome {
                made: true,
                counts: counts(1, 3, 0),
                first_send: Some(t0),
                last_heard: Some(t0 + ms(2000)),
                ..Outcome::default()
            },
            Outcome {
                error: Some(not_trusted()),
                ..Outcome::default()
            },
            Outcome {
                error: Some(not_trusted()),
                ..Outcome::default()
            },
            Outcome {
                error: Some(refused()),
                ..Outcome::default()
            },
        ];
        let mut measured = lateness(&[(Voice::Upper, 100)]);
        let mut batch = Samples::default();
        batch.push_handshake(Duration::from_micros(2000));
        measured.add(&mut batch);
        let no_wrong = WrongExamples::default();
        let r = build_report(
            &config(Pace::Interval(ms(250))),
            &collected(&outcomes, t0, &measured, &no_wrong),
        );
        let c = &r.connections;
        assert_eq!((c.made, c.failed, c.handshake_failed), (1, 3, 2));
        let table = r.table();
        for line in [
            "connections  1 made, 3 failed (2 in the handshake), 0 dropped (of 4 attempted)\n",
            "connect      p50 0.300ms, p99 0.300ms, max 0.300ms\n",
            "handshake    p50 2.000ms, p99 2.000ms, max 2.000ms\n",
            "error        2 x handshake: the server's certificate is not signed by a CA this \
             machine trusts\n",
        ] {
            assert!(table.contains(line), "{line}is not in\n{table}");
        }
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["connections"]["handshake_failed"], 2);
        assert_eq!(v["handshake_time"]["max_ms"], 2.0);
        assert!(!r.ok);
    }

    #[test]
    fn the_json_keeps_every_field_of_schema_1_and_adds_the_new_ones() {
        let v: serde_json::Value = serde_json::from_str(&troubled_run().json()).unwrap();
        for field in [
            "target",
            "settings",
            "connections",
            "shouts_sent",
            "echo_lines",
            "elapsed_s",
            "echo_lines_per_s",
            "lateness",
            "bench_cpu",
            "wrong_examples",
            "errors",
            "ok",
        ] {
            assert!(v.get(field).is_some(), "{field} is kept");
        }
        for voice in ["upper", "original", "lower", "all"] {
            for figure in ["count", "p50_ms", "p99_ms", "p99_9_ms", "max_ms"] {
                assert!(v["lateness"][voice][figure].is_number(), "{voice} {figure}");
            }
        }
        assert_eq!(v["schema_version"], 5);
        for (section, field) in [
            ("connections", "reset"),
            ("connections", "closed_early"),
            ("connections", "stalled"),
            ("echo_lines", "late"),
            ("echo_lines", "corrupted"),
            ("settings", "allow_faults"),
        ] {
            assert!(
                !v[section][field].is_null(),
                "schema 3 adds {section}.{field}"
            );
        }
        assert_eq!(v["echo_lines"]["not_yet_due"], 0, "added in 3");
        assert_eq!(v["connections"]["handshake_failed"], 0, "schema 5 adds it");
        assert_eq!(v["handshake_time"]["count"], 0, "schema 5 adds it");
        assert_eq!(v["started_at"], "2027-01-15T08:00:00.000Z");
        assert_eq!(v["lateness_measured_from"], "plan");
        assert_eq!(v["lateness"]["upper"]["max_ms"], 0.3);
        assert_eq!(v["lateness_from_send"]["upper"]["max_ms"], 0.15);
        assert_eq!(v["lateness"]["upper"]["too_few_samples_for"][0], "p90_ms");
        assert_eq!(v["send_slip"]["max_ms"], 0.06);
        assert_eq!(v["connect_time"]["p99_ms"], 0.3);
        assert_eq!(v["early_by"]["max_ms"], 2.0);
        assert_eq!(v["failed_checks"][0], "8 missing");
        assert_eq!(v["cut_short"], false);
        assert!(v["steady_echo_lines_per_s"].is_null());
        assert!(v.get("measurements").is_none(), "the histograms stay out");
    }

    /// The fields held as enums are written as schema 2's words, byte for byte.
    #[test]
    fn the_json_writes_errors_modes_and_percentile_names_as_the_words_of_schema_2() {
        let json = troubled_run().json();
        for fragment in [
            "\n    \"expect\": \"reverb\"\n  },\n",
            "\n  \"lateness_measured_from\": \"plan\",\n",
            "\"too_few_samples_for\": [\n        \"p90_ms\",\n        \"p99_ms\",\n        \
             \"p99_9_ms\",\n        \"p99_99_ms\"\n      ]\n",
            r#"
  "errors": [
    {
      "error": "connect to 127.0.0.1:7: refused",
      "count": 2
    },
    {
      "error": "read: reset",
      "count": 1
    },
    {
      "error": "server closed the connection with 5 echo lines owed",
      "count": 1
    }
  ],
"#,
        ] {
            assert!(json.contains(fragment), "{fragment}\nis not in\n{json}");
        }
        let (nothing, no_wrong) = (Measurements::new(), WrongExamples::default());
        let plain = BenchConfig {
            expect: Expect::Plain,
            ..config(Pace::Window(8))
        };
        let json =
            build_report(&plain, &collected(&[], Instant::now(), &nothing, &no_wrong)).json();
        for fragment in [
            "\n    \"expect\": \"plain\"\n  },\n",
            "\n  \"lateness_measured_from\": \"send\",\n",
        ] {
            assert!(json.contains(fragment), "{fragment}\nis not in\n{json}");
        }
    }

    #[test]
    fn a_run_cut_short_says_so_and_is_not_ok() {
        let t0 = Instant::now();
        let outcomes = [Outcome {
            made: true,
            counts: counts(4, 12, 0),
            first_send: Some(t0),
            last_heard: Some(t0 + ms(3000)),
            ..Outcome::default()
        }];
        let (nothing, no_wrong) = (Measurements::new(), WrongExamples::default());
        let r = build_report(
            &config(Pace::Interval(ms(250))),
            &Collected {
                cut_short: true,
                ..collected(&outcomes, t0, &nothing, &no_wrong)
            },
        );
        assert!(!r.ok && r.cut_short);
        assert!(r.failed_checks.is_empty(), "{:?}", r.failed_checks);
        assert!(
            r.table().ends_with(
                "result       CUT SHORT by a stop signal: the figures are what was measured until then\n"
            ),
            "{}",
            r.table()
        );
    }

    #[test]
    fn what_a_faulty_server_did_is_counted_by_name() {
        let t0 = Instant::now();
        let damaged = |damage: Option<Damage>, late: u64, corrupted: u64| Outcome {
            made: true,
            dropped: matches!(damage, Some(Damage::Reset | Damage::ClosedEarly)),
            counts: LedgerCounts {
                late,
                corrupted,
                ..counts(4, 10, corrupted)
            },
            missing: 2,
            first_send: Some(t0),
            last_heard: Some(t0 + ms(1000)),
            damage,
            ..Outcome::default()
        };
        let outcomes = [
            damaged(Some(Damage::Reset), 0, 0),
            damaged(Some(Damage::Reset), 1, 0),
            damaged(Some(Damage::ClosedEarly), 0, 1),
            damaged(Some(Damage::Stalled), 0, 0),
            damaged(None, 3, 2),
        ];
        let (nothing, no_wrong) = (Measurements::new(), WrongExamples::default());
        let r = build_report(
            &config(Pace::Interval(ms(250))),
            &collected(&outcomes, t0, &nothing, &no_wrong),
        );
        let c = &r.connections;
        assert_eq!(
            (c.reset, c.closed_early, c.stalled, c.dropped),
            (2, 1, 1, 3)
        );
        assert_eq!((r.echo_lines.late, r.echo_lines.corrupted), (4, 3));
        assert!(!r.ok);
        assert!(r.clone().with_faults_allowed(true).ok);
    }

    #[test]
    fn a_run_cut_short_counts_the_echoes_not_yet_due_apart_from_the_missing() {
        // 50 shouts sent, 140 lines heard; of the 10 owed at the cut, 9 were not yet due.
        let t0 = Instant::now();
        let outcomes = [Outcome {
            made: true,
            counts: counts(50, 140, 0),
            missing: 1,
            not_yet_due: 9,
            first_send: Some(t0),
            last_heard: Some(t0 + ms(3000)),
            ..Outcome::default()
        }];
        let (nothing, no_wrong) = (Measurements::new(), WrongExamples::default());
        let r = build_report(
            &config(Pace::Interval(ms(250))),
            &Collected {
                cut_short: true,
                ..collected(&outcomes, t0, &nothing, &no_wrong)
            },
        );
        let t = r.table();
        assert!(
            t.contains(
                "echo lines   150 expected, 140 received, 1 missing, 0 wrong, 9 not yet due when \
                 cut short\n"
            ),
            "{t}"
        );
        assert_eq!(r.failed_checks, ["1 missing"]);
        assert!(
            t.ends_with("result       CUT SHORT by a stop signal, until then: 1 missing\n"),
            "{t}"
        );
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["echo_lines"]["not_yet_due"], 9);
        assert_eq!(v["echo_lines"]["missing"], 1);
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
