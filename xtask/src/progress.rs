//! Progress for long runs: a bar over the criterion suite (driven by the `lnl-bench:` lines the
//! bench prints on stderr) and a spinner for other long steps. On a terminal, indicatif draws
//! them; otherwise (CI logs, the GPU host's run script) one plain line per step is printed.
//! Children's full output goes to a log file, whose tail is shown when they fail.

use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// The last `n` lines of a log, for an error message.
pub fn tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn open_log(log: &Path) -> Result<File, String> {
    File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))
}

fn failed(cmd: &Command, status: std::process::ExitStatus, log: &Path) -> String {
    format!(
        "{cmd:?} failed: {status}; the end of {}:\n{}",
        log.display(),
        tail(log, 30)
    )
}

/// Runs the criterion suite with a bar: `lnl-bench: plan N` sets its length, each `start` or
/// shape-level `skip` advances it, skips and provider lines are printed above it.
pub fn run_suite(mut cmd: Command, log: &Path) -> Result<(), String> {
    let file = open_log(log)?;
    cmd.stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(Stdio::piped());
    eprintln!("+ {cmd:?}  (output in {})", log.display());
    let mut child = cmd.spawn().map_err(|e| format!("{cmd:?}: {e}"))?;
    let bar = if interactive() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut log_w = file;
    let (mut done, mut total, mut started) = (0u64, 0u64, false);
    let stderr = child.stderr.take().expect("stderr was piped");
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let _ = writeln!(log_w, "{line}");
        let Some(rest) = line.strip_prefix("lnl-bench: ") else {
            continue;
        };
        if let Some(n) = rest.strip_prefix("plan ") {
            total = n.trim().parse().unwrap_or(0);
            bar.set_length(total);
        } else if let Some(id) = rest.strip_prefix("start ") {
            if started {
                done += 1;
                bar.inc(1);
            }
            started = true;
            bar.set_message(id.to_string());
            if !interactive() {
                eprintln!("  [{}/{total}] {id}", done + 1);
            }
        } else if let Some(what) = rest.strip_prefix("skip ") {
            bar.println(format!("  skipped {what}"));
            if !interactive() {
                eprintln!("  skipped {what}");
            }
            if what
                .split(':')
                .next()
                .is_some_and(|label| label.contains('/'))
            {
                done += 1;
                bar.inc(1);
            }
        } else if rest.starts_with("provider ") {
            bar.println(format!("  {rest}"));
            if !interactive() {
                eprintln!("  {rest}");
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if status.success() {
        Ok(())
    } else {
        Err(failed(&cmd, status, log))
    }
}

/// Runs a long step with a spinner, its output in `log`. Returns its exit status (the caller
/// decides whether a failure is fatal) with the log's tail on failure.
pub fn run_step(label: &str, mut cmd: Command, log: &Path) -> Result<(), String> {
    let file = open_log(log)?;
    cmd.stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file);
    eprintln!("+ {cmd:?}  (output in {})", log.display());
    let spinner = if interactive() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    spinner.set_message(label.to_string());
    spinner.enable_steady_tick(Duration::from_millis(150));
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"));
    spinner.finish_and_clear();
    match status? {
        s if s.success() => {
            eprintln!("  {label}: done");
            Ok(())
        }
        s => Err(failed(&cmd, s, log)),
    }
}
