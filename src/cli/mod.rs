//! The command line, defined once: `--help`, the shell completions and the man pages are all
//! generated from these types.
//!
//! This is the edge of the program: clap's types stay here, and each subcommand's arguments turn
//! into the plain configuration the library takes ([`ServerConfig`], [`ConnectOptions`],
//! [`DemoOptions`], [`crate::bench::BenchConfig`]). [`parse`] holds the value parsers,
//! [`bench`](mod@bench) the bench's arguments, [`docs`] the generator of completions and man pages.
//!
//! The values of `--mode` and `--color` are enums of their own here rather than clap derives on
//! the library's types: the derive keeps each value's name and help beside the variant it
//! describes, and the library's enums carry no command-line concerns (a tested conversion, a
//! few lines, links the two).

pub(crate) mod bench;
pub mod docs;
pub(crate) mod parse;

use echoctl_core::Address;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

pub use bench::BenchArgs;
use parse::{
    Timeout, parse_count, parse_demo_delay, parse_duration, parse_server_addr, parse_size,
    parse_timeout,
};

use crate::client::ConnectOptions;
use crate::color::ColorChoice;
use crate::demo::{DemoMode, DemoOptions, SvgOutput};
use crate::server::{self, Mode, PlainPath, ServerConfig};

/// The heading of the options every command takes (unless it is one they do nothing for).
const GLOBAL: &str = "Global options";

