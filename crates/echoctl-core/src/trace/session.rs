//! One session's events, from its recording as it grows (see the module docs of
//! [`crate::trace`]).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Event, Phase, micros, short_label};
use crate::echo::Voice;
use crate::timeline::{Attribution, EMPTY_SHOUT, Recording};

/// Which end of the session recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The server: shouts read, echo lines written.
    Server,
    /// A client: shouts sent, echo lines heard.
    Client,
}

/// The connection's track: its opening and closing, and lines that echo no shout.
const CONNECTION: u32 = 1;
/// The track of the echo lines, an instant each.
const ECHOES: u32 = 2;
/// The first shout track; the `n`th is `FIRST_SHOUT_TRACK + n`.
const FIRST_SHOUT_TRACK: u32 = 3;

/// A shout whose slice is open.
#[derive(Debug, Clone)]
struct Open {
    /// Its slice's name, for its end too.
    name: String,
    track: u32,
    /// Its echoes heard (or written) so far.
    heard: usize,
    /// The id of its loud echo's flow; the others follow.
    flow: u64,
    /// A client's view: the slice before the loud echo is open inside it.
    awaiting_loud: bool,
}

/// One session as trace events: told what its [`Recording`] holds as it grows
/// ([`SessionTrace::follow`]), it hands out the events the new records make, in time order,
/// every track's times running forward.
#[derive(Debug, Clone)]
pub struct SessionTrace {
    pid: u32,
    side: Side,
    /// The records already followed.
    shouts: usize,
    lines: usize,
    arrivals: usize,
    attribution: Attribution,
    /// Shouts whose slices are open, by index.
    open: BTreeMap<usize, Open>,
    /// Lines that came in and are not read yet, by the index of the shout each will be: their
    /// tracks, their "waiting to be read" slices open.
    waiting: BTreeMap<usize, u32>,
    /// Which shout tracks are taken.
    taken: Vec<bool>,
    /// The next flow's id: unique in the file, as every session has its own `pid`.
    next_flow: u64,
    /// The latest time an event was given: no event goes back before it.
    last: Duration,
}

impl SessionTrace {
    /// A session on its own process `pid`, called `title` (its peer, or what it plays), opened
    /// at `at`: names the process and its first tracks, and marks the opening.
    pub fn open(
        pid: u32,
        side: Side,
        title: &str,
        at: Duration,
        out: &mut Vec<Event>,
    ) -> SessionTrace {
        let echoes = match side {
            Side::Server => "echo lines written",
            Side::Client => "echo lines heard",
        };
        out.extend([
            Event::metadata("process_name", title, at, pid, 0),
            Event::new("process_sort_index", "__metadata", Phase::Metadata, at)
                .on(pid, 0)
                .arg("sort_index", pid),
            Event::metadata("thread_name", "connection", at, pid, CONNECTION),
            Event::metadata("thread_name", echoes, at, pid, ECHOES),
            Event::instant("connection opened", "connection", at).on(pid, CONNECTION),
        ]);
        SessionTrace {
            pid,
            side,
            shouts: 0,
            lines: 0,
            arrivals: 0,
            attribution: Attribution::new(),
            open: BTreeMap::new(),
            waiting: BTreeMap::new(),
            taken: Vec::new(),
            next_flow: u64::from(pid) << 32,
            last: at,
        }
    }

    /// Hands out the events of the records `recording` holds beyond those followed before, in
    /// the order they happened. At one moment a shout goes before the lines that came in then
    /// (which wait only if it is not theirs), and both before the lines written or heard.
    pub fn follow(&mut self, recording: &Recording, out: &mut Vec<Event>) {
        loop {
            let shout = recording.shouts().get(self.shouts).map(|shout| shout.at);
            let arrival = recording.arrivals().get(self.arrivals).copied();
            let line = recording.lines().get(self.lines).map(|line| line.at);
            let next = [shout, arrival, line]
                .into_iter()
                .enumerate()
                .filter_map(|(kind, at)| at.map(|at| (at, kind)))
                .min();
            match next {
                None => return,
                Some((_, 0)) => self.shout(recording, out),
                Some((at, 1)) => self.arrived(recording, at, out),
                Some(_) => self.line(recording, out),
            }
        }
    }

