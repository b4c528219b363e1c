//! The core's layout rule (docs/architecture.md, "Module map"), checked on the source.
//!
//! Every file under `src/` is one module. Each `crate::…`, `super::…` and `self::…`
//! path, and each path through a child module or a name a `use` bound to a module, in
//! `use` lines and inline, outside `#[cfg(test)]` items, is resolved to the deepest
//! module file that exists; a path that ends at a module's re-export (`pub use`) is
//! followed to where the name is defined. The resulting graph of module files must have
//! no cycle, and no file's non-test part may exceed [`MAX_LINES`] lines.
//!
//! Plain std on purpose: a lexer good enough for this crate's source (comments, strings,
//! char literals and lifetimes), not a Rust parser.

#![allow(clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The most lines a file may have outside its `#[cfg(test)]` items.
const MAX_LINES: usize = 600;

/// A module path below `crate`, e.g. `["session", "model"]`; empty for `lib.rs`.
type ModPath = Vec<String>;

#[derive(Debug, Default)]
struct Module {
    /// The file, relative to the crate root, for messages.
    file: String,
    /// The source with comments, literals and `#[cfg(test)]` items blanked out.
    code: String,
    /// Lines outside `#[cfg(test)]` items.
    lines: usize,
    /// Names this module re-exports (`pub use`, any visibility), to the absolute path
    /// they name.
    reexports: BTreeMap<String, Vec<String>>,
    /// Child modules declared under `#[cfg(test)]`: their files are tests.
    test_children: BTreeSet<String>,
}

#[test]
fn core_modules_have_no_import_cycle() {
    let modules = load();
    let graph = graph(&modules);
    let cycles: Vec<Vec<ModPath>> = strongly_connected(&graph).into_iter().filter(|c| c.len() > 1).collect();
    if cycles.is_empty() {
        return;
    }
    let mut report = String::new();
    for component in &cycles {
        let _ = writeln!(report, "\nimport cycle among {} modules:", component.len());
        for m in component {
            let _ = writeln!(report, "  {}", modules[m].file);
        }
        let _ = writeln!(report, "one cycle through them, with the path that makes each edge:");
        for (from, to, why) in one_cycle(&graph, component) {
            let _ = writeln!(report, "  {} -> {}   ({why})", modules[&from].file, modules[&to].file);
        }
    }
    panic!(
        "{} import cycle(s) between core modules (the rule: a type the store or Core's \
         fields use never sits in a file that has `impl Core`; feature files import each \
         other one way):{report}",
        cycles.len()
    );
}

#[test]
fn no_core_file_is_over_the_line_limit() {
    let modules = load();
    let long: Vec<String> = modules
        .values()
        .filter(|m| m.lines > MAX_LINES)
        .map(|m| format!("  {}: {} lines outside tests", m.file, m.lines))
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines (split them by concern):\n{}", long.join("\n"));
}

