//! `cargo xtask bundle`: release binaries for a GPU host that has no Rust toolchain, in one
//! folder with a run script (`run.sh`) that runs the tests there, then `xtask bench
//! --prebuilt` on the bundled binaries, writing the same report as `cargo xtask bench`.
//!
//! Layout: bin/ (lnl, suite, ceilings, gpu-ceilings, xtask, cuda-kernels, opencl-kernels, cuda_bench,
//! opencl_bench, torch_anchor.py),
//! tests/ (every test binary of the workspace), lib/ (libOpenCL.so.1, used only when the host
//! has none), run.sh, README.txt.

use crate::bench::umbrella_features;
use crate::util::{
    cargo_executables, find_artifact, has_dev_library, root, target_dir, which, Artifact,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const RUN_SH: &str = include_str!("bundle_run.sh");

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

/// Strips debug information (test binaries are large; the device tool carries 64 MiB).
fn strip(files: &[PathBuf]) {
    if which("strip").is_none() || files.is_empty() {
        return;
    }
    let _ = Command::new("strip").args(files).status();
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut out = target_dir().join("lnl-bundle");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(it.next().ok_or("bundle: --out needs a value")?),
            other => return Err(format!("bundle: unknown argument {other:?}")),
        }
    }
    let mut notes = Vec::new();
    let features = umbrella_features(&mut notes);
    let opencl = !features.is_empty();

    let mut lnl_args = vec!["build", "--release", "--bin", "lnl"];
    lnl_args.extend(&features);
    let lnl = find_artifact(&cargo_executables(&lnl_args)?, "lnl", "bin")?;
    let mut suite_args = vec!["bench", "--no-run", "--bench", "suite"];
    suite_args.extend(&features);
    let suite = find_artifact(&cargo_executables(&suite_args)?, "suite", "bench")?;
    let xtask_features = if opencl { "cuda,opencl" } else { "cuda" };
    let mut tool_args = vec![
        "build",
        "--release",
        "-p",
        "xtask",
        "--features",
        xtask_features,
    ];
    tool_args.extend([
        "--bin",
        "xtask",
        "--bin",
        "ceilings",
        "--bin",
        "cuda-kernels",
        "--bin",
        "gpu-ceilings",
    ]);
    if opencl {
        tool_args.extend(["--bin", "opencl-kernels"]);
    }
    let tools = cargo_executables(&tool_args)?;
    let cuda_bench = find_artifact(
        &cargo_executables(&[
            "build",
            "--release",
            "-p",
            "lnl-cuda",
            "--example",
            "cuda_bench",
        ])?,
        "cuda_bench",
        "example",
    )?;
    let opencl_bench = if opencl {
        Some(find_artifact(
            &cargo_executables(&[
                "build",
                "--release",
                "-p",
                "lnl-opencl",
                "--example",
                "opencl_bench",
            ])?,
            "opencl_bench",
            "example",
        )?)
    } else {
        None
    };
    let mut test_args = vec![
        "test",
        "--release",
        "--no-run",
        "--workspace",
        "--exclude",
        "xtask",
    ];
    if opencl {
        test_args.extend(["--features", "opencl"]);
    } else {
        test_args.extend(["--exclude", "lnl-opencl"]);
    }
    let tests: Vec<Artifact> = cargo_executables(&test_args)?;

    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    for d in ["bin", "tests", "lib"] {
        std::fs::create_dir_all(out.join(d))
            .map_err(|e| format!("{}: {e}", out.join(d).display()))?;
    }
    let bin = out.join("bin");
    let mut stripped = Vec::new();
    let mut put = |from: &Path, to: PathBuf| -> Result<(), String> {
        copy(from, &to)?;
        stripped.push(to);
        Ok(())
    };
    put(&lnl, bin.join("lnl"))?;
    put(&suite, bin.join("suite"))?;
    put(&find_artifact(&tools, "xtask", "bin")?, bin.join("xtask"))?;
    for tool in ["ceilings", "gpu-ceilings", "cuda-kernels", "opencl-kernels"] {
        if tool != "opencl-kernels" || opencl {
            put(&find_artifact(&tools, tool, "bin")?, bin.join(tool))?;
        }
    }
    put(&cuda_bench, bin.join("cuda_bench"))?;
    if let Some(p) = &opencl_bench {
        put(p, bin.join("opencl_bench"))?;
    }
    for t in tests.iter().filter(|t| t.test) {
        // Two packages may both have tests/availability.rs: name the package and the kind.
        let name = format!("{}-{}-{}", t.package, t.kind, t.name);
        put(&t.path, out.join("tests").join(name))?;
    }
    strip(&stripped);
    match root().join("benches/gpu/torch_anchor.py") {
        p if p.is_file() => copy(&p, &bin.join("torch_anchor.py"))?,
        _ => notes.push(
            "benches/gpu/torch_anchor.py not found: no PyTorch comparison in the bundle".into(),
        ),
    }
    if opencl {
        for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"] {
            let so = Path::new(dir).join("libOpenCL.so.1");
            if so.exists() {
                copy(&so, &out.join("lib/libOpenCL.so.1"))?;
                break;
            }
        }
    } else if !has_dev_library("OpenCL") {
        notes.push(
            "no OpenCL provider in this bundle (libOpenCL.so missing where it was built)".into(),
        );
    }
    // Test binaries name `lnl` by the absolute path it had here (env!("CARGO_BIN_EXE_lnl")):
    // run.sh links the bundled one there when that path is free.
    std::fs::write(
        out.join("bin/lnl.build-path"),
        format!("{}\n", lnl.display()),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(out.join("run.sh"), RUN_SH).map_err(|e| e.to_string())?;
    std::fs::write(out.join("README.txt"), readme(&notes)).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ =
            std::fs::set_permissions(out.join("run.sh"), std::fs::Permissions::from_mode(0o755));
    }
    for n in &notes {
        eprintln!("bundle: note: {n}");
    }
    println!(
        "bundle: {} ({} test binaries); on the GPU host: bash <that folder>/run.sh",
        out.display(),
        tests.iter().filter(|t| t.test).count(),
    );
    Ok(())
}

fn readme(notes: &[String]) -> String {
    let mut s = String::from(
        r#"layernorm-linear bundle: release binaries built on a development machine for a GPU host
without a Rust toolchain (x86-64-v3, glibc 2.36 or newer).

  bash run.sh                   tests, kernel checks, then the report (--compare torch)
  bash run.sh tests kernels     tests and kernel checks only
  bash run.sh bench -- --quick  benchmark only; arguments after -- go to `xtask bench`

Output: $OUT (default ./out): one log per test binary, kernels/cuda/ (PTX, CUBIN and ptxas's
report for sm_90 and the local GPU), and report/report.md, report/report.json,
report/report.svg. NVIDIA's OpenCL ICD is registered for the run when
/usr/local/nvidia/lib64/libnvidia-opencl.so.1 exists. LNL_REQUIRE_CUDA=1 is set (the CUDA tests
fail rather than skip); set it to 0 on a host without a GPU.
"#,
    );
    for n in notes {
        s.push_str(&format!("\nNote: {n}\n"));
    }
    s
}
