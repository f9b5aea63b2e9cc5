//! The UDP server's state, without the socket: what each datagram gets back, and when.
//!
//! `--mode plain` is RFC 862's UDP echo: each datagram goes back to its sender unchanged, and
//! nothing is kept.
//!
//! The reverb modes keep a [`Session`] per *peer*, a source address and port, exactly the session
//! a TCP connection has. Each datagram is read as a connection's bytes would be: its lines are
//! shouts, and the end of the datagram ends a last line without `\n`. Every echo line the session
//! has to say is a datagram of its own (`"\t HELLO?\n"`), sent to the peer on the session's
//! schedule, so `--mode sequential` is sequential per peer. What TCP does by itself is decided
//! here instead:
//!
//! * **No flow control.** A sender cannot be held back, so a peer's shouts waiting to start
//!   (behind the one echoing, in sequential mode; beyond `--max-pending` echoing, in concurrent
//!   mode) are bounded: at most `--max-pending` of them and 1 MiB; a datagram that does not fit
//!   is dropped whole, never cut.
//! * **No close.** A peer's state is dropped once it owes nothing and has been quiet for
//!   [`QUIET`].
//! * **No connection limit at accept.** A new peer while `--max-connections` are held is told the
//!   server is full, at most once a second, and its datagram is dropped.
//! * **Lines and datagrams.** A line longer than `--max-line`, or whose echo would not fit in one
//!   datagram, is not echoed: the whole datagram is dropped and its sender told so in one line.
//! * **Safety** ([`super::guard`]): refused source ports are never answered, and a datagram is
//!   answered only when everything it makes the server send is within the reply bound; a
//!   datagram over the bound is dropped whole, so a shout's echoes are all sent or none is.
//!
//! The caller's loop: hand each datagram read to [`Peers::receive`], bring the state to the
//! present with [`Peers::advance`] when [`Peers::next_wake`] comes, send what either gave the
//! [`Sink`], and log what [`Peers::refusals`] hands out. On shutdown, [`Peers::drain`], then
//! [`Peers::abort`] if the grace period runs out; the server is done when [`Peers::is_empty`].
//!
//! `cost` reckons what echoing a datagram would take; `notice` sends the notices a refused
//! datagram may get back; `outputs` has the types the caller is handed.

mod cost;
mod notice;
mod outputs;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::guard::{MAX_DATAGRAM, Refusal, Refused, Tally, is_refused_source, within_reply_bound};
use crate::config::{Mode, ServerConfig};
use crate::echo::ECHO_PREFIX;
use crate::session::{MAX_QUEUED_BYTES, Session, Settings};
use cost::EchoCost;
pub use outputs::{Counts, Gone, Received, Sink};

/// How long a peer that owes nothing may stay quiet before its state is dropped. A UDP peer
/// never says it is done: quiet is all there is to go by. Long enough to keep a steady client's
/// peer (a shout a second, a person's pauses between lines) from being dropped and made anew at
/// every shout; short enough that a scan or a flood of forged sources is forgotten within
/// seconds and `--max-connections` counts the peers of now.
pub const QUIET: Duration = Duration::from_secs(10);

/// The longest line whose echo lines fit in one datagram: the frame takes 3 bytes.
pub const MAX_ECHOED_LINE: usize = MAX_DATAGRAM - ECHO_PREFIX.len() - 1;

/// One peer: its session, and what the server keeps of it beside.
#[derive(Debug)]
struct Peer {
    session: Session,
    /// Shouts received and not yet taken to be echoed.
    waiting: usize,
    /// The wake-up it has in [`Peers::wakes`], if any.
    wake: Option<Instant>,
    first_heard: Instant,
    last_heard: Instant,
    shouts: u64,
    echo_lines: u64,
}

