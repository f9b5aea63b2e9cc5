//! The echo schedule of one connection: which echo lines are due, and when.
//!
//! A shout read at time `t` owes three echo lines, due at `t`, `t + delay` and `t + 2 × delay`.
//! Both server modes use this one queue; they differ only in how many shouts may be in flight
//! at once (decided by [`crate::session`]): the book's reverb1 is this queue with room for one
//! shout, reverb2 is the same queue with room for many. One task per connection drains it, so
//! echo lines are written whole and in deadline order, never interleaved, however many shouts
//! are echoing at once (the book's closing warning about `net.Conn` and concurrent writers).
//!
//! Every shout has the same delay and shouts are pushed in the order they are read, so each voice's
//! echoes fall due in read order too: the shouts owed form one queue, in read order, and two
//! counts say how far along it the first and second voices have spoken. The next echo due is the
//! earliest of three fronts (the oldest shout for its last voice, the first shout not yet heard in
//! the second voice, the first not yet heard at all), pushing and popping are O(1), and a shout's
//! text is held once, from its read until its last echo.
//!
//! This module is pure: it is handed the time, it does no I/O and never sleeps.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::echo::Voice;

/// A shout with at least one echo owed. Its place in the queue is its read order, which breaks
/// ties between echoes due at the same instant (delay 0 in particular): the older shout goes
/// first, and a shout's voices go in order.
#[derive(Debug)]
struct Pending {
    read_at: Instant,
    shout: Box<[u8]>,
}

/// The echoes a connection still owes, in the order they are due.
#[derive(Debug)]
pub struct EchoQueue {
    delay: Duration,
    /// Boxed, and only while echoes are owed: an idle connection then holds one null pointer
    /// instead of the queue and its counters, and every idle connection pays for each byte it
    /// holds.
    owed: Option<Box<Owed>>,
}

#[derive(Debug, Default)]
struct Owed {
    /// Every shout still owed an echo (its last voice, at least), in read order.
    shouts: VecDeque<Pending>,
    /// `spoken[k]`: how many shouts, from the front, have been heard in voice `k`, for the first
    /// two voices (a shout heard in its last voice leaves the queue).
    spoken: [usize; 2],
    /// Bytes of shout text held.
    queued_bytes: usize,
}

impl Owed {
    /// Where the shout next due in `voice` stands in the queue: the front for the last voice, and
    /// for the others the first shout not yet heard in that voice.
    fn front(&self, voice: Voice) -> usize {
        match voice.next() {
            Some(_) => self.spoken[voice.index()],
            None => 0,
        }
    }
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
        owed.queued_bytes += shout.len();
        owed.shouts.push_back(Pending {
            read_at,
            shout: shout.into_boxed_slice(),
        });
    }

    /// Shouts with at least one echo still to write.
    pub fn in_flight(&self) -> usize {
        self.owed.as_deref().map_or(0, |owed| owed.shouts.len())
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
            match voice.next() {
                Some(_) => {
                    let at = &mut owed.spoken[voice.index()];
                    voice.write_line(&owed.shouts[*at].shout, out);
                    *at += 1;
                }
                None => {
                    let Some(done) = owed.shouts.pop_front() else {
                        break;
                    };
                    voice.write_line(&done.shout, out);
                    owed.queued_bytes -= done.shout.len();
                    // Its earlier voices were due no later, so both counts include it.
                    for at in &mut owed.spoken {
                        *at = at.saturating_sub(1);
                    }
                }
            }
            lines += 1;
        }
        if self.in_flight() == 0 {
            self.owed = None;
        }
        lines
    }

    /// The voice whose next shout is due first, with its deadline.
    fn earliest(&self) -> Option<(Voice, Instant)> {
        let owed = self.owed.as_deref()?;
        Voice::ALL
            .iter()
            .filter_map(|&voice| {
                let at = owed.front(voice);
                let pending = owed.shouts.get(at)?;
                Some((voice, pending.read_at + voice.offset(self.delay), at))
            })
            .min_by_key(|&(voice, due, at)| (due, at, voice))
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

    /// The queue against the plainest model of the schedule: every (due, read order, voice) of
    /// every shout, sorted, popped when due. Shouts are pushed at random times (often together,
    /// so ties are common) and popped at random moments, some late, with delay 0 among the delays.
    #[test]
    fn pops_exactly_what_a_sorted_list_of_every_echo_would() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = move |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        for delay_ms in [0, 1, 7, 100] {
            let delay = ms(delay_ms);
            let start = Instant::now();
            let mut queue = EchoQueue::new(delay);
            let mut model: Vec<(Instant, usize, Voice, Vec<u8>)> = Vec::new();
            let (mut now, mut read) = (start, 0usize);
            for _ in 0..2000 {
                now += ms(random(4));
                if random(3) > 0 {
                    let shout = format!("s{read}").into_bytes();
                    for voice in Voice::ALL {
                        model.push((now + voice.offset(delay), read, voice, shout.clone()));
                    }
                    queue.push(shout, now);
                    read += 1;
                }
                let mut got = Vec::new();
                let lines = queue.pop_due(now, &mut got);
                model.sort_by_key(|&(due, read, voice, _)| (due, read, voice));
                let due = model.partition_point(|&(due, ..)| due <= now);
                let mut want = Vec::new();
                for (_, _, voice, shout) in model.drain(..due) {
                    voice.write_line(&shout, &mut want);
                }
                assert_eq!(lines, due, "delay {delay_ms} ms");
                assert_eq!(got, want, "delay {delay_ms} ms");
                let owed: std::collections::BTreeSet<usize> = model.iter().map(|e| e.1).collect();
                assert_eq!(queue.in_flight(), owed.len());
                assert_eq!(queue.next_due(), model.first().map(|e| e.0));
                assert_eq!(queue.is_empty(), model.is_empty());
            }
        }
    }
}
