//! `echoctl serve --help`'s sections after the options, shared with echoctl-serve(1): the
//! examples, the limits and the wire format, UDP, and the faults. Macros, as clap's
//! `after_help` takes them joined by `concat!`.

/// The examples, for `serve -h`, `serve --help` and echoctl-serve(1).
macro_rules! serve_examples {
    () => {
        "\
Examples:
  echoctl serve                               # reverb2 on localhost:8000, 1 s delay
  echoctl serve --mode sequential             # reverb1
  echoctl serve --listen 127.0.0.1:0 --delay 250ms   # any free port, quicker echoes
  echoctl serve --mode plain --listen unix:/tmp/echo.sock   # a plain echo on a Unix socket
  echoctl serve --mode plain --listen udp:127.0.0.1:7000    # RFC 862's UDP echo
  A script's server on a free port, its address read from the first line:
    exec 3< <(echoctl serve -q --listen 127.0.0.1:0 2>&1 >/dev/null)
    read -r _ _ addr _ <&3     # listening on 127.0.0.1:41234 (...)
  A peer that resets every connection after its third echo line, the same every run:
    echoctl serve --fault reset-after=3lines --fault-seed 7
  TLS with a certificate made at start-up, saved for clients to trust:
    echoctl serve --tls --tls-save-cert ca.pem"
    };
}

/// The faults, for `serve --help` and echoctl-serve(1): every kind with an example.
#[allow(non_snake_case)]
macro_rules! SERVE_FAULTS {
    () => {
        "\
Faults:
  --fault SPEC misbehaves on purpose, as networks and broken peers do, so that a client
  can be tested against it. SPEC is KIND[=VALUE][@PERCENT]: a connection gets the fault
  with that chance (default 100%), drawn once when it is accepted. Give --fault as often
  as needed; faults combine. --fault-seed N draws the same faults for the same
  connections every run (default: a random seed; the start-up line names it).
  latency=200ms~50ms    every write (an echo line; a chunk in plain mode) held 200ms more,
                        give or take up to 50ms, order kept
  bandwidth=16KiB/s     at most 16KiB a second written
  slice=3/10ms          writes cut into pieces of at most 3 bytes, each its own write,
                        10ms apart (default 0): lines arrive split
  reset-after=5lines    after 5 echo lines (or N bytes) written, the connection is reset
                        (RST, not FIN); TCP only
  close-after=100bytes  after 100 bytes (or N lines) written, an orderly close (FIN), and
                        nothing more said
  stall-after=0lines    after N lines or bytes (0: at once), silence: nothing read or
                        written, the connection held open until the client is gone
                        (a client that only ends its input may still be waiting: it is
                        held too); --write-timeout and --idle-timeout do not end it,
                        the --grace of a shutdown does. A client that resets is let go
                        at once, and one that closes a Unix socket; TCP cannot tell a
                        close from an end of input, so keepalive probes (every 2s) find
                        a closed client once its system forgets the connection: on
                        Linux about a minute after the close (tcp_fin_timeout, 60s)
  refuse                accepted, then reset at once, before a byte is read; TCP only
  slow-close=2s         the close after the last echo owed comes 2s later
  drop=10%              each echo line left out with that chance (not in plain mode)
  corrupt=10%           each echo line has one byte, not its newline, replaced by an ASCII
                        punctuation mark with that chance (not in plain mode)
  N counts from the start of the connection; in plain mode a line is a newline written
  back. Two counts reached by the same byte: reset, then stall, then close acts. A
  connection holds at most 256KiB back for its faults, then stops reading, and TCP holds
  back the client. Each connection's log names the faults it drew, and the moment a
  count fires: reset after 5 echo lines (fault)."
    };
}

/// The limits and the wire format, for `serve --help` and echoctl-serve(1) (docs/guide.md's
/// tables, laid out for a terminal).
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

/// UDP, for `serve --help` and echoctl-serve(1): what changes without a connection, and what
/// keeps a UDP echo safe to leave running.
#[allow(non_snake_case)]
macro_rules! SERVE_UDP {
    () => {
        "\
UDP:
  --listen udp:HOST:PORT serves datagrams, RFC 862's UDP echo. --mode plain sends each
  datagram back to its sender unchanged. In the reverb modes each datagram is read as a
  connection's bytes would be (its end ends a last line without a newline), and every echo
  line is a datagram of its own, sent to the source on the usual schedule. A peer is a
  source address and port: sequential mode is sequential per peer, and a peer is forgotten
  once it is owed nothing and has been quiet for 10s.
  --max-connections bounds the peers: a new one over it is told the server is full, at
  most once a second. --max-pending bounds each peer's shouts waiting to start (and 1 MiB):
  a datagram that does not fit is dropped whole. A datagram with a line longer than
  --max-line, or too long for its echo to fit in one datagram (65504 bytes), is not echoed,
  and its sender is told so. --idle-timeout and --fault are refused, --write-timeout does
  not apply, and --grace delivers the echoes owed, without a notice.
  Safe to leave running: a datagram from source port 0, 7, 9, 13, 17, 19 or 37 is never
  answered (a forged one would start an endless loop with that service). In the reverb
  modes, everything one datagram makes the server send (its echoes, or a notice) is at
  most 4 times its size, counting 28 bytes of IPv4 and UDP headers a datagram: one line
  a datagram always fits; a datagram of many short lines, which would multiply most, is
  dropped whole. What is not answered is counted and logged at most once a second, and
  the start-up line warns when the server listens on anything but loopback."
    };
}
