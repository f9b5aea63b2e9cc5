//! The book's two sessions as scripts, and the director that plays one against a live server.
//!
//! This module is pure: the director is handed each echo and the time, and answers with what to
//! print and send; it never sleeps and does no I/O. [`rehearse`] plays a script against the
//! server's own session under a fake clock, to check the order and to say how long a session
//! takes.
//!
//! # Why the order holds
//!
//! Every step waits for a *cue*, a particular echo, and happens half a delay after it (the
//! rhythm of the page), never at a fixed time since the start. A line only printed cannot be
//! overtaken: an echo arriving first performs it at once ([`Director::heard`]). reverb1's sends
//! cannot change what comes back when: the sequential server reads a line only after the last
//! echo of the one before, and TCP keeps order. `^D` waits for the last echo.
//!
//! The one race is reverb2's second shout ([`Act::Enter`]): its loud echo must come between the
//! first shout's middle echo (1 delay) and its quiet one (2 delays). The send waits for the
//! middle echo, and the server writes echoes by deadline, so only "before 2 delays" depends on
//! time: the send's lateness and the round trips must fit in what is left of the delay. So that
//! pause, alone, never leaves less than [`RACE_MARGIN`] (or the whole delay, when shorter).

mod rehearsal;

use std::time::Duration;

use crate::config::Mode;
use crate::echo::Voice;

pub use rehearsal::{Rehearsal, rehearse};

/// What happens when a cue is heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// At the start of the session, at once.
    Start,
    /// Half a delay after this echo (its text, without the wire's TAB and space) arrives.
    Heard(&'static str),
}

