use std::io::IsTerminal;
use std::time::Duration;

use crate::client::interactive::{self, InteractiveOptions};
use crate::client::{self, ConnectOptions, RelayOptions, SessionEnd};
use crate::color::{ColorChoice, ColorEnv, use_color};
use crate::exit::{ExitError, ExitStatus};
use crate::net;
use crate::signals;
use crate::term;
use crate::timeline;
use echoctl_core::address::{Address, HostPort};
use echoctl_core::client::Settings;
use echoctl_core::client::datagrams::DatagramSession;
use echoctl_core::timeline::{self as model, Axis, Recording, Timeline};

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

    let stream = tokio::select! {
        stream = net::connect_to(&options.addr, options.connect_timeout) => stream?,
        _ = &mut interrupted => return Ok(ExitStatus::Interrupted),
    };
    let origin = stream
        .peer_name()
        .unwrap_or_else(|| options.addr.to_string());
    tracing::debug!("connected to {origin}");
    let session = client::shared_session(Settings {
        record: interactive || options.timestamps || options.timeline,
        wait: options.wait,
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

    let recording = || client::lock(&session).recording().clone();
    conclude(ended, &options, recording, color, &env)
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
    conclude(ended, options, || session.recording().clone(), color, &env)
}

/// The exit status of a session that ended so, its timeline drawn first if asked for.
fn conclude(
    ended: anyhow::Result<SessionEnd>,
    options: &ConnectOptions,
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
        SessionEnd::WaitExpired { owed } => format!("--wait ran out with {owed} echoes owed"),
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
         ({owed} echo{s} still owed)"
    )
}

/// The session's chart on stderr, if it sent any shout.
fn draw_timeline(recording: &Recording, color: ColorChoice, env: &ColorEnv) {
    if recording.shouts().is_empty() {
        return;
    }
    let delay = recording
        .estimate_delay()
        .map_or(UNKNOWN_DELAY, round_estimate);
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

/// An estimated delay to two significant digits, at least a millisecond: the server's delay is
/// a round number, and the estimate (the smallest gap between two voices) is a little off it.
fn round_estimate(estimate: Duration) -> Duration {
    let micros = estimate.as_micros();
    if micros < 1_000 {
        return estimate;
    }
    let mut unit = 1_000u128;
    while micros / unit >= 100 {
        unit *= 10;
    }
    let rounded = (micros + unit / 2) / unit * unit;
    Duration::from_micros(u64::try_from(rounded).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimated_delay_is_rounded_to_what_a_server_is_given() {
        let ms = Duration::from_millis;
        assert_eq!(round_estimate(Duration::from_micros(699_378)), ms(700));
        assert_eq!(round_estimate(Duration::from_micros(249_600)), ms(250));
        assert_eq!(round_estimate(Duration::from_micros(1_003_000)), ms(1000));
        assert_eq!(round_estimate(Duration::from_micros(55_200)), ms(55));
        assert_eq!(round_estimate(Duration::from_micros(9_600)), ms(10));
        assert_eq!(
            round_estimate(Duration::from_micros(300)),
            Duration::from_micros(300)
        );
    }

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
