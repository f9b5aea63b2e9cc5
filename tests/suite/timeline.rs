//! The timeline on fixed event times: the book's two sessions at a delay of 1 s, as a client would
//! measure them with small loopback latencies (a 0.3 ms round trip, timers up to 0.2 ms late).
//!
//! The model's rows and marks are asserted exactly; the terminal chart is compared as text
//! without color and read back through a terminal emulator with color; the SVG is parsed as XML
//! and by usvg, and rendered to pixels.
//!
//! Set `TIMELINE_PREVIEW_DIR` to a folder to have the SVG test write `timeline.svg` and
//! `timeline.png` there, to look at.

use std::time::Duration;

use echoctl::server::Mode;
use echoctl::timeline::{svg, terminal};
use echoctl_core::echo::Voice;
use echoctl_core::timeline::{Axis, Mark, Recording, Row, Timeline};

const DELAY: Duration = Duration::from_secs(1);

fn us(micros: u64) -> Duration {
    Duration::from_micros(micros)
}

/// reverb1's session: each shout is sent half a delay after its cue, as the demo does; the server
/// reads `Yooo-hooo!` only after `Is there anybody there?`'s last echo.
fn sequential() -> Recording {
    let mut r = Recording::new();
    r.sent(us(0), "Hello?");
    r.received_line(us(300), b"\t HELLO?\n");
    r.received_line(us(1_000_400), b"\t Hello?\n");
    r.received_line(us(2_000_500), b"\t hello?\n");
    r.sent(us(2_500_600), "Is there anybody there?");
    r.received_line(us(2_500_900), b"\t IS THERE ANYBODY THERE?\n");
    r.sent(us(3_001_000), "Yooo-hooo!");
    r.received_line(us(3_501_000), b"\t Is there anybody there?\n");
    r.received_line(us(4_501_100), b"\t is there anybody there?\n");
    r.received_line(us(4_501_300), b"\t YOOO-HOOO!\n");
    r.received_line(us(5_501_400), b"\t Yooo-hooo!\n");
    r.received_line(us(6_501_500), b"\t yooo-hooo!\n");
    r
}

/// reverb2's session: `Yooo-hooo!` is sent half a delay after the first shout's middle echo and
/// echoed at once, between that shout's echoes.
fn concurrent() -> Recording {
    let mut r = Recording::new();
    r.sent(us(0), "Is there anybody there?");
    r.received_line(us(300), b"\t IS THERE ANYBODY THERE?\n");
    r.received_line(us(1_000_400), b"\t Is there anybody there?\n");
    r.sent(us(1_500_400), "Yooo-hooo!");
    r.received_line(us(1_500_700), b"\t YOOO-HOOO!\n");
    r.received_line(us(2_000_500), b"\t is there anybody there?\n");
    r.received_line(us(2_500_800), b"\t Yooo-hooo!\n");
    r.received_line(us(3_500_900), b"\t yooo-hooo!\n");
    r
}

fn row(label: &str, sent: u64, echoes: [u64; 3], waited: u64) -> Row {
    Row {
        label: label.to_string(),
        sent: us(sent),
        marks: Voice::ALL
            .iter()
            .zip(echoes)
            .map(|(&voice, at)| Mark { voice, at: us(at) })
            .collect(),
        waited: Some(us(waited)),
    }
}

fn book() -> (Timeline, Timeline, Axis) {
    let sequential = Timeline::new(&sequential(), Some(Mode::Sequential), DELAY);
    let concurrent = Timeline::new(&concurrent(), Some(Mode::Concurrent), DELAY);
    let axis = Axis::common(&[&sequential, &concurrent], Duration::ZERO);
    (sequential, concurrent, axis)
}

#[test]
fn sequential_rows_show_the_shout_reverb1_held_back() {
    let (sequential, _, _) = book();
    assert_eq!(
        sequential.rows,
        [
            row("Hello?", 0, [300, 1_000_400, 2_000_500], 0),
            row(
                "Is there anybody there?",
                2_500_600,
                [2_500_900, 3_501_000, 4_501_100],
                0
            ),
            row(
                "Yooo-hooo!",
                3_001_000,
                [4_501_300, 5_501_400, 6_501_500],
                1_500_000
            ),
        ]
    );
    assert_eq!(sequential.round_trip_floor, Some(us(300)));
    assert!(sequential.unattributed.is_empty());
    assert_eq!(sequential.end(), us(6_501_500));
}

