//! The examples of the README and the guide, run as a reader would run them, so that a recipe
//! cannot rot while its page still shows it working.
//!
//! Each fenced block in those pages says what it is by its info string:
//!
//! * `console`: commands after `$ ` with their output, run by `trycmd` against the built binary
//!   (`? 2` before the output is the exit status; `[..]` and `...` stand for what varies);
//! * `sh`: lines to paste into a shell. Marked `<!-- recipe: NAME -->`, the block is run here,
//!   exactly as written, by bash in a scratch directory (which is also `$HOME`), with the built
//!   `echoctl` first on `PATH`; a `text` block right after it is its output, stdout and stderr
//!   together, matched as `trycmd` matches. Unmarked, it is not run (installing, `cargo`);
//! * `text`: what a person sees. Either a recipe's output, or marked `<!-- example: NAME -->` and
//!   checked by a test of its own that reads it by that name (a session on a terminal, the demo's
//!   transcript, a chart, a bench's figures).
//!
//! [`every_example_with_output_is_run_by_a_test`] holds the pages to that, and
//! [`every_link_in_the_docs_leads_somewhere`] checks their links.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use crate::common::PATIENCE;

/// The pages whose examples are run.
const PAGES: [&str; 4] = ["README.md", "docs/guide.md", "docs/udp.md", "docs/tls.md"];

/// The pages whose links are checked.
const LINKED_PAGES: [&str; 8] = [
    "README.md",
    "docs/guide.md",
    "docs/architecture.md",
    "docs/performance.md",
    "docs/udp.md",
    "docs/performance-udp.md",
    "docs/tls.md",
    "docs/performance-tls.md",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read_page(page: &str) -> String {
    std::fs::read_to_string(repo().join(page)).unwrap_or_else(|e| panic!("read {page}: {e}"))
}

/// One fenced code block of a page.
#[derive(Debug)]
struct Block {
    /// The line of its opening fence, from 1.
    line: usize,
    /// The fence's indentation, in columns (trycmd sees only fences at the start of a line).
    indent: usize,
    /// The info string after the opening fence: `console`, `sh`, `text`.
    info: String,
    /// The name in a `<!-- recipe: NAME -->` or `<!-- example: NAME -->` comment on the line
    /// before the fence, with which of the two it is.
    marker: Option<(MarkerKind, String)>,
    text: String,
    /// Whether the next block opens on the line after this one closes.
    followed_at_once: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MarkerKind {
    Recipe,
    Example,
}

fn marker(line: &str) -> Option<(MarkerKind, String)> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let (kind, name) = inner.split_once(':')?;
    let kind = match kind.trim() {
        "recipe" => MarkerKind::Recipe,
        "example" => MarkerKind::Example,
        _ => return None,
    };
    Some((kind, name.trim().to_string()))
}

/// The fenced blocks of a Markdown text, in order.
fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks: Vec<Block> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let trimmed = line.trim_start();
        if !trimmed.starts_with("```") {
            index += 1;
            continue;
        }
        let indent = line.len() - trimmed.len();
        let fence_len = trimmed.chars().take_while(|&c| c == '`').count();
        let info = trimmed[fence_len..].trim().to_string();
        let marker = index
            .checked_sub(1)
            .and_then(|before| marker(lines[before]));
        let opened = index;
        let mut body = Vec::new();
        index += 1;
        while index < lines.len() {
            let closing = lines[index].trim_start();
            if closing.starts_with(&"`".repeat(fence_len)) && closing.trim_matches('`').is_empty() {
                break;
            }
            body.push(
                lines[index]
                    .get(indent..)
                    .unwrap_or(lines[index].trim_start()),
            );
            index += 1;
        }
        assert!(
            index < lines.len(),
            "a block opened on line {} never closes",
            opened + 1
        );
        index += 1;
        let followed_at_once = lines
            .get(index)
            .is_some_and(|next| next.trim_start().starts_with("```"));
        let mut text = body.join("\n");
        text.push('\n');
        blocks.push(Block {
            line: opened + 1,
            indent,
            info,
            marker,
            text,
            followed_at_once,
        });
    }
    blocks
}

/// The block of `page` marked `<!-- KIND: name -->`, and the block after it.
fn marked(page: &str, kind: MarkerKind, name: &str) -> (Block, Option<Block>) {
    let mut blocks = blocks(&read_page(page)).into_iter();
    while let Some(block) = blocks.next() {
        if block.marker.as_ref() == Some(&(kind, name.to_string())) {
            let next = if block.followed_at_once {
                blocks.next()
            } else {
                None
            };
            return (block, next);
        }
    }
    panic!("{page} has no block marked <!-- {kind:?}: {name} --> (lower case) any more");
}

