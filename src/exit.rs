//! Every exit status echoctl ends with, in one place: `cmd` chooses among them, `main` returns
//! them, and the man pages' EXIT STATUS sections are written from what each says of itself.

use std::fmt;
use std::process::ExitCode;

/// How a run ended, as the shell sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The run did what was asked; for `serve`, also a graceful stop on Ctrl-C or SIGTERM.
    Success,
    /// A runtime error, reported by `main` as one line on stderr. For `bench` also the verdict
    /// that some echo was missing or wrong: for a load test either one means the server did not
    /// do what it owes.
    Failure,
    /// A usage error (an unknown option, a bad value), as clap reports its own.
    Usage,
    /// `connect`: the server ended the session with a notice (a line that is not an echo).
    ServerNotice,
    /// `connect --wait`: the server had not closed the connection that long after the end of
    /// input.
    WaitExpired,
    /// A run cut short by Ctrl-C or SIGTERM, as shells report it (128 + SIGINT).
    Interrupted,
}

use ExitStatus::*;

/// What a usage error means, the same words on every page.
const USAGE_TEXT: &str = "A usage error: an unknown option, a missing or bad value. The message on stderr says \
     which.";

impl ExitStatus {
    /// Every status, in the order of their codes, as the man pages list them.
    pub const ALL: [ExitStatus; 6] = [
        Success,
        Failure,
        Usage,
        ServerNotice,
        WaitExpired,
        Interrupted,
    ];

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Success => 0,
            Failure => 1,
            Usage => 2,
            ServerNotice => 3,
            WaitExpired => 4,
            Interrupted => 130,
        }
    }

    /// What the status means for the program as a whole: the top man page's EXIT STATUS.
    pub fn description(self) -> &'static str {
        match self {
            Success => "Success; for serve, also a graceful stop on Ctrl-C or SIGTERM.",
            Failure => {
                "A runtime error, reported as one line on stderr: a connection refused or timed \
                 out, a name that does not resolve, a server that reset the connection, a port in \
                 use."
            }
            Usage => USAGE_TEXT,
            ServerNotice => {
                "connect: the server ended the session with a notice (a line that is not an echo, \
                 such as server is full, line longer than, or no complete line for); piped, \
                 stderr repeats it."
            }
            WaitExpired => {
                "connect: --wait ran out: the server had not closed the connection that long \
                 after the end of input (over UDP: nothing arrived for that long, with echoes \
                 still missing)."
            }
            Interrupted => {
                "Interrupted by Ctrl-C or SIGTERM. serve stops gracefully on the first one (status \
                 0) and exits with 130 only on a second one, during the grace period."
            }
        }
    }

    /// What the status means when `command` (a subcommand's name) ends with it, for that
    /// command's man page; None for a status the command never ends with. Every command can end
    /// with [`Usage`].
    pub fn meaning_for(self, command: &str) -> Option<&'static str> {
        Some(match (self, command) {
            (Usage, _) => USAGE_TEXT,

            (Success, "serve") => {
                "A graceful stop on Ctrl-C or SIGTERM: every echo owed was delivered or the grace \
                 period ran out."
            }
            (Failure, "serve") => {
                "The server could not start, reported as one line on stderr: a port in use, an \
                 address that does not resolve or does not belong to this machine."
            }
            (Interrupted, "serve") => {
                "A second Ctrl-C or SIGTERM during the grace period: the connections still open \
                 were closed at once."
            }

            (Success, "connect") => {
                "The server closed the connection after the end of input: every echo arrived \
                 (over UDP, which has no close: every echo owed arrived)."
            }
            (Failure, "connect") => {
                "One line on stderr says what went wrong: a connection refused or timed out, a \
                 name that does not resolve, a server that reset the connection or closed it \
                 before the end of input (after what arrived was printed)."
            }
            (ServerNotice, "connect") => {
                "The server ended the session with a notice, a last line that is not an echo \
                 (server is full, line too long, idle, shutting down). On a terminal it is shown \
                 once, in the session; piped, stderr repeats it."
            }
            (WaitExpired, "connect") => {
                "--wait ran out: the server had not closed the connection that long after the \
                 end of input; over UDP, nothing arrived for that long (3s unless --wait says \
                 otherwise) with echoes still missing."
            }
            (Interrupted, "connect") => "Interrupted by Ctrl-C or SIGTERM.",

            (Success, "completions") => "The script was printed.",
            (Failure, "completions") => "The script could not be written to stdout.",

            (Success, "demo") => "Every session was replayed.",
            (Failure, "demo") => {
                "The demo could not run, reported as one line on stderr: no free loopback port, \
                 a server that fell silent."
            }
            (Interrupted, "demo") => {
                "Interrupted by Ctrl-C or SIGTERM: the bar was cleared and the server stopped."
            }

            (Success, "bench") => {
                "Every echo line of every connection arrived, exactly as the wire format says."
            }
            (Failure, "bench") => {
                "Some echo line was missing, wrong or early, a connection failed, a p99 was over \
                 --max-p99, or the server's delay looked longer than --delay (the report says \
                 which); or a runtime error, reported as one line on stderr."
            }
            (Interrupted, "bench") => {
                "Cut short by Ctrl-C or SIGTERM: the report shows what was measured until then."
            }

            _ => return None,
        })
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// An error that ends the run with a status of its own instead of [`Failure`]: `main` reports
/// its message as it reports every error, and exits with its status.
#[derive(Debug)]
pub struct ExitError {
    status: ExitStatus,
    message: String,
}

impl ExitError {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> ExitError {
        ExitError {
            status,
            message: message.into(),
        }
    }

    pub fn status(&self) -> ExitStatus {
        self.status
    }
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_listed_in_order() {
        let codes: Vec<u8> = ExitStatus::ALL.iter().map(|s| s.code()).collect();
        assert!(codes.is_sorted_by(|a, b| a < b), "{codes:?}");
        // A name the table does not know is given only a usage error: a new command needs
        // entries of its own (the man pages' test checks every command has them).
        assert_eq!(Success.meaning_for("no-such-command"), None);
        assert_eq!(Usage.meaning_for("no-such-command"), Some(USAGE_TEXT));
        assert_eq!(Usage.description(), USAGE_TEXT);
    }

    #[test]
    fn usage_is_claps_own_status() {
        // clap exits with 2 on a usage error; `main` reports ours (bench's) with the same.
        let error = clap::Error::new(clap::error::ErrorKind::UnknownArgument);
        assert_eq!(error.exit_code(), i32::from(Usage.code()));
    }
}
