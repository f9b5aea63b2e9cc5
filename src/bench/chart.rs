//! Lateness by percentile as an SVG chart: the x axis on the "nines" scale (0 %, 90 %, 99 %,
//! 99.9 %, 99.99 %: each step ten times closer to the worst), y in milliseconds, one curve per
//! distribution. A run is drawn by [`run_curves`], for `bench --svg` and for the harness's
//! charts alike: a curve per voice and one for all three, each labelled with its p99.
//!
//! Pure: it is handed the points. Drawn with the `svg` crate, as the timeline is; every curve is
//! one `<path class="curve ...">`, which tests count. Text is escaped by the crate.

use hdrhistogram::Histogram;
use svg::Document;
use svg::node::element::path::Data;
use svg::node::element::{Path, Text};

use super::hgrm::{Step, VOICE_NAMES};
use super::report::{Report, ms, setting_ms};
use echoctl_core::echo::Voice;
use echoctl_core::plural::counted;

use crate::svg_page::{GRID, INK, SANS, page};

/// The chart of a run's lateness (from the plan, as the table's): [`run_curves`].
pub(crate) fn of_report(report: &Report) -> Document {
    let lateness = &report.measurements.from_plan;
    let distribution = |h: &Histogram<u64>, p99_ms| Distribution {
        points: points_of(h),
        count: h.len(),
        p99_ms,
    };
    let voices = Voice::ALL.map(|voice| {
        let p99 = report.lateness.voices()[voice.index()].1.p99_ms;
        distribution(lateness.histogram(voice), p99)
    });
    let all = distribution(&lateness.all_histogram(), report.lateness.all.p99_ms);
    let curves = run_curves(None, voices, all, false);
    let s = &report.settings;
    let pace = match (s.window, s.interval_ms) {
        (Some(window), _) => format!("{window} in flight each (closed loop, from the send)"),
        (None, Some(interval)) => format!(
            "a shout every {} each (from the planned send)",
            setting_ms(interval)
        ),
        (None, None) => String::new(),
    };
    let title = format!("echoctl bench {}: lateness by percentile", report.target);
    let subtitle = format!(
        "{} x {}, {pace}; server delay {}{}",
        counted(s.connections, "connection"),
        counted(s.shouts_per_connection, "shout"),
        setting_ms(s.delay_ms),
        if report.cut_short { "; cut short" } else { "" }
    );
    render(&title, &subtitle, &curves)
}

pub(crate) const WIDTH: f64 = 1280.0;
pub(crate) const HEIGHT: f64 = 720.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = WIDTH - 40.0;
const TOP: f64 = 110.0;
const BOTTOM: f64 = HEIGHT - 130.0;

/// The colour of each voice's curve, in echo order (upper, original, lower).
pub const VOICE_COLORS: [&str; 3] = ["#0a8ea8", "#e08a00", "#7a4fbf"];

/// The colour of the curve of all three voices together.
pub const ALL_COLOR: &str = "#444444";

/// One distribution of a run's lateness, to draw.
#[derive(Debug, Clone)]
pub struct Distribution {
    /// (quantile 0..=1, milliseconds), quantiles non-decreasing.
    pub points: Vec<(f64, f64)>,
    /// Samples behind it.
    pub count: u64,
    /// Its p99, for the legend.
    pub p99_ms: f64,
}

/// The curves of one run: one per voice (upper, original, lower) and one of `all` three
/// together, each labelled with its p99 (`upper (p99 21.7ms)`). `source` names the run where a
/// chart holds several (the harness's servers): its label and its class, before the voice's
/// (`echoctl upper (p99 21.7ms)`, class `curve echoctl upper`); `dashed` draws them dashed. A
/// run with one voice heard (a plain echo) has no curve of all, which would be the same.
pub fn run_curves(
    source: Option<(&str, &str)>,
    voices: [Distribution; 3],
    all: Distribution,
    dashed: bool,
) -> Vec<Curve> {
    let heard = voices.iter().filter(|v| !v.points.is_empty()).count();
    let all = (heard > 1).then_some(("all", ALL_COLOR, all));
    let voices = VOICE_NAMES.into_iter().zip(VOICE_COLORS).zip(voices);
    voices
        .map(|((name, color), voice)| (name, color, voice))
        .chain(all)
        .map(|(name, color, distribution)| {
            let (label, class) = match source {
                Some((label, class)) => (format!("{label} {name}"), format!("{class} {name}")),
                None => (name.to_string(), name.to_string()),
            };
            Curve {
                label: format!("{label} (p99 {})", ms(distribution.p99_ms)),
                class,
                color,
                dashed,
                points: distribution.points,
                count: distribution.count,
            }
        })
        .collect()
}

