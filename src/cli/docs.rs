//! Shell completions and man pages, generated from the one clap definition in [`crate::cli`].
//!
//! Both are committed (`completions/`, `man/`) so that users and packagers get them without a
//! Rust toolchain, and `tests/suite/docs.rs` fails whenever a committed file differs from what the
//! definition generates now, naming [`REGENERATE`]. Generating reads neither the clock nor the
//! environment, so the output is the same on every machine and the test can compare bytes.
//!
//! Completions are clap_complete's scripts, unchanged. Man pages are clap_mangen's NAME,
//! SYNOPSIS, DESCRIPTION, OPTIONS and SUBCOMMANDS, followed by sections clap cannot derive:
//!
//! * EXIT STATUS and ENVIRONMENT, from [`crate::exit::DOCUMENTED`] and the table `ENVIRONMENT`
//!   below, each entry on the pages it applies to;
//! * one section per block of the command's `after_help` (`Examples:` becomes EXAMPLES), so
//!   `--help` and the man page show the same examples, plus the longer ones in
//!   `MORE_EXAMPLES`;
//! * SEE ALSO, linking every page.
//!
//! One page is made per visible command, found by walking the definition, so a subcommand added
//! later gets its page from the regenerate command alone, and hidden ones get none. (The
//! completion scripts do offer hidden subcommands: clap_complete does not filter them.)

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Command, CommandFactory, ValueEnum};
use clap_complete::{Generator, Shell};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use super::Cli;
use crate::exit;

/// Regenerates `completions/` and `man/` (`examples/generate-docs.rs`), from anywhere in the
/// repository.
pub const REGENERATE: &str = "cargo run --quiet --example generate-docs";

/// Where the completion scripts go, relative to the output directory.
pub const COMPLETIONS_DIR: &str = "completions";

/// Where the man pages go, relative to the output directory.
pub const MAN_DIR: &str = "man";

const BIN_NAME: &str = "echoctl";

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
const MORE_EXAMPLES: &[(&str, &str)] = &[(
    "echoctl",
    "\
Examples:
  The book's reverb1 session: shouts typed (flush left), echoes a second apart
  (indented); the third shout is typed while the second one still echoes:
    $ echoctl serve --mode sequential &
    $ echoctl connect
    Hello?
        HELLO?
        Hello?
        hello?
    Is there anybody there?
        IS THERE ANYBODY THERE?
    Yooo-hooo!
        Is there anybody there?
        is there anybody there?
        YOOO-HOOO!
        Yooo-hooo!
        yooo-hooo!
    ^D",
)];

/// Every shell clap_complete supports, in a fixed order.
pub fn shells() -> &'static [Shell] {
    Shell::value_variants()
}

/// The conventional file name of `shell`'s script: `echoctl.bash`, `_echoctl`, ...
fn completion_file_name(shell: Shell) -> String {
    shell.file_name(BIN_NAME)
}

/// The completion script for `shell`. It completes the `help` subcommand, which works;
/// [`man_pages`] drops it, as it has nothing to document.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN_NAME, &mut script);
    script
}

/// The man pages, `(file name, roff source)`: the top command's first, then every visible
/// subcommand's in definition order.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut commands = Vec::new();
    visible_commands(&root, &mut commands);
    let names: Vec<String> = commands.iter().map(|cmd| page_name(cmd)).collect();
    // Subcommands do not inherit the version; every page names the one of the program.
    let source = match root.get_version() {
        Some(version) => format!("{BIN_NAME} {version}"),
        None => BIN_NAME.to_string(),
    };
    commands
        .iter()
        .map(|cmd| {
            let page = man_page(cmd, &source, &names);
            (format!("{}.1", page_name(cmd)), page)
        })
        .collect()
}

/// Every generated file, as a path relative to the output directory and its contents.
pub fn generated_files() -> Vec<(PathBuf, Vec<u8>)> {
    let completions = shells().iter().map(|&shell| {
        (
            Path::new(COMPLETIONS_DIR).join(completion_file_name(shell)),
            completion(shell),
        )
    });
    let pages = man_pages()
        .into_iter()
        .map(|(name, page)| (Path::new(MAN_DIR).join(name), page));
    completions.chain(pages).collect()
}

/// What [`write_all`] did, paths relative to its output directory.
#[derive(Debug, Default)]
pub struct WriteReport {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
}