    /// The peer ended its input at `at` (the server read its end), after what `recording`
    /// holds.
    pub fn input_ended(&mut self, recording: &Recording, at: Duration, out: &mut Vec<Event>) {
        self.follow(recording, out);
        let at = self.at(at);
        out.push(Event::instant("input ended", "connection", at).on(self.pid, CONNECTION));
    }

    /// `len` bytes read (or written, `read` false) at `at`: the plain echo's chunks.
    pub fn bytes(&mut self, at: Duration, read: bool, len: usize, out: &mut Vec<Event>) {
        let at = self.at(at);
        let name = if read { "read" } else { "written" };
        out.push(
            Event::instant(name, "bytes", at)
                .on(self.pid, CONNECTION)
                .arg("bytes", len),
        );
    }

    /// The connection closed at `at`, for `reason`: follows `recording` to its end, ends every
    /// slice still open there, ends the flows of the echoes that never came at the close, and
    /// marks it.
    pub fn close(
        &mut self,
        recording: &Recording,
        at: Duration,
        reason: &str,
        out: &mut Vec<Event>,
    ) {
        self.follow(recording, out);
        let at = self.at(at);
        let pid = self.pid;
        for (_, track) in std::mem::take(&mut self.waiting) {
            out.push(Event::new("waiting to be read", "shout", Phase::End, at).on(pid, track));
        }
        let mut unheard = Vec::new();
        for (_, open) in std::mem::take(&mut self.open) {
            if open.awaiting_loud {
                out.push(end_awaiting(at).on(pid, open.track));
            }
            out.push(Event::new(open.name, "shout", Phase::End, at).on(pid, open.track));
            unheard.extend((open.heard..Voice::ALL.len()).map(|voice| open.flow + voice as u64));
        }
        for flow in unheard {
            out.push(Event::flow(Phase::FlowEnd, flow, at).on(pid, CONNECTION));
        }
        out.push(
            Event::instant("connection closed", "connection", at)
                .on(pid, CONNECTION)
                .arg("reason", reason),
        );
    }

    /// Line `self.arrivals` came in at `at`; unless its shout was taken then, it waits on a
    /// track of its own.
    fn arrived(&mut self, recording: &Recording, at: Duration, out: &mut Vec<Event>) {
        let index = self.arrivals;
        self.arrivals += 1;
        let read_at_once = recording
            .shouts()
            .get(index)
            .is_some_and(|shout| shout.at <= at);
        if read_at_once {
            return;
        }
        let at = self.at(at);
        let track = self.take_track(at, out);
        self.waiting.insert(index, track);
        out.push(
            Event::new("waiting to be read", "shout", Phase::Begin, at)
                .on(self.pid, track)
                .arg("shout", index + 1),
        );
    }

    /// Shout `self.shouts` was read (or sent): its slice begins, and its flows.
    fn shout(&mut self, recording: &Recording, out: &mut Vec<Event>) {
        let index = self.shouts;
        self.shouts += 1;
        let shout = &recording.shouts()[index];
        let at = self.at(shout.at);
        let pid = self.pid;
        let track = match self.waiting.remove(&index) {
            Some(track) => {
                out.push(Event::new("waiting to be read", "shout", Phase::End, at).on(pid, track));
                track
            }
            None => self.take_track(at, out),
        };
        let name = if shout.text.is_empty() {
            EMPTY_SHOUT.to_string()
        } else {
            short_label(&shout.text)
        };
        out.push(
            Event::new(name.clone(), "shout", Phase::Begin, at)
                .on(pid, track)
                .arg("shout", index + 1),
        );
        let flow = self.next_flow;
        self.next_flow += Voice::ALL.len() as u64;
        for voice in 0..Voice::ALL.len() as u64 {
            out.push(Event::flow(Phase::FlowStart, flow + voice, at).on(pid, track));
        }
        let awaiting_loud = self.side == Side::Client;
        if awaiting_loud {
            out.push(
                Event::new("waiting for the loud echo", "shout", Phase::Begin, at).on(pid, track),
            );
        }
        self.open.insert(
            index,
            Open {
                name,
                track,
                heard: 0,
                flow,
                awaiting_loud,
            },
        );
    }

