use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::bench::{self, BenchConfig, Progress};
use crate::exit;

/// Runs the bench and prints its report, as JSON when `json`.
pub async fn run(config: BenchConfig, json: bool) -> anyhow::Result<ExitCode> {
    if let Some(limit) = super::raise_open_files_limit()
        && limit < config.connections as u64 + FILES_BESIDES_CONNECTIONS
    {
        tracing::warn!(
            "open files are limited to {limit}, too few for {} connections: connects will fail \
             (raise the hard limit, e.g. `ulimit -Hn`, as root)",
            config.connections
        );
    }
    let progress = Arc::new(Progress::default());
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| show_progress(&config, progress.clone()));
    let report = bench::run(config, progress).await;
    if let Some((bar, ticker)) = bar {
        ticker.abort();
        bar.finish_and_clear();
    }
    let report = report?;
    let mut stdout = std::io::stdout().lock();
    let shown = if json {
        writeln!(stdout, "{}", report.json())
    } else {
        write!(stdout, "{}", report.table())
    };
    let status = if report.ok {
        exit::SUCCESS
    } else {
        exit::BENCH_ECHOES_WRONG
    };
    match shown.and_then(|()| stdout.flush()) {
        // The verdict is the status: a reader that took only part of the report (`| head`)
        // must not turn a failed run into a pass.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.context("cannot write the report to stdout")?,
    }
    Ok(ExitCode::from(status))
}

/// Descriptors the bench needs beside one per connection (standard streams, the runtime's own).
const FILES_BESIDES_CONNECTIONS: u64 = 32;

/// A progress bar on stderr, redrawn from the shared counters a few times a second.
fn show_progress(
    config: &BenchConfig,
    progress: Arc<Progress>,
) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = ProgressBar::with_draw_target(
        Some(config.max_echo_lines()),
        ProgressDrawTarget::stderr_with_hz(5),
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} echoes  {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let connections = config.connections;
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                let get = Progress::get;
                bar.set_position(get(&progress.echoes));
                bar.set_message(format!(
                    "{}/{connections} up, {} failed, {} shouts",
                    get(&progress.connected)
                        - get(&progress.finished).min(get(&progress.connected)),
                    get(&progress.failed),
                    get(&progress.shouts),
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    (bar, ticker)
}
