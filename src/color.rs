//! Whether to color output: the one decision behind the global `--color` option.
//!
//! The decision is a pure function of the option, of whether the stream is a terminal and of a
//! few environment variables, so every rule is unit-tested without a terminal. The conventions
//! followed are the common ones (those of anstream and of no-color.org and the CLICOLOR page):
//!
//! * `--color always` and `--color never` are obeyed whatever the environment says: an explicit
//!   option beats an inherited variable;
//! * with `--color auto`, a non-empty `NO_COLOR` turns color off and wins over everything else;
//!   then `CLICOLOR_FORCE` or `FORCE_COLOR` (set, non-empty, not `0` or `false`) turns it on even
//!   in a pipe; otherwise color goes only to a terminal whose `TERM` is not `dumb`.

use std::ffi::OsString;

/// The values of `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Color a terminal, unless NO_COLOR is set; CLICOLOR_FORCE or FORCE_COLOR color a pipe too.
    #[default]
    Auto,
    /// Always color, even in a pipe or a file.
    Always,
    /// Never color.
    Never,
}

/// The environment variables that bear on color, read once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColorEnv {
    pub no_color: Option<OsString>,
    pub clicolor_force: Option<OsString>,
    pub force_color: Option<OsString>,
    pub term: Option<OsString>,
}

impl ColorEnv {
    /// Reads the variables of this process.
    pub fn from_process() -> ColorEnv {
        ColorEnv {
            no_color: std::env::var_os("NO_COLOR"),
            clicolor_force: std::env::var_os("CLICOLOR_FORCE"),
            force_color: std::env::var_os("FORCE_COLOR"),
            term: std::env::var_os("TERM"),
        }
    }
}

/// Whether output to a stream should be colored, given `--color`, whether the stream is a
/// terminal, and the environment.
pub fn use_color(choice: ColorChoice, is_terminal: bool, env: &ColorEnv) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if is_set(&env.no_color) {
                false
            } else if forces(&env.clicolor_force) || forces(&env.force_color) {
                true
            } else {
                is_terminal && !crate::term::is_dumb(env.term.as_deref())
            }
        }
    }
}

fn is_set(var: &Option<OsString>) -> bool {
    var.as_ref().is_some_and(|value| !value.is_empty())
}

/// `FORCE_COLOR=0` and `CLICOLOR_FORCE=0` are widely used to mean "do not force".
fn forces(var: &Option<OsString>) -> bool {
    is_set(var) && var.as_deref().is_some_and(|v| v != "0" && v != "false")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColorChoice::{Always, Auto, Never};

    fn env(pairs: &[(&str, &str)]) -> ColorEnv {
        let mut env = ColorEnv::default();
        for &(name, value) in pairs {
            let value = Some(OsString::from(value));
            match name {
                "NO_COLOR" => env.no_color = value,
                "CLICOLOR_FORCE" => env.clicolor_force = value,
                "FORCE_COLOR" => env.force_color = value,
                "TERM" => env.term = value,
                _ => panic!("not a color variable: {name}"),
            }
        }
        env
    }

    #[test]
    fn auto_colors_a_terminal_and_not_a_pipe() {
        assert!(use_color(Auto, true, &env(&[])));
        assert!(use_color(Auto, true, &env(&[("TERM", "xterm-256color")])));
        assert!(!use_color(Auto, false, &env(&[])));
    }

    #[test]
    fn always_and_never_ignore_the_stream_and_the_environment() {
        for tty in [true, false] {
            assert!(use_color(Always, tty, &env(&[("NO_COLOR", "1")])));
            assert!(!use_color(Never, tty, &env(&[("CLICOLOR_FORCE", "1")])));
            assert!(!use_color(Never, tty, &env(&[("FORCE_COLOR", "1")])));
        }
    }

    #[test]
    fn no_color_turns_auto_off_even_on_a_terminal_and_against_forcing() {
        assert!(!use_color(Auto, true, &env(&[("NO_COLOR", "1")])));
        let both = env(&[
            ("NO_COLOR", "1"),
            ("CLICOLOR_FORCE", "1"),
            ("FORCE_COLOR", "1"),
        ]);
        assert!(!use_color(Auto, true, &both));
        assert!(!use_color(Auto, false, &both));
    }

    #[test]
    fn an_empty_no_color_is_not_set() {
        assert!(use_color(Auto, true, &env(&[("NO_COLOR", "")])));
    }

    #[test]
    fn forcing_colors_a_pipe_unless_it_says_zero() {
        assert!(use_color(Auto, false, &env(&[("CLICOLOR_FORCE", "1")])));
        assert!(use_color(Auto, false, &env(&[("FORCE_COLOR", "3")])));
        assert!(!use_color(Auto, false, &env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!use_color(Auto, false, &env(&[("FORCE_COLOR", "0")])));
        assert!(!use_color(Auto, false, &env(&[("FORCE_COLOR", "false")])));
        assert!(!use_color(Auto, false, &env(&[("FORCE_COLOR", "")])));
    }

    #[test]
    fn a_dumb_terminal_gets_no_color_unless_forced() {
        assert!(!use_color(Auto, true, &env(&[("TERM", "dumb")])));
        assert!(use_color(
            Auto,
            true,
            &env(&[("TERM", "dumb"), ("FORCE_COLOR", "1")])
        ));
    }
}
