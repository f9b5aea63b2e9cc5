//! The result of a bench run: counts, lateness and the bench's own cost, as a table for people
//! and as JSON for scripts.
//!
//! Pure: the load generator fills a [`Report`] in; formatting and the verdict live here.

use std::fmt::Write;

use serde::Serialize;

use super::lateness::Percentiles;

/// Everything a run measured. Serialized as is for `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
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
    pub lateness: LatenessReport,
    /// The bench's own CPU time and memory, so its cost next to the server is known.
    pub bench_cpu: Option<CpuUse>,
    /// The first few wrong lines, escaped, to show what went wrong.
    pub wrong_examples: Vec<String>,
    /// Connection errors, by message, most frequent first.
    pub errors: Vec<ErrorCount>,
    /// Nothing missing, nothing wrong, no connection failed or dropped.
    pub ok: bool,
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
    /// What the server was expected to send back: `reverb` or `plain`.
    pub expect: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Connections {
    /// Connections attempted (fewer than asked if `--duration` ended the ramp-up).
    pub attempted: u64,
    pub made: u64,
    pub failed: u64,
    /// Made, then closed by the server or reset before every echo arrived.
    pub dropped: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EchoLines {
    /// Three per shout sent.
    pub expected: u64,
    pub received: u64,
    pub missing: u64,
    pub wrong: u64,
    /// Matched a younger shout while an older one was still owed the same voice.
    pub out_of_order: u64,
    /// Arrived before they were due: the server's delay is shorter than `--delay`.
    pub early: u64,
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
    pub error: String,
    pub count: u64,
}

impl Report {
    /// Whether the server passed: every echo line received, exactly, on every connection.
    pub fn verdict(&self) -> bool {
        self.echo_lines.missing == 0
            && self.echo_lines.wrong == 0
            && self.connections.failed == 0
            && self.connections.dropped == 0
            && self.echo_lines.received == self.echo_lines.expected
    }

    /// The plain table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let s = &self.settings;
        let pace = match (s.window, s.interval_ms) {
            (Some(window), _) => format!("{window} in flight each"),
            (None, Some(interval)) => format!("every {}", ms(interval)),
            (None, None) => String::new(),
        };
        let server = match s.expect {
            "plain" => "plain echo".to_string(),
            _ => format!("server delay {}", ms(s.delay_ms)),
        };
        let _ = writeln!(
            t,
            "echoctl bench {}: {} connections x {} shouts, {pace}, {server}",
            self.target, s.connections, s.shouts_per_connection,
        );
        let c = &self.connections;
        let _ = writeln!(
            t,
            "connections  {} made, {} failed, {} dropped (of {} attempted)",
            c.made, c.failed, c.dropped, c.attempted
        );
        let _ = writeln!(t, "shouts       {} sent", self.shouts_sent);
        let e = &self.echo_lines;
        let _ = writeln!(
            t,
            "echo lines   {} expected, {} received, {} missing, {} wrong",
            e.expected, e.received, e.missing, e.wrong
        );
        if e.out_of_order > 0 || e.early > 0 {
            let _ = writeln!(
                t,
                "             {} out of order, {} early{}",
                e.out_of_order,
                e.early,
                if e.early > 0 {
                    " (is the server's delay shorter than --delay?)"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(
            t,
            "rate         {:.0} echo lines/s, {:.2} s in all",
            self.echo_lines_per_s, self.elapsed_s
        );
        let _ = writeln!(
            t,
            "lateness     {:>10} {:>10} {:>10} {:>10} {:>10}",
            "count", "p50", "p99", "p99.9", "max"
        );
        let l = &self.lateness;
        for (name, p) in [
            ("upper", &l.upper),
            ("original", &l.original),
            ("lower", &l.lower),
            ("all", &l.all),
        ] {
            // A plain echo has one voice, the shout as sent.
            if s.expect == "plain" && matches!(name, "upper" | "lower") {
                continue;
            }
            let _ = writeln!(
                t,
                "  {name:<10} {:>10} {:>10} {:>10} {:>10} {:>10}",
                p.count,
                ms(p.p50_ms),
                ms(p.p99_ms),
                ms(p.p99_9_ms),
                ms(p.max_ms)
            );
        }
        if let Some(cpu) = &self.bench_cpu {
            let _ = writeln!(
                t,
                "bench cost   {:.2} s user + {:.2} s system = {:.0}% of one core, {:.2} us per echo line, peak RSS {:.1} MB",
                cpu.user_s,
                cpu.system_s,
                cpu.percent_of_one_core,
                cpu.us_per_echo_line,
                cpu.peak_rss_mb
            );
        }
        for error in &self.errors {
            let _ = writeln!(t, "error        {} x {}", error.count, error.error);
        }
        for example in &self.wrong_examples {
            let _ = writeln!(t, "wrong line   {example}");
        }
        let _ = writeln!(
            t,
            "result       {}",
            if self.ok {
                "OK: every echo line received, byte for byte"
            } else {
                "FAILED: echo lines missing or wrong, or connections failed"
            }
        );
        t
    }

    pub fn json(&self) -> String {
        // Serializing plain structs of numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Milliseconds, with precision where it matters: `0.214 ms`, `12.3 ms`, `1000 ms`.
fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.3} ms")
    } else if value < 100.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.0} ms")
    }
}