#[test]
fn concurrent_rows_overlap_and_nothing_waits() {
    let (_, concurrent, _) = book();
    assert_eq!(
        concurrent.rows,
        [
            row("Is there anybody there?", 0, [300, 1_000_400, 2_000_500], 0),
            row(
                "Yooo-hooo!",
                1_500_400,
                [1_500_700, 2_500_800, 3_500_900],
                0
            ),
        ]
    );
    assert!(concurrent.unattributed.is_empty());
}

#[test]
fn both_sessions_share_one_axis_ticked_every_delay() {
    let (sequential, concurrent, axis) = book();
    assert_eq!(
        axis,
        Axis {
            end: Duration::from_secs(7),
            step: DELAY
        }
    );
    // The concurrent session alone would end sooner; the shared axis is the longer one's.
    assert_eq!(
        Axis::common(&[&concurrent], Duration::ZERO).end,
        Duration::from_secs(4)
    );
    // A chart drawn before the second session ran can be given the scale both will need.
    assert_eq!(
        Axis::common(&[&concurrent], Duration::from_millis(6_900)),
        axis
    );
    assert_eq!(Axis::common(&[&sequential], Duration::ZERO), axis);
}

const SEQUENTIAL_CHART: &str = "\
sequential (reverb1), delay 1s
Hello?                  >█─────▒──────░
Is there anybody there?                   >█─────▒──────░
Yooo-hooo!                                   >══════════█──────▒──────░
                        ├──────┼──────┼──────┼──────┼──────┼──────┼──────┤
                        0s     1s     2s     3s     4s     5s     6s     7s
> sent  ═ waited in the server  █ loud  ▒ as sent  ░ quiet
";

const CONCURRENT_CHART: &str = "\
concurrent (reverb2), delay 1s
Is there anybody there? >█─────▒──────░
Yooo-hooo!                         >█─────▒──────░
                        ├──────┼──────┼──────┼──────┼──────┼──────┼──────┤
                        0s     1s     2s     3s     4s     5s     6s     7s
> sent  ═ waited in the server  █ loud  ▒ as sent  ░ quiet
";

fn plain(timeline: &Timeline, axis: &Axis) -> String {
    terminal::render(
        timeline,
        axis,
        terminal::Options {
            width: 80,
            color: false,
        },
    )
}

#[test]
fn terminal_charts_without_color_at_80_columns() {
    let (sequential, concurrent, axis) = book();
    assert_eq!(plain(&sequential, &axis), SEQUENTIAL_CHART);
    assert_eq!(plain(&concurrent, &axis), CONCURRENT_CHART);
}

/// The guide's charts are these, the book's sessions at the times the demo plays them.
#[test]
fn the_guides_charts_are_the_book_sessions() {
    let shown = crate::recipes::example("docs/guide.md", "guide-timeline");
    assert_eq!(shown, format!("{SEQUENTIAL_CHART}\n{CONCURRENT_CHART}"));
}

#[test]
fn terminal_charts_fit_narrow_widths_and_cut_long_labels() {
    let mut recording = sequential();
    recording.sent(
        us(6_600_000),
        "A shout far too long to fit in a third of the width",
    );
    let timeline = Timeline::new(&recording, Some(Mode::Sequential), DELAY);
    let axis = Axis::common(&[&timeline], Duration::ZERO);
    for width in [30, 40, 60, 80, 120] {
        let chart = terminal::render(
            &timeline,
            &axis,
            terminal::Options {
                width,
                color: false,
            },
        );
        for line in chart.lines() {
            assert!(line.chars().count() <= width, "{width}: {line:?}");
        }
        assert!(chart.contains("> sent"), "{chart}");
        assert!(chart.contains("░ quiet"), "{chart}");
        let long = chart
            .lines()
            .find(|line| line.starts_with("A shout"))
            .expect("the long shout's row");
        let label: String = long.chars().take(width / 3).collect();
        assert!(label.trim_end().ends_with('…'), "{width}: {long:?}");
    }
    let chart = terminal::render(
        &timeline,
        &axis,
        terminal::Options {
            width: 40,
            color: false,
        },
    );
    assert_eq!(
        chart,
        "\
sequential (reverb1), delay 1s
Hello?        >█─▒──░
Is there any…         >█─▒──░
Yooo-hooo!             >════█──▒──░
A shout far…                      >
              ├──┼──┼──┼──┼──┼──┼──┤
              0s 1s 2s 3s 4s 5s 6s 7s
> sent  ═ waited in the server  █ loud
▒ as sent  ░ quiet
"
    );
}

