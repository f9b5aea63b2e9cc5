//! The echo schedule of one connection: which echo lines are due, and when.
//!
//! A shout read at time `t` owes three echo lines, due at `t`, `t + delay` and `t + 2 × delay`.
//! Both server modes use this one queue; they differ only in how many shouts may be in flight
//! at once (decided by [`crate::session`]): the book's reverb1 is this queue with room for one
//! shout, reverb2 is the same queue with room for many. One task per connection drains it, so
//! echo lines are written whole and in deadline order, never interleaved, however many shouts
//! are echoing at once (the book's closing warning about `net.Conn` and concurrent writers).
//!
//! Every shout has the same delay and shouts are pushed in the order they are read, so the
//! shouts waiting for their k-th echo are already sorted by deadline. Three FIFO queues, one per
//! voice, replace a heap: pushing and popping are O(1), and a shout's text moves from one queue to
//! the next without being copied.
//!
//! This module is pure: it is handed the time, it does no I/O and never sleeps.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::echo::Voice;

#[derive(Debug)]
struct Pending {
    read_at: Instant,
    /// Read order, to break ties between echoes due at the same instant (delay 0 in particular):
    /// the older shout goes first, and a shout's voices go in order.
    seq: u64,
    shout: Vec<u8>,
}

/// The echoes a connection still owes, in the order they are due.
#[derive(Debug)]
pub struct EchoQueue {
    delay: Duration,
    /// Boxed, and only while echoes are owed: an idle connection then holds one null pointer
    /// instead of three empty queues and their counters, and every idle connection pays for
    /// each byte it holds.
    owed: Option<Box<Owed>>,
}

#[derive(Debug, Default)]
struct Owed {
    /// `waiting[k]` holds the shouts whose next echo is voice `k`.
    waiting: [VecDeque<Pending>; 3],
    /// Numbers shouts in read order. It may restart whenever the queue empties: it only orders
    /// shouts owed at the same time.
    next_seq: u64,
    /// Bytes of shout text held.
    queued_bytes: usize,
}

impl EchoQueue {
    pub fn new(delay: Duration) -> Self {
        EchoQueue { delay, owed: None }
    }

    /// Schedules the three echoes of a shout read at `read_at`.
    ///
    /// `read_at` must not be earlier than that of a shout pushed before (the queue relies on it to
    /// stay sorted); the handler passes the time it read the line, which only moves forward.
    pub fn push(&mut self, shout: Vec<u8>, read_at: Instant) {
        let owed = self.owed.get_or_insert_with(Default::default);
        let seq = owed.next_seq;
        owed.next_seq += 1;
        owed.queued_bytes += shout.len();
        owed.waiting[0].push_back(Pending {
            read_at,
            seq,
            shout,
        });
    }

    /// Shouts with at least one echo still to write.
    pub fn in_flight(&self) -> usize {
        self.owed
            .as_deref()
            .map_or(0, |owed| owed.waiting.iter().map(VecDeque::len).sum())
    }

    /// Bytes of shout text held for echoes still owed.
    pub fn queued_bytes(&self) -> usize {
        self.owed.as_deref().map_or(0, |owed| owed.queued_bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.owed.is_none()
    }

    /// When the earliest owed echo is due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.earliest().map(|(_, due)| due)
    }

    /// Appends every echo line due at or before `now` to `out`, in the order they are due, and
    /// returns how many lines were written. Lines due at the same moment are gathered so the
    /// caller can send them with one write.
    pub fn pop_due(&mut self, now: Instant, out: &mut Vec<u8>) -> usize {
        let mut lines = 0;
        while let Some((voice, due)) = self.earliest() {
            let Some(owed) = self.owed.as_deref_mut() else {
                break;
            };
            if due > now {
                break;
            }
            let Some(pending) = owed.waiting[voice.index()].pop_front() else {
                break;
            };
            voice.write_line(&pending.shout, out);
            lines += 1;
            match voice.next() {
                Some(next) => owed.waiting[next.index()].push_back(pending),
                None => owed.queued_bytes -= pending.shout.len(),
            }
        }
        if self.in_flight() == 0 {
            self.owed = None;
        }
        lines
    }

