//! `cargo xtask test`: what CI runs. Lints first (cheap to fail), then every test of the
//! workspace with every feature whose system library is present, then `cargo xtask kernels`.

use crate::util::{cargo, has_dev_library, run_cmd};

pub fn run_all(lint: bool) -> Result<(), String> {
    let opencl = has_dev_library("OpenCL");
    let mut feature_args: Vec<&str> = vec!["--workspace"];
    if opencl {
        feature_args.extend(["--features", "opencl"]);
    } else {
        eprintln!("xtask test: libOpenCL.so not found: the opencl provider is left out (install ocl-icd-opencl-dev to include it)");
        feature_args.extend(["--exclude", "lnl-opencl"]);
    }
    if lint {
        let mut fmt = cargo();
        fmt.args(["fmt", "--all", "--", "--check"]);
        run_cmd(fmt)?;
        let mut clippy = cargo();
        clippy
            .arg("clippy")
            .args(&feature_args)
            .args(["--all-targets", "--", "-D", "warnings"]);
        run_cmd(clippy)?;
    }
    // Release: the property tests run thousands of forwards, and the GPU host runs these binaries.
    let mut test = cargo();
    test.args(["test", "--release"]).args(&feature_args);
    run_cmd(test)?;
    // The kernels as they really run: NVRTC for sm_90 (a kernel that does not compile fails here
    // even without a GPU), OpenCL on every device present.
    crate::kernels::run(&[])
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut lint = true;
    for a in args {
        match a.as_str() {
            "--no-lint" => lint = false,
            other => return Err(format!("test: unknown argument {other:?}")),
        }
    }
    run_all(lint)
}
