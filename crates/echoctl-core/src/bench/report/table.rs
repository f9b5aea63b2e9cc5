//! The plain table printed at the end of a run: its lines, wrapped at word boundaries on a
//! narrow terminal, around the lateness grid (`grid`), which keeps the columns that fit.

mod grid;

use std::fmt::Write;

use super::{Datagrams, Report, ms, percent_text, setting_ms};
use crate::bench::Expect;
use crate::bench::lateness::Summary;
use crate::plural::counted;

use grid::Column;

impl Report {
    /// The line the table gives the datagrams of a UDP run, with the likely cause of a loss
    /// on loopback.
    fn datagrams_line(&self, d: &Datagrams) -> String {
        let mut line = format!(
            "{} lost ({}), {} duplicated, {} reordered",
            d.lost,
            percent_text(d.lost_percent),
            d.duplicated,
            d.reordered
        );
        if d.lost > 0 && d.loopback {
            line.push_str(
                "\n             lost on loopback, where nothing is lost on the way: a receive \
                 buffer\n             overflowed, the server's or the bench's (SO_RCVBUF; the \
                 system caps it\n             at net.core.rmem_max); a slower --rate or a smaller \
                 --window loses less",
            );
        }
        line
    }

    /// The plain table printed at the end of a run, for a file or a wide terminal.
    pub fn table(&self) -> String {
        self.table_for(None)
    }

    /// [`table`](Report::table) for a terminal `columns` wide (`None`: no terminal). Where it
    /// does not fit, the lateness grid keeps the columns that fit, the most telling first (p50,
    /// p99, max, p99.9, p90, mean, p99.99, min; two at least), and the other lines wrap at
    /// word boundaries under their label's column, so nothing is left to the terminal to wrap
    /// mid-word.
    pub fn table_for(&self, columns: Option<usize>) -> String {
        let full = self.render(&Column::ALL, None);
        let Some(width) = columns else {
            return full;
        };
        if full.lines().all(|line| line.chars().count() <= width) {
            return full;
        }
        // A row is 18 columns of name and count, then 10 a cell (the last one's mark column
        // left blank at the end).
        let fit = (width.saturating_sub(17) / 10).clamp(2, Column::ALL.len());
        let kept = &Column::BY_IMPORTANCE[..fit];
        let columns: Vec<Column> = Column::ALL
            .into_iter()
            .filter(|column| kept.contains(column))
            .collect();
        self.render(&columns, Some(width))
    }

