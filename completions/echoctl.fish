# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_echoctl_global_optspecs
    string join \n q/quiet v/verbose color= h/help V/version
end

function __fish_echoctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_echoctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_echoctl_using_subcommand
    set -l cmd (__fish_echoctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c echoctl -n "__fish_echoctl_needs_command" -l color -d 'When to color output (the logs on stderr, and the demo)' -r -f -a "auto\t'Color a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR color a pipe too'
always\t'Always color, even in a pipe or a file'
never\t'Never color'"
complete -c echoctl -n "__fish_echoctl_needs_command" -s q -l quiet -d 'Log only errors'
complete -c echoctl -n "__fish_echoctl_needs_command" -s v -l verbose -d 'Log more: -v adds debug detail (serve: each shout; connect: where it connected and how the session ended), -vv internal detail'
complete -c echoctl -n "__fish_echoctl_needs_command" -s h -l help -d 'Print help'
complete -c echoctl -n "__fish_echoctl_needs_command" -s V -l version -d 'Print version'
complete -c echoctl -n "__fish_echoctl_needs_command" -f -a "serve" -d 'Run the reverb server (the book\'s reverb1 or reverb2), or its plain echo'
complete -c echoctl -n "__fish_echoctl_needs_command" -f -a "connect" -d 'Connect to a reverb (or any echo) server: stdin goes to it, its echoes come to stdout'
complete -c echoctl -n "__fish_echoctl_needs_command" -f -a "completions" -d 'Print the completion script for a shell to stdout'
complete -c echoctl -n "__fish_echoctl_needs_command" -f -a "demo" -d 'Replay the book\'s two sessions: a real server and client over loopback TCP'
complete -c echoctl -n "__fish_echoctl_needs_command" -f -a "bench" -d 'Load a reverb server with many connections and check every echo, byte for byte'
complete -c echoctl -n "__fish_echoctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -s l -l listen -d 'Address to listen on: HOST:PORT, unix:PATH for a Unix-domain socket, or udp:HOST:PORT for UDP datagrams (see UDP in --help)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -s m -l mode -d 'How a connection\'s shouts share time, or plain for the plain echo' -r -f -a "sequential\t'reverb1: a shout\'s three echoes finish before the next line is read'
concurrent\t'reverb2: every shout echoes on its own schedule from the moment it is read'
plain\t'io.Copy(c, c), the book\'s plain echo: every byte back as read, a stream, not lines'"
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -s d -l delay -d 'Time between a shout\'s echoes, e.g. 1s, 250ms; 0 echoes at once (default 1s)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l max-line -d 'Longest line accepted, in bytes, newline excluded (default 64KiB)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l max-pending -d 'Most shouts echoing at once on one connection, concurrent mode (default 1024)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l write-timeout -d 'Close a connection whose client accepts no data for this long, or never with off' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l idle-timeout -d 'Close a connection that sends no complete line for this long (with --mode plain: no byte at all), or never with off' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l max-connections -d 'Most connections served at once; clients over the limit are told the server is full' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l grace -d 'On Ctrl-C or SIGTERM, how long to wait for echoes in flight before closing anyway' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l fault -d 'Misbehave on purpose: KIND[=VALUE][@PERCENT], e.g. latency=200ms~50ms, reset-after=5lines@20%; repeat for more' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l fault-seed -d 'Seed of the faults\' draws, to repeat a run\'s faults exactly (default: a random seed, named in the start-up line)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l trace -d 'Write a trace of every connection to PATH as it happens, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: a process per connection, named by its peer, with a slice per shout from its read to its last echo, on a track of its own while it overlaps others, an instant per echo line written, arrows from each shout to its echoes, and the opening and closing (with why)' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l trace-max -d 'Stop recording the --trace once the file would pass SIZE; its last event says so' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l hex-dump -d 'Write every chunk read and written, on every connection, to PATH (- for stderr) as hexdump -C shows bytes, each under a line with its direction (> sent, < received), the time since the start, the peer and its length; the offsets count each direction' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l tls-save-cert -d 'Write the certificate made at start-up (never its key) to PATH as PEM, before the start-up line, for clients to trust: connect --tls-ca PATH, openssl s_client -CAfile PATH, curl --cacert PATH' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l tls-cert -d 'Serve this PEM certificate chain (the server\'s own certificate first) instead of one made at start-up; with --tls-key' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l tls-key -d 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l tls-client-ca -d 'Mutual TLS: every client must present a certificate signed by a CA in this PEM file; the log names each client certificate\'s subject, and a client without one is refused in the handshake' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l alpn -d 'Protocols to offer in ALPN, comma-separated, in order of preference (e.g. h2,http/1.1); the one agreed is logged' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l tls-handshake-timeout -d 'Close a connection whose TLS handshake is not done within this time, or never with off' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l color -d 'When to color the logs on stderr' -r -f -a "auto\t'Color a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR color a pipe too'
always\t'Always color, even in a pipe or a file'
never\t'Never color'"
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -l tls -d 'Serve TLS 1.2 and 1.3 (on a TCP port or a Unix socket)'
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -s q -l quiet -d 'Log only errors; the start-up line is still printed'
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -s v -l verbose -d 'Log more: -v adds each shout, -vv internal detail'
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -s h -l help -d 'Print help'
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l connect-timeout -d 'Give up on an address that does not answer within this time; off leaves it to the system' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l wait -d 'After the end of input, wait at most this long for the server to close the connection, then exit with status 4 (as nc -q, socat -t)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l trace -d 'Write a trace of the session to PATH as it happens, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: a slice per shout from its send to its last echo, on a track of its own while it overlaps others, an instant per echo line heard, and arrows from each shout to its echoes' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l trace-max -d 'Stop recording the --trace once the file would pass SIZE; its last event says so' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l hex-dump -d 'Write every chunk sent and received to PATH (- for stderr) as hexdump -C shows bytes, each under a line with its direction (> sent, < received), the time since the start, the server and its length; the offsets count each direction' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l tls-ca -d 'Trust the CAs in this PEM file instead of the system\'s roots (for echoctl serve --tls: the file its --tls-save-cert wrote)' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l tls-fingerprint -d 'Trust only the certificate with this SHA-256 fingerprint, whatever its names and dates: the sha256:AB:CD:... echoctl serve --tls prints (openssl x509 -fingerprint -sha256 prints it too)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l tls-server-name -d 'The name to ask for (SNI) and to check in the server\'s certificate; by default the host connected to (localhost for a Unix socket)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l tls-cert -d 'Present this PEM certificate chain to a server that asks for one (mutual TLS); with --tls-key' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l tls-key -d 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l color -d 'When to color the session on a terminal, the --timeline chart and the logs' -r -f -a "auto\t'Color a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR color a pipe too'
always\t'Always color, even in a pipe or a file'
never\t'Never color'"
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l timestamps -d 'Show how long after its shout each echo arrived, e.g. +1.002s: after the echo on a terminal; in a pipe, before the line as received (+1.002s, a TAB, then the echo)'
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l timeline -d 'At the end of the session, draw its timeline on stderr: each shout, when it was sent and when its echoes came back'
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l raw -d 'Relay bytes as they come, as in a pipe, even on a terminal (no line editor, no colors): the behaviour of netcat'
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l tls -d 'Speak TLS to the server, checking its certificate against the system\'s trusted roots (or as the options below say)'
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -l insecure -d 'Do not check the server\'s certificate at all (a warning says so on stderr)'
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -s q -l quiet -d 'Log only errors: connect logs nothing else without -v'
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -s v -l verbose -d 'Log where it connected and how the session ended; -vv adds internal detail'
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -s h -l help -d 'Print help'
complete -c echoctl -n "__fish_echoctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -s m -l mode -d 'Which session to replay' -r -f -a "sequential\t'reverb1\'s session'
concurrent\t'reverb2\'s session'
both\t'reverb1\'s session, then reverb2\'s'"
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -s d -l delay -d 'Time between a shout\'s echoes, e.g. 1s, 250ms; at least 10ms' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -l svg -d 'Write the sessions\' timelines, once all have played, as an SVG picture to PATH (one panel a session, titled with the mode and delay)' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -l trace -d 'Write a trace of the sessions to PATH as they play, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: the client\'s view, a process per session, both from time 0 so that reverb1 lies above reverb2' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -l trace-max -d 'Stop recording the --trace once the file would pass SIZE; its last event says so' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -l color -d 'When to color the transcript, its --timeline chart and the logs' -r -f -a "auto\t'Color a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR color a pipe too'
always\t'Always color, even in a pipe or a file'
never\t'Never color'"
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -l timeline -d 'After each session\'s transcript, chart its timeline: a row per shout, marks where it was sent and where each echo came back, and the wait in the server'
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -s q -l quiet -d 'Log only errors: the demo logs nothing else without -v'
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -s v -l verbose -d 'Log what its server and client do: each connection, each shout; -vv adds internal detail'
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -s h -l help -d 'Print help'
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -s c -l connections -d 'Connections to open' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -s n -l shouts -d 'Shouts per connection. 0 holds the connections open, idle, until --duration' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -s i -l interval -d 'Time between a connection\'s shouts' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l rate -d 'Shouts per second on each connection, instead of --interval' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -s w -l window -d 'Throughput mode: send as fast as echoes return, with at most N shouts in flight per connection (a shout is in flight until its last echo arrives)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -s d -l delay -d 'The server\'s delay between echoes (its --delay), to know when each echo is due' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l expect -d 'What the server sends back: reverb (three echo lines per shout, --delay apart) or plain (each shout once, unchanged, at once: lateness is the round trip; --delay is refused)' -r -f -a "reverb\t'A reverb server (echoctl serve, the book\'s reverb1 and reverb2)'
plain\t'A plain echo server (echoctl serve --mode plain, ncat --exec /bin/cat, socat PIPE)'"
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l ramp-up -d 'Spread the connects evenly over this time' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l duration -d 'Stop connecting and shouting after this long (echoes owed are still awaited)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l grace -d 'How long to wait for echoes past their due time before counting them missing' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l connect-timeout -d 'Give up on a connect that gets no answer within this time; off leaves it to the system' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l max-p99 -d 'Fail the run (exit status 1) when the p99 lateness of any echo is over this' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l percentiles -d 'Write the lateness distribution of all echoes to PATH in HdrHistogram\'s percentile format (.hgrm), and that of each echo beside it (PATH\'s name with .upper, .original and .lower before its extension)' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l svg -d 'Write a chart of lateness by percentile (one curve per echo) to PATH, as SVG' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l trace -d 'Write a trace of the first connections (--trace-connections) to PATH as the run goes, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: the client\'s view, a process per connection, a slice per shout from its send to its last echo, an instant per echo line heard with its lateness, and arrows from each shout to its echoes' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l trace-max -d 'Stop recording the --trace once the file would pass SIZE; its last event says so' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l trace-connections -d 'How many connections the --trace records: the first N' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l max-loss -d 'Over UDP: the share of the echoes owed, in percent, that may be lost before the run fails (default 0: none)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l tls-ca -d 'Trust the CAs in this PEM file instead of the system\'s roots (for echoctl serve --tls: the file its --tls-save-cert wrote)' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l tls-fingerprint -d 'Trust only the certificate with this SHA-256 fingerprint, whatever its names and dates: the sha256:AB:CD:... echoctl serve --tls prints (openssl x509 -fingerprint -sha256 prints it too)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l tls-server-name -d 'The name to ask for (SNI) and to check in the server\'s certificate; by default the host connected to (localhost for a Unix socket)' -r -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l tls-cert -d 'Present this PEM certificate chain to a server that asks for one (mutual TLS); with --tls-key' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l tls-key -d 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)' -r -F
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l color -d 'When to color the logs on stderr' -r -f -a "auto\t'Color a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR color a pipe too'
always\t'Always color, even in a pipe or a file'
never\t'Never color'"
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l json -d 'Print the report as JSON instead of a table'
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l allow-faults -d 'Pass the run when what arrived was right or the damage is what faults do (see above): for a client\'s test against echoctl serve --fault'
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l tls -d 'Speak TLS to the server, checking its certificate against the system\'s trusted roots (or as the options below say)'
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -l insecure -d 'Do not check the server\'s certificate at all (a warning says so on stderr)'
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -s q -l quiet -d 'Log only errors, not the warning that too few files can be open for --connections'
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -s v -l verbose -d 'Log more: -v adds how far the open-files limit was raised, -vv internal detail'
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -s h -l help -d 'Print help'
complete -c echoctl -n "__fish_echoctl_using_subcommand help; and not __fish_seen_subcommand_from serve connect completions demo bench help" -f -a "serve" -d 'Run the reverb server (the book\'s reverb1 or reverb2), or its plain echo'
complete -c echoctl -n "__fish_echoctl_using_subcommand help; and not __fish_seen_subcommand_from serve connect completions demo bench help" -f -a "connect" -d 'Connect to a reverb (or any echo) server: stdin goes to it, its echoes come to stdout'
complete -c echoctl -n "__fish_echoctl_using_subcommand help; and not __fish_seen_subcommand_from serve connect completions demo bench help" -f -a "completions" -d 'Print the completion script for a shell to stdout'
complete -c echoctl -n "__fish_echoctl_using_subcommand help; and not __fish_seen_subcommand_from serve connect completions demo bench help" -f -a "demo" -d 'Replay the book\'s two sessions: a real server and client over loopback TCP'
complete -c echoctl -n "__fish_echoctl_using_subcommand help; and not __fish_seen_subcommand_from serve connect completions demo bench help" -f -a "bench" -d 'Load a reverb server with many connections and check every echo, byte for byte'
complete -c echoctl -n "__fish_echoctl_using_subcommand help; and not __fish_seen_subcommand_from serve connect completions demo bench help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c echoctl -n "__fish_echoctl_using_subcommand serve" -f
complete -c echoctl -n "__fish_echoctl_using_subcommand connect" -f
complete -c echoctl -n "__fish_echoctl_using_subcommand completions" -f -a "bash elvish fish powershell zsh"
complete -c echoctl -n "__fish_echoctl_using_subcommand demo" -f
complete -c echoctl -n "__fish_echoctl_using_subcommand bench" -f
complete -c echoctl -n "__fish_echoctl_using_subcommand help" -f
