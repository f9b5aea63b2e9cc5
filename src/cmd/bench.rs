use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::bench::{self, BenchConfig, Progress, Report, ReportOptions, chart, hgrm};
use crate::exit::ExitStatus;
use crate::observe::{TraceFile, TraceOptions};
use crate::term;
use crate::tls::{ClientTls, ClientTlsOptions, Trust};

/// Runs the bench and prints its report (as JSON with `options.json`), writes the files asked
/// for, and returns the verdict as an exit status: 130 when a stop signal cut the run short.
pub(super) async fn run(
    config: BenchConfig,
    options: ReportOptions,
    tls: Option<ClientTlsOptions>,
    trace: Option<(TraceOptions, usize)>,
) -> anyhow::Result<ExitStatus> {
    // The CA file and the client's certificate are read before anything connects.
    let tls = tls
        .map(|tls| {
            if tls.trust == Trust::Anything {
                crate::tls::client::warn_insecure();
            }
            ClientTls::new(&tls, &config.addr)
        })
        .transpose()?;
    if let Some(limit) = super::raise_open_files_limit()
        && limit < config.connections as u64 + FILES_BESIDES_CONNECTIONS
    {
        tracing::warn!(
            "open files are limited to {limit}, too few for {}: connects will fail \
             (raise the hard limit, e.g. `ulimit -Hn`, as root)",
            echoctl_core::plural::counted(config.connections, "connection")
        );
    }
    // The files are created before the run, so that a path that cannot be written fails at once
    // rather than after minutes of load.
    let mut files = Vec::new();
    if let Some(path) = &options.percentiles {
        files.push(create(path)?);
        for voice in hgrm::VOICE_NAMES {
            files.push(create(&hgrm::voice_path(path, voice))?);
        }
    }
    let svg = options.svg.as_deref().map(create).transpose()?;
    let trace = match trace {
        Some((options, connections)) => Some(bench::Tracing {
            file: TraceFile::create(&options)?,
            connections,
        }),
        None => None,
    };
    let trace_file = trace.as_ref().map(|trace| trace.file.clone());

    // Watching for Ctrl-C from before the first connect: the run is cut short, and reported.
    let cut = CancellationToken::new();
    let stop_signal = crate::signals::stop_signal();
    let watcher = {
        let cut = cut.clone();
        tokio::spawn(async move {
            stop_signal.await;
            cut.cancel();
        })
    };
    let progress = Arc::new(Progress::default());
    let bar = (std::io::stderr().is_terminal() && term::can_redraw())
        .then(|| show_progress(&config, progress.clone()));
    let report = bench::run_traced(config, tls, progress, cut, trace).await;
    watcher.abort();
    if let Some(file) = trace_file {
        file.finish();
    }
    if let Some((bar, ticker)) = bar {
        ticker.abort();
        bar.finish_and_clear();
    }
    let mut report = report?
        .with_max_p99(options.max_p99)
        .with_faults_allowed(options.allow_faults)
        .with_max_loss(options.max_loss);
    report.command_line = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();

    write_files(&report, &options, files, svg)?;
    let mut stdout = std::io::stdout().lock();
    let shown = if options.json {
        writeln!(stdout, "{}", report.json())
    } else {
        // Fitted to a terminal's width, so the terminal has nothing to wrap mid-word.
        let columns = std::io::stdout()
            .is_terminal()
            .then(|| console::Term::stdout().size_checked())
            .flatten()
            .map(|(_, columns)| usize::from(columns))
            .filter(|&columns| columns > 0);
        write!(stdout, "{}", report.table_for(columns))
    };
    let status = if report.cut_short {
        ExitStatus::Interrupted
    } else if report.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    match shown.and_then(|()| stdout.flush()) {
        // The verdict is the status: a reader that took only part of the report (`| head`)
        // must not turn a failed run into a pass.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.context("cannot write the report to stdout")?,
    }
    Ok(status)
}

fn create(path: &Path) -> anyhow::Result<(PathBuf, File)> {
    let file = File::create(path).with_context(|| {
        format!(
            "cannot create {}; give a path in a writable directory",
            path.display()
        )
    })?;
    Ok((path.to_path_buf(), file))
}

