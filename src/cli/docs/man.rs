//! The man pages: one per visible command, clap_mangen's sections (with a synopsis that names
//! each option's value) then those clap cannot derive (`sections`), as one roff page whose
//! characters outside ASCII are groff escapes.

mod sections;

use std::io::{self, Write};

use clap::{Command, CommandFactory};
use clap_mangen::Man;
use clap_mangen::roff::{Inline, Roff, bold, italic, roman};

use super::BIN_NAME;
use crate::cli::Cli;

use sections::{environment_section, exit_status_section, help_sections, see_also_section};

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
    let mut clap_section = |render: &dyn Fn(&Man, &mut dyn Write) -> io::Result<()>| {
        let mut section = Vec::new();
        render(&man, &mut section).expect("write to a Vec");
        page.extend_from_slice(without_preamble(&section));
    };
    clap_section(&Man::render_name_section);
    clap_section(&|_, out| {
        let mut synopsis = Roff::new();
        synopsis_section(&mut synopsis, cmd);
        synopsis.to_writer(out)
    });
    clap_section(&Man::render_description_section);
    if cmd.get_arguments().any(|arg| !arg.is_hide_set()) {
        clap_section(&Man::render_options_section);
    }
    if cmd.get_subcommands().any(|sub| !sub.is_hide_set()) {
        clap_section(&Man::render_subcommands_section);
    }

    let mut roff = Roff::new();
    exit_status_section(&mut roff, &name);
    environment_section(&mut roff, cmd);
    help_sections(&mut roff, cmd, &name);
    see_also_section(&mut roff, &name, all_pages);
    let mut extra = Vec::new();
    roff.to_writer(&mut extra).expect("write to a Vec");
    page.extend_from_slice(without_preamble(&extra));
    // groff's own no-break space: not every output device has a glyph for U+00A0.
    escape_non_ascii(&String::from_utf8_lossy(&page))
        .replace("\\[u00A0]", "\\~")
        .into_bytes()
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

/// `echoctl serve [-l|--listen ADDR] ... [-h|--help]`: every visible argument with the name of
/// its value (clap_mangen's own leaves the values out), the command's options first, then the
/// global ones.
fn synopsis_section(roff: &mut Roff, cmd: &Command) {
    roff.control("SH", ["SYNOPSIS"]);
    // Words of an option are not hyphenated, nor split from its value (a no-break space), nor
    // spread apart to fill the line.
    roff.control("nh", []);
    roff.control("ad", ["l"]);
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut line: Vec<Inline> = vec![bold(name)];
    let visible = cmd.get_arguments().filter(|arg| !arg.is_hide_set());
    let (global, own): (Vec<_>, Vec<_>) = visible.partition(|arg| arg.is_global_set());
    for arg in own.into_iter().chain(global) {
        line.push(roman(" "));
        line.extend(synopsis_arg(arg));
    }
    if cmd.get_subcommands().any(|sub| !sub.is_hide_set()) {
        line.push(roman(" "));
        line.push(italic("COMMAND"));
    }
    roff.text(line);
    roff.control("ad", ["b"]);
    roff.control("hy", []);
}

/// Becomes groff's `\~` (see [`man_page`]), a space no line break falls on.
const NO_BREAK_SPACE: &str = "\u{a0}";

/// One argument of the synopsis: `[-c|--connections N]`, `[-q|--quiet]`, `[-v|--verbose]...`,
/// `[ADDR]`, `SHELL`.
fn synopsis_arg(arg: &clap::Arg) -> Vec<Inline> {
    let value_name = || {
        arg.get_value_names()
            .and_then(|names| names.first())
            .map(|name| name.to_string())
            .unwrap_or_else(|| arg.get_id().to_string().to_uppercase())
    };
    let mut parts = Vec::new();
    let optional = !arg.is_required_set();
    if optional {
        parts.push(roman("["));
    }
    if arg.is_positional() {
        parts.push(italic(value_name()));
    } else {
        if let Some(short) = arg.get_short() {
            parts.push(bold(format!("-{short}")));
            parts.push(roman("|"));
        }
        if let Some(long) = arg.get_long() {
            parts.push(bold(format!("--{long}")));
        }
        if arg.get_action().takes_values() {
            parts.push(roman(NO_BREAK_SPACE));
            parts.push(italic(value_name()));
        }
    }
    if optional {
        parts.push(roman("]"));
    }
    if matches!(arg.get_action(), clap::ArgAction::Count) {
        parts.push(roman("..."));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_outside_ascii_become_groff_escapes() {
        assert_eq!(
            escape_non_ascii("k × delay, straße, 🙂"),
            "k \\[u00D7] delay, stra\\[u00DF]e, \\[u1F642]"
        );
    }
}
