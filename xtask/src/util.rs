//! Small helpers shared by the tasks: running commands, finding the workspace and libraries.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent")
        .to_path_buf()
}

/// `cargo` as the running toolchain names it.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs a command, echoing it first; an error names the command and its status.
pub fn run_cmd(mut cmd: Command) -> Result<(), String> {
    eprintln!("+ {cmd:?}");
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

/// The system library folders, then `extra`, then the folders listed in the variables `vars`.
fn library_dirs(extra: &[&str], vars: &[&str]) -> Vec<PathBuf> {
    let system = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ];
    let mut dirs: Vec<PathBuf> = system.iter().chain(extra).map(PathBuf::from).collect();
    for var in vars {
        if let Ok(v) = std::env::var(var) {
            dirs.extend(std::env::split_paths(&v));
        }
    }
    dirs
}

/// True when the dynamic linker can find `lib<name>.so` (the unversioned development link,
/// which linking needs) in the usual places or on LIBRARY_PATH / LD_LIBRARY_PATH.
pub fn has_dev_library(name: &str) -> bool {
    let file = format!("lib{name}.so");
    library_dirs(&[], &["LIBRARY_PATH", "LD_LIBRARY_PATH"])
        .iter()
        .any(|d| d.join(&file).exists())
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else {
                root().join(p)
            }
        }
        _ => root().join("target"),
    }
}

/// The program of that name on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// True when the dynamic loader could open `lib<name>.so.<major>` (a runtime library, e.g. the
/// CUDA driver `cuda`, `1`): searched in the usual folders and LD_LIBRARY_PATH.
pub fn has_runtime_library(name: &str, major: &str) -> bool {
    let file = format!("lib{name}.so.{major}");
    library_dirs(
        &["/usr/local/nvidia/lib64", "/usr/local/cuda/lib64"],
        &["LD_LIBRARY_PATH"],
    )
    .iter()
    .any(|d| d.join(&file).exists())
}

/// A compiled executable that cargo reported: target name, target kind ("bin", "test",
/// "bench", "example", "lib" for a library's unit tests) and path.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The package it belongs to.
    pub package: String,
    pub name: String,
    pub kind: String,
    pub path: PathBuf,
    /// Built as a test harness (`cargo test --no-run` also reports plain bins and examples).
    pub test: bool,
}

/// The package name in a cargo package id: `path+file:///dir/lnl-cuda#0.1.0` or
/// `path+file:///dir#layernorm-linear@0.1.0`.
fn package_name(id: &str) -> String {
    let (path, tail) = id.rsplit_once('#').unwrap_or((id, ""));
    match tail.split_once('@') {
        Some((name, _)) => name.to_string(),
        None => path.rsplit('/').next().unwrap_or(path).to_string(),
    }
}

/// Runs a cargo build-like command (`build`, `test --no-run`, `bench --no-run`) with JSON
/// messages and returns the executables it produced; diagnostics still reach the terminal.
pub fn cargo_executables(args: &[&str]) -> Result<Vec<Artifact>, String> {
    let mut cmd = cargo();
    cmd.args(args)
        .arg("--message-format=json-render-diagnostics");
    cmd.stdout(std::process::Stdio::piped());
    eprintln!("+ {cmd:?}");
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", out.status));
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        found.push(Artifact {
            package: package_name(msg["package_id"].as_str().unwrap_or("")),
            test: msg["profile"]["test"].as_bool().unwrap_or(false),
            name: msg["target"]["name"].as_str().unwrap_or("").to_string(),
            kind: msg["target"]["kind"][0].as_str().unwrap_or("").to_string(),
            path: PathBuf::from(exe),
        });
    }
    Ok(found)
}

/// The one executable of that name and kind among `artifacts`.
pub fn find_artifact(artifacts: &[Artifact], name: &str, kind: &str) -> Result<PathBuf, String> {
    artifacts
        .iter()
        .find(|a| a.name == name && a.kind == kind)
        .map(|a| a.path.clone())
        .ok_or_else(|| format!("cargo built no {kind} named {name}"))
}

/// True when `LNL_REQUIRE_<WHAT>=1`.
pub fn required(what: &str) -> bool {
    std::env::var(format!("LNL_REQUIRE_{what}")).is_ok_and(|v| v == "1")
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn package_names_from_both_id_forms() {
        assert_eq!(
            package_name("path+file:///w/crates/lnl-cuda#0.1.0"),
            "lnl-cuda"
        );
        assert_eq!(
            package_name("path+file:///w/main#layernorm-linear@0.1.0"),
            "layernorm-linear"
        );
        assert_eq!(
            package_name("registry+https://x/index#serde@1.0.0"),
            "serde"
        );
    }
}
