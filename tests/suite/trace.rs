//! `--trace` and `--hex-dump` end to end: the built binary writes the files, and they are read
//! as a viewer would. A trace must parse as JSON, its slices must balance on every track, every
//! flow must have its start and end, times must run forward on every track, every echo must
//! have an arrow from its shout, and every track must be named ([`check`]); a server's trace
//! must hold what the bench sent; a server killed with SIGKILL must leave a file that parses
//! once `]` is appended. A hex dump must lay out every chunk as `hexdump -C` does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::common::{PATIENCE, connect, echoctl, finish, run, signal};
use crate::faults::serve;
use crate::plain::TempDir;

/// A track: a process and one of its threads.
type Track = (u64, u64);

/// A shout's slice as the trace shows it.
#[derive(Debug, Clone)]
pub(crate) struct Shout {
    pub(crate) name: String,
    /// Its number in its session, from 1 (`args.shout`).
    number: u64,
    track: Track,
    begin: f64,
    end: f64,
    /// Its echo lines, by voice, from the instants its flows end at.
    pub(crate) echoes: Vec<(String, String, f64)>,
    /// Its "waiting for the loud echo" slice (a client's view), if it has one.
    awaiting: Option<(f64, f64)>,
}

/// What a trace holds, once [`check`] has found it sound.
#[derive(Debug)]
pub(crate) struct Checked {
    /// Each process's name.
    pub(crate) processes: BTreeMap<u64, String>,
    /// Each process's shouts, in the order they began.
    pub(crate) shouts: BTreeMap<u64, Vec<Shout>>,
    /// Every event, as parsed.
    pub(crate) events: Vec<Value>,
}

fn field<'a>(event: &'a Value, key: &str) -> &'a Value {
    event
        .get(key)
        .unwrap_or_else(|| panic!("an event without {key}: {event}"))
}

fn number(event: &Value, key: &str) -> f64 {
    field(event, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is no number: {event}"))
}

fn text<'a>(event: &'a Value, key: &str) -> &'a str {
    field(event, key)
        .as_str()
        .unwrap_or_else(|| panic!("{key} is no string: {event}"))
}

fn track(event: &Value) -> Track {
    (number(event, "pid") as u64, number(event, "tid") as u64)
}

