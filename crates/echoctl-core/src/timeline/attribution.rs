//! Which shout and voice each echo line repeats.
//!
//! An echo line is matched to the shout and voice it repeats, using [`crate::echo`]'s case mapping:
//! equal to a shout's upper-case form it is that shout's loud echo, equal to the shout it is the
//! echo as sent, equal to its lower-case form the quiet one. A shout owes its voices in order
//! (the server writes them in order and TCP keeps it), so an echo goes to the oldest shout, sent
//! before the echo arrived, whose next owed voice has that text. A line that matches none (a
//! server's message, an echo of a shout typed elsewhere) is kept apart in
//! [`Timeline::unattributed`](super::Timeline::unattributed), never guessed onto a row.

use std::time::Duration;

use super::{EMPTY_SHOUT, Mark, Received, Recording, Row, Sent, Stray, label};
use crate::echo::Voice;

/// Matches every received line to a shout's voice (see the module docs).
pub(super) fn attribute(recording: &Recording) -> (Vec<Row>, Vec<Stray>) {
    let mut rows: Vec<Row> = recording
        .shouts
        .iter()
        .map(|shout| Row {
            label: if shout.text.is_empty() {
                EMPTY_SHOUT.to_string()
            } else {
                label(&shout.text)
            },
            sent: shout.at,
            marks: Vec::new(),
            waited: None,
        })
        .collect();
    let mut unattributed = Vec::new();
    let mut attribution = Attribution::new();
    let mut lines: Vec<&Received> = recording.lines.iter().collect();
    lines.sort_by_key(|line| line.at); // stable: equal times keep their order of arrival
    for line in lines {
        match attribution.attribute(&recording.shouts, line.at, &line.text) {
            Some((index, voice)) => rows[index].marks.push(Mark { voice, at: line.at }),
            None => unattributed.push(Stray {
                label: label(&line.text),
                at: line.at,
            }),
        }
    }
    (rows, unattributed)
}

/// Attributes echoes one at a time, in the order they arrive: the one mechanism behind
/// [`Timeline`] (which feeds it a recording's lines in time order) and `connect`'s live voices
/// (which feeds it each line as it comes off the wire).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// For each shout, how many of its voices have been heard.
    heard: Vec<usize>,
    /// Every shout before this one has been heard in all its voices: where the search starts.
    first_owed: usize,
}

impl Attribution {
    pub fn new() -> Attribution {
        Attribution::default()
    }

    /// The shout (its index in `shouts`, the shouts sent so far in order) and voice that the echo
    /// text `text`, received at `at`, repeats: the oldest shout sent by then whose next owed voice
    /// has that text (see the module docs). `None` when it matches none.
    pub fn attribute(
        &mut self,
        shouts: &[Sent],
        at: Duration,
        text: &[u8],
    ) -> Option<(usize, Voice)> {
        if self.heard.len() < shouts.len() {
            self.heard.resize(shouts.len(), 0);
        }
        let heard = &self.heard;
        let owed = shouts
            .iter()
            .enumerate()
            .skip(self.first_owed)
            .position(|(index, shout)| {
                let next = Voice::ALL.get(heard[index]);
                shout.at <= at && next.is_some_and(|voice| voice.text(&shout.text) == text)
            })?
            + self.first_owed;
        let voice = Voice::ALL[self.heard[owed]];
        self.heard[owed] += 1;
        while self
            .heard
            .get(self.first_owed)
            .is_some_and(|&heard| heard == Voice::ALL.len())
        {
            self.first_owed += 1;
        }
        Some((owed, voice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Timeline;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn an_echo_goes_to_the_oldest_shout_owed_that_voice() {
        let mut recording = Recording::new();
        recording.sent(Duration::ZERO, "Ab");
        recording.sent(MS * 1, "Ab");
        for at in [2, 3, 10, 11, 20, 21] {
            let voice = [Voice::Upper, Voice::Original, Voice::Lower][(at / 10) as usize];
            recording.received(MS * at, voice.text(b"Ab"));
        }
        let timeline = Timeline::new(&recording, None, MS * 10);
        let times: Vec<Vec<Duration>> = timeline
            .rows
            .iter()
            .map(|row| row.marks.iter().map(|mark| mark.at).collect())
            .collect();
        assert_eq!(
            times,
            [
                vec![MS * 2, MS * 10, MS * 20],
                vec![MS * 3, MS * 11, MS * 21]
            ]
        );
        assert!(timeline.unattributed.is_empty());
    }

    #[test]
    fn identical_voices_are_taken_in_order() {
        let mut recording = Recording::new();
        recording.sent(Duration::ZERO, "42");
        for at in [1, 11, 21] {
            recording.received(MS * at, "42");
        }
        let timeline = Timeline::new(&recording, None, MS * 10);
        let voices: Vec<Voice> = timeline.rows[0].marks.iter().map(|m| m.voice).collect();
        assert_eq!(voices, Voice::ALL);
    }

    #[test]
    fn lines_that_match_no_shout_are_kept_apart() {
        let mut recording = Recording::new();
        recording.received_line(Duration::ZERO, b"server is full\n");
        recording.sent(MS * 1, "hi");
        // Before the shout was sent: cannot be its echo.
        recording.received_line(Duration::ZERO, b"\t HI\n");
        recording.received_line(MS * 2, b"\t hi\n"); // its quiet voice, but the loud one is owed
        recording.received_line(MS * 3, b"\t HI\n");
        let timeline = Timeline::new(&recording, None, MS * 10);
        let strays: Vec<&str> = timeline
            .unattributed
            .iter()
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(strays, ["server is full", "HI", "hi"]);
        assert_eq!(
            timeline.rows[0].marks,
            [Mark {
                voice: Voice::Upper,
                at: MS * 3
            }]
        );
    }
}
