//! The man page's sections clap cannot derive: EXIT STATUS, ENVIRONMENT, one section per
//! heading of the help's `after_help` (plus [`more_examples`]), and SEE ALSO.

use std::time::Duration;

use clap::Command;
use clap_mangen::roff::{Roff, bold, roman};
use echoctl_core::script;

use super::super::BIN_NAME;
use crate::exit::ExitStatus;

/// An environment variable, documented on the pages of the commands it affects.
struct EnvVar {
    pub name: &'static str,
    /// The long option whose presence on a command means this variable affects it. Global
    /// options reach every subcommand, so their variables appear on every page.
    pub option: &'static str,
    pub text: &'static str,
}

const ENVIRONMENT: &[EnvVar] = &[
    EnvVar {
        name: "NO_COLOR",
        option: "color",
        text: "When set to a non-empty value, --color auto colors nothing, whatever \
               CLICOLOR_FORCE and FORCE_COLOR say. --color always still colors.",
    },
    EnvVar {
        name: "CLICOLOR_FORCE",
        option: "color",
        text: "When set to a non-empty value other than 0 or false, --color auto colors a pipe \
               or a file too.",
    },
    EnvVar {
        name: "FORCE_COLOR",
        option: "color",
        text: "Same as CLICOLOR_FORCE.",
    },
    EnvVar {
        name: "TERM",
        option: "color",
        text: "When dumb, --color auto does not color the terminal.",
    },
    EnvVar {
        name: "RUST_LOG",
        option: "verbose",
        text: "Filters the log lines on stderr, overriding -q and -v: for example error, info, \
               debug or trace.",
    },
];

/// Examples too long for `--help`, appended to the page of the command named (its
/// `after_help` format: a heading line, descriptions indented by two, commands by four).
fn more_examples(page: &str) -> Option<String> {
    (page == BIN_NAME).then(|| {
        // The session as the demo plays it, so the page and the demo cannot differ.
        let session = script::rehearse(&script::SEQUENTIAL, Duration::from_secs(1));
        let mut text = String::from(
            "\
Examples:
  The book's reverb1 session: shouts typed (flush left), echoes a second apart
  (indented); the third shout is typed while the second one still echoes:
    $ echoctl serve --mode sequential &
    $ echoctl connect",
        );
        for line in session.transcript() {
            text.push_str("\n    ");
            text.push_str(&line);
        }
        text
    })
}

/// The statuses of the command on `page` and what each means there
/// ([`ExitStatus::meaning_for`]); for the top page, what each means for the program.
pub(super) fn exit_status_section(roff: &mut Roff, page: &str) {
    roff.control("SH", ["EXIT STATUS"]);
    for (status, text) in exit_statuses(page) {
        roff.control("TP", []);
        roff.text([bold(status.code().to_string())]);
        roff.text([roman(text)]);
    }
}

fn exit_statuses(page: &str) -> Vec<(ExitStatus, &'static str)> {
    let command = page.strip_prefix(&format!("{BIN_NAME}-"));
    ExitStatus::ALL
        .into_iter()
        .filter_map(|status| {
            let text = match command {
                Some(command) => status.meaning_for(command)?,
                None => status.description(),
            };
            Some((status, text))
        })
        .collect()
}

pub(super) fn environment_section(roff: &mut Roff, cmd: &Command) {
    let has_option = |long: &str| {
        cmd.get_arguments()
            .any(|arg| !arg.is_hide_set() && arg.get_long() == Some(long))
    };
    let vars: Vec<&EnvVar> = ENVIRONMENT
        .iter()
        .filter(|var| has_option(var.option))
        .collect();
    if vars.is_empty() {
        return;
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for var in vars {
        roff.control("TP", []);
        roff.text([bold(var.name)]);
        roff.text([roman(var.text)]);
    }
}

/// The command's `after_long_help` (or `after_help`) and its [`more_examples`], one section
/// per heading, kept as laid out for the terminal.
pub(super) fn help_sections(roff: &mut Roff, cmd: &Command, page: &str) {
    let mut text = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|help| help.to_string())
        .unwrap_or_default();
    if let Some(more) = more_examples(page) {
        text.push('\n');
        text.push_str(&more);
    }
    for (heading, lines) in split_sections(&text) {
        roff.control("SH", [heading.as_str()]);
        roff.control("nf", []);
        for line in lines {
            if line.is_empty() {
                roff.control("sp", []);
            } else {
                roff.text([roman(line)]);
            }
        }
        roff.control("fi", []);
    }
}

