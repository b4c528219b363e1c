//! README.md as a test: every `sh` block is run, in order and as written, by bash in a
//! scratch directory with the built `countersign` and `countersign-authenticator` on
//! `PATH` and the defaults (SQLite, no configuration). Only the ports change (each gets a
//! free one). A block after `<!-- readme-test: background -->` runs in the background
//! (a server), and the script waits until its ports answer; `<!-- readme-test: skip … -->`
//! skips one (building, the test command itself). A command followed by a comment
//! `# {…}` must print that: `…` stands for anything, `"…"` for any string. `curl` fails
//! on an HTTP error unless the comment shows one.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, PartialEq)]
enum Kind {
    Run,
    Background,
    Skip,
}

/// The `sh` blocks of `readme`, each with how to run it.
fn blocks(readme: &str) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    let mut kind = Kind::Run;
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("<!-- readme-test:") {
            let word = rest.split_whitespace().next().unwrap_or("");
            kind = match word {
                "background" => Kind::Background,
                "skip" => Kind::Skip,
                other => panic!("README: unknown readme-test annotation {other:?}"),
            };
            continue;
        }
        if t == "```sh" {
            let mut body = String::new();
            for l in lines.by_ref() {
                if l.trim() == "```" {
                    break;
                }
                body.push_str(l);
                body.push('\n');
            }
            out.push((std::mem::replace(&mut kind, Kind::Run), body));
        }
    }
    out
}