/// A received line as printable ASCII, for the wrong-line examples.
pub fn escape_line(line: &[u8]) -> String {
    let shown = &line[..line.len().min(120)];
    let mut text: String = shown.escape_ascii().to_string();
    if line.len() > shown.len() {
        text.push_str("...");
    }
    format!("\"{text}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ms: f64) -> Percentiles {
        Percentiles {
            count: 10,
            p50_ms: ms,
            p99_ms: ms,
            p99_9_ms: ms,
            max_ms: ms,
        }
    }

    fn report() -> Report {
        Report {
            target: "127.0.0.1:8000".into(),
            settings: Settings {
                connections: 2,
                shouts_per_connection: 5,
                interval_ms: Some(1000.0),
                window: None,
                delay_ms: 1000.0,
                expect: "reverb",
                ramp_up_ms: 1000.0,
                duration_cap_ms: None,
            },
            connections: Connections {
                attempted: 2,
                made: 2,
                failed: 0,
                dropped: 0,
            },
            shouts_sent: 10,
            echo_lines: EchoLines {
                expected: 30,
                received: 30,
                ..EchoLines::default()
            },
            elapsed_s: 7.0,
            echo_lines_per_s: 4.5,
            lateness: LatenessReport {
                upper: p(0.1),
                original: p(0.2),
                lower: p(0.3),
                all: p(0.3),
            },
            bench_cpu: None,
            wrong_examples: vec![],
            errors: vec![],
            ok: true,
        }
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
    }

    #[test]
    fn table_shows_counts_percentiles_and_the_verdict() {
        let t = report().table();
        assert!(
            t.contains("30 expected, 30 received, 0 missing, 0 wrong"),
            "{t}"
        );
        assert!(t.contains("2 made, 0 failed, 0 dropped"), "{t}");
        assert!(t.contains("0.300 ms"), "{t}");
        assert!(t.contains("result       OK"), "{t}");
        assert!(!t.contains("early"), "{t}");
        let mut r = report();
        r.ok = false;
        r.echo_lines.early = 2;
        r.wrong_examples.push(escape_line(b"\tbad\n"));
        let t = r.table();
        assert!(t.contains("FAILED"), "{t}");
        assert!(t.contains("2 early (is the server's delay shorter"), "{t}");
        assert!(t.contains(r#"wrong line   "\tbad\n""#), "{t}");
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
    fn milliseconds_are_readable() {
        assert_eq!(ms(0.2144), "0.214 ms");
        assert_eq!(ms(12.34), "12.3 ms");
        assert_eq!(ms(1000.0), "1000 ms");
        assert_eq!(escape_line(&[b'a'; 200]).len(), 2 + 120 + 3);
    }
}
