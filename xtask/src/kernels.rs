//! `cargo xtask kernels`: compile-checks every kernel source. CUDA through NVRTC with the
//! provider's own options (xtask's `cuda-kernels` bin, built with the `cuda` feature: cudarc
//! loads libnvrtc at run time, so it builds anywhere); OpenCL on every device present through
//! the provider's own build path (the `opencl-kernels` bin, built only where libOpenCL is, so
//! that xtask itself never needs it). Both are release builds; output goes to
//! `<target>/lnl-kernels/`.

use crate::util::{cargo_executables, find_artifact, has_dev_library, required, target_dir};
use std::process::Command;

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("kernels: unknown argument {a:?}"));
    }
    let opencl = has_dev_library("OpenCL");
    let features = if opencl { "cuda,opencl" } else { "cuda" };
    let built = cargo_executables(&[
        "build",
        "--release",
        "-p",
        "xtask",
        "--features",
        features,
        "--bins",
    ])?;
    let out = target_dir().join("lnl-kernels");

    let mut failures = Vec::new();
    let mut cuda = Command::new(find_artifact(&built, "cuda-kernels", "bin")?);
    cuda.arg("--out").arg(out.join("cuda"));
    if required("NVRTC") {
        cuda.arg("--require");
    }
    eprintln!("+ {cuda:?}");
    match cuda.status() {
        Ok(s) if s.success() => {}
        Ok(s) => failures.push(format!("CUDA kernels ({s})")),
        Err(e) => failures.push(format!("CUDA kernels: {e}")),
    }

    if opencl {
        let mut cl = Command::new(find_artifact(&built, "opencl-kernels", "bin")?);
        if required("OPENCL") {
            cl.arg("--require");
        }
        eprintln!("+ {cl:?}");
        match cl.status() {
            Ok(s) if s.success() => {}
            Ok(s) => failures.push(format!("OpenCL kernels ({s})")),
            Err(e) => failures.push(format!("OpenCL kernels: {e}")),
        }
    } else {
        let why = "libOpenCL.so not found (install ocl-icd-opencl-dev and an ICD such as pocl-opencl-icd)";
        if required("OPENCL") {
            failures.push(format!("OpenCL kernels: {why}, and LNL_REQUIRE_OPENCL=1"));
        } else {
            println!("opencl: skipped: {why}");
        }
    }
    if failures.is_empty() {
        println!(
            "kernels: no failures (skips, if any, are named above); output under {}",
            out.display()
        );
        Ok(())
    } else {
        Err(format!("kernels: failed: {}", failures.join("; ")))
    }
}
