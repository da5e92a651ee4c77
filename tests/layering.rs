//! Imports between golive's top-level modules point one way (STYLE.md, "The shape"):
//! the runtime never imports the plan compiler, the leaf modules import only other
//! leaves, neither the compiler nor the runtime imports the drivers or the reference
//! system, and the top-level modules have no import cycle.
//!
//! The check reads the text of every `.rs` file under `src/` (no parser crate): comments,
//! strings and character literals are blanked, then every path that starts at the crate
//! root is collected: `crate::x`, `use crate::{x, y::{..}}` across lines, `$crate::x`,
//! and `super::` chains that climb out of a submodule (inline `mod tests { .. }` blocks
//! count as a level) to the crate root. Test modules count: they are part of the module.
//! Doc comments do not: an intra-doc link is not an import. Files are found as rustc
//! finds them, from `src/lib.rs` through `mod x;` and `#[path]`, so a test helper kept
//! under `tests/` counts for the module that includes it. Not seen: a `super::` nested
//! inside a use group (`use super::{a, super::b}`) and paths a macro assembles from
//! pieces; neither occurs in golive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The runtime: what runs a plan, records what it measured and judges it. It must not
/// import the compiler.
const RUNTIME: [&str; 7] = [
    "check", "load", "services", "metrics", "record", "verdict", "rules",
];

/// Leaves, part one: the foundations (units, expressions, diagnostics, the statistics of
/// evidence, exit codes).
const FOUNDATIONS: [&str; 5] = ["units", "expr", "diag", "evidence", "exit"];

/// Leaves, part two: the shared vocabulary that the compiler builds and the runtime uses
/// (templates, expectations, criteria, networking, the sample tally, injectable faults,
/// what may be shown of text: secrets masked, control characters escaped).
/// A leaf imports only other leaves, so either side can use it without the other.
const VOCABULARY: [&str; 7] = [
    "template", "expect", "criteria", "net", "tally", "faults", "redact",
];

fn is_leaf(module: &str) -> bool {
    FOUNDATIONS.contains(&module) || VOCABULARY.contains(&module)
}

/// The plan compiler.
const COMPILER: &str = "plan";

/// What neither the compiler nor the runtime may import: the drivers that wire them
/// (`run`, `report`, `cli`, `demo`, and `attest`, which signs and verifies sign-offs over a
/// run folder) and the reference system they are tested against (`sandbox`), whose fault
/// vocabulary the compiler reads from the `faults` leaf.
const ABOVE: [&str; 7] = [
    "run", "report", "cli", "demo", "sandbox", "attest", "monitor",
];

/// Modules bound only by "no cycle": the spec types users write (read by the compiler and,
/// for a few enums, the runtime) and Docker image building (used by services and cli).
const UNLAYERED: [&str; 2] = ["spec", "images"];

/// Where a reference was found: file and 1-based line.
type Site = (String, usize);

/// Top-level module -> top-level module it references -> where.
type Graph = BTreeMap<String, BTreeMap<String, Vec<Site>>>;

#[test]
fn top_level_imports_point_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = top_level_modules(&std::fs::read_to_string(root.join("lib.rs")).unwrap());
    let named = [
        &RUNTIME[..],
        &FOUNDATIONS,
        &VOCABULARY,
        &ABOVE,
        &UNLAYERED,
        &[COMPILER],
    ]
    .concat();
    for m in &named {
        assert!(
            modules.contains(*m),
            "`{m}` is named by this test but is not a module in src/lib.rs; update the test"
        );
    }
    // A new top-level module is placed in a layer on purpose, not by default.
    for m in &modules {
        assert!(
            named.contains(&m.as_str()),
            "`{m}` is a top-level module this test does not place; add it to a layer above"
        );
    }
    // Every file of the library, reached the way rustc reaches it: from lib.rs through
    // `mod x;` declarations, `#[path]` included (a test helper lives under tests/).
    let mut files = Vec::new();
    module_files(&root.join("lib.rs"), Vec::new(), true, &mut files);
    let reached: BTreeSet<&PathBuf> = files.iter().map(|(f, _)| f).collect();
    let mut on_disk = Vec::new();
    rust_files(&root, &mut on_disk);
    for f in &on_disk {
        // main.rs is the binary, a crate of its own that uses the library by name.
        let binary = f == &root.join("main.rs") || f.starts_with(root.join("bin"));
        assert!(
            binary || reached.contains(f),
            "{} is not reached from src/lib.rs by this test's `mod` walk",
            f.display()
        );
    }
    let mut graph = Graph::new();
    for (file, path) in &files {
        if path.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file
            .strip_prefix(root.parent().unwrap())
            .unwrap_or(file)
            .display()
            .to_string();
        add_references(&mut graph, path, &shown, &text, &modules);
    }
    let problems = violations(&graph);
    assert!(
        problems.is_empty(),
        "layering violations:\n  {}\n\ntop-level graph:\n{}",
        problems.join("\n  "),
        render(&graph)
    );
    // Print the graph for `cargo test -- --nocapture`, so a reviewer can read it.
    println!("{}", render(&graph));
}