/// Checks a whole trace as the issue states it (see the module docs) and returns its shouts.
pub(crate) fn check(json: &str) -> Checked {
    let events: Vec<Value> = serde_json::from_str(json).expect("the trace is a JSON array");
    let mut processes = BTreeMap::new();
    let mut named_tracks = BTreeSet::new();
    let mut last_ts: HashMap<Track, f64> = HashMap::new();
    let mut open: HashMap<Track, Vec<usize>> = HashMap::new();
    // Flow id -> (its start's track and time, the shout slice open there).
    let mut flow_starts: HashMap<u64, (Track, f64, Option<usize>)> = HashMap::new();
    let mut flow_ends: HashMap<u64, (Track, f64)> = HashMap::new();
    let mut shouts: Vec<Shout> = Vec::new();
    let mut slices: Vec<(String, Track, f64)> = Vec::new();
    // The flow that ended just before, on each track: the next instant there is its end.
    let mut pending_flow: HashMap<Track, Vec<u64>> = HashMap::new();
    for event in &events {
        for key in ["name", "cat", "ph"] {
            text(event, key);
        }
        let (ph, ts, at) = (text(event, "ph"), number(event, "ts"), track(event));
        if ph == "M" {
            match text(event, "name") {
                "process_name" => {
                    processes.insert(at.0, text(&event["args"], "name").to_string());
                }
                "thread_name" => {
                    named_tracks.insert(at);
                }
                _ => {}
            }
            continue;
        }
        assert!(
            processes.contains_key(&at.0),
            "process {} is not named before {event}",
            at.0
        );
        assert!(
            named_tracks.contains(&at),
            "track {at:?} is not named before {event}"
        );
        let last = last_ts.entry(at).or_insert(ts);
        assert!(ts >= *last, "time runs back on {at:?}: {event}");
        *last = ts;
        match ph {
            "B" => {
                slices.push((text(event, "name").to_string(), at, ts));
                let index = slices.len() - 1;
                open.entry(at).or_default().push(index);
                if text(event, "cat") == "shout" && event["args"].get("shout").is_some() {
                    let name = text(event, "name");
                    if name != "waiting to be read" {
                        shouts.push(Shout {
                            name: name.to_string(),
                            number: event["args"]["shout"].as_u64().expect("a number"),
                            track: at,
                            begin: ts,
                            end: f64::NAN,
                            echoes: Vec::new(),
                            awaiting: None,
                        });
                    }
                }
            }
            "E" => {
                let begun = open
                    .get_mut(&at)
                    .and_then(Vec::pop)
                    .unwrap_or_else(|| panic!("an end without a begin: {event}"));
                let (name, _, begin) = &slices[begun];
                assert_eq!(text(event, "name"), name, "ends another slice: {event}");
                if let Some(shout) = shouts
                    .iter_mut()
                    .rev()
                    .find(|shout| shout.track == at && shout.end.is_nan())
                {
                    if name == "waiting for the loud echo" {
                        shout.awaiting = Some((*begin, ts));
                    } else if name == &shout.name && shout.begin == *begin {
                        shout.end = ts;
                    }
                }
            }
            "s" => {
                let id = number(event, "id") as u64;
                let shout = shouts
                    .iter()
                    .rposition(|shout| shout.track == at && shout.end.is_nan());
                assert!(shout.is_some(), "a flow from no shout: {event}");
                let earlier = flow_starts.insert(id, (at, ts, shout));
                assert!(earlier.is_none(), "flow {id} starts twice");
            }
            "f" => {
                let id = number(event, "id") as u64;
                assert!(
                    flow_ends.insert(id, (at, ts)).is_none(),
                    "flow {id} ends twice"
                );
                pending_flow.entry(at).or_default().push(id);
            }
            "i" => {
                let flows = pending_flow.remove(&at).unwrap_or_default();
                if text(event, "cat") == "echo" {
                    assert_eq!(flows.len(), 1, "an echo without its arrow: {event}");
                    let (_, start_ts, shout) = flow_starts
                        .get(&flows[0])
                        .unwrap_or_else(|| panic!("an arrow that starts nowhere: {event}"));
                    assert!(*start_ts <= ts);
                    let shout = &mut shouts[shout.expect("checked at the start")];
                    assert_eq!(
                        field(&event["args"], "shout").as_u64(),
                        Some(shout.number),
                        "an echo's arrow from another shout: {event}"
                    );
                    shout.echoes.push((
                        text(event, "name").to_string(),
                        text(&event["args"], "line").to_string(),
                        ts,
                    ));
                }
            }
            other => panic!("an event of a kind the trace does not write ({other}): {event}"),
        }
    }
    for (track, still_open) in &open {
        assert!(
            still_open.is_empty(),
            "slices left open on {track:?}: {:?}",
            still_open.iter().map(|&i| &slices[i].0).collect::<Vec<_>>()
        );
    }
    for (id, (_, start, _)) in &flow_starts {
        let (_, end) = flow_ends
            .get(id)
            .unwrap_or_else(|| panic!("flow {id} has no end"));
        assert!(end >= start, "flow {id} ends before it starts");
    }
    for id in flow_ends.keys() {
        assert!(flow_starts.contains_key(id), "flow {id} has no start");
    }
    let mut by_process: BTreeMap<u64, Vec<Shout>> = BTreeMap::new();
    for shout in shouts {
        by_process.entry(shout.track.0).or_default().push(shout);
    }
    Checked {
        processes,
        shouts: by_process,
        events,
    }
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub(crate) fn voices(shout: &Shout) -> Vec<&str> {
    shout
        .echoes
        .iter()
        .map(|(voice, _, _)| voice.as_str())
        .collect()
}

#[tokio::test]
async fn the_demos_trace_shows_reverb1_waiting_and_reverb2_overlapping() {
    let dir = TempDir::new("trace-demo");
    let path = dir.0.join("t.json");
    let done = run(echoctl()
        .args(["demo", "--delay", "300ms", "--color", "never", "--trace"])
        .arg(&path))
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let trace = check(&read(&path));
    assert_eq!(
        trace.processes.values().collect::<Vec<_>>(),
        [
            "sequential (reverb1), delay 300ms",
            "concurrent (reverb2), delay 300ms"
        ]
    );
    // Long enough that a round trip on a busy machine stays well under half of it.
    let delay = 300_000.0;
    for (pid, names) in [
        (1, &["Hello?", "Is there anybody there?", "Yooo-hooo!"][..]),
        (2, &["Is there anybody there?", "Yooo-hooo!"]),
    ] {
        let shouts = &trace.shouts[&pid];
        assert_eq!(
            shouts.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            names
        );
        for shout in shouts {
            assert_eq!(voices(shout), ["loud", "as sent", "quiet"], "{shout:?}");
            let lines: Vec<&str> = shout.echoes.iter().map(|(_, l, _)| l.as_str()).collect();
            let name = &shout.name;
            assert_eq!(
                lines,
                [&name.to_uppercase(), name, &name.to_lowercase()],
                "{shout:?}"
            );
            assert_eq!(
                shout.end, shout.echoes[2].2,
                "the slice ends at the last echo"
            );
            assert!(shout.awaiting.is_some(), "{shout:?}");
        }
    }
    // reverb1 held its third shout back: its wait for the loud echo is most of a delay or more
    // (a delay and a half, by the script); every other shout's is a round trip.
    let sequential = &trace.shouts[&1];
    let waited = |shout: &Shout| shout.awaiting.map_or(0.0, |(from, to)| to - from);
    assert!(waited(&sequential[2]) > 0.9 * delay, "{:?}", sequential[2]);
    for shout in sequential.iter().take(2).chain(&trace.shouts[&2]) {
        assert!(waited(shout) < 0.5 * delay, "{shout:?}");
    }
    // reverb2's two shouts overlap, each on a track of its own.
    let [first, second] = &trace.shouts[&2][..] else {
        panic!("two shouts");
    };
    assert!(second.begin < first.end, "{first:?} {second:?}");
    assert_ne!(first.track, second.track);
    // Both sessions start at 0: one lies above the other.
    let opened: Vec<f64> = trace
        .events
        .iter()
        .filter(|event| event["name"] == "connection opened")
        .map(|event| number(event, "ts"))
        .collect();
    assert_eq!(opened.len(), 2);
    assert!(opened.iter().all(|&ts| ts < delay), "{opened:?}");
}

#[tokio::test]
async fn a_servers_trace_under_a_bench_holds_what_the_bench_sent() {
    let dir = TempDir::new("trace-serve");
    let (served, benched) = (dir.0.join("serve.json"), dir.0.join("bench.json"));
    let server = serve(&[
        "--delay",
        "20ms",
        "--trace",
        served.to_str().expect("a UTF-8 path"),
    ])
    .await;
    let bench = run(echoctl()
        .args([
            "bench", "-c", "4", "-n", "5", "-i", "15ms", "--delay", "20ms",
        ])
        .args(["--ramp-up", "20ms", "--trace-connections", "3", "--trace"])
        .arg(&benched)
        .arg(&server.addr))
    .await;
    assert_eq!(
        bench.code,
        Some(0),
        "{}{}",
        bench.stdout_text(),
        bench.stderr
    );
    let addr = server.addr.clone();
    server.stop().await;

    let trace = check(&read(&served));
    assert_eq!(trace.processes.len(), 4, "{:?}", trace.processes);
    let mut connections = BTreeSet::new();
    for (pid, peer) in &trace.processes {
        assert!(peer.starts_with("127.0.0.1:"), "named by its peer: {peer}");
        let shouts = &trace.shouts[pid];
        // Each connection's shouts are one bench connection's, in the order it sent them.
        let first = shouts[0].name.clone();
        let connection = first
            .strip_prefix("Shout ")
            .and_then(|rest| rest.strip_suffix(" n0"))
            .unwrap_or_else(|| panic!("not a bench's first shout: {first}"));
        connections.insert(connection.to_string());
        let names: Vec<String> = shouts.iter().map(|s| s.name.clone()).collect();
        let sent: Vec<String> = (0..5).map(|n| format!("Shout {connection} n{n}")).collect();
        assert_eq!(names, sent);
        for shout in shouts {
            assert_eq!(voices(shout), ["loud", "as sent", "quiet"], "{shout:?}");
            let lines: Vec<&str> = shout.echoes.iter().map(|(_, l, _)| l.as_str()).collect();
            let name = &shout.name;
            assert_eq!(lines, [&name.to_uppercase(), name, &name.to_lowercase()]);
        }
        let closes: Vec<&Value> = trace
            .events
            .iter()
            .filter(|e| e["pid"].as_u64() == Some(*pid) && e["name"] == "connection closed")
            .collect();
        assert_eq!(closes.len(), 1);
        assert_eq!(closes[0]["args"]["reason"], "client finished");
    }
    assert_eq!(
        connections,
        ["c0", "c1", "c2", "c3"].map(String::from).into()
    );

    // The bench's own view: its first three connections, each echo with its lateness.
    let trace = check(&read(&benched));
    assert_eq!(
        trace.processes.values().collect::<Vec<_>>(),
        ["c0 to ", "c1 to ", "c2 to "]
            .map(|c| format!("{c}{addr}"))
            .iter()
            .collect::<Vec<_>>()
    );
    for shouts in trace.shouts.values() {
        assert_eq!(shouts.len(), 5);
        assert!(shouts.iter().all(|s| s.echoes.len() == 3));
    }
    let lateness = trace
        .events
        .iter()
        .filter(|e| e["cat"] == "echo" && e["ph"] == "i")
        .map(|e| e["args"]["lateness_us"].as_f64())
        .collect::<Option<Vec<f64>>>()
        .expect("every echo has its lateness");
    assert_eq!(lateness.len(), 3 * 5 * 3);
}

#[tokio::test]
async fn connects_trace_is_its_side_of_the_session() {
    let dir = TempDir::new("trace-connect");
    let path = dir.0.join("connect.json");
    let server = serve(&["--delay", "10ms"]).await;
    let done = connect(
        &["--trace", path.to_str().expect("UTF-8"), &server.addr],
        b"Hi\nYo\n",
    )
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let mut heard: Vec<&str> = done.stdout_text().lines().collect();
    heard.sort_unstable();
    assert_eq!(
        heard,
        ["\t HI", "\t Hi", "\t YO", "\t Yo", "\t hi", "\t yo"]
    );
    let addr = server.addr.clone();
    server.stop().await;
    let trace = check(&read(&path));
    assert_eq!(
        trace.processes.values().collect::<Vec<_>>(),
        [&format!("connect to {addr}")]
    );
    let shouts = &trace.shouts[&1];
    assert_eq!(
        shouts.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["Hi", "Yo"]
    );
    for shout in shouts {
        assert_eq!(voices(shout), ["loud", "as sent", "quiet"], "{shout:?}");
    }
    let closed: Vec<&Value> = trace
        .events
        .iter()
        .filter(|e| e["name"] == "connection closed")
        .collect();
    assert_eq!(
        closed[0]["args"]["reason"],
        "the server closed the connection after the end of input"
    );
}

#[tokio::test]
async fn a_sequential_server_shows_a_line_it_had_and_did_not_read_waiting() {
    let dir = TempDir::new("trace-waiting");
    let path = dir.0.join("waiting.json");
    let server = serve(&[
        "--mode",
        "sequential",
        "--delay",
        "200ms",
        "--trace",
        path.to_str().expect("UTF-8"),
    ])
    .await;
    let delay = 200_000.0;
    let mut client = TcpStream::connect(&server.addr).await.expect("connect");
    // Both lines in one write: the server reads both, and takes the second only once the
    // first's echoes are out.
    client.write_all(b"a\nb\n").await.expect("shout");
    client.shutdown().await.expect("end input");
    let mut heard = Vec::new();
    timeout(PATIENCE, client.read_to_end(&mut heard))
        .await
        .expect("the echoes in time")
        .expect("read them");
    assert_eq!(heard, b"\t A\n\t a\n\t a\n\t B\n\t b\n\t b\n");
    server.stop().await;
    let trace = check(&read(&path));
    let [first, second] = &trace.shouts[&1][..] else {
        panic!("two shouts: {:?}", trace.shouts);
    };
    assert_eq!((first.name.as_str(), second.name.as_str()), ("a", "b"));
    let waiting: Vec<(f64, Track)> = trace
        .events
        .iter()
        .filter(|event| event["name"] == "waiting to be read")
        .map(|event| (number(event, "ts"), track(event)))
        .collect();
    let [(from, track), (to, _)] = waiting[..] else {
        panic!("one wait: {waiting:?}");
    };
    assert_eq!(
        track, second.track,
        "the line waits on the track its shout then takes"
    );
    // Within half a delay of the first, where a busy machine may hold the server back a while:
    // a line read only once the first's echoes were out would come two delays later.
    assert!(
        from <= first.begin + 0.5 * delay,
        "it came in with the first: {waiting:?}"
    );
    assert_eq!(to, second.begin, "it waited until it was read");
    assert_eq!(
        second.begin, first.end,
        "which was when the first's last echo was out"
    );
    assert!(to - from >= 2.0 * delay, "two delays: {waiting:?}");
}

#[tokio::test]
async fn a_server_killed_leaves_a_trace_that_parses_once_closed() {
    let dir = TempDir::new("trace-kill");
    let path = dir.0.join("killed.json");
    let mut server = serve(&["--delay", "10s", "--trace", path.to_str().expect("UTF-8")]).await;
    let mut client = TcpStream::connect(&server.addr).await.expect("connect");
    client.write_all(b"Hi\n").await.expect("shout");
    let mut loud = [0; 5];
    timeout(PATIENCE, client.read_exact(&mut loud))
        .await
        .expect("the loud echo in time")
        .expect("read it");
    assert_eq!(&loud, b"\t HI\n");
    // Written as it happens: the loud echo is in the file while its shout is still echoing.
    timeout(PATIENCE, async {
        while !read(&path).contains(r#""name":"loud""#) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the loud echo is traced in time");
    signal(&server.child, "KILL");
    let killed = timeout(PATIENCE, server.child.wait())
        .await
        .expect("killed in time")
        .expect("wait");
    assert_eq!(killed.code(), None, "killed by the signal");
    let cut = read(&path);
    assert!(!cut.trim_end().ends_with(']'), "no end was written: {cut}");
    let events: Vec<Value> =
        serde_json::from_str(&(cut + "]")).expect("parses once `]` is appended");
    let named: Vec<&str> = events.iter().map(|e| text(e, "name")).collect();
    assert!(
        named.contains(&"Hi") && named.contains(&"loud"),
        "{named:?}"
    );
    drop(client);
}

#[tokio::test]
async fn past_trace_max_a_server_stops_recording_and_says_so() {
    let dir = TempDir::new("trace-max");
    let path = dir.0.join("bounded.json");
    let mut server = serve(&[
        "--delay",
        "0",
        "--trace-max",
        "4KiB",
        "--trace",
        path.to_str().expect("UTF-8"),
    ])
    .await;
    let bench = run(echoctl()
        .args(["bench", "-c", "3", "-n", "20", "-w", "4", "--delay", "0"])
        .arg(&server.addr))
    .await;
    assert_eq!(bench.code, Some(0), "{}", bench.stderr);
    let logged = server.log_line("--trace-max").await;
    assert!(logged.contains("recording stopped"), "{logged}");
    server.stop().await;
    let bounded = read(&path);
    assert!(bounded.len() <= 4096, "{} bytes", bounded.len());
    let events: Vec<Value> = serde_json::from_str(&bounded).expect("a whole JSON array");
    let last = events.last().expect("events");
    assert_eq!(last["name"], "trace stopped: --trace-max reached");
}

/// Fails the test when `tool` cannot be started: a missing tool is not a reason to pass.
fn cannot_run(tool: &str, package: &str, error: io::Error) -> ! {
    if error.kind() == io::ErrorKind::NotFound {
        panic!(
            "{tool} is not installed, and this test runs it: install it (on Debian or Ubuntu, \
             `apt-get install {package}`) and run the tests again"
        );
    }
    panic!("cannot run {tool}: {error}");
}

/// A dump's chunks: direction, the offset of its first row, and its rows.
fn chunks(dump: &str) -> Vec<(char, u64, String)> {
    let mut chunks: Vec<(char, u64, String)> = Vec::new();
    for line in dump.lines() {
        match line.chars().next() {
            Some(arrow @ ('<' | '>')) => chunks.push((arrow, u64::MAX, String::new())),
            _ => {
                let chunk = chunks.last_mut().expect("a row after a header line");
                if chunk.2.is_empty() {
                    chunk.1 = u64::from_str_radix(&line[..8], 16).expect("an offset");
                }
                chunk.2.push_str(line);
                chunk.2.push('\n');
            }
        }
    }
    chunks
}

/// `hexdump -Cv -s OFFSET -n LENGTH` of `file`, less its last line (the end's offset).
fn hexdump(file: &Path, offset: u64, length: usize) -> String {
    let output = std::process::Command::new("hexdump")
        .arg("-Cv")
        .args(["-s", &offset.to_string(), "-n", &length.to_string()])
        .arg(file)
        .output()
        .unwrap_or_else(|e| cannot_run("hexdump", "bsdextrautils", e));
    assert!(output.status.success());
    let rows = String::from_utf8(output.stdout).expect("hexdump prints ASCII");
    let mut lines: Vec<&str> = rows.lines().collect();
    lines.pop();
    lines.iter().map(|line| format!("{line}\n")).collect()
}

#[tokio::test]
async fn the_hex_dump_of_every_byte_is_hexdump_cs_row_for_row() {
    let dir = TempDir::new("hex-dump");
    let (bytes, served, connected) = (
        dir.0.join("bytes"),
        dir.0.join("serve.dump"),
        dir.0.join("connect.dump"),
    );
    // Every byte value, twice over, so that a chunk may start anywhere in a row.
    let every: Vec<u8> = (0..=255).chain(0..=255).collect();
    std::fs::write(&bytes, &every).expect("write the bytes");
    let server = serve(&[
        "--mode",
        "plain",
        "--hex-dump",
        served.to_str().expect("UTF-8"),
    ])
    .await;
    let mut client = echoctl()
        .arg("connect")
        .arg("--hex-dump")
        .arg(&connected)
        .arg(&server.addr)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn connect");
    let mut stdin = client.stdin.take().expect("stdin piped");
    stdin.write_all(&every[..300]).await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    stdin.write_all(&every[300..]).await.expect("write");
    drop(stdin);
    let done = finish(client).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, every, "stdout is the server's bytes exactly");
    server.stop().await;

    for (dump, sent, received) in [(&connected, '>', '<'), (&served, '>', '<')] {
        let chunks = chunks(&read(dump));
        for arrow in [sent, received] {
            let mut next = 0;
            for (_, offset, rows) in chunks.iter().filter(|(a, _, _)| *a == arrow) {
                assert_eq!(
                    *offset,
                    next,
                    "{}: chunks follow each other",
                    dump.display()
                );
                let length: usize = rows.lines().map(|row| row[60..].len() - 2).sum();
                assert_eq!(&hexdump(&bytes, *offset, length), rows);
                next += length as u64;
            }
            assert_eq!(next, every.len() as u64, "every byte {arrow} is dumped");
        }
    }
}

/// A dump with its times and the server's port as the docs show them.
fn as_in_the_docs(dump: &str, addr: &str) -> String {
    dump.lines()
        .map(|line| match line.split_once(' ') {
            Some((arrow @ ("<" | ">"), rest)) => {
                let (_, rest) = rest.split_once(' ').expect("a time");
                format!(
                    "{arrow} 0.000000s {}\n",
                    rest.replace(addr, "127.0.0.1:8000")
                )
            }
            _ => format!("{line}\n"),
        })
        .collect()
}

#[tokio::test]
async fn the_docs_hex_dump_is_what_connect_writes() {
    let shown = crate::recipes::example("docs/trace.md", "trace-hex-dump");
    let (command, dump) = shown.split_once('\n').expect("a command, then the dump");
    assert_eq!(
        command,
        "$ printf 'Hello?\\n' | echoctl connect --hex-dump - 2>&1 >/dev/null"
    );
    // Echoes far enough apart that each is read on its own, as the docs show them, even when a
    // busy machine holds the client back a while (the times are not compared).
    let server = serve(&["--delay", "400ms"]).await;
    let done = connect(&["--hex-dump", "-", &server.addr], b"Hello?\n").await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        as_in_the_docs(&done.stderr, &server.addr),
        as_in_the_docs(dump, "127.0.0.1:8000")
    );
    server.stop().await;
}

#[tokio::test]
async fn trace_options_are_checked_before_anything_runs() {
    let refused = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move { run(echoctl().args(&args)).await }
    };
    let done = refused(&["serve", "--trace-max", "1MiB"]).await;
    assert_eq!(done.code, Some(2));
    assert!(done.stderr.contains("--trace"), "{}", done.stderr);
    let done = refused(&["demo", "--trace", "t.json", "--trace-max", "1KiB"]).await;
    assert_eq!(done.code, Some(2));
    assert!(done.stderr.contains("at least 4KiB"), "{}", done.stderr);
    let done = refused(&["bench", "--expect", "plain", "--trace", "t.json"]).await;
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr.contains("serve --mode plain --trace"),
        "{}",
        done.stderr
    );
    let done = refused(&["demo", "--trace", "/nonexistent/folder/t.json"]).await;
    assert_eq!(done.code, Some(1));
    assert!(
        done.stderr.contains("cannot create the trace"),
        "{}",
        done.stderr
    );
}
