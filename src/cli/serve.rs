//! `echoctl serve`'s arguments and the server configuration they make; its `--help`'s long
//! sections (examples, limits, wire format, UDP, faults) are `help`'s.

#[macro_use]
mod help;

use echoctl_core::Address;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, ValueEnum};

use echoctl_core::fault::{FaultSpec, Faults};

use super::parse::{
    Timeout, parse_count, parse_duration, parse_fault, parse_size, parse_timeout, parse_trace_max,
};
use super::{Cli, DEFAULT_ADDR, for_command, tls, trace_options};
use crate::observe::{DEFAULT_TRACE_MAX, DumpTo, TraceOptions};
use crate::server::{self, Mode, PlainPath, ServerConfig};

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
/// the port there; with --fault it names the faults and their seed too. The logs follow on stderr, each line starting with the local time to the
/// millisecond and its offset from UTC (2026-12-02T14:03:07.123+01:00; TZ=UTC for UTC); nothing
/// is printed on stdout. Ctrl-C or SIGTERM stops the server gracefully: each client still
/// connected gets the echoes it is owed, then (in the reverb modes) a last line saying the
/// server is shutting down.
/// --listen unix:PATH serves on a Unix-domain socket instead of TCP, in every mode, and
/// --listen udp:HOST:PORT on UDP: each echo line a datagram (see UDP in --help).
#[derive(Debug, Args)]
#[command(after_help = serve_examples!(), after_long_help = concat!(serve_examples!(), "\n\n", SERVE_LIMITS_AND_WIRE!(), "\n\n", SERVE_UDP!(), "\n\n", SERVE_FAULTS!()))]
#[command(
    arg = for_command("quiet", "Log only errors; the start-up line is still printed"),
    arg = for_command(
        "verbose",
        "Log more: -v adds each shout, -vv internal detail. RUST_LOG overrides both",
    ),
    arg = for_command("color", "When to color the logs on stderr"),
)]
pub struct ServeArgs {
    /// Address to listen on: HOST:PORT, unix:PATH for a Unix-domain socket, or udp:HOST:PORT
    /// for UDP datagrams (see UDP in --help). Port 0 picks a free port. Anything but a loopback
    /// address makes the server reachable from the network. A leftover socket file nobody
    /// listens on is replaced; the file is removed on a graceful stop.
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

    /// Misbehave on purpose: KIND[=VALUE][@PERCENT], e.g. latency=200ms~50ms,
    /// reset-after=5lines@20%; repeat for more. The kinds: latency, bandwidth, slice,
    /// reset-after, close-after, stall-after, refuse, slow-close, drop, corrupt (see Faults in
    /// --help).
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault)]
    pub faults: Vec<FaultSpec>,

    /// Seed of the faults' draws, to repeat a run's faults exactly (default: a random seed,
    /// named in the start-up line).
    #[arg(long, value_name = "N", requires = "faults")]
    pub fault_seed: Option<u64>,

    /// Write a trace of every connection to PATH as it happens, in the Trace Event format
    /// (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: a process per
    /// connection, named by its peer, with a slice per shout from its read to its last echo,
    /// on a track of its own while it overlaps others, an instant per echo line written, arrows
    /// from each shout to its echoes, and the opening and closing (with why). A server killed
    /// with SIGKILL leaves a file that lacks only its closing ].
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub trace: Option<PathBuf>,

    /// Stop recording the --trace once the file would pass SIZE; its last event says so.
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_TRACE_MAX, value_parser = parse_trace_max, requires = "trace")]
    pub trace_max: usize,

    /// Write every chunk read and written, on every connection, to PATH (- for stderr) as
    /// hexdump -C shows bytes, each under a line with its direction (> sent, < received), the
    /// time since the start, the peer and its length; the offsets count each direction.
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub hex_dump: Option<PathBuf>,

    #[command(flatten)]
    pub tls: tls::ServeTlsArgs,
}

impl ServeArgs {
    /// Where `--trace` writes, if anywhere.
    pub(crate) fn trace(&self) -> Option<TraceOptions> {
        trace_options(self.trace.as_ref(), self.trace_max)
    }

