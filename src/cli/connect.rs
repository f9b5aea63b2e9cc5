//! `echoctl connect`'s arguments and the client options they make.

use echoctl_core::Address;
use std::path::PathBuf;

use clap::Args;

use super::parse::{Timeout, parse_server_addr, parse_timeout, parse_trace_max};
use super::{DEFAULT_ADDR, for_command, tls, trace_options};
use crate::client::ConnectOptions;
use crate::observe::{DEFAULT_TRACE_MAX, DumpTo};

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
///
/// connect udp:HOST:PORT sends each line of input as one datagram and prints each datagram
/// that comes back as it arrived. UDP has no close: after the end of input it waits until the
/// echoes it expects have come (three per line from a reverb server, one from a plain echo, told
/// apart by what arrives), or until --wait (3s) passes with nothing arriving, and exits 0, or 4
/// with echoes missing. A port nothing listens on is refused as a TCP connect is. On a terminal
/// it relays too, each line sent as it is entered (no line editor).
#[derive(Debug, Args)]
#[command(
    arg = for_command("quiet", "Log only errors: connect logs nothing else without -v"),
    arg = for_command(
        "verbose",
        "Log where it connected and how the session ended; -vv adds internal detail. \
         RUST_LOG overrides both",
    ),
    arg = for_command(
        "color",
        "When to color the session on a terminal, the --timeline chart and the logs",
    ),
)]
#[command(after_help = "\
Examples:
  echoctl connect                                  # type shouts, Ctrl-D to finish
  echoctl connect 127.0.0.1:9000
  echoctl connect --timestamps --timeline          # see when each echo came back
  printf 'Hello?\\n' | echoctl connect > echoes.txt
  printf 'Hello?\\n' | echoctl connect --wait 5s      # give up 5 s after the input ends
  printf 'abc' | echoctl connect unix:/tmp/echo.sock    # a server on a Unix socket
  printf 'Hello?\\n' | echoctl connect udp:127.0.0.1:7000   # a line a datagram
  echoctl connect --tls --tls-ca ca.pem            # serve --tls --tls-save-cert ca.pem's server")]
pub struct ConnectArgs {
    /// Server address: HOST:PORT (every address the name resolves to is tried), unix:PATH
    /// for a Unix-domain socket, or udp:HOST:PORT for UDP, each line of input a datagram.
    #[arg(value_name = "ADDR", default_value = DEFAULT_ADDR, value_parser = parse_server_addr)]
    pub addr: Address,

    /// Give up on an address that does not answer within this time; off leaves it to the system.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub connect_timeout: Timeout,

    /// After the end of input, wait at most this long for the server to close the connection,
    /// then exit with status 4 (as nc -q, socat -t). By default (off) the client waits for the
    /// server. Over UDP, which has no close: wait until every echo owed has come, or until this
    /// long passes with nothing arriving, then exit 4 (default 3s over UDP).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub wait: Option<Timeout>,

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

    /// Write a trace of the session to PATH as it happens, in the Trace Event format (JSON)
    /// that Perfetto (ui.perfetto.dev) and chrome://tracing open: a slice per shout from its
    /// send to its last echo, on a track of its own while it overlaps others, an instant per
    /// echo line heard, and arrows from each shout to its echoes.
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub trace: Option<PathBuf>,

    /// Stop recording the --trace once the file would pass SIZE; its last event says so.
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_TRACE_MAX, value_parser = parse_trace_max, requires = "trace")]
    pub trace_max: usize,

    /// Write every chunk sent and received to PATH (- for stderr) as hexdump -C shows bytes,
    /// each under a line with its direction (> sent, < received), the time since the start,
    /// the server and its length; the offsets count each direction. Stdout stays the server's
    /// bytes.
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub hex_dump: Option<PathBuf>,

    #[command(flatten)]
    pub tls: tls::ClientTlsArgs,
}

impl ConnectArgs {
    pub(crate) fn options(&self) -> ConnectOptions {
        ConnectOptions {
            addr: self.addr.clone(),
            connect_timeout: self.connect_timeout.0,
            wait: match self.wait {
                Some(Timeout(wait)) => wait,
                None if self.addr.is_udp() => Some(echoctl_core::client::datagrams::DEFAULT_WAIT),
                None => None,
            },
            timestamps: self.timestamps,
            timeline: self.timeline,
            raw: self.raw,
            tls: self.tls.options(),
            trace: trace_options(self.trace.as_ref(), self.trace_max),
            hex_dump: self.hex_dump.as_deref().map(DumpTo::from_arg),
        }
    }
}