/// A global option's definition for a command it does nothing for, hidden: clap does not give a
/// command a global option it defines itself, so `--help` and the completions do not offer it
/// there. Still accepted (as clap accepts it anywhere), and still does nothing.
fn not_offered(id: &'static str) -> clap::Arg {
    let arg = clap::Arg::new(id).long(id).hide(true);
    match id {
        "quiet" => arg.short('q').action(clap::ArgAction::SetTrue),
        "verbose" => arg.short('v').action(clap::ArgAction::Count),
        _ => arg
            .value_parser(clap::builder::EnumValueParser::<ColorArg>::new())
            .default_value("auto"),
    }
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

#[derive(Debug, Subcommand)]
pub enum Command {
    Serve(ServeArgs),
    Connect(ConnectArgs),
    Completions(CompletionsArgs),
    Demo(DemoArgs),
    Bench(BenchArgs),
}

macro_rules! serve_examples {
    () => {
        "\
Examples:
  echoctl serve                               # reverb2 on localhost:8000, 1 s delay
  echoctl serve --mode sequential             # reverb1
  echoctl serve --listen 127.0.0.1:0 --delay 250ms   # any free port, quicker echoes
  echoctl serve --mode plain --listen unix:/tmp/echo.sock   # a plain echo on a Unix socket
  A script's server on a free port, its address read from the first line:
    exec 3< <(echoctl serve -q --listen 127.0.0.1:0 2>&1 >/dev/null)
    read -r _ _ addr _ <&3     # listening on 127.0.0.1:41234 (...)"
    };
}

/// The limits and the wire format, for `serve --help` and echoctl-serve(1) (the README's tables,
/// laid out for a terminal).
#[allow(non_snake_case)]
macro_rules! SERVE_LIMITS_AND_WIRE {
    () => {
        "\
Limits:
  Every limit is an option with a default; a server can be left running on a shared box.
  --max-line BYTES          64KiB   a longer line gets one line saying so, after the
                                    echoes owed, and the connection is closed
  --max-pending N           1024    shouts echoing at once per connection (and 1 MiB of
                                    shout text); at the limit the server stops reading
                                    and TCP holds back the sender
  --write-timeout DURATION  30s     a client that accepts nothing for that long is
                                    closed; off: never
  --idle-timeout DURATION   off     a client that sends no complete line for that long
                                    is told so and closed, after its echoes
  --max-connections N       100000  a client over the limit is told the server is full
                                    and closed
  --grace DURATION          5s      on Ctrl-C or SIGTERM, how long echoes in flight are
                                    still delivered; a second signal quits at once (130)
  A timeout takes off for none; 0 is refused. A delay or grace of 0 means no wait.

Wire format:
  A shout is one line: it ends at a newline, and one CR before it is dropped (as Go's
  bufio.ScanLines does). A last line without a newline is still a shout, and so is an
  empty line. Each echo line is a TAB, a space, the text and a newline, as the book's
  fmt.Fprintln(c, \"\\t\", text) writes it. For Hello?:
    \"\\t HELLO?\\n\"   at t = 0
    \"\\t Hello?\\n\"   at t = delay
    \"\\t hello?\\n\"   at t = 2 x delay
  For ASCII this is byte for byte the book's server. Upper and lower case follow Unicode;
  bytes that are not valid UTF-8 are echoed unchanged."
    };
}

/// Run the reverb server (the book's reverb1 or reverb2), or its plain echo.
///
/// Every line a client sends is a shout, answered with three echo lines a delay apart: upper
/// case, as sent, lower case. Each echo line is a TAB, a space, the text and a newline, exactly as
/// the book's Go server writes it, so the book's clients work with it unchanged. With --mode
/// plain the server is the book's plain echo instead, io.Copy(c, c): every byte back as it is
/// read, a stream rather than lines.
///
/// When a client ends its input, the echoes still owed are delivered before the connection is
/// closed. Upper and lower case follow Unicode (straße shouts STRASSE), and bytes that are not
/// valid UTF-8 are echoed unchanged, where the book's Go server would replace them; for ASCII the
/// bytes are the book's.
///
/// The first line on stderr, printed even with -q, names the address actually bound: "listening
/// on 127.0.0.1:41234 (mode concurrent, delay 1s)", so a script that listens on port 0 reads
/// the port there. The logs follow on stderr, each line starting with the local time to the
/// millisecond and its offset from UTC (2026-12-02T14:03:07.123+01:00; TZ=UTC for UTC); nothing
/// is printed on stdout. Ctrl-C or SIGTERM stops the server gracefully: each client still
/// connected gets the echoes it is owed, then (in the reverb modes) a last line saying the
/// server is shutting down.
/// --listen unix:PATH serves on a Unix-domain socket instead of TCP, in every mode.
#[derive(Debug, Args)]
#[command(after_help = serve_examples!(), after_long_help = concat!(serve_examples!(), "\n\n", SERVE_LIMITS_AND_WIRE!()))]
pub struct ServeArgs {
    /// Address to listen on: HOST:PORT, or unix:PATH for a Unix-domain socket. Port 0 picks a
    /// free port. Anything but a loopback address makes the server reachable from the network.
    /// A leftover socket file nobody listens on is replaced; the file is removed on a graceful
    /// stop.
    #[arg(short, long, value_name = "ADDR", default_value = DEFAULT_ADDR)]
    pub listen: Address,

    /// How a connection's shouts share time, or plain for the plain echo.
    #[arg(short, long, value_enum, default_value_t = ModeArg::Concurrent)]
    pub mode: ModeArg,

    /// Time between a shout's echoes, e.g. 1s, 250ms; 0 echoes at once (default 1s). Reverb
    /// modes only: refused with --mode plain, which echoes at once.
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub delay: Option<Duration>,

    /// Longest line accepted, in bytes, newline excluded (default 64KiB). A longer line closes
    /// the connection with an error line, after the echoes owed. Reverb modes only: refused
    /// with --mode plain, which has no lines.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_line: Option<usize>,

    /// Most shouts echoing at once on one connection, concurrent mode (default 1024). At the
    /// limit the server stops reading and TCP holds back the sender. Refused with --mode plain.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub max_pending: Option<usize>,

    /// Close a connection whose client accepts no data for this long, or never with off.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub write_timeout: Timeout,

    /// Close a connection that sends no complete line for this long (with --mode plain: no byte
    /// at all), or never with off.
    #[arg(long, value_name = "DURATION", default_value = "off", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub idle_timeout: Timeout,

    /// Most connections served at once; clients over the limit are told the server is full.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_CONNECTIONS, value_parser = parse_count)]
    pub max_connections: usize,

    /// On Ctrl-C or SIGTERM, how long to wait for echoes in flight before closing anyway.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub grace: Duration,

    /// The plain echo copies its bytes through the server's buffers even where splice(2) could
    /// move them in the kernel. Hidden: it is there so that the tests and the benchmarks run
    /// the copy path, which is the path wherever the bytes must be seen, on Linux too.
    #[arg(long, hide = true)]
    pub no_splice: bool,
}

impl ServeArgs {
    /// The server's configuration, refusing (as a usage error, exit status 2) an option that
    /// means nothing in the mode asked for.
    pub(crate) fn server_config(&self) -> Result<ServerConfig, clap::Error> {
        if self.mode == ModeArg::Plain {
            let reverb_only = [
                ("--delay", self.delay.is_some()),
                ("--max-line", self.max_line.is_some()),
                ("--max-pending", self.max_pending.is_some()),
            ];
            if let Some((option, _)) = reverb_only.iter().find(|(_, given)| *given) {
                return Err(serve_usage_error(&format!(
                    "{option} means nothing with --mode plain, which writes every byte back at \
                     once and has no lines; leave it out"
                )));
            }
        }
        let defaults = ServerConfig::default();
        Ok(ServerConfig {
            mode: self.mode.into(),
            delay: self.delay.unwrap_or(defaults.delay),
            max_line: self.max_line.unwrap_or(defaults.max_line),
            max_pending: self.max_pending.unwrap_or(defaults.max_pending),
            write_timeout: self.write_timeout.0,
            idle_timeout: self.idle_timeout.0,
            max_connections: self.max_connections,
            grace: self.grace,
            plain_path: if self.no_splice {
                PlainPath::Copy
            } else {
                PlainPath::Splice
            },
        })
    }
}

/// A usage error shown as clap shows its own, with `echoctl serve`'s usage line.
fn serve_usage_error(message: &str) -> clap::Error {
    let mut cli = Cli::command();
    cli.build();
    match cli.find_subcommand_mut("serve") {
        Some(serve) => serve.error(ErrorKind::ArgumentConflict, message),
        None => cli.error(ErrorKind::ArgumentConflict, message),
    }
}

/// Connect to a reverb (or any echo) server: stdin goes to it, its echoes come to stdout.
///
/// At the end of input (Ctrl-D on a terminal, or the end of a pipe or file) only the sending side
/// is closed; echoes keep printing until the server closes the connection, then the client exits
/// 0. What the server sends reaches stdout unchanged, so the client works in pipes and scripts.
///
/// When stdin, stdout and stderr are all terminals (and TERM is not dumb), connect is
/// interactive: the line being typed stays whole on the bottom line (arrows, Backspace, Ctrl-U,
/// Ctrl-W, Up and Down for this session's lines) while the server's lines are printed above it, echoes indented and colored
/// by voice as in the demo, notices in yellow after the server's address. Ctrl-D on an empty line
/// ends input and shows the echoes still owed; Ctrl-C quits (status 130). --raw turns this off.
///
/// A last line from the server that starts with "echoctl: " (not a TAB and a space, as echoes
/// do) is a notice: when the server ends the session with one (server full, line too long,
/// idle), connect repeats it on stderr and exits 3.
#[derive(Debug, Args)]
#[command(arg = not_offered("quiet"))]
#[command(after_help = "\
Examples:
  echoctl connect                                  # type shouts, Ctrl-D to finish
  echoctl connect 127.0.0.1:9000
  echoctl connect --timestamps --timeline          # see when each echo came back
  printf 'Hello?\\n' | echoctl connect > echoes.txt
  printf 'Hello?\\n' | echoctl connect --wait 5s      # give up 5 s after the input ends
  printf 'abc' | echoctl connect unix:/tmp/echo.sock    # a server on a Unix socket")]
pub struct ConnectArgs {
    /// Server address: HOST:PORT (every address the name resolves to is tried), or unix:PATH
    /// for a Unix-domain socket.
    #[arg(value_name = "ADDR", default_value = DEFAULT_ADDR, value_parser = parse_server_addr)]
    pub addr: Address,

    /// Give up on an address that does not answer within this time; off leaves it to the system.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub connect_timeout: Timeout,

    /// After the end of input, wait at most this long for the server to close the connection,
    /// then exit with status 4 (as nc -q, socat -t). By default (off) the client waits for the
    /// server.
    #[arg(long, value_name = "DURATION", default_value = "off", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub wait: Timeout,

    /// Show how long after its shout each echo arrived, e.g. +1.002s: after the echo on a
    /// terminal; in a pipe, before the line as received (+1.002s, a TAB, then the echo).
    #[arg(long)]
    pub timestamps: bool,

    /// At the end of the session, draw its timeline on stderr: each shout, when it was sent and
    /// when its echoes came back.
    #[arg(long)]
    pub timeline: bool,

    /// Relay bytes as they come, as in a pipe, even on a terminal (no line editor, no colors):
    /// the behaviour of netcat.
    #[arg(long)]
    pub raw: bool,
}

impl ConnectArgs {
    pub(crate) fn options(&self) -> ConnectOptions {
        ConnectOptions {
            addr: self.addr.clone(),
            connect_timeout: self.connect_timeout.0,
            wait: self.wait.0,
            timestamps: self.timestamps,
            timeline: self.timeline,
            raw: self.raw,
        }
    }
}

/// Replay the book's two sessions: a real server and client over loopback TCP.
///
/// Starts the server in this process on a free 127.0.0.1 port, connects to it with the same client
/// as connect, and types the book's lines into it: reverb1's session (sequential), then
/// reverb2's (concurrent). Typed lines are flush left, the server's echoes indented and, on a
/// terminal, colored by voice: loud, as sent, fading. A progress bar on stderr shows how far each
/// session has got when stderr and the transcript are the same terminal. Ctrl-C stops at once
/// (exit status 130).
///
/// --timeline and --svg show when things happened, as the client measured it: when each shout
/// was sent, when each of its echoes came back, and how long the server left it unread (the gap
/// from sending it to its first echo, less the session's shortest such gap, the round trip).
#[derive(Debug, Args)]
#[command(arg = not_offered("quiet"))]
#[command(after_help = "\
Examples:
  echoctl demo                                # both sessions, 1 s between echoes
  echoctl demo --mode concurrent --delay 300ms
  echoctl demo --color never > session.txt    # the book's transcripts, as text
  echoctl demo --timeline                     # each transcript, then its timeline
  echoctl demo --svg timeline.svg             # the timelines as a picture for a slide")]
pub struct DemoArgs {
    /// Which session to replay.
    #[arg(short, long, value_enum, default_value_t = DemoModeArg::Both)]
    pub mode: DemoModeArg,

    /// Time between a shout's echoes, e.g. 1s, 250ms; at least 10ms.
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_demo_delay, allow_hyphen_values = true)]
    pub delay: Duration,

    /// After each session's transcript, chart its timeline: a row per shout, marks where it was
    /// sent and where each echo came back, and the wait in the server. With both sessions, both
    /// charts share one time scale. The chart fits the terminal (80 columns when the transcript
    /// is not shown on one).
    #[arg(long)]
    pub timeline: bool,

    /// Write the sessions' timelines, once all have played, as an SVG picture to PATH (one panel
    /// a session, titled with the mode and delay). A PATH of - writes it to stdout, and the
    /// transcript (and any --timeline chart) then goes to stderr.
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub svg: Option<PathBuf>,
}