/// One distribution to draw.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Shown in the legend, and the path's `data-label`.
    pub label: String,
    /// Added to the path's class (`curve {class}`).
    pub class: String,
    pub color: &'static str,
    pub dashed: bool,
    /// (quantile 0..=1, milliseconds), quantiles non-decreasing.
    pub points: Vec<(f64, f64)>,
    /// Samples behind it: the curve ends at quantile 1 − 1/count, the last one it can resolve.
    pub count: u64,
}

/// The points of a histogram of microseconds, in milliseconds, at HdrHistogram's usual steps.
pub(crate) fn points_of(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    h.iter_quantiles(5)
        .map(|step| {
            (
                step.quantile_iterated_to(),
                step.value_iterated_to() as f64 / 1000.0,
            )
        })
        .collect()
}

/// The points of a distribution read from `.hgrm` text.
pub fn points_of_steps(steps: &[Step]) -> Vec<(f64, f64)> {
    steps.iter().map(|s| (s.quantile, s.value)).collect()
}

/// Nines of `quantile`, for a curve of `count` samples: log10(1 / (1 − q)), with q at most
/// 1 − 1/count (beyond the last sample's rank there is nothing to resolve).
fn nines(quantile: f64, count: u64) -> f64 {
    let last = 1.0 - 1.0 / (count.max(2) as f64);
    let q = quantile.clamp(0.0, last);
    (1.0 / (1.0 - q)).log10()
}

/// The nines the x axis spans for curves reaching `max_nines`: a whole number, and not one more
/// for a rounding error at the last rank (log10 of 100,000 is a hair over 5 in floating point).
fn axis_nines(max_nines: f64) -> u32 {
    ((max_nines - 1e-9).ceil() as u32).clamp(2, 7)
}

/// A round upper bound for the y axis and its step: 1, 2 or 5 times a power of ten.
fn nice_axis(max: f64) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

fn percent_label(nines: u32) -> String {
    match nines {
        0 => "0%".into(),
        1 => "90%".into(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)).replace("99.%", "99%"),
    }
}

fn label(content: impl Into<String>, x: f64, y: f64, size: f64) -> Text {
    Text::new(content.into())
        .set("x", x)
        .set("y", y)
        .set("font-size", size)
        .set("font-family", SANS)
        .set("fill", INK)
}

/// A line one unit wide.
fn line(x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str) -> svg::node::element::Line {
    crate::svg_page::line(x1, y1, x2, y2, stroke, 1.0)
}

/// Height of a legend row.
const LEGEND_ROW: f64 = 26.0;

/// Where each curve's legend entry goes: (row, x), rows wrapping at the plot's right edge.
fn legend_places(curves: &[&Curve]) -> Vec<(usize, f64)> {
    let mut places = Vec::new();
    let (mut row, mut x) = (0, LEFT);
    for curve in curves {
        // A swatch, a gap, the label at about 0.56 em a character, and air after it.
        let width = 40.0 + curve.label.chars().count() as f64 * 15.0 * 0.56 + 32.0;
        if x > LEFT && x + width > RIGHT {
            row += 1;
            x = LEFT;
        }
        places.push((row, x));
        x += width;
    }
    places
}

