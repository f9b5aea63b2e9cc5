//! Sessions as a trace: the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and
//! `chrome://tracing` open.
//!
//! # The file
//!
//! The format's JSON array form: `[`, the events, each an object with `name`, `cat`, `ph` (what
//! kind of event), `ts` (microseconds), `pid` and `tid` (the track), and for some an `id`, a scope
//! `s` or `args`; then `]`. [`Framing`] writes it as the events come, one event a line, the
//! comma before each event rather than after it, so a file cut short (a process killed with
//! SIGKILL) lacks only its closing `]`: both viewers open it as it is, and a JSON parser once
//! `]` is appended. It is bounded: once the next events would take the file past its limit
//! (`--trace-max`), one last event says recording stopped, and nothing more is framed.
//!
//! # What a session looks like
//!
//! [`SessionTrace`] turns one session's [`Recording`](crate::timeline::Recording), the records
//! the timeline charts are drawn from, into events as the records come in. A session is a
//! process (named after its peer, or the demo's mode) with these tracks:
//!
//! * **connection**: when it opened and closed (and why), lines that echo no shout (the server's
//!   notices), and in the plain echo each chunk read and written;
//! * **echo lines written** (the server) or **heard** (a client): an instant per echo line,
//!   named by its voice (`loud`, `as sent`, `quiet`), with the shout and the line in its `args`
//!   (and, for the bench, how late it was);
//! * **shouts 1**, **shouts 2**, ...: a slice per shout, from the moment it was read (or sent)
//!   to its last echo, each shout on the first of these tracks free when it starts, so shouts
//!   that overlap (reverb2's) lie on tracks of their own and are seen to overlap. Before it, a
//!   "waiting to be read" slice when the server had the line before it read it (a sequential
//!   server with two lines in one read); in a client's view, a "waiting for the loud echo" slice
//!   inside it, from the send to the first echo.
//!
//! A flow arrow (`s` to `f`) runs from each shout's slice to each of its echoes; echoes that
//! never came (the connection closed first) have theirs end at the close.

mod server;
mod session;

pub use server::ServerRecorder;
pub use session::{SessionTrace, Side};

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

/// One event of a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub name: String,
    pub cat: &'static str,
    pub ph: Phase,
    /// Since the trace's start, written in microseconds.
    #[serde(serialize_with = "microseconds")]
    pub ts: Duration,
    pub pid: u32,
    pub tid: u32,
    /// Flow events: which start an end belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Instants: the track they are drawn on.
    #[serde(rename = "s", skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub args: Map<String, Value>,
}

/// What kind of event, as `ph` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// A slice begins on its track.
    #[serde(rename = "B")]
    Begin,
    /// The slice begun last on its track ends.
    #[serde(rename = "E")]
    End,
    /// A moment.
    #[serde(rename = "i")]
    Instant,
    /// A flow arrow starts, from the slice open on its track.
    #[serde(rename = "s")]
    FlowStart,
    /// A flow arrow ends, at the next slice on its track (an instant at the same time).
    #[serde(rename = "f")]
    FlowEnd,
    /// Names a process or a track.
    #[serde(rename = "M")]
    Metadata,
}

/// Where an instant is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    /// On its thread's track.
    #[serde(rename = "t")]
    Thread,
    /// Across the whole trace.
    #[serde(rename = "g")]
    Global,
}

fn microseconds<S: serde::Serializer>(ts: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(ts.as_nanos() as f64 / 1000.0)
}

impl Event {
    fn new(name: impl Into<String>, cat: &'static str, ph: Phase, ts: Duration) -> Event {
        Event {
            name: name.into(),
            cat,
            ph,
            ts,
            pid: 0,
            tid: 0,
            id: None,
            scope: None,
            args: Map::new(),
        }
    }

    fn on(mut self, pid: u32, tid: u32) -> Event {
        self.pid = pid;
        self.tid = tid;
        self
    }

    fn arg(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.args.insert(key.to_string(), value.into());
        self
    }

