//! The committed completions and man pages against the clap definition, and whether real tools
//! accept them: bash and fish complete with their scripts, groff renders the pages without a
//! warning. A test whose tool is not installed fails, saying how to install it.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::CommandFactory;
use echoctl::cli::Cli;
use echoctl::cli::docs::{self, COMPLETIONS_DIR, MAN_DIR, REGENERATE};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory of this test's own under the system's temporary directory.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("echoctl-docs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// What is wrong with the generated files under `root`: one line per stale, missing or extra
/// file. Empty when `root` holds exactly what the definition generates.
fn problems_under(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let files = docs::generated_files();
    for (path, expected) in &files {
        match std::fs::read(root.join(path)) {
            Ok(committed) if committed == *expected => {}
            Ok(committed) => problems.push(format!(
                "{} is stale: {}",
                path.display(),
                first_difference(&committed, expected)
            )),
            Err(e) => problems.push(format!("{} is missing: {e}", path.display())),
        }
    }
    let generated: BTreeSet<&PathBuf> = files.iter().map(|(path, _)| path).collect();
    for dir in [COMPLETIONS_DIR, MAN_DIR] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue; // every file in it is already reported missing
        };
        for entry in entries.flatten() {
            let path = Path::new(dir).join(entry.file_name());
            if !generated.contains(&path) {
                problems.push(format!(
                    "{} is not generated from the definition (any more): remove it",
                    path.display()
                ));
            }
        }
    }
    problems
}

/// Where two versions of a file first differ, each line cut short: completion lines can be long.
fn first_difference(old: &[u8], new: &[u8]) -> String {
    let clip = |line: Option<&str>| match line {
        None => "<end of file>".to_string(),
        Some(line) if line.chars().count() > 100 => {
            format!("{}...", line.chars().take(100).collect::<String>())
        }
        Some(line) => line.to_string(),
    };
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let mut old_lines = old.lines();
    let mut new_lines = new.lines();
    for number in 1.. {
        match (old_lines.next(), new_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => break,
            (a, b) => {
                return format!(
                    "line {number} is {:?}, the definition now gives {:?}",
                    clip(a),
                    clip(b)
                );
            }
        }
    }
    "the line endings differ".to_string()
}

#[test]
fn committed_completions_and_man_pages_are_what_the_definition_generates() {
    let problems = problems_under(repo());
    assert!(
        problems.is_empty(),
        "completions/ and man/ are out of date with src/cli/:\n  {}\n\
         Regenerate them with `{REGENERATE}` and commit completions/ and man/.",
        problems.join("\n  ")
    );
}

