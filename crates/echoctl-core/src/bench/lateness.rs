//! What a run measured, as histograms: lateness per voice (from the planned send and from the
//! actual send), the send slip, how early early echoes were, connect times and when echoes
//! arrived; read as percentiles.
//!
//! HdrHistogram keeps every percentile within 0.1 % (three significant digits) in a fixed amount
//! of memory, whatever the number of samples, and merges exactly; a sorted vector of every sample
//! would need memory in proportion to the run, and a fixed-bucket histogram would lose the
//! sub-millisecond resolution the server's targets are stated in. Samples are kept in
//! microseconds, from 0 up to an hour (anything later is clamped to an hour).
//!
//! Connection tasks do not each own histograms (a dozen of them per connection would cost
//! megabytes at 10,000 connections); they collect a few hundred [`Samples`] and add them to the
//! shared [`Measurements`] in one go. Reading a histogram as figures is `figures`'.

mod figures;

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::echo::Voice;
pub use figures::{Percentiles, Quantile, Summary, enough_samples, percentiles};

const MAX_MICROS: u64 = 3_600_000_000;
/// Arrival times are kept in milliseconds from the run's start, up to a day.
const MAX_ARRIVAL_MS: u64 = 86_400_000;
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A histogram of microseconds (or, for arrivals, milliseconds) with the bench's bounds.
pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts (1 ≤ low, high ≥ 2 × low, 3 digits); a
    // failure here is a bug in this file, caught by the tests.
    Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_DIGITS).expect("valid histogram bounds")
}

/// Lateness of every echo line heard, by voice.
#[derive(Debug, Clone)]
pub struct Lateness {
    by_voice: [Histogram<u64>; 3],
}

impl Default for Lateness {
    fn default() -> Self {
        Self::new()
    }
}

impl Lateness {
    pub fn new() -> Self {
        Lateness {
            by_voice: [histogram(), histogram(), histogram()],
        }
    }

    pub fn record(&mut self, voice: Voice, micros: u32) {
        self.by_voice[voice.index()].saturating_record(u64::from(micros).min(MAX_MICROS));
    }

    pub fn voice(&self, voice: Voice) -> Percentiles {
        percentiles(&self.by_voice[voice.index()])
    }

    /// All three voices together.
    pub fn all(&self) -> Percentiles {
        percentiles(&self.all_histogram())
    }

    pub fn histogram(&self, voice: Voice) -> &Histogram<u64> {
        &self.by_voice[voice.index()]
    }

    pub fn all_histogram(&self) -> Histogram<u64> {
        let mut all = self.by_voice[0].clone();
        for other in &self.by_voice[1..] {
            // The same bounds: adding cannot fail.
            let _ = all.add(other);
        }
        all
    }
}

/// Everything a run measured, added up from every connection's [`Samples`].
#[derive(Debug, Clone)]
pub struct Measurements {
    /// Lateness against the plan: the shout's planned send + k × delay.
    pub from_plan: Lateness,
    /// Lateness against the actual send + k × delay.
    pub from_send: Lateness,
    /// Actual minus planned send time of every shout sent on a schedule, in microseconds.
    pub slip: Histogram<u64>,
    /// How long before its due time each early echo arrived, in microseconds.
    pub early_by: Histogram<u64>,
    /// Connect times of the connections made, in microseconds.
    pub connect: Histogram<u64>,
    /// How long the handshakes of the connections made took after their connect (a transport
    /// that has one: TLS), in microseconds.
    pub handshake: Histogram<u64>,
    /// When each echo arrived, in milliseconds from the run's start (for the steady rate).
    pub arrivals: Histogram<u64>,
}

impl Default for Measurements {
    fn default() -> Self {
        Self::new()
    }
}

impl Measurements {
    pub fn new() -> Self {
        Measurements {
            from_plan: Lateness::new(),
            from_send: Lateness::new(),
            slip: histogram(),
            early_by: histogram(),
            connect: histogram(),
            handshake: histogram(),
            // Milliseconds up to a day fit the same bounds' kind.
            arrivals: Histogram::new_with_bounds(1, MAX_ARRIVAL_MS, SIGNIFICANT_DIGITS)
                .expect("valid histogram bounds"),
        }
    }

    pub fn add(&mut self, samples: &mut Samples) {
        for echo in samples.echoes.drain(..) {
            let voice_index = (echo.voice_and_arrival_ms >> ARRIVAL_BITS) as usize;
            let voice = Voice::ALL[voice_index.min(2)];
            let arrival_ms = echo.voice_and_arrival_ms & ARRIVAL_MASK;
            self.from_plan.record(voice, echo.from_plan_us);
            self.from_send.record(voice, echo.from_send_us);
            self.arrivals
                .saturating_record(u64::from(arrival_ms).min(MAX_ARRIVAL_MS));
        }
        for (into, from) in [
            (&mut self.slip, &mut samples.slips),
            (&mut self.early_by, &mut samples.early),
            (&mut self.connect, &mut samples.connects),
            (&mut self.handshake, &mut samples.handshakes),
        ] {
            for micros in from.drain(..) {
                into.saturating_record(u64::from(micros).min(MAX_MICROS));
            }
        }
    }

