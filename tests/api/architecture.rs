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

/// The transports: what must not reach the publisher or the database.
const TRANSPORTS: [&str; 4] = ["src/socket", "src/ws", "src/http", "src/admin"];

/// Every line (as `file:line: text`) of the Rust files under `dirs` whose code, its
/// comment cut off, `hit` matches.
fn lines_where(dirs: &[&str], hit: impl Fn(&str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for dir in dirs {
        for f in rust_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                if hit(line.split("//").next().unwrap_or("")) {
                    found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
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
    let found = lines_where(&["src/domain"], |code| {
        forbidden.iter().any(|name| {
            code.match_indices(name).any(|(i, _)| {
                let before = code[..i].chars().last();
                let after = code[i + name.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
    });
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

/// Architecture invariant: a host's own event (`service/publish`) can never take a
/// name the Socket.IO dialect sends or answers to: every event name written in
/// `src/socket/` (emitted, or matched as an incoming event) is in
/// `RESERVED_EVENT_NAMES` or `SOCKET_COMMANDS` (`src/realtime/event.rs`), which the
/// publish rule and the renderer both use.
#[test]
fn every_socket_event_name_is_reserved_from_host_events() {
    let reserved_src = std::fs::read_to_string(root().join("src/realtime/event.rs")).unwrap();
    let start = reserved_src
        .find("pub const RESERVED_EVENT_NAMES")
        .expect("the list");
    // RESERVED_EVENT_NAMES and SOCKET_COMMANDS, which follows it.
    let commands = reserved_src
        .find("pub const SOCKET_COMMANDS")
        .expect("the commands");
    let list = &reserved_src[start..commands + reserved_src[commands..].find("];").unwrap()];
    let mut names = Vec::new();
    for f in rust_files(&root().join("src/socket")) {
        let text = std::fs::read_to_string(&f).unwrap();
        for call in [
            "Reply::event(",
            "Reply::event_and_ack(",
            "emit(",
            "encode_event(",
        ] {
            for (i, _) in text.match_indices(call) {
                let rest = text[i + call.len()..].trim_start();
                if let Some(lit) = rest.strip_prefix('"') {
                    names.push(lit[..lit.find('"').unwrap()].to_string());
                }
            }
        }
        // Incoming events: the arms of the handlers' `match`.
        let handlers = f.ends_with("handlers.rs");
        for line in text.lines().filter(|_| handlers) {
            let t = line.trim();
            if let Some(lit) = t.strip_prefix('"')
                && let Some(end) = lit.find("\" =>")
            {
                names.push(lit[..end].to_string());
            }
        }
    }
    assert!(names.len() >= 15, "too few names found: {names:?}");
    let missing: Vec<_> = names
        .iter()
        .filter(|n| !list.contains(&format!("\"{}\"", n.to_ascii_lowercase())))
        .collect();
    assert!(
        missing.is_empty(),
        "not in RESERVED_EVENT_NAMES: {missing:?}"
    );
}

/// Architecture invariant: every task the server starts is on its one `TaskTracker`
/// (`app::Background`), which the shutdown waits for: no bare `tokio::spawn` in
/// `src/` outside tests, but the serving task itself (`app::start`, whose handle the
/// caller holds).
#[test]
fn no_task_escapes_the_tracker() {
    let mut found = Vec::new();
    for f in rust_files(&root().join("src")) {
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let spawn = ["tokio::spawn(", "tokio::task::spawn("]
                .iter()
                .any(|s| line.split("//").next().unwrap_or("").contains(s));
            if spawn {
                found.push(format!("{}:{}", f.display(), n + 1));
            }
        }
    }
    let root_task: Vec<_> = found
        .iter()
        .filter(|f| f.contains("src/app/mod.rs"))
        .collect();
    assert_eq!(root_task.len(), 1, "the serving task: {found:?}");
    found.retain(|f| !f.contains("src/app/mod.rs"));
    assert!(found.is_empty(), "spawned outside the tracker: {found:?}");
}

/// Architecture invariant: transports cannot publish. The `Hub` is a private field of
/// the services; transports read the log through `Services::event_log` (an `EventLog`,
/// which has no publish), and no transport names the `Hub` or a `Fanout`.
#[test]
fn transports_cannot_reach_the_publisher() {
    let found = lines_where(&TRANSPORTS, |code| {
        code.split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w == "Hub" || w == "Fanout" || w == "hub")
    });
    assert!(
        found.is_empty(),
        "a transport names the publisher:\n{}",
        found.join("\n")
    );
}

/// Architecture invariant: transports cannot reach the database. Nothing under
/// `src/socket`, `src/ws`, `src/http` or `src/admin` names `sea_orm`, a
/// `DatabaseConnection` or a table of `entity` (its plain enums are data, allowed):
/// every read and write goes through a service.
#[test]
fn transports_cannot_reach_the_database() {
    let found = lines_where(&TRANSPORTS, |code| {
        let tables = code
            .match_indices("entity::")
            .any(|(i, _)| !code[i + "entity::".len()..].starts_with("enums"));
        code.contains("sea_orm") || code.contains("DatabaseConnection") || tables
    });
    assert!(
        found.is_empty(),
        "a transport reaches the database:\n{}",
        found.join("\n")
    );
}

/// Architecture invariant: a service holds a handful of dependencies. Every service
/// (a `#[derive(Clone)]` struct under `src/domain/`, the wiring in `services.rs`
/// aside) has at most seven fields; one that needs more is two services.
#[test]
fn services_hold_a_handful_of_dependencies() {
    let mut found = Vec::new();
    for f in rust_files(&root().join("src/domain")) {
        if f.ends_with("services.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            if line.trim() != "#[derive(Clone)]" {
                continue;
            }
            let Some(head) = lines.get(n + 1).filter(|l| l.ends_with('{')) else {
                continue;
            };
            let fields = lines[n + 2..]
                .iter()
                .take_while(|l| l.trim() != "}")
                .filter(|l| {
                    let l = l.trim();
                    !l.starts_with("//") && !l.starts_with("#[") && l.ends_with(',')
                })
                .count();
            if fields > 7 {
                found.push(format!(
                    "{}: {} has {fields} fields",
                    f.display(),
                    head.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "split these services:\n{}",
        found.join("\n")
    );
}
