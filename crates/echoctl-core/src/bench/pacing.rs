//! What a connection does next: when it shouts, when it is done, and when it gives up on a silent
//! server.
//!
//! Pure: the load generator's connection loop hands it the counts and the time, and waits on the
//! socket and the timers it names.

use std::time::Duration;

use tokio::time::Instant;

use super::{BenchConfig, Pace};

/// One connection's schedule of shouts and its patience with a silent server.
#[derive(Debug, Clone)]
pub struct Pacing {
    shouts: u64,
    pace: Pace,
    /// How long a connection owed echo lines waits in silence before giving up on them.
    patience: Duration,
    /// Shouts remain to be sent, and the duration cap has not stopped them.
    sending: bool,
    /// With no shouts at all the connection idles until the duration cap (required then).
    holding: bool,
    /// When the next shout is due, paced by time: an absolute schedule from the start.
    next_send: Instant,
}

impl Pacing {
    pub fn new(config: &BenchConfig, start: Instant) -> Pacing {
        Pacing {
            shouts: config.shouts,
            pace: config.pace,
            patience: config.delay * 2 + config.grace,
            sending: config.shouts > 0,
            holding: config.shouts == 0,
            next_send: start,
        }
    }

    /// The duration cap ran out: no more shouts, and no more holding an idle connection.
    pub fn stop(&mut self) {
        self.sending = false;
        self.holding = false;
    }

    /// In throughput mode, whether one more shout goes out now, `sent` having been sent and
    /// `in_flight` of them still owed an echo.
    pub fn window_has_room(&self, sent: u64, in_flight: usize) -> bool {
        match self.pace {
            Pace::Window(window) => self.sending && sent < self.shouts && in_flight < window,
            Pace::Interval(_) => false,
        }
    }

    /// Takes note of how many shouts were sent: sending ends with the last.
    pub fn count_sent(&mut self, sent: u64) {
        if sent >= self.shouts {
            self.sending = false;
        }
    }

    /// Nothing left to send, hold, hear (`owed` echo lines) or write (`unwritten`).
    pub fn is_done(&self, owed: u64, unwritten: bool) -> bool {
        !self.sending && !self.holding && owed == 0 && !unwritten
    }

    /// When the next shout paced by time is due (see [`sends_on_schedule`]).
    ///
    /// [`sends_on_schedule`]: Pacing::sends_on_schedule
    pub fn next_send(&self) -> Instant {
        self.next_send
    }

    /// Whether a shout waits for [`next_send`](Pacing::next_send).
    pub fn sends_on_schedule(&self) -> bool {
        self.sending && matches!(self.pace, Pace::Interval(_))
    }

    /// The shout due at [`next_send`](Pacing::next_send) went out: the next is due one interval
    /// after it was due, not after it went out, so a late shout does not push back the others.
    pub fn advance_schedule(&mut self) {
        if let Pace::Interval(interval) = self.pace {
            self.next_send += interval;
        }
    }

    /// Paced by time, with `sent` shouts sent so far: the planned send time of the next shout if
    /// it is due by `now`, its place on the schedule taken. Called until it returns `None`, it
    /// hands out every overdue shout at once, none skipped and the plan unmoved, so that a bench
    /// that fell behind catches up, and its lateness counts from the plan
    /// (`start + k × interval`).
    pub fn take_due(&mut self, now: Instant, sent: u64) -> Option<Instant> {
        self.count_sent(sent);
        if !self.sends_on_schedule() || self.next_send > now {
            return None;
        }
        let planned = self.next_send;
        self.advance_schedule();
        self.count_sent(sent + 1);
        Some(planned)
    }

    /// Whether the duration cap would change anything.
    pub fn awaits_stop(&self) -> bool {
        self.sending || self.holding
    }

    /// Whether the server closing now would leave this connection short.
    pub fn expects_more(&self, owed: u64) -> bool {
        self.sending || self.holding || owed > 0
    }

    /// When a connection last active at `last_activity` gives up on a silent server (see
    /// [`gives_up_when_silent`](Pacing::gives_up_when_silent)).
    pub fn give_up_at(&self, last_activity: Instant) -> Instant {
        last_activity + self.patience
    }

