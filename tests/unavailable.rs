//! Missing drivers and platforms are reported as unavailable with a reason, never a crash:
//! simulated in child processes with the loaders pointed at empty places.

#![cfg(any(feature = "cuda", feature = "opencl"))]

use std::process::Command;

fn empty_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lnl-empty-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `lnl providers` in a child with the given environment: its status and output.
fn providers_with(env: &[(&str, &std::path::Path)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lnl"));
    cmd.arg("providers");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[cfg(feature = "opencl")]
#[test]
fn no_opencl_platform_is_unavailable_with_a_reason() {
    let dir = empty_dir("icd");
    let (ok, out) = providers_with(&[("OCL_ICD_VENDORS", &dir), ("OPENCL_VENDOR_PATH", &dir)]);
    assert!(ok, "lnl providers crashed: {out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("opencl"))
        .unwrap_or_else(|| panic!("no opencl line: {out}"));
    if line.contains("available: NVIDIA") && !line.contains("unavailable") {
        // The ICD loader CUDA ships (first in the GPU host's loader cache) finds NVIDIA's driver
        // without reading OCL_ICD_VENDORS (seen on an H100 host, 2026-11-23): the simulation cannot
        // hide the platform there. The ocl-icd loader (Debian, CI) honours it.
        eprintln!("skipping: this OpenCL loader ignores OCL_ICD_VENDORS ({line})");
        return;
    }
    assert!(
        line.contains("unavailable:") && line.len() > "opencl  unavailable: ".len() + 10,
        "{line}"
    );
    // And asking for it by name exits 3 with the reason.
    let o = Command::new(env!("CARGO_BIN_EXE_lnl"))
        .args(["--provider", "opencl"])
        .env("OCL_ICD_VENDORS", &dir)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Without libcuda on the loader path the cuda provider is unavailable, not a panic. (On a GPU
/// host whose libcuda is in the system cache this still runs: it then checks there is no crash.)
#[cfg(feature = "cuda")]
#[test]
fn missing_cuda_driver_is_unavailable_not_a_crash() {
    let dir = empty_dir("ld");
    let (ok, out) = providers_with(&[("LD_LIBRARY_PATH", &dir)]);
    assert!(ok, "lnl providers crashed: {out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("cuda"))
        .unwrap_or_else(|| panic!("no cuda line: {out}"));
    assert!(line.contains("available"), "{line}");
    if line.contains("unavailable") {
        assert!(
            line.len() > "cuda    unavailable: ".len() + 10,
            "no reason given: {line}"
        );
    }
}