/// The text of the `text` block of `page` marked `<!-- example: name -->`, for the test that
/// checks it.
pub fn example(page: &str, name: &str) -> String {
    let (block, _) = marked(page, MarkerKind::Example, name);
    assert_eq!(
        block.info, "text",
        "{page}:{}: an example is a text block",
        block.line
    );
    block.text
}

/// `text` with every number (`12`, `0.523`, `18,750`) as `#` and every run of spaces as one:
/// what stays the same from run to run of a command whose figures vary.
pub fn without_figures(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let chars: Vec<char> = line.trim_end().chars().collect();
        let digit_at = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
        let mut i = 0;
        while i < chars.len() {
            let c = if digit_at(i) {
                // The number's digits, with the `.` or `,` between two of them.
                while digit_at(i) || (matches!(chars.get(i), Some('.' | ',')) && digit_at(i + 1)) {
                    i += 1;
                }
                '#'
            } else {
                i += 1;
                chars[i - 1]
            };
            if !(c == ' ' && out.ends_with(' ')) {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// Compares `actual` with an expected output from the docs, `[..]` and `...` matching as in
/// trycmd; the failure names where the example is.
fn assert_output(actual: &str, expected: &str, whence: &str) {
    let expected = snapbox::Data::text(expected.to_string());
    if let Err(error) = snapbox::Assert::new().normalize_paths(false).try_eq(
        Some(&whence),
        snapbox::Data::text(actual.to_string()),
        expected,
    ) {
        panic!("{whence}: the output is not what the docs show:\n{error}");
    }
}

/// The built binary's folder, to go first on `PATH`.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_echoctl"))
        .parent()
        .expect("the binary is in a folder")
        .to_path_buf()
}

/// A fresh, empty directory of this recipe's own.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("echoctl-recipe-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// What a script printed (stdout and stderr, in order) and its exit status.
struct Ran {
    output: String,
    status: Option<i32>,
}

/// Runs `script` with bash in `dir` (also `$HOME`), `echoctl` on `PATH`, in a process group of
/// its own that is killed afterwards, whatever the script left running.
fn run_script(script: &str, dir: &Path) -> Ran {
    let (mut reader, writer) = std::io::pipe().expect("a pipe");
    let path = std::env::join_paths(std::iter::once(bin_dir()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("a PATH");
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-c", script])
        .current_dir(dir)
        .env("HOME", dir)
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(writer.try_clone().expect("a second end"))
        .stderr(writer)
        .process_group(0);
    let mut child = command.spawn().expect("spawn bash");
    // Only the script (and what it starts) may hold the writing end now, so the reader ends
    // when they are all gone.
    drop(command);
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        let mut output = Vec::new();
        let _ = reader.read_to_end(&mut output);
        let _ = sender.send(output);
    });
    let output = received.recv_timeout(PATIENCE * 3);
    let group = i32::try_from(child.id()).expect("a pid fits");
    // SAFETY: a plain signal to the process group this test made; nothing else is in it.
    unsafe { libc::killpg(group, libc::SIGKILL) };
    let status = child.wait().expect("wait for bash").code();
    let output = output.unwrap_or_else(|_| {
        panic!("the recipe did not finish in time (a server left running?):\n{script}")
    });
    Ran {
        output: String::from_utf8_lossy(&output).into_owned(),
        status,
    }
}

/// Runs the recipe of `page` marked `<!-- recipe: name -->` as written, and checks that it ends
/// with status 0 and prints what the page shows after it (nothing, when it shows nothing).
fn recipe(page: &str, name: &str) {
    let (block, output) = marked(page, MarkerKind::Recipe, name);
    let whence = format!("{page}:{} (recipe {name})", block.line);
    assert_eq!(block.info, "sh", "{whence}: a recipe is an sh block");
    let expected = match output {
        Some(output) if output.info == "text" => output.text,
        _ => String::new(),
    };
    let dir = scratch_dir(name);
    let ran = run_script(&block.text, &dir);
    assert_output(&ran.output, &expected, &whence);
    assert_eq!(ran.status, Some(0), "{whence}: the last command failed");
    std::fs::remove_dir_all(dir).expect("remove the scratch directory");
}

#[test]
fn readme_plain_echo_as_a_test_peer() {
    recipe("README.md", "readme-plain-peer");
}

#[test]
fn readme_faults_on_purpose() {
    recipe("README.md", "readme-fault-reset");
    recipe("README.md", "readme-fault-stall");
    recipe("README.md", "readme-fault-fleet");
}

#[test]
fn guide_start_up_line_read_by_a_script() {
    recipe("docs/guide.md", "guide-startup-line");
}

#[test]
fn guide_plain_echo_on_a_free_port() {
    recipe("docs/guide.md", "guide-plain-free-port");
}

#[test]
fn guide_plain_echo_on_a_unix_socket() {
    recipe("docs/guide.md", "guide-plain-unix-socket");
}

#[test]
fn guide_connect_in_a_pipe() {
    recipe("docs/guide.md", "guide-connect-pipe");
}

#[test]
fn guide_bench_gates_on_a_wrong_delay() {
    recipe("docs/guide.md", "guide-bench-gate");
}

#[test]
fn guide_wire_bytes() {
    recipe("docs/guide.md", "guide-wire-bytes");
}

#[test]
fn udp_page_recipes() {
    recipe("docs/udp.md", "udp-plain");
    recipe("docs/udp.md", "udp-reverb");
    recipe("docs/udp.md", "udp-python");
    recipe("docs/udp.md", "udp-bench");
}

#[test]
fn guide_completions_install() {
    recipe("docs/guide.md", "guide-completions-bash");
    recipe("docs/guide.md", "guide-completions-zsh");
    recipe("docs/guide.md", "guide-completions-fish");
}

#[test]
fn tls_a_server_and_a_client_in_a_minute() {
    recipe("docs/tls.md", "tls-first-minute");
}

#[test]
fn tls_mutual_with_a_ca_made_by_openssl() {
    recipe("docs/tls.md", "tls-mutual");
}

#[test]
fn tls_pinned_to_the_printed_fingerprint() {
    recipe("docs/tls.md", "tls-pinned");
}

#[test]
fn tls_bench_times_handshakes_and_counts_their_failures() {
    recipe("docs/tls.md", "tls-bench");
}

#[test]
fn tls_openssl_s_client_as_a_client() {
    recipe("docs/tls.md", "tls-openssl");
}

#[test]
fn tls_hex_dump_shows_the_plaintext() {
    recipe("docs/tls.md", "tls-hex-dump");
}

#[test]
fn console_examples_print_what_the_docs_show() {
    let cases = trycmd::TestCases::new();
    cases
        .register_bin("echoctl", Path::new(env!("CARGO_BIN_EXE_echoctl")))
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "0")
        .env("FORCE_COLOR", "0")
        .timeout(PATIENCE);
    for page in PAGES {
        cases.case(repo().join(page));
    }
    cases.run();
}

/// The README's bench, a command for a second terminal while `echoctl serve` runs in the first:
/// here the same command against a server on a free port, its address added, and the output
/// compared but for its figures (and the address, and a warning a loaded machine may add).
#[test]
fn readme_bench_prints_the_table_shown() {
    let shown = example("README.md", "readme-bench");
    let (command, table) = shown.split_once('\n').expect("a command, then its output");
    let command = command
        .strip_prefix("$ ")
        .expect("the command after a prompt");
    let script = format!(
        "exec 3< <(echoctl serve -q --listen 127.0.0.1:0 2>&1 >/dev/null)\n\
         read -r _ _ addr _ <&3\n\
         {command} \"$addr\"\n\
         status=$?\n\
         kill $!\n\
         exit $status\n"
    );
    let dir = scratch_dir("readme-bench");
    let ran = run_script(&script, &dir);
    assert_eq!(ran.status, Some(0), "{}", ran.output);
    let printed: String = ran
        .output
        .lines()
        .filter(|line| !line.starts_with("warning "))
        .map(|line| {
            let line = match line.strip_prefix("echoctl bench 127.0.0.1:") {
                Some(rest) => format!(
                    "echoctl bench localhost:8000{}",
                    &rest[rest.find(':').unwrap_or(0)..]
                ),
                None => line.to_string(),
            };
            line + "\n"
        })
        .collect();
    assert_eq!(
        without_figures(&printed),
        without_figures(table),
        "README.md's bench, figures aside; the output was:\n{}",
        ran.output
    );
    std::fs::remove_dir_all(dir).expect("remove the scratch directory");
}

#[test]
fn figures_are_taken_out_and_spaces_squeezed() {
    assert_eq!(
        without_figures("rate   18,750 echo lines/s, 4.99 s; p99.9 4.415*  \nv1.2 x\n"),
        "rate # echo lines/s, # s; p# #*\nv# x\n"
    );
}

/// Every name in quotes in the suite's sources, but this check's own.
fn names_the_tests_use() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let suite = repo().join("tests/suite");
    for entry in std::fs::read_dir(&suite).expect("read tests/suite") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read a test module");
        for (index, piece) in source.split('"').enumerate() {
            if index % 2 == 1 {
                names.insert(piece.to_string());
            }
        }
    }
    names
}

