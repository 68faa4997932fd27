//! Architecture invariants the compiler does not keep by itself, checked on the
//! source tree: the domain knows no transport or engine, and no source file grows
//! past the size a reader can hold.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Architecture invariant: the domain decides and writes, and never knows which
/// transport called it or which engine stores its state.
#[test]
fn the_domain_imports_no_transport_or_engine() {
    let forbidden = [
        "axum",
        "socketioxide",
        "redis",
        "tower",
        "hyper",
        "crate::http",
        "crate::socket",
        "crate::ws",
        "crate::infra",
        "crate::app",
    ];
    let files = rust_files(&root().join("src/domain"));
    assert!(
        files.len() > 10,
        "src/domain has only {} files",
        files.len()
    );
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for name in forbidden {
                let word = code.match_indices(name).any(|(i, _)| {
                    let before = code[..i].chars().last();
                    let after = code[i + name.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if word {
                    found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the domain names a transport or engine:\n{}",
        found.join("\n")
    );
}

/// Small modules with one job each: no file under `src/` past ~450 lines.
#[test]
fn no_source_file_is_too_long() {
    let long: Vec<String> = rust_files(&root().join("src"))
        .into_iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(&f).unwrap().lines().count();
            (lines > 460).then(|| format!("{} has {lines} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by job:\n{}", long.join("\n"));
}
