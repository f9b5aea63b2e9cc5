//! What keeps a UDP echo safe to leave running.
//!
//! Echo over UDP is the classic reflector: a datagram's source address can be forged, so a server
//! that answers every datagram can be aimed at a victim, or at another small service for a loop
//! that never ends (CVE-1999-0103). Three rules hold that off:
//!
//! * a datagram from a [refused source port](REFUSED_SOURCE_PORTS) is never answered;
//! * nothing a datagram makes the server send (its echoes, or a notice) is more than
//!   [`REPLY_FACTOR`] times its own size, each datagram counted with its [`HEADER_BYTES`]
//!   ([`within_reply_bound`]): the reverb answers one datagram with three, and a datagram of many
//!   empty lines would otherwise buy ninety times its size;
//! * what was refused is counted, and said in one log line at most once a second ([`Tally`]), so
//!   a flood cannot flood the log too.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

/// Source ports a datagram is never answered from: 0 (no port at all: a forged or broken
/// source), and the small services that answer any datagram, echo (7), discard (9), daytime
/// (13), qotd (17), chargen (19) and time (37). An answer to one of them is answered back, and a
/// single forged datagram starts a loop between the two; BSD inetd refuses the same ports.
pub const REFUSED_SOURCE_PORTS: [u16; 7] = [0, 7, 9, 13, 17, 19, 37];

/// Whether a datagram from source port `port` is never answered.
pub fn is_refused_source(port: u16) -> bool {
    REFUSED_SOURCE_PORTS.contains(&port)
}

/// The largest payload one UDP datagram carries over IPv4: 65,535 bytes less the IPv4 and UDP
/// headers. An echo line must fit in one.
pub const MAX_DATAGRAM: usize = 65_507;

/// What every datagram costs on the wire beside its payload, as the reply bound counts it: the
/// IPv4 header (20 bytes) and the UDP header (8).
pub const HEADER_BYTES: usize = 28;

/// Everything one datagram makes the server send is at most this many times its own size,
/// headers counted on both sides. A single line in a datagram of its own always fits (its three
/// echoes are at most 3.21 times the datagram: the empty line's, 3 × 31 bytes for 29).
pub const REPLY_FACTOR: usize = 4;

/// Whether `replies` datagrams of `reply_bytes` bytes of payload in all may answer one datagram
/// of `received` bytes.
pub fn within_reply_bound(received: usize, replies: usize, reply_bytes: usize) -> bool {
    reply_bytes.saturating_add(replies.saturating_mul(HEADER_BYTES))
        <= REPLY_FACTOR.saturating_mul(received.saturating_add(HEADER_BYTES))
}

/// Why a datagram went unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its source port is one of [`REFUSED_SOURCE_PORTS`].
    SourcePort,
    /// It came from a new peer while the server holds `--max-connections` peers.
    Full,
    /// A line in it was longer than the server takes, or its echo would not fit in a datagram.
    TooLong,
    /// Its echoes would be more than [`REPLY_FACTOR`] times its size.
    OverBound,
    /// Its peer already has `--max-pending` shouts (or 1 MiB) waiting to be echoed.
    Backlog,
    /// It was larger than the server reads: it cannot have been read whole.
    Truncated,
}

/// Datagrams refused, by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refused {
    pub source_port: u64,
    pub full: u64,
    pub too_long: u64,
    pub over_bound: u64,
    pub backlog: u64,
    pub truncated: u64,
}

impl Refused {
    /// Counts one datagram refused for `why`.
    pub fn add(&mut self, why: Refusal) {
        let count = match why {
            Refusal::SourcePort => &mut self.source_port,
            Refusal::Full => &mut self.full,
            Refusal::TooLong => &mut self.too_long,
            Refusal::OverBound => &mut self.over_bound,
            Refusal::Backlog => &mut self.backlog,
            Refusal::Truncated => &mut self.truncated,
        };
        *count += 1;
    }

    /// Datagrams refused in all.
    pub fn total(&self) -> u64 {
        self.source_port
            + self.full
            + self.too_long
            + self.over_bound
            + self.backlog
            + self.truncated
    }
}