#[test]
fn every_example_with_output_is_run_by_a_test() {
    let used = names_the_tests_use();
    let mut problems = Vec::new();
    for page in PAGES {
        let blocks = blocks(&read_page(page));
        let mut after_recipe = false;
        for block in &blocks {
            let at = format!("{page}:{}", block.line);
            if block.indent > 0 {
                problems.push(format!(
                    "{at}: an indented block, which trycmd does not see: start it at the margin"
                ));
            }
            match (block.info.as_str(), &block.marker) {
                ("console", None) => {}
                ("sh", None) if !block.followed_at_once => {}
                ("sh", Some((MarkerKind::Recipe, _))) => {}
                ("text", None) if after_recipe => {}
                ("text", Some((MarkerKind::Example, _))) => {}
                ("sh", None) => problems.push(format!(
                    "{at}: commands with their output: mark them <!-- recipe: NAME --> and run \
                     the recipe in tests/suite/recipes.rs"
                )),
                ("text", None) => problems.push(format!(
                    "{at}: output that no test checks: make it a recipe's, a console block, or \
                     mark it <!-- example: NAME --> and check it in a test"
                )),
                (info, marker) => problems.push(format!(
                    "{at}: a block `{info}` marked {marker:?}: use console, sh (a recipe or \
                     commands not run) or text (output)"
                )),
            }
            if let Some((_, name)) = &block.marker
                && !used.contains(name)
            {
                problems.push(format!("{at}: no test under tests/suite uses \"{name}\""));
            }
            after_recipe = block.info == "sh" && block.marker.is_some() && block.followed_at_once;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_finds_blocks_that_no_test_runs() {
    let page = "\
<!-- recipe: r -->
```sh
echo hi
```
```text
hi
```

```
bare
```

  ```console
  $ echoctl --version
  ```
";
    let found = blocks(page);
    let summary: Vec<(usize, usize, &str, bool)> = found
        .iter()
        .map(|b| (b.line, b.indent, b.info.as_str(), b.followed_at_once))
        .collect();
    assert_eq!(
        summary,
        [
            (2, 0, "sh", true),
            (5, 0, "text", false),
            (9, 0, "", false),
            (13, 2, "console", false)
        ]
    );
    assert_eq!(found[0].marker, Some((MarkerKind::Recipe, "r".to_string())));
    assert_eq!(found[0].text, "echo hi\n");
    assert_eq!(found[3].text, "$ echoctl --version\n");
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings, outside code blocks.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            let mut anchor = slug(line.trim_start_matches('#'));
            let base = anchor.clone();
            let mut n = 0;
            while anchors.contains(&anchor) {
                n += 1;
                anchor = format!("{base}-{n}");
            }
            anchors.insert(anchor);
        }
    }
    anchors
}

/// The targets of a page's links and images, `[text](target)`, outside code blocks.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code = false;
    // Links may wrap across lines, so the prose is read as one text.
    let mut prose = String::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let mut rest = prose.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').expect("a link closes");
        targets.push(after[..end].trim().to_string());
        rest = &after[end..];
    }
    targets
}