    /// The table with these lateness `columns`, its other lines wrapped to `width` if given.
    fn render(&self, columns: &[Column], width: Option<usize>) -> String {
        let mut t = Page {
            text: String::new(),
            line: String::new(),
            width,
        };
        let s = &self.settings;
        let pace = match (s.window, s.interval_ms) {
            (Some(window), _) => format!("{window} in flight each"),
            (None, Some(interval)) => format!("every {}", setting_ms(interval)),
            (None, None) => String::new(),
        };
        let server = match s.expect {
            Expect::Plain => "plain echo".to_string(),
            Expect::Reverb => format!("server delay {}", setting_ms(s.delay_ms)),
        };
        let _ = writeln!(
            t,
            "echoctl bench {}: {} x {}, {pace}, {server}",
            self.target,
            counted(s.connections, "connection"),
            counted(s.shouts_per_connection, "shout"),
        );
        let c = &self.connections;
        let three_figures = |times: &Summary| {
            format!(
                "p50 {}, p99 {}, max {}",
                ms(times.p50_ms),
                ms(times.p99_ms),
                ms(times.max_ms)
            )
        };
        let in_handshake = if c.handshake_failed > 0 {
            format!(" ({} in the handshake)", c.handshake_failed)
        } else {
            String::new()
        };
        let _ = writeln!(
            t,
            "connections  {} made, {} failed{in_handshake}, {} dropped (of {} attempted)",
            c.made, c.failed, c.dropped, c.attempted
        );
        if self.connect_time.count > 0 {
            let _ = writeln!(t, "connect      {}", three_figures(&self.connect_time));
        }
        if self.handshake_time.count > 0 {
            let _ = writeln!(t, "handshake    {}", three_figures(&self.handshake_time));
        }
        let pacing = match &self.send_slip {
            Some(slip) if slip.count > 0 => format!(
                " on schedule; behind the plan p50 {}, p99 {}, max {}",
                ms(slip.p50_ms),
                ms(slip.p99_ms),
                ms(slip.max_ms)
            ),
            Some(_) => String::new(),
            None if self.shouts_sent > 0 => {
                ", closed loop (each waits for room in the window)".to_string()
            }
            None => String::new(),
        };
        let _ = writeln!(t, "shouts       {} sent{pacing}", self.shouts_sent);
        if let Some(warning) = self.slip_warning() {
            let _ = writeln!(t, "warning      {warning}");
        }
        if let Some(longer) = self.delay_looks_longer_by_ms {
            let _ = writeln!(
                t,
                "warning      each voice is about {} later than the one before: is the server's \
                 delay longer than --delay? It looks like {}",
                setting_ms(longer),
                setting_ms(s.delay_ms + longer)
            );
        }
        let e = &self.echo_lines;
        let not_yet_due = if e.not_yet_due > 0 {
            format!(", {} not yet due when cut short", e.not_yet_due)
        } else {
            String::new()
        };
        let _ = writeln!(
            t,
            "echo lines   {} expected, {} received, {} missing, {} wrong{not_yet_due}",
            e.expected, e.received, e.missing, e.wrong
        );
        if let Some(datagrams) = &self.datagrams {
            let _ = writeln!(t, "datagrams    {}", self.datagrams_line(datagrams));
        }
        if let Some(seen) = self.faults_seen() {
            let _ = writeln!(t, "faults seen  {seen}");
        }
        if e.out_of_order > 0 || e.early > 0 {
            let by = if self.early_by.count > 0 {
                format!(" by up to {}", ms(self.early_by.max_ms))
            } else {
                String::new()
            };
            let early = if e.early > 0 {
                format!("{by} (is the server's delay shorter than --delay?)")
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "             {} out of order, {} early{early}",
                e.out_of_order, e.early,
            );
        }
        let steady = match self.steady_echo_lines_per_s {
            Some(rate) => format!(
                "; {rate:.0} steady (the {:.2}s between ramp-up and drain)",
                self.steady_s
            ),
            None => String::new(),
        };
        let _ = writeln!(
            t,
            "rate         {:.0} echo lines/s, {:.2}s in all{steady}",
            self.echo_lines_per_s, self.elapsed_s
        );
        self.lateness_rows(&mut t, columns);
        if let Some(cpu) = &self.bench_cpu {
            // With no echo line heard, a cost per line says nothing.
            let per_line = if self.echo_lines.received == 0 {
                String::new()
            } else {
                format!(", {:.2}us per echo line", cpu.us_per_echo_line)
            };
            let _ = writeln!(
                t,
                "bench cost   {:.2}s user + {:.2}s system = {:.0}% of one core{per_line}, peak RSS {:.1} MB",
                cpu.user_s, cpu.system_s, cpu.percent_of_one_core, cpu.peak_rss_mb
            );
        }
        for error in &self.errors {
            let _ = writeln!(t, "error        {} x {}", error.count, error.error);
        }
        for example in &self.wrong_examples {
            let _ = writeln!(t, "wrong line   {example}");
        }
        let _ = writeln!(t, "result       {}", self.result());
        t.text
    }

    /// The warning when the bench fell behind its schedule by more than a tenth of the interval
    /// at p99.
    pub fn slip_warning(&self) -> Option<String> {
        let slip = self.send_slip.as_ref()?;
        let interval = self.settings.interval_ms?;
        (slip.count > 0 && slip.p99_ms > interval / 10.0).then(|| {
            format!(
                "the bench fell behind its schedule, p99 {} > a tenth of {}: figures include that",
                ms(slip.p99_ms),
                setting_ms(interval)
            )
        })
    }
}

/// Where the table is written: whole lines, each wrapped to `width` (if given) at word
/// boundaries under the label's column, and the lateness grid's rows, never wrapped.
struct Page {
    text: String,
    /// The line being written, until its `\n`.
    line: String,
    width: Option<usize>,
}

