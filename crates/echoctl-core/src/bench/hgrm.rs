//! HdrHistogram's percentile-distribution text (the `.hgrm` layout of
//! `outputPercentileDistribution`), so the distribution loads into the tools that read it, such
//! as HdrHistogram's own plotter; and its reading back, for the harness's charts.
//!
//! ```text
//!        Value     Percentile TotalCount 1/(1-Percentile)
//!
//!        0.101 0.000000000000          1           1.00
//!        ...
//!        3.001 1.000000000000       1000
//! #[Mean    =        0.501, StdDeviation   =        0.289]
//! #[Max     =        3.001, Total count    =         1000]
//! #[Buckets =           22, SubBuckets     =         2048]
//! ```
//!
//! Values are in milliseconds (the histograms hold microseconds), with as many decimals as the
//! histogram's significant digits, as HdrHistogram writes them.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use super::lateness::SIGNIFICANT_DIGITS;
use super::report::Report;
use crate::echo::Voice;

/// The files `--percentiles PATH` writes, and their text: the lateness of all echoes at `path`,
/// and each voice's beside it ([`voice_path`]).
pub fn files(report: &Report, path: &Path) -> Vec<(PathBuf, String)> {
    let lateness = &report.measurements.from_plan;
    let mut files = vec![(path.to_path_buf(), write(&lateness.all_histogram()))];
    for (voice, name) in Voice::ALL.into_iter().zip(VOICE_NAMES) {
        files.push((voice_path(path, name), write(lateness.histogram(voice))));
    }
    files
}

/// The voices' names in file names, in echo order.
pub const VOICE_NAMES: [&str; 3] = ["upper", "original", "lower"];

/// `run.hgrm` → `run.upper.hgrm`; `run` → `run.upper`.
pub fn voice_path(path: &Path, voice: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let name = match (stem, path.extension()) {
        (Some(stem), Some(ext)) => format!("{stem}.{voice}.{}", ext.to_string_lossy()),
        (Some(stem), None) => format!("{stem}.{voice}"),
        (None, _) => format!("{voice}.hgrm"),
    };
    path.with_file_name(name)
}

/// Quantile steps per half distance to 100 %, as HdrHistogram's own output uses by default.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// The histogram's microseconds per unit written (milliseconds).
const MICROS_PER_MS: f64 = 1000.0;

/// The percentile distribution of `h` (microseconds), in milliseconds.
pub fn write(h: &Histogram<u64>) -> String {
    let digits = usize::from(SIGNIFICANT_DIGITS);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !h.is_empty() {
        for step in h.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
            total += step.count_since_last_iteration();
            let value = step.value_iterated_to() as f64 / MICROS_PER_MS;
            let quantile = step.quantile_iterated_to();
            if quantile < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:>12.digits$} {quantile:>2.12} {total:>10} {:>14.2}",
                    1.0 / (1.0 - quantile)
                );
            } else {
                let _ = writeln!(out, "{value:>12.digits$} {quantile:>2.12} {total:>10}");
            }
        }
    }
    let (mean, stdev, max) = if h.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (
            h.mean() / MICROS_PER_MS,
            h.stdev() / MICROS_PER_MS,
            h.max() as f64 / MICROS_PER_MS,
        )
    };
    let sub_buckets = (2 * 10u32.pow(u32::from(SIGNIFICANT_DIGITS))).next_power_of_two();
    let _ = writeln!(
        out,
        "#[Mean    = {mean:>12.digits$}, StdDeviation   = {stdev:>12.digits$}]"
    );
    let _ = writeln!(
        out,
        "#[Max     = {max:>12.digits$}, Total count    = {:>12}]",
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {sub_buckets:>12}]",
        h.buckets()
    );
    out
}

/// One line of a percentile distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Milliseconds.
    pub value: f64,
    /// 0 to 1.
    pub quantile: f64,
    pub total_count: u64,
}

/// The percentile lines of a distribution in the `.hgrm` layout (the header, blank lines and `#`
/// lines are skipped). An error names the line that is not one.
pub fn parse(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("Value") {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let bad = || format!("line {}: not a percentile line: {line:?}", number + 1);
        if !(3..=4).contains(&fields.len()) {
            return Err(bad());
        }
        let value: f64 = fields[0].parse().map_err(|_| bad())?;
        let quantile: f64 = fields[1].parse().map_err(|_| bad())?;
        let total_count: u64 = fields[2].parse().map_err(|_| bad())?;
        if fields.len() == 4 {
            let inverse: f64 = fields[3].parse().map_err(|_| bad())?;
            if quantile >= 1.0 || (inverse - 1.0 / (1.0 - quantile)).abs() > 0.01 * inverse {
                return Err(bad());
            }
        } else if quantile != 1.0 {
            return Err(bad());
        }
        if !(0.0..=1.0).contains(&quantile) {
            return Err(bad());
        }
        steps.push(Step {
            value,
            quantile,
            total_count,
        });
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::lateness::histogram;

    #[test]
    fn a_known_distribution_in_hdrhistograms_layout() {
        let mut h = histogram();
        for micros in 1..=1000 {
            h.record(micros).unwrap();
        }
        let text = write(&h);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            "       0.001 0.000000000000          1           1.00"
        );
        assert_eq!(
            lines[3],
            "       0.100 0.100000000000        100           1.11"
        );
        let last = lines[lines.len() - 4];
        assert_eq!(last, "       1.000 1.000000000000       1000");
        assert_eq!(
            lines[lines.len() - 2],
            "#[Max     =        1.000, Total count    =         1000]"
        );
        let steps = parse(&text).unwrap();
        assert_eq!(steps.len(), lines.len() - 5);
        assert_eq!(
            steps.last().map(|s| (s.value, s.total_count)),
            Some((1.0, 1000))
        );
        assert!(steps.windows(2).all(|w| w[0].quantile <= w[1].quantile));
    }

    #[test]
    fn each_voice_is_written_beside_the_path() {
        assert_eq!(
            voice_path(Path::new("out/run.hgrm"), "upper"),
            Path::new("out/run.upper.hgrm")
        );
        assert_eq!(
            voice_path(Path::new("run"), "lower"),
            Path::new("run.lower")
        );
    }

    #[test]
    fn an_empty_histogram_has_the_header_and_footer_only() {
        let text = write(&histogram());
        assert_eq!(parse(&text).unwrap(), []);
        assert!(text.contains("Total count    =            0]"), "{text}");
    }

    #[test]
    fn what_is_not_a_percentile_line_is_refused() {
        for bad in [
            "1.0 0.5",
            "x 0.5 1 2.00",
            "1.0 0.5 1 9.00",
            "1.0 0.5 1",
            "1.0 1.5 1 2.00",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
