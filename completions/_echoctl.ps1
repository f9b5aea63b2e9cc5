
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'echoctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'echoctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'echoctl' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output (the logs on stderr, and the demo)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Log only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Log only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more: -v adds debug detail (serve: each shout; connect: where it connected and how the session ended), -vv internal detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more: -v adds debug detail (serve: each shout; connect: where it connected and how the session ended), -vv internal detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the reverb server (the book''s reverb1 or reverb2), or its plain echo')
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Connect to a reverb (or any echo) server: stdin goes to it, its echoes come to stdout')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell to stdout')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Replay the book''s two sessions: a real server and client over loopback TCP')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Load a reverb server with many connections and check every echo, byte for byte')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'echoctl;serve' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Address to listen on: HOST:PORT, unix:PATH for a Unix-domain socket, or udp:HOST:PORT for UDP datagrams (see UDP in --help)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on: HOST:PORT, unix:PATH for a Unix-domain socket, or udp:HOST:PORT for UDP datagrams (see UDP in --help)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'How a connection''s shouts share time, or plain for the plain echo')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'How a connection''s shouts share time, or plain for the plain echo')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Time between a shout''s echoes, e.g. 1s, 250ms; 0 echoes at once (default 1s)')
            [CompletionResult]::new('--delay', '--delay', [CompletionResultType]::ParameterName, 'Time between a shout''s echoes, e.g. 1s, 250ms; 0 echoes at once (default 1s)')
            [CompletionResult]::new('--max-line', '--max-line', [CompletionResultType]::ParameterName, 'Longest line accepted, in bytes, newline excluded (default 64KiB)')
            [CompletionResult]::new('--max-pending', '--max-pending', [CompletionResultType]::ParameterName, 'Most shouts echoing at once on one connection, concurrent mode (default 1024)')
            [CompletionResult]::new('--write-timeout', '--write-timeout', [CompletionResultType]::ParameterName, 'Close a connection whose client accepts no data for this long, or never with off')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Close a connection that sends no complete line for this long (with --mode plain: no byte at all), or never with off')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most connections served at once; clients over the limit are told the server is full')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'On Ctrl-C or SIGTERM, how long to wait for echoes in flight before closing anyway')
            [CompletionResult]::new('--fault', '--fault', [CompletionResultType]::ParameterName, 'Misbehave on purpose: KIND[=VALUE][@PERCENT], e.g. latency=200ms~50ms, reset-after=5lines@20%; repeat for more')
            [CompletionResult]::new('--fault-seed', '--fault-seed', [CompletionResultType]::ParameterName, 'Seed of the faults'' draws, to repeat a run''s faults exactly (default: a random seed, named in the start-up line)')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'Write a trace of every connection to PATH as it happens, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: a process per connection, named by its peer, with a slice per shout from its read to its last echo, on a track of its own while it overlaps others, an instant per echo line written, arrows from each shout to its echoes, and the opening and closing (with why)')
            [CompletionResult]::new('--trace-max', '--trace-max', [CompletionResultType]::ParameterName, 'Stop recording the --trace once the file would pass SIZE; its last event says so')
            [CompletionResult]::new('--hex-dump', '--hex-dump', [CompletionResultType]::ParameterName, 'Write every chunk read and written, on every connection, to PATH (- for stderr) as hexdump -C shows bytes, each under a line with its direction (> sent, < received), the time since the start, the peer and its length; the offsets count each direction')
            [CompletionResult]::new('--tls-save-cert', '--tls-save-cert', [CompletionResultType]::ParameterName, 'Write the certificate made at start-up (never its key) to PATH as PEM, before the start-up line, for clients to trust: connect --tls-ca PATH, openssl s_client -CAfile PATH, curl --cacert PATH')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve this PEM certificate chain (the server''s own certificate first) instead of one made at start-up; with --tls-key')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)')
            [CompletionResult]::new('--tls-client-ca', '--tls-client-ca', [CompletionResultType]::ParameterName, 'Mutual TLS: every client must present a certificate signed by a CA in this PEM file; the log names each client certificate''s subject, and a client without one is refused in the handshake')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'Protocols to offer in ALPN, comma-separated, in order of preference (e.g. h2,http/1.1); the one agreed is logged')
            [CompletionResult]::new('--tls-handshake-timeout', '--tls-handshake-timeout', [CompletionResultType]::ParameterName, 'Close a connection whose TLS handshake is not done within this time, or never with off')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color the logs on stderr')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Serve TLS 1.2 and 1.3 (on a TCP port or a Unix socket)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Log only errors; the start-up line is still printed')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Log only errors; the start-up line is still printed')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more: -v adds each shout, -vv internal detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more: -v adds each shout, -vv internal detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'echoctl;connect' {
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up on an address that does not answer within this time; off leaves it to the system')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'After the end of input, wait at most this long for the server to close the connection, then exit with status 4 (as nc -q, socat -t)')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'Write a trace of the session to PATH as it happens, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: a slice per shout from its send to its last echo, on a track of its own while it overlaps others, an instant per echo line heard, and arrows from each shout to its echoes')
            [CompletionResult]::new('--trace-max', '--trace-max', [CompletionResultType]::ParameterName, 'Stop recording the --trace once the file would pass SIZE; its last event says so')
            [CompletionResult]::new('--hex-dump', '--hex-dump', [CompletionResultType]::ParameterName, 'Write every chunk sent and received to PATH (- for stderr) as hexdump -C shows bytes, each under a line with its direction (> sent, < received), the time since the start, the server and its length; the offsets count each direction')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'Trust the CAs in this PEM file instead of the system''s roots (for echoctl serve --tls: the file its --tls-save-cert wrote)')
            [CompletionResult]::new('--tls-fingerprint', '--tls-fingerprint', [CompletionResultType]::ParameterName, 'Trust only the certificate with this SHA-256 fingerprint, whatever its names and dates: the sha256:AB:CD:... echoctl serve --tls prints (openssl x509 -fingerprint -sha256 prints it too)')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'The name to ask for (SNI) and to check in the server''s certificate; by default the host connected to (localhost for a Unix socket)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Present this PEM certificate chain to a server that asks for one (mutual TLS); with --tls-key')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color the session on a terminal, the --timeline chart and the logs')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Show how long after its shout each echo arrived, e.g. +1.002s: after the echo on a terminal; in a pipe, before the line as received (+1.002s, a TAB, then the echo)')
            [CompletionResult]::new('--timeline', '--timeline', [CompletionResultType]::ParameterName, 'At the end of the session, draw its timeline on stderr: each shout, when it was sent and when its echoes came back')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Relay bytes as they come, as in a pipe, even on a terminal (no line editor, no colors): the behaviour of netcat')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Speak TLS to the server, checking its certificate against the system''s trusted roots (or as the options below say)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the server''s certificate at all (a warning says so on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Log only errors: connect logs nothing else without -v')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Log only errors: connect logs nothing else without -v')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log where it connected and how the session ended; -vv adds internal detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log where it connected and how the session ended; -vv adds internal detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'echoctl;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'echoctl;demo' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Which session to replay')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Which session to replay')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Time between a shout''s echoes, e.g. 1s, 250ms; at least 10ms')
            [CompletionResult]::new('--delay', '--delay', [CompletionResultType]::ParameterName, 'Time between a shout''s echoes, e.g. 1s, 250ms; at least 10ms')
            [CompletionResult]::new('--svg', '--svg', [CompletionResultType]::ParameterName, 'Write the sessions'' timelines, once all have played, as an SVG picture to PATH (one panel a session, titled with the mode and delay)')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'Write a trace of the sessions to PATH as they play, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: the client''s view, a process per session, both from time 0 so that reverb1 lies above reverb2')
            [CompletionResult]::new('--trace-max', '--trace-max', [CompletionResultType]::ParameterName, 'Stop recording the --trace once the file would pass SIZE; its last event says so')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color the transcript, its --timeline chart and the logs')
            [CompletionResult]::new('--timeline', '--timeline', [CompletionResultType]::ParameterName, 'After each session''s transcript, chart its timeline: a row per shout, marks where it was sent and where each echo came back, and the wait in the server')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Log only errors: the demo logs nothing else without -v')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Log only errors: the demo logs nothing else without -v')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what its server and client do: each connection, each shout; -vv adds internal detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what its server and client do: each connection, each shout; -vv adds internal detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'echoctl;bench' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Connections to open')
            [CompletionResult]::new('--connections', '--connections', [CompletionResultType]::ParameterName, 'Connections to open')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Shouts per connection. 0 holds the connections open, idle, until --duration')
            [CompletionResult]::new('--shouts', '--shouts', [CompletionResultType]::ParameterName, 'Shouts per connection. 0 holds the connections open, idle, until --duration')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Time between a connection''s shouts')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between a connection''s shouts')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Shouts per second on each connection, instead of --interval')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Throughput mode: send as fast as echoes return, with at most N shouts in flight per connection (a shout is in flight until its last echo arrives)')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'Throughput mode: send as fast as echoes return, with at most N shouts in flight per connection (a shout is in flight until its last echo arrives)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The server''s delay between echoes (its --delay), to know when each echo is due')
            [CompletionResult]::new('--delay', '--delay', [CompletionResultType]::ParameterName, 'The server''s delay between echoes (its --delay), to know when each echo is due')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'What the server sends back: reverb (three echo lines per shout, --delay apart) or plain (each shout once, unchanged, at once: lateness is the round trip; --delay is refused)')
            [CompletionResult]::new('--ramp-up', '--ramp-up', [CompletionResultType]::ParameterName, 'Spread the connects evenly over this time')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop connecting and shouting after this long (echoes owed are still awaited)')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'How long to wait for echoes past their due time before counting them missing')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up on a connect that gets no answer within this time; off leaves it to the system')
            [CompletionResult]::new('--max-p99', '--max-p99', [CompletionResultType]::ParameterName, 'Fail the run (exit status 1) when the p99 lateness of any echo is over this')
            [CompletionResult]::new('--percentiles', '--percentiles', [CompletionResultType]::ParameterName, 'Write the lateness distribution of all echoes to PATH in HdrHistogram''s percentile format (.hgrm), and that of each echo beside it (PATH''s name with .upper, .original and .lower before its extension)')
            [CompletionResult]::new('--svg', '--svg', [CompletionResultType]::ParameterName, 'Write a chart of lateness by percentile (one curve per echo) to PATH, as SVG')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'Write a trace of the first connections (--trace-connections) to PATH as the run goes, in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: the client''s view, a process per connection, a slice per shout from its send to its last echo, an instant per echo line heard with its lateness, and arrows from each shout to its echoes')
            [CompletionResult]::new('--trace-max', '--trace-max', [CompletionResultType]::ParameterName, 'Stop recording the --trace once the file would pass SIZE; its last event says so')
            [CompletionResult]::new('--trace-connections', '--trace-connections', [CompletionResultType]::ParameterName, 'How many connections the --trace records: the first N')
            [CompletionResult]::new('--max-loss', '--max-loss', [CompletionResultType]::ParameterName, 'Over UDP: the share of the echoes owed, in percent, that may be lost before the run fails (default 0: none)')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'Trust the CAs in this PEM file instead of the system''s roots (for echoctl serve --tls: the file its --tls-save-cert wrote)')
            [CompletionResult]::new('--tls-fingerprint', '--tls-fingerprint', [CompletionResultType]::ParameterName, 'Trust only the certificate with this SHA-256 fingerprint, whatever its names and dates: the sha256:AB:CD:... echoctl serve --tls prints (openssl x509 -fingerprint -sha256 prints it too)')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'The name to ask for (SNI) and to check in the server''s certificate; by default the host connected to (localhost for a Unix socket)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Present this PEM certificate chain to a server that asks for one (mutual TLS); with --tls-key')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color the logs on stderr')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON instead of a table')
            [CompletionResult]::new('--allow-faults', '--allow-faults', [CompletionResultType]::ParameterName, 'Pass the run when what arrived was right or the damage is what faults do (see above): for a client''s test against echoctl serve --fault')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Speak TLS to the server, checking its certificate against the system''s trusted roots (or as the options below say)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not check the server''s certificate at all (a warning says so on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Log only errors, not the warning that too few files can be open for --connections')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Log only errors, not the warning that too few files can be open for --connections')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more: -v adds how far the open-files limit was raised, -vv internal detail')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more: -v adds how far the open-files limit was raised, -vv internal detail')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'echoctl;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the reverb server (the book''s reverb1 or reverb2), or its plain echo')
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Connect to a reverb (or any echo) server: stdin goes to it, its echoes come to stdout')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell to stdout')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Replay the book''s two sessions: a real server and client over loopback TCP')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Load a reverb server with many connections and check every echo, byte for byte')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'echoctl;help;serve' {
            break
        }
        'echoctl;help;connect' {
            break
        }
        'echoctl;help;completions' {
            break
        }
        'echoctl;help;demo' {
            break
        }
        'echoctl;help;bench' {
            break
        }
        'echoctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