    /// Whether a silent server owing `owed` echo lines is given up on at
    /// [`give_up_at`](Pacing::give_up_at): only once nothing more can be sent to wake it.
    pub fn gives_up_when_silent(&self, owed: u64) -> bool {
        let timed_shouts = matches!(self.pace, Pace::Interval(_));
        let waiting_only = !self.holding && (!self.sending || !timed_shouts);
        waiting_only && owed > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn config(shouts: u64, pace: Pace) -> BenchConfig {
        BenchConfig {
            addr: "127.0.0.1:7".parse().unwrap(),
            connections: 1,
            shouts,
            pace,
            delay: ms(100),
            ramp_up: Duration::ZERO,
            duration: Some(ms(10_000)),
            connect_timeout: Some(ms(1000)),
            grace: ms(50),
            expect: Default::default(),
        }
    }

    #[test]
    fn throughput_mode_fills_the_window_up_to_the_last_shout() {
        let t0 = Instant::now();
        let mut pacing = Pacing::new(&config(5, Pace::Window(2)), t0);
        assert!(pacing.window_has_room(0, 0));
        assert!(pacing.window_has_room(3, 1));
        assert!(!pacing.window_has_room(3, 2), "window full");
        assert!(!pacing.window_has_room(5, 0), "all sent");
        assert!(!pacing.sends_on_schedule());
        pacing.count_sent(4);
        assert!(pacing.window_has_room(4, 0));
        assert!(pacing.expects_more(0));
        pacing.count_sent(5);
        assert!(!pacing.window_has_room(4, 0), "sending has ended");
        assert!(!pacing.expects_more(0));
        assert!(pacing.is_done(0, false));
        assert!(!pacing.is_done(1, false), "an echo line still owed");
        assert!(!pacing.is_done(0, true), "a shout still unwritten");
    }

    #[test]
    fn shouts_paced_by_time_keep_an_absolute_schedule() {
        let t0 = Instant::now();
        let mut pacing = Pacing::new(&config(3, Pace::Interval(ms(250))), t0);
        assert!(pacing.sends_on_schedule());
        assert!(!pacing.window_has_room(0, 0));
        assert_eq!(pacing.next_send(), t0);
        pacing.advance_schedule();
        pacing.advance_schedule();
        assert_eq!(pacing.next_send(), t0 + ms(500));
        pacing.count_sent(3);
        assert!(!pacing.sends_on_schedule());
    }

    #[test]
    fn a_bench_that_fell_behind_sends_every_overdue_shout_at_once_on_the_unmoved_plan() {
        let t0 = Instant::now();
        let mut pacing = Pacing::new(&config(5, Pace::Interval(ms(100))), t0);
        let mut sent = 0;
        let mut take = |pacing: &mut Pacing, now| {
            let planned: Vec<Instant> =
                std::iter::from_fn(|| pacing.take_due(now, sent).inspect(|_| sent += 1)).collect();
            planned
        };
        assert_eq!(take(&mut pacing, t0), [t0]);
        assert_eq!(take(&mut pacing, t0 + ms(99)), []);
        // Held back 250 ms past shout 1's plan: shouts 1, 2 and 3 are overdue, sent together,
        // each keeping its planned time.
        assert_eq!(
            take(&mut pacing, t0 + ms(350)),
            [t0 + ms(100), t0 + ms(200), t0 + ms(300)]
        );
        assert_eq!(pacing.next_send(), t0 + ms(400), "the plan is not moved");
        assert_eq!(take(&mut pacing, t0 + ms(1000)), [t0 + ms(400)]);
        assert_eq!(take(&mut pacing, t0 + ms(5000)), [], "five shouts, no more");
        assert!(!pacing.sends_on_schedule());
        // Throughput mode has no schedule.
        let mut window = Pacing::new(&config(5, Pace::Window(2)), t0);
        assert_eq!(window.take_due(t0 + ms(1000), 0), None);
    }

    #[test]
    fn no_shouts_holds_the_connection_until_the_duration_cap() {
        let t0 = Instant::now();
        let mut pacing = Pacing::new(&config(0, Pace::Interval(ms(250))), t0);
        pacing.count_sent(0);
        assert!(!pacing.sends_on_schedule());
        assert!(!pacing.is_done(0, false));
        assert!(pacing.awaits_stop());
        assert!(
            pacing.expects_more(0),
            "a close while holding is the server's doing"
        );
        assert!(!pacing.gives_up_when_silent(0));
        pacing.stop();
        assert!(pacing.is_done(0, false));
        assert!(!pacing.awaits_stop());
    }

    #[test]
    fn the_cap_stops_the_shouting_but_not_the_waiting_for_what_is_owed() {
        let t0 = Instant::now();
        let mut pacing = Pacing::new(&config(10, Pace::Interval(ms(250))), t0);
        pacing.stop();
        assert!(!pacing.sends_on_schedule());
        assert!(!pacing.is_done(3, false));
        assert!(pacing.gives_up_when_silent(3));
        assert!(pacing.is_done(0, false));
    }

    #[test]
    fn a_silent_server_is_given_up_on_once_no_shout_can_wake_it() {
        let t0 = Instant::now();
        // Paced by time, the next shout may wake the server: no giving up while one is due.
        let mut timed = Pacing::new(&config(2, Pace::Interval(ms(250))), t0);
        assert!(!timed.gives_up_when_silent(3));
        timed.count_sent(2);
        assert!(timed.gives_up_when_silent(3));
        assert!(
            !timed.gives_up_when_silent(0),
            "nothing owed, nothing to give up"
        );
        // In throughput mode the next shout waits for echoes: a full window waits only on them.
        let window = Pacing::new(&config(2, Pace::Window(1)), t0);
        assert!(window.gives_up_when_silent(3));
        // Patience: two delays (the last echo is due two delays after its shout) and the grace.
        assert_eq!(window.give_up_at(t0 + ms(10)), t0 + ms(10 + 2 * 100 + 50));
    }
}