    /// Echo lines that arrived from `from` to `to` after the run's start.
    pub fn arrived_between(&self, from: Duration, to: Duration) -> u64 {
        let (low, high) = (from.as_millis() as u64, to.as_millis() as u64);
        if high <= low || self.arrivals.is_empty() {
            return 0;
        }
        // Arrivals are recorded to the millisecond and counted by equivalent ranges: the edges
        // are as exact as the histogram's three digits.
        self.arrivals.count_between(low, high.saturating_sub(1))
    }
}

/// One echo's figures in 12 bytes (a connection holds a few hundred of them between hand-overs,
/// and thousands of connections do at once).
#[derive(Debug, Clone, Copy)]
struct EchoSample {
    /// The voice's index in the top two bits, the arrival in milliseconds from the run's start
    /// in the other 30 (up to 12 days; later is clamped).
    voice_and_arrival_ms: u32,
    from_plan_us: u32,
    from_send_us: u32,
}

const ARRIVAL_BITS: u32 = 30;
const ARRIVAL_MASK: u32 = (1 << ARRIVAL_BITS) - 1;

/// Samples collected by one connection before they are added to the shared [`Measurements`].
#[derive(Debug, Default)]
pub struct Samples {
    echoes: Vec<EchoSample>,
    slips: Vec<u32>,
    early: Vec<u32>,
    connects: Vec<u32>,
    handshakes: Vec<u32>,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl Samples {
    /// How many samples a connection collects before handing them over.
    pub const BATCH: usize = 256;

    /// An echo of `voice`, late by `from_plan` against its plan and `from_send` against its
    /// actual send, arrived `arrival` after the run's start.
    pub fn push_echo(
        &mut self,
        voice: Voice,
        from_plan: Duration,
        from_send: Duration,
        arrival: Duration,
    ) {
        let arrival_ms =
            u32::try_from(arrival.as_millis()).map_or(ARRIVAL_MASK, |ms| ms.min(ARRIVAL_MASK));
        self.echoes.push(EchoSample {
            // Voice::index is 0..3, which fits two bits.
            voice_and_arrival_ms: (voice.index() as u32) << ARRIVAL_BITS | arrival_ms,
            from_plan_us: micros(from_plan),
            from_send_us: micros(from_send),
        });
    }

    pub fn push_slip(&mut self, slip: Duration) {
        self.slips.push(micros(slip));
    }

    pub fn push_early(&mut self, early_by: Duration) {
        self.early.push(micros(early_by));
    }

    pub fn push_connect(&mut self, took: Duration) {
        self.connects.push(micros(took));
    }

    pub fn push_handshake(&mut self, took: Duration) {
        self.handshakes.push(micros(took));
    }

    pub fn len(&self) -> usize {
        self.echoes.len()
            + self.slips.len()
            + self.early.len()
            + self.connects.len()
            + self.handshakes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// One echo, late by the same against plan and send, added the way connections add theirs.
    fn record(m: &mut Measurements, voice: Voice, late: Duration) {
        let mut samples = Samples::default();
        samples.push_echo(voice, late, late, Duration::ZERO);
        m.add(&mut samples);
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 0.001 + 1e-9
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut m = Measurements::new();
        // 1..=1000 microseconds, once each.
        for n in 1..=1000 {
            record(&mut m, Voice::Upper, us(n));
        }
        let p = m.from_plan.voice(Voice::Upper);
        assert_eq!(p.count, 1000);
        assert!(close(p.min_ms, 0.001), "{p:?}");
        assert!(close(p.mean_ms, 0.5005), "{p:?}");
        assert!(close(p.p50_ms, 0.5), "{p:?}");
        assert!(close(p.p90_ms, 0.9), "{p:?}");
        assert!(close(p.p99_ms, 0.99), "{p:?}");
        assert!(close(p.p99_9_ms, 0.999), "{p:?}");
        assert!(close(p.max_ms, 1.0), "{p:?}");
        assert_eq!(p.too_few_samples_for, [Quantile::P9999]);
        assert_eq!(m.from_plan.voice(Voice::Lower).count, 0);
    }

    #[test]
    fn percentiles_with_too_few_samples_are_named() {
        let mut m = Measurements::new();
        for n in 1..=99 {
            record(&mut m, Voice::Original, us(n));
        }
        let p = m.from_plan.voice(Voice::Original);
        assert_eq!(
            p.too_few_samples_for,
            [Quantile::P99, Quantile::P999, Quantile::P9999]
        );
        record(&mut m, Voice::Original, us(100));
        let p = m.from_plan.voice(Voice::Original);
        assert_eq!(p.too_few_samples_for, [Quantile::P999, Quantile::P9999]);
        assert!(
            m.from_plan
                .voice(Voice::Upper)
                .too_few_samples_for
                .is_empty(),
            "nothing measured is not a few samples"
        );
        assert!(enough_samples(10, 0.9) && !enough_samples(9, 0.9));
        let needed = Quantile::ALL.map(Quantile::samples_needed);
        assert_eq!(needed, [2, 10, 100, 1000, 10_000]);
        assert!(enough_samples(10_000, 0.9999) && !enough_samples(9_999, 0.9999));
    }

    #[test]
    fn one_slow_echo_in_a_thousand_shows_at_p99_9_not_p99() {
        let mut m = Measurements::new();
        for _ in 0..999 {
            record(&mut m, Voice::Original, us(200));
        }
        record(&mut m, Voice::Original, Duration::from_millis(50));
        let p = m.from_plan.voice(Voice::Original);
        assert!(close(p.p99_ms, 0.2), "{p:?}");
        assert!(close(p.max_ms, 50.0), "{p:?}");
        assert!(
            close(p.p99_9_ms, 0.2),
            "the 999th of 1000 is still fast: {p:?}"
        );
    }

    #[test]
    fn samples_go_to_the_right_voice_and_histogram() {
        let mut m = Measurements::new();
        let mut samples = Samples::default();
        samples.push_echo(Voice::Upper, us(100), us(40), Duration::from_millis(5));
        samples.push_echo(Voice::Lower, us(3000), us(3000), Duration::from_millis(7));
        samples.push_echo(Voice::Lower, us(3000), us(2000), Duration::from_millis(9));
        samples.push_slip(us(60));
        samples.push_early(us(7000));
        samples.push_connect(us(250));
        samples.push_handshake(us(1500));
        assert_eq!(samples.len(), 7);
        m.add(&mut samples);
        assert!(samples.is_empty());
        record(&mut m, Voice::Original, us(10));
        assert_eq!(m.from_plan.voice(Voice::Upper).count, 1);
        assert_eq!(m.from_plan.voice(Voice::Original).count, 1);
        assert_eq!(m.from_plan.voice(Voice::Lower).count, 2);
        let all = m.from_plan.all();
        assert_eq!(all.count, 4);
        assert!(close(all.max_ms, 3.0), "{all:?}");
        assert!(close(m.from_send.voice(Voice::Upper).max_ms, 0.04));
        assert!(close(m.from_send.voice(Voice::Lower).min_ms, 2.0));
        assert_eq!(Summary::of(&m.slip).count, 1);
        assert!(close(Summary::of(&m.slip).max_ms, 0.06));
        assert!(close(Summary::of(&m.early_by).p50_ms, 7.0));
        assert!(close(Summary::of(&m.connect).p99_ms, 0.25));
        assert!(close(Summary::of(&m.handshake).p99_ms, 1.5));
        let ms = Duration::from_millis;
        assert_eq!(m.arrived_between(ms(5), ms(9)), 2);
        assert_eq!(m.arrived_between(ms(0), ms(10)), 4);
        assert_eq!(m.arrived_between(ms(9), ms(9)), 0);
    }

    #[test]
    fn an_echo_sample_keeps_its_voice_and_arrival_in_twelve_bytes() {
        assert_eq!(std::mem::size_of::<EchoSample>(), 12);
        let mut m = Measurements::new();
        let mut samples = Samples::default();
        let day = Duration::from_secs(86_400);
        samples.push_echo(Voice::Lower, us(5), us(5), day);
        samples.push_echo(
            Voice::Upper,
            us(5),
            us(5),
            Duration::from_secs(100 * 86_400),
        );
        m.add(&mut samples);
        assert_eq!(m.from_plan.voice(Voice::Lower).count, 1);
        assert_eq!(m.from_plan.voice(Voice::Upper).count, 1);
        // The second is clamped to the arrivals' bound, a day: counted there, not lost.
        let around_a_day = m.arrived_between(
            day - Duration::from_millis(200),
            day + Duration::from_millis(200),
        );
        assert_eq!(around_a_day, 2);
    }

    #[test]
    fn extremes_are_clamped_not_lost() {
        let mut m = Measurements::new();
        record(&mut m, Voice::Upper, Duration::ZERO);
        record(&mut m, Voice::Upper, Duration::from_secs(100_000));
        let p = m.from_plan.voice(Voice::Upper);
        assert_eq!(p.count, 2);
        assert!(p.max_ms <= 3_600_000.0 * 1.001, "{p:?}");
    }

    #[test]
    fn empty_is_all_zero() {
        let m = Measurements::new();
        assert_eq!(m.from_plan.all().count, 0);
        assert_eq!(m.from_plan.all().max_ms, 0.0);
        assert!(m.from_plan.all().too_few_samples_for.is_empty());
        assert_eq!(Summary::of(&m.slip).max_ms, 0.0);
    }
}
