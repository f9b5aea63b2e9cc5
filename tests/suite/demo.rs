//! `echoctl demo`, the built binary, with stdout and stderr pipes: what a script or a CI log sees.
//!
//! The order tests run each session several times at once: a race in the script would show up as
//! a wrong transcript in some of them, the more so on a busy machine.

use std::process::Stdio;
use std::time::Duration;

use crate::common::{Finished, PATIENCE, run, signal};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::{Instant, timeout};

/// Short enough for a quick suite, long enough for a loaded 2-core machine: at this delay the one
/// race in the concurrent script (the second shout must reach the server before the first one's
/// last echo) has 150 ms of room; every other step waits for an echo.
const DELAY: &str = "200ms";

/// How many times each session is replayed, side by side.
const RUNS: usize = 3;

const SEQUENTIAL: &str = "\
$ echoctl serve --mode sequential --delay 200ms &
$ echoctl connect
Hello?
    HELLO?
    Hello?
    hello?
Is there anybody there?
    IS THERE ANYBODY THERE?
Yooo-hooo!
    Is there anybody there?
    is there anybody there?
    YOOO-HOOO!
    Yooo-hooo!
    yooo-hooo!
^D
";

const CONCURRENT: &str = "\
$ echoctl serve --mode concurrent --delay 200ms &
$ echoctl connect
Is there anybody there?
    IS THERE ANYBODY THERE?
Yooo-hooo!
    Is there anybody there?
    YOOO-HOOO!
    is there anybody there?
    Yooo-hooo!
    yooo-hooo!
^D
";

/// Color variables a developer's shell may have set; each test sets what it means to test.
const COLOR_VARS: [&str; 3] = ["NO_COLOR", "CLICOLOR_FORCE", "FORCE_COLOR"];

/// The built `echoctl` with none of the colour variables a developer's shell may have set.
fn echoctl() -> Command {
    let mut command = crate::common::echoctl();
    for var in COLOR_VARS {
        command.env_remove(var);
    }
    command
}

async fn demo(args: &[&str]) -> Finished {
    run(echoctl().arg("demo").args(args)).await
}

