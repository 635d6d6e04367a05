//! `cargo xtask`: the chores around the library (see `cargo xtask help`).

mod test;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
cargo xtask <task>

  test [--no-lint]   the full local test run: fmt and clippy checks, then every test, with
                     every feature whose system library is present here (opencl when libOpenCL is)
  help               this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("help") | Some("-h") | Some("--help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