    /// Line `self.lines` was heard (or written): an echo, with its flow's end, and the end of
    /// its shout's slice after the last; or a line that echoes no shout.
    fn line(&mut self, recording: &Recording, out: &mut Vec<Event>) {
        let line = &recording.lines()[self.lines];
        self.lines += 1;
        let at = self.at(line.at);
        let pid = self.pid;
        let attributed = self
            .attribution
            .attribute(recording.shouts(), line.at, &line.text);
        let Some((index, voice, open)) =
            attributed.and_then(|(index, voice)| Some((index, voice, self.open.get_mut(&index)?)))
        else {
            out.push(
                Event::instant(short_label(&line.text), "line", at)
                    .on(pid, CONNECTION)
                    .arg("line", short_label(&line.text)),
            );
            return;
        };
        out.push(Event::flow(Phase::FlowEnd, open.flow + voice.index() as u64, at).on(pid, ECHOES));
        let mut echo = Event::instant(voice.name(), "echo", at)
            .on(pid, ECHOES)
            .arg("shout", index + 1)
            .arg("line", short_label(&line.text));
        if let Some(lateness) = line.lateness {
            echo = echo.arg("lateness_us", micros(lateness));
        }
        out.push(echo);
        if open.awaiting_loud {
            open.awaiting_loud = false;
            out.push(end_awaiting(at).on(pid, open.track));
        }
        open.heard += 1;
        if open.heard == Voice::ALL.len()
            && let Some(done) = self.open.remove(&index)
        {
            out.push(Event::new(done.name, "shout", Phase::End, at).on(pid, done.track));
            self.free_track(done.track);
        }
    }

    /// The first free shout track, named when it is used for the first time.
    fn take_track(&mut self, at: Duration, out: &mut Vec<Event>) -> u32 {
        let n = match self.taken.iter().position(|taken| !taken) {
            Some(n) => n,
            None => {
                self.taken.push(false);
                let n = self.taken.len() - 1;
                let name = format!("shouts {}", n + 1);
                out.push(Event::metadata(
                    "thread_name",
                    &name,
                    at,
                    self.pid,
                    track_of(n),
                ));
                n
            }
        };
        self.taken[n] = true;
        track_of(n)
    }

    fn free_track(&mut self, track: u32) {
        if let Some(taken) = self.taken.get_mut((track - FIRST_SHOUT_TRACK) as usize) {
            *taken = false;
        }
    }

    /// `at`, or the latest time given so far if that is later: a record noted a moment after
    /// another (two tasks of a client) keeps every track's times running forward.
    fn at(&mut self, at: Duration) -> Duration {
        self.last = self.last.max(at);
        self.last
    }
}

/// The `n`th shout track (from 0).
fn track_of(n: usize) -> u32 {
    u32::try_from(n)
        .unwrap_or(u32::MAX)
        .saturating_add(FIRST_SHOUT_TRACK)
}