#[test]
fn the_staleness_check_reports_changed_missing_and_extra_files() {
    let dir = scratch_dir("staleness");
    docs::write_all(&dir).expect("generate into the scratch directory");
    assert_eq!(problems_under(&dir), Vec::<String>::new());

    std::fs::write(dir.join("man/echoctl.1"), "stale\n").unwrap();
    std::fs::remove_file(dir.join("completions/_echoctl")).unwrap();
    std::fs::write(dir.join("completions/old.sh"), "").unwrap();
    let problems = problems_under(&dir);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].starts_with("completions/_echoctl is missing"));
    assert!(problems[1].starts_with("man/echoctl.1 is stale: line 1 is \"stale\""));
    assert!(problems[2].starts_with("completions/old.sh is not generated"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_generator_rewrites_what_changed_and_removes_pages_no_longer_generated() {
    let dir = scratch_dir("write");
    std::fs::create_dir_all(dir.join("man")).unwrap();
    std::fs::write(dir.join("man/echoctl-gone.1"), "a removed subcommand\n").unwrap();
    std::fs::write(dir.join("man/notes.txt"), "not ours\n").unwrap();

    let first = docs::write_all(&dir).expect("generate");
    assert_eq!(first.written.len(), docs::generated_files().len());
    assert_eq!(first.removed, vec![PathBuf::from("man/echoctl-gone.1")]);
    assert!(dir.join("man/notes.txt").exists(), "only our own names go");

    let second = docs::write_all(&dir).expect("generate again");
    assert!(second.written.is_empty() && second.removed.is_empty());
    assert_eq!(second.unchanged.len(), docs::generated_files().len());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn man_pages_are_undated_so_regenerating_changes_nothing() {
    for (name, page) in docs::man_pages() {
        let page = String::from_utf8(page).expect("pages are UTF-8");
        let title = page
            .lines()
            .find(|line| line.starts_with(".TH "))
            .unwrap_or_else(|| panic!("{name} has no .TH line"));
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            title.ends_with(&format!(r#" 1 "" "echoctl {version}" "User Commands""#)),
            "{name}: the date must stay empty: {title}"
        );
    }
}

/// The names of the subcommands a user can see: the ones with a man page and in `--help`.
fn visible_subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| sub.get_name().to_string())
        .collect()
}

#[test]
fn every_visible_command_has_a_page_with_the_extra_sections() {
    let pages = docs::man_pages();
    let names: Vec<&str> = pages.iter().map(|(name, _)| name.as_str()).collect();
    let mut expected = vec!["echoctl.1".to_string()];
    expected.extend(
        visible_subcommands()
            .iter()
            .map(|sub| format!("echoctl-{sub}.1")),
    );
    assert_eq!(names, expected);
    assert!(names.contains(&"echoctl-completions.1"));

    for (name, page) in &pages {
        assert!(page.is_ascii(), "{name}: groff would misread UTF-8");
        let page = String::from_utf8_lossy(page);
        for section in [".SH \"EXIT STATUS\"", ".SH \"SEE ALSO\""] {
            assert!(page.contains(section), "{name} lacks {section}");
        }
        // completions logs nothing and colors nothing: no option of its reads the environment.
        if name != "echoctl-completions.1" {
            for section in [".SH ENVIRONMENT", "RUST_LOG"] {
                assert!(page.contains(section), "{name} lacks {section}");
            }
        }
    }
    let page = |name: &str| {
        let (_, page) = pages.iter().find(|(n, _)| n == name).expect("page exists");
        String::from_utf8_lossy(page).into_owned()
    };
    let top = page("echoctl.1");
    assert!(top.contains(".SH EXAMPLES"));
    assert!(
        top.contains("Is there anybody there?"),
        "the book's session"
    );
    assert!(top.contains("| echoctl connect"), "a pipe");
    assert!(page("echoctl-serve.1").contains(".SH EXAMPLES"));
    assert!(page("echoctl-connect.1").contains(".SH EXAMPLES"));
    assert!(page("echoctl-completions.1").contains(".SH INSTALL"));
}

/// The section `heading` of a roff page, up to the next `.SH`.
fn man_section<'a>(page: &'a str, heading: &str) -> &'a str {
    let start = page
        .find(&format!(".SH {heading}\n"))
        .unwrap_or_else(|| panic!("no {heading} in the page"));
    let rest = &page[start + 4..];
    &rest[..rest.find("\n.SH ").unwrap_or(rest.len())]
}

#[test]
fn man_pages_name_values_list_their_own_statuses_and_quote_nothing() {
    let pages = docs::man_pages();
    let page = |name: &str| {
        let (_, page) = pages.iter().find(|(n, _)| n == name).expect("page exists");
        String::from_utf8_lossy(page).into_owned()
    };
    for (name, text) in &pages {
        let text = String::from_utf8_lossy(text);
        let words: Vec<&str> = text
            .lines()
            .filter(|line| !line.starts_with(".\\\""))
            .collect();
        assert!(
            words.iter().all(|line| !line.contains('`')),
            "{name}: a literal backtick"
        );
    }
    let serve = page("echoctl-serve.1");
    let synopsis = man_section(&serve, "SYNOPSIS");
    for option in [
        "\\-\\-delay\\fR\\~\\fIDURATION",
        "\\-\\-listen\\fR\\~\\fIADDR",
    ] {
        assert!(synopsis.contains(option), "{option} not in {synopsis}");
    }
    let bench = page("echoctl-bench.1");
    assert!(man_section(&bench, "SYNOPSIS").contains("\\-\\-connections\\fR\\~\\fIN"));
    assert!(
        man_section(&bench, "\"EXIT STATUS\"")
            .contains("Some echo line was missing, wrong or early")
    );
    assert!(!man_section(&serve, "\"EXIT STATUS\"").contains("echo line was missing"));
    assert!(!man_section(&page("echoctl-completions.1"), "\"EXIT STATUS\"").contains("130"));
    for heading in ["LIMITS", "\"WIRE FORMAT\""] {
        let section = man_section(&serve, heading);
        assert!(
            section.contains("max\\-connections") || section.contains("HELLO?"),
            "{heading}"
        );
    }
}