/// The UDP server's state; see the module docs.
#[derive(Debug)]
pub struct Peers {
    mode: Mode,
    session: Settings,
    /// The longest line echoed: `--max-line`, or less if its echo would not fit a datagram.
    line_limit: usize,
    max_pending: usize,
    max_peers: usize,
    peers: HashMap<SocketAddr, Peer>,
    /// Every peer's next wake-up: an echo due, or the end of its quiet time.
    wakes: BTreeSet<(Instant, SocketAddr)>,
    /// Refused peers told the server is full, and when.
    told_full: HashMap<SocketAddr, Instant>,
    draining: bool,
    counts: Counts,
    tally: Tally,
    /// What a session says at one wake-up, before it is cut into datagrams.
    scratch: Vec<u8>,
}

impl Peers {
    /// The state of a server configured by `config` (its `--idle-timeout` and faults do not
    /// apply to UDP: the command line refuses them).
    pub fn new(config: &ServerConfig) -> Peers {
        Peers {
            mode: config.mode,
            session: Settings {
                idle_timeout: None,
                ..Settings::from(config)
            },
            line_limit: config.max_line.min(MAX_ECHOED_LINE),
            max_pending: config.max_pending.max(1),
            max_peers: config.max_connections.max(1),
            peers: HashMap::new(),
            wakes: BTreeSet::new(),
            told_full: HashMap::new(),
            draining: false,
            counts: Counts::default(),
            tally: Tally::default(),
            scratch: Vec::new(),
        }
    }

