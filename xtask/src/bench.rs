//! `cargo xtask bench`: measures the machine's ceilings, runs the criterion suite
//! (benches/suite.rs) over every available provider, adds the providers' device-resident
//! timings (crates/lnl-cuda/examples/cuda_bench, crates/lnl-opencl/examples/opencl_bench) and,
//! with `--compare torch`, PyTorch (benches/gpu/torch_anchor.py) on the same shapes in the same
//! run, then writes the report. Every timing runs in a release binary, never in this (debug)
//! process. With `--prebuilt DIR` (the GPU host's bundle) the binaries come from DIR, not cargo.

use crate::progress::{run_step, run_suite};
use crate::report::{self, Report};
use crate::sources::{self, Ceiling, Measurement};
use crate::util::{
    cargo_executables, find_artifact, has_dev_library, has_runtime_library, root, target_dir, which,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Default)]
struct Options {
    providers: Option<String>,
    shapes: Option<String>,
    quick: bool,
    torch: bool,
    out: Option<PathBuf>,
    prebuilt: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("bench: {flag} needs a value"))
        };
        match a.as_str() {
            "--providers" => o.providers = Some(value(a)?),
            "--shapes" => o.shapes = Some(value(a)?),
            "--quick" => o.quick = true,
            "--compare" => match value(a)?.as_str() {
                "torch" => o.torch = true,
                other => return Err(format!("bench: --compare {other:?}: only `torch` is known")),
            },
            "--out" => o.out = Some(PathBuf::from(value(a)?)),
            "--prebuilt" => o.prebuilt = Some(PathBuf::from(value(a)?)),
            other => {
                return Err(format!(
                    "bench: unknown argument {other:?} (see `cargo xtask help`)"
                ))
            }
        }
    }
    Ok(o)
}

impl Options {
    fn wants(&self, provider: &str) -> bool {
        self.providers
            .as_ref()
            .is_none_or(|p| p.split(',').any(|n| n.trim() == provider))
    }
}

/// The release binaries and scripts one run uses.
struct Bins {
    ceilings: PathBuf,
    gpu_ceilings: Option<PathBuf>,
    suite: PathBuf,
    cuda_bench: Option<PathBuf>,
    opencl_bench: Option<PathBuf>,
    torch_script: Option<PathBuf>,
}

fn existing(p: PathBuf) -> Option<PathBuf> {
    p.is_file().then_some(p)
}

fn prebuilt(dir: &Path) -> Result<Bins, String> {
    let need = |name: &str| {
        existing(dir.join(name))
            .ok_or_else(|| format!("bench: {} is missing", dir.join(name).display()))
    };
    Ok(Bins {
        ceilings: need("ceilings")?,
        gpu_ceilings: existing(dir.join("gpu-ceilings")),
        suite: need("suite")?,
        cuda_bench: existing(dir.join("cuda_bench")),
        opencl_bench: existing(dir.join("opencl_bench")),
        torch_script: existing(dir.join("torch_anchor.py")),
    })
}

/// The umbrella features that build here: `opencl` only where libOpenCL.so is.
pub fn umbrella_features(skipped: &mut Vec<String>) -> Vec<&'static str> {
    if has_dev_library("OpenCL") {
        vec!["--features", "opencl"]
    } else {
        skipped.push(
            "opencl: not compiled in: libOpenCL.so not found (install ocl-icd-opencl-dev and an ICD, e.g. pocl-opencl-icd)"
                .into(),
        );
        vec![]
    }
}