#[test]
fn help_lists_global_options_apart_and_only_where_they_do_something() {
    let help = |args: &[&str]| String::from_utf8(echoctl(args).stdout).unwrap();
    let serve = help(&["serve", "--help"]);
    let global = serve
        .find("\nGlobal options:\n")
        .expect("a heading of their own");
    let own = serve.find("\nOptions:\n").expect("serve's own options");
    assert!(own < global);
    for option in ["--quiet", "--verbose", "--color <WHEN>"] {
        let at = serve.find(option).expect(option);
        assert!(at > global, "{option} under the global heading");
    }
    assert!(
        serve.contains("Unicode") && serve.contains("not\nvalid UTF-8")
            || serve.contains("not valid UTF-8")
    );
    assert_eq!(
        serve.matches("Color a terminal").count(),
        1,
        "--color says each thing once"
    );
    let connect = help(&["connect", "--help"]);
    assert!(
        connect.contains("--quiet") && connect.contains("--verbose"),
        "{connect}"
    );
    let completions = help(&["completions", "--help"]);
    for option in ["--quiet", "--verbose", "--color", "Global options"] {
        assert!(
            !completions.contains(option),
            "{option} in completions --help"
        );
    }
}

/// `-q`, `-v` and `--color` are listed wherever they are taken, and each command's help says
/// what they do for that command, not for another.
#[test]
fn each_commands_help_speaks_of_its_own_logs() {
    let help = |args: &[&str]| String::from_utf8(echoctl(args).stdout).unwrap();
    for (command, says, others) in [
        (
            "serve",
            "adds each shout",
            &["connect:", "the demo", "where it connected"][..],
        ),
        (
            "connect",
            "where it connected and how the session ended",
            &["serve:", "the demo", "each shout"],
        ),
        (
            "demo",
            "each connection, each shout",
            &["serve:", "connect:"],
        ),
        (
            "bench",
            "open-files limit",
            &["serve:", "connect:", "the demo"],
        ),
    ] {
        for flag in ["-h", "--help"] {
            let text = help(&[command, flag]);
            let global = &text[text.find("\nGlobal options:\n").expect(command)..];
            let global = &global[..global.find("\nExamples:\n").expect(command)];
            for option in ["-q, --quiet", "-v, --verbose", "--color <WHEN>"] {
                assert!(
                    global.contains(option),
                    "{command} {flag}: {option}: {global}"
                );
            }
            assert!(global.contains(says), "{command} {flag}: {global}");
            for other in others {
                assert!(
                    !global.contains(other),
                    "{command} {flag}: {other}: {global}"
                );
            }
        }
    }
}

/// Fails the test when `tool` cannot be started. A missing tool is not a reason to pass: the
/// message says how to install it (`.ci/run` does, where it is missing).
fn cannot_run(tool: &str, package: &str, error: io::Error) -> ! {
    if error.kind() == io::ErrorKind::NotFound {
        panic!(
            "{tool} is not installed, and this test runs it: install it (on Debian or Ubuntu, \
             `apt-get install {package}`) and run the tests again"
        );
    }
    panic!("cannot run {tool}: {error}");
}

/// What `groff -man -ww -z` says about `page` on stderr, for the default (PostScript) device or
/// another one.
fn groff_warnings(page: &[u8], device: Option<&str>) -> String {
    let mut child = match Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .args(device)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => cannot_run("groff", "groff-base", e),
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(page).expect("feed groff");
    drop(stdin);
    let output = child.wait_with_output().expect("wait for groff");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "groff failed: {stderr}");
    stderr
}

#[test]
fn every_man_page_renders_without_warnings() {
    for (name, page) in docs::man_pages() {
        // The terminal, as man shows the page, and print, where lines are filled differently.
        for device in [Some("-Tutf8"), None] {
            let warnings = groff_warnings(&page, device);
            assert_eq!(warnings, "", "groff {device:?} warns about {name}");
        }
    }
}

