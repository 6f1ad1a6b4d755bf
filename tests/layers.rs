//! The core's shape, checked from its source: every `crate::` path in `src/` stays within
//! the imports ARCHITECTURE.md allows its part ("Who may import whom"), that table points one
//! way (no part reaches itself through others, and no core part imports the façade, a
//! transport, the hub or the config), and a source file past 500 lines says at its top why
//! it is one file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Parts that sit above the core: nothing below them may import them.
const ABOVE_CORE: [&str; 4] = ["api", "http", "hub", "config"];

/// Functions of the crate root every part may use.
const ROOT_ITEMS: [&str; 2] = ["now_ms", "stopped"];

/// The table under "### Who may import whom" in ARCHITECTURE.md: part → allowed parts.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("### Who may import whom")
        .nth(1)
        .expect("ARCHITECTURE.md has a 'Who may import whom' section");
    let section = section.split("\n#").next().unwrap();
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut table = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').collect();
        let part = names(cells[1]).into_iter().next().unwrap();
        table.insert(part, names(cells[2]));
    }
    assert!(table.len() > 10, "the table is missing: {table:?}");
    table
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The part a file of `src/` belongs to: its top-level module (`None` for the crate root
/// and the binaries, which are front ends).
fn part_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(Path::new(ROOT).join("src")).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "bin" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// The top-level names a source file reaches through `crate::`, including grouped
/// `use crate::{a::X, b}` imports.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        // `$crate::` in macros and `hearth_crate::`-like names are not paths of this crate.
        if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name = item.trim().split("::").next().unwrap_or("");
                if !name.is_empty() {
                    out.insert(name.to_string());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

fn files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    files.sort();
    files
}

#[test]
fn imports_stay_within_each_parts_allowance() {
    let allowed = allowed();
    let mut broken = Vec::new();
    for file in files() {
        let Some(part) = part_of(&file) else { continue };
        let may = allowed
            .get(&part)
            .unwrap_or_else(|| panic!("part '{part}' is not in ARCHITECTURE.md's table"));
        let text = std::fs::read_to_string(&file).unwrap();
        for used in crate_paths(&text) {
            if used != part && !ROOT_ITEMS.contains(&used.as_str()) && !may.contains(&used) {
                broken.push(format!("{} imports crate::{used}", file.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports outside ARCHITECTURE.md's table:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_table_points_one_way() {
    let allowed = allowed();
    for (part, may) in &allowed {
        for m in may {
            assert!(
                allowed.contains_key(m),
                "{part} may import unknown part {m}"
            );
            if !ABOVE_CORE.contains(&part.as_str()) {
                assert!(
                    !ABOVE_CORE.contains(&m.as_str()),
                    "core part {part} may import {m}"
                );
            }
        }
    }
    // Depth-first from each part: reaching the part again is a cycle.
    fn reaches(
        from: &str,
        target: &str,
        allowed: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        allowed[from].iter().any(|next| {
            next == target || (seen.insert(next.clone()) && reaches(next, target, allowed, seen))
        })
    }
    for part in allowed.keys() {
        assert!(
            !reaches(part, part, &allowed, &mut BTreeSet::new()),
            "{part} reaches itself through the parts it may import"
        );
    }
}

#[test]
fn every_part_is_in_the_table() {
    let allowed = allowed();
    let parts: BTreeSet<String> = files().iter().filter_map(|f| part_of(f)).collect();
    let listed: BTreeSet<String> = allowed.keys().cloned().collect();
    assert_eq!(
        parts, listed,
        "ARCHITECTURE.md's table and src/ name different parts"
    );
}

#[test]
fn long_files_say_why_they_are_one() {
    let mut long = Vec::new();
    for file in files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("\n#[cfg(test)]").next().unwrap();
        let lines = code.lines().count();
        let says_why = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .any(|l| l.contains("One file:"));
        if lines > 500 && !says_why {
            long.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    assert!(
        long.is_empty(),
        "files past 500 lines whose doc does not say 'One file: <why>':\n{}",
        long.join("\n")
    );
}

#[test]
fn the_path_reader_sees_every_form() {
    let text = "use crate::store::Store;\nuse crate::{api::Api, events};\nlet t = crate::now_ms();\n\
                macro_rules! m { () => { $crate::x } }";
    let got: Vec<String> = crate_paths(text).into_iter().collect();
    assert_eq!(got, vec!["api", "events", "now_ms", "store"]);
}