/// Runs `echoctl demo --mode MODE` `RUNS` times at once, and checks each transcript.
async fn replays_exactly(mode: &'static str, expected: &str) {
    let runs: Vec<_> = (0..RUNS)
        .map(|_| tokio::spawn(async move { demo(&["--mode", mode, "--delay", DELAY]).await }))
        .collect();
    for (index, run) in runs.into_iter().enumerate() {
        let run = run.await.unwrap();
        assert_eq!(run.code, Some(0), "run {index}: stderr: {}", run.stderr);
        assert_eq!(run.stdout_text(), expected, "run {index} of {mode}");
        assert_eq!(
            run.stderr, "",
            "run {index}: no bar, no logs on a piped stderr"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sequential_demo_replays_reverb1_exactly_every_time() {
    replays_exactly("sequential", SEQUENTIAL).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_demo_replays_reverb2_exactly_every_time() {
    replays_exactly("concurrent", CONCURRENT).await;
}

/// The guide shows reverb2's session as `demo --mode concurrent --color never` prints it at the
/// default delay: the transcript the test above gets at its own.
#[test]
fn the_guides_transcript_is_the_one_the_demo_replays() {
    let shown = crate::recipes::example("docs/guide.md", "guide-demo-concurrent");
    assert_eq!(
        shown.replace(
            "--mode concurrent &",
            &format!("--mode concurrent --delay {DELAY} &")
        ),
        CONCURRENT
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_both_sessions_play_in_the_books_order() {
    let run = demo(&["--delay", DELAY]).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout_text(), format!("{SEQUENTIAL}\n{CONCURRENT}"));
    assert_eq!(run.stderr, "");
}

// The colour tests play the sequential session, which has no race (each step waits for an
// echo), so they run it at the shortest delay: only the order tests above depend on the script's
// margin.
const FAST_DELAY: &str = "10ms";

/// The sequential transcript as played at `FAST_DELAY`.
fn sequential_fast() -> String {
    SEQUENTIAL.replace(
        &format!("--delay {DELAY}"),
        &format!("--delay {FAST_DELAY}"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn color_always_paints_a_pipe_and_keeps_the_text() {
    let run = demo(&[
        "--mode",
        "sequential",
        "--delay",
        FAST_DELAY,
        "--color",
        "always",
    ])
    .await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.stdout_text().contains("\x1b["),
        "{:?}",
        run.stdout_text()
    );
    assert_eq!(
        console::strip_ansi_codes(run.stdout_text()),
        sequential_fast()
    );
    for line in run
        .stdout_text()
        .lines()
        .filter(|line| line.starts_with(' '))
    {
        assert!(
            line.starts_with("    \x1b["),
            "echoes indented, then painted: {line:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn color_is_global_and_may_come_before_the_subcommand() {
    let mut command = echoctl();
    command.args([
        "--color",
        "always",
        "demo",
        "--mode",
        "sequential",
        "--delay",
        FAST_DELAY,
    ]);
    let run = run(&mut command).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(run.stdout_text().contains("\x1b["));
}

#[tokio::test(flavor = "multi_thread")]
async fn color_never_and_no_color_leave_no_escapes_even_when_forced() {
    let mut never = echoctl();
    never
        .args([
            "demo",
            "--mode",
            "sequential",
            "--delay",
            FAST_DELAY,
            "--color",
            "never",
        ])
        .env("FORCE_COLOR", "1")
        .env("CLICOLOR_FORCE", "1");
    let mut no_color = echoctl();
    no_color
        .args(["demo", "--mode", "sequential", "--delay", FAST_DELAY])
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1");
    let (never, no_color) = tokio::join!(run(&mut never), run(&mut no_color));
    for run in [never, no_color] {
        assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
        assert!(
            !run.stdout_text().contains('\x1b'),
            "{:?}",
            run.stdout_text()
        );
        assert_eq!(run.stdout_text(), sequential_fast());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn clicolor_force_paints_a_pipe_in_auto_mode() {
    let mut command = echoctl();
    command
        .args(["demo", "--mode", "sequential", "--delay", FAST_DELAY])
        .env("CLICOLOR_FORCE", "1");
    let run = run(&mut command).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.stdout_text().contains("\x1b["),
        "{:?}",
        run.stdout_text()
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_ends_the_demo_at_once_with_status_130() {
    // At 1 s the whole script takes 11 s; Ctrl-C after the first line must not wait for it.
    let mut child = echoctl()
        .arg("demo")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut shown = String::new();
    while !shown.ends_with("Hello?\n") {
        let read = timeout(PATIENCE, stdout.read_line(&mut shown))
            .await
            .expect("the demo starts")
            .unwrap();
        assert_ne!(read, 0, "stdout ended early: {shown:?}");
    }
    let interrupted = Instant::now();
    signal(&child, "INT");
    let status = timeout(PATIENCE, child.wait()).await.unwrap().unwrap();
    let took = interrupted.elapsed();
    assert_eq!(
        status.code(),
        Some(130),
        "handled, not killed by the signal"
    );
    assert!(took < Duration::from_secs(3), "took {took:?} to stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delay_too_short_to_keep_the_order_is_a_usage_error() {
    let run = demo(&["--delay", "1ms"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("at least 10ms"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

/// The transcripts at `delay`, as the order tests expect them at `DELAY`.
fn at_delay(transcript: &str, delay: &str) -> String {
    transcript.replace(&format!("--delay {DELAY}"), &format!("--delay {delay}"))
}

/// A chart's row of `label`: where each of its marks is (columns), and its waiting stretch's
/// length in cells.
#[derive(Debug)]
struct ChartRow {
    sent: usize,
    echoes: [usize; 3],
    waited_cells: usize,
}

fn chart_row(chart: &str, label: &str) -> ChartRow {
    let row = chart
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no row for {label:?} in\n{chart}"));
    let cells: Vec<char> = row.chars().collect();
    let only = |mark: char| {
        let found: Vec<usize> = (0..cells.len()).filter(|&c| cells[c] == mark).collect();
        assert_eq!(found.len(), 1, "one {mark:?} in {row:?}");
        found[0]
    };
    ChartRow {
        sent: only('>'),
        echoes: [only('█'), only('▒'), only('░')],
        waited_cells: cells.iter().filter(|&&c| c == '═').count(),
    }
}

/// The axis of a chart: its ruler and labels lines, and the cells between two ticks.
fn chart_axis(chart: &str) -> (String, String, usize) {
    let lines: Vec<&str> = chart.lines().collect();
    let ruler = lines
        .iter()
        .position(|line| line.trim_start().starts_with('├'))
        .unwrap_or_else(|| panic!("no axis in\n{chart}"));
    let ticks: Vec<usize> = lines[ruler]
        .chars()
        .enumerate()
        .filter(|&(_, c)| matches!(c, '├' | '┼' | '┤'))
        .map(|(column, _)| column)
        .collect();
    let per_tick = ticks.windows(2).map(|pair| pair[1] - pair[0]).min();
    (
        lines[ruler].to_string(),
        lines[ruler + 1].to_string(),
        per_tick.expect("at least two ticks"),
    )
}

/// What a learner should see at a glance: reverb1 held `Yooo-hooo!` back for more than a delay,
/// reverb2 held nothing back, both on one scale, and each shout's marks in their order.
#[tokio::test(flavor = "multi_thread")]
async fn timeline_follows_each_transcript_on_one_scale() {
    let run = demo(&[
        "--mode",
        "both",
        "--delay",
        "50ms",
        "--timeline",
        "--color",
        "never",
    ])
    .await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    let out = run.stdout_text();
    assert!(!out.contains('\x1b'), "{out:?}");
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(
        blocks.len(),
        4,
        "transcript, chart, transcript, chart:\n{out}"
    );
    assert_eq!(format!("{}\n", blocks[0]), at_delay(SEQUENTIAL, "50ms"));
    assert_eq!(format!("{}\n", blocks[2]), at_delay(CONCURRENT, "50ms"));
    let (sequential, concurrent) = (blocks[1], blocks[3]);
    assert!(
        sequential.starts_with("sequential (reverb1), delay 50ms\n"),
        "{sequential}"
    );
    assert!(
        concurrent.starts_with("concurrent (reverb2), delay 50ms\n"),
        "{concurrent}"
    );
    for chart in [sequential, concurrent] {
        for line in chart.lines() {
            assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
        }
        assert_eq!(
            chart.lines().last(),
            Some("> sent  ═ waited in the server  █ loud  ▒ as sent  ░ quiet"),
            "{chart}"
        );
        assert!(
            !chart.contains("(no shout)"),
            "every line is a shout's echo:\n{chart}"
        );
    }
    let (ruler, labels, per_delay) = chart_axis(sequential);
    assert_eq!(
        (ruler.as_str(), labels.as_str()),
        (
            chart_axis(concurrent).0.as_str(),
            chart_axis(concurrent).1.as_str()
        ),
        "one scale for both"
    );
    assert!(labels.trim_start().starts_with("0s "), "{labels}");

    let sequential_rows = ["Hello?", "Is there anybody there?", "Yooo-hooo!"]
        .map(|label| chart_row(sequential, label));
    let concurrent_rows =
        ["Is there anybody there?", "Yooo-hooo!"].map(|label| chart_row(concurrent, label));
    for row in sequential_rows.iter().chain(&concurrent_rows) {
        let [loud, as_sent, quiet] = row.echoes;
        assert!(
            row.sent < loud && loud < as_sent && as_sent < quiet,
            "{row:?}"
        );
    }
    // reverb1 read Yooo-hooo! a delay and a half after it was sent (however late the client's
    // timer sent it, more than half a delay); reverb2 read it at once (a stretch of half a delay
    // would be far beyond a loaded machine's latency).
    let held = &sequential_rows[2];
    assert!(
        held.waited_cells >= per_delay / 2 && held.waited_cells > 0,
        "{held:?}, {per_delay} cells a delay\n{sequential}"
    );
    assert!(
        held.echoes[0] >= sequential_rows[1].echoes[2],
        "not before the previous shout's last echo"
    );
    for row in &concurrent_rows {
        assert!(row.waited_cells < per_delay / 2, "{row:?}\n{concurrent}");
    }
    // reverb2's second shout is echoed while the first still is.
    assert!(
        concurrent_rows[1].echoes[0] < concurrent_rows[0].echoes[2],
        "{concurrent}"
    );
}

/// The classes the SVG gives each event's mark, counted in each session's panel.
fn svg_panels(text: &str) -> Vec<Vec<(&'static str, usize)>> {
    let document = roxmltree::Document::parse(text).expect("well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    assert!(document.root_element().attribute("viewBox").is_some());
    document
        .descendants()
        .filter(|node| node.attribute("class") == Some("session"))
        .map(|panel| {
            ["sent", "echo loud", "echo as-sent", "echo quiet"]
                .map(|class| {
                    let count = panel
                        .descendants()
                        .filter(|node| node.attribute("class") == Some(class))
                        .count();
                    (class, count)
                })
                .to_vec()
        })
        .collect()
}

fn each_class(count: usize) -> Vec<(&'static str, usize)> {
    ["sent", "echo loud", "echo as-sent", "echo quiet"]
        .map(|class| (class, count))
        .to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn svg_writes_a_picture_of_both_sessions_that_parses() {
    let dir = tempfile_dir("svg-file");
    let path = dir.join("timeline.svg");
    let path_arg = path.to_str().expect("a UTF-8 temp path");
    let run = demo(&["--delay", "50ms", "--svg", path_arg, "--color", "never"]).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.stdout_text(),
        format!(
            "{}\n{}",
            at_delay(SEQUENTIAL, "50ms"),
            at_delay(CONCURRENT, "50ms")
        ),
        "the transcript is unchanged"
    );
    let text = std::fs::read_to_string(&path).expect("the picture was written");
    assert_eq!(svg_panels(&text), [each_class(3), each_class(2)]);
    assert!(
        text.contains("echoctl demo --mode both --delay 50ms"),
        "titled"
    );
    usvg::Tree::from_str(&text, &usvg::Options::default()).expect("usvg reads it");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn svg_to_stdout_moves_the_transcript_to_stderr() {
    let run = demo(&[
        "--mode",
        "sequential",
        "--delay",
        FAST_DELAY,
        "--svg",
        "-",
        "--color",
        "never",
    ])
    .await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stderr, sequential_fast());
    assert_eq!(svg_panels(run.stdout_text()), [each_class(3)]);
    assert!(
        run.stdout_text()
            .contains("sequential (reverb1), delay 10ms")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn svg_into_a_missing_folder_or_onto_a_folder_fails_before_playing() {
    let run = demo(&["--svg", "/nonexistent-echoctl-folder/timeline.svg"]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.is_empty(), "nothing played");
    assert_eq!(
        run.stderr,
        "echoctl: error: cannot write the picture to /nonexistent-echoctl-folder/timeline.svg: \
         there is no folder /nonexistent-echoctl-folder\n"
    );
    let folder = std::env::temp_dir();
    let folder = folder.to_str().expect("a UTF-8 temp path");
    let run = demo(&["--svg", folder]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.is_empty(), "nothing played");
    assert_eq!(
        run.stderr,
        format!(
            "echoctl: error: cannot write the picture to {folder}: it is a folder; name a file \
             in it\n"
        )
    );
}

/// A fresh folder of this test's own under the system's temp folder.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("echoctl-demo-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temp folder");
    dir
}

/// The progress bar on a pseudo-terminal: shown only where it cannot tear the transcript, one
/// line at any width, none on a dumb terminal.
#[cfg(target_os = "linux")]
mod bar {
    use std::process::Stdio;

    use tokio::time::timeout;

    use super::{SEQUENTIAL, echoctl};
    use crate::common::{PATIENCE, finish, pty};

    /// The spinner's frames, as progress.rs draws them.
    const SPINNER: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";

    /// The demo's last line on a terminal, after an empty one.
    const NEXT_STEP: &str =
        "\n\nNext: run `echoctl serve` here, and `echoctl connect` in another terminal.";

    /// Plays the sequential session at 200ms with `stdout_on_pty` (else piped) and stderr on a
    /// pty `columns` wide; returns what the pty received and what went to the pipe.
    async fn play(columns: u16, stdout_on_pty: bool, term: &str) -> (Vec<u8>, Vec<u8>) {
        play_with(columns, stdout_on_pty, term, &["--color", "never"]).await
    }

    /// [`play`], with `extra` arguments instead of `--color never`.
    async fn play_with(
        columns: u16,
        stdout_on_pty: bool,
        term: &str,
        extra: &[&str],
    ) -> (Vec<u8>, Vec<u8>) {
        let (terminal, screen) = pty(columns);
        let mut command = echoctl();
        command
            .args(["demo", "--mode", "sequential", "--delay", "200ms"])
            .args(extra)
            .env("TERM", term)
            .stdin(Stdio::null())
            .stderr(terminal.try_clone().expect("dup the terminal"));
        if stdout_on_pty {
            command.stdout(terminal);
        } else {
            drop(terminal);
            command.stdout(Stdio::piped());
        }
        let child = command.spawn().expect("spawn echoctl");
        // The command keeps its copies of the terminal open until dropped.
        drop(command);
        let finished = finish(child).await;
        assert_eq!(finished.code, Some(0), "stderr: {}", finished.stderr);
        let shown = timeout(PATIENCE, screen)
            .await
            .expect("the pty is released")
            .expect("the reader did not panic");
        (shown, finished.stdout)
    }

    /// What a terminal `columns` wide shows after `bytes`, each line without the blanks at its
    /// end.
    fn screen(bytes: &[u8], columns: u16) -> String {
        let size = |n| std::num::NonZeroU16::new(n).expect("not zero");
        let mut terminal = vt100::Parser::new(size(50), size(columns), 0);
        terminal.process(bytes);
        let contents = terminal.screen().contents();
        let lines: Vec<&str> = contents.lines().map(str::trim_end).collect();
        lines.join("\n")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_piped_transcript_gets_no_bar_on_the_terminal() {
        let (shown, piped) = play(80, false, "xterm").await;
        assert_eq!(String::from_utf8_lossy(&piped), SEQUENTIAL);
        assert_eq!(
            String::from_utf8_lossy(&shown),
            "",
            "nothing on the terminal: the bar would tear the piped lines shown there"
        );
    }

    /// At 40 columns every frame is one line, the same width all along, and clearing it leaves
    /// exactly the transcript on the screen (a wrapped frame would leave its first line behind).
    #[tokio::test(flavor = "multi_thread")]
    async fn on_the_transcripts_terminal_the_bar_is_one_line_that_goes() {
        let (shown, piped) = play(40, true, "xterm").await;
        assert!(piped.is_empty());
        let text = String::from_utf8_lossy(&shown);
        let frames: Vec<&str> = text
            .split(['\r', '\n'])
            .filter_map(|piece| piece.strip_prefix("\x1b[2K"))
            .filter(|frame| frame.contains("reverb1 ["))
            .collect();
        assert!(frames.len() >= 3, "the bar was drawn: {text:?}");
        for frame in &frames {
            assert_eq!(
                frame.chars().count(),
                37,
                "three columns left: two for ^C, and the last: {frame:?}"
            );
            assert!(
                frame.chars().next().is_some_and(|c| SPINNER.contains(c)),
                "{frame:?}"
            );
        }
        assert_eq!(
            screen(&shown, 40).trim_end(),
            format!("{}{NEXT_STEP}", SEQUENTIAL.trim_end())
        );
    }

    /// A dumb terminal cannot redraw a line in place: no bar at all, only the transcript's
    /// lines, each ended as the terminal ends them (`\r\n`), never a carriage return alone.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_dumb_terminal_gets_no_bar_and_nothing_redrawn() {
        let (shown, _) = play(40, true, "dumb").await;
        let text = String::from_utf8_lossy(&shown);
        assert!(!text.contains("reverb1 ["), "no bar: {text:?}");
        assert!(!text.contains('\x1b'), "no escape sequence: {text:?}");
        assert!(
            !text.replace("\r\n", "\n").contains('\r'),
            "no carriage return but at a line's end: {text:?}"
        );
        assert!(
            !text.chars().any(|c| SPINNER.contains(c)),
            "no spinner: {text:?}"
        );
        assert_eq!(
            text.replace("\r\n", "\n").trim_end(),
            format!("{}{NEXT_STEP}", SEQUENTIAL.trim_end())
        );
    }

    /// What to try next is said on a terminal, dimmed, after the `^D`; never in a transcript
    /// piped away, nor beside a picture.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_next_step_is_suggested_on_a_terminal_only() {
        let (shown, _) = play_with(100, true, "xterm", &["--color", "always"]).await;
        let size = |n| std::num::NonZeroU16::new(n).expect("not zero");
        let mut terminal = vt100::Parser::new(size(50), size(100), 0);
        terminal.process(&shown);
        let rows: Vec<String> = terminal.screen().rows(0, 100).collect();
        let last = rows.iter().rposition(|row| !row.trim().is_empty());
        let last = last.unwrap_or_else(|| panic!("an empty screen: {rows:?}"));
        assert_eq!(
            rows[last - 2..=last],
            ["^D", "", NEXT_STEP.trim_start()],
            "after the session, an empty line and what to try next"
        );
        let first = terminal
            .screen()
            .cell(u16::try_from(last).unwrap(), 0)
            .unwrap();
        assert!(first.dim(), "dimmed");
        let (_, piped) = play(80, false, "xterm").await;
        assert_eq!(String::from_utf8_lossy(&piped), SEQUENTIAL);
        let picture =
            std::env::temp_dir().join(format!("echoctl-demo-next-{}.svg", std::process::id()));
        let (shown, _) = play_with(
            100,
            true,
            "xterm",
            &["--color", "never", "--svg", picture.to_str().unwrap()],
        )
        .await;
        let _ = std::fs::remove_file(&picture);
        assert_eq!(
            screen(&shown, 100).trim_end(),
            SEQUENTIAL.trim_end(),
            "with a picture, the transcript alone"
        );
    }
}