/// Builds what is missing with cargo; optional parts that cannot be built are noted as skipped.
fn build(o: &Options, skipped: &mut Vec<String>) -> Result<Bins, String> {
    let features = umbrella_features(skipped);
    let ceilings = find_artifact(
        &cargo_executables(&["build", "--release", "-p", "xtask", "--bin", "ceilings"])?,
        "ceilings",
        "bin",
    )?;
    let mut args = vec!["bench", "--no-run", "--bench", "suite"];
    args.extend(&features);
    let suite = find_artifact(&cargo_executables(&args)?, "suite", "bench")?;
    let mut example = |package: &str, name: &str, why_not: Option<&str>| -> Option<PathBuf> {
        if let Some(why) = why_not {
            skipped.push(format!("{name} (device-resident timings): {why}"));
            return None;
        }
        let built = cargo_executables(&["build", "--release", "-p", package, "--example", name])
            .and_then(|a| find_artifact(&a, name, "example"));
        built
            .map_err(|e| skipped.push(format!("{name} (device-resident timings): {e}")))
            .ok()
    };
    let driver = has_runtime_library("cuda", "1");
    let gpu_ceilings = if driver {
        let args = [
            "build",
            "--release",
            "-p",
            "xtask",
            "--features",
            "cuda",
            "--bin",
            "gpu-ceilings",
        ];
        Some(find_artifact(
            &cargo_executables(&args)?,
            "gpu-ceilings",
            "bin",
        )?)
    } else {
        None
    };
    let cuda_bench = if !o.wants("cuda") {
        None
    } else {
        let no_driver = (!has_runtime_library("cuda", "1"))
            .then_some("no CUDA driver (libcuda.so.1) on this machine");
        example("lnl-cuda", "cuda_bench", no_driver)
    };
    let opencl_bench = if !o.wants("opencl") {
        None
    } else {
        let no_cl = features.is_empty().then_some("libOpenCL.so not found");
        example("lnl-opencl", "opencl_bench", no_cl)
    };
    Ok(Bins {
        ceilings,
        gpu_ceilings,
        suite,
        cuda_bench,
        opencl_bench,
        torch_script: existing(root().join("benches/gpu/torch_anchor.py")),
    })
}

/// The shapes each provider ran in the suite, per the manifest.
fn shapes_run(manifest: &Value, provider: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for r in manifest["ran"].as_array().into_iter().flatten() {
        if r["provider"] == provider {
            let s = r["shape"].as_str().unwrap_or("").to_string();
            if !v.contains(&s) {
                v.push(s);
            }
        }
    }
    v
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "this machine's CPU".into())
}

/// Runs an optional step; its failure is noted as skipped, not fatal.
fn optional(label: &str, cmd: Command, log: &Path, skipped: &mut Vec<String>) -> bool {
    match run_step(label, cmd, log) {
        Ok(()) => true,
        Err(e) => {
            skipped.push(format!(
                "{label}: failed: {}",
                e.lines().next().unwrap_or("")
            ));
            eprintln!("  {label}: failed (details in {})", log.display());
            false
        }
    }
}