    /// Names process `pid` (`process_name`) or its track `tid` (`thread_name`).
    fn metadata(kind: &str, name: &str, ts: Duration, pid: u32, tid: u32) -> Event {
        Event::new(kind, "__metadata", Phase::Metadata, ts)
            .on(pid, tid)
            .arg("name", name)
    }

    fn instant(name: impl Into<String>, cat: &'static str, ts: Duration) -> Event {
        let mut event = Event::new(name, cat, Phase::Instant, ts);
        event.scope = Some(Scope::Thread);
        event
    }

    fn flow(ph: Phase, id: u64, ts: Duration) -> Event {
        let mut event = Event::new("echo", "echo", ph, ts);
        event.id = Some(id);
        event
    }

    /// The event as one line of JSON, without a line end.
    pub fn to_json(&self) -> String {
        // Every field is a string, a number or a map with string keys: this cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Microseconds, for an event's `args`, to the nanosecond.
fn micros(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1000.0
}

/// The longest label a slice or an instant is given: a shout may be 64 KiB long.
const LONGEST_LABEL: usize = 80;

/// `bytes` as a label (see [`crate::escape::label`]), cut to [`LONGEST_LABEL`] characters.
fn short_label(bytes: &[u8]) -> String {
    let label = crate::escape::label(bytes);
    match label.char_indices().nth(LONGEST_LABEL) {
        Some((cut, _)) => format!("{}…", &label[..cut]),
        None => label,
    }
}

/// Room kept for the event that says recording stopped, and the file's end.
const ROOM_TO_STOP: u64 = 512;

/// A trace file's bytes as events come: the array form, each event on a line of its own, and
/// bounded (see the module docs). Pure: it hands back the bytes to append; the caller writes them.
#[derive(Debug, Clone)]
pub struct Framing {
    max: u64,
    written: u64,
    stopped: bool,
}

/// What became of the events handed to [`Framing::frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed {
    /// They are in the bytes to append.
    Taken,
    /// They would have taken the file past its limit: the bytes to append are the last event,
    /// which says recording stopped. Nothing more is taken.
    Stopped,
    /// Recording had stopped before: nothing to append.
    Off,
}

impl Framing {
    /// The smallest limit: room for a few events and the one that says recording stopped.
    pub const LEAST_MAX: u64 = 4096;

    /// A file of at most `max` bytes, closing `]` included (at least [`Framing::LEAST_MAX`]).
    pub fn new(max: u64) -> Framing {
        Framing {
            max: max.max(Framing::LEAST_MAX),
            written: 0,
            stopped: false,
        }
    }

    /// Appends to `out` what puts `events` in the file, at `now` (the time the last event, if it
    /// comes to that, is given).
    pub fn frame(&mut self, now: Duration, events: &[Event], out: &mut Vec<u8>) -> Framed {
        if self.stopped {
            return Framed::Off;
        }
        let start = out.len();
        let mut first = self.written == 0;
        for event in events {
            Framing::separate(&mut first, out);
            out.extend_from_slice(event.to_json().as_bytes());
        }
        let taken = (out.len() - start) as u64;
        if self.written + taken + ROOM_TO_STOP <= self.max {
            self.written += taken;
            return Framed::Taken;
        }
        out.truncate(start);
        let mut first = self.written == 0;
        Framing::separate(&mut first, out);
        let mut stop = Event::instant("trace stopped: --trace-max reached", "trace", now)
            .arg("max_bytes", self.max);
        stop.scope = Some(Scope::Global);
        out.extend_from_slice(stop.to_json().as_bytes());
        self.written += (out.len() - start) as u64;
        self.stopped = true;
        Framed::Stopped
    }

    /// Appends to `out` the file's end, `]` (after `[` when no event was framed).
    pub fn end(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        if self.written == 0 {
            out.extend_from_slice(b"[");
        }
        out.extend_from_slice(b"\n]\n");
        self.written += (out.len() - start) as u64;
        self.stopped = true;
    }