fn end_awaiting(at: Duration) -> Event {
    Event::new("waiting for the loud echo", "shout", Phase::End, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::ServerRecorder;
    use serde_json::Value;

    const MS: Duration = Duration::from_millis(1);

    fn json(events: &[Event]) -> String {
        events.iter().map(|event| event.to_json() + "\n").collect()
    }

    /// reverb1 with a delay of 10 ms, given `Hi` and `Yo` in one read: `Yo` waits, unread, on a
    /// track of its own until the last echo of `Hi` is written; the client ends its input and
    /// the connection closes before the quiet `yo`.
    #[test]
    fn a_sequential_server_session_in_events() {
        let mut events = Vec::new();
        let mut recorder = ServerRecorder::new();
        let mut trace = SessionTrace::open(1, Side::Server, "127.0.0.1:5555", MS, &mut events);
        recorder.read(MS * 2, b"Hi\nYo\n");
        recorder.shout(MS * 2, b"Hi");
        recorder.wrote(MS * 2, b"\t HI\n");
        trace.follow(recorder.recording(), &mut events);
        for (at, line) in [(12, &b"\t Hi\n"[..]), (22, b"\t hi\n")] {
            recorder.wrote(MS * at, line);
            trace.follow(recorder.recording(), &mut events);
        }
        recorder.shout(MS * 22, b"Yo");
        // A line cut in two writes is written when its end is.
        recorder.wrote(MS * 22, b"\t YO\n\t Y");
        trace.follow(recorder.recording(), &mut events);
        recorder.wrote(MS * 32, b"o\n");
        trace.input_ended(recorder.recording(), MS * 33, &mut events);
        recorder.closed(MS * 34);
        trace.close(recorder.recording(), MS * 34, "client done", &mut events);
        assert_eq!(
            json(&events),
            r#"{"name":"process_name","cat":"__metadata","ph":"M","ts":1000.0,"pid":1,"tid":0,"args":{"name":"127.0.0.1:5555"}}
{"name":"process_sort_index","cat":"__metadata","ph":"M","ts":1000.0,"pid":1,"tid":0,"args":{"sort_index":1}}
{"name":"thread_name","cat":"__metadata","ph":"M","ts":1000.0,"pid":1,"tid":1,"args":{"name":"connection"}}
{"name":"thread_name","cat":"__metadata","ph":"M","ts":1000.0,"pid":1,"tid":2,"args":{"name":"echo lines written"}}
{"name":"connection opened","cat":"connection","ph":"i","ts":1000.0,"pid":1,"tid":1,"s":"t"}
{"name":"thread_name","cat":"__metadata","ph":"M","ts":2000.0,"pid":1,"tid":3,"args":{"name":"shouts 1"}}
{"name":"Hi","cat":"shout","ph":"B","ts":2000.0,"pid":1,"tid":3,"args":{"shout":1}}
{"name":"echo","cat":"echo","ph":"s","ts":2000.0,"pid":1,"tid":3,"id":4294967296}
{"name":"echo","cat":"echo","ph":"s","ts":2000.0,"pid":1,"tid":3,"id":4294967297}
{"name":"echo","cat":"echo","ph":"s","ts":2000.0,"pid":1,"tid":3,"id":4294967298}
{"name":"thread_name","cat":"__metadata","ph":"M","ts":2000.0,"pid":1,"tid":4,"args":{"name":"shouts 2"}}
{"name":"waiting to be read","cat":"shout","ph":"B","ts":2000.0,"pid":1,"tid":4,"args":{"shout":2}}
{"name":"echo","cat":"echo","ph":"f","ts":2000.0,"pid":1,"tid":2,"id":4294967296}
{"name":"loud","cat":"echo","ph":"i","ts":2000.0,"pid":1,"tid":2,"s":"t","args":{"line":"HI","shout":1}}
{"name":"echo","cat":"echo","ph":"f","ts":12000.0,"pid":1,"tid":2,"id":4294967297}
{"name":"as sent","cat":"echo","ph":"i","ts":12000.0,"pid":1,"tid":2,"s":"t","args":{"line":"Hi","shout":1}}
{"name":"echo","cat":"echo","ph":"f","ts":22000.0,"pid":1,"tid":2,"id":4294967298}
{"name":"quiet","cat":"echo","ph":"i","ts":22000.0,"pid":1,"tid":2,"s":"t","args":{"line":"hi","shout":1}}
{"name":"Hi","cat":"shout","ph":"E","ts":22000.0,"pid":1,"tid":3}
{"name":"waiting to be read","cat":"shout","ph":"E","ts":22000.0,"pid":1,"tid":4}
{"name":"Yo","cat":"shout","ph":"B","ts":22000.0,"pid":1,"tid":4,"args":{"shout":2}}
{"name":"echo","cat":"echo","ph":"s","ts":22000.0,"pid":1,"tid":4,"id":4294967299}
{"name":"echo","cat":"echo","ph":"s","ts":22000.0,"pid":1,"tid":4,"id":4294967300}
{"name":"echo","cat":"echo","ph":"s","ts":22000.0,"pid":1,"tid":4,"id":4294967301}
{"name":"echo","cat":"echo","ph":"f","ts":22000.0,"pid":1,"tid":2,"id":4294967299}
{"name":"loud","cat":"echo","ph":"i","ts":22000.0,"pid":1,"tid":2,"s":"t","args":{"line":"YO","shout":2}}
{"name":"echo","cat":"echo","ph":"f","ts":32000.0,"pid":1,"tid":2,"id":4294967300}
{"name":"as sent","cat":"echo","ph":"i","ts":32000.0,"pid":1,"tid":2,"s":"t","args":{"line":"Yo","shout":2}}
{"name":"input ended","cat":"connection","ph":"i","ts":33000.0,"pid":1,"tid":1,"s":"t"}
{"name":"Yo","cat":"shout","ph":"E","ts":34000.0,"pid":1,"tid":4}
{"name":"echo","cat":"echo","ph":"f","ts":34000.0,"pid":1,"tid":1,"id":4294967301}
{"name":"connection closed","cat":"connection","ph":"i","ts":34000.0,"pid":1,"tid":1,"s":"t","args":{"reason":"client done"}}
"#
        );
    }

    /// A client of reverb2 at a delay of 10 ms: its two shouts overlap, each on a track of its
    /// own, the second back on the first track once that is free; the server's notice is a line
    /// of the connection's.
    #[test]
    fn a_concurrent_client_session_in_events() {
        let mut recording = Recording::new();
        let mut events = Vec::new();
        let mut trace = SessionTrace::open(2, Side::Client, "demo", Duration::ZERO, &mut events);
        recording.sent(Duration::ZERO, "a");
        recording.received(MS, "A");
        recording.sent(MS * 5, "b");
        recording.received(MS * 6, "B");
        trace.follow(&recording, &mut events);
        let start = events.len();
        for (at, text) in [(10, "a"), (16, "b"), (20, "a"), (26, "b")] {
            recording.received(MS * at, text);
        }
        recording.sent(MS * 30, "");
        recording.received_late(MS * 31, b"\t \n", MS / 2);
        recording.received_line(MS * 32, b"echoctl: bye\n");
        trace.follow(&recording, &mut events);
        trace.close(&recording, MS * 33, "the server closed", &mut events);
        let shouts: Vec<(&str, Phase, u32, Duration)> = events
            .iter()
            .filter(|event| event.cat == "shout")
            .map(|event| (event.name.as_str(), event.ph, event.tid, event.ts))
            .collect();
        let awaiting = "waiting for the loud echo";
        use Phase::{Begin, End};
        assert_eq!(
            shouts,
            [
                ("a", Begin, 3, Duration::ZERO),
                (awaiting, Begin, 3, Duration::ZERO),
                (awaiting, End, 3, MS),
                ("b", Begin, 4, MS * 5),
                (awaiting, Begin, 4, MS * 5),
                (awaiting, End, 4, MS * 6),
                ("a", End, 3, MS * 20),
                ("b", End, 4, MS * 26),
                (EMPTY_SHOUT, Begin, 3, MS * 30),
                (awaiting, Begin, 3, MS * 30),
                (awaiting, End, 3, MS * 31),
                (EMPTY_SHOUT, End, 3, MS * 33),
            ]
        );
        assert_eq!(
            json(&events[start..]),
            r#"{"name":"echo","cat":"echo","ph":"f","ts":10000.0,"pid":2,"tid":2,"id":8589934593}
{"name":"as sent","cat":"echo","ph":"i","ts":10000.0,"pid":2,"tid":2,"s":"t","args":{"line":"a","shout":1}}
{"name":"echo","cat":"echo","ph":"f","ts":16000.0,"pid":2,"tid":2,"id":8589934596}
{"name":"as sent","cat":"echo","ph":"i","ts":16000.0,"pid":2,"tid":2,"s":"t","args":{"line":"b","shout":2}}
{"name":"echo","cat":"echo","ph":"f","ts":20000.0,"pid":2,"tid":2,"id":8589934594}
{"name":"quiet","cat":"echo","ph":"i","ts":20000.0,"pid":2,"tid":2,"s":"t","args":{"line":"a","shout":1}}
{"name":"a","cat":"shout","ph":"E","ts":20000.0,"pid":2,"tid":3}
{"name":"echo","cat":"echo","ph":"f","ts":26000.0,"pid":2,"tid":2,"id":8589934597}
{"name":"quiet","cat":"echo","ph":"i","ts":26000.0,"pid":2,"tid":2,"s":"t","args":{"line":"b","shout":2}}
{"name":"b","cat":"shout","ph":"E","ts":26000.0,"pid":2,"tid":4}
{"name":"(empty line)","cat":"shout","ph":"B","ts":30000.0,"pid":2,"tid":3,"args":{"shout":3}}
{"name":"echo","cat":"echo","ph":"s","ts":30000.0,"pid":2,"tid":3,"id":8589934598}
{"name":"echo","cat":"echo","ph":"s","ts":30000.0,"pid":2,"tid":3,"id":8589934599}
{"name":"echo","cat":"echo","ph":"s","ts":30000.0,"pid":2,"tid":3,"id":8589934600}
{"name":"waiting for the loud echo","cat":"shout","ph":"B","ts":30000.0,"pid":2,"tid":3}
{"name":"echo","cat":"echo","ph":"f","ts":31000.0,"pid":2,"tid":2,"id":8589934598}
{"name":"loud","cat":"echo","ph":"i","ts":31000.0,"pid":2,"tid":2,"s":"t","args":{"lateness_us":500.0,"line":"","shout":3}}
{"name":"waiting for the loud echo","cat":"shout","ph":"E","ts":31000.0,"pid":2,"tid":3}
{"name":"echoctl: bye","cat":"line","ph":"i","ts":32000.0,"pid":2,"tid":1,"s":"t","args":{"line":"echoctl: bye"}}
{"name":"(empty line)","cat":"shout","ph":"E","ts":33000.0,"pid":2,"tid":3}
{"name":"echo","cat":"echo","ph":"f","ts":33000.0,"pid":2,"tid":1,"id":8589934599}
{"name":"echo","cat":"echo","ph":"f","ts":33000.0,"pid":2,"tid":1,"id":8589934600}
{"name":"connection closed","cat":"connection","ph":"i","ts":33000.0,"pid":2,"tid":1,"s":"t","args":{"reason":"the server closed"}}
"#
        );
    }

    #[test]
    fn the_plain_echos_chunks_and_times_that_run_back_stay_in_order() {
        let mut events = Vec::new();
        let mut trace = SessionTrace::open(1, Side::Server, "peer", MS * 5, &mut events);
        trace.bytes(MS * 6, true, 3, &mut events);
        // Noted a moment late by another task: drawn when it was noted.
        trace.bytes(MS * 4, false, 3, &mut events);
        let chunks: Vec<(&str, Duration, &Value)> = events[5..]
            .iter()
            .map(|event| (event.name.as_str(), event.ts, &event.args["bytes"]))
            .collect();
        assert_eq!(
            chunks,
            [
                ("read", MS * 6, &Value::from(3)),
                ("written", MS * 6, &Value::from(3))
            ]
        );
    }
}
