//! Regenerates the committed `completions/` and `man/` from the clap definition:
//!
//! ```text
//! cargo run --quiet --example generate-docs [-- --out DIR]
//! ```
//!
//! A maintainer's tool, so it is an example rather than a subcommand: clap_complete puts even
//! hidden subcommands into the scripts, and an example is never installed. `tests/suite/docs.rs` fails
//! until this has been run and its output committed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Write completions/ and man/ from echoctl's command-line definition.
#[derive(Parser)]
#[command(name = "generate-docs")]
struct Args {
    /// Directory that receives completions/ and man/.
    #[arg(long, value_name = "DIR", default_value = env!("CARGO_MANIFEST_DIR"))]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let report = match echoctl::cli::docs::write_all(&args.out) {
        Ok(report) => report,
        Err(e) => {
            eprintln!(
                "generate-docs: error: cannot write under {}: {e}",
                args.out.display()
            );
            return ExitCode::FAILURE;
        }
    };
    for path in &report.written {
        eprintln!("wrote {}", path.display());
    }
    for path in &report.removed {
        eprintln!("removed {}, no longer generated", path.display());
    }
    eprintln!(
        "{}: {} written, {} removed, {} already up to date",
        args.out.display(),
        report.written.len(),
        report.removed.len(),
        report.unchanged.len()
    );
    ExitCode::SUCCESS
}