/// Every rule, as sentences naming the edge and where it is; empty when all hold.
fn violations(graph: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    let site = |sites: &[Site]| {
        let (f, l) = &sites[0];
        let more = sites.len() - 1;
        if more > 0 {
            format!("{f}:{l} and {more} more")
        } else {
            format!("{f}:{l}")
        }
    };
    for (from, tos) in graph {
        let runtime = RUNTIME.contains(&from.as_str());
        let leaf = is_leaf(from);
        for (to, sites) in tos {
            if (runtime || leaf) && to == COMPILER {
                out.push(format!(
                    "`{from}` imports the compiler `{to}` ({}); move the shared type to a leaf",
                    site(sites)
                ));
            } else if leaf && !is_leaf(to) {
                out.push(format!(
                    "leaf `{from}` imports `{to}`, which is not a leaf ({}); leaves import only {}, {}",
                    site(sites),
                    FOUNDATIONS.join(", "),
                    VOCABULARY.join(", ")
                ));
            } else if (runtime || from == COMPILER) && ABOVE.contains(&to.as_str()) {
                out.push(format!(
                    "`{from}` imports `{to}` ({}); the compiler and the runtime import none of {}",
                    site(sites),
                    ABOVE.join(", ")
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(graph) {
        let hops: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} -> {} ({})", w[0], w[1], site(&graph[&w[0]][&w[1]])))
            .collect();
        out.push(format!(
            "import cycle {}:\n    {}",
            cycle.join(" -> "),
            hops.join("\n    ")
        ));
    }
    out
}

/// A cycle as a closed path (`a -> b -> a`), found by depth-first search.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        graph: &'a Graph,
        done: &mut BTreeSet<&'a str>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flat_map(|tos| tos.keys()) {
            if let Some(c) = visit(next, graph, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

fn render(graph: &Graph) -> String {
    graph
        .iter()
        .filter(|(_, tos)| !tos.is_empty())
        .map(|(from, tos)| {
            let tos: Vec<&str> = tos.keys().map(String::as_str).collect();
            format!("  {from} -> {}", tos.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `mod x;` declarations of the crate root.
fn top_level_modules(lib: &str) -> BTreeSet<String> {
    let code = blank_non_code(lib);
    code.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_string())
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out.sort();
}

/// `file`, the module at `path`, and every file module below it, as rustc finds them:
/// `#[path = ".."]` relative to the declaring file's folder, else `x.rs` or `x/mod.rs`
/// beside a `lib.rs`/`mod.rs` (an `owner` of its folder) or in the folder named after
/// any other file.
fn module_files(
    file: &Path,
    path: Vec<String>,
    owner: bool,
    out: &mut Vec<(PathBuf, Vec<String>)>,
) {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let dir = file.parent().unwrap();
    let below = if owner {
        dir.to_path_buf()
    } else {
        dir.join(file.file_stem().unwrap())
    };
    for (name, attr) in declared_files(&text) {
        let mut child = path.clone();
        child.push(name.clone());
        match attr {
            Some(p) => module_files(&dir.join(p), child, true, out),
            None => {
                let flat = below.join(format!("{name}.rs"));
                if flat.exists() {
                    module_files(&flat, child, false, out);
                } else {
                    module_files(&below.join(&name).join("mod.rs"), child, true, out);
                }
            }
        }
    }
    out.push((file.to_path_buf(), path));
}

/// The file modules `text` declares (`mod x;`, not inline `mod x { .. }`), each with the
/// `#[path]` it names, if any.
fn declared_files(text: &str) -> Vec<(String, Option<String>)> {
    let code: Vec<char> = blank_non_code(text).chars().collect();
    let raw: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if !is_ident_start(code[i]) || (i > 0 && is_ident(code[i - 1])) {
            i += 1;
            continue;
        }
        let (word, end) = ident(&code, i);
        if word == "mod" {
            let (name, after) = ident(&code, skip_ws(&code, end));
            if code.get(skip_ws(&code, after)) == Some(&';') {
                // Its attributes sit between the previous item's end and `mod`.
                let start = code[..i]
                    .iter()
                    .rposition(|c| matches!(c, ';' | '{' | '}'))
                    .map_or(0, |p| p + 1);
                let attrs: String = raw[start..i].iter().collect();
                let path = attrs.find("#[path").and_then(|at| {
                    let rest = &attrs[at..];
                    let open = rest.find('"')? + 1;
                    let close = rest[open..].find('"')? + open;
                    Some(rest[open..close].to_string())
                });
                out.push((name, path));
            }
        }
        i = end;
    }
    out
}

/// Records the top-level modules that `text`, the file of module `path`, refers to.
fn add_references(
    graph: &mut Graph,
    path: &[String],
    shown: &str,
    text: &str,
    modules: &BTreeSet<String>,
) {
    let from = path[0].clone();
    let tos = graph.entry(from.clone()).or_default();
    for (to, line) in references(path, text) {
        if to != from && modules.contains(&to) {
            tos.entry(to).or_default().push((shown.to_string(), line));
        }
    }
}

/// The first segment below the crate root of every crate-rooted path in `text`, with its
/// line; `path` is the file's module path, for resolving `super::`.
fn references(path: &[String], text: &str) -> Vec<(String, usize)> {
    let code: Vec<char> = blank_non_code(text).chars().collect();
    let line_at = |i: usize| code[..i].iter().filter(|c| **c == '\n').count() + 1;
    let mut out = Vec::new();
    // Inline modules (`mod tests { .. }`) open a level for `super::`; each entry is the
    // brace depth at which one closes.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            if inline.last() == Some(&depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        if !is_ident_start(c) || (i > 0 && is_ident(code[i - 1])) {
            i += 1;
            continue;
        }
        let (word, end) = ident(&code, i);
        match word.as_str() {
            "mod" => {
                // `mod name {` opens an inline module; `mod name;` is a file.
                let j = skip_ws(&code, end);
                let (_, after_name) = ident(&code, j);
                let k = skip_ws(&code, after_name);
                if code.get(k) == Some(&'{') {
                    inline.push(depth + 1);
                }
                i = end;
            }
            "crate" => {
                if let Some(j) = after_colons(&code, end) {
                    out.extend(
                        first_segments(&code, j)
                            .into_iter()
                            .map(|n| (n, line_at(i))),
                    );
                }
                i = end;
            }
            "super" if code.get(i.wrapping_sub(1)) != Some(&':') => {
                // Count the chain `super::super::..`.
                let mut levels = 0;
                let mut j = i;
                loop {
                    let (w, e) = ident(&code, j);
                    if w != "super" {
                        break;
                    }
                    match after_colons(&code, e) {
                        Some(next) => {
                            levels += 1;
                            j = next;
                        }
                        None => break,
                    }
                }
                let here = path.len() + inline.len();
                if levels > 0 && levels >= here {
                    // Climbed to the crate root (or past it, which rustc rejects anyway).
                    out.extend(
                        first_segments(&code, j)
                            .into_iter()
                            .map(|n| (n, line_at(i))),
                    );
                }
                i = j.max(end);
            }
            _ => i = end,
        }
    }
    out
}

/// The names a path continues with at `at`: one identifier, or each first identifier of
/// a `{ .. }` use group (nested groups are below that first identifier). `self` names
/// the crate itself and is skipped.
fn first_segments(code: &[char], at: usize) -> Vec<String> {
    let at = skip_ws(code, at);
    if code.get(at) == Some(&'{') {
        let mut names = Vec::new();
        let mut depth = 0;
        let mut expect_name = true;
        let mut i = at;
        while i < code.len() {
            match code[i] {
                '{' => {
                    depth += 1;
                    expect_name = depth == 1;
                    i += 1;
                }
                '}' => {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
                ',' => {
                    expect_name = depth == 1;
                    i += 1;
                }
                c if expect_name && is_ident_start(c) => {
                    let (w, e) = ident(code, i);
                    if w != "self" {
                        names.push(w);
                    }
                    expect_name = false;
                    i = e;
                }
                _ => i += 1,
            }
        }
        names
    } else if code.get(at).copied().is_some_and(is_ident_start) {
        let (w, _) = ident(code, at);
        if w == "self" {
            Vec::new()
        } else {
            vec![w]
        }
    } else {
        Vec::new()
    }
}

/// The position after `::` (with optional spaces) at `at`, if there is one.
fn after_colons(code: &[char], at: usize) -> Option<usize> {
    let j = skip_ws(code, at);
    (code.get(j) == Some(&':') && code.get(j + 1) == Some(&':')).then(|| skip_ws(code, j + 2))
}

fn skip_ws(code: &[char], mut at: usize) -> usize {
    while code.get(at).is_some_and(|c| c.is_whitespace()) {
        at += 1;
    }
    at
}

fn ident(code: &[char], at: usize) -> (String, usize) {
    let mut end = at;
    while code.get(end).copied().is_some_and(is_ident) {
        end += 1;
    }
    // Raw identifiers: `r#match` names `match`.
    let word: String = code[at..end].iter().collect();
    (word.strip_prefix("r#").unwrap_or(&word).to_string(), end)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `text` with comments, string literals and character literals replaced by spaces
/// (newlines kept, so line numbers hold). Lifetimes (`'a`) are code and stay.
fn blank_non_code(text: &str) -> String {
    let s: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, chars: &[char]| {
        for c in chars {
            out.push(if *c == '\n' { '\n' } else { ' ' });
        }
    };
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        // Line comment.
        if c == '/' && next == Some('/') {
            let end = s[i..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(s.len(), |p| i + p);
            blank(&mut out, &s[i..end]);
            i = end;
            continue;
        }
        // Block comment, nested.
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            let mut j = i;
            while j < s.len() {
                if s[j] == '/' && s.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if s[j] == '*' && s.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &s[i..j.min(s.len())]);
            i = j;
            continue;
        }
        let starts_word = i == 0 || !is_ident(s[i - 1]);
        // Raw strings: r"..", r#".."#, br#".."#.
        if starts_word && (c == 'r' || (c == 'b' && next == Some('r'))) {
            let mut j = if c == 'b' { i + 2 } else { i + 1 };
            let mut hashes = 0;
            while s.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if s.get(j) == Some(&'"') {
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let mut k = j + 1;
                while k < s.len() && !s[k..].starts_with(&close) {
                    k += 1;
                }
                let end = (k + close.len()).min(s.len());
                blank(&mut out, &s[i..end]);
                i = end;
                continue;
            }
        }
        // Strings and byte strings.
        if c == '"' || (starts_word && c == 'b' && next == Some('"')) {
            let mut j = if c == 'b' { i + 2 } else { i + 1 };
            while j < s.len() && s[j] != '"' {
                j += if s[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(s.len());
            blank(&mut out, &s[i..end]);
            i = end;
            continue;
        }
        // Character literals ('x', '\n', '\u{1F600}', b'x'); a lifetime has no closing quote.
        if c == '\'' {
            let end = if next == Some('\\') {
                s[i + 2..]
                    .iter()
                    .position(|c| *c == '\'')
                    .map(|p| i + 2 + p + 1)
            } else if s.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            if let Some(end) = end {
                blank(&mut out, &s[i..end.min(s.len())]);
                i = end;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

// The scanner's own tests: each proves that a kind of violation is seen, so the check
// above can fail.

fn graph_of(files: &[(&str, &str)]) -> Graph {
    let modules: BTreeSet<String> = [
        "check", "plan", "units", "template", "cli", "run", "load", "sandbox",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut graph = Graph::new();
    for (rel, text) in files {
        // `check/postgres/tests.rs` -> [check, postgres, tests]; `check/mod.rs` -> [check].
        let path: Vec<String> = rel
            .trim_end_matches(".rs")
            .split('/')
            .filter(|p| *p != "mod")
            .map(String::from)
            .collect();
        add_references(&mut graph, &path, rel, text, &modules);
    }
    graph
}

fn edges(graph: &Graph, from: &str) -> Vec<String> {
    graph
        .get(from)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn scanner_reads_every_form_of_crate_path() {
    let text = r##"
//! Talks about crate::cli in a doc comment, which is not an import.
use crate::{
    units::Duration,
    template::{
        Template, Endpoints,
    },
    self,
};
use super::super::super::run::Thing;
use super::super::Sibling;
/* crate::cli in /* a nested */ block comment */
const S: &str = "crate::load::Nope \" crate::load::Nope";
const R: &str = r#"crate::load::Nope"#;
const C: char = '{';
fn f<'a>(x: &'a str) -> &'a str { let _ = crate :: plan::build(); x }
"##;
    // check/postgres/tests.rs: three `super`s climb to the crate root.
    let g = graph_of(&[("check/postgres/tests.rs", text)]);
    assert_eq!(edges(&g, "check"), ["plan", "run", "template", "units"]);
}

#[test]
fn scanner_counts_inline_modules_as_levels() {
    // In check/expect.rs, `mod tests` is check::expect::tests: three levels below the root.
    let text = "
mod tests {
    use super::super::super::plan::Plan;
    use super::super::Sibling;
    mod deeper {
        use super::super::super::super::cli::Args;
        use super::super::super::Sibling;
    }
}
use super::super::run::Thing;
use super::Sibling;
";
    let g = graph_of(&[("check/expect.rs", text)]);
    assert_eq!(edges(&g, "check"), ["cli", "plan", "run"]);
    let g = graph_of(&[("check.rs", "mod t { mod u { use super::super::X; } }")]);
    assert!(edges(&g, "check").is_empty(), "{g:?}");
}

#[test]
fn rules_flag_each_kind_of_violation() {
    let g = graph_of(&[
        ("check/http.rs", "use crate::plan::Expectation;"),
        ("template.rs", "fn f() { crate::cli::go() }"),
        ("plan/mod.rs", "use crate::check::Check;"),
        ("plan/scenario.rs", "fn f() { crate::run::go() }"),
    ]);
    let v = violations(&g);
    assert!(
        v.iter()
            .any(|m| m.contains("`check` imports the compiler `plan`")
                && m.contains("check/http.rs:1")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|m| m.contains("leaf `template` imports `cli`")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|m| m.contains("import cycle check -> plan -> check")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|m| m.contains("`plan` imports `run` (plan/scenario.rs:1)")),
        "{v:?}"
    );
    let clean = graph_of(&[
        (
            "plan/mod.rs",
            "use crate::check::Check; use crate::template::T;",
        ),
        ("check/mod.rs", "use crate::{template::T, units::D};"),
    ]);
    assert!(violations(&clean).is_empty(), "{:?}", violations(&clean));
}

#[test]
fn cycles_are_reported_as_a_path() {
    let g = graph_of(&[
        ("cli/mod.rs", "use crate::run::X;"),
        ("run.rs", "use crate::load::X;"),
        ("load/mod.rs", "use crate::cli::X;"),
    ]);
    assert_eq!(
        find_cycle(&g).unwrap(),
        ["cli", "run", "load", "cli"].map(String::from)
    );
}

#[test]
fn file_modules_are_found_with_their_path_attributes() {
    let text = r#"
mod plain;
pub(crate) mod public;
#[cfg(test)]
#[path = "../../tests/common/servers.rs"]
mod test_servers;
mod inline { fn f() {} }
// mod commented;
"#;
    assert_eq!(
        declared_files(text),
        [
            ("plain".to_string(), None),
            ("public".to_string(), None),
            (
                "test_servers".to_string(),
                Some("../../tests/common/servers.rs".to_string())
            ),
        ]
    );
}
