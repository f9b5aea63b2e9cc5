use std::io::{IsTerminal, Write};

use anyhow::{Context, bail};

use crate::cli::DemoArgs;
use crate::color::{ColorChoice, ColorEnv, use_color};
use crate::demo::{self, DemoEnd, Progress, SvgOutput};
use crate::exit::ExitStatus;
use crate::observe::TraceFile;
use crate::paint::Painter;
use crate::signals;
use crate::timeline::terminal::DEFAULT_WIDTH;
use crate::timer::Timer;

pub(super) async fn run(args: &DemoArgs, color: ColorChoice) -> anyhow::Result<ExitStatus> {
    // Listen before anything is shown, so a Ctrl-C (or SIGTERM) at any moment is ours to handle:
    // the bar is cleared and the in-process server shut down.
    let interrupt = signals::stop_signal();
    let svg = args.svg_output();
    if let Some(SvgOutput::File(path)) = &svg {
        // Say so before the sessions play rather than after.
        let folder = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty());
        if let Some(folder) = folder.filter(|folder| !folder.is_dir()) {
            bail!(
                "cannot write the picture to {}: there is no folder {}",
                path.display(),
                folder.display()
            );
        }
        if path.is_dir() {
            bail!(
                "cannot write the picture to {}: it is a folder; name a file in it",
                path.display()
            );
        }
    }
    // The transcript is the output, unless the picture is: then it goes to stderr.
    let page = if svg == Some(SvgOutput::Stdout) {
        Page::Stderr
    } else {
        Page::Stdout
    };
    let trace = args.trace().as_ref().map(TraceFile::create).transpose()?;
    let color = use_color(color, page.is_terminal(), &ColorEnv::from_process());
    let columns = page.columns().unwrap_or(DEFAULT_WIDTH);
    let options = args.options(color, columns, trace.clone());
    // The bar is drawn on stderr between transcript lines, which it takes itself off the screen
    // for; it would tear them if they went elsewhere on the same screen (stdout piped to `cat`
    // on the terminal stderr is), so it shows only where the transcript is that very terminal,
    // and only if that terminal can redraw a line in place.
    let mut progress = if bar_cannot_tear(page) && crate::term::can_redraw() {
        Progress::on_stderr()
    } else {
        Progress::hidden()
    };
    let timer = Timer::start();
    let end = match page {
        Page::Stdout => {
            demo::run(
                &options,
                &timer,
                &mut std::io::stdout(),
                &mut progress,
                interrupt,
            )
            .await
        }
        Page::Stderr => {
            demo::run(
                &options,
                &timer,
                &mut std::io::stderr(),
                &mut progress,
                interrupt,
            )
            .await
        }
    };
    // Ended whole, however the demo ended.
    if let Some(trace) = trace {
        trace.finish();
    }
    let timelines = match end? {
        DemoEnd::Finished(timelines) => timelines,
        DemoEnd::Interrupted => return Ok(ExitStatus::Interrupted),
    };
    // A person who watched it on a terminal is told what to try next; a transcript piped or
    // saved, or one beside a picture, stays the book's session alone.
    if svg.is_none() && page.is_terminal() {
        let next = Painter::new(color).faint(NEXT_STEP);
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "\n{next}")
            .and_then(|()| stdout.flush())
            .context("cannot write to standard output")?;
    }
    match &svg {
        None => {}
        Some(SvgOutput::Stdout) => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(demo::picture(&options, &timelines).as_bytes())
                .and_then(|()| stdout.flush())
                .context("cannot write to standard output")?;
        }
        Some(SvgOutput::File(path)) => {
            std::fs::write(path, demo::picture(&options, &timelines))
                .with_context(|| format!("cannot write the picture to {}", path.display()))?;
        }
    }
    Ok(ExitStatus::Success)
}

/// The demo's last line on a terminal: what to try next, by hand.
pub(crate) const NEXT_STEP: &str =
    "Next: run `echoctl serve` here, and `echoctl connect` in another terminal.";

/// Where the transcript is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Stdout,
    Stderr,
}

impl Page {
    fn is_terminal(self) -> bool {
        match self {
            Page::Stdout => std::io::stdout().is_terminal(),
            Page::Stderr => std::io::stderr().is_terminal(),
        }
    }

    /// The terminal's width, if the page is one.
    fn columns(self) -> Option<usize> {
        let term = match self {
            Page::Stdout => console::Term::stdout(),
            Page::Stderr => console::Term::stderr(),
        };
        term.size_checked()
            .map(|(_, columns)| usize::from(columns))
            .filter(|&columns| columns > 0)
    }
}

/// Whether the bar on stderr can share the screen with the transcript: stderr is a terminal and
/// the transcript is printed on that same terminal.
fn bar_cannot_tear(page: Page) -> bool {
    let stderr = std::io::stderr();
    stderr.is_terminal()
        && match page {
            Page::Stderr => true,
            Page::Stdout => {
                let stdout = std::io::stdout();
                stdout.is_terminal() && same_file(&stdout, &stderr)
            }
        }
}

/// Whether two open files are the same file (for terminals: the same device).
#[cfg(unix)]
fn same_file(a: &impl std::os::fd::AsFd, b: &impl std::os::fd::AsFd) -> bool {
    use std::os::unix::fs::MetadataExt;
    let identity = |fd: std::os::fd::BorrowedFd<'_>| {
        let file = std::fs::File::from(fd.try_clone_to_owned().ok()?);
        let metadata = file.metadata().ok()?;
        Some((metadata.dev(), metadata.ino(), metadata.rdev()))
    };
    match (identity(a.as_fd()), identity(b.as_fd())) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Elsewhere, two terminals are taken to be the one the user is watching.
#[cfg(not(unix))]
fn same_file<A, B>(_: &A, _: &B) -> bool {
    true
}
