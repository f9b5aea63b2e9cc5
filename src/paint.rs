//! How the demo's lines look: the book's page, with color when it is wanted.
//!
//! Pure: strings in, strings out. With color off every line is exactly the book's: typed lines
//! flush left, the server's indented by four spaces (the book's print indents them so; the wire's
//! TAB and space are not shown). With color on, the indent stays and the voices fade: the loud
//! echo bright cyan and bold, the original plain cyan, the quiet one dim cyan, so the eye sees
//! who speaks and how the voice dies away.

use std::time::Duration;

use owo_colors::{OwoColorize, Style};

use echoctl_core::config::{DEFAULT_DELAY, Mode};
use echoctl_core::echo::Voice;

/// Indent of the server's lines on the page.
const INDENT: &str = "    ";

/// The two shell lines that open a session: how the book starts its server and client, here
/// with echoctl's commands. `--delay` appears only when it is not the default, so the commands
/// shown would replay the session shown.
pub(crate) fn header(mode: Mode, delay: Duration) -> [String; 2] {
    let delay = if delay == DEFAULT_DELAY {
        String::new()
    } else {
        format!(" --delay {}", echoctl_core::duration::format(delay))
    };
    [
        format!("$ echoctl serve --mode {mode}{delay} &"),
        "$ echoctl connect".to_string(),
    ]
}

/// How long after its shout an echo arrived, to the millisecond: `+1.002s`.
pub(crate) fn elapsed(after: Duration) -> String {
    format!("+{:.3}s", after.as_secs_f64())
}

/// A voice's color and strength, the server's cyan fading from loud to quiet; an echo whose
/// voice is not known is plain cyan. Shared with the timeline's marks, so both fade alike.
pub(crate) fn voice_style(voice: Option<Voice>) -> Style {
    let server = Style::new().cyan();
    match voice {
        Some(Voice::Upper) => Style::new().bright_cyan().bold(),
        Some(Voice::Original) | None => server,
        Some(Voice::Lower) => server.dimmed(),
    }
}

/// How lines are painted: no escapes at all when color is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Painter {
    color: bool,
}

impl Painter {
    pub(crate) fn new(color: bool) -> Painter {
        Painter { color }
    }

    /// A header line, dimmed.
    pub(crate) fn header(&self, line: &str) -> String {
        self.paint(line, Style::new().dimmed())
    }

    /// A line the client typed, flush left and bold, as a person's input stands out.
    pub(crate) fn typed(&self, line: &str) -> String {
        self.paint(line, Style::new().bold())
    }

    /// An echo, indented, in the server's color and its voice's strength. An echo whose voice is
    /// not known (not one of the script's shouts) is shown plain, in the server's color.
    pub(crate) fn echo(&self, text: &str, voice: Option<Voice>) -> String {
        format!("{INDENT}{}", self.paint(text, voice_style(voice)))
    }

    /// An echo line that matches none of the shouts sent: indented, uncolored, since its voice
    /// is not known.
    pub(crate) fn unattributed(&self, text: &str) -> String {
        format!("{INDENT}{text}")
    }

    /// A line from the server that is not an echo (its notices: `server is full`, `idle`, `line
    /// longer than`), flush left, in yellow and prefixed by who said it, so it is never taken for
    /// an echo.
    pub(crate) fn notice(&self, origin: &str, text: &str) -> String {
        self.paint(&format!("{origin}: {text}"), Style::new().yellow())
    }

    /// How long after its shout was sent an echo arrived, dimmed: `+1.002s`.
    pub(crate) fn elapsed(&self, after: Duration) -> String {
        self.paint(&elapsed(after), Style::new().dimmed())
    }

    /// A prompt or a passing status line, dimmed.
    pub(crate) fn faint(&self, text: &str) -> String {
        self.paint(text, Style::new().dimmed())
    }

    fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_the_commands_that_would_replay_the_session() {
        assert_eq!(
            header(Mode::Sequential, DEFAULT_DELAY),
            [
                "$ echoctl serve --mode sequential &".to_string(),
                "$ echoctl connect".to_string()
            ]
        );
        assert_eq!(
            header(Mode::Concurrent, Duration::from_millis(250))[0],
            "$ echoctl serve --mode concurrent --delay 250ms &"
        );
    }

    #[test]
    fn without_color_lines_are_the_books() {
        let plain = Painter::new(false);
        assert_eq!(plain.typed("Hello?"), "Hello?");
        assert_eq!(plain.header("$ echoctl connect"), "$ echoctl connect");
        for voice in [
            Some(Voice::Upper),
            Some(Voice::Original),
            Some(Voice::Lower),
            None,
        ] {
            assert_eq!(plain.echo("HELLO?", voice), "    HELLO?");
        }
    }

    #[test]
    fn a_live_sessions_lines_keep_the_indent_and_stand_apart() {
        let plain = Painter::new(false);
        assert_eq!(plain.unattributed("HI THERE"), "    HI THERE");
        assert_eq!(
            plain.notice("127.0.0.1:8000", "echoctl: server is full"),
            "127.0.0.1:8000: echoctl: server is full"
        );
        assert_eq!(plain.elapsed(Duration::from_millis(1002)), "+1.002s");
        assert_eq!(elapsed(Duration::from_micros(2_500_400)), "+2.500s");
        assert_eq!(plain.faint("> "), "> ");

        let color = Painter::new(true);
        assert_eq!(
            color.unattributed("HI"),
            "    HI",
            "uncolored: its voice is not known"
        );
        let notice = color.notice("[::1]:8000", "echoctl: idle");
        assert!(sgr_codes(&notice).contains(&YELLOW), "{notice:?}");
        assert!(
            !notice.starts_with(' '),
            "never indented like an echo: {notice:?}"
        );
        assert!(sgr_codes(&color.elapsed(Duration::ZERO)).contains(&DIM));
        assert!(sgr_codes(&color.faint("> ")).contains(&DIM));
    }

    /// The SGR parameters a painted line sets: `ESC [ 96;1 m` gives 96 and 1.
    fn sgr_codes(line: &str) -> Vec<u32> {
        line.split("\x1b[")
            .skip(1)
            .filter_map(|rest| rest.split_once('m'))
            .flat_map(|(codes, _)| codes.split(';').map(|code| code.parse().unwrap()))
            .collect()
    }

    const BOLD: u32 = 1;
    const DIM: u32 = 2;
    const YELLOW: u32 = 33;

    #[test]
    fn with_color_voices_fade_and_the_indent_stays_plain() {
        let color = Painter::new(true);
        let upper = color.echo("HELLO?", Some(Voice::Upper));
        let original = color.echo("Hello?", Some(Voice::Original));
        let lower = color.echo("hello?", Some(Voice::Lower));
        for line in [&upper, &original, &lower] {
            assert!(line.starts_with("    \x1b["), "{line:?}");
        }
        assert!(sgr_codes(&upper).contains(&BOLD), "loud: {upper:?}");
        assert!(!sgr_codes(&original).contains(&BOLD), "{original:?}");
        assert!(!sgr_codes(&original).contains(&DIM), "{original:?}");
        assert!(sgr_codes(&lower).contains(&DIM), "quiet: {lower:?}");
        let typed = color.typed("Hello?");
        assert!(sgr_codes(&typed).contains(&BOLD), "{typed:?}");
        assert!(typed.contains("Hello?"));
        assert!(sgr_codes(&color.header("$ echoctl connect")).contains(&DIM));
    }
}
