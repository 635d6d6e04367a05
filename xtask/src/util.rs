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

/// True when the dynamic linker can find `lib<name>.so` (the unversioned development link,
/// which linking needs) in the usual places or on LIBRARY_PATH / LD_LIBRARY_PATH.
pub fn has_dev_library(name: &str) -> bool {
    let file = format!("lib{name}.so");
    let mut dirs: Vec<PathBuf> = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    for var in ["LIBRARY_PATH", "LD_LIBRARY_PATH"] {
        if let Ok(v) = std::env::var(var) {
            dirs.extend(std::env::split_paths(&v));
        }
    }
    dirs.iter().any(|d| d.join(&file).exists())
}