#[test]
fn lines_that_match_no_shout_get_their_own_row() {
    let mut recording = concurrent();
    recording.received_line(us(3_900_000), b"server is shutting down\n");
    let timeline = Timeline::new(&recording, Some(Mode::Concurrent), DELAY);
    assert_eq!(timeline.unattributed.len(), 1);
    let axis = Axis::common(&[&timeline], Duration::ZERO);
    let chart = plain(&timeline, &axis);
    let lines: Vec<&str> = chart.lines().collect();
    // 13 cells a second on a 4 s axis, so 3.9 s is cell 51 after the 24 of the labels.
    assert_eq!(lines[3], format!("{:<24}{}?", "(no shout)", " ".repeat(51)));
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with("? matched no shout"))
    );
}

/// What a chart cell should look like once a terminal has read the escapes.
#[derive(Debug, PartialEq, Eq)]
struct Look {
    color: vt100::Color,
    bold: bool,
    dim: bool,
}

fn look(color: vt100::Color, bold: bool, dim: bool) -> Look {
    Look { color, bold, dim }
}

/// The colored chart through a terminal emulator: its text must be the plain chart's, and each
/// mark must be in its voice's color and strength (the transcript's fade), wherever it is.
#[test]
fn terminal_charts_in_color_read_back_through_a_terminal() {
    use vt100::Color::{Default, Idx};
    const CYAN: u8 = 6;
    const BRIGHT_CYAN: u8 = 14;
    const YELLOW: u8 = 3;
    let (sequential, concurrent, axis) = book();
    for (timeline, expected) in [
        (&sequential, SEQUENTIAL_CHART),
        (&concurrent, CONCURRENT_CHART),
    ] {
        let chart = terminal::render(
            timeline,
            &axis,
            terminal::Options {
                width: 80,
                color: true,
            },
        );
        assert_ne!(chart, expected, "no escapes at all");
        let size = |n| std::num::NonZeroU16::new(n).expect("not zero");
        let mut terminal = vt100::Parser::new(size(24), size(80), 0);
        terminal.process(chart.replace('\n', "\r\n").as_bytes());
        let screen = terminal.screen();
        assert_eq!(
            screen.contents().trim_end(),
            expected.trim_end(),
            "the same text as without color"
        );
        let rows = expected.lines().count();
        let mut seen = std::collections::BTreeMap::new();
        for row in 0..rows as u16 {
            for col in 0..80 {
                let cell = screen.cell(row, col).expect("a cell on the screen");
                let wanted = match cell.contents() {
                    ">" => look(Default, true, false),
                    "█" => look(Idx(BRIGHT_CYAN), true, false),
                    "▒" => look(Idx(CYAN), false, false),
                    "░" => look(Idx(CYAN), false, true),
                    "═" => look(Idx(YELLOW), true, false),
                    "─" | "┼" | "├" | "┤" => look(Default, false, true),
                    _ => continue,
                };
                let got = look(cell.fgcolor(), cell.bold(), cell.dim());
                assert_eq!(
                    got,
                    wanted,
                    "{:?} at row {row}, column {col}",
                    cell.contents()
                );
                *seen.entry(cell.contents()).or_insert(0) += 1;
            }
        }
        // Every kind of mark was checked, in the rows and in the legend.
        for glyph in [">", "█", "▒", "░", "═", "─", "┼"] {
            assert!(seen.get(glyph).is_some_and(|&n| n > 0), "{glyph}: {seen:?}");
        }
        let title = screen.cell(0, 0).expect("the title");
        assert!(title.bold() && title.fgcolor() == Default);
        let label = screen.cell(1, 0).expect("a label");
        assert!(!label.bold() && !label.dim() && label.fgcolor() == Default);
    }
}

fn book_svg() -> String {
    let (sequential, concurrent, axis) = book();
    let document = svg::render(
        "echoctl demo --mode both --delay 1s",
        &[&sequential, &concurrent],
        &axis,
    );
    svg::to_string(&document)
}

fn classes<'a>(document: &'a roxmltree::Document, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    document
        .descendants()
        .filter(|node| node.attribute("class") == Some(class))
        .collect()
}

