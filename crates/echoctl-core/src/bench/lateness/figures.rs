//! A histogram read as figures in milliseconds: every [`Percentiles`] of a lateness (and the
//! [`Quantile`]s it has too few samples for), and the three of a [`Summary`].

use hdrhistogram::Histogram;
use serde::Serialize;

/// The figures of one set of lateness samples, in milliseconds.
///
/// A percentile needs enough samples to mean anything: p99.9 of fewer than 1,000 samples is the
/// largest of them. Those it has too few samples for are named in `too_few_samples_for` (and
/// marked in the table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p99_9_ms: f64,
    pub max_ms: f64,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p90_ms: f64,
    pub p99_99_ms: f64,
    pub too_few_samples_for: Vec<Quantile>,
}

/// A percentile a [`Percentiles`] carries beside min, mean and max; in JSON, its field's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Quantile {
    #[serde(rename = "p50_ms")]
    P50,
    #[serde(rename = "p90_ms")]
    P90,
    #[serde(rename = "p99_ms")]
    P99,
    #[serde(rename = "p99_9_ms")]
    P999,
    #[serde(rename = "p99_99_ms")]
    P9999,
}

impl Quantile {
    /// In the order a [`Percentiles`] is read: from the median to the rarest.
    pub const ALL: [Quantile; 5] = [
        Quantile::P50,
        Quantile::P90,
        Quantile::P99,
        Quantile::P999,
        Quantile::P9999,
    ];

    /// The fraction of samples at or below this percentile: 0.5 for p50.
    pub fn fraction(self) -> f64 {
        match self {
            Quantile::P50 => 0.50,
            Quantile::P90 => 0.90,
            Quantile::P99 => 0.99,
            Quantile::P999 => 0.999,
            Quantile::P9999 => 0.9999,
        }
    }

    /// Its name in the table's heading: `p50`, `p99.9`.
    pub fn heading(self) -> &'static str {
        match self {
            Quantile::P50 => "p50",
            Quantile::P90 => "p90",
            Quantile::P99 => "p99",
            Quantile::P999 => "p99.9",
            Quantile::P9999 => "p99.99",
        }
    }

    /// The fewest samples for which it is more than the max: 1 / (1 − fraction).
    pub fn samples_needed(self) -> u64 {
        samples_needed(self.fraction())
    }
}

impl Percentiles {
    /// The figure at `quantile`, in milliseconds.
    pub fn at(&self, quantile: Quantile) -> f64 {
        match quantile {
            Quantile::P50 => self.p50_ms,
            Quantile::P90 => self.p90_ms,
            Quantile::P99 => self.p99_ms,
            Quantile::P999 => self.p99_9_ms,
            Quantile::P9999 => self.p99_99_ms,
        }
    }
}

/// Whether `count` samples are enough for the percentile at `quantile` to be more than the max:
/// at least 1 / (1 − quantile) of them.
pub fn enough_samples(count: u64, quantile: f64) -> bool {
    count >= samples_needed(quantile)
}

/// The fewest samples for which the percentile at `quantile` is more than the max.
fn samples_needed(quantile: f64) -> u64 {
    (1.0 / (1.0 - quantile)).round() as u64
}

/// Three figures of a distribution that is not the lateness (the send slip, connect times), in
/// milliseconds; all zero when nothing was measured (`count` 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

impl Summary {
    pub fn of(h: &Histogram<u64>) -> Summary {
        if h.is_empty() {
            return Summary {
                count: 0,
                p50_ms: 0.0,
                p99_ms: 0.0,
                max_ms: 0.0,
            };
        }
        Summary {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// The figures of `h`, a histogram of microseconds: every percentile, min, mean and max.
pub fn percentiles(h: &Histogram<u64>) -> Percentiles {
    let count = h.len();
    let at = |q: f64| {
        if count == 0 {
            0.0
        } else {
            ms(h.value_at_quantile(q))
        }
    };
    Percentiles {
        count,
        p50_ms: at(Quantile::P50.fraction()),
        p99_ms: at(Quantile::P99.fraction()),
        p99_9_ms: at(Quantile::P999.fraction()),
        max_ms: if count == 0 { 0.0 } else { ms(h.max()) },
        min_ms: if count == 0 { 0.0 } else { ms(h.min()) },
        mean_ms: if count == 0 { 0.0 } else { h.mean() / 1000.0 },
        p90_ms: at(Quantile::P90.fraction()),
        p99_99_ms: at(Quantile::P9999.fraction()),
        too_few_samples_for: Quantile::ALL
            .into_iter()
            .filter(|q| count > 0 && !enough_samples(count, q.fraction()))
            .collect(),
    }
}
