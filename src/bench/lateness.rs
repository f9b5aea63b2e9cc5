//! Lateness statistics: one histogram per voice, read as percentiles.
//!
//! HdrHistogram keeps every percentile within 0.1 % (three significant digits) in a fixed amount
//! of memory, whatever the number of samples, and merges exactly; a sorted vector of every sample
//! would need memory in proportion to the run, and a fixed-bucket histogram would lose the
//! sub-millisecond resolution the server's targets are stated in. Samples are kept in
//! microseconds, from 0 up to an hour (anything later is clamped to an hour).
//!
//! Connection tasks do not each own histograms (three of them per connection would cost megabytes
//! at 10,000 connections); they collect a few hundred [`Samples`] and add them to the shared
//! [`Lateness`] in one go.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::echo::Voice;

const MAX_MICROS: u64 = 3_600_000_000;
const SIGNIFICANT_DIGITS: u8 = 3;

/// Lateness of every echo line heard, by voice.
#[derive(Debug, Clone)]
pub struct Lateness {
    by_voice: [Histogram<u64>; 3],
}

/// The percentiles of one set of lateness samples, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p99_9_ms: f64,
    pub max_ms: f64,
}

impl Default for Lateness {
    fn default() -> Self {
        Self::new()
    }
}

impl Lateness {
    pub fn new() -> Self {
        let histogram = || {
            // The bounds are constants that hdrhistogram accepts (1 ≤ low, high ≥ 2 × low, 3
            // digits); a failure here is a bug in this file, caught by the tests.
            Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_DIGITS)
                .expect("valid histogram bounds")
        };
        Lateness {
            by_voice: [histogram(), histogram(), histogram()],
        }
    }

    pub fn add(&mut self, samples: &mut Samples) {
        for (voice, micros) in samples.0.drain(..) {
            self.by_voice[usize::from(voice)].saturating_record(u64::from(micros).min(MAX_MICROS));
        }
    }

    pub fn voice(&self, voice: Voice) -> Percentiles {
        percentiles(&self.by_voice[voice.index()])
    }

    /// All three voices together.
    pub fn all(&self) -> Percentiles {
        let mut all = self.by_voice[0].clone();
        for other in &self.by_voice[1..] {
            let _ = all.add(other);
        }
        percentiles(&all)
    }
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    let ms = |micros: u64| micros as f64 / 1000.0;
    if h.is_empty() {
        return Percentiles {
            count: 0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            p99_9_ms: 0.0,
            max_ms: 0.0,
        };
    }
    Percentiles {
        count: h.len(),
        p50_ms: ms(h.value_at_quantile(0.50)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        p99_9_ms: ms(h.value_at_quantile(0.999)),
        max_ms: ms(h.max()),
    }
}

/// Lateness samples collected by one connection before they are added to the shared histograms.
#[derive(Debug, Default)]
pub struct Samples(Vec<(u8, u32)>);

impl Samples {
    /// How many samples a connection collects before handing them over.
    pub const BATCH: usize = 256;

    pub fn push(&mut self, voice: Voice, lateness: Duration) {
        let micros = u32::try_from(lateness.as_micros()).unwrap_or(u32::MAX);
        // Voice::index is 0..3, which fits a u8.
        self.0.push((voice.index() as u8, micros));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// One sample, added the way connections add theirs.
    fn record(lateness: &mut Lateness, voice: Voice, late: Duration) {
        let mut samples = Samples::default();
        samples.push(voice, late);
        lateness.add(&mut samples);
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 0.001 + 1e-9
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut lateness = Lateness::new();
        // 1..=1000 microseconds, once each.
        for n in 1..=1000 {
            record(&mut lateness, Voice::Upper, us(n));
        }
        let p = lateness.voice(Voice::Upper);
        assert_eq!(p.count, 1000);
        assert!(close(p.p50_ms, 0.5), "{p:?}");
        assert!(close(p.p99_ms, 0.99), "{p:?}");
        assert!(close(p.p99_9_ms, 0.999), "{p:?}");
        assert!(close(p.max_ms, 1.0), "{p:?}");
        assert_eq!(lateness.voice(Voice::Lower).count, 0);
    }

    #[test]
    fn one_slow_echo_in_a_thousand_shows_at_p99_9_not_p99() {
        let mut lateness = Lateness::new();
        for _ in 0..999 {
            record(&mut lateness, Voice::Original, us(200));
        }
        record(&mut lateness, Voice::Original, Duration::from_millis(50));
        let p = lateness.voice(Voice::Original);
        assert!(close(p.p99_ms, 0.2), "{p:?}");
        assert!(close(p.max_ms, 50.0), "{p:?}");
        assert!(
            close(p.p99_9_ms, 0.2),
            "the 999th of 1000 is still fast: {p:?}"
        );
    }

    #[test]
    fn samples_go_to_the_right_voice_and_all_counts_every_voice() {
        let mut lateness = Lateness::new();
        let mut samples = Samples::default();
        samples.push(Voice::Upper, us(100));
        samples.push(Voice::Lower, us(3000));
        samples.push(Voice::Lower, us(3000));
        lateness.add(&mut samples);
        assert!(samples.is_empty());
        record(&mut lateness, Voice::Original, us(10));
        assert_eq!(lateness.voice(Voice::Upper).count, 1);
        assert_eq!(lateness.voice(Voice::Original).count, 1);
        assert_eq!(lateness.voice(Voice::Lower).count, 2);
        let all = lateness.all();
        assert_eq!(all.count, 4);
        assert!(close(all.max_ms, 3.0), "{all:?}");
    }

    #[test]
    fn extremes_are_clamped_not_lost() {
        let mut lateness = Lateness::new();
        record(&mut lateness, Voice::Upper, Duration::ZERO);
        record(&mut lateness, Voice::Upper, Duration::from_secs(100_000));
        let p = lateness.voice(Voice::Upper);
        assert_eq!(p.count, 2);
        assert!(p.max_ms <= 3_600_000.0 * 1.001, "{p:?}");
    }

    #[test]
    fn empty_is_all_zero() {
        assert_eq!(Lateness::new().all().count, 0);
        assert_eq!(Lateness::new().all().max_ms, 0.0);
    }
}
