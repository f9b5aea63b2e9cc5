//! The table's lateness grid: a row a voice, a column a statistic (as many as fit, the most
//! telling first), and the marks and footnote for percentiles with too few samples.

use std::fmt::Write;

use super::Page;
use crate::bench::Expect;
use crate::bench::lateness::Quantile;
use crate::bench::report::{MeasuredFrom, Report, ms, number, thousands};

impl Report {
    /// The lateness grid: a row a voice and one for all, a column a statistic, percentiles
    /// with too few samples marked, and what lateness is measured from.
    pub(super) fn lateness_rows(&self, t: &mut Page, columns: &[Column]) {
        let l = &self.lateness;
        if l.all.count == 0 {
            let _ = writeln!(t, "lateness     no echoes heard");
            return;
        }
        let from = match self.lateness_measured_from {
            MeasuredFrom::Plan => "from the planned send (each shout's place on the schedule)",
            MeasuredFrom::Send => {
                "from the send: throughput mode is a closed loop, a slow server slows the load"
            }
        };
        let _ = writeln!(t, "lateness     {from}, in ms");
        let mut heading = format!("  {:<9}{:>7}", "", "count");
        for column in columns {
            // Each cell has a column after it for a mark.
            let _ = write!(heading, " {:>8} ", column.heading());
        }
        t.row(&heading);
        // The smallest percentile marked in any row: the footnote says what it needs.
        let mut marked: Option<Quantile> = None;
        for (name, p) in l.voices().into_iter().chain([("all", &l.all)]) {
            // A plain echo has one voice, the shout as sent.
            if self.settings.expect == Expect::Plain && matches!(name, "upper" | "lower") {
                continue;
            }
            let mut row = format!("  {name:<9}{:>7}", p.count);
            if p.count == 0 {
                row.push_str("  no echoes heard");
                t.row(&row);
                continue;
            }
            for &column in columns {
                let cell = match column {
                    Column::Min => number(p.min_ms),
                    Column::Mean => number(p.mean_ms),
                    Column::Max => number(p.max_ms),
                    Column::At(quantile) => number(p.at(quantile)),
                };
                let mark = match column {
                    Column::At(quantile) if p.too_few_samples_for.contains(&quantile) => {
                        marked = Some(marked.map_or(quantile, |m| m.min(quantile)));
                        '*'
                    }
                    _ => ' ',
                };
                let _ = write!(row, " {cell:>8}{mark}");
            }
            t.row(&row);
        }
        if let Some(smallest) = marked {
            let _ = writeln!(
                t,
                "             * too few samples for that percentile ({} needs {}): it is the max",
                smallest.heading(),
                thousands(smallest.samples_needed())
            );
        }
        if self.lateness_measured_from == MeasuredFrom::Plan
            && self.settings.expect == Expect::Plain
        {
            let f = &self.lateness_from_send;
            let _ = writeln!(
                t,
                "from send    p99 {}, max {}",
                ms(f.original.p99_ms),
                ms(f.all.max_ms)
            );
        } else if self.lateness_measured_from == MeasuredFrom::Plan {
            let f = &self.lateness_from_send;
            let _ = writeln!(
                t,
                "from send    p99 {} / {} / {} (upper / original / lower), max {}",
                number(f.upper.p99_ms),
                number(f.original.p99_ms),
                ms(f.lower.p99_ms),
                ms(f.all.max_ms)
            );
        }
    }
}

/// A column of the lateness grid after the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    Min,
    Mean,
    At(Quantile),
    Max,
}

impl Column {
    /// Every column, in the grid's order.
    pub(super) const ALL: [Column; 8] = [
        Column::Min,
        Column::Mean,
        Column::At(Quantile::P50),
        Column::At(Quantile::P90),
        Column::At(Quantile::P99),
        Column::At(Quantile::P999),
        Column::At(Quantile::P9999),
        Column::Max,
    ];

    /// Every column, those a narrow grid keeps first.
    pub(super) const BY_IMPORTANCE: [Column; 8] = [
        Column::At(Quantile::P50),
        Column::At(Quantile::P99),
        Column::Max,
        Column::At(Quantile::P999),
        Column::At(Quantile::P90),
        Column::Mean,
        Column::At(Quantile::P9999),
        Column::Min,
    ];

    fn heading(self) -> &'static str {
        match self {
            Column::Min => "min",
            Column::Mean => "mean",
            Column::At(quantile) => quantile.heading(),
            Column::Max => "max",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::bench::lateness::Quantile;
    use crate::bench::report::tests::report;

    #[test]
    fn percentiles_with_too_few_samples_are_marked_and_empty_rows_say_so() {
        let mut r = report();
        r.lateness.original.count = 0;
        let t = r.table();
        assert!(t.contains("  original       0  no echoes heard\n"), "{t}");
        assert!(
            t.contains("  upper         10    0.100     0.100     0.100     0.100     0.100*"),
            "p99 of 10 is marked, p90 is not: {t}"
        );
        assert!(
            t.contains("* too few samples for that percentile (p99 needs 100): it is the max"),
            "the smallest percentile marked, and what it needs: {t}"
        );
        r.lateness.lower.too_few_samples_for = vec![Quantile::P9999];
        for p in [&mut r.lateness.upper, &mut r.lateness.all] {
            p.too_few_samples_for = vec![Quantile::P999, Quantile::P9999];
        }
        let t = r.table();
        assert!(t.contains("(p99.9 needs 1,000)"), "{t}");
        r.lateness.upper.too_few_samples_for.clear();
        r.lateness.all.too_few_samples_for.clear();
        assert!(r.table().contains("(p99.99 needs 10,000)"), "{}", r.table());
        assert!(!t.contains("0.000ms"), "{t}");
    }
}
