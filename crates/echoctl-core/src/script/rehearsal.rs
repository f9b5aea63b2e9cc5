//! A script played against the server's own session, under a fake clock: the proof that the
//! book's order holds, and how long a session takes.
//!
//! No sockets and no latency: the client's sends reach the [`Session`] at once, and each echo
//! line it writes is heard at once. The session is the real code the server runs for every
//! connection, so these tests check the server's schedule, not a model of it.

use std::time::Duration;

use tokio::time::Instant;

use super::{Director, Effect, Script};
use crate::config::ServerConfig;
use crate::echo::echo_text;
use crate::lines::{DEFAULT_MAX_LINE, LineSplitter};
use crate::session::{Session, Settings};

/// A script played against the server's session: what it prints, does and hears, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rehearsal {
    /// Every effect with its time, in order.
    pub timeline: Vec<(Duration, Effect)>,
    /// When the session ends: the server closes as soon as the input has ended and no echo is
    /// owed.
    pub duration: Duration,
}

impl Rehearsal {
    /// What the demo prints without color: the book's page, the server's lines indented by four
    /// spaces.
    pub fn transcript(&self) -> Vec<String> {
        self.timeline
            .iter()
            .filter_map(|(_, effect)| match effect {
                Effect::ShowTyped(line) => Some(line.to_string()),
                Effect::ShowEcho(text) => Some(format!("    {text}")),
                _ => None,
            })
            .collect()
    }
}

/// Plays `script` against the session of a server with the demo's settings, from time zero.
pub fn rehearse(script: &'static Script, delay: Duration) -> Rehearsal {
    let config = ServerConfig {
        mode: script.mode,
        delay,
        ..ServerConfig::default()
    };
    let mut server = Session::new(Settings::from(&config));
    let mut director = Director::new(script, delay);
    // What the server writes, split into the lines the client hears.
    let mut heard_lines = LineSplitter::new(DEFAULT_MAX_LINE);
    // Any base will do: only offsets from it are ever looked at.
    let start = Instant::now();
    let mut now = Duration::ZERO;
    let mut timeline = Vec::new();
    let mut effects = director.start(now);
    loop {
        perform(effects, now, &mut server, &mut timeline);
        // The server's turn: every echo due is heard at once, and whatever the client does on
        // hearing one reaches the server before it is asked again.
        loop {
            let mut written = Vec::new();
            server.advance(start + now, &mut written, |_, _| {});
            if written.is_empty() {
                break;
            }
            heard_lines.split_chunk(&written, |line| {
                let heard = director.heard(&echo_text(line), now);
                perform(heard, now, &mut server, &mut timeline);
            });
        }
        if server.end().is_some() {
            break;
        }
        let server_wakes = server.next_wake().map(|wake| wake - start);
        // At a tie the client goes first: it acts on what it has already seen.
        effects = match (director.due(), server_wakes) {
            (Some(step), None) => {
                now = step;
                director.tick(now)
            }
            (Some(step), Some(wake)) if step <= wake => {
                now = step;
                director.tick(now)
            }
            (_, Some(wake)) => {
                now = wake;
                Vec::new()
            }
            (None, None) => break,
        };
    }
    Rehearsal {
        timeline,
        duration: now,
    }
}