/// Writes every generated file under `out` and removes the files of ours that are no longer
/// generated (the page of a removed subcommand). Files already up to date are not rewritten, so
/// their timestamps say when they last changed.
pub fn write_all(out: &Path) -> io::Result<WriteReport> {
    let files = generated_files();
    let mut report = WriteReport::default();
    for (path, contents) in &files {
        let target = out.join(path);
        if std::fs::read(&target).is_ok_and(|old| old == *contents) {
            report.unchanged.push(path.clone());
            continue;
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&target, contents)?;
        report.written.push(path.clone());
    }
    let generated: BTreeSet<&PathBuf> = files.iter().map(|(path, _)| path).collect();
    for dir in [COMPLETIONS_DIR, MAN_DIR] {
        for entry in std::fs::read_dir(out.join(dir))? {
            let entry = entry?;
            let path = Path::new(dir).join(entry.file_name());
            // Only names we would generate: anything else in the folder was put there by
            // someone, and the staleness test points it out instead.
            let ours = entry.file_name().to_str().is_some_and(|name| {
                name.starts_with(BIN_NAME) || name.starts_with(&format!("_{BIN_NAME}"))
            });
            if ours && entry.file_type()?.is_file() && !generated.contains(&path) {
                std::fs::remove_file(entry.path())?;
                report.removed.push(path);
            }
        }
    }
    Ok(report)
}

fn visible_commands<'a>(cmd: &'a Command, into: &mut Vec<&'a Command>) {
    into.push(cmd);
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        visible_commands(sub, into);
    }
}

/// `echoctl`, `echoctl-serve`, ...: clap sets the display name of a built subcommand so.
fn page_name(cmd: &Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

fn man_page(cmd: &Command, source: &str, all_pages: &[String]) -> Vec<u8> {
    let name = page_name(cmd);
    let man = Man::new(cmd.clone());
    let mut page = Vec::new();
    // Vec<u8> as a writer cannot fail, hence the expects.
    title(&name, source)
        .to_writer(&mut page)
        .expect("write to a Vec");
    let mut clap_section = |render: fn(&Man, &mut dyn Write) -> io::Result<()>| {
        let mut section = Vec::new();
        render(&man, &mut section).expect("write to a Vec");
        page.extend_from_slice(without_preamble(&section));
    };
    clap_section(Man::render_name_section);
    clap_section(Man::render_synopsis_section);
    clap_section(Man::render_description_section);
    if cmd.get_arguments().any(|arg| !arg.is_hide_set()) {
        clap_section(Man::render_options_section);
    }
    if cmd.get_subcommands().any(|sub| !sub.is_hide_set()) {
        clap_section(Man::render_subcommands_section);
    }

    let mut roff = Roff::new();
    exit_status_section(&mut roff);
    environment_section(&mut roff, cmd);
    help_sections(&mut roff, cmd, &name);
    see_also_section(&mut roff, &name, all_pages);
    let mut extra = Vec::new();
    roff.to_writer(&mut extra).expect("write to a Vec");
    page.extend_from_slice(without_preamble(&extra));
    escape_non_ascii(&String::from_utf8_lossy(&page)).into_bytes()
}

/// Replaces every character outside ASCII by its groff escape, `×` by `\[u00D7]`: groff 1.22
/// reads its input as Latin-1, so a UTF-8 `×` in a help text would come out as two wrong
/// characters and a warning. man-db, mandoc and groff all know these escapes.
pub fn escape_non_ascii(roff: &str) -> String {
    let mut escaped = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            escaped.push(c);
        } else {
            escaped.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    escaped
}

/// `.TH ECHOCTL-SERVE 1 "" "echoctl 0.1.0" "User Commands"`. clap_mangen's own title line drops
/// the empty date argument (shifting the others into its place) and an empty date is the point:
/// the page must not change with the day it is generated.
fn title(page: &str, source: &str) -> Roff {
    let mut roff = Roff::new();
    roff.control(
        "TH",
        [&page.to_uppercase(), "1", "\"\"", source, "User Commands"],
    );
    roff
}

/// Each rendering starts with the same few lines defining the apostrophe; a page needs them
/// once.
fn without_preamble(rendered: &[u8]) -> &[u8] {
    let preamble = Roff::new().render();
    rendered
        .strip_prefix(preamble.as_bytes())
        .unwrap_or(rendered)
}

fn exit_status_section(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (status, text) in exit::DOCUMENTED {
        roff.control("TP", []);
        roff.text([bold(status.to_string())]);
        roff.text([roman(*text)]);
    }
}

fn environment_section(roff: &mut Roff, cmd: &Command) {
    let has_option = |long: &str| cmd.get_arguments().any(|arg| arg.get_long() == Some(long));
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

/// The command's `after_long_help` (or `after_help`) and its [`MORE_EXAMPLES`], one section
/// per heading, kept as laid out for the terminal.
fn help_sections(roff: &mut Roff, cmd: &Command, page: &str) {
    let mut text = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|help| help.to_string())
        .unwrap_or_default();
    for (_, more) in MORE_EXAMPLES.iter().filter(|(name, _)| *name == page) {
        text.push('\n');
        text.push_str(more);
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

fn see_also_section(roff: &mut Roff, page: &str, all_pages: &[String]) {
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
    use super::*;

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
    fn characters_outside_ascii_become_groff_escapes() {
        assert_eq!(
            escape_non_ascii("k × delay, straße, 🙂"),
            "k \\[u00D7] delay, stra\\[u00DF]e, \\[u1F642]"
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