/// The chart of `curves` under `title` (and a smaller `subtitle`, one or two lines).
pub fn render(title: &str, subtitle: &str, curves: &[Curve]) -> Document {
    let drawn: Vec<&Curve> = curves.iter().filter(|c| !c.points.is_empty()).collect();
    let legend = legend_places(&drawn);
    let legend_rows = legend.last().map_or(1, |&(row, _)| row + 1);
    let height = HEIGHT + LEGEND_ROW * (legend_rows - 1) as f64;
    let max_nines = drawn
        .iter()
        .flat_map(|c| c.points.iter().map(|&(q, _)| nines(q, c.count)))
        .fold(0.0, f64::max);
    let x_nines = axis_nines(max_nines);
    let max_ms = drawn
        .iter()
        .flat_map(|c| c.points.iter().map(|&(_, v)| v))
        .fold(0.0, f64::max);
    let (y_max, y_step) = nice_axis(max_ms * 1.05);
    let x = |n: f64| LEFT + n / f64::from(x_nines) * (RIGHT - LEFT);
    let y = |ms: f64| BOTTOM - ms / y_max * (BOTTOM - TOP);

    let mut document =
        page(WIDTH, height, title).add(label(title, 40.0, 44.0, 24.0).set("font-weight", "bold"));
    for (i, line) in subtitle.lines().take(2).enumerate() {
        document = document.add(label(line, 40.0, 70.0 + 20.0 * i as f64, 15.0));
    }

    // Grid and axes.
    let mut tick = 0.0;
    while tick <= y_max + y_step / 2.0 {
        document = document.add(line(LEFT, y(tick), RIGHT, y(tick), GRID)).add(
            label(format_ms(tick, y_step), LEFT - 10.0, y(tick) + 5.0, 14.0)
                .set("text-anchor", "end"),
        );
        tick += y_step;
    }
    for n in 0..=x_nines {
        let at = x(f64::from(n));
        document = document
            .add(line(at, TOP, at, BOTTOM, GRID))
            .add(label(percent_label(n), at, BOTTOM + 24.0, 14.0).set("text-anchor", "middle"));
    }
    document = document
        .add(line(LEFT, BOTTOM, RIGHT, BOTTOM, INK))
        .add(line(LEFT, TOP, LEFT, BOTTOM, INK))
        .add(
            label(
                "percentile (nines scale)",
                (LEFT + RIGHT) / 2.0,
                BOTTOM + 52.0,
                15.0,
            )
            .set("text-anchor", "middle"),
        )
        .add(
            label("lateness, ms", 24.0, (TOP + BOTTOM) / 2.0, 15.0)
                .set("text-anchor", "middle")
                .set(
                    "transform",
                    format!("rotate(-90 24 {})", (TOP + BOTTOM) / 2.0),
                ),
        );

    for curve in &drawn {
        let mut data = Data::new();
        for (i, &(q, ms)) in curve.points.iter().enumerate() {
            let point = (x(nines(q, curve.count)), y(ms));
            data = if i == 0 {
                data.move_to(point)
            } else {
                data.line_to(point)
            };
        }
        let mut path = Path::new()
            .set("class", format!("curve {}", curve.class))
            .set("data-label", curve.label.as_str())
            .set("fill", "none")
            .set("stroke", curve.color)
            .set("stroke-width", 2.5)
            .set("stroke-linejoin", "round")
            .set("d", data);
        if curve.dashed {
            path = path.set("stroke-dasharray", "8 5");
        }
        document = document.add(path);
    }

    // The legend, in rows under the axis.
    for (curve, &(row, legend_x)) in drawn.iter().zip(&legend) {
        let legend_y = HEIGHT - 40.0 + LEGEND_ROW * row as f64;
        let mut swatch = line(
            legend_x,
            legend_y - 5.0,
            legend_x + 32.0,
            legend_y - 5.0,
            curve.color,
        )
        .set("stroke-width", 3);
        if curve.dashed {
            swatch = swatch.set("stroke-dasharray", "8 5");
        }
        document =
            document
                .add(swatch)
                .add(label(curve.label.as_str(), legend_x + 40.0, legend_y, 15.0));
    }
    document
}