#[test]
fn the_checker_sees_what_it_should() {
    // A cycle through a re-export and `super::`, and one hidden in a test module.
    let mut modules = BTreeMap::new();
    fn add(modules: &mut BTreeMap<ModPath, Module>, path: &[&str], src: &str) {
        let path: ModPath = path.iter().map(|s| s.to_string()).collect();
        modules.insert(path.clone(), parse(&path, &path.join("/"), src));
    }
    add(&mut modules, &[], "pub mod a;\npub mod b;\npub use a::Thing;\n");
    add(
        &mut modules,
        &["a"],
        "use crate::b::helper;\npub struct Thing;\n/// crate::b::never\nfn f() { let c = '{'; }\n",
    );
    add(
        &mut modules,
        &["b"],
        "pub mod c;\npub fn helper() {}\n#[cfg(test)]\nmod tests {\n    use crate::a::Thing;\n}\n",
    );
    add(&mut modules, &["b", "c"], "pub(crate) fn g() -> super::super::Thing { crate::Thing }\n");
    let g = graph(&modules);
    let edges = |m: &[&str]| -> BTreeSet<String> {
        let m: ModPath = m.iter().map(|s| s.to_string()).collect();
        g[&m].keys().map(|k| k.join("::")).collect()
    };
    assert_eq!(edges(&["a"]), BTreeSet::from(["b".to_string()]));
    assert_eq!(edges(&["b"]), BTreeSet::new());
    assert_eq!(edges(&["b", "c"]), BTreeSet::from(["a".to_string()]));
    assert!(strongly_connected(&g).iter().all(|c| c.len() == 1));
    assert_eq!(modules[&vec!["b".to_string()]].lines, 2);

    // The same, with `b` reaching `Thing` inline through the crate root: a cycle.
    add(&mut modules, &["b"], "pub fn helper() -> Option<crate::Thing> { None }\n");
    let g = graph(&modules);
    let cycles: Vec<_> = strongly_connected(&g).into_iter().filter(|c| c.len() > 1).collect();
    assert_eq!(cycles.len(), 1);
    let edges: Vec<_> = one_cycle(&g, &cycles[0]).into_iter().map(|(f, t, _)| (f.join("::"), t.join("::"))).collect();
    assert_eq!(edges, [("a".to_string(), "b".to_string()), ("b".to_string(), "a".to_string())]);
}

// ----- loading ---------------------------------------------------------------------