#[test]
fn the_groff_check_does_see_warnings() {
    let broken = b".TH X 1\n.SH NAME\n.NOSUCHMACRO\n";
    let warnings = groff_warnings(broken, Some("-Tutf8"));
    assert_ne!(warnings, "");
}

#[test]
fn help_text_beyond_ascii_renders_once_escaped() {
    let page = ".TH X 1\n.SH NAME\nx \\- due at send time + k \u{d7} delay, stra\u{df}e\n";
    let raw = groff_warnings(page.as_bytes(), Some("-Tutf8"));
    assert_ne!(raw, "", "groff reads UTF-8 as Latin-1 and warns");
    let escaped = docs::escape_non_ascii(page);
    let warnings = groff_warnings(escaped.as_bytes(), Some("-Tutf8"));
    assert_eq!(warnings, "");
}

/// What bash's completion function offers for `words`, the last being the word completed.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let script = repo().join(COMPLETIONS_DIR).join("echoctl.bash");
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    // The function is driven as bash's `complete -F` would: COMP_WORDS, COMP_CWORD, and the
    // command, current and previous word as arguments.
    let driver = r#"
        source "$1" || exit 3
        shift
        registered=$(complete -p echoctl) || exit 4
        function=${registered##* -F }
        function=${function%% *}
        cur=$1 prev=$2
        shift 2
        COMP_WORDS=("$@")
        COMP_CWORD=$(( $# - 1 ))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        "$function" echoctl "$cur" "$prev"
        if (( ${#COMPREPLY[@]} )); then printf '%s\n' "${COMPREPLY[@]}"; fi
    "#;
    let output = match Command::new("bash")
        .args(["--noprofile", "--norc", "-c", driver, "bash"])
        .arg(&script)
        .args([words[cword], prev])
        .args(words)
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(e) => cannot_run("bash", "bash", e),
    };
    assert!(
        output.status.success(),
        "bash completion for {words:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let offered = String::from_utf8_lossy(&output.stdout);
    offered.lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_the_subcommands_the_shells_and_the_serve_modes() {
    let first_word = bash_completes(&["echoctl", ""]);
    for sub in visible_subcommands() {
        assert!(
            first_word.contains(&sub),
            "{sub} not in {first_word:?}; if completions/ is stale, run `{REGENERATE}`"
        );
    }

    let modes = bash_completes(&["echoctl", "serve", "--mode", ""]);
    assert_eq!(modes, ["sequential", "concurrent", "plain"]);

    let shells = bash_completes(&["echoctl", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(
            shells.contains(&shell.to_string()),
            "{shell} not in {shells:?}"
        );
    }

    let partial = bash_completes(&["echoctl", "con"]);
    assert_eq!(partial, ["connect"]);
}

#[test]
fn bash_offers_options_only_after_a_dash_and_no_file_names_for_values() {
    let address = bash_completes(&["echoctl", "connect", ""]);
    // Nothing offered, so bash inserts nothing (every option offered would insert their `-`).
    assert_eq!(address, Vec::<String>::new());
    let bench = bash_completes(&["echoctl", "bench", ""]);
    assert_eq!(bench, Vec::<String>::new());
    let options = bash_completes(&["echoctl", "connect", "-"]);
    assert!(
        options.contains(&"--connect-timeout".to_string()),
        "{options:?}"
    );
    // A hidden option is not offered: completions takes -q but hides it.
    let options = bash_completes(&["echoctl", "completions", "-"]);
    assert!(options.contains(&"--help".to_string()), "{options:?}");
    assert!(!options.contains(&"--quiet".to_string()), "{options:?}");
    // A duration, a size, an address: the word as typed, never a file name. (The tests run in
    // the package root, full of files.)
    for words in [
        &["echoctl", "serve", "--delay", ""][..],
        &["echoctl", "serve", "--max-line", "s"],
        &["echoctl", "serve", "--listen", "C"],
        &["echoctl", "connect", "--connect-timeout", ""],
    ] {
        let offered = bash_completes(words);
        let typed = words[words.len() - 1];
        let expected: &[&str] = if typed.is_empty() { &[] } else { &[typed] };
        assert_eq!(offered, expected, "{words:?}");
    }
}

/// What fish offers for `line` (`complete -C`), each `word\tdescription`.
fn fish_completes(line: &str) -> Vec<String> {
    let script = repo().join(COMPLETIONS_DIR).join("echoctl.fish");
    let output = match Command::new("fish")
        .args([
            "--no-config",
            "-c",
            "source $argv[1]; and complete -C$argv[2]",
        ])
        .arg(&script)
        .arg(line)
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(e) => cannot_run("fish", "fish", e),
    };
    assert!(
        output.status.success(),
        "fish: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let offered = String::from_utf8_lossy(&output.stdout);
    offered.lines().map(str::to_string).collect()
}

#[test]
fn fish_completes_with_short_descriptions_and_no_file_names() {
    let options = fish_completes("echoctl connect -");
    assert!(
        options.contains(&"--help\tPrint help".to_string()),
        "{options:?}"
    );
    // A hidden option is not offered: completions takes -q but hides it.
    let options = fish_completes("echoctl completions -");
    assert!(
        options.contains(&"--help\tPrint help".to_string()),
        "{options:?}"
    );
    assert!(
        !options.iter().any(|o| o.starts_with("--quiet")),
        "{options:?}"
    );
    // The package root is full of files: none is offered for an address, a duration or a size.
    for line in [
        "echoctl connect ",
        "echoctl bench ",
        "echoctl serve --delay ",
        "echoctl serve --max-line C",
    ] {
        assert_eq!(fish_completes(line), Vec::<String>::new(), "{line}");
    }
    let shells = fish_completes("echoctl completions ");
    assert!(shells.contains(&"zsh".to_string()), "{shells:?}");
}

/// What each shell is shown beside an option: the first sentence of its help.
#[test]
fn zsh_and_fish_describe_with_the_first_sentence_of_the_help() {
    for shell in [clap_complete::Shell::Zsh, clap_complete::Shell::Fish] {
        let script = String::from_utf8(docs::completion(shell)).unwrap();
        assert!(!script.contains("see more with"), "{shell}");
        assert!(
            !script.contains("RUST_LOG overrides"),
            "{shell}: more than one sentence"
        );
        assert!(script.contains("Connections to open"), "{shell}");
    }
}

fn echoctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_echoctl"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run echoctl")
}

#[test]
fn completions_prints_each_shells_script_to_stdout() {
    for &shell in docs::shells() {
        let name = shell.to_string();
        let run = echoctl(&["completions", &name]);
        assert_eq!(run.status.code(), Some(0), "{name}");
        assert!(
            run.stdout == docs::completion(shell),
            "{name}: not the committed script"
        );
        assert_eq!(String::from_utf8_lossy(&run.stderr), "", "{name}");
    }
    let run = echoctl(&["completions", "tcsh"]);
    assert_eq!(
        run.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn completions_help_says_where_to_install_for_bash_zsh_and_fish() {
    let run = echoctl(&["completions", "--help"]);
    let help = String::from_utf8_lossy(&run.stdout);
    for path in [
        "~/.local/share/bash-completion/completions/echoctl",
        "~/.zfunc/_echoctl",
        "~/.config/fish/completions/echoctl.fish",
    ] {
        assert!(help.contains(path), "{path} not in:\n{help}");
    }
}

#[test]
fn help_teaches_every_option_and_ends_with_examples() {
    let mut root = Cli::command();
    root.build();
    let mut commands = vec![&root];
    commands.extend(root.get_subcommands().filter(|sub| !sub.is_hide_set()));
    for cmd in commands {
        for arg in cmd.get_arguments().filter(|arg| !arg.is_hide_set()) {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            let at = format!("{} {}", cmd.get_name(), arg.get_id());
            assert!(!help.trim().is_empty(), "{at} has no help");
            assert!(!help.contains('\n'), "{at}: the short help is one line");
            assert!(!arg.is_hide_default_value_set(), "{at} hides its default");
        }
    }

    let help = root.render_long_help().to_string();
    let examples = help.rfind("\nExamples:\n").expect("--help has examples");
    let after: Vec<&str> = help[examples..].lines().skip(2).collect();
    assert!(after.len() >= 2 && after.iter().all(|line| line.starts_with("  ")));
}
