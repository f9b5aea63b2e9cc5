//! The shell completion scripts: clap_complete's, from the definition as a user sees it in
//! `--help`.

use clap::{Command, CommandFactory, ValueEnum};
use clap_complete::{Generator, Shell};

use super::BIN_NAME;
use crate::cli::Cli;

/// Every shell clap_complete supports, in a fixed order.
pub fn shells() -> &'static [Shell] {
    Shell::value_variants()
}

/// The conventional file name of `shell`'s script: `echoctl.bash`, `_echoctl`, ...
pub(super) fn completion_file_name(shell: Shell) -> String {
    shell.file_name(BIN_NAME)
}

/// The completion script for `shell`. It completes the `help` subcommand, which works;
/// [`man_pages`] drops it, as it has nothing to document.
///
/// clap_complete is given the definition as a user sees it in `--help` ([`as_offered`]), and
/// bash's script is wrapped so that it offers options only once a `-` is typed
/// ([`BASH_OPTIONS_AFTER_DASH`]).
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut built = Cli::command();
    built.build();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut as_offered(&built), BIN_NAME, &mut script);
    if shell == Shell::Fish {
        // fish offers file names where a command takes an argument it has no completions for
        // (connect's ADDR); no positional argument of echoctl's is a file.
        let mut text = String::from_utf8_lossy(&script).into_owned();
        // Nor does it offer the values of a positional argument (completions' SHELL).
        for sub in built.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            let values: Vec<String> = sub
                .get_positionals()
                .flat_map(|arg| arg.get_possible_values())
                .filter(|value| !value.is_hide_set())
                .map(|value| value.get_name().to_string())
                .collect();
            let offer = if values.is_empty() {
                String::new()
            } else {
                format!(" -a \"{}\"", values.join(" "))
            };
            text.push_str(&format!(
                "complete -c {BIN_NAME} -n \"__fish_{BIN_NAME}_using_subcommand {}\" -f{offer}\n",
                sub.get_name()
            ));
        }
        script = text.into_bytes();
    }
    if shell == Shell::Bash {
        let text = String::from_utf8_lossy(&script).into_owned();
        let function = format!("_{BIN_NAME}");
        let wrapped = text.replace(
            &format!("complete -F {function} "),
            &format!("complete -F {function}_options_after_dash "),
        );
        script = format!("{wrapped}{}", BASH_OPTIONS_AFTER_DASH).into_bytes();
    }
    script
}

/// Appended to the bash script: clap's offers every option at an argument's place, which makes
/// bash insert their common prefix, a `-`, at `echoctl connect <TAB>`; and an empty offer
/// falls back to file names (`-o default`), where only a path wants them (and clap's script
/// offers those itself). So: options only after a `-`, no file names by default, and no empty
/// word (clap's offer for a value it cannot complete).
const BASH_OPTIONS_AFTER_DASH: &str = r#"
_echoctl_options_after_dash() {
    _echoctl "$@"
    local cur="${COMP_WORDS[COMP_CWORD]}" word
    compopt +o default +o bashdefault 2> /dev/null
    if [[ ${cur} != -* ]]; then
        local offered=()
        for word in "${COMPREPLY[@]}"; do
            [[ ${word} == -* || -z ${word} ]] || offered+=("${word}")
        done
        COMPREPLY=("${offered[@]}")
    fi
}
"#;

/// A copy of the built definition `cmd` for clap_complete, as `--help` offers it: without the
/// hidden arguments (clap_complete offers those too), each description the first sentence of
/// its help, and a value without a hint (an address, a duration, a size, a count; a path, such
/// as demo's --svg, says so) marked as no file, for the shells to offer no file names.
fn as_offered(cmd: &Command) -> Command {
    let mut offered = Command::new(cmd.get_name().to_string())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true);
    if let Some(about) = cmd.get_about() {
        offered = offered.about(first_sentence(&about.to_string()));
    }
    if let Some(bin_name) = cmd.get_bin_name() {
        offered = offered.bin_name(bin_name.to_string());
    }
    if let Some(version) = cmd.get_version() {
        offered = offered.version(version.to_string());
    }
    for arg in cmd.get_arguments().filter(|arg| !arg.is_hide_set()) {
        // Built, every command holds its own copy of the global options already.
        let mut arg = arg.clone().global(false);
        if let Some(help) = arg.get_help().map(|help| first_sentence(&help.to_string())) {
            arg = arg.help(help);
        }
        let takes_a_word = arg.get_action().takes_values() && arg.get_possible_values().is_empty();
        if takes_a_word && arg.get_value_hint() == clap::ValueHint::Unknown {
            arg = arg.value_hint(clap::ValueHint::Other);
        }
        offered = offered.arg(arg);
    }
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        offered = offered.subcommand(as_offered(sub));
    }
    offered
}

/// The first sentence of a help text, without its period and without clap's "(see more with
/// '--help')": what a shell shows beside a completion.
fn first_sentence(help: &str) -> String {
    let help = help.replace(" (see more with '--help')", "");
    // A sentence ends at a period before a capital: "e.g. 1s" goes on.
    let end = help
        .match_indices(". ")
        .map(|(at, _)| at)
        .find(|&at| help[at + 2..].starts_with(|c: char| c.is_uppercase()))
        .unwrap_or(help.len());
    help[..end].trim_end_matches('.').to_string()
}