/// Writes `--percentiles` (into `files`, created in [`hgrm::files`]'s order) and `--svg`.
fn write_files(
    report: &Report,
    options: &ReportOptions,
    files: Vec<(PathBuf, File)>,
    svg: Option<(PathBuf, File)>,
) -> anyhow::Result<()> {
    if let Some(path) = &options.percentiles {
        for ((_, text), (path, mut file)) in hgrm::files(report, path).into_iter().zip(files) {
            file.write_all(text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    if let Some((path, mut file)) = svg {
        let text = chart::of_report(report).to_string();
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Descriptors the bench needs beside one per connection (standard streams, the runtime's own).
const FILES_BESIDES_CONNECTIONS: u64 = 32;

/// A progress line on stderr, redrawn from the shared counters a few times a second, cut to the
/// terminal's width (see [`progress_line`]).
fn show_progress(
    config: &BenchConfig,
    progress: Arc<Progress>,
) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = ProgressBar::with_draw_target(None, term::progress_on_stderr(5));
    if let Ok(style) = ProgressStyle::with_template("{msg}") {
        bar.set_style(style);
    }
    let total = config.max_echo_lines();
    let connections = config.connections as u64;
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let term = console::Term::stderr();
            loop {
                let get = Progress::get;
                let connected = get(&progress.connected);
                let counts = Counts {
                    echoes: get(&progress.echoes),
                    total,
                    up: connected - get(&progress.finished).min(connected),
                    connections,
                    failed: get(&progress.failed),
                    shouts: get(&progress.shouts),
                };
                let (_, columns) = term.size();
                bar.set_message(progress_line(
                    usize::from(columns),
                    started.elapsed(),
                    &counts,
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    (bar, ticker)
}

/// What the progress line shows.
#[derive(Debug, Clone, Copy)]
struct Counts {
    echoes: u64,
    /// The most echo lines the run can get.
    total: u64,
    up: u64,
    connections: u64,
    failed: u64,
    shouts: u64,
}

/// The progress line for a terminal `columns` wide: as wide as [`term::bar_width`] allows, so
/// that it never wraps, even with a `^C` echoed after it; and the same width as the counts grow,
/// since each count is padded to the width of its largest value. The richest layout that leaves
/// the bar ten cells wins; narrower ones drop the shouts, then the totals.
fn progress_line(columns: usize, elapsed: Duration, c: &Counts) -> String {
    let width = term::bar_width(columns);
    let secs = elapsed.as_secs();
    let time = format!("{:>2}:{:02}", secs / 60, secs % 60);
    let percent = (100 * c.echoes.min(c.total))
        .checked_div(c.total)
        .unwrap_or(0) as usize;
    let cw = digits(c.connections);
    // The total does not change during a run: no padding needed for a steady width.
    let total = human(c.total).trim_start().to_string();
    let tails = [
        format!(
            " {percent:>3}% {}/{} echoes  {:>cw$}/{} up, {:>cw$} failed, {} shouts",
            human(c.echoes),
            total,
            c.up,
            c.connections,
            c.failed,
            human(c.shouts)
        ),
        format!(
            " {percent:>3}% {}/{} echoes {:>cw$} up {:>cw$} failed",
            human(c.echoes),
            total,
            c.up,
            c.failed
        ),
        format!(
            " {percent:>3}% {} echoes {:>cw$} up {:>cw$} fail",
            human(c.echoes),
            c.up,
            c.failed
        ),
        format!(" {percent:>3}% {:>cw$} up {:>cw$} fail", c.up, c.failed),
    ];
    // The bar keeps ten cells while the counts can give way; the last layout keeps four.
    const MIN_BAR: usize = 10;
    let fixed = |tail: &str| time.chars().count() + 3 + tail.chars().count();
    let tail = tails
        .iter()
        .find(|tail| fixed(tail) + MIN_BAR <= width)
        .unwrap_or(&tails[tails.len() - 1]);
    let cells = width.saturating_sub(fixed(tail)).max(1);
    let filled = cells * percent / 100;
    let mut bar = "=".repeat(filled);
    if filled < cells {
        bar.push('>');
        bar.push_str(&" ".repeat(cells - filled - 1));
    }
    let line = format!("{time} [{bar}]{tail}");
    line.chars().take(width).collect()
}

fn digits(n: u64) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// A count in five columns: `   999`, `12.3k`, ` 1.5M`.
fn human(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n:>5}"),
        10_000..=999_999 => format!("{:>4.0}k", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:>4.1}M", n as f64 / 1e6),
        _ => format!("{:>4.1}G", n as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(echoes: u64, up: u64, failed: u64, shouts: u64) -> Counts {
        Counts {
            echoes,
            total: 300_000,
            up,
            connections: 10_000,
            failed,
            shouts,
        }
    }

    fn width(line: &str) -> usize {
        line.chars().count()
    }

    #[test]
    fn the_line_fits_three_columns_short_of_the_terminal_and_keeps_its_width() {
        for columns in [20, 40, 60, 80, 100, 200] {
            let early = progress_line(columns, Duration::from_secs(1), &counts(0, 1, 0, 0));
            let late = progress_line(
                columns,
                Duration::from_secs(754),
                &counts(299_999, 10_000, 9_999, 99_999),
            );
            assert_eq!(width(&early), columns - 3, "{columns}: {early:?}");
            assert_eq!(width(&late), columns - 3, "{columns}: {late:?}");
            assert!(!early.contains('\n'));
        }
    }

    #[test]
    fn at_forty_columns_the_bar_keeps_its_cells_and_the_counts_that_matter() {
        let line = progress_line(
            40,
            Duration::from_secs(75),
            &counts(150_000, 9_000, 3, 50_000),
        );
        assert_eq!(line, " 1:15 [==> ]  50%  9000 up     3 fail");
        assert_eq!(width(&line), 37);
    }

    #[test]
    fn wide_terminals_get_the_totals_and_the_shouts() {
        let line = progress_line(
            120,
            Duration::from_secs(5),
            &counts(3_000, 10_000, 0, 1_000),
        );
        assert!(
            line.contains(" 3000/300k echoes  10000/10000 up,     0 failed,  1000 shouts"),
            "{line}"
        );
        assert!(line.starts_with(" 0:05 [>"), "{line}");
    }

    #[test]
    fn counts_are_five_columns_whatever_their_size() {
        for n in [0, 9_999, 10_000, 999_999, 1_000_000, 5_000_000_000] {
            assert_eq!(human(n).len(), 5, "{n}: {:?}", human(n));
        }
        assert_eq!(human(12_345), "  12k");
        assert_eq!(human(1_500_000), " 1.5M");
    }
}
