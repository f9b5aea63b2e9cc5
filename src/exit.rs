//! Every exit status echoctl ends with, in one place: `main` returns them, `cmd` chooses among
//! them, and the man pages' EXIT STATUS section is written from [`DOCUMENTED`].

/// The run did what was asked; for `serve`, also a graceful stop on Ctrl-C or SIGTERM.
pub const SUCCESS: u8 = 0;

/// A runtime error, reported by `main` as one line on stderr.
pub const FAILURE: u8 = 1;

/// `bench`: some echo line was missing or wrong, or a connection failed. The same status as a
/// runtime error, since for a load test either one means the server did not do what it owes.
pub const BENCH_ECHOES_WRONG: u8 = FAILURE;

/// A usage error (an unknown option, a bad value), as clap reports its own.
pub const USAGE: u8 = 2;

/// `connect`: the server ended the session with a notice (a line that is not an echo: the
/// server is full, a line was too long, the client was idle). The notice is on stdout as the
/// server sent it, and said again on stderr.
pub const SERVER_NOTICE: u8 = 3;

/// `connect --wait`: the server had not closed the connection that long after the end of input.
pub const WAIT_EXPIRED: u8 = 4;

/// A run cut short by Ctrl-C or SIGTERM, as shells report it (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// The statuses every command can end with, and what each means, for the man pages.
pub const DOCUMENTED: &[(u8, &str)] = &[
    (
        SUCCESS,
        "Success; for serve, also a graceful stop on Ctrl-C or SIGTERM.",
    ),
    (
        FAILURE,
        "A runtime error, reported as one line on stderr: a connection refused or timed out, a \
         name that does not resolve, a server that reset the connection, a port in use.",
    ),
    (
        USAGE,
        "A usage error: an unknown option, a missing or bad value. The message on stderr says \
         which.",
    ),
    (
        SERVER_NOTICE,
        "connect: the server ended the session with a notice (a line that is not an echo, such \
         as server is full, line longer than, or no complete line for); stderr repeats it.",
    ),
    (
        WAIT_EXPIRED,
        "connect: --wait ran out: the server had not closed the connection that long after the \
         end of input.",
    ),
    (
        INTERRUPTED,
        "Interrupted by Ctrl-C or SIGTERM. serve stops gracefully on the first one (status 0) \
         and exits with 130 only on a second one, during the grace period.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_claps_own_status() {
        // clap exits with 2 on a usage error; `main` reports ours (bench's) with the same.
        let error = clap::Error::new(clap::error::ErrorKind::UnknownArgument);
        assert_eq!(error.exit_code(), i32::from(USAGE));
    }
}