#[test]
fn every_link_in_the_docs_leads_somewhere() {
    let mut problems = Vec::new();
    for page in LINKED_PAGES {
        let folder = Path::new(page).parent().unwrap_or(Path::new(""));
        for target in link_targets(&read_page(page)) {
            if target.starts_with("https://") || target.starts_with("http://") {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if file.is_empty() {
                PathBuf::from(page)
            } else {
                folder.join(file)
            };
            let path = repo().join(&file);
            if !path.exists() {
                problems.push(format!(
                    "{page}: ({target}): {} does not exist",
                    file.display()
                ));
                continue;
            }
            if let Some(anchor) = anchor {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if !anchors(&text).contains(anchor) {
                    problems.push(format!(
                        "{page}: ({target}): no heading of {} has the anchor #{anchor}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn anchors_are_githubs() {
    let page = "# echoctl\n## The timeline: `--timeline` and `--svg`\n```sh\n# not a heading\n```\n## Echo or notice\n## Echo or notice\n";
    let found: Vec<String> = anchors(page).into_iter().collect();
    assert_eq!(
        found,
        [
            "echo-or-notice",
            "echo-or-notice-1",
            "echoctl",
            "the-timeline---timeline-and---svg"
        ]
    );
    assert_eq!(
        link_targets("see [a](b.md#c) and\n![p](d.svg)\n```sh\n[x](y)\n```\n"),
        ["b.md#c", "d.svg"]
    );
}
