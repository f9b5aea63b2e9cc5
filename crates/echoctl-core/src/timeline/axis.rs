//! The time axis the charts share, its ticks and their labels.

use std::time::Duration;

use super::Timeline;

/// The time axis one or more sessions share: from 0 to `end`, a whole number of `step`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    pub end: Duration,
    /// Ticks are at every multiple of this: the delay, or a multiple of it when ticks at every
    /// delay would be too close to draw.
    pub step: Duration,
}

/// What a zero delay (or a session without echoes) falls back to for its ticks.
const FALLBACK_STEP: Duration = Duration::from_secs(1);

impl Axis {
    /// An axis that covers every event of `timelines` and at least `at_least` (so a chart drawn
    /// after the first session of two can already use the scale both will need), ticked at every
    /// delay of the first timeline and ending on a tick.
    pub fn common(timelines: &[&Timeline], at_least: Duration) -> Axis {
        let step = timelines
            .first()
            .map(|timeline| timeline.delay)
            .filter(|delay| !delay.is_zero())
            .unwrap_or(FALLBACK_STEP);
        let last = timelines
            .iter()
            .map(|timeline| timeline.end())
            .chain([at_least])
            .max()
            .unwrap_or_default();
        let steps = last.as_nanos().div_ceil(step.as_nanos()).max(1);
        Axis {
            end: nanos(steps * step.as_nanos()),
            step,
        }
    }

    /// The same axis with ticks at a multiple of its step, so that there are at most `max_ticks`
    /// intervals; the end moves up to the next such tick.
    pub fn thinned(self, max_ticks: u32) -> Axis {
        let max_ticks = u128::from(max_ticks.max(1));
        let intervals = self.end.as_nanos().div_ceil(self.step.as_nanos());
        if intervals <= max_ticks {
            return self;
        }
        let step = nanos(self.step.as_nanos() * intervals.div_ceil(max_ticks));
        let steps = self.end.as_nanos().div_ceil(step.as_nanos());
        Axis {
            end: nanos(steps * step.as_nanos()),
            step,
        }
    }

    /// Every tick, 0 and the end included: [`Axis::thinned`] first, when the step may be small.
    pub fn ticks(&self) -> impl Iterator<Item = Duration> + '_ {
        let count = self.end.as_nanos() / self.step.as_nanos();
        (0..=u32::try_from(count).unwrap_or(u32::MAX)).map(|n| self.step * n)
    }

    /// Where `at` falls, from 0.0 (the start) to 1.0 (the end).
    pub fn fraction(&self, at: Duration) -> f64 {
        if self.end.is_zero() {
            0.0
        } else {
            (at.as_secs_f64() / self.end.as_secs_f64()).clamp(0.0, 1.0)
        }
    }
}

/// Which ticks get a label when not all fit: every `n`th, `n` the first of 1, 2, 4, 5, 10, 20,
/// 25, 50, 100... that puts labels further apart than `widest` (in the unit of `spacing`, the
/// distance between two ticks), so the labelled ticks stay regular.
pub fn label_stride(spacing: f64, widest: f64, ticks: usize) -> usize {
    let nice = [1, 2, 4, 5]
        .into_iter()
        .chain((0..18u32).flat_map(|power| [10, 20, 25, 50].map(|k| k * 10usize.pow(power))));
    nice.into_iter()
        .find(|&n| n as f64 * spacing > widest || n >= ticks)
        .unwrap_or(ticks.max(1))
}

fn nanos(nanos: u128) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A time on a chart (a tick, a wait), to the millisecond, as every duration is printed
/// ([`crate::duration::format`]): `0s`, `50ms`, `1.5s`.
pub fn time_label(at: Duration) -> String {
    let millis = (at.as_nanos() + 500_000) / 1_000_000;
    crate::duration::format(Duration::from_millis(
        u64::try_from(millis).unwrap_or(u64::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Recording;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn tick_labels_are_spread_regularly() {
        assert_eq!(label_stride(7.0, 2.0, 8), 1);
        assert_eq!(label_stride(2.0, 2.0, 18), 2);
        assert_eq!(label_stride(2.0, 5.0, 18), 4);
        assert_eq!(label_stride(1.0, 30.0, 100), 50);
        assert_eq!(
            label_stride(1.0, 30.0, 3),
            4,
            "no more than there are ticks"
        );
    }

    #[test]
    fn the_axis_ends_on_a_tick_and_thins_its_ticks() {
        let mut recording = Recording::new();
        recording.sent(Duration::ZERO, "x");
        recording.received(MS * 2001, "X");
        let timeline = Timeline::new(&recording, None, MS * 500);
        let axis = Axis::common(&[&timeline], Duration::ZERO);
        assert_eq!(
            axis,
            Axis {
                end: MS * 2500,
                step: MS * 500
            }
        );
        assert_eq!(axis.ticks().count(), 6);
        assert_eq!(Axis::common(&[&timeline], MS * 3000).end, MS * 3000);
        let thinned = axis.thinned(2);
        assert_eq!(
            thinned,
            Axis {
                end: MS * 3000,
                step: MS * 1500
            }
        );
        // A step of a nanosecond over a minute: far more than u32 steps, thinned to a few.
        recording.received(Duration::from_secs(60), "stray");
        let tiny = Timeline::new(&recording, None, Duration::from_nanos(1));
        let axis = Axis::common(&[&tiny], Duration::ZERO);
        assert_eq!(axis.end, Duration::from_secs(60));
        let thinned = axis.thinned(10);
        assert_eq!(thinned.ticks().count(), 11);
        assert_eq!(thinned.end, Duration::from_secs(60));
        let labels = [
            MS * 1500,
            MS * 50,
            Duration::ZERO,
            Duration::from_micros(1_499_600),
        ]
        .map(time_label);
        assert_eq!(labels, ["1.5s", "50ms", "0s", "1.5s"]);
    }
}
