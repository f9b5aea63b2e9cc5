//! What only some connections have, in one box beside the connection: the faults it drew
//! (`serve --fault`) and who watches it (`--trace`, `--hex-dump`), and how its plain echo moves
//! its bytes, which depends on both.

use echoctl_core::fault::Drawn;
use echoctl_core::fault::shaper::{Shaper, Stream as Writes};

use super::{Connection, Kind};
use crate::server::Mode;
use crate::server::observer::{Observe, Observer};
use crate::transport::Transport;

/// What only some connections have: the faults drawn, at work, and who watches.
#[derive(Default)]
pub(super) struct Extras {
    faults: Option<Shaper>,
    observer: Option<Observer>,
}

impl Extras {
    /// Both at once, each borrowed apart from the other.
    pub(super) fn both(&mut self) -> (Option<&mut Shaper>, Option<&mut Observer>) {
        (self.faults.as_mut(), self.observer.as_mut())
    }
}

impl<S: Transport, K: Kind> Connection<S, K> {
    /// Puts the faults the connection `drawn` to work on what it writes.
    pub(crate) fn with_faults(mut self, drawn: Option<Drawn>) -> Self {
        let writes = match self.config.mode {
            Mode::Plain => Writes::Bytes,
            Mode::Sequential | Mode::Concurrent => Writes::EchoLines,
        };
        if let Some(drawn) = drawn {
            self.extras.get_or_insert_default().faults = Some(Shaper::new(drawn, writes));
        }
        self
    }

    /// Has `observe` watch the connection, if anything watches the server.
    pub(crate) fn observed_by(mut self, observe: &Observe) -> Self {
        let plain = self.config.mode == Mode::Plain;
        if let Some(observer) = observe.connection(&self.peer, plain) {
            self.extras.get_or_insert_default().observer = Some(observer);
        }
        self
    }

    /// The faults the connection drew, if any.
    pub(super) fn faults(&self) -> Option<&Shaper> {
        self.extras.as_deref()?.faults.as_ref()
    }

    /// Who watches the connection, if anyone.
    pub(super) fn observer(&mut self) -> Option<&mut Observer> {
        self.extras.as_deref_mut()?.observer.as_mut()
    }

    /// How the plain echo moves this connection's bytes, for the logs.
    pub(super) fn plain_path(&mut self) -> &'static str {
        #[cfg(target_os = "linux")]
        if self.splices() {
            return "splice(2) while it streams (socket to pipe to socket, in the kernel), \
                    copy for small reads";
        }
        if self.config.bytes_must_be_seen() {
            "copy: the bytes must be seen"
        } else {
            "copy: no splice(2) for this socket here"
        }
    }
}
