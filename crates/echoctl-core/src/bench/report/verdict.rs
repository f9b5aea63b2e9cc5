//! The verdict on a run: the checks it fails (and what `--allow-faults`, `--max-loss` and
//! `--max-p99` let pass), the result line, and the hint that the server's delay is longer than
//! the bench was told.

use std::time::Duration;

use super::{LatenessReport, Report, ms, percent, percent_text, setting_ms};
use crate::plural::counted;

impl Report {
    /// The checks this run fails, each with its count: missing, wrong or early echo lines,
    /// connections failed or dropped, and p99 lateness over `--max-p99`.
    ///
    /// With `--allow-faults`, the damage a faulty server does on purpose passes: echo lines
    /// missing, wrong lines one byte off an echo owed (corrupted), connections reset, closed
    /// early or stalled. What no fault does still fails: any other wrong line, an early one, a
    /// connect that failed, a connection dropped otherwise, a p99 over `--max-p99`.
    pub fn failed_checks(&self) -> Vec<String> {
        let e = &self.echo_lines;
        let c = &self.connections;
        let allow = self.settings.allow_faults;
        let mut failed = Vec::new();
        let missing = e
            .missing
            .max(e.expected.saturating_sub(e.received + e.not_yet_due));
        let wrong = if allow {
            e.wrong.saturating_sub(e.corrupted)
        } else {
            e.wrong
        };
        let missing = if allow { 0 } else { missing };
        match self.settings.max_loss_percent {
            // Over UDP a loss within --max-loss passes; a loss over it is said as one.
            Some(max_loss) => {
                let share = percent(missing, e.expected);
                if missing > 0 && share > max_loss {
                    failed.push(format!(
                        "{missing} lost ({}, over the --max-loss of {}%)",
                        percent_text(share),
                        max_loss
                    ));
                }
            }
            None if missing > 0 => failed.push(format!("{missing} missing")),
            None => {}
        }
        for (count, what) in [(wrong, "wrong"), (e.early, "early")] {
            if count > 0 {
                failed.push(format!("{count} {what}"));
            }
        }
        if let Some(longer) = self.delay_looks_longer_by_ms {
            failed.push(format!(
                "the server's delay looks {} longer than --delay",
                setting_ms(longer)
            ));
        }
        if c.failed > 0 {
            failed.push(format!("{} failed", counted(c.failed, "connection")));
        }
        let dropped = if allow {
            c.dropped.saturating_sub(c.reset + c.closed_early)
        } else {
            c.dropped
        };
        if dropped > 0 {
            failed.push(format!("{} dropped", counted(dropped, "connection")));
        }
        if let Some(limit) = self.settings.max_p99_ms {
            let over: Vec<String> = self
                .lateness
                .voices()
                .into_iter()
                .filter(|(_, p)| p.count > 0 && p.p99_ms > limit)
                .map(|(name, p)| format!("{name} {}", ms(p.p99_ms)))
                .collect();
            if !over.is_empty() {
                failed.push(format!(
                    "p99 lateness over the {} limit in {} ({})",
                    setting_ms(limit),
                    counted(over.len(), "voice"),
                    over.join(", ")
                ));
            }
        }
        failed
    }

    /// Whether the server passed every check: every echo line received, exactly and not early,
    /// on every connection, and no p99 over the limit.
    pub fn verdict(&self) -> bool {
        self.failed_checks().is_empty()
    }

    /// Sets the failed checks and `ok` from the figures.
    pub fn judge(&mut self) {
        self.failed_checks = self.failed_checks();
        self.ok = self.failed_checks.is_empty() && !self.cut_short;
    }

    /// The damage a faulty server does on purpose does not fail the run (`--allow-faults`).
    pub fn with_faults_allowed(mut self, allow: bool) -> Self {
        self.settings.allow_faults = allow;
        self.judge();
        self
    }