    /// The voice whose front shout is due first, with its deadline.
    fn earliest(&self) -> Option<(Voice, Instant)> {
        let owed = self.owed.as_deref()?;
        Voice::ALL
            .iter()
            .filter_map(|&voice| {
                let front = owed.waiting[voice.index()].front()?;
                Some((voice, front.read_at + voice.offset(self.delay), front.seq))
            })
            .min_by_key(|&(voice, due, seq)| (due, seq, voice))
            .map(|(voice, due, _)| (voice, due))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::from_millis(100);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drains the queue, stepping the clock to each deadline, and records (offset, line).
    fn drain(queue: &mut EchoQueue, start: Instant) -> Vec<(Duration, String)> {
        let mut heard = Vec::new();
        while let Some(due) = queue.next_due() {
            let mut out = Vec::new();
            queue.pop_due(due, &mut out);
            for line in String::from_utf8(out).unwrap().lines() {
                heard.push((due - start, line.to_string()));
            }
        }
        heard
    }

    #[test]
    fn one_shout_is_three_lines_a_delay_apart() {
        let start = Instant::now();
        let mut queue = EchoQueue::new(DELAY);
        queue.push(b"Hello?".to_vec(), start);
        assert_eq!(queue.in_flight(), 1);
        assert_eq!(queue.queued_bytes(), 6);
        assert_eq!(
            drain(&mut queue, start),
            [
                (ms(0), "\t HELLO?".to_string()),
                (ms(100), "\t Hello?".to_string()),
                (ms(200), "\t hello?".to_string()),
            ]
        );
        assert!(queue.is_empty());
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[test]
    fn overlapping_shouts_interleave_by_deadline() {
        let start = Instant::now();
        let mut queue = EchoQueue::new(DELAY);
        queue.push(b"Is there anybody there?".to_vec(), start);
        queue.push(b"Yooo-hooo!".to_vec(), start + ms(150));
        let heard = drain(&mut queue, start);
        let expected = [
            (ms(0), "\t IS THERE ANYBODY THERE?"),
            (ms(100), "\t Is there anybody there?"),
            (ms(150), "\t YOOO-HOOO!"),
            (ms(200), "\t is there anybody there?"),
            (ms(250), "\t Yooo-hooo!"),
            (ms(350), "\t yooo-hooo!"),
        ];
        let expected: Vec<_> = expected.iter().map(|(t, l)| (*t, l.to_string())).collect();
        assert_eq!(heard, expected);
    }

    #[test]
    fn ties_go_to_the_older_shout_then_in_voice_order() {
        let start = Instant::now();
        let mut queue = EchoQueue::new(Duration::ZERO);
        queue.push(b"a".to_vec(), start);
        queue.push(b"B".to_vec(), start);
        let mut out = Vec::new();
        assert_eq!(queue.pop_due(start, &mut out), 6);
        assert_eq!(out, b"\t A\n\t a\n\t a\n\t B\n\t B\n\t b\n");
        assert!(queue.is_empty());
    }

    #[test]
    fn echo_due_with_a_shout_read_later_goes_first() {
        // Shout 2 read exactly one delay after shout 1: shout 1's second echo and shout 2's first
        // are due together; the older shout speaks first.
        let start = Instant::now();
        let mut queue = EchoQueue::new(DELAY);
        queue.push(b"one".to_vec(), start);
        let mut out = Vec::new();
        queue.pop_due(start, &mut out);
        queue.push(b"two".to_vec(), start + DELAY);
        out.clear();
        assert_eq!(queue.pop_due(start + DELAY, &mut out), 2);
        assert_eq!(out, b"\t one\n\t TWO\n");
    }

    #[test]
    fn nothing_is_popped_before_it_is_due() {
        let start = Instant::now();
        let mut queue = EchoQueue::new(DELAY);
        queue.push(b"x".to_vec(), start);
        let mut out = Vec::new();
        assert_eq!(queue.pop_due(start, &mut out), 1);
        assert_eq!(queue.pop_due(start + ms(99), &mut out), 0);
        assert_eq!(queue.next_due(), Some(start + DELAY));
        // A late pop catches up on everything due, in order, without shifting later deadlines.
        assert_eq!(queue.pop_due(start + ms(250), &mut out), 2);
        assert_eq!(out, b"\t X\n\t x\n\t x\n");
    }

    #[test]
    fn many_shouts_keep_each_triple_in_order() {
        let start = Instant::now();
        let mut queue = EchoQueue::new(DELAY);
        for i in 0..1000u64 {
            queue.push(format!("s{i}").into_bytes(), start + ms(i / 10));
        }
        assert_eq!(queue.in_flight(), 1000);
        let heard = drain(&mut queue, start);
        assert_eq!(heard.len(), 3000);
        let times: Vec<_> = heard.iter().map(|(t, _)| *t).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "deadline order");
        for i in [0u64, 1, 500, 999] {
            let mine: Vec<_> = heard
                .iter()
                .filter(|(_, l)| l[2..].eq_ignore_ascii_case(&format!("s{i}")))
                .collect();
            let read = ms(i / 10);
            assert_eq!(
                mine.iter()
                    .map(|(t, l)| (*t, l.as_str()))
                    .collect::<Vec<_>>(),
                [
                    (read, format!("\t S{i}").as_str()),
                    (read + DELAY, format!("\t s{i}").as_str()),
                    (read + 2 * DELAY, format!("\t s{i}").as_str()),
                ]
            );
        }
    }
}
