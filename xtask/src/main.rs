//! `cargo xtask`: the chores around the library (see `cargo xtask help`).

mod bench;
mod bundle;
mod kernels;
mod progress;
mod report;
mod sources;
mod svg;
mod test;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
cargo xtask <task>

  test [--no-lint]   the full local test run: fmt and clippy checks, then every test, with
                     every feature whose system library is present here (opencl when libOpenCL is),
                     then the kernel checks of `kernels`
  kernels            compile-checks kernels/cuda with NVRTC (sm_90 and the local device; PTX,
                     CUBIN and ptxas's register/shared-memory/spill report under
                     <target>/lnl-kernels/) and kernels/opencl on every OpenCL device present.
                     LNL_REQUIRE_NVRTC=1 / LNL_REQUIRE_OPENCL=1 turn a missing library into a failure
  bench [--providers cpu,opencl,...] [--shapes seed,decode1,...] [--quick] [--compare torch]
        [--out DIR] [--prebuilt DIR]
                     measures the machine's ceilings, runs the criterion suite (benches/suite.rs)
                     for every available provider, the device-resident GPU/OpenCL timings when
                     present, PyTorch with --compare torch, and writes report.md, report.json and
                     report.svg to <target>/lnl-report/ (or DIR). --prebuilt DIR uses binaries
                     from a bundle instead of cargo
  bundle [--out DIR] release binaries (lnl, tests, benches, ceilings, xtask) and run.sh for a GPU
                     host without a Rust toolchain, in <target>/lnl-bundle/ (or DIR)
  help               this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("kernels") => kernels::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("bundle") => bundle::run(&args[1..]),
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