    /// The consequences of a faulty server, by name, when it shows any (or the run allows
    /// them): connections reset, closed early, stalled; echo lines missing, wrong (and of
    /// them, corrupted), late.
    pub fn faults_seen(&self) -> Option<String> {
        let c = &self.connections;
        let e = &self.echo_lines;
        let shows_any = c.reset + c.closed_early + c.stalled + e.late + e.corrupted > 0;
        if !shows_any && !self.settings.allow_faults {
            return None;
        }
        let late_after = ms(crate::bench::ledger::LATE_AFTER.as_secs_f64() * 1000.0);
        let wrong = if e.corrupted > 0 {
            format!(
                "{} wrong ({} one byte off an echo owed)",
                e.wrong, e.corrupted
            )
        } else {
            format!("{} wrong", e.wrong)
        };
        Some(format!(
            "{} reset, {} closed early, {} stalled; echo lines {} missing, {wrong}, {} late \
             (over {late_after} past due)",
            counted(c.reset, "connection"),
            c.closed_early,
            c.stalled,
            e.missing,
            e.late,
        ))
    }

    /// Over UDP, the run fails only when more than `percent` of the echo lines owed are lost
    /// (`--max-loss`, default 0). Nothing changes for a run over a stream.
    pub fn with_max_loss(mut self, percent: f64) -> Self {
        if self.datagrams.is_some() {
            self.settings.max_loss_percent = Some(percent);
            self.judge();
        }
        self
    }

    /// The run fails when the p99 lateness of any voice is over `limit` (`--max-p99`).
    pub fn with_max_p99(mut self, limit: Option<Duration>) -> Self {
        self.settings.max_p99_ms = limit.map(|limit| limit.as_secs_f64() * 1000.0);
        self.judge();
        self
    }

    /// The result line's text: the verdict, and which checks failed.
    pub(super) fn result(&self) -> String {
        let failed = self.failed_checks.join(", ");
        match (self.cut_short, self.ok) {
            (true, _) if failed.is_empty() => {
                "CUT SHORT by a stop signal: the figures are what was measured until then".into()
            }
            (true, _) => format!("CUT SHORT by a stop signal, until then: {failed}"),
            (false, true) if self.settings.allow_faults && self.faults_seen_any() => {
                "OK with --allow-faults: what arrived was right or the damage faults do".into()
            }
            (false, true) => "OK: every echo line received, byte for byte".into(),
            (false, false) if failed.is_empty() => "FAILED".into(),
            (false, false) => format!("FAILED: {failed}"),
        }
    }

    /// Whether the server did any of the damage faults do.
    pub(super) fn faults_seen_any(&self) -> bool {
        let c = &self.connections;
        let e = &self.echo_lines;
        c.reset + c.closed_early + c.stalled + e.missing + e.wrong + e.late > 0
    }
}

