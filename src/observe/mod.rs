//! Watching sessions from outside: `--trace` writes their events to a file in the Trace Event
//! format, `--hex-dump` every chunk of their bytes.
//!
//! What the events and the rows are is the core's ([`echoctl_core::trace`],
//! [`echoctl_core::hexdump`]); this is their files. A [`TraceFile`] is shared by every session
//! of the process and written as the events come, each batch in one write, so a process killed
//! with SIGKILL leaves a file that lacks only its closing `]`; it stops recording at its bound,
//! `--trace-max`, with one log line. A [`HexDump`] is a file, or stderr, shared alike; each
//! chunk's header and rows go out in one write, so connections do not interleave within a chunk.
//! [`Tapped`] puts a client's stream under a dump.

mod tap;

pub(crate) use tap::Tapped;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;

use echoctl_core::hexdump::{self, Direction};
use echoctl_core::timeline::Recording;
use echoctl_core::trace::{Event, Framed, Framing, SessionTrace, Side};

/// The default of `--trace-max`.
pub(crate) const DEFAULT_TRACE_MAX: &str = "64MiB";

/// Where a command writes its trace, and how large the file may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceOptions {
    pub path: PathBuf,
    pub max: u64,
}

/// A trace file being written; see the module docs.
#[derive(Debug)]
pub(crate) struct TraceFile {
    path: PathBuf,
    /// The trace's clock starts here (the server's; a client's sessions keep their own).
    origin: Instant,
    file: Mutex<Written>,
    recording: AtomicBool,
    next_pid: AtomicU32,
}

#[derive(Debug)]
struct Written {
    file: File,
    framing: Framing,
    bytes: Vec<u8>,
    /// The closing `]` is written.
    ended: bool,
}

impl TraceFile {
    /// Creates (or empties) the file at once, so that a path that cannot be written fails before
    /// anything runs.
    pub(crate) fn create(options: &TraceOptions) -> anyhow::Result<Arc<TraceFile>> {
        let path = &options.path;
        let file = File::create(path).with_context(|| {
            format!(
                "cannot create the trace {}; give a path in a writable directory",
                path.display()
            )
        })?;
        Ok(Arc::new(TraceFile {
            path: path.clone(),
            origin: Instant::now(),
            file: Mutex::new(Written {
                file,
                framing: Framing::new(options.max),
                bytes: Vec::new(),
                ended: false,
            }),
            recording: AtomicBool::new(true),
            next_pid: AtomicU32::new(1),
        }))
    }

    /// When the trace's clock started.
    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    /// `now` on the trace's clock.
    pub(crate) fn since_start(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.origin)
    }

    /// A process id for the next session: each its own, from 1.
    pub(crate) fn next_pid(&self) -> u32 {
        self.next_pid.fetch_add(1, Relaxed)
    }

    /// Whether events are still taken: false once the bound is reached or the file ended.
    pub(crate) fn is_recording(&self) -> bool {
        self.recording.load(Relaxed)
    }

    /// Appends `events`, in one write.
    pub(crate) fn write(&self, events: &[Event]) {
        if events.is_empty() || !self.is_recording() {
            return;
        }
        let now = self.since_start(Instant::now());
        let mut written = self.lock();
        let Written {
            file,
            framing,
            bytes,
            ..
        } = &mut *written;
        bytes.clear();
        let framed = framing.frame(now, events, bytes);
        if framed == Framed::Stopped {
            self.recording.store(false, Relaxed);
            tracing::warn!(
                "the trace {} reached --trace-max ({}): recording stopped; its last event says so",
                self.path.display(),
                echoctl_core::size::format(
                    usize::try_from(framing.written()).unwrap_or(usize::MAX)
                )
            );
        }
        if let Err(e) = file.write_all(bytes) {
            self.failed(&e);
        }
    }

    /// Ends the file with its `]`: nothing more is recorded.
    pub(crate) fn finish(&self) {
        let mut written = self.lock();
        let Written {
            file,
            framing,
            bytes,
            ended,
        } = &mut *written;
        if std::mem::replace(ended, true) {
            return;
        }
        bytes.clear();
        framing.end(bytes);
        self.recording.store(false, Relaxed);
        if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_data()) {
            self.failed(&e);
        }
    }

    fn failed(&self, e: &io::Error) {
        if self.recording.swap(false, Relaxed) {
            tracing::warn!(
                "cannot write the trace {}: {e}; recording stopped",
                self.path.display()
            );
        }
    }

    fn lock(&self) -> MutexGuard<'_, Written> {
        // A panic elsewhere while it was held leaves whole events behind it.
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One session's part of a trace: its [`SessionTrace`] following its recording, the events
/// written as they come. A session dropped before it was closed (the demo interrupted) closes
/// its slices then, so that the file stays whole.
pub(crate) struct SessionEvents {
    file: Arc<TraceFile>,
    /// The session's clock, the one its recording's times count from.
    clock: Instant,
    session: SessionTrace,
    /// Events not yet written.
    events: Vec<Event>,
    closed: bool,
}

