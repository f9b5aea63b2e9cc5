//! Tips for the usage errors of netcat's habits: `serve --port 9000` or `-p 9000`, `serve 9000`,
//! `connect localhost 8000`, `connect -l 9000`, `echoctl localhost 8000`. clap's error stays as
//! it is (its message, its usage line, status 2), with a tip line, as clap adds its own, saying
//! what to write here instead.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

use clap::CommandFactory;
use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use echoctl_core::Address;

use super::Cli;

/// The host a tip for `serve` names: the loopback address of `serve`'s examples.
const LISTEN_HOST: &str = "127.0.0.1";

/// The host a tip for `connect` names when the command line gives none: the default's.
const CONNECT_HOST: &str = "localhost";

/// `error` with a tip added when it comes from one of netcat's habits; `args` is the command
/// line it came from, the program's name first. The tip replaces clap's own (such as "to pass
/// '-p' as a value, use '-- -p'"), which would lead the wrong way.
pub(crate) fn with_tip(mut error: clap::Error, args: &[OsString]) -> clap::Error {
    let args: Vec<String> = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    if let Some(tip) = tip(&error, &args) {
        let cli = Cli::command();
        let valid = cli.get_styles().get_valid();
        let mut styled = StyledStr::new();
        let _ = write!(styled, "{} '{valid}{}{valid:#}'", tip.why, tip.write);
        error.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![styled]),
        );
    }
    error
}

/// A tip: why, ending in "use", and what to write.
#[derive(Debug)]
struct Tip {
    why: &'static str,
    write: String,
}

const PORT_IN_ADDRESS: &str = "the port is part of the address: use";
const LISTEN: &str = "to listen, as nc -l does, use";
const CONNECT: &str = "to connect, use";

fn tip(error: &clap::Error, args: &[String]) -> Option<Tip> {
    let at = |kind| match error.get(kind) {
        Some(ContextValue::String(found)) => position(args, found),
        _ => None,
    };
    match error.kind() {
        ErrorKind::UnknownArgument => unknown_argument(args, at(ContextKind::InvalidArg)?),
        ErrorKind::InvalidSubcommand => {
            // `echoctl localhost 8000`, or `echoctl localhost:8000`: netcat's connect.
            let at = at(ContextKind::InvalidSubcommand)?;
            let address = match args.get(at + 1).and_then(|next| port(next)) {
                Some(port) => host_port(&args[at], port)?,
                None => Address::to_connect(&args[at]).ok()?.to_string(),
            };
            Some(Tip {
                why: CONNECT,
                write: format!("echoctl connect {address}"),
            })
        }
        _ => None,
    }
}

/// The tip for the argument at `args[at]`, which clap found no place for.
fn unknown_argument(args: &[String], at: usize) -> Option<Tip> {
    let found = args[at].as_str();
    let mut cli = Cli::command();
    cli.build();
    let command_at = (1..at).find(|&i| cli.find_subcommand(&args[i]).is_some());
    let command = command_at.map(|i| args[i].as_str());
    // connect's ADDR, when given before the argument found.
    let addr = command_at
        .and_then(|i| Some((i, cli.find_subcommand(&args[i])?)))
        .and_then(|(i, sub)| positional(sub, &args[i + 1..at]));
    let port_after_option = |option: &str| {
        let attached = found.strip_prefix(option)?.trim_start_matches('=');
        if attached.is_empty() {
            args.get(at + 1).and_then(|next| port(next))
        } else {
            port(attached)
        }
    };
    let listen = |port: Option<u16>| {
        format!(
            "--listen {LISTEN_HOST}:{}",
            port.map_or("PORT".to_string(), |port| port.to_string())
        )
    };
    let option = ["--port", "-p", "--listen", "-l"]
        .into_iter()
        .find(|option| found == *option || found.starts_with(&format!("{option}=")))
        .or_else(|| {
            ["-p", "-l"]
                .into_iter()
                .find(|short| found.starts_with(short))
        });
    match (command, option) {
        // `serve --port 9000`, `serve -p9000`, `serve 9000`.
        (Some("serve"), Some(option @ ("--port" | "-p"))) => Some(Tip {
            why: PORT_IN_ADDRESS,
            write: listen(port_after_option(option)),
        }),
        (Some("serve"), None) => Some(Tip {
            why: PORT_IN_ADDRESS,
            write: listen(Some(port(found)?)),
        }),
        // `connect -p 8000`, `connect localhost --port 8000`.
        (Some("connect"), Some(option @ ("--port" | "-p"))) => Some(Tip {
            why: PORT_IN_ADDRESS,
            write: host_port(addr.unwrap_or(CONNECT_HOST), port_after_option(option)?)?,
        }),
        // `connect localhost 8000`.
        (Some("connect"), None) => Some(Tip {
            why: PORT_IN_ADDRESS,
            write: host_port(addr?, port(found)?)?,
        }),
        // `nc -l 9000` or `nc -l -p 9000`, written `echoctl -l 9000` or `echoctl connect -l 9000`.
        (None | Some("connect"), Some("--listen" | "-l")) => {
            let port = match args.get(at + 1).map(String::as_str) {
                Some("-p" | "--port") => args.get(at + 2).and_then(|next| port(next)),
                Some(next) => port(next),
                None => None,
            };
            Some(Tip {
                why: LISTEN,
                write: format!("echoctl serve {}", listen(port)),
            })
        }
        _ => None,
    }
}