/// Splits help text at its headings (unindented lines ending with `:`) into `(HEADING, lines)`,
/// each block stripped of its common indentation. Blocks under the same heading are joined, a
/// blank line apart, where the heading first appears. Text before the first heading goes under
/// NOTES.
fn split_sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if !line.starts_with(char::is_whitespace) && line.ends_with(':') {
            blocks.push((line.trim_end_matches(':').to_uppercase(), Vec::new()));
            continue;
        }
        if blocks.is_empty() {
            blocks.push(("NOTES".to_string(), Vec::new()));
        }
        if let Some((_, lines)) = blocks.last_mut() {
            lines.push(line);
        }
    }
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for (heading, lines) in blocks {
        let lines = dedent(&lines);
        if lines.is_empty() {
            continue;
        }
        match sections
            .iter_mut()
            .find(|(existing, _)| *existing == heading)
        {
            Some((_, joined)) => {
                joined.push(String::new());
                joined.extend(lines);
            }
            None => sections.push((heading, lines)),
        }
    }
    sections
}

fn dedent(lines: &[&str]) -> Vec<String> {
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut lines: Vec<String> = lines
        .iter()
        // Indentation in other than ASCII spaces may not split at `indent`; such a line keeps
        // its words at least.
        .map(|line| line.get(indent..).unwrap_or(line.trim_start()).to_string())
        .collect();
    while lines.first().is_some_and(String::is_empty) {
        lines.remove(0);
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

pub(super) fn see_also_section(roff: &mut Roff, page: &str, all_pages: &[String]) {
    let others: Vec<&String> = all_pages.iter().filter(|name| *name != page).collect();
    if others.is_empty() {
        return;
    }
    roff.control("SH", ["SEE ALSO"]);
    // Page names must not be hyphenated or stretched; being the last section, nothing after it
    // needs these restored.
    roff.control("nh", []);
    roff.control("na", []);
    let mut line = Vec::new();
    for (i, name) in others.iter().enumerate() {
        line.push(bold(name.as_str()));
        let separator = if i + 1 < others.len() { "(1), " } else { "(1)" };
        line.push(roman(separator));
    }
    roff.text(line);
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::super::{page_name, visible_commands};
    use super::*;
    use crate::cli::Cli;

    #[test]
    fn help_text_splits_at_headings_and_loses_only_common_indentation() {
        let sections = split_sections(
            "Examples:\n  Say hello:\n    echoctl connect\n\nInstall:\n  bash\nExamples:\n  more",
        );
        assert_eq!(
            sections,
            vec![
                (
                    "EXAMPLES".to_string(),
                    vec![
                        "Say hello:".to_string(),
                        "  echoctl connect".to_string(),
                        String::new(),
                        "more".to_string()
                    ]
                ),
                ("INSTALL".to_string(), vec!["bash".to_string()]),
            ]
        );
    }

    #[test]
    fn text_before_any_heading_is_notes() {
        assert_eq!(
            split_sections("  plain words\n"),
            vec![("NOTES".to_string(), vec!["plain words".to_string()])]
        );
    }

    #[test]
    fn every_command_documents_its_statuses_and_every_status_is_documented() {
        let mut root = Cli::command().disable_help_subcommand(true);
        root.build();
        let mut commands = Vec::new();
        visible_commands(&root, &mut commands);
        let pages: Vec<String> = commands.iter().map(|cmd| page_name(cmd)).collect();
        assert_eq!(exit_statuses(BIN_NAME).len(), ExitStatus::ALL.len());
        for page in &pages[1..] {
            let statuses: Vec<ExitStatus> =
                exit_statuses(page).into_iter().map(|(s, _)| s).collect();
            for status in [ExitStatus::Success, ExitStatus::Failure, ExitStatus::Usage] {
                assert!(statuses.contains(&status), "{page} lacks {status:?}");
            }
        }
        for status in ExitStatus::ALL {
            assert!(
                pages[1..]
                    .iter()
                    .any(|page| exit_statuses(page).iter().any(|(s, _)| *s == status)),
                "{status:?} is on no command's page"
            );
        }
    }

    #[test]
    fn color_variables_appear_exactly_where_a_color_option_exists() {
        let page = |cmd: Command| {
            let mut roff = Roff::new();
            environment_section(&mut roff, &cmd);
            roff.render()
        };
        let with_color = page(Command::new("x").arg(clap::Arg::new("color").long("color")));
        assert!(with_color.contains("NO_COLOR") && with_color.contains("FORCE_COLOR"));
        assert!(!with_color.contains("RUST_LOG"));
        let plain = page(Command::new("x"));
        assert!(!plain.contains("ENVIRONMENT"), "{plain}");
    }
}