/// Records `effects` at `now`, and hands what the client sends to the server.
fn perform(
    effects: Vec<Effect>,
    now: Duration,
    server: &mut Session,
    timeline: &mut Vec<(Duration, Effect)>,
) {
    for effect in effects {
        match &effect {
            Effect::Send(line) => {
                server.receive(line.as_bytes());
                server.receive(b"\n");
            }
            Effect::EndInput => server.end_of_input(),
            Effect::ShowTyped(_) | Effect::ShowEcho(_) => {}
        }
        timeline.push((now, effect));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{CONCURRENT, RACE_MARGIN, SEQUENTIAL};

    /// SPEC's reverb1 transcript.
    const SEQUENTIAL_TRANSCRIPT: &str = "\
Hello?
    HELLO?
    Hello?
    hello?
Is there anybody there?
    IS THERE ANYBODY THERE?
Yooo-hooo!
    Is there anybody there?
    is there anybody there?
    YOOO-HOOO!
    Yooo-hooo!
    yooo-hooo!
^D
";

    /// SPEC's reverb2 transcript.
    const CONCURRENT_TRANSCRIPT: &str = "\
Is there anybody there?
    IS THERE ANYBODY THERE?
Yooo-hooo!
    Is there anybody there?
    YOOO-HOOO!
    is there anybody there?
    Yooo-hooo!
    yooo-hooo!
^D
";

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const DELAYS: [u64; 7] = [10, 20, 100, 200, 300, 1000, 1234];

    #[test]
    fn the_sequential_script_replays_reverb1_at_any_delay() {
        for delay in DELAYS.map(ms) {
            let run = rehearse(&SEQUENTIAL, delay);
            assert_eq!(
                run.transcript(),
                lines(SEQUENTIAL_TRANSCRIPT),
                "delay {delay:?}"
            );
            assert_eq!(
                run.duration,
                delay * 7,
                "last echo at 6.5 delays, ^D half a delay on"
            );
        }
    }

    #[test]
    fn the_concurrent_script_replays_reverb2_at_any_delay() {
        for delay in DELAYS.map(ms) {
            let run = rehearse(&CONCURRENT, delay);
            assert_eq!(
                run.transcript(),
                lines(CONCURRENT_TRANSCRIPT),
                "delay {delay:?}"
            );
        }
        assert_eq!(rehearse(&CONCURRENT, ms(1000)).duration, ms(4000));
    }

    #[test]
    fn typed_lines_come_half_a_delay_after_their_cue_and_before_the_next_echo() {
        // Only the rhythm of the page: the order does not depend on it.
        for script in [&SEQUENTIAL, &CONCURRENT] {
            for delay in DELAYS.map(ms) {
                let run = rehearse(script, delay);
                for (index, (at, effect)) in run.timeline.iter().enumerate() {
                    let Effect::ShowTyped(line) = effect else {
                        continue;
                    };
                    let own_echo = Effect::ShowEcho(line.to_uppercase());
                    let echo_time = |&(time, ref effect): &(Duration, Effect)| {
                        (matches!(effect, Effect::ShowEcho(_)) && *effect != own_echo)
                            .then_some(time)
                    };
                    let before = run.timeline[..index].iter().rev().find_map(echo_time);
                    let after = run.timeline[index..].iter().find_map(echo_time);
                    if let Some(before) = before {
                        assert_eq!(*at - before, delay / 2, "{line}, delay {delay:?}");
                    }
                    if let Some(after) = after {
                        assert!(after - *at >= delay / 2, "{line}, delay {delay:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_racing_send_leaves_a_wide_margin_before_the_echo_it_must_beat() {
        for delay in DELAYS.map(ms) {
            let run = rehearse(&CONCURRENT, delay);
            let at = |wanted: &Effect| {
                let found = run.timeline.iter().position(|(_, effect)| effect == wanted);
                let index = found.unwrap_or_else(|| panic!("no {wanted:?}"));
                (index, run.timeline[index].0)
            };
            let (middle, middle_at) = at(&Effect::ShowEcho("Is there anybody there?".into()));
            let (send, send_at) = at(&Effect::Send("Yooo-hooo!"));
            let (_, quiet_at) = at(&Effect::ShowEcho("is there anybody there?".into()));
            assert!(send > middle, "sent only after the middle echo is heard");
            assert_eq!(middle_at, delay);
            let margin = quiet_at - send_at;
            assert!(margin >= delay / 2, "delay {delay:?}: margin {margin:?}");
            assert!(
                margin >= RACE_MARGIN.min(delay),
                "delay {delay:?}: margin {margin:?}"
            );
        }
        // At the default delay the page keeps the book's rhythm: Enter half a delay after the cue.
        let run = rehearse(&CONCURRENT, ms(1000));
        assert!(
            run.timeline
                .contains(&(ms(1500), Effect::Send("Yooo-hooo!")))
        );
    }
}