    /// A datagram from `from`, read at `now`: answers it through `sink` (the plain echo, the
    /// first echo of each shout, a notice), and says what became of it.
    pub fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        sink: &mut impl Sink,
    ) -> Received {
        self.counts.datagrams_in += 1;
        let received = self.take(now, from, datagram, sink);
        if let Received::Refused { why, .. } = received {
            self.refuse(why);
        }
        received
    }

    /// A datagram too large to have been read whole (from the server's read, which knows).
    pub fn truncated(&mut self) {
        self.counts.datagrams_in += 1;
        self.refuse(Refusal::Truncated);
    }

    fn refuse(&mut self, why: Refusal) {
        self.counts.refused.add(why);
        self.tally.note(why);
    }

    fn take(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        sink: &mut impl Sink,
    ) -> Received {
        let refused = |why| Received::Refused { why, told: false };
        if is_refused_source(from.port()) {
            return refused(Refusal::SourcePort);
        }
        if self.draining {
            return Received::Ignored;
        }
        if self.mode == Mode::Plain {
            sink.send(from, datagram);
            self.counts.echoes += 1;
            return Received::Echoed;
        }
        let Some(cost) = EchoCost::of(datagram, self.line_limit) else {
            let notice = format!(
                "echoctl: line longer than {} bytes; datagram not echoed\n",
                self.line_limit
            );
            let told = self.notify(from, datagram.len(), &notice, sink);
            return Received::Refused {
                why: Refusal::TooLong,
                told,
            };
        };
        if cost.lines == 0 {
            return Received::Empty;
        }
        let known = self.peers.get(&from);
        if known.is_none() && self.peers.len() >= self.max_peers {
            let told = self.tell_full(now, from, datagram.len(), sink);
            return Received::Refused {
                why: Refusal::Full,
                told,
            };
        }
        let (waiting, unread) = known.map_or((0, 0), |peer| (peer.waiting, peer.session.unread()));
        if waiting + cost.lines > self.max_pending || unread + datagram.len() + 1 > MAX_QUEUED_BYTES
        {
            return refused(Refusal::Backlog);
        }
        if !within_reply_bound(datagram.len(), cost.datagrams, cost.bytes) {
            return refused(Refusal::OverBound);
        }
        let new_peer = known.is_none();
        let session = self.session;
        let peer = self.peers.entry(from).or_insert_with(|| Peer {
            session: Session::new(session),
            waiting: 0,
            wake: None,
            first_heard: now,
            last_heard: now,
            shouts: 0,
            echo_lines: 0,
        });
        peer.session.receive(datagram);
        if !datagram.ends_with(b"\n") {
            // The end of the datagram ends its last line.
            peer.session.receive(b"\n");
        }
        peer.waiting += cost.lines;
        peer.last_heard = now;
        if new_peer {
            self.counts.peers_opened += 1;
            self.counts.peak_peers = self.counts.peak_peers.max(self.peers.len());
            sink.opened(from);
        }
        self.advance_peer(now, from, sink);
        Received::Taken { new_peer }
    }

    /// Brings every peer due by `now` up to it: sends the echoes due, and drops the state of
    /// peers quiet for [`QUIET`] with nothing owed (when draining, as soon as they owe nothing).
    pub fn advance(&mut self, now: Instant, sink: &mut impl Sink) {
        while let Some(&(at, peer)) = self.wakes.first() {
            if at > now {
                break;
            }
            self.wakes.pop_first();
            if let Some(state) = self.peers.get_mut(&peer) {
                state.wake = None;
            }
            self.advance_peer(now, peer, sink);
        }
    }

    /// Brings one peer to `now`, sends what its session says, then wakes it next or drops it.
    fn advance_peer(&mut self, now: Instant, addr: SocketAddr, sink: &mut impl Sink) {
        let Peers {
            peers,
            wakes,
            scratch,
            counts,
            draining,
            ..
        } = self;
        let Some(peer) = peers.get_mut(&addr) else {
            return;
        };
        scratch.clear();
        let (waiting, shouts) = (&mut peer.waiting, &mut peer.shouts);
        let lines = peer.session.advance(now, scratch, |shout, _| {
            *waiting = waiting.saturating_sub(1);
            *shouts += 1;
            counts.shouts += 1;
            sink.shout(addr, shout);
        });
        for line in scratch.split_inclusive(|&b| b == b'\n') {
            sink.send(addr, line);
        }
        peer.echo_lines += lines as u64;
        counts.echoes += lines as u64;
        if let Some(old) = peer.wake.take() {
            wakes.remove(&(old, addr));
        }
        let quiet_until = peer.last_heard + QUIET;
        let wake = match peer.session.next_wake() {
            Some(due) => Some(due),
            None if *draining || now >= quiet_until => None,
            None => Some(quiet_until),
        };
        match wake {
            Some(wake) => {
                peer.wake = Some(wake);
                wakes.insert((wake, addr));
            }
            None => {
                let gone = Gone {
                    lasted: peer.last_heard - peer.first_heard,
                    shouts: peer.shouts,
                    echo_lines: peer.echo_lines,
                    quiet: now.saturating_duration_since(peer.last_heard),
                };
                peers.remove(&addr);
                sink.forgotten(addr, gone);
            }
        }
    }

    /// When [`Peers::advance`] next has something to do (an echo due, a peer's quiet time
    /// over), or refusals are next due to be reported ([`Peers::refusals`]).
    pub fn next_wake(&self) -> Option<Instant> {
        let wake = self.wakes.first().map(|&(at, _)| at);
        wake.into_iter().chain(self.tally.next_due()).min()
    }

    /// What was refused since the last report, when a report is due at `now` (at most once a
    /// second).
    pub fn refusals(&mut self, now: Instant) -> Option<Refused> {
        self.tally.take(now)
    }

    /// The server is shutting down gently: no datagram is taken any more, every peer's echoes
    /// owed are still sent (its shouts not yet started are dropped), and each peer is forgotten
    /// as soon as it owes nothing. Unlike a TCP client, a peer gets no notice of the shutdown:
    /// it asked for nothing, and an unasked datagram is what a reflector sends.
    pub fn drain(&mut self, now: Instant, sink: &mut impl Sink) {
        self.draining = true;
        let addrs: Vec<SocketAddr> = self.peers.keys().copied().collect();
        for addr in addrs {
            if let Some(peer) = self.peers.get_mut(&addr) {
                peer.session.end_of_input();
                peer.session.drain();
            }
            self.advance_peer(now, addr, sink);
        }
    }

    /// The grace period is over: every peer is dropped, whatever it is owed. Returns how many
    /// still owed echoes.
    pub fn abort(&mut self) -> usize {
        let owing = self
            .peers
            .values()
            .filter(|peer| peer.session.next_wake().is_some())
            .count();
        self.peers.clear();
        self.wakes.clear();
        owing
    }

    /// Peers held now.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// No peer is held: a draining server is done.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Peers that still owe echoes.
    pub fn owing(&self) -> usize {
        self.peers
            .values()
            .filter(|peer| peer.session.next_wake().is_some())
            .count()
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::udp::guard::REPLY_FACTOR;

    const DELAY: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Everything sent and logged, with the time of the call that sent it.
    #[derive(Default)]
    struct Seen {
        sent: Vec<(SocketAddr, Vec<u8>)>,
        shouts: Vec<(SocketAddr, Vec<u8>)>,
        opened: Vec<SocketAddr>,
        forgotten: Vec<(SocketAddr, Gone)>,
    }

    impl Sink for Seen {
        fn send(&mut self, to: SocketAddr, datagram: &[u8]) {
            self.sent.push((to, datagram.to_vec()));
        }
        fn shout(&mut self, from: SocketAddr, shout: &[u8]) {
            self.shouts.push((from, shout.to_vec()));
        }
        fn opened(&mut self, peer: SocketAddr) {
            self.opened.push(peer);
        }
        fn forgotten(&mut self, peer: SocketAddr, gone: Gone) {
            self.forgotten.push((peer, gone));
        }
    }

    /// A server and its clock.
    struct Run {
        peers: Peers,
        t0: Instant,
        seen: Seen,
    }

    impl Run {
        fn new(config: ServerConfig) -> Run {
            Run {
                peers: Peers::new(&config),
                t0: Instant::now(),
                seen: Seen::default(),
            }
        }

        fn reverb(mode: Mode) -> Run {
            Run::new(ServerConfig {
                mode,
                delay: DELAY,
                ..ServerConfig::default()
            })
        }

        fn send(&mut self, at: u64, from: u16, datagram: &[u8]) -> Received {
            self.peers
                .receive(self.t0 + ms(at), addr(from), datagram, &mut self.seen)
        }

        /// Advances from wake-up to wake-up up to `until` ms, and returns each datagram sent
        /// meanwhile (since the last call) with its time and peer.
        fn run_until(&mut self, until: u64) -> Vec<(u64, u16, String)> {
            let mut heard = self.take_sent(None);
            while let Some(wake) = self.peers.next_wake() {
                let at = (wake - self.t0).as_millis() as u64;
                if at > until {
                    break;
                }
                self.peers.advance(wake, &mut self.seen);
                self.peers.refusals(wake);
                heard.extend(self.take_sent(Some(at)));
            }
            heard
        }

        fn take_sent(&mut self, at: Option<u64>) -> Vec<(u64, u16, String)> {
            self.seen
                .sent
                .drain(..)
                .map(|(to, d)| {
                    let text = String::from_utf8_lossy(&d).into_owned();
                    (at.unwrap_or(u64::MAX), to.port(), text)
                })
                .collect()
        }
    }

    #[test]
    fn plain_mode_sends_each_datagram_back_unchanged_and_keeps_nothing() {
        let mut run = Run::new(ServerConfig {
            mode: Mode::Plain,
            ..ServerConfig::default()
        });
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(run.send(0, 5000, &bytes), Received::Echoed);
        assert_eq!(
            run.send(0, 5001, b""),
            Received::Echoed,
            "empty, echoed empty"
        );
        assert_eq!(
            run.seen.sent,
            [(addr(5000), bytes), (addr(5001), Vec::new())]
        );
        assert!(run.peers.is_empty());
        assert_eq!(run.peers.next_wake(), None);
        assert_eq!(run.peers.counts().echoes, 2);
    }

    #[test]
    fn each_echo_line_is_a_datagram_on_the_sessions_schedule() {
        let mut run = Run::reverb(Mode::Concurrent);
        assert_eq!(
            run.send(0, 5000, b"Hello?\n"),
            Received::Taken { new_peer: true }
        );
        assert_eq!(run.seen.opened, [addr(5000)]);
        let heard = run.run_until(5000);
        assert_eq!(
            heard,
            [
                (u64::MAX, 5000, "\t HELLO?\n".to_string()),
                (1000, 5000, "\t Hello?\n".to_string()),
                (2000, 5000, "\t hello?\n".to_string()),
            ]
        );
        // The end of a datagram ends its last line; one CR before a line end is dropped. (Lines
        // long enough that two fit the reply bound together.)
        let (a, b) = ("a".repeat(100), "b".repeat(100));
        assert_eq!(
            run.send(3000, 5000, format!("{a}\r\n{b}\r").as_bytes()),
            Received::Taken { new_peer: false }
        );
        let shouts: Vec<&[u8]> = run.seen.shouts.iter().map(|(_, s)| &s[..]).collect();
        assert_eq!(shouts, [&b"Hello?"[..], a.as_bytes(), b.as_bytes()]);
        assert_eq!(run.run_until(3000).len(), 2, "the loud echoes at once");
    }

    #[test]
    fn sequential_is_sequential_per_peer_and_peers_are_independent() {
        let mut run = Run::reverb(Mode::Sequential);
        run.send(0, 5000, b"one\n");
        run.send(500, 5000, b"two\n");
        run.send(500, 6000, b"other\n");
        let mut heard = run.run_until(10_000);
        heard.retain(|(_, port, _)| *port == 5000);
        let times: Vec<(u64, &str)> = heard.iter().map(|(t, _, l)| (*t, l.as_str())).collect();
        assert_eq!(
            times,
            [
                (u64::MAX, "\t ONE\n"),
                (1000, "\t one\n"),
                (2000, "\t one\n"),
                (2000, "\t TWO\n"),
                (3000, "\t two\n"),
                (4000, "\t two\n"),
            ],
            "two waits for one's last echo"
        );
        assert_eq!(run.peers.len(), 2);
    }

    #[test]
    fn the_reverb2_transcript_over_datagrams() {
        // SPEC's concurrent session: the second shout arrives between the first one's echoes.
        let mut run = Run::reverb(Mode::Concurrent);
        run.send(0, 5000, b"Is there anybody there?\n");
        let mut heard = run.run_until(1500);
        run.send(1500, 5000, b"Yooo-hooo!\n");
        heard.extend(run.run_until(10_000));
        let lines: Vec<&str> = heard.iter().map(|(_, _, l)| l.trim_start()).collect();
        assert_eq!(
            lines,
            [
                "IS THERE ANYBODY THERE?\n",
                "Is there anybody there?\n",
                "YOOO-HOOO!\n",
                "is there anybody there?\n",
                "Yooo-hooo!\n",
                "yooo-hooo!\n",
            ]
        );
    }

    #[test]
    fn a_peer_is_forgotten_once_it_owes_nothing_and_has_been_quiet() {
        let mut run = Run::reverb(Mode::Concurrent);
        run.send(0, 5000, b"hi\n");
        run.run_until(2000);
        assert_eq!(run.peers.len(), 1, "owes nothing, but not quiet yet");
        assert_eq!(run.peers.next_wake(), Some(run.t0 + QUIET));
        run.send(5000, 5000, b"again\n");
        run.run_until(5000 + QUIET.as_millis() as u64 - 1);
        assert_eq!(run.peers.len(), 1, "quiet from its last datagram on");
        run.run_until(5000 + QUIET.as_millis() as u64);
        assert!(run.peers.is_empty());
        assert_eq!(
            run.seen.forgotten,
            [(
                addr(5000),
                Gone {
                    lasted: ms(5000),
                    shouts: 2,
                    echo_lines: 6,
                    quiet: QUIET,
                }
            )]
        );
        assert_eq!(run.peers.next_wake(), None);
        // A peer busy echoing is never forgotten, however quiet.
        let mut run = Run::new(ServerConfig {
            mode: Mode::Sequential,
            delay: ms(20_000),
            ..ServerConfig::default()
        });
        run.send(0, 5000, b"slow\n");
        run.run_until(30_000);
        assert_eq!(run.peers.len(), 1);
    }

    #[test]
    fn refused_source_ports_are_never_answered_and_counted() {
        for mode in [Mode::Plain, Mode::Concurrent] {
            let mut run = Run::new(ServerConfig {
                mode,
                ..ServerConfig::default()
            });
            for port in [0, 7, 9, 13, 17, 19, 37] {
                assert_eq!(
                    run.send(0, port, b"x\n"),
                    Received::Refused {
                        why: Refusal::SourcePort,
                        told: false
                    }
                );
            }
            assert!(run.seen.sent.is_empty());
            assert!(run.peers.is_empty());
            assert_eq!(run.peers.counts().refused.source_port, 7);
            let first = run.peers.refusals(run.t0).expect("said at once");
            assert_eq!(first.source_port, 7);
            assert!(matches!(
                run.send(0, 8, b"x\n"),
                Received::Echoed | Received::Taken { .. }
            ));
            assert!(!run.seen.sent.is_empty(), "port 8 is answered");
        }
    }

    #[test]
    fn a_datagram_is_answered_within_the_reply_bound_or_not_at_all() {
        let mut run = Run::reverb(Mode::Concurrent);
        // Ten empty lines would buy thirty datagrams.
        let many = b"\n\n\n\n\n\n\n\n\n\n";
        assert_eq!(
            run.send(0, 5000, many),
            Received::Refused {
                why: Refusal::OverBound,
                told: false
            }
        );
        assert!(run.seen.sent.is_empty() && run.peers.is_empty());
        // Lines long enough are fine together.
        let long: Vec<u8> = [vec![b'x'; 100], b"\n".to_vec()].concat().repeat(5);
        assert_eq!(run.send(0, 5000, &long), Received::Taken { new_peer: true });
        // Whatever is sent, what goes back stays within the bound, datagram by datagram.
        let mut run = Run::reverb(Mode::Concurrent);
        let mut received = 0;
        let mut datagrams = 0;
        for (i, datagram) in [&b"\n"[..], b"a\n", b"\n\n", b"ab\ncd\n", b"", b"x", many]
            .iter()
            .cycle()
            .take(70)
            .enumerate()
        {
            run.send(i as u64, 5000 + i as u16 % 3, datagram);
            received += datagram.len();
            datagrams += 1;
        }
        let sent = run.run_until(60_000);
        let sent_bytes: usize = sent.iter().map(|(_, _, d)| d.len() + 28).sum();
        assert!(sent_bytes <= REPLY_FACTOR * (received + 28 * datagrams));
        assert!(run.peers.counts().refused.over_bound >= 10);
    }

    #[test]
    fn a_line_too_long_is_refused_whole_with_a_notice() {
        let mut run = Run::new(ServerConfig {
            max_line: 8,
            ..ServerConfig::default()
        });
        let received = run.send(0, 5000, b"ok\n123456789\n");
        assert_eq!(
            received,
            Received::Refused {
                why: Refusal::TooLong,
                told: true
            }
        );
        let notice = "echoctl: line longer than 8 bytes; datagram not echoed\n";
        assert_eq!(run.take_sent(Some(0)), [(0, 5000, notice.to_string())]);
        assert!(run.peers.is_empty(), "nothing of it was taken");
        // Exactly the limit is a shout; the limit counts without the line end.
        assert_eq!(
            run.send(0, 5000, b"12345678\r\n"),
            Received::Taken { new_peer: true }
        );
        // By default, a line is as long as its echo fits in one datagram.
        let mut run = Run::reverb(Mode::Concurrent);
        let longest = vec![b'x'; MAX_ECHOED_LINE];
        assert_eq!(
            run.send(0, 5000, &longest),
            Received::Taken { new_peer: true }
        );
        assert_eq!(run.take_sent(None)[0].2.len(), MAX_DATAGRAM);
        let over = vec![b'x'; MAX_ECHOED_LINE + 1];
        assert!(matches!(
            run.send(0, 5000, &over),
            Received::Refused {
                why: Refusal::TooLong,
                told: true
            }
        ));
        // Case mapping can lengthen a line past what a datagram holds.
        let grows = "ΐ".repeat(MAX_ECHOED_LINE / 2 - 1);
        assert!(matches!(
            run.send(0, 6000, grows.as_bytes()),
            Received::Refused {
                why: Refusal::TooLong,
                ..
            }
        ));
    }

    #[test]
    fn max_pending_bounds_the_shouts_each_peer_has_waiting() {
        let mut run = Run::new(ServerConfig {
            mode: Mode::Sequential,
            max_pending: 3,
            ..ServerConfig::default()
        });
        for i in 0..4 {
            assert!(matches!(
                run.send(i, 5000, b"shout\n"),
                Received::Taken { .. }
            ));
        }
        assert_eq!(
            run.send(4, 5000, b"one more\n"),
            Received::Refused {
                why: Refusal::Backlog,
                told: false
            },
            "one echoing, three waiting"
        );
        assert!(matches!(run.send(4, 6000, b"x\n"), Received::Taken { .. }));
        // Once the first shout is done, one waiting starts and there is room for one more.
        run.run_until(2000);
        assert!(matches!(
            run.send(2000, 5000, b"x\n"),
            Received::Taken { .. }
        ));
        assert_eq!(run.peers.counts().refused.backlog, 1);
    }

    #[test]
    fn a_full_server_tells_each_new_peer_once_a_second_at_most() {
        let mut run = Run::new(ServerConfig {
            max_connections: 1,
            ..ServerConfig::default()
        });
        run.send(0, 5000, b"first\n");
        run.take_sent(None);
        let full = Received::Refused {
            why: Refusal::Full,
            told: true,
        };
        assert_eq!(run.send(10, 6000, b"me too\n"), full);
        assert_eq!(
            run.take_sent(None),
            [(
                u64::MAX,
                6000,
                "echoctl: server is full (1 peers); try again later\n".to_string()
            )]
        );
        let silent = Received::Refused {
            why: Refusal::Full,
            told: false,
        };
        assert_eq!(run.send(500, 6000, b"me too\n"), silent);
        assert_eq!(
            run.send(600, 7000, b"and me\n"),
            full,
            "another peer is told"
        );
        assert_eq!(run.send(1010, 6000, b"me too\n"), full, "a second later");
        assert!(matches!(
            run.send(1010, 5000, b"x\n"),
            Received::Taken { .. }
        ));
        assert_eq!(run.peers.counts().refused.full, 4);
    }

    #[test]
    fn draining_delivers_the_echoes_owed_without_a_word_then_forgets_everyone() {
        let mut run = Run::reverb(Mode::Sequential);
        run.send(0, 5000, b"one\n");
        run.send(0, 5000, b"two\n");
        run.send(0, 6000, b"idle\n");
        run.run_until(2500);
        run.peers.drain(run.t0 + ms(2500), &mut run.seen);
        assert_eq!(
            run.peers.len(),
            1,
            "6000 owed nothing, and is forgotten at once"
        );
        assert_eq!(run.send(2600, 5000, b"late\n"), Received::Ignored);
        let heard = run.run_until(10_000);
        let lines: Vec<&str> = heard.iter().map(|(_, _, l)| l.as_str()).collect();
        assert_eq!(lines, ["\t two\n", "\t two\n"], "two's echoes, no notice");
        assert!(run.peers.is_empty());

        let mut run = Run::reverb(Mode::Concurrent);
        run.send(0, 5000, b"cut\n");
        run.peers.drain(run.t0, &mut run.seen);
        assert_eq!(run.peers.owing(), 1);
        assert_eq!(run.peers.abort(), 1);
        assert!(run.peers.is_empty());
        assert_eq!(run.peers.next_wake(), None);
    }

    #[test]
    fn empty_and_truncated_datagrams_make_no_peer() {
        let mut run = Run::reverb(Mode::Concurrent);
        assert_eq!(run.send(0, 5000, b""), Received::Empty);
        run.peers.truncated();
        assert!(run.peers.is_empty());
        assert_eq!(run.peers.counts().refused.truncated, 1);
        assert_eq!(run.peers.counts().datagrams_in, 2);
    }
}
