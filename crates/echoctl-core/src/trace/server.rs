//! What a server did on one connection, recorded from what passed through it, for its trace.

use std::time::Duration;

use crate::lines::LineSplitter;
use crate::timeline::Recording;

/// One connection of the server, as a [`Recording`]: the lines that came in (each newline read),
/// the shouts it took and the lines it wrote, each when it happened. The server's connection
/// tells it the bytes read and written and the shouts its session takes; [`SessionTrace`]
/// follows the recording.
///
/// [`SessionTrace`]: super::SessionTrace
#[derive(Debug)]
pub struct ServerRecorder {
    recording: Recording,
    /// What was written, split into lines: a fault may cut one line into several writes.
    written: LineSplitter,
}

impl Default for ServerRecorder {
    fn default() -> Self {
        ServerRecorder::new()
    }
}

impl ServerRecorder {
    pub fn new() -> ServerRecorder {
        ServerRecorder {
            recording: Recording::new(),
            // The server's own lines: no longer than its --max-line and the echo's framing.
            written: LineSplitter::new(usize::MAX),
        }
    }

    /// `bytes` were read at `at`: every line they end came in then.
    pub fn read(&mut self, at: Duration, bytes: &[u8]) {
        for _ in memchr::memchr_iter(b'\n', bytes) {
            self.recording.arrived(at);
        }
    }

    /// The session took `shout` (without its line end) at `at`.
    pub fn shout(&mut self, at: Duration, shout: &[u8]) {
        self.recording.sent(at, shout);
    }

    /// `bytes` were written at `at`: every line they end was written then.
    pub fn wrote(&mut self, at: Duration, bytes: &[u8]) {
        let recording = &mut self.recording;
        self.written
            .split_chunk(bytes, |line| recording.received_line(at, line));
    }

    /// The connection closed at `at`: a last line written without its `\n` counts too.
    pub fn closed(&mut self, at: Duration) {
        let recording = &mut self.recording;
        self.written
            .split_end(|line| recording.received_line(at, line));
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }
}