/// Whether `python3` can import torch and sees a CUDA device.
fn torch_ready() -> Result<(), String> {
    let Some(py) = which("python3") else {
        return Err("python3 is not on PATH".into());
    };
    let probe = Command::new(py)
        .args([
            "-c",
            "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)",
        ])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    match probe.status.code() {
        Some(0) => Ok(()),
        Some(3) => Err(
            "torch sees no CUDA device (the anchor times F.layer_norm + F.linear on CUDA)".into(),
        ),
        _ => Err(format!(
            "python3 cannot import torch: {}",
            String::from_utf8_lossy(&probe.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let mut skipped = Vec::new();
    let bins = match &o.prebuilt {
        Some(dir) => prebuilt(dir)?,
        None => build(&o, &mut skipped)?,
    };
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("lnl-report"));
    let raw = out.join("raw");
    std::fs::create_dir_all(&raw).map_err(|e| format!("{}: {e}", raw.display()))?;

    // 1. Ceilings first, on a quiet machine.
    let mut ceilings: Vec<Ceiling> = Vec::new();
    let mut cmd = Command::new(&bins.ceilings);
    cmd.arg("--json").arg(raw.join("ceilings.json"));
    if optional(
        "CPU ceilings (FMA peak, memory bandwidth)",
        cmd,
        &raw.join("ceilings.log"),
        &mut skipped,
    ) {
        ceilings.push(sources::cpu_ceiling(
            &raw.join("ceilings.json"),
            &cpu_model(),
        )?);
    }

    // A bundle carries the binary to hosts with and without a GPU.
    if let Some(exe) = bins
        .gpu_ceilings
        .as_ref()
        .filter(|_| has_runtime_library("cuda", "1"))
    {
        let json = raw.join("gpu_ceilings.json");
        let mut cmd = Command::new(exe);
        cmd.arg("--json").arg(&json);
        let label = "GPU ceilings (FMA peak, read and copy bandwidth)";
        if optional(label, cmd, &raw.join("gpu_ceilings.log"), &mut skipped) {
            ceilings.push(sources::gpu_ceiling(&json)?);
        }
    }

    // 2. The criterion suite, host slices.
    let manifest_path = raw.join("manifest.json");
    let criterion_home = out.join("criterion");
    let mut cmd = Command::new(&bins.suite);
    cmd.arg("--bench")
        .env("CRITERION_HOME", &criterion_home)
        .env("LNL_BENCH_MANIFEST", &manifest_path)
        .env("LNL_BENCH_QUICK", if o.quick { "1" } else { "0" });
    if let Some(p) = &o.providers {
        cmd.env("LNL_BENCH_PROVIDERS", p);
    }
    if let Some(s) = &o.shapes {
        cmd.env("LNL_BENCH_SHAPES", s);
    }
    let _ = std::fs::remove_file(&manifest_path);
    run_suite(cmd, &raw.join("suite.log"))?;
    let (mut measurements, manifest): (Vec<Measurement>, Value) =
        sources::criterion(&manifest_path, &criterion_home)?;
    for s in manifest["skipped"].as_array().into_iter().flatten() {
        let label: Vec<&str> = ["provider", "shape", "what"]
            .iter()
            .filter_map(|k| s[*k].as_str())
            .collect();
        skipped.push(format!(
            "{}: {}",
            label.join("/"),
            s["reason"].as_str().unwrap_or("")
        ));
    }
    let ran = |p: &str| {
        manifest["providers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["provider"] == p)
    };

    // 3. Device-resident timings of the providers that ran.
    if ran("cuda") {
        match &bins.cuda_bench {
            Some(exe) => {
                let json = raw.join("cuda_bench.json");
                let mut cmd = Command::new(exe);
                cmd.arg("--shapes")
                    .arg(shapes_run(&manifest, "cuda").join(","))
                    .arg("--json")
                    .arg(&json);
                if optional(
                    "CUDA device-resident timings",
                    cmd,
                    &raw.join("cuda_bench.log"),
                    &mut skipped,
                ) {
                    measurements.extend(sources::cuda_bench(&json)?);
                }
            }
            None => skipped.push("cuda device-resident timings: no cuda_bench binary".into()),
        }
    }
    if ran("opencl") {
        if let Some(exe) = &bins.opencl_bench {
            let log = raw.join("opencl_bench.log");
            let mut cmd = Command::new(exe);
            cmd.args(shapes_run(&manifest, "opencl"));
            if o.quick {
                cmd.env("LNL_BENCH_SECONDS", "0.3");
            }
            if optional("OpenCL device-resident timings", cmd, &log, &mut skipped) {
                measurements.extend(sources::opencl_bench(&log)?);
            }
        }
    }

    // 4. PyTorch on the same shapes, same device, same run.
    if o.torch {
        let shapes: BTreeSet<String> = measurements.iter().map(|m| m.shape.clone()).collect();
        match (torch_ready(), &bins.torch_script) {
            (Err(why), _) => skipped.push(format!("--compare torch: {why}")),
            (Ok(()), None) => {
                skipped.push("--compare torch: benches/gpu/torch_anchor.py not found".into())
            }
            (Ok(()), Some(script)) => {
                let json = raw.join("torch.json");
                let mut cmd = Command::new("python3");
                cmd.arg(script)
                    .arg("--json")
                    .arg(&json)
                    .arg("--shapes")
                    .arg(shapes.into_iter().collect::<Vec<_>>().join(","));
                if optional(
                    "PyTorch anchor (and GPU ceilings)",
                    cmd,
                    &raw.join("torch.log"),
                    &mut skipped,
                ) {
                    let (ms, gpu) = sources::torch(&json)?;
                    measurements.extend(ms);
                    ceilings.extend(gpu);
                }
            }
        }
    }
    if !ceilings.iter().any(|c| c.kind.starts_with("gpu"))
        && (ran("cuda") || measurements.iter().any(|m| m.device.contains("NVIDIA")))
    {
        skipped.push(
            "GPU ceilings: not measured (no gpu-ceilings binary ran, and no --compare torch)"
                .into(),
        );
    }

    let rep = Report {
        command: match &o.prebuilt {
            None => format!("cargo xtask bench {}", args.join(" ")),
            Some(_) => format!("xtask bench {} (bundle)", args.join(" ")),
        },
        measurements,
        ceilings,
        skipped,
    };
    report::write(&out, &rep)?;
    for k in &rep.skipped {
        eprintln!("skipped: {k}");
    }
    println!(
        "bench: {} timings; wrote {}, report.json, report.svg",
        rep.measurements.len(),
        out.join("report.md").display()
    );
    Ok(())
}