impl DemoArgs {
    /// The demo's options, `color` being whether to color the transcript and `columns` the width
    /// it is shown in (both decided by the caller, who knows where it goes).
    pub(crate) fn options(&self, color: bool, columns: usize) -> DemoOptions {
        DemoOptions {
            sessions: DemoMode::from(self.mode).sessions(),
            delay: self.delay,
            color,
            chart_width: self.timeline.then_some(columns),
        }
    }

    /// Where `--svg` writes the picture, if anywhere.
    pub(crate) fn svg_output(&self) -> Option<SvgOutput> {
        self.svg.as_ref().map(|path| {
            if path.as_os_str() == "-" {
                SvgOutput::Stdout
            } else {
                SvgOutput::File(path.clone())
            }
        })
    }
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

/// The values of `serve --mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// reverb1: a shout's three echoes finish before the next line is read.
    Sequential,
    /// reverb2: every shout echoes on its own schedule from the moment it is read.
    Concurrent,
    /// io.Copy(c, c), the book's plain echo: every byte back as read, a stream, not lines.
    Plain,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::Sequential => Mode::Sequential,
            ModeArg::Concurrent => Mode::Concurrent,
            ModeArg::Plain => Mode::Plain,
        }
    }
}

/// The values of `demo --mode`: which sessions to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoModeArg {
    /// reverb1's session.
    Sequential,
    /// reverb2's session.
    Concurrent,
    /// reverb1's session, then reverb2's.
    Both,
}

