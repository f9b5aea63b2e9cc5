//! The command line, defined once: `--help`, the shell completions and the man pages are all
//! generated from these types.
//!
//! This is the edge of the program: clap's types stay here, and each subcommand's arguments turn
//! into the plain configuration the library takes ([`crate::server::ServerConfig`],
//! [`crate::client::ConnectOptions`], [`crate::demo::DemoOptions`],
//! [`crate::bench::BenchConfig`]). Each subcommand's arguments have a file of their own ([`serve`],
//! [`connect`], [`demo`], [`bench`](mod@bench), with [`tls`] the TLS options of the first two);
//! [`parse`] holds the value parsers, [`docs`] the generator of completions and man pages.
//!
//! The values of `--mode` and `--color` are enums of their own here rather than clap derives on
//! the library's types: the derive keeps each value's name and help beside the variant it
//! describes, and the library's enums carry no command-line concerns (a tested conversion, a
//! few lines, links the two).

pub(crate) mod bench;
mod connect;
mod demo;
pub mod docs;
mod habits;
pub(crate) mod parse;
mod serve;
pub(crate) mod tls;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

pub use bench::BenchArgs;
pub use connect::ConnectArgs;
pub use demo::{DemoArgs, DemoModeArg};
pub use serve::{ModeArg, ServeArgs};

use crate::color::ColorChoice;
use crate::observe::TraceOptions;

/// The heading of the options every command takes (unless it is one they do nothing for).
const GLOBAL: &str = "Global options";

/// A global option defined again on one command, with `help` saying what it does there: clap
/// gives a command that defines a global option itself that definition, in `--help`, the
/// completions and the man page. Its value still reaches [`Cli`]'s field of the same name.
fn for_command(id: &'static str, help: &'static str) -> clap::Arg {
    let arg = clap::Arg::new(id)
        .long(id)
        .global(true)
        .help(help)
        .help_heading(GLOBAL);
    match id {
        "quiet" => arg
            .short('q')
            .action(clap::ArgAction::SetTrue)
            .conflicts_with("verbose"),
        "verbose" => arg.short('v').action(clap::ArgAction::Count),
        _ => arg
            .value_name("WHEN")
            .value_parser(clap::builder::EnumValueParser::<ColorArg>::new())
            .default_value("auto"),
    }
}

/// A global option's definition for a command it does nothing for, hidden: `--help` and the
/// completions do not offer it there ([`for_command`]). Still accepted (as clap accepts it
/// anywhere), and still does nothing.
fn not_offered(id: &'static str) -> clap::Arg {
    for_command(id, "").global(false).hide(true)
}

/// The address of the book's programs.
pub(crate) const DEFAULT_ADDR: &str = "localhost:8000";

const EXAMPLES: &str = "\
Examples:
  Replay the book's two sessions over real TCP:
    echoctl demo
  The book's reverb1 in one terminal, the client in another:
    echoctl serve --mode sequential
    echoctl connect
  A scripted peer: three shouts in, nine echo lines out:
    printf 'Hello?\\nIs there anybody there?\\nYooo-hooo!\\n' | echoctl connect";

/// A reverb echo server and client: the book's reverb1, reverb2 and netcat, done properly.
///
/// echoctl is the concurrent echo server of "The Go Programming Language", section 8.3. Each
/// line a client sends is a shout; the server answers it three times, a delay apart: LOUD, as
/// sent, quiet. serve --mode sequential is the book's reverb1, serve --mode concurrent its
/// reverb2, connect its netcat3, with the book's exercise 8.3 done: it keeps printing after the
/// end of input.
#[derive(Debug, Parser)]
#[command(name = "echoctl", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// Log only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,

    /// Log more: -v adds debug detail (serve: each shout; connect: where it connected and how
    /// the session ended), -vv internal detail. RUST_LOG overrides both.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// When to color output (the logs on stderr, and the demo).
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto, help_heading = GLOBAL)]
    pub color: ColorArg,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the command line `args` (the program's name first) as [`Parser::try_parse_from`]
    /// does, adding to a usage error that comes from one of netcat's habits (`serve --port
    /// 9000`, `connect localhost 8000`) a tip saying what to write here.
    pub fn try_parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
        let args: Vec<OsString> = args.into_iter().collect();
        Cli::try_parse_from(&args).map_err(|error| habits::with_tip(error, &args))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Serve(ServeArgs),
    Connect(ConnectArgs),
    Completions(CompletionsArgs),
    Demo(DemoArgs),
    Bench(BenchArgs),
}

/// `--trace PATH` and `--trace-max SIZE`, as every command takes them.
fn trace_options(path: Option<&PathBuf>, max: usize) -> Option<TraceOptions> {
    path.map(|path| TraceOptions {
        path: path.clone(),
        max: max as u64,
    })
}

/// Print the completion script for a shell to stdout.
///
/// The script completes subcommands, options and their values, such as the modes after serve
/// --mode. It is generated from the same definition as this help, so it matches this version of
/// echoctl: after an upgrade, install it again.
#[derive(Debug, Args)]
#[command(arg = not_offered("quiet"), arg = not_offered("verbose"), arg = not_offered("color"))]
#[command(after_help = "\
Install:
  Save the script where your shell looks for it (create the directory if needed), then
  start a new shell:
  bash:
    echoctl completions bash > ~/.local/share/bash-completion/completions/echoctl
  zsh, with fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc:
    echoctl completions zsh > ~/.zfunc/_echoctl
  fish:
    echoctl completions fish > ~/.config/fish/completions/echoctl.fish
  PowerShell, in $PROFILE:
    echoctl completions powershell | Out-String | Invoke-Expression
  elvish, in ~/.config/elvish/rc.elv:
    eval (echoctl completions elvish | slurp)")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// The values of `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Color a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR color a pipe too.
    Auto,
    /// Always color, even in a pipe or a file.
    Always,
    /// Never color.
    Never,
}

impl From<ColorArg> for ColorChoice {
    fn from(color: ColorArg) -> ColorChoice {
        match color {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoMode;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_color_default_is_the_librarys() {
        assert_eq!(ColorChoice::from(ColorArg::Auto), ColorChoice::default());
        let cli = Cli::try_parse_from(["echoctl", "demo"]).unwrap();
        assert_eq!(ColorChoice::from(cli.color), ColorChoice::default());
        let Command::Demo(args) = cli.command else {
            panic!("expected demo")
        };
        assert_eq!(DemoMode::from(args.mode), DemoMode::default());
    }
}