/// Where a wrapped line's rows after the first begin: under the text after the label.
const LABEL_WIDTH: usize = 13;

impl Page {
    /// A row of the lateness grid, as it is (but for the blanks at its end).
    fn row(&mut self, row: &str) {
        self.text.push_str(row.trim_end_matches(' '));
        self.text.push('\n');
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        match self.width {
            Some(width) => {
                for row in wrap(&line, width, LABEL_WIDTH) {
                    self.row(&row);
                }
            }
            None => self.row(&line),
        }
    }
}

impl Write for Page {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            self.line.push_str(first);
        }
        for next in lines {
            self.end_line();
            self.line.push_str(next);
        }
        Ok(())
    }
}

/// `line` in rows of at most `width` characters, broken at spaces (after the first `indent`
/// characters, the label), each row after the first indented by `indent`. A word longer than a
/// row is cut.
fn wrap(line: &str, width: usize, indent: usize) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut rows = Vec::new();
    let mut start = 0;
    loop {
        let lead = if rows.is_empty() { 0 } else { indent };
        let room = width.saturating_sub(lead).max(1);
        let rest = &chars[start..];
        let indent_text = " ".repeat(lead);
        if rest.len() <= room {
            rows.push(format!("{indent_text}{}", rest.iter().collect::<String>()));
            return rows;
        }
        // The last space that leaves something before it (beyond the label, on the first row).
        let least = if rows.is_empty() { indent + 1 } else { 1 };
        let cut = (least..=room).rev().find(|&i| rest[i] == ' ');
        let (end, next) = cut.map_or((room, room), |i| (i, i + 1));
        let row: String = rest[..end].iter().collect();
        rows.push(format!("{indent_text}{}", row.trim_end()));
        start += next;
        while chars.get(start) == Some(&' ') {
            start += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{report, summary};
    use super::*;
    use crate::bench::report::escape_line;

    #[test]
    fn a_bench_behind_its_schedule_is_warned_about() {
        let mut r = report();
        assert_eq!(r.slip_warning(), None);
        r.send_slip = Some(summary(101.0));
        let warning = r.slip_warning().expect("p99 slip over a tenth of 1000 ms");
        assert!(warning.contains("fell behind its schedule"), "{warning}");
        assert!(r.table().contains(&format!("warning      {warning}\n")));
        r.send_slip = Some(summary(100.0));
        assert_eq!(r.slip_warning(), None, "a tenth exactly is not over it");
    }

    #[test]
    fn table_shows_counts_percentiles_and_the_verdict() {
        let t = report().table();
        assert!(
            t.contains("30 expected, 30 received, 0 missing, 0 wrong"),
            "{t}"
        );
        assert!(t.contains("2 made, 0 failed, 0 dropped"), "{t}");
        assert!(t.contains("0.300ms"), "{t}");
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
    fn counts_of_one_are_singular() {
        let mut r = report();
        (r.settings.connections, r.settings.shouts_per_connection) = (1, 1);
        (r.connections.failed, r.connections.dropped) = (1, 1);
        r.judge();
        let t = r.table();
        assert!(
            t.starts_with("echoctl bench 127.0.0.1:8000: 1 connection x 1 shout, "),
            "{t}"
        );
        assert!(
            t.ends_with("FAILED: 1 connection failed, 1 connection dropped\n"),
            "{t}"
        );
    }

    #[test]
    fn lines_wrap_at_spaces_under_the_label_and_a_long_word_is_cut() {
        assert_eq!(
            wrap("rate         4 echo lines/s, 5.00s in all", 24, 13),
            [
                "rate         4 echo",
                "             lines/s,",
                "             5.00s in",
                "             all"
            ]
        );
        assert_eq!(
            wrap("wrong line   \"aaaaaaaaaaaaaaaaaaaa\"", 20, 13),
            [
                "wrong line   \"aaaaaa",
                "             aaaaaaa",
                "             aaaaaaa",
                "             \""
            ]
        );
        assert_eq!(wrap("short", 20, 13), ["short"]);
    }
}