fn load() -> BTreeMap<ModPath, Module> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&root).unwrap_or(&file);
        let path = module_path(rel);
        let src = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let shown = format!("src/{}", rel.display());
        modules.insert(path.clone(), parse(&path, &shown, &src));
    }
    // Drop the files of modules declared under #[cfg(test)], and their children.
    let tests: Vec<ModPath> = modules
        .iter()
        .flat_map(|(p, m)| {
            m.test_children.iter().map(move |c| {
                let mut p = p.clone();
                p.push(c.clone());
                p
            })
        })
        .collect();
    modules.retain(|p, _| !tests.iter().any(|t| p.starts_with(t)));
    assert!(modules.len() > 1, "no modules found under {}", root.display());
    modules
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_path(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !(parts.is_empty() && stem == "lib") && stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

fn parse(path: &ModPath, file: &str, src: &str) -> Module {
    let blanked = blank_comments_and_literals(src);
    let (code, test_children) = blank_test_items(&blanked);
    let lines = count_lines_outside(src, &blanked, &code);
    let mut module = Module { file: file.to_string(), code, lines, test_children, ..Module::default() };
    let children = declared_children(&module.code);
    for u in use_items(&module.code).into_iter().filter(|u| u.public) {
        for (name, target) in expand_use_tree(&u.tree) {
            if name != "*"
                && let Some(abs) = absolute(path, &children, &BTreeMap::new(), &target)
            {
                module.reexports.insert(name, abs);
            }
        }
    }
    module
}

/// Lines of the source outside `#[cfg(test)]` items: a line counts if blanking tests
/// did not blank it (or it was blank before).
fn count_lines_outside(src: &str, before: &str, after: &str) -> usize {
    src.lines()
        .zip(before.lines().zip(after.lines()))
        .filter(|(_, (b, a))| b.trim().is_empty() || !a.trim().is_empty())
        .count()
}

// ----- lexing ------------------------------------------------------------------------

/// Replaces comments and the insides of string and char literals with spaces (newlines
/// kept), so that braces and paths in them are not seen.
fn blank_comments_and_literals(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (next == Some('"') || next == Some('#'))
            && !prev_is_ident(&c, i)
            && raw_string_start(&c, i + 1).is_some()
        {
            let (hashes, body) = raw_string_start(&c, i + 1).unwrap_or((0, i + 2));
            for _ in i..body {
                out.push(' ');
            }
            i = body;
            while i < c.len() {
                if c[i] == '"' && (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += hashes + 1;
                    break;
                }
                out.push(blank(c[i]));
                i += 1;
            }
        } else if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                out.push(' ');
                i += 1;
                while i < c.len() && c[i] != '\'' {
                    if c[i] == '\\' {
                        out.push(' ');
                        i += 1;
                    }
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                out.push_str("   ");
                i += 3;
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

/// At `c[i]` after an `r`: `#*"` opens a raw string; returns (hashes, index after `"`).
fn raw_string_start(c: &[char], mut i: usize) -> Option<(usize, usize)> {
    let mut hashes = 0;
    while c.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    (c.get(i) == Some(&'"')).then_some((hashes, i + 1))
}

/// Blanks every item under `#[cfg(test)]` (up to its `;` or its braced block) and
/// returns the names of `mod x;` declared that way.
fn blank_test_items(code: &str) -> (String, BTreeSet<String>) {
    let mut c: Vec<char> = code.chars().collect();
    let mut children = BTreeSet::new();
    let pat: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + pat.len() <= c.len() {
        if c[i..i + pat.len()] != pat[..] {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + pat.len();
        // Further attributes on the same item.
        loop {
            while j < c.len() && c[j].is_whitespace() {
                j += 1;
            }
            if c.get(j) == Some(&'#') && c.get(j + 1) == Some(&'[') {
                j = matching(&c, j + 1).map_or(c.len(), |e| e + 1);
            } else {
                break;
            }
        }
        let item_start = j;
        while j < c.len() && c[j] != ';' && c[j] != '{' {
            j += 1;
        }
        let end = if c.get(j) == Some(&'{') { matching(&c, j).unwrap_or(c.len() - 1) } else { j };
        if c.get(j) == Some(&';') {
            let head: String = c[item_start..j].iter().collect();
            let words: Vec<&str> = head.split_whitespace().collect();
            if let Some(p) = words.iter().position(|w| *w == "mod")
                && let Some(name) = words.get(p + 1)
            {
                children.insert(name.to_string());
            }
        }
        let stop = (end + 1).min(c.len());
        for ch in &mut c[start..stop] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        i = end + 1;
    }
    (c.into_iter().collect(), children)
}

/// The index of the bracket closing the one at `open` (`{`, `[` or `(`).
fn matching(c: &[char], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (k, ch) in c.iter().enumerate().skip(open) {
        match ch {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

// ----- paths -------------------------------------------------------------------------

struct UseItem {
    /// `pub`, `pub(crate)`, `pub(super)`: a re-export.
    public: bool,
    /// The tree after `use`, without whitespace, e.g. `crate::a::{b,c::D}`.
    tree: String,
    /// Its span in the code, so inline scanning can skip it.
    span: (usize, usize),
}

fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

fn word_at(code: &[char], i: usize, word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    code.len() >= i + w.len()
        && code[i..i + w.len()] == w[..]
        && (i == 0 || !is_ident(code[i - 1]))
        && code.get(i + w.len()).is_none_or(|c| !is_ident(*c))
}

fn use_items(code: &str) -> Vec<UseItem> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if word_at(&c, i, "use") && c.get(i + 3).is_some_and(|ch| ch.is_whitespace()) {
            let end = c[i..].iter().position(|ch| *ch == ';').map_or(c.len(), |p| i + p);
            let raw: String = c[i + 3..end].iter().collect();
            let tree: String = raw
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace(" as ", "\u{1}")
                .chars()
                .filter(|ch| !ch.is_whitespace())
                .collect();
            let before: String = c[..i].iter().rev().take(16).collect::<Vec<_>>().into_iter().rev().collect();
            let before = before.trim_end();
            let public = before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
            out.push(UseItem { public, tree, span: (i, end) });
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Expands a use tree into (bound name, path) pairs: `a::{b,c::D as E}` gives
/// (`b`, `a::b`) and (`E`, `a::c::D`). In the tree, ` as ` is `\u{1}` (see [`use_items`]).
fn expand_use_tree(tree: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    expand(&[], tree, &mut out);
    out
}

fn expand(prefix: &[String], tree: &str, out: &mut Vec<(String, Vec<String>)>) {
    let tree = tree.trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let mut p = prefix.to_vec();
        p.extend(tree[..open].split("::").filter(|s| !s.is_empty()).map(str::to_string));
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        for part in split_top(inner) {
            expand(&p, part, out);
        }
        return;
    }
    let mut full = prefix.to_vec();
    full.extend(tree.split("::").filter(|s| !s.is_empty()).map(str::to_string));
    let mut name = full.last().cloned().unwrap_or_default();
    if let Some(last) = full.last_mut()
        && let Some((real, alias)) = last.split_once('\u{1}')
    {
        name = alias.to_string();
        *last = real.to_string();
    }
    if full.last().is_some_and(|l| l == "self") {
        full.pop();
        if name == "self" {
            name = full.last().cloned().unwrap_or_default();
        }
    }
    out.push((name, full));
}

/// Splits at commas outside braces.
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (k, ch) in s.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Child modules declared in the code: `mod x;`, `pub mod x;`, `pub(crate) mod x;`.
fn declared_children(code: &str) -> BTreeSet<String> {
    let c: Vec<char> = code.chars().collect();
    let mut out = BTreeSet::new();
    for i in 0..c.len() {
        if !word_at(&c, i, "mod") {
            continue;
        }
        let rest: String = c[i + 3..].iter().take(80).collect();
        let name: String = rest.trim_start().chars().take_while(|ch| is_ident(*ch)).collect();
        let after = rest.trim_start()[name.len()..].trim_start();
        if !name.is_empty() && after.starts_with(';') {
            out.insert(name);
        }
    }
    out
}

/// The path below `crate` that `segs`, written in module `here`, names; `None` for a
/// path into another crate.
fn absolute(
    here: &ModPath,
    children: &BTreeSet<String>,
    aliases: &BTreeMap<String, Vec<String>>,
    segs: &[String],
) -> Option<Vec<String>> {
    let first = segs.first()?;
    let mut rest = &segs[1..];
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" => here.clone(),
        "super" => here[..here.len().saturating_sub(1)].to_vec(),
        name if children.contains(name) => {
            let mut p = here.clone();
            p.push(name.to_string());
            p
        }
        name => aliases.get(name)?.clone(),
    };
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module file that defines what `abs` names: its deepest existing module, or, when
/// the next segment is a name that module re-exports, where that name leads.
fn resolve(modules: &BTreeMap<ModPath, Module>, abs: &[String], depth: usize) -> ModPath {
    let k = (0..=abs.len()).rev().find(|k| modules.contains_key(&abs[..*k])).unwrap_or(0);
    let module = abs[..k].to_vec();
    if depth < 16
        && let Some(next) = abs.get(k)
        && let Some(target) = modules.get(&module).and_then(|m| m.reexports.get(next))
    {
        let mut t = target.clone();
        t.extend(abs[k + 1..].iter().cloned());
        return resolve(modules, &t, depth + 1);
    }
    module
}

type Graph = BTreeMap<ModPath, BTreeMap<ModPath, String>>;

/// Module -> module it depends on -> the first path seen that makes the edge.
fn graph(modules: &BTreeMap<ModPath, Module>) -> Graph {
    let mut graph = Graph::new();
    for (here, m) in modules {
        let edges = graph.entry(here.clone()).or_default();
        let children = declared_children(&m.code);
        let mut aliases = BTreeMap::new();
        let uses = use_items(&m.code);
        let mut add = |to: ModPath, why: String| {
            if &to != here && modules.contains_key(&to) {
                edges.entry(to).or_insert(why);
            }
        };
        for u in &uses {
            for (name, target) in expand_use_tree(&u.tree) {
                let Some(abs) = absolute(here, &children, &BTreeMap::new(), &target) else { continue };
                let to = resolve(modules, &abs, 0);
                // A module re-exporting its own descendants is a facade, not a dependency.
                if u.public && to.starts_with(here) {
                    continue;
                }
                if modules.contains_key(&abs) && name != "*" {
                    aliases.insert(name.clone(), abs.clone());
                }
                add(to, format!("use {}", target.join("::")));
            }
        }
        // Inline paths outside `use` items.
        let c: Vec<char> = m.code.chars().collect();
        let mut i = 0;
        while i < c.len() {
            if let Some(u) = uses.iter().find(|u| u.span.0 == i) {
                i = u.span.1;
                continue;
            }
            let starts = is_ident(c[i]) && !c[i].is_numeric() && (i == 0 || !is_ident(c[i - 1]));
            let after_colons = i >= 2 && c[i - 1] == ':' && c[i - 2] == ':';
            if !starts || after_colons {
                i += 1;
                continue;
            }
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let s: String = c[j..].iter().take_while(|ch| is_ident(**ch)).collect();
                if s.is_empty() {
                    break;
                }
                j += s.chars().count();
                segs.push(s);
                if c.get(j) == Some(&':') && c.get(j + 1) == Some(&':') && c.get(j + 2).is_some_and(|ch| is_ident(*ch))
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if segs.len() > 1
                && let Some(abs) = absolute(here, &children, &aliases, &segs)
            {
                add(resolve(modules, &abs, 0), segs.join("::"));
            }
            i = j.max(i + 1);
        }
    }
    graph
}

/// Tarjan's strongly connected components.
fn strongly_connected(graph: &Graph) -> Vec<Vec<ModPath>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g ModPath, usize>,
        low: BTreeMap<&'g ModPath, usize>,
        stack: Vec<&'g ModPath>,
        on_stack: BTreeSet<&'g ModPath>,
        out: Vec<Vec<ModPath>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flat_map(|e| e.keys()) {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap_or_else(|| unreachable!());
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap_or_else(|| unreachable!());
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            component.sort();
            s.out.push(component);
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// A shortest cycle through the component's first module, as (from, to, why) edges.
fn one_cycle(graph: &Graph, component: &[ModPath]) -> Vec<(ModPath, ModPath, String)> {
    let start = &component[0];
    let inside: BTreeSet<&ModPath> = component.iter().collect();
    let mut parent: BTreeMap<ModPath, ModPath> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.clone()]);
    let mut last = None;
    'bfs: while let Some(v) = queue.pop_front() {
        for w in graph[&v].keys().filter(|w| inside.contains(w)) {
            if w == start {
                last = Some(v.clone());
                break 'bfs;
            }
            if !parent.contains_key(w) {
                parent.insert(w.clone(), v.clone());
                queue.push_back(w.clone());
            }
        }
    }
    let mut path = vec![start.clone()];
    let mut v = last.unwrap_or_else(|| start.clone());
    while &v != start {
        path.push(v.clone());
        v = parent.get(&v).cloned().unwrap_or_else(|| start.clone());
    }
    path.push(start.clone());
    path.reverse();
    let mut edges = Vec::new();
    for pair in path.windows(2) {
        let (from, to) = (&pair[0], &pair[1]);
        let why = graph[from].get(to).cloned().unwrap_or_default();
        edges.push((from.clone(), to.clone(), why));
    }
    edges
}

/// `cargo test -p countersign-core --test layout -- --ignored --nocapture print_module_graph`
/// prints each module's dependencies, for finding where a cycle should be cut.
#[test]
#[ignore = "a tool, not a check"]
fn print_module_graph() {
    let modules = load();
    for (from, edges) in graph(&modules) {
        println!("{} ({} lines)", modules[&from].file, modules[&from].lines);
        for (to, why) in edges {
            println!("    -> {}   ({why})", modules[&to].file);
        }
    }
}
