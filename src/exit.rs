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

/// What `--help` and a usage error share: the same words on every page.
const USAGE_TEXT: &str = "A usage error: an unknown option, a missing or bad value. The message on stderr says \
     which.";

/// Each command's own statuses and what each means for it, for its man page; the top page
/// lists [`DOCUMENTED`]. A status added above belongs in the tables of the commands that can
/// end with it.
const BY_COMMAND: &[(&str, &[(u8, &str)])] = &[
    (
        "serve",
        &[
            (
                SUCCESS,
                "A graceful stop on Ctrl-C or SIGTERM: every echo owed was delivered or the grace \
                 period ran out.",
            ),
            (
                FAILURE,
                "The server could not start, reported as one line on stderr: a port in use, an \
                 address that does not resolve or does not belong to this machine.",
            ),
            (USAGE, USAGE_TEXT),
            (
                INTERRUPTED,
                "A second Ctrl-C or SIGTERM during the grace period: the connections still open \
                 were closed at once.",
            ),
        ],
    ),
    (
        "connect",
        &[
            (
                SUCCESS,
                "The server closed the connection after the end of input: every echo arrived.",
            ),
            (
                FAILURE,
                "One line on stderr says what went wrong: a connection refused or timed out, a \
                 name that does not resolve, a server that reset the connection or closed it \
                 before the end of input (after what arrived was printed).",
            ),
            (USAGE, USAGE_TEXT),
            (
                SERVER_NOTICE,
                "The server ended the session with a notice, a last line that is not an echo \
                 (server is full, line too long, idle, shutting down); stderr repeats it.",
            ),
            (
                WAIT_EXPIRED,
                "--wait ran out: the server had not closed the connection that long after the \
                 end of input.",
            ),
            (INTERRUPTED, "Interrupted by Ctrl-C or SIGTERM."),
        ],
    ),
    (
        "completions",
        &[
            (SUCCESS, "The script was printed."),
            (FAILURE, "The script could not be written to stdout."),
            (USAGE, USAGE_TEXT),
        ],
    ),
    (
        "demo",
        &[
            (SUCCESS, "Every session was replayed."),
            (
                FAILURE,
                "The demo could not run, reported as one line on stderr: no free loopback port, \
                 a server that fell silent.",
            ),
            (USAGE, USAGE_TEXT),
            (
                INTERRUPTED,
                "Interrupted by Ctrl-C or SIGTERM: the bar was cleared and the server stopped.",
            ),
        ],
    ),
    (
        "bench",
        &[
            (
                SUCCESS,
                "Every echo line of every connection arrived, exactly as the wire format says.",
            ),
            (
                BENCH_ECHOES_WRONG,
                "Some echo line was missing, wrong or early, a connection failed, or a p99 was \
                 over --max-p99 (the report says which); or a runtime error, reported as one \
                 line on stderr.",
            ),
            (USAGE, USAGE_TEXT),
            (
                INTERRUPTED,
                "Cut short by Ctrl-C or SIGTERM: the report shows what was measured until then.",
            ),
        ],
    ),
];

/// The statuses `command` ends with, and what each means for it; [`DOCUMENTED`] for the
/// program as a whole (`""`) or a command without a table of its own.
pub fn for_command(command: &str) -> &'static [(u8, &'static str)] {
    BY_COMMAND
        .iter()
        .find(|(name, _)| *name == command)
        .map_or(DOCUMENTED, |(_, statuses)| statuses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_documents_only_statuses_the_program_documents() {
        for (command, statuses) in BY_COMMAND {
            for (status, _) in *statuses {
                assert!(
                    DOCUMENTED
                        .iter()
                        .any(|(documented, _)| documented == status),
                    "{command}: {status}"
                );
            }
            assert!(
                statuses.iter().any(|(status, _)| *status == USAGE),
                "{command}"
            );
        }
        assert_eq!(for_command(""), DOCUMENTED);
        // And a status the program documents is on the page of some command that ends with it.
        for (status, _) in DOCUMENTED {
            assert!(
                BY_COMMAND
                    .iter()
                    .any(|(_, statuses)| statuses.iter().any(|(s, _)| s == status)),
                "status {status} is on no command's page"
            );
        }
    }

    #[test]
    fn usage_is_claps_own_status() {
        // clap exits with 2 on a usage error; `main` reports ours (bench's) with the same.
        let error = clap::Error::new(clap::error::ErrorKind::UnknownArgument);
        assert_eq!(error.exit_code(), i32::from(USAGE));
    }
}
