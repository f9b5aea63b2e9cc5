//! A connection watched from outside (`serve --trace`, `--hex-dump`): what it read, took and
//! wrote, told as it happens to the trace (through a [`ServerRecorder`], the records its
//! [`SessionTrace`](echoctl_core::trace::SessionTrace) follows) and to the hex dump.
//!
//! A connection of a server that is not watched has none of this, and pays nothing for it but
//! the check that it is not there.

use std::sync::Arc;

use tokio::time::Instant;

use echoctl_core::hexdump::Direction;
use echoctl_core::trace::{ServerRecorder, Side};

use super::peer::Peer;
use crate::observe::{Dumping, HexDump, SessionEvents, TraceFile};

/// What watches the server's connections: a trace, a hex dump, both or neither.
#[derive(Default, Clone)]
pub struct Observe {
    pub(crate) trace: Option<Arc<TraceFile>>,
    pub(crate) dump: Option<Arc<HexDump>>,
}

impl Observe {
    pub(crate) fn is_on(&self) -> bool {
        self.trace.is_some() || self.dump.is_some()
    }

    /// The observer of a connection with `peer`, opened now; `plain` for the plain echo, whose
    /// trace shows chunks rather than shouts. `None` when nothing watches.
    pub(crate) fn connection(&self, peer: &Peer, plain: bool) -> Option<Observer> {
        if !self.is_on() {
            return None;
        }
        let name = peer.to_string();
        let trace = self
            .trace
            .as_ref()
            .filter(|file| file.is_recording())
            .map(|file| ConnectionTrace {
                // On the server's clock: its connections lie side by side.
                events: SessionEvents::open(
                    file.clone(),
                    file.origin(),
                    file.next_pid(),
                    Side::Server,
                    &name,
                ),
                recorder: ServerRecorder::new(),
                plain,
            });
        let dump = self.dump.clone().map(|dump| Dumping::new(dump, name));
        Some(Observer { trace, dump })
    }
}

/// One connection's observer; see the module docs.
pub(crate) struct Observer {
    trace: Option<ConnectionTrace>,
    dump: Option<Dumping>,
}

struct ConnectionTrace {
    events: SessionEvents,
    recorder: ServerRecorder,
    plain: bool,
}

impl Observer {
    /// `bytes` were read at `now`.
    pub(crate) fn read(&mut self, now: Instant, bytes: &[u8]) {
        if let Some(dump) = &mut self.dump {
            dump.chunk(now, Direction::Received, bytes);
        }
        if let Some(trace) = &mut self.trace {
            if trace.plain {
                trace.events.bytes(now, true, bytes.len());
            } else {
                trace.recorder.read(trace.events.at(now), bytes);
            }
        }
    }

    /// The client ended its input, seen at `now`.
    pub(crate) fn end_of_input(&mut self, now: Instant) {
        if let Some(trace) = &mut self.trace {
            trace.events.input_ended(trace.recorder.recording(), now);
        }
    }

    /// The session took `shout` at `now`.
    pub(crate) fn shout(&mut self, now: Instant, shout: &[u8]) {
        if let Some(trace) = &mut self.trace {
            trace.recorder.shout(trace.events.at(now), shout);
        }
    }

    /// `bytes` were written at `now`.
    pub(crate) fn wrote(&mut self, now: Instant, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(dump) = &mut self.dump {
            dump.chunk(now, Direction::Sent, bytes);
        }
        if let Some(trace) = &mut self.trace {
            if trace.plain {
                trace.events.bytes(now, false, bytes.len());
            } else {
                trace.recorder.wrote(trace.events.at(now), bytes);
            }
        }
    }

    /// Writes what happened since the last time to the trace: once a turn of the connection's
    /// loop. Once the trace stops recording, this connection's part of it is let go.
    pub(crate) fn flush(&mut self) {
        let Some(trace) = &mut self.trace else {
            return;
        };
        if !trace.events.recording() {
            self.trace = None;
            return;
        }
        trace.events.follow(trace.recorder.recording());
    }

    /// The connection closed at `now`, for `reason`.
    pub(crate) fn closed(&mut self, now: Instant, reason: &str) {
        if let Some(trace) = &mut self.trace {
            trace.recorder.closed(trace.events.at(now));
            trace.events.close(trace.recorder.recording(), now, reason);
        }
    }
}
