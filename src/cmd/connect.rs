use std::io::IsTerminal;
use std::time::Duration;

use crate::client::interactive::{self, InteractiveOptions};
use crate::client::{self, ConnectOptions, RelayOptions, SessionEnd, SessionTracer};
use crate::color::{ColorChoice, ColorEnv, use_color};
use crate::exit::{ExitError, ExitStatus};
use crate::net;
use crate::observe::{Dumping, HexDump, SessionEvents, Tapped, TraceFile};
use crate::signals;
use crate::term;
use crate::timeline;
use crate::tls::{ClientTls, Trust};
use echoctl_core::address::{Address, HostPort};
use echoctl_core::client::Settings;
use echoctl_core::client::datagrams::DatagramSession;
use echoctl_core::plural::counted;
use echoctl_core::timeline::{self as model, Axis, Recording, Timeline};
use echoctl_core::trace::Side;
use tokio::time::Instant;

/// The tick step of a chart whose delay could not be estimated (no shout got two echoes).
const UNKNOWN_DELAY: Duration = Duration::from_secs(1);

pub(super) async fn run(options: ConnectOptions, color: ColorChoice) -> anyhow::Result<ExitStatus> {
    if let Address::Udp(host_port) = &options.addr {
        return run_udp(host_port, &options, color).await;
    }
    let env = ColorEnv::from_process();
    // The line editor draws on stderr (reedline's choice, so that stdout stays output): all three
    // must be the terminal, or the session would be drawn half in a file.
    let terminal = std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal();
    // A dumb terminal cannot move the cursor: there, as with --raw, bytes are relayed as they come.
    let interactive = terminal && !options.raw && term::can_redraw();
    let mut interrupted = std::pin::pin!(signals::stop_signal());
    // Before connecting: a path that cannot be written fails before the server sees anything.
    let trace = options.trace.as_ref().map(TraceFile::create).transpose()?;
    let dump = options.hex_dump.as_ref().map(HexDump::create).transpose()?;

    // Checked before connecting: a CA file that cannot be read is the user's to fix first.
    let tls = options
        .tls
        .as_ref()
        .map(|tls| ClientTls::new(tls, &options.addr))
        .transpose()?;
    if options
        .tls
        .as_ref()
        .is_some_and(|tls| tls.trust == Trust::Anything)
    {
        crate::tls::client::warn_insecure();
    }
    let stream = tokio::select! {
        stream = net::connect_to(&options.addr, options.connect_timeout) => stream?,
        _ = &mut interrupted => return Ok(ExitStatus::Interrupted),
    };
    let origin = stream
        .peer_name()
        .unwrap_or_else(|| options.addr.to_string());
    tracing::debug!("connected to {origin}");
    let stream = match tls {
        None => stream,
        // The handshake's time is bounded as the connect's is.
        Some(tls) => tokio::select! {
            made = tls.connect(stream, options.connect_timeout) => {
                let tls_stream = made?;
                tracing::debug!("TLS: {}", crate::tls::describe(&tls_stream, "server"));
                net::Stream::Tls(Box::new(tls_stream))
            }
            _ = &mut interrupted => return Ok(ExitStatus::Interrupted),
        },
    };
    // Tapped above the TLS session: the dump shows the bytes the session reads and writes.
    let stream = Tapped::new(stream, dump.map(|dump| Dumping::new(dump, origin.clone())));
    let started = Instant::now();
    let session = client::shared_session(
        started,
        Settings {
            record: interactive || options.timestamps || options.timeline || trace.is_some(),
            wait: options.wait,
        },
    );
    let tracer = trace.clone().map(|file| {
        let title = format!("connect to {origin}");
        let events = SessionEvents::open(file, started, 1, Side::Client, &title);
        SessionTracer::start(events, session.clone())
    });

    let ended = if interactive {
        let shown = InteractiveOptions {
            origin,
            color: use_color(color, true, &env),
            timestamps: options.timestamps,
        };
        interactive::run(stream, &shown, session.clone(), &mut interrupted).await
    } else {
        let relayed = RelayOptions {
            timestamps: options.timestamps,
        };
        let relay = client::relay_with(
            stream,
            tokio::io::stdin(),
            tokio::io::stdout(),
            relayed,
            session.clone(),
        );
        tokio::select! {
            ended = relay => ended,
            _ = &mut interrupted => Ok(SessionEnd::Interrupted),
        }
    };

    if let Some(tracer) = tracer {
        let reason = match &ended {
            Ok(end) => why(end),
            Err(e) => format!("{e:#}"),
        };
        tracer.finish(&session, &reason);
    }
    if let Some(trace) = trace {
        trace.finish();
    }
    let recording = || client::lock(&session).recording().clone();
    conclude(ended, &options, interactive, recording, color, &env)
}

/// `connect udp:HOST:PORT`: the datagram relay, on a terminal too (no line editor: each line
/// is sent as it is entered).
async fn run_udp(
    host_port: &HostPort,
    options: &ConnectOptions,
    color: ColorChoice,
) -> anyhow::Result<ExitStatus> {
    let env = ColorEnv::from_process();
    let mut interrupted = std::pin::pin!(signals::stop_signal());
    let (socket, others) = tokio::select! {
        connected = net::connect_udp(host_port) => connected?,
        _ = &mut interrupted => return Ok(ExitStatus::Interrupted),
    };
    tracing::debug!("sending to udp:{}", socket.peer_addr()?);
    let mut session = DatagramSession::new(
        tokio::time::Instant::now(),
        options.timestamps || options.timeline,
        options.wait,
    );
    let ended = {
        let target = client::udp::Target {
            addr: &options.addr,
            socket,
            others,
            timestamps: options.timestamps,
        };
        let relay = client::udp::relay(
            target,
            tokio::io::stdin(),
            tokio::io::stdout(),
            &mut session,
        );
        tokio::select! {
            ended = relay => ended,
            _ = &mut interrupted => Ok(SessionEnd::Interrupted),
        }
    };
    conclude(
        ended,
        options,
        false,
        || session.recording().clone(),
        color,
        &env,
    )
}

