//! Shell completions and man pages, generated from the one clap definition in [`crate::cli`].
//!
//! Both are committed (`completions/`, `man/`) so that users and packagers get them without a
//! Rust toolchain, and `tests/suite/docs.rs` fails whenever a committed file differs from what the
//! definition generates now, naming [`REGENERATE`]. Generating reads neither the clock nor the
//! environment, so the output is the same on every machine and the test can compare bytes.
//!
//! Completions are clap_complete's scripts, unchanged. Man pages are clap_mangen's NAME,
//! SYNOPSIS, DESCRIPTION, OPTIONS and SUBCOMMANDS, followed by sections clap cannot derive:
//!
//! * EXIT STATUS, from what each [`ExitStatus`] says it means for the command, and ENVIRONMENT,
//!   from the table `ENVIRONMENT` in `man/sections.rs`, each entry on the pages it applies to;
//! * one section per block of the command's `after_help` (`Examples:` becomes EXAMPLES), so
//!   `--help` and the man page show the same examples, plus the longer ones in
//!   `more_examples`;
//! * SEE ALSO, linking every page.
//!
//! One page is made per visible command, found by walking the definition, so a subcommand added
//! later gets its page from the regenerate command alone, and hidden ones get none. (The
//! completion scripts do offer hidden subcommands: clap_complete does not filter them.)

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

mod completion;
mod man;

use completion::completion_file_name;
pub use completion::{completion, shells};
pub use man::{escape_non_ascii, man_pages};

/// Regenerates `completions/` and `man/` (`examples/generate-docs.rs`), from anywhere in the
/// repository.
pub const REGENERATE: &str = "cargo run --quiet --example generate-docs";

/// Where the completion scripts go, relative to the output directory.
pub const COMPLETIONS_DIR: &str = "completions";

/// Where the man pages go, relative to the output directory.
pub const MAN_DIR: &str = "man";

const BIN_NAME: &str = "echoctl";

/// Every generated file, as a path relative to the output directory and its contents.
pub fn generated_files() -> Vec<(PathBuf, Vec<u8>)> {
    let completions = shells().iter().map(|&shell| {
        (
            Path::new(COMPLETIONS_DIR).join(completion_file_name(shell)),
            completion(shell),
        )
    });
    let pages = man_pages()
        .into_iter()
        .map(|(name, page)| (Path::new(MAN_DIR).join(name), page));
    completions.chain(pages).collect()
}

/// What [`write_all`] did, paths relative to its output directory.
#[derive(Debug, Default)]
pub struct WriteReport {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
}

/// Writes every generated file under `out` and removes the files of ours that are no longer
/// generated (the page of a removed subcommand). Files already up to date are not rewritten, so
/// their timestamps say when they last changed.
pub fn write_all(out: &Path) -> io::Result<WriteReport> {
    let files = generated_files();
    let mut report = WriteReport::default();
    for (path, contents) in &files {
        let target = out.join(path);
        if std::fs::read(&target).is_ok_and(|old| old == *contents) {
            report.unchanged.push(path.clone());
            continue;
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&target, contents)?;
        report.written.push(path.clone());
    }
    let generated: BTreeSet<&PathBuf> = files.iter().map(|(path, _)| path).collect();
    for dir in [COMPLETIONS_DIR, MAN_DIR] {
        for entry in std::fs::read_dir(out.join(dir))? {
            let entry = entry?;
            let path = Path::new(dir).join(entry.file_name());
            // Only names we would generate: anything else in the folder was put there by
            // someone, and the staleness test points it out instead.
            let ours = entry.file_name().to_str().is_some_and(|name| {
                name.starts_with(BIN_NAME) || name.starts_with(&format!("_{BIN_NAME}"))
            });
            if ours && entry.file_type()?.is_file() && !generated.contains(&path) {
                std::fs::remove_file(entry.path())?;
                report.removed.push(path);
            }
        }
    }
    Ok(report)
}