    /// Where `--hex-dump` writes, if anywhere.
    pub(crate) fn hex_dump(&self) -> Option<DumpTo> {
        self.hex_dump.as_deref().map(DumpTo::from_arg)
    }

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
        self.faults_make_sense()?;
        self.udp_makes_sense()?;
        tls::refuse_over_udp("serve", &self.listen, self.tls.tls)?;
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
            faults: Faults {
                specs: self.faults.clone(),
                // Drawn only when there are faults: a server without any is always the same.
                seed: match self.fault_seed {
                    _ if self.faults.is_empty() => 0,
                    Some(seed) => seed,
                    None => fastrand::u64(..),
                },
            },
            // Set where the observers are given to the server.
            observe: false,
        })
    }

    /// Refuses, as a usage error, what means nothing over UDP: an idle timeout (a peer that
    /// owes nothing is forgotten once quiet) and the faults, which act on a stream.
    fn udp_makes_sense(&self) -> Result<(), clap::Error> {
        if !self.listen.is_udp() {
            return Ok(());
        }
        if self.idle_timeout.0.is_some() {
            return Err(serve_usage_error(&format!(
                "--idle-timeout means nothing over UDP, which has no connection to close: a peer \
                 that is owed nothing is forgotten after {} quiet; leave it out",
                echoctl_core::duration::format(echoctl_core::udp::peers::QUIET)
            )));
        }
        if let Some(spec) = self.faults.first() {
            return Err(serve_usage_error(&format!(
                "--fault {spec} needs a stream: faults act on TCP or a Unix-domain socket, not on \
                 UDP datagrams; listen on HOST:PORT or unix:PATH"
            )));
        }
        Ok(())
    }

    /// Refuses, as a usage error, a fault that means nothing where the server runs: line
    /// faults on the plain echo's stream, and a reset on a Unix-domain socket.
    fn faults_make_sense(&self) -> Result<(), clap::Error> {
        let plain = self.mode == ModeArg::Plain;
        if let Some(spec) = self.faults.iter().find(|s| plain && s.fault.needs_lines()) {
            return Err(serve_usage_error(&format!(
                "--fault {spec} means nothing with --mode plain, which echoes a stream, not \
                 lines: drop and corrupt act on echo lines; every other fault works on the \
                 stream ({})",
                echoctl_core::fault::FORMS
            )));
        }
        let unix = matches!(self.listen, Address::Unix(_));
        if let Some(spec) = self.faults.iter().find(|s| unix && s.fault.resets()) {
            return Err(serve_usage_error(&format!(
                "--fault {spec} needs TCP: a Unix-domain socket has no reset; use close-after \
                 instead of reset-after, or listen on HOST:PORT"
            )));
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;
    use clap::Parser;
    use echoctl_core::lines::DEFAULT_MAX_LINE;

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
    fn serve_help_states_the_udp_guard_as_the_server_keeps_it() {
        use echoctl_core::udp::{guard, peers};
        let help = Cli::command()
            .find_subcommand_mut("serve")
            .unwrap()
            .render_long_help()
            .to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let ports: Vec<String> = guard::REFUSED_SOURCE_PORTS
            .iter()
            .map(u16::to_string)
            .collect();
        let (last, rest) = ports.split_last().unwrap();
        for said in [
            format!(
                "from source port {} or {last} is never answered",
                rest.join(", ")
            ),
            format!("at most {} times its size", guard::REPLY_FACTOR),
            format!(
                "counting {} bytes of IPv4 and UDP headers",
                guard::HEADER_BYTES
            ),
            format!("quiet for {}", echoctl_core::duration::format(peers::QUIET)),
            format!("in one datagram ({} bytes)", peers::MAX_ECHOED_LINE),
        ] {
            assert!(help.contains(&said), "serve --help says: {said}");
        }
    }

    #[test]
    fn udp_refuses_the_idle_timeout_and_faults() {
        let serve = |extra: &[&str]| {
            let args = [
                &["echoctl", "serve", "--listen", "udp:127.0.0.1:0"][..],
                extra,
            ]
            .concat();
            match Cli::try_parse_from(args).map(|cli| cli.command) {
                Ok(Command::Serve(args)) => args.server_config(),
                other => panic!("expected serve: {other:?}"),
            }
        };
        let idle = serve(&["--idle-timeout", "5s"]).unwrap_err();
        assert_eq!(idle.exit_code(), 2);
        assert!(
            idle.to_string()
                .contains("--idle-timeout means nothing over UDP"),
            "{idle}"
        );
        let fault = serve(&["--fault", "drop=10%"]).unwrap_err();
        assert!(
            fault
                .to_string()
                .contains("--fault drop=10% needs a stream"),
            "{fault}"
        );
        assert!(serve(&["--idle-timeout", "off", "--mode", "plain"]).is_ok());
        assert!(serve(&["--mode", "sequential", "--max-pending", "8"]).is_ok());
    }

    #[test]
    fn mode_values_are_named_as_the_server_names_its_modes() {
        // `serve` logs `config.mode` by the library's name; --mode must take that same word.
        for &value in ModeArg::value_variants() {
            let name = value.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(Mode::from(value).name()));
        }
    }
}