impl SessionEvents {
    /// Opens session `pid`, called `title`, in `file`, now, its times counted from `clock`.
    pub(crate) fn open(
        file: Arc<TraceFile>,
        clock: Instant,
        pid: u32,
        side: Side,
        title: &str,
    ) -> SessionEvents {
        let mut events = Vec::new();
        let at = Instant::now().saturating_duration_since(clock);
        let session = SessionTrace::open(pid, side, title, at, &mut events);
        file.write(&events);
        events.clear();
        SessionEvents {
            file,
            clock,
            session,
            events,
            closed: false,
        }
    }

    /// `now` on the session's clock.
    pub(crate) fn at(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.clock)
    }

    /// Whether the trace still records: once it stops, the session may be let go.
    pub(crate) fn recording(&self) -> bool {
        self.file.is_recording()
    }

    /// Writes the events of what `recording` holds beyond what was followed before.
    pub(crate) fn follow(&mut self, recording: &Recording) {
        self.session.follow(recording, &mut self.events);
        self.write();
    }

    /// The peer ended its input at `now`.
    pub(crate) fn input_ended(&mut self, recording: &Recording, now: Instant) {
        let at = self.at(now);
        self.session.input_ended(recording, at, &mut self.events);
    }

    /// The plain echo's chunk of `len` bytes, read (or written) at `now`; written with the
    /// next [`SessionEvents::follow`].
    pub(crate) fn bytes(&mut self, now: Instant, read: bool, len: usize) {
        let at = self.at(now);
        self.session.bytes(at, read, len, &mut self.events);
    }

    /// The session closed at `now`, for `reason`, after what `recording` holds.
    pub(crate) fn close(&mut self, recording: &Recording, now: Instant, reason: &str) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let at = self.at(now);
        self.session.close(recording, at, reason, &mut self.events);
        self.write();
    }

    fn write(&mut self) {
        self.file.write(&self.events);
        self.events.clear();
    }
}

impl Drop for SessionEvents {
    fn drop(&mut self) {
        // What was recorded was followed as it came: only the slices still open are left.
        self.close(&Recording::new(), Instant::now(), "stopped");
    }
}

/// Where `--hex-dump` writes: `-` for stderr, or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DumpTo {
    Stderr,
    File(PathBuf),
}

impl DumpTo {
    pub(crate) fn from_arg(path: &Path) -> DumpTo {
        if path.as_os_str() == "-" {
            DumpTo::Stderr
        } else {
            DumpTo::File(path.to_path_buf())
        }
    }
}

/// A hex dump being written; see the module docs.
pub(crate) struct HexDump {
    origin: Instant,
    out: Mutex<Box<dyn Write + Send>>,
    failed: AtomicBool,
}

impl HexDump {
    /// Opens where the dump goes (a file is created, or emptied, at once).
    pub(crate) fn create(to: &DumpTo) -> anyhow::Result<Arc<HexDump>> {
        let out: Box<dyn Write + Send> = match to {
            DumpTo::Stderr => Box::new(io::stderr()),
            DumpTo::File(path) => Box::new(File::create(path).with_context(|| {
                format!(
                    "cannot create the hex dump {}; give a path in a writable directory, or - \
                     for stderr",
                    path.display()
                )
            })?),
        };
        Ok(Arc::new(HexDump {
            origin: Instant::now(),
            out: Mutex::new(out),
            failed: AtomicBool::new(false),
        }))
    }

    /// Dumps a chunk of `bytes`, gone in `direction` at `now`, `offset` bytes into that
    /// direction of the connection with `peer`.
    fn chunk(&self, now: Instant, peer: &str, direction: Direction, offset: u64, bytes: &[u8]) {
        if self.failed.load(Relaxed) {
            return;
        }
        let at = now.saturating_duration_since(self.origin);
        let mut text = String::new();
        hexdump::chunk(&mut text, at, peer, direction, offset, bytes);
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
            && !self.failed.swap(true, Relaxed)
        {
            tracing::warn!("cannot write the hex dump: {e}; dumping stopped");
        }
    }
}

/// One connection's part of a [`HexDump`]: its peer, and how far each direction has got.
pub(crate) struct Dumping {
    dump: Arc<HexDump>,
    peer: String,
    sent: u64,
    received: u64,
}

impl Dumping {
    pub(crate) fn new(dump: Arc<HexDump>, peer: String) -> Dumping {
        Dumping {
            dump,
            peer,
            sent: 0,
            received: 0,
        }
    }

    /// Dumps `bytes`, gone in `direction` at `now` (nothing when there are none).
    pub(crate) fn chunk(&mut self, now: Instant, direction: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let offset = match direction {
            Direction::Sent => &mut self.sent,
            Direction::Received => &mut self.received,
        };
        self.dump.chunk(now, &self.peer, direction, *offset, bytes);
        *offset += bytes.len() as u64;
    }
}
