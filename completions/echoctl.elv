
use builtin;
use str;

set edit:completion:arg-completer[echoctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'echoctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'echoctl'= {
            cand --color 'When to color output (the logs on stderr, and the demo)'
            cand -q 'Log only errors'
            cand --quiet 'Log only errors'
            cand -v 'Log more: -v adds debug detail (serve: each shout; connect: where it connected and how the session ended), -vv internal detail'
            cand --verbose 'Log more: -v adds debug detail (serve: each shout; connect: where it connected and how the session ended), -vv internal detail'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the reverb server (the book''s reverb1 or reverb2), or its plain echo'
            cand connect 'Connect to a reverb (or any echo) server: stdin goes to it, its echoes come to stdout'
            cand completions 'Print the completion script for a shell to stdout'
            cand demo 'Replay the book''s two sessions: a real server and client over loopback TCP'
            cand bench 'Load a reverb server with many connections and check every echo, byte for byte'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'echoctl;serve'= {
            cand -l 'Address to listen on: HOST:PORT, unix:PATH for a Unix-domain socket, or udp:HOST:PORT for UDP datagrams (see UDP in --help)'
            cand --listen 'Address to listen on: HOST:PORT, unix:PATH for a Unix-domain socket, or udp:HOST:PORT for UDP datagrams (see UDP in --help)'
            cand -m 'How a connection''s shouts share time, or plain for the plain echo'
            cand --mode 'How a connection''s shouts share time, or plain for the plain echo'
            cand -d 'Time between a shout''s echoes, e.g. 1s, 250ms; 0 echoes at once (default 1s)'
            cand --delay 'Time between a shout''s echoes, e.g. 1s, 250ms; 0 echoes at once (default 1s)'
            cand --max-line 'Longest line accepted, in bytes, newline excluded (default 64KiB)'
            cand --max-pending 'Most shouts echoing at once on one connection, concurrent mode (default 1024)'
            cand --write-timeout 'Close a connection whose client accepts no data for this long, or never with off'
            cand --idle-timeout 'Close a connection that sends no complete line for this long (with --mode plain: no byte at all), or never with off'
            cand --max-connections 'Most connections served at once; clients over the limit are told the server is full'
            cand --grace 'On Ctrl-C or SIGTERM, how long to wait for echoes in flight before closing anyway'
            cand --fault 'Misbehave on purpose: KIND[=VALUE][@PERCENT], e.g. latency=200ms~50ms, reset-after=5lines@20%; repeat for more'
            cand --fault-seed 'Seed of the faults'' draws, to repeat a run''s faults exactly (default: a random seed, named in the start-up line)'
            cand --trace 'Write a trace of every connection to PATH as it happens, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: a process per connection, named by its peer, with a slice per shout from its read to its last echo, on a track of its own while it overlaps others, an instant per echo line written, arrows from each shout to its echoes, and the opening and closing (with why)'
            cand --trace-max 'Stop recording the --trace once the file would pass SIZE; its last event says so'
            cand --hex-dump 'Write every chunk read and written, on every connection, to PATH (- for stderr) as hexdump -C shows bytes, each under a line with its direction (> sent, < received), the time since the start, the peer and its length; the offsets count each direction'
            cand --tls-save-cert 'Write the certificate made at start-up (never its key) to PATH as PEM, before the start-up line, for clients to trust: connect --tls-ca PATH, openssl s_client -CAfile PATH, curl --cacert PATH'
            cand --tls-cert 'Serve this PEM certificate chain (the server''s own certificate first) instead of one made at start-up; with --tls-key'
            cand --tls-key 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)'
            cand --tls-client-ca 'Mutual TLS: every client must present a certificate signed by a CA in this PEM file; the log names each client certificate''s subject, and a client without one is refused in the handshake'
            cand --alpn 'Protocols to offer in ALPN, comma-separated, in order of preference (e.g. h2,http/1.1); the one agreed is logged'
            cand --tls-handshake-timeout 'Close a connection whose TLS handshake is not done within this time, or never with off'
            cand --color 'When to color the logs on stderr'
            cand --tls 'Serve TLS 1.2 and 1.3 (on a TCP port or a Unix socket)'
            cand -q 'Log only errors; the start-up line is still printed'
            cand --quiet 'Log only errors; the start-up line is still printed'
            cand -v 'Log more: -v adds each shout, -vv internal detail'
            cand --verbose 'Log more: -v adds each shout, -vv internal detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'echoctl;connect'= {
            cand --connect-timeout 'Give up on an address that does not answer within this time; off leaves it to the system'
            cand --wait 'After the end of input, wait at most this long for the server to close the connection, then exit with status 4 (as nc -q, socat -t)'
            cand --trace 'Write a trace of the session to PATH as it happens, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: a slice per shout from its send to its last echo, on a track of its own while it overlaps others, an instant per echo line heard, and arrows from each shout to its echoes'
            cand --trace-max 'Stop recording the --trace once the file would pass SIZE; its last event says so'
            cand --hex-dump 'Write every chunk sent and received to PATH (- for stderr) as hexdump -C shows bytes, each under a line with its direction (> sent, < received), the time since the start, the server and its length; the offsets count each direction'
            cand --tls-ca 'Trust the CAs in this PEM file instead of the system''s roots (for echoctl serve --tls: the file its --tls-save-cert wrote)'
            cand --tls-fingerprint 'Trust only the certificate with this SHA-256 fingerprint, whatever its names and dates: the sha256:AB:CD:... echoctl serve --tls prints (openssl x509 -fingerprint -sha256 prints it too)'
            cand --tls-server-name 'The name to ask for (SNI) and to check in the server''s certificate; by default the host connected to (localhost for a Unix socket)'
            cand --tls-cert 'Present this PEM certificate chain to a server that asks for one (mutual TLS); with --tls-key'
            cand --tls-key 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)'
            cand --color 'When to color the session on a terminal, the --timeline chart and the logs'
            cand --timestamps 'Show how long after its shout each echo arrived, e.g. +1.002s: after the echo on a terminal; in a pipe, before the line as received (+1.002s, a TAB, then the echo)'
            cand --timeline 'At the end of the session, draw its timeline on stderr: each shout, when it was sent and when its echoes came back'
            cand --raw 'Relay bytes as they come, as in a pipe, even on a terminal (no line editor, no colors): the behaviour of netcat'
            cand --tls 'Speak TLS to the server, checking its certificate against the system''s trusted roots (or as the options below say)'
            cand --insecure 'Do not check the server''s certificate at all (a warning says so on stderr)'
            cand -q 'Log only errors: connect logs nothing else without -v'
            cand --quiet 'Log only errors: connect logs nothing else without -v'
            cand -v 'Log where it connected and how the session ended; -vv adds internal detail'
            cand --verbose 'Log where it connected and how the session ended; -vv adds internal detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'echoctl;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'echoctl;demo'= {
            cand -m 'Which session to replay'
            cand --mode 'Which session to replay'
            cand -d 'Time between a shout''s echoes, e.g. 1s, 250ms; at least 10ms'
            cand --delay 'Time between a shout''s echoes, e.g. 1s, 250ms; at least 10ms'
            cand --svg 'Write the sessions'' timelines, once all have played, as an SVG picture to PATH (one panel a session, titled with the mode and delay)'
            cand --trace 'Write a trace of the sessions to PATH as they play, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: the client''s view, a process per session, both from time 0 so that reverb1 lies above reverb2'
            cand --trace-max 'Stop recording the --trace once the file would pass SIZE; its last event says so'
            cand --color 'When to color the transcript, its --timeline chart and the logs'
            cand --timeline 'After each session''s transcript, chart its timeline: a row per shout, marks where it was sent and where each echo came back, and the wait in the server'
            cand -q 'Log only errors: the demo logs nothing else without -v'
            cand --quiet 'Log only errors: the demo logs nothing else without -v'
            cand -v 'Log what its server and client do: each connection, each shout; -vv adds internal detail'
            cand --verbose 'Log what its server and client do: each connection, each shout; -vv adds internal detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'echoctl;bench'= {
            cand -c 'Connections to open'
            cand --connections 'Connections to open'
            cand -n 'Shouts per connection. 0 holds the connections open, idle, until --duration'
            cand --shouts 'Shouts per connection. 0 holds the connections open, idle, until --duration'
            cand -i 'Time between a connection''s shouts'
            cand --interval 'Time between a connection''s shouts'
            cand --rate 'Shouts per second on each connection, instead of --interval'
            cand -w 'Throughput mode: send as fast as echoes return, with at most N shouts in flight per connection (a shout is in flight until its last echo arrives)'
            cand --window 'Throughput mode: send as fast as echoes return, with at most N shouts in flight per connection (a shout is in flight until its last echo arrives)'
            cand -d 'The server''s delay between echoes (its --delay), to know when each echo is due'
            cand --delay 'The server''s delay between echoes (its --delay), to know when each echo is due'
            cand --expect 'What the server sends back: reverb (three echo lines per shout, --delay apart) or plain (each shout once, unchanged, at once: lateness is the round trip; --delay is refused)'
            cand --ramp-up 'Spread the connects evenly over this time'
            cand --duration 'Stop connecting and shouting after this long (echoes owed are still awaited)'
            cand --grace 'How long to wait for echoes past their due time before counting them missing'
            cand --connect-timeout 'Give up on a connect that gets no answer within this time; off leaves it to the system'
            cand --max-p99 'Fail the run (exit status 1) when the p99 lateness of any echo is over this'
            cand --percentiles 'Write the lateness distribution of all echoes to PATH in HdrHistogram''s percentile format (.hgrm), and that of each echo beside it (PATH''s name with .upper, .original and .lower before its extension)'
            cand --svg 'Write a chart of lateness by percentile (one curve per echo) to PATH, as SVG'
            cand --trace 'Write a trace of the first connections (--trace-connections) to PATH as the run goes, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: the client''s view, a process per connection, a slice per shout from its send to its last echo, an instant per echo line heard with its lateness, and arrows from each shout to its echoes'
            cand --trace-max 'Stop recording the --trace once the file would pass SIZE; its last event says so'
            cand --trace-connections 'How many connections the --trace records: the first N'
            cand --max-loss 'Over UDP: the share of the echoes owed, in percent, that may be lost before the run fails (default 0: none)'
            cand --tls-ca 'Trust the CAs in this PEM file instead of the system''s roots (for echoctl serve --tls: the file its --tls-save-cert wrote)'
            cand --tls-fingerprint 'Trust only the certificate with this SHA-256 fingerprint, whatever its names and dates: the sha256:AB:CD:... echoctl serve --tls prints (openssl x509 -fingerprint -sha256 prints it too)'
            cand --tls-server-name 'The name to ask for (SNI) and to check in the server''s certificate; by default the host connected to (localhost for a Unix socket)'
            cand --tls-cert 'Present this PEM certificate chain to a server that asks for one (mutual TLS); with --tls-key'
            cand --tls-key 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)'
            cand --color 'When to color the logs on stderr'
            cand --json 'Print the report as JSON instead of a table'
            cand --allow-faults 'Pass the run when what arrived was right or the damage is what faults do (see above): for a client''s test against echoctl serve --fault'
            cand --tls 'Speak TLS to the server, checking its certificate against the system''s trusted roots (or as the options below say)'
            cand --insecure 'Do not check the server''s certificate at all (a warning says so on stderr)'
            cand -q 'Log only errors, not the warning that too few files can be open for --connections'
            cand --quiet 'Log only errors, not the warning that too few files can be open for --connections'
            cand -v 'Log more: -v adds how far the open-files limit was raised, -vv internal detail'
            cand --verbose 'Log more: -v adds how far the open-files limit was raised, -vv internal detail'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'echoctl;help'= {
            cand serve 'Run the reverb server (the book''s reverb1 or reverb2), or its plain echo'
            cand connect 'Connect to a reverb (or any echo) server: stdin goes to it, its echoes come to stdout'
            cand completions 'Print the completion script for a shell to stdout'
            cand demo 'Replay the book''s two sessions: a real server and client over loopback TCP'
            cand bench 'Load a reverb server with many connections and check every echo, byte for byte'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'echoctl;help;serve'= {
        }
        &'echoctl;help;connect'= {
        }
        &'echoctl;help;completions'= {
        }
        &'echoctl;help;demo'= {
        }
        &'echoctl;help;bench'= {
        }
        &'echoctl;help;help'= {
        }
    ]
    $completions[$command]
}