/// How much longer than `delay_ms` (`--delay`) the server's delay looks from the lateness of
/// each voice `from_send` (`None`: it does not).
///
/// Voice k of a shout is due k delays after its send. A server whose delay is D where the bench
/// was told d sends it k × D after, so voice k is late by k × (D − d) beside whatever else makes
/// every echo late: the original is later than the loud echo, and the quiet one later again, by
/// the same step. Load, queueing and a slow machine make all three voices late alike, so the
/// step between the voices' medians tells the delay apart from them. It counts when both steps
/// are at least a quarter of `--delay` (and 2 ms) and within a quarter of each other: a busy
/// machine's timers and scheduling can grow from voice to voice by a tenth of a short delay, and
/// a wrong `--delay` is a step of the delay's own size. The step is given to two significant
/// digits.
pub fn delay_looks_longer_by(from_send: &LatenessReport, delay_ms: f64) -> Option<f64> {
    let [upper, original, lower] = from_send.voices().map(|(_, p)| p);
    if [upper, original, lower].iter().any(|p| p.count == 0) {
        return None;
    }
    let first = original.p50_ms - upper.p50_ms;
    let second = lower.p50_ms - original.p50_ms;
    let step = (first + second) / 2.0;
    let least = (delay_ms / 4.0).max(2.0);
    let alike = (first - second).abs() <= step / 4.0;
    if first < least || second < least || !alike {
        return None;
    }
    let step = crate::duration::round_estimate(std::time::Duration::from_secs_f64(step / 1000.0));
    Some(step.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{p, report, udp_report};
    use super::*;
    use crate::bench::lateness::Percentiles;

    #[test]
    fn over_udp_a_loss_within_max_loss_passes_and_a_loss_on_loopback_names_its_cause() {
        let r = udp_report(0, true).with_max_loss(0.0);
        assert!(r.ok, "{:?}", r.failed_checks);
        assert!(
            r.table()
                .contains("datagrams    0 lost (0%), 1 duplicated, 2 reordered\n")
        );
        let r = udp_report(3, true).with_max_loss(0.0);
        assert_eq!(
            r.failed_checks,
            ["3 lost (10.0%, over the --max-loss of 0%)"]
        );
        let table = r.table();
        assert!(
            table.contains("datagrams    3 lost (10.0%), 1 duplicated"),
            "{table}"
        );
        assert!(table.contains("lost on loopback"), "{table}");
        assert!(table.contains("SO_RCVBUF"), "{table}");
        let r = udp_report(3, false).with_max_loss(10.0);
        assert!(r.ok, "10% may be lost: {:?}", r.failed_checks);
        assert!(!r.table().contains("lost on loopback"));
        let r = udp_report(4, false).with_max_loss(10.0);
        assert_eq!(
            r.failed_checks,
            ["4 lost (13.3%, over the --max-loss of 10%)"]
        );
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["datagrams"]["lost"], 4);
        assert_eq!(v["datagrams"]["duplicated"], 1);
        assert_eq!(v["settings"]["max_loss_percent"], 10.0);
        // Over a stream, --max-loss changes nothing, and the JSON has neither field.
        let r = report().with_max_loss(50.0);
        assert_eq!(r.settings.max_loss_percent, None);
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert!(v.get("datagrams").is_none());
        assert!(v["settings"].get("max_loss_percent").is_none());
    }

    #[test]
    fn verdict_needs_every_line_and_every_connection() {
        let mut r = report();
        assert!(r.verdict());
        r.echo_lines.missing = 1;
        r.echo_lines.received = 29;
        assert!(!r.verdict());
        let mut r = report();
        r.echo_lines.wrong = 1;
        assert!(!r.verdict());
        let mut r = report();
        r.connections.failed = 1;
        assert!(!r.verdict());
        let mut r = report();
        r.connections.dropped = 1;
        assert!(!r.verdict());
        let mut r = report();
        r.echo_lines.out_of_order = 3;
        assert!(r.verdict(), "out of order is reported, not a failure");
        let mut r = report();
        r.echo_lines.early = 2;
        assert!(!r.verdict(), "an echo before it is due is a wrong answer");
    }

    /// A run against a faulty server: what faults do fails it unless allowed; what they do not
    /// fails it either way.
    #[test]
    fn allowed_faults_pass_the_damage_faults_do_and_nothing_else() {
        let mut r = report();
        r.connections.dropped = 2;
        r.connections.reset = 1;
        r.connections.closed_early = 1;
        r.connections.stalled = 1;
        r.echo_lines.received = 20;
        r.echo_lines.missing = 10;
        r.echo_lines.wrong = 3;
        r.echo_lines.corrupted = 3;
        r.echo_lines.late = 4;
        r.judge();
        assert_eq!(
            r.failed_checks,
            ["10 missing", "3 wrong", "2 connections dropped"]
        );
        let t = r.table();
        assert!(
            t.contains(
                "faults seen  1 connection reset, 1 closed early, 1 stalled; echo lines 10 \
                 missing, 3 wrong (3 one byte off an echo owed), 4 late (over 100ms past due)\n"
            ),
            "{t}"
        );
        let allowed = r.clone().with_faults_allowed(true);
        assert!(allowed.ok, "{:?}", allowed.failed_checks);
        assert!(
            allowed.table().ends_with(
                "result       OK with --allow-faults: what arrived was right or the damage \
                 faults do\n"
            ),
            "{}",
            allowed.table()
        );
        for (change, failed) in [
            (
                (|r: &mut Report| r.echo_lines.wrong = 4) as fn(&mut Report),
                "1 wrong",
            ),
            (|r| r.echo_lines.early = 1, "1 early"),
            (|r| r.connections.failed = 1, "1 connection failed"),
            (|r| r.connections.dropped = 3, "1 connection dropped"),
        ] {
            let mut r = allowed.clone();
            change(&mut r);
            r.judge();
            assert_eq!(r.failed_checks, [failed]);
        }
        let clean = report().with_faults_allowed(true);
        assert!(clean.ok);
        assert!(
            clean
                .table()
                .contains("result       OK: every echo line received"),
            "{}",
            clean.table()
        );
    }

    #[test]
    fn the_result_line_names_each_failed_check_with_its_count() {
        let mut r = report();
        r.echo_lines.missing = 3;
        r.echo_lines.received = 27;
        r.echo_lines.wrong = 1;
        r.echo_lines.early = 2;
        r.connections.failed = 1;
        r.connections.dropped = 2;
        r.judge();
        assert!(!r.ok);
        assert_eq!(
            r.failed_checks,
            [
                "3 missing",
                "1 wrong",
                "2 early",
                "1 connection failed",
                "2 connections dropped"
            ]
        );
        let t = r.table();
        assert!(
            t.ends_with(
                "result       FAILED: 3 missing, 1 wrong, 2 early, 1 connection failed, 2 connections dropped\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn max_p99_fails_a_run_over_it_in_any_voice_and_passes_one_under_it() {
        let r = report().with_max_p99(Some(Duration::from_micros(250)));
        assert!(!r.ok);
        assert_eq!(
            r.failed_checks,
            ["p99 lateness over the 250us limit in 1 voice (lower 0.300ms)"]
        );
        assert_eq!(r.settings.max_p99_ms, Some(0.25));
        let r = report().with_max_p99(Some(Duration::from_micros(300)));
        assert!(r.ok, "at the limit is not over it: {:?}", r.failed_checks);
        let r = report().with_max_p99(Some(Duration::from_micros(150)));
        assert!(r.failed_checks[0].contains("in 2 voices (original 0.200ms, lower 0.300ms)"));
    }

    /// Lateness by voice with these medians (in ms), from the send.
    fn medians(upper: f64, original: f64, lower: f64) -> LatenessReport {
        let median = |ms| Percentiles {
            p50_ms: ms,
            ..p(ms)
        };
        LatenessReport {
            upper: median(upper),
            original: median(original),
            lower: median(lower),
            all: median(lower),
        }
    }

    #[test]
    fn a_delay_longer_than_told_shows_as_a_step_from_voice_to_voice() {
        // Told 500 ms, the server waits 1 s: each voice 500 ms later than the one before.
        let longer = delay_looks_longer_by(&medians(0.3, 500.4, 1000.2), 500.0);
        assert_eq!(longer, Some(500.0));
        // Two significant digits, beside whatever makes every voice late.
        assert_eq!(
            delay_looks_longer_by(&medians(20.0, 121.3, 222.9), 100.0),
            Some(100.0)
        );
        assert_eq!(
            delay_looks_longer_by(&medians(0.1, 2.6, 5.2), 0.0),
            Some(3.0),
            "told 0, a server that waits 2.5 ms: rounded to the millisecond"
        );
        // Late alike (load, queueing): no step.
        assert_eq!(
            delay_looks_longer_by(&medians(80.0, 81.0, 79.0), 1000.0),
            None
        );
        // One voice late (a slow quiet echo): the steps differ.
        assert_eq!(delay_looks_longer_by(&medians(0.2, 0.3, 150.0), 0.0), None);
        assert_eq!(
            delay_looks_longer_by(&medians(0.0, 100.0, 300.0), 100.0),
            None
        );
        // Steps below a quarter of the delay are a busy machine's overshoot, not a delay.
        assert_eq!(delay_looks_longer_by(&medians(0.0, 9.0, 18.0), 100.0), None);
        assert_eq!(
            delay_looks_longer_by(&medians(1.0, 12.0, 23.0), 100.0),
            None,
            "an 11 ms step at 100 ms, seen on a loaded machine"
        );
        assert_eq!(
            delay_looks_longer_by(&medians(1.0, 31.0, 61.0), 100.0),
            Some(30.0)
        );
        // A voice not heard: nothing to tell.
        let mut unheard = medians(0.3, 500.4, 1000.2);
        unheard.lower.count = 0;
        assert_eq!(delay_looks_longer_by(&unheard, 500.0), None);
    }

    #[test]
    fn a_delay_that_looks_longer_fails_the_run_and_says_what_it_looks_like() {
        let mut r = report();
        r.settings.delay_ms = 500.0;
        r.delay_looks_longer_by_ms = Some(500.0);
        r.judge();
        assert!(!r.ok);
        assert_eq!(
            r.failed_checks,
            ["the server's delay looks 500ms longer than --delay"]
        );
        let t = r.table();
        assert!(
            t.contains(
                "warning      each voice is about 500ms later than the one before: is the \
                 server's delay longer than --delay? It looks like 1s\n"
            ),
            "{t}"
        );
        assert!(
            t.ends_with(
                "result       FAILED: the server's delay looks 500ms longer than --delay\n"
            ),
            "{t}"
        );
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["delay_looks_longer_by_ms"], 500.0);
    }
}