/// A regex-free matcher for the README's shown output: literal text, `"…"` any JSON
/// string, `…` anything.
fn matches(shown: &str, actual: &str) -> bool {
    // Split into literal pieces and wildcards.
    let mut pieces: Vec<(bool, String)> = Vec::new(); // (is_string_wildcard, literal-before)
    let mut rest = shown;
    let mut lit = String::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("\"…\"") {
            pieces.push((true, std::mem::take(&mut lit)));
            rest = r;
        } else if let Some(r) = rest.strip_prefix('…') {
            pieces.push((false, std::mem::take(&mut lit)));
            rest = r;
        } else {
            let c = rest.chars().next().unwrap();
            lit.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    fn go(pieces: &[(bool, String)], last: &str, actual: &str) -> bool {
        match pieces.split_first() {
            None => actual == last,
            Some(((string, before), more)) => {
                let Some(after) = actual.strip_prefix(before.as_str()) else { return false };
                if *string {
                    // A JSON string without escapes.
                    let Some(s) = after.strip_prefix('"') else { return false };
                    let Some(end) = s.find('"') else { return false };
                    go(more, last, &s[end + 1..])
                } else {
                    (0..=after.len()).filter(|i| after.is_char_boundary(*i)).any(|i| go(more, last, &after[i..]))
                }
            }
        }
    }
    go(&pieces, &lit, actual.trim())
}

#[test]
fn the_matcher_reads_ellipses() {
    assert!(matches(r#"{"a":"…","b":1,…}"#, r#"{"a":"x y","b":1,"c":{"d":2}}"#));
    assert!(!matches(r#"{"a":"…","b":1,…}"#, r#"{"a":"x","b":2,"c":3}"#));
    assert!(matches(r#"{"s":"Accept"}"#, "{\"s\":\"Accept\"}\n"));
    assert!(!matches(r#"{"s":"Accept"}"#, r#"{"s":"Decline"}"#));
    assert!(matches(r#"{"a":{"b":1,…,"c":"d",…},…}"#, r#"{"a":{"b":1,"x":2,"c":"d","y":[1]},"z":0}"#));
}

#[test]
fn annotations_apply_to_the_next_block() {
    let md = "<!-- readme-test: skip (x) -->\n```sh\na\n```\n\n```sh\nb\n```\n<!-- readme-test: background -->\n```sh\nc\n```\n";
    let b = blocks(md);
    assert_eq!(b, vec![(Kind::Skip, "a\n".into()), (Kind::Run, "b\n".into()), (Kind::Background, "c\n".into())]);
}

/// The script for `blocks`, and the output each checked command must print (by number).
fn script(blocks: &[(Kind, String)], out: &Path, listen_port: u16) -> (String, Vec<(usize, String)>) {
    let mut s = String::from(
        "set -euo pipefail\n\
         curl() { if [ -n \"${__allow_error:-}\" ]; then command curl \"$@\"; else command curl --fail-with-body \"$@\"; fi; }\n\
         __wait_port() { for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; \
         echo \"README test: nothing listens on port $1\" >&2; return 1; }\n",
    );
    let mut expected = Vec::new();
    for (i, (kind, body)) in blocks.iter().enumerate() {
        let _ = writeln!(s, "\n# ---- README block {i}");
        match kind {
            Kind::Skip => {}
            Kind::Background => {
                let _ = writeln!(s, "(\n{body}) > '{}/background-{i}.log' 2>&1 & disown", out.display());
                if body.contains("countersign serve") {
                    let _ = writeln!(s, "__wait_port {listen_port}");
                }
                for port in body.split("127.0.0.1:").skip(1) {
                    let port: String = port.chars().take_while(char::is_ascii_digit).collect();
                    let _ = writeln!(s, "__wait_port {port}");
                }
            }
            Kind::Run => {
                let lines: Vec<&str> = body.lines().collect();
                let mut j = 0;
                while j < lines.len() {
                    let mut cmd = lines[j].to_owned();
                    while cmd.ends_with('\\') && j + 1 < lines.len() {
                        j += 1;
                        cmd.push('\n');
                        cmd.push_str(lines[j]);
                    }
                    j += 1;
                    let shown = lines.get(j).and_then(|l| l.strip_prefix("# ")).filter(|l| l.starts_with(['{', '[']));
                    match shown {
                        Some(shown) if !cmd.trim_start().starts_with('#') => {
                            j += 1;
                            let n = expected.len();
                            let allow = if shown.contains("\"error\"") { "__allow_error=1 " } else { "" };
                            let file = format!("{}/out-{n}", out.display());
                            let _ = writeln!(s, "{{ {allow}{cmd}\n}} > '{file}'\ncat '{file}'; echo");
                            expected.push((n, shown.to_owned()));
                        }
                        _ => {
                            s.push_str(&cmd);
                            s.push('\n');
                        }
                    }
                }
            }
        }
    }
    (s, expected)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The directory of the built binaries, with `countersign-authenticator` brought up to
/// date (it belongs to another package, so cargo does not build it for this test).
fn bin_dir() -> PathBuf {
    let server = Path::new(env!("CARGO_BIN_EXE_countersign"));
    let ok = std::process::Command::new(env!("CARGO"))
        .args(["build", "-p", "countersign-authenticator", "--bin", "countersign-authenticator"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot build countersign-authenticator");
    server.parent().unwrap().to_owned()
}

#[tokio::test]
async fn the_readme_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let mut readme = readme.clone();
    let mut listen_port = 0;
    for port in ["8080", "9100", "2525"] {
        let free = free_port();
        if port == "8080" {
            listen_port = free;
        }
        let free = free.to_string();
        readme = readme.replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{free}"));
        readme = readme.replace(&format!("localhost:{port}"), &format!("localhost:{free}"));
        readme = readme.replace(&format!("\"port\":{port}"), &format!("\"port\":{free}"));
    }
    let blocks = blocks(&readme);
    assert!(blocks.iter().filter(|(k, _)| *k == Kind::Run).count() >= 10, "the README's blocks were not found");
    let work = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (script, expected) = script(&blocks, out.path(), listen_port);
    std::fs::write(out.path().join("script.sh"), &script).unwrap();
    let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());

    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(out.path().join("script.sh")).current_dir(work.path()).env("PATH", path).process_group(0);
    for (k, _) in std::env::vars() {
        if k.starts_with("COUNTERSIGN_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    // The one change to the defaults: the server listens on a free port (the README's
    // addresses are changed to match).
    cmd.env("COUNTERSIGN_LISTEN", format!("127.0.0.1:{listen_port}"));
    let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let pgid = child.id().unwrap();
    let result = tokio::time::timeout(Duration::from_secs(240), child.wait_with_output()).await;
    // The servers the README started in the background go with the script's group.
    let _ = std::process::Command::new("kill").arg("--").arg(format!("-{pgid}")).status();
    let output = result.expect("the README did not finish within 240 s").unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let logs: String = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("background-"))
        .map(|e| {
            format!(
                "--- {}\n{}",
                e.file_name().to_string_lossy(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            )
        })
        .collect();
    assert!(
        output.status.success(),
        "the README's commands failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n{logs}"
    );
    let wrong: Vec<String> = expected
        .iter()
        .filter_map(|(n, shown)| {
            let actual = std::fs::read_to_string(out.path().join(format!("out-{n}"))).unwrap();
            (!matches(shown, &actual))
                .then(|| format!("the README shows\n  {shown}\nbut the command printed\n  {actual}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}\n--- stderr\n{stderr}", wrong.join("\n"));
    assert!(expected.len() >= 12, "only {} outputs checked", expected.len());
    // Following the README leaves nothing git would pick up in a checkout: everything
    // lands in countersign-try/ (ignored), and the store files have ignored names.
    let ignore = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.gitignore")).unwrap();
    for entry in std::fs::read_dir(work.path()).unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(ignore.lines().any(|l| l.trim_matches('/') == name), "{name} would show in git status");
    }
    let try_dir = work.path().join("countersign-try");
    assert!(try_dir.join("countersign.db").exists() && try_dir.join("alice.authenticator.json").exists());
}