/// Where `found`, an argument clap names in its error, is on the command line: the last
/// argument that is it, or, for an option, that starts with it (`--port=9000`, `-p9000`).
fn position(args: &[String], found: &str) -> Option<usize> {
    let is_found =
        |arg: &String| arg == found || (found.starts_with('-') && arg.starts_with(found));
    (1..args.len()).rev().find(|&at| is_found(&args[at]))
}

/// The last of `words`, the arguments of the built command `sub`, that is neither an option
/// nor an option's value: its positional argument.
fn positional<'a>(sub: &clap::Command, words: &'a [String]) -> Option<&'a str> {
    let takes_a_value = |word: &str| {
        sub.get_arguments().any(|arg| {
            let long = arg.get_long().map(|long| format!("--{long}"));
            let short = arg.get_short().map(|short| format!("-{short}"));
            arg.get_action().takes_values()
                && (long.as_deref() == Some(word) || short.as_deref() == Some(word))
        })
    };
    let mut positional = None;
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if !word.starts_with('-') {
            positional = Some(word.as_str());
        } else if takes_a_value(word) {
            words.next();
        }
    }
    positional
}

/// `text` as a port to connect or listen to, if it is one.
fn port(text: &str) -> Option<u16> {
    text.parse().ok()
}

/// `host` and `port` as one address to connect to (IPv6 in brackets), if `host` is a host.
fn host_port(host: &str, port: u16) -> Option<String> {
    if host.starts_with('-') {
        return None;
    }
    let host = if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let address = format!("{host}:{port}");
    Address::to_connect(&address).ok()?;
    Some(address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The tip for the command line `words` (after `echoctl`): why, and what to write.
    fn tip_for(words: &str) -> Option<(&'static str, String)> {
        let args: Vec<String> = std::iter::once("echoctl")
            .chain(words.split_whitespace())
            .map(str::to_string)
            .collect();
        let error = Cli::try_parse_from(&args).expect_err(words);
        tip(&error, &args).map(|tip| (tip.why, tip.write))
    }

    #[test]
    fn netcats_port_and_listen_habits_get_what_to_write_here() {
        let port_in_address = |write: &str| Some((PORT_IN_ADDRESS, write.to_string()));
        let serve = |write: &str| Some((LISTEN, write.to_string()));
        for (words, expected) in [
            (
                "serve --port 9000",
                port_in_address("--listen 127.0.0.1:9000"),
            ),
            (
                "serve --port=9000",
                port_in_address("--listen 127.0.0.1:9000"),
            ),
            ("serve -p 9000", port_in_address("--listen 127.0.0.1:9000")),
            ("serve -p9000", port_in_address("--listen 127.0.0.1:9000")),
            ("serve 9000", port_in_address("--listen 127.0.0.1:9000")),
            (
                "serve --mode plain -p 9000",
                port_in_address("--listen 127.0.0.1:9000"),
            ),
            ("serve --port", port_in_address("--listen 127.0.0.1:PORT")),
            ("connect localhost 8000", port_in_address("localhost:8000")),
            (
                "--color never connect localhost 8000",
                port_in_address("localhost:8000"),
            ),
            ("connect ::1 8000", port_in_address("[::1]:8000")),
            ("connect -p 8000", port_in_address("localhost:8000")),
            ("connect --port=8000", port_in_address("localhost:8000")),
            (
                "connect example.com --port 80",
                port_in_address("example.com:80"),
            ),
            (
                "connect -l 9000",
                serve("echoctl serve --listen 127.0.0.1:9000"),
            ),
            (
                "connect -l -p 9000",
                serve("echoctl serve --listen 127.0.0.1:9000"),
            ),
            ("-l 9000", serve("echoctl serve --listen 127.0.0.1:9000")),
            ("-l", serve("echoctl serve --listen 127.0.0.1:PORT")),
            (
                "localhost 8000",
                Some((CONNECT, "echoctl connect localhost:8000".to_string())),
            ),
            (
                "127.0.0.1:8000",
                Some((CONNECT, "echoctl connect 127.0.0.1:8000".to_string())),
            ),
        ] {
            assert_eq!(tip_for(words), expected, "{words}");
        }
    }

    #[test]
    fn other_usage_errors_get_no_tip() {
        for words in [
            "serve --prot 9000",
            "serve hello",
            "serve 70000",
            "connect localhost hello",
            "connect localhost:8000 0",
            "demo 9000",
            "serv",
            "hello",
            "serve --delay 5q",
        ] {
            assert_eq!(tip_for(words), None, "{words}");
        }
    }
}
