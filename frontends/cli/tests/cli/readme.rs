//! The README's snippets run as written. Every ```sh block that is followed by a ```text block
//! is run, in order, in one bash session against a fresh `serve --dev` (the README's address
//! 127.0.0.1:7143 swapped for the test's free port), and what it prints must match the text
//! block line by line. In the text, `<...>` stands for one run of non-blank characters that
//! differs on every run, such as a key.
//!
//! Needs bash, curl, jq, node and npm (the npm snippet installs its package from the registry).

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use crate::support;

const README_ADDRESS: &str = "127.0.0.1:7143";
const BLOCK_END: &str = "@@readme-block-end@@";

struct Snippet {
    script: String,
    expected: Vec<String>,
    line: usize,
}

fn snippets(readme: &str) -> Vec<Snippet> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut found = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        if lines[n].trim_end() != "```sh" {
            n += 1;
            continue;
        }
        let start = n + 1;
        let (script, after) = fenced(&lines, start);
        let mut next = after;
        while next < lines.len() && lines[next].trim().is_empty() {
            next += 1;
        }
        if next < lines.len() && lines[next].trim_end() == "```text" {
            let (expected, after_text) = fenced(&lines, next + 1);
            found.push(Snippet {
                script: script.join("\n"),
                expected: expected.iter().map(|l| (*l).to_owned()).collect(),
                line: start,
            });
            n = after_text;
        } else {
            n = after;
        }
    }
    found
}

/// The lines of a fenced block starting at `from`, and the index after its closing fence.
fn fenced<'a>(lines: &[&'a str], from: usize) -> (Vec<&'a str>, usize) {
    let mut end = from;
    while end < lines.len() && lines[end].trim_end() != "```" {
        end += 1;
    }
    (lines[from..end].to_vec(), end + 1)
}

/// Whether `actual` is `expected` with each `<...>` replaced by non-blank characters.
fn line_matches(expected: &str, actual: &str) -> bool {
    match expected.find('<') {
        None => expected == actual,
        Some(open) => {
            let Some(close) = expected[open..].find('>').map(|at| open + at) else {
                return expected == actual;
            };
            let (literal, rest) = (&expected[..open], &expected[close + 1..]);
            let Some(tail) = actual.strip_prefix(literal) else {
                return false;
            };
            tail.char_indices()
                .skip(1)
                .map(|(at, _)| at)
                .chain(std::iter::once(tail.len()))
                .take_while(|&at| !tail[..at].contains(char::is_whitespace))
                .filter(|&at| at > 0)
                .any(|at| line_matches(rest, &tail[at..]))
        }
    }
}

#[test]
fn the_placeholder_matcher_is_strict_about_everything_else() {
    assert!(line_matches(
        r#"{"k":"<key>"} HTTP 404"#,
        r#"{"k":"abc123"} HTTP 404"#
    ));
    assert!(!line_matches(
        r#"{"k":"<key>"} HTTP 404"#,
        r#"{"k":""} HTTP 404"#
    ));
    assert!(!line_matches(
        r#"{"k":"<key>"} HTTP 404"#,
        r#"{"k":"a b"} HTTP 404"#
    ));
    assert!(!line_matches(
        r#"{"k":"<key>"} HTTP 404"#,
        r#"{"k":"abc"} HTTP 200"#
    ));
    assert!(line_matches("plain", "plain"));
}

#[tokio::test]
async fn every_readme_snippet_with_output_prints_it() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("read README.md");
    let snippets = snippets(&readme);
    assert!(
        snippets.len() >= 7,
        "expected the walk-through and client snippets, found {}",
        snippets.len()
    );

    let gateway = support::start(&["serve", "--dev", "--listen", "127.0.0.1:0"], &[]).await;
    let address = gateway.base_url.trim_start_matches("http://").to_owned();
    let mut script = String::from("set -e\n");
    for snippet in &snippets {
        script.push_str(&snippet.script.replace(README_ADDRESS, &address));
        script.push_str(&format!("\necho {BLOCK_END}\n"));
    }

    let dir = support::scratch_root().join(format!("ots-gateway-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let printed: Vec<&str> = stdout.split(&format!("{BLOCK_END}\n")).collect();

    for (n, snippet) in snippets.iter().enumerate() {
        let got: Vec<&str> = printed.get(n).map_or(Vec::new(), |p| p.lines().collect());
        let want: Vec<String> = snippet
            .expected
            .iter()
            .map(|line| line.replace(README_ADDRESS, &address))
            .collect();
        let same =
            got.len() == want.len() && want.iter().zip(&got).all(|(w, g)| line_matches(w, g));
        assert!(
            same,
            "README.md line {}: the snippet printed\n{}\nbut the README shows\n{}\n(bash exit {}; stderr:\n{stderr})",
            snippet.line,
            got.join("\n"),
            want.join("\n"),
            output.status
        );
    }
    assert!(output.status.success(), "bash failed: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every ```toml block in the README is a configuration `check-config` accepts as it stands.
#[tokio::test]
async fn every_readme_config_snippet_is_accepted() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("read README.md");
    let lines: Vec<&str> = readme.lines().collect();
    let dir =
        support::scratch_root().join(format!("ots-gateway-readme-toml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut checked = 0;
    for (n, line) in lines.iter().enumerate() {
        if line.trim_end() != "```toml" {
            continue;
        }
        let (block, _) = fenced(&lines, n + 1);
        let file = dir.join(format!("snippet-{n}.toml"));
        std::fs::write(&file, block.join("\n")).expect("write snippet");
        let output = Command::new(support::BIN)
            .args(["check-config", "--config"])
            .arg(&file)
            .env_remove("OTS_GATEWAY_CONFIG")
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run check-config");
        assert!(
            output.status.success(),
            "README.md line {}: check-config refuses the snippet:\n{}{}",
            n + 2,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 1, "the README shows its policy settings as TOML");
    let _ = std::fs::remove_dir_all(&dir);
}