impl From<DemoModeArg> for DemoMode {
    fn from(mode: DemoModeArg) -> DemoMode {
        match mode {
            DemoModeArg::Sequential => DemoMode::Sequential,
            DemoModeArg::Concurrent => DemoMode::Concurrent,
            DemoModeArg::Both => DemoMode::Both,
        }
    }
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
    use clap::CommandFactory;
    use echoctl_core::lines::DEFAULT_MAX_LINE;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_books() {
        let cli = Cli::try_parse_from(["echoctl", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(args.listen.to_string(), "localhost:8000");
        assert_eq!(Mode::from(args.mode), Mode::Concurrent);
        let config = args.server_config().unwrap();
        assert_eq!(config.delay, Duration::from_secs(1));
        assert_eq!(config.max_line, DEFAULT_MAX_LINE);
        // The defaults written as text for --help ("1s", "64KiB", "30s", "5s") are the server's
        // own: `serve` with no options runs the server that `demo` and the tests run.
        assert_eq!(
            format!("{config:?}"),
            format!("{:?}", ServerConfig::default())
        );
        // And the defaults --help names for the options without one of clap's.
        let help = Cli::command()
            .find_subcommand_mut("serve")
            .unwrap()
            .render_long_help()
            .to_string();
        for default in ["(default 1s)", "(default 64KiB)", "(default 1024)"] {
            assert!(help.contains(default), "--help says {default}");
        }
        assert_eq!(
            config.max_pending,
            echoctl_core::config::DEFAULT_MAX_PENDING
        );
    }

    #[test]
    fn plain_mode_refuses_the_reverb_options() {
        let plain = ["echoctl", "serve", "--mode", "plain"];
        for extra in [
            ["--delay", "0"],
            ["--max-line", "1KiB"],
            ["--max-pending", "8"],
        ] {
            let cli = Cli::try_parse_from(plain.iter().chain(&extra)).unwrap();
            let Command::Serve(args) = cli.command else {
                panic!("expected serve")
            };
            let error = args.server_config().unwrap_err();
            assert_eq!(error.exit_code(), 2);
            assert!(
                error
                    .to_string()
                    .contains(&format!("{} means nothing with --mode plain", extra[0])),
                "{error}"
            );
        }
        let cli = Cli::try_parse_from(plain).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(args.server_config().unwrap().mode, Mode::Plain);
    }

    #[test]
    fn the_hidden_no_splice_forces_the_copy_path_and_help_does_not_offer_it() {
        let path = |extra: &[&str]| {
            let cli =
                Cli::try_parse_from(["echoctl", "serve", "--mode", "plain"].iter().chain(extra))
                    .unwrap();
            let Command::Serve(args) = cli.command else {
                panic!("expected serve")
            };
            args.server_config().unwrap().plain_path
        };
        assert_eq!(path(&[]), PlainPath::Splice);
        assert_eq!(path(&["--no-splice"]), PlainPath::Copy);
        let help = Cli::command()
            .find_subcommand_mut("serve")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(!help.contains("splice"), "{help}");
    }

    #[test]
    fn mode_values_are_named_as_the_server_names_its_modes() {
        // `serve` logs `config.mode` by the library's name; --mode must take that same word.
        for &value in ModeArg::value_variants() {
            let name = value.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(Mode::from(value).name()));
        }
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

    #[test]
    fn demo_svg_dash_is_stdout_and_timeline_takes_the_width_given() {
        let parse = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Command::Demo(args)) => args,
            other => panic!("expected demo: {other:?}"),
        };
        let args = parse(&["echoctl", "demo", "--svg", "-", "--timeline"]);
        assert_eq!(args.svg_output(), Some(SvgOutput::Stdout));
        assert_eq!(args.options(false, 57).chart_width, Some(57));
        let args = parse(&["echoctl", "demo", "--svg", "./-"]);
        assert_eq!(
            args.svg_output(),
            Some(SvgOutput::File(PathBuf::from("./-")))
        );
        assert_eq!(args.options(false, 57).chart_width, None);
        assert_eq!(parse(&["echoctl", "demo"]).svg_output(), None);
    }
}
