//! The client's side of a demo session as a person at the screen sees it: the shouts typed, and
//! the client's output read line by line through a client session, which records both.

use std::collections::VecDeque;
use std::io;

use tokio::io::{AsyncReadExt, DuplexStream};
use tokio::time::Instant;

use crate::observe::SessionEvents;
use echoctl_core::client::{ClientSession, Settings};

/// A line of the client's output, as it came off the wire (its `\n` included, if it had one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Heard {
    pub(super) wire: Vec<u8>,
    /// When the read that completed it returned: the line's arrival, as near as the client sees.
    read_at: Instant,
}

/// The client's side as a person at the screen sees it: the shouts typed, and the client's output
/// read line by line through a client session, which records both.
pub(super) struct Screen {
    pipe: DuplexStream,
    pub(super) session: ClientSession,
    chunk: Box<[u8]>,
    /// Lines split from the reads so far and not yet handed out.
    heard: VecDeque<Heard>,
    ended: bool,
    /// The session's events, written as they come (`--trace`).
    pub(super) trace: Option<SessionEvents>,
}

impl Screen {
    /// Read size: the echoes of one session are a few dozen short lines.
    const CHUNK: usize = 8 * 1024;

    /// The screen of a session started at `started`.
    pub(super) fn new(pipe: DuplexStream, started: Instant) -> Screen {
        let settings = Settings {
            record: true,
            wait: None,
        };
        Screen {
            pipe,
            session: ClientSession::new(started, settings),
            chunk: vec![0; Self::CHUNK].into_boxed_slice(),
            heard: VecDeque::new(),
            ended: false,
            trace: None,
        }
    }

    /// The next line, or `None` once the pipe has ended. Safe to cancel (a timer firing first
    /// loses nothing): bytes are split into lines as soon as a read returns them.
    pub(super) async fn next_line(&mut self) -> io::Result<Option<Heard>> {
        loop {
            if let Some(line) = self.heard.pop_front() {
                return Ok(Some(line));
            }
            if self.ended {
                return Ok(None);
            }
            let read = self.pipe.read(&mut self.chunk).await?;
            let read_at = Instant::now();
            let heard = &mut self.heard;
            let keep = |line: &[u8], _| {
                heard.push_back(Heard {
                    wire: line.to_vec(),
                    read_at,
                })
            };
            if read == 0 {
                self.ended = true;
                // How the session ended is the relay's to say: this only reads its output.
                let _ = self.session.server_closed(read_at, keep);
            } else {
                self.session.receive(read_at, &self.chunk[..read], keep);
            }
            self.follow();
        }
    }

    /// `shout` typed now: noted, and what the keyboard sends for it returned.
    pub(super) fn typed(&mut self, shout: &str) -> Vec<u8> {
        let typed = self.session.typed(Instant::now(), shout.as_bytes());
        self.follow();
        typed
    }

    /// Writes the events of what was typed and heard since the last time.
    fn follow(&mut self) {
        if let Some(trace) = &mut self.trace {
            trace.follow(self.session.recording());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::time::timeout;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_screen_hands_out_whole_lines_and_a_cut_read_loses_nothing() {
        let (mut client_output, pipe) = tokio::io::duplex(64);
        let start = Instant::now();
        let mut screen = Screen::new(pipe, start);
        let heard = |wire: &[u8], after: Duration| Heard {
            wire: wire.to_vec(),
            read_at: start + after,
        };
        client_output.write_all(b"\t HELLO\n\t Hel").await.unwrap();
        assert_eq!(
            screen.next_line().await.unwrap(),
            Some(heard(b"\t HELLO\n", Duration::ZERO))
        );
        // Nothing whole is waiting: the read is abandoned, keeping the start of the line.
        let abandoned = timeout(Duration::from_secs(1), screen.next_line()).await;
        assert!(abandoned.is_err(), "{abandoned:?}");
        client_output
            .write_all(b"lo\r\n\t HI\n\t hello")
            .await
            .unwrap();
        drop(client_output);
        // The abandoned read took a second; another passes before the next read. Each line is
        // timed by the read that completed it, however long it then waits to be handed out.
        tokio::time::advance(Duration::from_secs(1)).await;
        let completed = Duration::from_secs(2);
        assert_eq!(
            screen.next_line().await.unwrap(),
            Some(heard(b"\t Hello\r\n", completed))
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            screen.next_line().await.unwrap(),
            Some(heard(b"\t HI\n", completed))
        );
        let ended = Duration::from_secs(3);
        assert_eq!(
            screen.next_line().await.unwrap(),
            Some(heard(b"\t hello", ended))
        );
        assert_eq!(screen.next_line().await.unwrap(), None);
        assert_eq!(screen.next_line().await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_screen_records_what_was_typed_and_shown_on_the_sessions_clock() {
        let (mut client_output, pipe) = tokio::io::duplex(64);
        let start = Instant::now();
        let mut screen = Screen::new(pipe, start);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            screen.typed("Hello?"),
            b"Hello?\n",
            "what the keyboard sends"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        client_output.write_all(b"\t HELLO?\n").await.unwrap();
        drop(client_output);
        assert!(screen.next_line().await.unwrap().is_some());
        assert_eq!(screen.next_line().await.unwrap(), None);
        let recording = screen.session.recording();
        let shouts: Vec<_> = recording
            .shouts()
            .iter()
            .map(|s| (s.at, &s.text[..]))
            .collect();
        assert_eq!(shouts, [(Duration::from_secs(1), &b"Hello?"[..])]);
        let lines: Vec<_> = recording
            .lines()
            .iter()
            .map(|l| (l.at, &l.text[..]))
            .collect();
        assert_eq!(lines, [(Duration::from_secs(2), &b"HELLO?"[..])]);
    }
}
