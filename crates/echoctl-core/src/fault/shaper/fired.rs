//! What a connection is told to do once its stream is cut: the [`Action`] of the fault that
//! cut it and the [`Fired`] record its log names.

use std::fmt;

use super::Stream;
use crate::fault::{Count, Unit};
use crate::plural::counted;

/// What a count-triggered fault does once its count is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reset the connection (RST).
    Reset,
    /// Stop reading and writing, and hold the connection open.
    Stall,
    /// Close the connection (FIN), nothing more said.
    Close,
}

/// A terminal fault that fired: what it does, and after how much. Its count is kept flat, so
/// that it is as small as the other reasons a connection ends, which every connection's task
/// has room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    n: u64,
    unit: Unit,
    action: Action,
    stream: Stream,
}

impl Fired {
    pub(super) fn new(action: Action, after: Count, stream: Stream) -> Fired {
        Fired {
            n: after.n,
            unit: after.unit,
            action,
            stream,
        }
    }

    /// What it does.
    pub fn action(&self) -> Action {
        self.action
    }
}

/// `reset after 5 echo lines`, `closed after 100 bytes`, `stalled after 0 lines`.
impl fmt::Display for Fired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Reset => "reset",
            Action::Stall => "stalled",
            Action::Close => "closed",
        };
        let what = match (self.unit, self.stream) {
            (Unit::Bytes, _) => "byte",
            (Unit::Lines, Stream::EchoLines) => "echo line",
            (Unit::Lines, Stream::Bytes) => "line",
        };
        write!(f, "{action} after {}", counted(self.n, what))
    }
}