/// What the person at the client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Types a line and presses Enter: it is printed and sent.
    Say(&'static str),
    /// Types a line without pressing Enter yet: it is printed only.
    Type(&'static str),
    /// Presses Enter on the line typed before: it is sent, nothing is printed.
    Enter(&'static str),
    /// Presses Ctrl-D: `^D` is printed and the input ends.
    EndInput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub cue: Cue,
    pub act: Act,
}

/// One of the book's sessions.
#[derive(Debug, PartialEq, Eq)]
pub struct Script {
    pub mode: Mode,
    pub steps: &'static [Step],
}

/// The least time an [`Act::Enter`] leaves before the echo it must beat, when the delay allows:
/// more than a busy machine's scheduling hiccups, less than a person would notice.
pub const RACE_MARGIN: Duration = Duration::from_millis(150);

/// The text the terminal shows for Ctrl-D.
pub const END_OF_INPUT: &str = "^D";

const fn step(cue: Cue, act: Act) -> Step {
    Step { cue, act }
}

/// reverb1's session: each shout waits for the previous one's echoes to finish.
pub const SEQUENTIAL: Script = Script {
    mode: Mode::Sequential,
    steps: &[
        step(Cue::Start, Act::Say("Hello?")),
        step(Cue::Heard("hello?"), Act::Say("Is there anybody there?")),
        step(
            Cue::Heard("IS THERE ANYBODY THERE?"),
            Act::Say("Yooo-hooo!"),
        ),
        step(Cue::Heard("yooo-hooo!"), Act::EndInput),
    ],
};

/// reverb2's session: the second shout is echoed while the first still is.
pub const CONCURRENT: Script = Script {
    mode: Mode::Concurrent,
    steps: &[
        step(Cue::Start, Act::Say("Is there anybody there?")),
        step(
            Cue::Heard("IS THERE ANYBODY THERE?"),
            Act::Type("Yooo-hooo!"),
        ),
        step(
            Cue::Heard("Is there anybody there?"),
            Act::Enter("Yooo-hooo!"),
        ),
        step(Cue::Heard("yooo-hooo!"), Act::EndInput),
    ],
};

impl Script {
    /// The book's session in `mode`.
    ///
    /// # Panics
    ///
    /// For [`Mode::Plain`]: the book shows no plain-echo session, and the demo plays none.
    pub fn for_mode(mode: Mode) -> &'static Script {
        match mode {
            Mode::Sequential => &SEQUENTIAL,
            Mode::Concurrent => &CONCURRENT,
            Mode::Plain => unreachable!("the demo plays no plain-echo session"),
        }
    }

    /// The lines sent to the server, in order.
    pub fn shouts(&self) -> impl Iterator<Item = &'static str> + '_ {
        shouts_in(self.steps)
    }

    /// How many echo lines the session hears: three per shout.
    pub fn echo_count(&self) -> usize {
        self.shouts().count() * Voice::ALL.len()
    }

    /// Which voice an echo is, if it is one of this script's shouts'.
    pub fn voice_of(&self, echo: &str) -> Option<Voice> {
        self.shouts().find_map(|shout| {
            // The original first: a shout already in upper case is heard as itself.
            [Voice::Original, Voice::Upper, Voice::Lower]
                .into_iter()
                .find(|voice| voice.text(shout.as_bytes()) == echo.as_bytes())
        })
    }
}

/// What the director asks the I/O around it to do, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Print a line the client typed (or `^D`), flush left.
    ShowTyped(&'static str),
    /// Print an echo, given as its text without the wire's TAB and space.
    ShowEcho(String),
    /// Send this line to the server; the newline is the I/O's to add.
    Send(&'static str),
    /// End the client's input: the server sees end of file.
    EndInput,
}

/// The lines `steps` send to the server.
fn shouts_in(steps: &[Step]) -> impl Iterator<Item = &'static str> + '_ {
    steps.iter().filter_map(|step| match step.act {
        Act::Say(line) | Act::Enter(line) => Some(line),
        Act::Type(_) | Act::EndInput => None,
    })
}

/// How far a session has got, for the progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub shouts_sent: usize,
    pub shouts_total: usize,
    pub echoes_heard: usize,
    pub echoes_total: usize,
}

/// Plays a script: told of each echo and of the time, it says what to print and send, and when
/// it next wants to be woken. Times are offsets from the start of the session.
#[derive(Debug)]
pub struct Director {
    script: &'static Script,
    delay: Duration,
    /// Index of the next step to perform.
    next: usize,
    /// When the next step is to be performed, once its cue has come.
    due: Option<Duration>,
    echoes_heard: usize,
}

impl Director {
    pub fn new(script: &'static Script, delay: Duration) -> Director {
        Director {
            script,
            delay,
            next: 0,
            due: None,
            echoes_heard: 0,
        }
    }

    /// Begins the session at `now` and performs the steps cued by the start.
    pub fn start(&mut self, now: Duration) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.cue_start(now);
        self.perform_due(now, &mut effects);
        effects
    }

    /// When the next step should be performed, if its cue has come.
    pub fn due(&self) -> Option<Duration> {
        self.due
    }

    /// Performs the steps whose time has come by `now`.
    pub fn tick(&mut self, now: Duration) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.perform_due(now, &mut effects);
        effects
    }

    /// An echo with text `echo` has arrived at `now`.
    ///
    /// A step already cued is performed first even if its time has not come: its line belongs
    /// before this echo on the page, and a late timer must not be able to swap them.
    pub fn heard(&mut self, echo: &str, now: Duration) -> Vec<Effect> {
        let mut effects = Vec::new();
        while self.due.is_some() {
            self.perform_next(now, &mut effects);
        }
        self.echoes_heard += 1;
        effects.push(Effect::ShowEcho(echo.to_string()));
        if let Some(step) = self.script.steps.get(self.next)
            && matches!(step.cue, Cue::Heard(cue) if cue == echo)
        {
            self.due = Some(now + self.pause_before(step.act));
        }
        effects
    }

    /// Whether every step has been performed.
    pub fn finished(&self) -> bool {
        self.next >= self.script.steps.len()
    }

    pub fn tally(&self) -> Tally {
        Tally {
            shouts_sent: shouts_in(&self.script.steps[..self.next]).count(),
            shouts_total: self.script.shouts().count(),
            echoes_heard: self.echoes_heard,
            echoes_total: self.script.echo_count(),
        }
    }

    /// How long after its cue a step is performed; see the module docs.
    fn pause_before(&self, act: Act) -> Duration {
        let half = self.delay / 2;
        match act {
            Act::Enter(_) => half.min(self.delay.saturating_sub(RACE_MARGIN)),
            Act::Say(_) | Act::Type(_) | Act::EndInput => half,
        }
    }

    fn cue_start(&mut self, now: Duration) {
        if let Some(step) = self.script.steps.get(self.next)
            && step.cue == Cue::Start
        {
            self.due = Some(now);
        }
    }

    fn perform_due(&mut self, now: Duration, effects: &mut Vec<Effect>) {
        while self.due.is_some_and(|due| due <= now) {
            self.perform_next(now, effects);
        }
    }

    fn perform_next(&mut self, now: Duration, effects: &mut Vec<Effect>) {
        self.due = None;
        let Some(step) = self.script.steps.get(self.next) else {
            return;
        };
        self.next += 1;
        match step.act {
            Act::Say(line) => {
                effects.push(Effect::ShowTyped(line));
                effects.push(Effect::Send(line));
            }
            Act::Type(line) => effects.push(Effect::ShowTyped(line)),
            Act::Enter(line) => effects.push(Effect::Send(line)),
            Act::EndInput => {
                effects.push(Effect::ShowTyped(END_OF_INPUT));
                effects.push(Effect::EndInput);
            }
        }
        self.cue_start(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_late_timer_cannot_put_a_typed_line_after_the_next_echo() {
        let delay = ms(100);
        let mut director = Director::new(&CONCURRENT, delay);
        director.start(ms(0));
        assert_eq!(
            director.heard("IS THERE ANYBODY THERE?", ms(0)),
            [Effect::ShowEcho("IS THERE ANYBODY THERE?".into())]
        );
        assert_eq!(director.due(), Some(ms(50)));
        // The timer has not fired when the next echo arrives: the typed line still goes first.
        assert_eq!(
            director.heard("Is there anybody there?", ms(40)),
            [
                Effect::ShowTyped("Yooo-hooo!"),
                Effect::ShowEcho("Is there anybody there?".into())
            ]
        );
        assert_eq!(
            director.due(),
            Some(ms(40)),
            "Enter is cued by that echo, at once at 100ms"
        );
    }

    #[test]
    fn steps_wait_for_their_cue_not_for_the_clock() {
        let mut director = Director::new(&SEQUENTIAL, ms(100));
        assert_eq!(
            director.start(ms(0)),
            [Effect::ShowTyped("Hello?"), Effect::Send("Hello?")]
        );
        assert_eq!(director.due(), None);
        assert!(director.tick(ms(10_000)).is_empty(), "no cue, no step");
        director.heard("HELLO?", ms(10_000));
        director.heard("Hello?", ms(10_100));
        assert_eq!(director.due(), None, "only hello? cues the next shout");
        director.heard("hello?", ms(10_200));
        assert_eq!(director.due(), Some(ms(10_250)));
        assert!(director.tick(ms(10_249)).is_empty());
        assert_eq!(
            director.tick(ms(10_250)),
            [
                Effect::ShowTyped("Is there anybody there?"),
                Effect::Send("Is there anybody there?")
            ]
        );
    }

    #[test]
    fn end_of_input_comes_last_and_finishes_the_script() {
        let mut director = Director::new(&CONCURRENT, ms(100));
        director.start(ms(0));
        for (at, echo) in [
            (0, "IS THERE ANYBODY THERE?"),
            (100, "Is there anybody there?"),
            (150, "YOOO-HOOO!"),
            (200, "is there anybody there?"),
            (250, "Yooo-hooo!"),
            (350, "yooo-hooo!"),
        ] {
            director.tick(ms(at));
            director.heard(echo, ms(at));
        }
        assert!(!director.finished());
        assert_eq!(
            director.tick(ms(400)),
            [Effect::ShowTyped(END_OF_INPUT), Effect::EndInput]
        );
        assert!(director.finished());
        assert_eq!(
            director.tally(),
            Tally {
                shouts_sent: 2,
                shouts_total: 2,
                echoes_heard: 6,
                echoes_total: 6
            }
        );
    }

    #[test]
    fn echoes_are_told_apart_by_voice() {
        assert_eq!(SEQUENTIAL.voice_of("HELLO?"), Some(Voice::Upper));
        assert_eq!(SEQUENTIAL.voice_of("Hello?"), Some(Voice::Original));
        assert_eq!(SEQUENTIAL.voice_of("hello?"), Some(Voice::Lower));
        assert_eq!(CONCURRENT.voice_of("yooo-hooo!"), Some(Voice::Lower));
        assert_eq!(CONCURRENT.voice_of("something else"), None);
    }

    #[test]
    fn scripts_count_their_shouts_and_echoes() {
        assert_eq!(SEQUENTIAL.echo_count(), 9);
        assert_eq!(
            CONCURRENT.shouts().collect::<Vec<_>>(),
            ["Is there anybody there?", "Yooo-hooo!"]
        );
        assert_eq!(Script::for_mode(Mode::Concurrent), &CONCURRENT);
    }
}