    /// Whether recording has stopped (the limit was reached, or the file ended).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The bytes framed so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Before each event: `[` before the first, `,` before the others, each on a new line.
    fn separate(first: &mut bool, out: &mut Vec<u8>) {
        out.extend_from_slice(if *first { b"[\n" } else { b",\n" });
        *first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn an_event_is_one_line_of_json_in_the_formats_field_names() {
        let event = Event::instant("loud", "echo", Duration::from_nanos(1_500_250))
            .on(3, 2)
            .arg("shout", 1);
        assert_eq!(
            event.to_json(),
            r#"{"name":"loud","cat":"echo","ph":"i","ts":1500.25,"pid":3,"tid":2,"s":"t","args":{"shout":1}}"#
        );
        let flow = Event::flow(Phase::FlowEnd, 7, Duration::ZERO).on(1, 2);
        assert_eq!(
            flow.to_json(),
            r#"{"name":"echo","cat":"echo","ph":"f","ts":0.0,"pid":1,"tid":2,"id":7}"#
        );
    }

    #[test]
    fn a_file_cut_short_lacks_only_its_end() {
        let mut framing = Framing::new(1 << 20);
        let mut file = Vec::new();
        let event = |n: u64| Event::instant("x", "t", MS * n as u32).on(1, 1);
        assert_eq!(
            framing.frame(MS, &[event(1), event(2)], &mut file),
            Framed::Taken
        );
        assert_eq!(framing.frame(MS, &[], &mut file), Framed::Taken);
        assert_eq!(framing.frame(MS, &[event(3)], &mut file), Framed::Taken);
        let cut = String::from_utf8(file.clone()).unwrap();
        assert_eq!(
            cut,
            "[\n{\"name\":\"x\",\"cat\":\"t\",\"ph\":\"i\",\"ts\":1000.0,\"pid\":1,\"tid\":1,\"s\":\"t\"},\n\
             {\"name\":\"x\",\"cat\":\"t\",\"ph\":\"i\",\"ts\":2000.0,\"pid\":1,\"tid\":1,\"s\":\"t\"},\n\
             {\"name\":\"x\",\"cat\":\"t\",\"ph\":\"i\",\"ts\":3000.0,\"pid\":1,\"tid\":1,\"s\":\"t\"}"
        );
        let parsed: Value = serde_json::from_str(&(cut + "]")).unwrap();
        assert_eq!(parsed.as_array().map(Vec::len), Some(3));
        framing.end(&mut file);
        let whole: Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(whole.as_array().map(Vec::len), Some(3));
        assert_eq!(framing.written(), file.len() as u64);

        let mut empty = Vec::new();
        Framing::new(1 << 20).end(&mut empty);
        assert_eq!(empty, b"[\n]\n");
    }

    #[test]
    fn past_its_limit_a_file_says_recording_stopped_and_takes_nothing_more() {
        let mut framing = Framing::new(Framing::LEAST_MAX);
        let mut file = Vec::new();
        let event = Event::instant("x".repeat(100), "t", MS).on(1, 1);
        let mut taken = 0;
        while framing.frame(MS * 2, std::slice::from_ref(&event), &mut file) == Framed::Taken {
            taken += 1;
        }
        assert!(taken > 10, "{taken}");
        assert!(framing.stopped());
        assert_eq!(framing.frame(MS * 3, &[event], &mut file), Framed::Off);
        framing.end(&mut file);
        assert!(file.len() as u64 <= Framing::LEAST_MAX, "{}", file.len());
        let events: Vec<Value> = serde_json::from_slice(&file).unwrap();
        assert_eq!(events.len(), taken + 1);
        let last = &events[taken];
        assert_eq!(last["name"], "trace stopped: --trace-max reached");
        assert_eq!(last["s"], "g");
        assert_eq!(last["ts"], 2000.0);
        assert_eq!(last["args"]["max_bytes"], 4096);
    }

    #[test]
    fn labels_are_cut_short() {
        assert_eq!(short_label(b"Hello?\t"), "Hello?\u{2409}");
        let long = short_label("ü".repeat(100).as_bytes());
        assert_eq!(long.chars().count(), LONGEST_LABEL + 1);
        assert!(long.ends_with("ü…"));
    }
}