fn texts(document: &roxmltree::Document) -> Vec<String> {
    document
        .descendants()
        .filter(|node| node.has_tag_name("text"))
        .map(|node| node.text().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_svg_is_well_formed_and_has_every_shout_and_echo() {
    let text = book_svg();
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = document.root_element();
    assert!(root.has_tag_name("svg"));
    assert_eq!(root.attribute("viewBox"), Some("0 0 1280 720"));
    let texts = texts(&document);
    for wanted in [
        "echoctl demo --mode both --delay 1s",
        "sequential (reverb1), delay 1s",
        "concurrent (reverb2), delay 1s",
        "Hello?",
        "Is there anybody there?",
        "Yooo-hooo!",
        "waited 1.5s",
        "0s",
        "7s",
        "loud (upper case)",
        "as sent",
        "quiet (lower case)",
        "waited in the server",
    ] {
        assert!(texts.iter().any(|t| t == wanted), "{wanted:?} in {texts:?}");
    }
    let sessions = classes(&document, "session");
    assert_eq!(sessions.len(), 2);
    // One mark per echo and per send, in each session's own panel; one waiting stretch, reverb1's.
    for (session, shouts, waits) in [(&sessions[0], 3, 1), (&sessions[1], 2, 0)] {
        let count = |class: &str| {
            session
                .descendants()
                .filter(|node| node.attribute("class") == Some(class))
                .count()
        };
        assert_eq!(count("sent"), shouts);
        assert_eq!(count("echo loud"), shouts);
        assert_eq!(count("echo as-sent"), shouts);
        assert_eq!(count("echo quiet"), shouts);
        assert_eq!(count("waiting"), waits);
        assert_eq!(count("stray"), 0);
    }
}

#[test]
fn the_svg_escapes_shouts_and_keeps_control_characters_out() {
    let mut recording = Recording::new();
    recording.sent(us(0), "<b>&amp; \"hi\"\x1b[31m");
    recording.received(us(300), "<B>&AMP; \"HI\"\x1b[31M");
    let timeline = Timeline::new(&recording, None, DELAY);
    let axis = Axis::common(&[&timeline], Duration::ZERO);
    let text = svg::to_string(&svg::render("a <heading> & more", &[&timeline], &axis));
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let texts = texts(&document);
    assert!(
        texts.iter().any(|t| t == "<b>&amp; \"hi\"\u{241b}[31m"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t == "a <heading> & more"), "{texts:?}");
    assert_eq!(classes(&document, "echo loud").len(), 1);
}

#[test]
fn the_svg_cuts_long_shouts_to_fit_their_column() {
    let mut recording = Recording::new();
    recording.sent(us(0), "A shout far too long to fit in the label column");
    recording.sent(us(10), "Twenty-six characters long");
    let timeline = Timeline::new(&recording, None, DELAY);
    let axis = Axis::common(&[&timeline], Duration::ZERO);
    let text = svg::to_string(&svg::render("cut", &[&timeline], &axis));
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let texts = texts(&document);
    assert!(
        texts.iter().any(|t| t == "A shout far too long to f…"),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "Twenty-six characters long"),
        "{texts:?}"
    );
}

/// usvg reads the picture as a slide-sized image, and resvg paints each echo where the SVG says,
/// in its voice's color.
#[test]
fn the_svg_renders_to_pixels() {
    let text = book_svg();
    // usvg is built without text shaping (its font stack would double the tests' build): the
    // shapes and colors are checked here, the words through the XML.
    let tree = usvg::Tree::from_str(&text, &usvg::Options::default()).expect("usvg parses it");
    assert_eq!((tree.size().width(), tree.size().height()), (1280.0, 720.0));
    let mut pixmap = resvg::tiny_skia::Pixmap::new(1280, 720).expect("a pixmap");
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );

    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let pixel = |node: &roxmltree::Node| {
        let coordinate = |name| {
            node.attribute(name)
                .and_then(|v| v.parse::<f64>().ok())
                .expect("a coordinate")
        };
        let (x, y) = (
            coordinate("cx").round() as u32,
            coordinate("cy").round() as u32,
        );
        let p = pixmap.pixel(x, y).expect("inside the picture");
        (p.red(), p.green(), p.blue())
    };
    for (class, color) in [
        ("echo loud", (0x00, 0xc8, 0xf0)),
        ("echo as-sent", (0x0a, 0x8e, 0xa8)),
    ] {
        for mark in classes(&document, class) {
            assert_eq!(pixel(&mark), color, "{class}");
        }
    }
    // The quiet echo is the same cyan, faded towards the white background.
    for mark in classes(&document, "echo quiet") {
        let (r, g, b) = pixel(&mark);
        assert!(r > 0x80 && g > 0xc0 && b > 0xc8 && (r, g, b) != (255, 255, 255));
    }

    if let Some(dir) = std::env::var_os("TIMELINE_PREVIEW_DIR") {
        let dir = std::path::Path::new(&dir);
        std::fs::write(dir.join("timeline.svg"), &text).expect("write the SVG");
        pixmap
            .save_png(dir.join("timeline.png"))
            .expect("write the PNG");
    }
}