/// A y-axis label: as many decimals as the step needs.
fn format_ms(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::lateness::histogram;

    #[test]
    fn the_nines_scale() {
        assert_eq!(nines(0.0, 1000), 0.0);
        assert!((nines(0.9, 1000) - 1.0).abs() < 1e-9);
        assert!((nines(0.999, 1000) - 3.0).abs() < 1e-9);
        assert!(
            (nines(1.0, 1000) - 3.0).abs() < 1e-9,
            "the max sits at the last rank"
        );
        for count in [1_000, 10_000, 100_000, 1_000_000] {
            let whole = (count as f64).log10().round() as u32;
            assert_eq!(axis_nines(nines(1.0, count)), whole, "{count} samples");
        }
        assert_eq!(axis_nines(3.2), 4);
        assert_eq!(axis_nines(0.5), 2, "at least to 99%");
        assert_eq!(percent_label(0), "0%");
        assert_eq!(percent_label(2), "99%");
        assert_eq!(percent_label(4), "99.99%");
    }

    #[test]
    fn a_long_legend_wraps_into_rows_and_the_chart_grows_for_them() {
        let curve = |label: &str| Curve {
            label: label.into(),
            class: String::new(),
            color: VOICE_COLORS[1],
            dashed: true,
            points: vec![(0.0, 1.0), (1.0, 2.0)],
            count: 10,
        };
        let curves: Vec<Curve> = (0..6)
            .map(|i| curve(&format!("echoctl original {i} (p99 197.63 ms)")))
            .collect();
        let drawn: Vec<&Curve> = curves.iter().collect();
        let places = legend_places(&drawn);
        assert_eq!(places[0], (0, LEFT));
        assert!(places.iter().all(|&(_, x)| x < RIGHT));
        let rows = places.last().unwrap().0 + 1;
        assert!(rows >= 2, "{places:?}");
        let text = render("t", "line one\nline two", &curves).to_string();
        let doc = roxmltree::Document::parse(&text).unwrap();
        let height: f64 = doc
            .root_element()
            .attribute("height")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(height, HEIGHT + LEGEND_ROW * (rows - 1) as f64);
        assert!(text.contains("line two"), "{text}");
    }

    #[test]
    fn a_run_is_a_curve_per_voice_and_one_of_all_each_with_its_p99() {
        let distribution = |p99_ms: f64| Distribution {
            points: vec![(0.0, 0.1), (0.99, p99_ms), (1.0, 2.0 * p99_ms)],
            count: 300,
            p99_ms,
        };
        let voices = [distribution(0.5), distribution(21.68), distribution(150.0)];
        let curves = run_curves(None, voices.clone(), distribution(140.0), false);
        let seen: Vec<(&str, &str, &str)> = curves
            .iter()
            .map(|c| (c.label.as_str(), c.class.as_str(), c.color))
            .collect();
        assert_eq!(
            seen,
            [
                ("upper (p99 0.500ms)", "upper", VOICE_COLORS[0]),
                ("original (p99 21.7ms)", "original", VOICE_COLORS[1]),
                ("lower (p99 150ms)", "lower", VOICE_COLORS[2]),
                ("all (p99 140ms)", "all", ALL_COLOR),
            ]
        );
        let harness = run_curves(Some(("Go", "go")), voices, distribution(140.0), true);
        assert_eq!(harness[1].label, "Go original (p99 21.7ms)");
        assert_eq!(harness[3].class, "go all");
        assert!(harness.iter().all(|c| c.dashed));
        // A plain echo: the original voice only, and no curve of all, which would repeat it.
        let silent = || Distribution {
            points: Vec::new(),
            count: 0,
            p99_ms: 0.0,
        };
        let plain = run_curves(
            None,
            [silent(), distribution(0.2), silent()],
            distribution(0.2),
            false,
        );
        assert_eq!(plain.len(), 3);
        assert!(plain.iter().all(|c| c.class != "all"));
    }

    #[test]
    fn round_axes() {
        assert_eq!(nice_axis(4.2), (5.0, 1.0));
        assert_eq!(nice_axis(0.42), (0.5, 0.1));
        assert_eq!(nice_axis(1300.0), (1500.0, 500.0));
        assert_eq!(format_ms(0.3, 0.1), "0.3");
        assert_eq!(format_ms(200.0, 50.0), "200");
    }

    #[test]
    fn one_path_per_curve_with_points_and_its_label() {
        let mut h = histogram();
        for micros in 1..=1000 {
            h.record(micros).unwrap();
        }
        let curve = |label: &str, points| Curve {
            label: label.into(),
            class: label.into(),
            color: VOICE_COLORS[0],
            dashed: false,
            points,
            count: 1000,
        };
        let text = render(
            "a <title>",
            "sub",
            &[
                curve("upper", points_of(&h)),
                curve("empty", Vec::new()),
                curve("lower", points_of(&h)),
            ],
        )
        .to_string();
        let doc = roxmltree::Document::parse(&text).expect("the chart is XML");
        let paths: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("path"))
            .filter_map(|n| n.attribute("data-label"))
            .collect();
        assert_eq!(paths, ["upper", "lower"], "{text}");
        assert!(text.contains("a &lt;title&gt;"), "{text}");
        assert!(text.contains("99.9%"), "{text}");
        // 1,000 samples resolve three nines: the axis ends there.
        assert!(!text.contains("99.99%"), "{text}");
    }
}