/// The exit status of a session that ended so, its timeline drawn first if asked for.
fn conclude(
    ended: anyhow::Result<SessionEnd>,
    options: &ConnectOptions,
    interactive: bool,
    recording: impl FnOnce() -> Recording,
    color: ColorChoice,
    env: &ColorEnv,
) -> anyhow::Result<ExitStatus> {
    let end = match ended {
        Ok(end) => end,
        Err(e) => {
            tracing::debug!("session ended: {e:#}");
            if options.timeline {
                draw_timeline(&recording(), color, env);
            }
            return Err(e);
        }
    };
    tracing::debug!("session ended: {}", why(&end));
    if options.timeline && end != SessionEnd::Interrupted {
        draw_timeline(&recording(), color, env);
    }
    let udp = options.addr.is_udp();
    match end {
        SessionEnd::ServerClosed | SessionEnd::EchoesArrived => Ok(ExitStatus::Success),
        // A reverb server closes first only when it is stopped, or closes this client for
        // its own reasons (it then sends a notice, which is the case below).
        SessionEnd::ServerClosedFirst => Err(anyhow::anyhow!(
            "the server closed the connection before the end of input"
        )),
        // On a terminal the notice was shown in the session, as the server's line: once is
        // enough. Piped, stdout may be a file: stderr says it again.
        SessionEnd::Notice(_) if interactive => Ok(ExitStatus::ServerNotice),
        SessionEnd::Notice(notice) => {
            Err(ExitError::new(ExitStatus::ServerNotice, notice_message(&notice)).into())
        }
        SessionEnd::WaitExpired { owed } => Err(ExitError::new(
            ExitStatus::WaitExpired,
            wait_message(options.wait, owed, udp),
        )
        .into()),
        SessionEnd::Interrupted => Ok(ExitStatus::Interrupted),
    }
}

/// For `-v`: why the session ended.
fn why(end: &SessionEnd) -> String {
    match end {
        SessionEnd::ServerClosed => {
            "the server closed the connection after the end of input".into()
        }
        SessionEnd::ServerClosedFirst => "the server closed the connection first".into(),
        SessionEnd::Notice(notice) => notice_message(notice),
        SessionEnd::WaitExpired { owed } => {
            format!("--wait ran out with {} owed", counted(*owed, "echo"))
        }
        SessionEnd::EchoesArrived => "every echo owed arrived after the end of input".into(),
        SessionEnd::Interrupted => "interrupted".into(),
    }
}

/// The server's notice, said again on stderr: `the server ended the session: server is full
/// (1 connection); try again later` (its own `echoctl: ` prefix is not repeated).
fn notice_message(notice: &[u8]) -> String {
    let text = model::label(notice);
    let text = text.strip_prefix("echoctl: ").unwrap_or(&text);
    format!("the server ended the session: {text}")
}

fn wait_message(wait: Option<Duration>, owed: u64, udp: bool) -> String {
    let waited = wait.map_or_else(String::new, |wait| {
        format!(" {}", echoctl_core::duration::format(wait))
    });
    let s = if owed == 1 { "" } else { "es" };
    if udp {
        let are = if owed == 1 { "is" } else { "are" };
        return format!(
            "nothing arrived for --wait{waited} after the end of input, and {owed} echo{s} {are} \
             still missing (lost, or the server is not an echo)"
        );
    }
    format!(
        "the server had not closed the connection --wait{waited} after the end of input \
         ({} still owed)",
        counted(owed, "echo")
    )
}

/// The session's chart on stderr, if it sent any shout.
fn draw_timeline(recording: &Recording, color: ColorChoice, env: &ColorEnv) {
    if recording.shouts().is_empty() {
        return;
    }
    let delay = recording
        .estimate_delay()
        .map_or(UNKNOWN_DELAY, echoctl_core::duration::round_estimate);
    let chart = Timeline::new(recording, None, delay);
    let axis = Axis::common(&[&chart], Duration::ZERO);
    let stderr = console::Term::stderr();
    let width = stderr
        .size_checked()
        .map_or(timeline::terminal::DEFAULT_WIDTH, |(_, columns)| {
            usize::from(columns)
        });
    let options = timeline::terminal::Options {
        width,
        color: use_color(color, std::io::stderr().is_terminal(), env),
    };
    eprint!("{}", timeline::terminal::render(&chart, &axis, options));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_said_once_without_the_servers_prefix() {
        assert_eq!(
            notice_message(b"echoctl: server is full (1 connection); try again later"),
            "the server ended the session: server is full (1 connection); try again later"
        );
        assert_eq!(
            notice_message(b"bye\x1b[2J"),
            "the server ended the session: bye\u{241b}[2J"
        );
        assert_eq!(
            wait_message(Some(Duration::from_secs(3)), 2, true),
            "nothing arrived for --wait 3s after the end of input, and 2 echoes are still \
             missing (lost, or the server is not an echo)"
        );
        assert_eq!(
            wait_message(Some(Duration::from_secs(2)), 1, false),
            "the server had not closed the connection --wait 2s after the end of input \
             (1 echo still owed)"
        );
    }
}