/// `connect` estimates the delay; a tiny one over a long session must not mean millions of ticks.
#[test]
fn a_tiny_delay_over_a_long_session_is_thinned_to_fit() {
    let mut recording = sequential();
    recording.sent(Duration::from_secs(90), "late");
    let timeline = Timeline::new(&recording, None, Duration::from_nanos(1));
    let axis = Axis::common(&[&timeline], Duration::ZERO);
    let chart = terminal::render(
        &timeline,
        &axis,
        terminal::Options {
            width: 80,
            color: false,
        },
    );
    for line in chart.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    assert!(chart.contains("0s"), "{chart}");
    let document = svg::render("tiny", &[&timeline], &axis);
    let text = svg::to_string(&document);
    let parsed = roxmltree::Document::parse(&text).expect("well-formed XML");
    let gridlines = parsed
        .descendants()
        .filter(|n| n.has_tag_name("line"))
        .count();
    assert!(gridlines < 100, "{gridlines} lines");
}

/// What an SVG picture shows, apart from its times, in document order: the size, then every
/// text (each number replaced by `#`) and every mark's class, each tagged with its panel.
fn structure(svg: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(svg).expect("well-formed XML");
    let root = document.root_element();
    let mut seen = vec![format!("viewBox {:?}", root.attribute("viewBox"))];
    let panel_of = |node: roxmltree::Node| {
        node.ancestors()
            .find(|a| a.attribute("class") == Some("session"))
            .and_then(|panel| {
                document
                    .descendants()
                    .filter(|n| n.attribute("class") == Some("session"))
                    .position(|n| n == panel)
            })
    };
    for node in document.descendants().filter(|n| n.is_element()) {
        let what = if node.has_tag_name("text") {
            let text = node.text().unwrap_or_default();
            let mut numbers_hidden = String::new();
            for c in text.chars() {
                let digit = c.is_ascii_digit() || c == '.';
                if !(digit && numbers_hidden.ends_with('#')) {
                    numbers_hidden.push(if digit { '#' } else { c });
                }
            }
            format!("text {numbers_hidden:?}")
        } else if let Some(class) = node.attribute("class") {
            format!("class {class:?}")
        } else {
            continue;
        };
        seen.push(match panel_of(node) {
            Some(panel) => format!("panel {panel}: {what}"),
            None => what,
        });
    }
    seen
}

/// The command that makes the README's picture; a test checks the committed one is its output.
const DOCS_PICTURE: &str = "cargo run --quiet -- demo --svg docs/timeline.svg";

/// `docs/timeline.svg` is what `demo --svg` draws today (the book's delay, both sessions): the
/// same texts, marks and counts in each panel, whatever the times measured.
#[tokio::test(flavor = "multi_thread")]
async fn the_committed_picture_is_what_demo_svg_draws() {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/timeline.svg");
    let committed = std::fs::read_to_string(&committed).expect("docs/timeline.svg is committed");
    let mut command = crate::common::echoctl();
    command.args(["demo", "--svg", "-", "--color", "never"]);
    let fresh = crate::common::run(&mut command).await;
    assert_eq!(fresh.code, Some(0), "stderr: {}", fresh.stderr);
    let (committed, fresh) = (structure(&committed), structure(fresh.stdout_text()));
    assert!(
        fresh
            .iter()
            .filter(|seen| seen.contains("echo loud"))
            .count()
            == 5,
        "five shouts' echoes: {fresh:#?}"
    );
    let only_in = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter().filter(|seen| !b.contains(seen)).cloned().collect()
    };
    assert_eq!(
        committed,
        fresh,
        "docs/timeline.svg is stale; regenerate it with `{DOCS_PICTURE}`. Only in the committed \
         one: {:?}; only in a fresh one: {:?}",
        only_in(&committed, &fresh),
        only_in(&fresh, &committed),
    );
}