/// The log's words: each reason with its count, those with none left out (`3 from source ports
/// 0, 7, 9, 13, 17, 19 or 37 (loop and reflection guard); 1 over the 4x reply bound`).
impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ports: Vec<String> = REFUSED_SOURCE_PORTS.iter().map(u16::to_string).collect();
        let (last, rest) = ports.split_last().map_or(("", &[][..]), |(l, r)| (l, r));
        let reasons = [
            (
                self.source_port,
                format!(
                    "from source ports {} or {last} (loop and reflection guard)",
                    rest.join(", ")
                ),
            ),
            (
                self.full,
                "from new peers, server full (--max-connections)".into(),
            ),
            (
                self.too_long,
                "with a line too long to echo (--max-line)".into(),
            ),
            (
                self.over_bound,
                format!("whose echoes would be over {REPLY_FACTOR}x their size"),
            ),
            (
                self.backlog,
                "from peers with too many shouts waiting (--max-pending)".into(),
            ),
            (self.truncated, "too large to read whole".into()),
        ];
        let mut first = true;
        for (count, why) in reasons {
            if count == 0 {
                continue;
            }
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{count} {why}")?;
        }
        Ok(())
    }
}

/// At most one report a second.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Refusals counted as they happen, handed out to be logged at most once a second: the first at
/// once, the next ones gathered until a second has passed since the last report.
#[derive(Debug, Default)]
pub struct Tally {
    pending: Refused,
    reported_at: Option<Instant>,
}

impl Tally {
    /// Counts one refusal.
    pub fn note(&mut self, why: Refusal) {
        self.pending.add(why);
    }

    /// What was refused since the last report, if there is something and a report is due at
    /// `now`; the count starts again.
    pub fn take(&mut self, now: Instant) -> Option<Refused> {
        if self.pending.total() == 0 || self.next_due().is_some_and(|due| now < due) {
            return None;
        }
        self.reported_at = Some(now);
        Some(std::mem::take(&mut self.pending))
    }

    /// When refusals waiting to be reported may be: none when nothing waits, and a second after
    /// the last report (or at once, if there was none: `None` too, and [`Tally::take`] says so).
    pub fn next_due(&self) -> Option<Instant> {
        if self.pending.total() == 0 {
            return None;
        }
        self.reported_at.map(|at| at + REPORT_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ports_of_small_services_and_port_0_are_never_answered() {
        for port in [0, 7, 9, 13, 17, 19, 37] {
            assert!(is_refused_source(port), "{port}");
        }
        for port in [1, 8, 53, 123, 1024, 8000, 41234, 65535] {
            assert!(!is_refused_source(port), "{port}");
        }
    }

    #[test]
    fn one_line_a_datagram_always_fits_the_reply_bound_and_many_short_lines_do_not() {
        // A shout of L bytes with its newline, answered by three echo lines of L + 3 bytes.
        for len in [0, 1, 5, 100, 1000, 65_000] {
            assert!(within_reply_bound(len + 1, 3, 3 * (len + 3)), "{len}");
            assert!(
                within_reply_bound(len, 3, 3 * (len + 3)),
                "{len} without newline"
            );
        }
        // Ten empty lines: 10 bytes in, 30 datagrams of 3 bytes out, 34 times the size.
        assert!(!within_reply_bound(10, 30, 90));
        // Exactly at the bound, and one byte over it.
        assert!(within_reply_bound(2, 1, 4 * 30 - 28));
        assert!(!within_reply_bound(2, 1, 4 * 30 - 27));
    }

    #[test]
    fn refusals_are_said_once_a_second_at_most() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut tally = Tally::default();
        assert_eq!(tally.take(t0), None, "nothing to say");
        tally.note(Refusal::SourcePort);
        let first = tally.take(t0).expect("the first is said at once");
        assert_eq!(first.source_port, 1);
        tally.note(Refusal::SourcePort);
        tally.note(Refusal::OverBound);
        assert_eq!(tally.next_due(), Some(t0 + ms(1000)));
        assert_eq!(tally.take(t0 + ms(999)), None);
        let next = tally.take(t0 + ms(1000)).expect("a second later");
        assert_eq!((next.source_port, next.over_bound, next.total()), (1, 1, 2));
        assert_eq!(tally.next_due(), None);
        assert_eq!(tally.take(t0 + ms(5000)), None);
    }

    #[test]
    fn a_report_names_each_reason_with_its_count() {
        let mut refused = Refused::default();
        assert_eq!(refused.to_string(), "");
        refused.add(Refusal::SourcePort);
        refused.add(Refusal::SourcePort);
        refused.add(Refusal::OverBound);
        assert_eq!(
            refused.to_string(),
            "2 from source ports 0, 7, 9, 13, 17, 19 or 37 (loop and reflection guard); \
             1 whose echoes would be over 4x their size"
        );
        refused = Refused::default();
        refused.add(Refusal::Full);
        refused.add(Refusal::TooLong);
        refused.add(Refusal::Backlog);
        refused.add(Refusal::Truncated);
        assert_eq!(
            refused.to_string(),
            "1 from new peers, server full (--max-connections); 1 with a line too long to echo \
             (--max-line); 1 from peers with too many shouts waiting (--max-pending); 1 too \
             large to read whole"
        );
    }
}
