use std::io::IsTerminal;
use std::process::ExitCode;

use crate::demo::{self, DemoEnd, DemoOptions, Progress};
use crate::exit;
use crate::signals;

pub async fn run(options: DemoOptions) -> anyhow::Result<ExitCode> {
    // Listen before anything is shown, so a Ctrl-C (or SIGTERM) at any moment is ours to handle:
    // the bar is cleared and the in-process server shut down.
    let interrupt = signals::stop_signal();
    // The bar is drawn on stderr between transcript lines, which it takes itself off the screen
    // for; it would tear them if they went elsewhere on the same screen (stdout piped to `cat`
    // on the terminal stderr is), so it shows only where the transcript is that very terminal.
    let mut progress = if bar_cannot_tear() {
        Progress::on_stderr(std::env::var_os("TERM").is_some_and(|term| term == "dumb"))
    } else {
        Progress::hidden()
    };
    let end = demo::run(&options, &mut std::io::stdout(), &mut progress, interrupt).await?;
    Ok(match end {
        DemoEnd::Finished => ExitCode::from(exit::SUCCESS),
        DemoEnd::Interrupted => ExitCode::from(exit::INTERRUPTED),
    })
}

/// Whether the bar on stderr can share the screen with the transcript on stdout: both are the
/// same terminal.
fn bar_cannot_tear() -> bool {
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    stderr.is_terminal() && stdout.is_terminal() && same_file(&stdout, &stderr)
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
