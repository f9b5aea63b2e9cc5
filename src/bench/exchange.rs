//! What every bench connection does, whatever its transport: its books (the ledger, the samples
//! and the times of its first and last shouts and echoes) and the exchange loop that shouts on
//! schedule and reads every echo until everything owed has come or been given up on.
//!
//! A transport ([`Wire`]) says only how a shout is queued and written and how echoes are read:
//! over TCP, a Unix socket or TLS a stream of lines (`load/connection/driver.rs`), over UDP a
//! datagram a line (`udp.rs`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::lateness::Samples;
use super::ledger::Ledger;
use super::load::Shared;
use super::outcome::{ConnectionError, Damage, Outcome};
use super::pacing::Pacing;
use super::{Expect, Pace};

/// How reading went.
pub(super) enum ReadEnd {
    Open,
    /// The server closed the connection.
    Closed,
}

/// One connection's books: what it owes and heard, its samples, and when it last did anything.
pub(super) struct Books<'a> {
    pub(super) shared: &'a Shared,
    pub(super) ledger: Ledger,
    pub(super) samples: Samples,
    pub(super) first_send: Option<Instant>,
    pub(super) last_send: Option<Instant>,
    pub(super) last_heard: Option<Instant>,
    /// The run was cut short while this connection ran.
    pub(super) cut: bool,
    /// When this connection last sent or heard anything, for giving up on a silent server.
    pub(super) last_activity: Instant,
}

impl<'a> Books<'a> {
    /// The books of connection `id`, which took `connect_time` to connect (or its socket to
    /// open).
    pub(super) fn new(id: usize, shared: &'a Shared, connect_time: Duration) -> Self {
        let mut samples = Samples::default();
        samples.push_connect(connect_time);
        let ledger = match shared.config.expect {
            Expect::Reverb => Ledger::new(id, shared.config.delay),
            Expect::Plain => Ledger::plain(id),
        };
        let ledger = match shared.config.pace {
            Pace::Window(_) => ledger.closed_loop(),
            Pace::Interval(_) => ledger,
        };
        Books {
            shared,
            ledger,
            samples,
            first_send: None,
            last_send: None,
            last_heard: None,
            cut: false,
            last_activity: Instant::now(),
        }
    }

    /// Appends the shout planned for `planned` (in throughput mode, now) to `out`; returns its
    /// index.
    pub(super) fn send(&mut self, planned: Instant, out: &mut Vec<u8>) -> u64 {
        let index = self.ledger.send(planned, out);
        self.first_send.get_or_insert(planned);
        self.last_send = Some(planned);
        self.shared.progress.shouts.fetch_add(1, Ordering::Relaxed);
        index
    }

    /// The connection's outcome at its end: what it heard, and what is missing (the echoes
    /// owed, less those not yet due if the run was cut short).
    pub(super) fn outcome(
        &self,
        made: bool,
        dropped: bool,
        error: Option<ConnectionError>,
        damage: Option<Damage>,
    ) -> Outcome {
        let owed = self.ledger.owed();
        let not_yet_due = if self.cut {
            let grace = self.shared.config.grace;
            self.ledger.not_yet_due(Instant::now(), grace)
        } else {
            0
        };
        Outcome {
            made,
            dropped,
            error,
            counts: self.ledger.counts(),
            missing: owed - not_yet_due,
            not_yet_due,
            first_send: self.first_send,
            last_send: self.last_send,
            last_heard: self.last_heard,
            damage,
        }
    }
}

/// A connection's transport, as the exchange loop drives it. Each error is already worded as
/// the connection's ([`ConnectionError`]).
pub(super) trait Wire {
    fn books(&self) -> &Books<'_>;
    /// The run was cut short while the connection ran.
    fn cut_short(&mut self);
    /// Queues the shout planned for `planned` (in throughput mode, now).
    fn send(&mut self, planned: Instant);
    /// Writes what the transport takes now, and notes each shout it took whole as sent.
    fn flush(&mut self) -> Result<(), ConnectionError>;
    /// Whether shouts (or bytes the transport holds) wait to be written.
    fn has_unsent(&self) -> bool;
    /// Ready when a read would not block.
    async fn readable(&self) -> Result<(), ConnectionError>;
    /// Ready when the transport would take a write.
    async fn writable(&self) -> Result<(), ConnectionError>;
    /// Reads what is there now and matches every line.
    fn read(&mut self) -> Result<ReadEnd, ConnectionError>;
}

/// Sends the shouts and reads their echoes over `wire`, one of `shared`'s connections. `Ok`
/// when everything owed was heard or given up on in an orderly way (or the run was cut short:
/// [`Books::cut`]); `Err` when the connection broke.
pub(super) async fn exchange(shared: &Shared, wire: &mut impl Wire) -> Result<(), ConnectionError> {
    let mut pacing = Pacing::new(&shared.config, Instant::now());
    // The waits are built once and re-armed only when their deadline moves: building them
    // afresh on every wake-up would register a waiter on the shared stop token (one lock for
    // all connections) and two timer entries, then drop them, for every read.
    let stopped = shared.stop.cancelled();
    let cut = shared.cut.cancelled();
    let send_timer = sleep_until(pacing.next_send());
    let give_up_timer = sleep_until(pacing.give_up_at(wire.books().last_activity));
    tokio::pin!(stopped, cut, send_timer, give_up_timer);
    loop {
        if shared.stop.is_cancelled() {
            pacing.stop();
        }
        // Throughput mode: shouts go out as echoes free the window (the clock read once).
        if window_has_room(&pacing, wire.books()) {
            let now = Instant::now();
            while window_has_room(&pacing, wire.books()) {
                wire.send(now);
            }
        }
        pacing.count_sent(wire.books().ledger.counts().shouts);
        wire.flush()?;
        let owed = wire.books().ledger.owed();
        if pacing.is_done(owed, wire.has_unsent()) {
            return Ok(());
        }
        let next_send = pacing.next_send();
        if send_timer.deadline() != next_send {
            send_timer.as_mut().reset(next_send);
        }
        let give_up = pacing.give_up_at(wire.books().last_activity);
        if give_up_timer.deadline() != give_up {
            give_up_timer.as_mut().reset(give_up);
        }
        tokio::select! {
            biased;
            _ = &mut cut => {
                wire.cut_short();
                return Ok(());
            }
            ready = wire.readable() => {
                ready?;
                match wire.read()? {
                    ReadEnd::Open => {}
                    ReadEnd::Closed if pacing.expects_more(wire.books().ledger.owed()) => {
                        return Err(ConnectionError::ClosedWithEchoesOwed {
                            owed: wire.books().ledger.owed(),
                        });
                    }
                    ReadEnd::Closed => return Ok(()),
                }
            }
            ready = wire.writable(), if wire.has_unsent() => {
                ready?;
            }
            _ = &mut send_timer, if pacing.sends_on_schedule() => {
                // Every shout overdue by now goes out, each with its planned time.
                let now = Instant::now();
                while let Some(planned) = pacing.take_due(now, wire.books().ledger.counts().shouts) {
                    wire.send(planned);
                }
            }
            _ = &mut stopped, if pacing.awaits_stop() => {}
            _ = &mut give_up_timer, if pacing.gives_up_when_silent(owed) => return Ok(()),
        }
    }
}

/// Whether the window (throughput mode) has room for another shout.
fn window_has_room(pacing: &Pacing, books: &Books<'_>) -> bool {
    pacing.window_has_room(books.ledger.counts().shouts, books.ledger.in_flight())
}
