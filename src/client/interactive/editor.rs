//! The line editor: reedline on a thread of its own, handing the session each line typed, and
//! told to give the terminal back through its break signal.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reedline::{ExternalPrinter, Prompt, PromptEditMode, PromptHistorySearch, Reedline, Signal};
use tokio::sync::mpsc;

use crate::paint::Painter;

/// The prompt, before what is typed.
const PROMPT: &str = "> ";

/// How often the editor looks for lines to print (and for the break signal) while it waits for
/// a key: short enough that an echo shows as it arrives.
const EDITOR_POLL: Duration = Duration::from_millis(10);

/// How long the editor may take to notice the break signal and give the terminal back.
const EDITOR_STOP: Duration = Duration::from_secs(2);

/// What the editor thread hands to the session.
#[derive(Debug)]
pub(super) enum Typed {
    Line(String),
    /// Ctrl-D on an empty line.
    End,
    /// Ctrl-C.
    Interrupt,
    /// The break signal was seen: the editor has given the terminal back.
    Stopped,
    Failed(io::Error),
}

/// Starts the editor's thread: it reads lines until Ctrl-D, Ctrl-C or the break signal.
pub(super) fn start_editor(
    color: bool,
    printer: ExternalPrinter<String>,
    breaker: Arc<AtomicBool>,
    typed: mpsc::UnboundedSender<Typed>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("line editor".to_string())
        .spawn(move || {
            let mut editor = Reedline::create()
                .with_external_printer(printer)
                .with_break_signal(breaker)
                .with_poll_interval(EDITOR_POLL)
                .with_ansi_colors(color)
                .use_kitty_keyboard_enhancement(false);
            let prompt = LinePrompt {
                indicator: Painter::new(color).faint(PROMPT),
            };
            let edited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                loop {
                    let line = match editor.read_line(&prompt) {
                        Ok(Signal::Success(line)) => Typed::Line(line),
                        Ok(Signal::CtrlD) => Typed::End,
                        Ok(Signal::CtrlC) => Typed::Interrupt,
                        Ok(Signal::ExternalBreak(_)) => Typed::Stopped,
                        Ok(_) => continue,
                        Err(e) => Typed::Failed(e),
                    };
                    let last = !matches!(line, Typed::Line(_));
                    if typed.send(line).is_err() || last {
                        return;
                    }
                }
            }));
            if edited.is_err() {
                // The editor panicked with the terminal raw: it is given back here.
                let _ = crossterm::terminal::disable_raw_mode();
                let _ = typed.send(Typed::Failed(io::Error::other("the line editor panicked")));
            }
        })
        .map(drop)
}

/// Sets the editor's break signal when dropped.
pub(super) struct BreakOnDrop(pub(super) Arc<AtomicBool>);

impl Drop for BreakOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Asks the editor to return and waits (a bounded time) until it has given the terminal back.
pub(super) async fn stop_editor(breaker: &AtomicBool, typed: &mut mpsc::UnboundedReceiver<Typed>) {
    breaker.store(true, Ordering::SeqCst);
    let _ = tokio::time::timeout(EDITOR_STOP, async {
        while let Some(Typed::Line(_)) = typed.recv().await {
            // A line entered as the session ended: the server is gone, it cannot be sent.
        }
    })
    .await;
}

/// `> `, dimmed, and nothing else.
struct LinePrompt {
    indicator: String,
}

impl Prompt for LinePrompt {
    fn render_prompt_left(&self) -> std::borrow::Cow<'_, str> {
        "".into()
    }

    fn render_prompt_right(&self) -> std::borrow::Cow<'_, str> {
        "".into()
    }

    fn render_prompt_indicator(&self, _mode: PromptEditMode) -> std::borrow::Cow<'_, str> {
        self.indicator.as_str().into()
    }

    fn render_prompt_multiline_indicator(&self) -> std::borrow::Cow<'_, str> {
        "".into()
    }

    fn render_prompt_history_search_indicator(
        &self,
        search: PromptHistorySearch,
    ) -> std::borrow::Cow<'_, str> {
        format!("(search: {}) ", search.term).into()
    }
}
