//! `cargo xtask kernels`, CUDA part: compiles kernels/cuda with NVRTC exactly as the provider
//! does (`lnl_cuda::kernels::{module_source, compile_options}`), for sm_90 and for the local
//! device when there is one; prints per kernel ok/failed, registers, shared memory and spills
//! (ptxas's report, asked of NVRTC with `--ptxas-options=-v`, else of nvcc when present);
//! writes the PTX, the CUBIN and the module source under `--out`.
//!
//!     cuda-kernels --out DIR [--require]
//!
//! Exit status: 0 all compiled cleanly; 1 a compile failed or logged a warning; 2 libnvrtc is
//! missing and `--require` (or LNL_REQUIRE_NVRTC=1) was given; 0 with a note when it is missing
//! otherwise.

use lnl_cuda::cudarc::nvrtc::result;
use lnl_cuda::kernels::{compile_options, kernel_names, module_source, SOURCES};
use lnl_cuda::nvrtc::{compile_cubin, nvrtc_available, nvrtc_version};
use std::collections::BTreeMap;
use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What ptxas reported for one kernel.
#[derive(Debug, Default, Clone)]
struct Resources {
    registers: Option<u32>,
    smem_bytes: Option<u32>,
    stack_bytes: Option<u32>,
    spill_stores: Option<u32>,
    spill_loads: Option<u32>,
}

/// The number just before `unit` in `line` ("16 registers" -> 16).
fn number_before(line: &str, unit: &str) -> Option<u32> {
    let at = line.find(unit)?;
    line[..at].split_whitespace().last()?.parse().ok()
}

/// Parses `ptxas -v` output: "Compiling entry function 'k'" / "Function properties for k",
/// then "N bytes stack frame, N bytes spill stores, N bytes spill loads" and "Used N registers,
/// ... N bytes smem".
fn parse_ptxas(log: &str) -> BTreeMap<String, Resources> {
    let mut out: BTreeMap<String, Resources> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in log.lines() {
        for marker in ["Compiling entry function '", "Function properties for "] {
            if let Some(i) = line.find(marker) {
                let name = line[i + marker.len()..]
                    .split('\'')
                    .next()
                    .unwrap_or("")
                    .trim();
                current = Some(name.to_string());
            }
        }
        let Some(k) = current.clone() else { continue };
        let r = out.entry(k).or_default();
        if line.contains("spill stores") {
            r.stack_bytes = number_before(line, "bytes stack frame");
            r.spill_stores = number_before(line, "bytes spill stores");
            r.spill_loads = number_before(line, "bytes spill loads");
        }
        if line.contains("Used") && line.contains("registers") {
            r.registers = number_before(line, "registers");
            r.smem_bytes = number_before(line, "bytes smem").or(Some(0));
        }
    }
    out
}

/// Log lines that are not ptxas's resource report: warnings the provider's test would refuse.
fn warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            let t = l.trim();
            let resource_line = t.contains("bytes stack frame") && t.contains("spill");
            !(t.is_empty() || t.starts_with("ptxas info") || resource_line)
        })
        .collect()
}

fn c_chars(raw: &[c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The PTX of the module for `compute_<arch>` with the provider's other options.
fn ptx(source: &str, arch: (i32, i32)) -> Result<String, String> {
    let mut opts = compile_options(arch.0, arch.1);
    opts[0] = format!("--gpu-architecture=compute_{}{}", arch.0, arch.1);
    let src = CString::new(source).map_err(|_| "source contains a NUL byte".to_string())?;
    let name = CString::new("lnl_cuda").map_err(|_| "NUL in name".to_string())?;
    let prog = result::create_program(&src, Some(&name)).map_err(|e| format!("{e:?}"))?;
    // SAFETY: `prog` was just created, is used only here and destroyed once at the end; `src`
    // and `name` outlive it.
    let compiled = unsafe { result::compile_program(prog, &opts) };
    // SAFETY: as above; a PTX is only asked for after a successful compile.
    let text = match compiled {
        Ok(()) => unsafe { result::get_ptx(prog) }
            .map(|p| c_chars(&p))
            .map_err(|e| format!("{e:?}")),
        Err(e) => Err(format!("{e:?}")),
    };
    // SAFETY: `prog` is live and not used after this.
    let _ = unsafe { result::destroy_program(prog) };
    text
}

/// ptxas's report through nvcc (when NVRTC cannot give it), on the dumped module source.
fn nvcc_report(source_file: &Path, arch: (i32, i32), dir: &Path) -> Option<String> {
    let out = std::process::Command::new("nvcc")
        .arg(format!("-arch=sm_{}{}", arch.0, arch.1))
        .args(["-std=c++17", "-cubin", "-Xptxas", "-v", "-o"])
        .arg(dir.join("nvcc.cubin"))
        .arg(source_file)
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The compute capability of device 0, when a driver and a device are present.
fn local_arch() -> Option<(i32, i32)> {
    use lnl_cuda::cudarc::driver::{sys, CudaContext};
    // SAFETY: loads libcuda by name, running only its own initialisers; without it cudarc would
    // panic on first use.
    if !unsafe { sys::is_culib_present() } {
        return None;
    }
    std::panic::catch_unwind(|| {
        let ctx = CudaContext::new(0).ok()?;
        ctx.compute_capability().ok()
    })
    .ok()
    .flatten()
}

fn fmt_opt(v: Option<u32>) -> String {
    v.map_or("?".into(), |n| n.to_string())
}

/// Compiles for one architecture; true when every kernel is there and the log is clean.
fn check_arch(source: &str, source_file: &Path, arch: (i32, i32), out: &Path) -> bool {
    let tag = format!("sm_{}{}", arch.0, arch.1);
    let dir = out.join(&tag);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        println!("cuda {tag}: cannot create {}: {e}", dir.display());
        return false;
    }
    let mut opts = compile_options(arch.0, arch.1);
    opts.push("--ptxas-options=-v".into());
    let (compiled, verbose) = match compile_cubin("lnl_cuda", source, &opts) {
        Ok(c) => (Ok(c), true),
        // An NVRTC without --ptxas-options: the provider's own options alone.
        Err(_) => (
            compile_cubin("lnl_cuda", source, &compile_options(arch.0, arch.1)),
            false,
        ),
    };
    let module = match compiled {
        Ok(m) => m,
        Err(e) => {
            println!("cuda {tag}: FAILED\n{e}");
            for k in kernel_names() {
                println!("  failed  {k}");
            }
            return false;
        }
    };
    let _ = std::fs::write(dir.join("lnl_cuda.cubin"), &module.cubin);
    let mut ok = true;
    let warn = warnings(&module.log);
    if !warn.is_empty() {
        println!("cuda {tag}: NVRTC logged warnings (the provider's test requires a clean log):");
        for w in &warn {
            println!("    {w}");
        }
        ok = false;
    }
    let report = if verbose {
        module.log.clone()
    } else {
        nvcc_report(source_file, arch, &dir).unwrap_or_default()
    };
    let _ = std::fs::write(dir.join("ptxas.log"), &report);
    let resources = parse_ptxas(&report);
    match ptx(source, arch) {
        Ok(p) => {
            let path = dir.join("lnl_cuda.ptx");
            let _ = std::fs::write(&path, p);
            println!("cuda {tag}: compiled; PTX {}", path.display());
        }
        Err(e) => {
            println!(
                "cuda {tag}: PTX for compute_{}{} failed: {e}",
                arch.0, arch.1
            );
            ok = false;
        }
    }
    if resources.is_empty() {
        println!("  (no resource report: NVRTC lacks --ptxas-options and nvcc is not on PATH)");
    }
    for k in kernel_names() {
        let needle = format!("{k}\0");
        let present = module
            .cubin
            .windows(needle.len())
            .any(|w| w == needle.as_bytes());
        ok &= present;
        let r = resources.get(&k).cloned().unwrap_or_default();
        println!(
            "  {:<7} {k:<34} regs {:>4}  smem {:>6} B  stack {:>4} B  spill st/ld {}/{} B",
            if present { "ok" } else { "MISSING" },
            fmt_opt(r.registers),
            fmt_opt(r.smem_bytes),
            fmt_opt(r.stack_bytes),
            fmt_opt(r.spill_stores),
            fmt_opt(r.spill_loads),
        );
        if r.spill_stores.unwrap_or(0) > 0 || r.spill_loads.unwrap_or(0) > 0 {
            println!("          note: {k} spills to local memory on {tag}");
        }
    }
    ok
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/lnl-kernels/cuda"));
    let require = args.iter().any(|a| a == "--require")
        || std::env::var("LNL_REQUIRE_NVRTC").is_ok_and(|v| v == "1");
    if !nvrtc_available() {
        let why = "libnvrtc cannot be loaded (install NVRTC, e.g. PyPI nvidia-cuda-nvrtc, and put \
                   the folder holding an unversioned libnvrtc.so on LD_LIBRARY_PATH)";
        if require {
            println!("cuda: FAILED: {why}; LNL_REQUIRE_NVRTC=1 makes this an error");
            return ExitCode::from(2);
        }
        println!("cuda: skipped: {why}");
        return ExitCode::SUCCESS;
    }
    let version = match nvrtc_version() {
        Ok(v) => v,
        Err(e) => {
            println!("cuda: FAILED: {e}");
            return ExitCode::FAILURE;
        }
    };
    let source = module_source();
    if let Err(e) = std::fs::create_dir_all(&out) {
        println!("cuda: cannot create {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let source_file = out.join("lnl_cuda_module.cu");
    let _ = std::fs::write(&source_file, &source);
    let files: Vec<&str> = SOURCES.iter().map(|(n, _)| *n).collect();
    println!(
        "cuda: NVRTC {}.{}, one module from {} sources ({}), options {:?}",
        version.0,
        version.1,
        files.len(),
        files.join(", "),
        compile_options(9, 0)[1..].to_vec()
    );
    let mut archs = vec![(9, 0)];
    match local_arch() {
        Some(a) if !archs.contains(&a) => archs.push(a),
        Some(_) => println!("cuda: the local device is sm_90 too"),
        None => println!("cuda: no local CUDA device: sm_90 only"),
    }
    let mut ok = true;
    for arch in archs {
        ok &= check_arch(&source, &source_file, arch, &out);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ptxas_verbose_output() {
        let log = "ptxas info    : 0 bytes gmem\n\
ptxas info    : Compiling entry function 'lnl_gemv_r1_plain' for 'sm_90'\n\
ptxas info    : Function properties for lnl_gemv_r1_plain\n\
    16 bytes stack frame, 20 bytes spill stores, 24 bytes spill loads\n\
ptxas info    : Used 40 registers, used 1 barriers, 16 bytes cumulative stack size, 2048 bytes smem, 400 bytes cmem[0]\n\
ptxas info    : Compiling entry function 'lnl_layernorm' for 'sm_90'\n\
ptxas info    : Function properties for lnl_layernorm\n\
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n\
ptxas info    : Used 48 registers, used 1 barriers, 400 bytes cmem[0]\n";
        let r = parse_ptxas(log);
        let g = &r["lnl_gemv_r1_plain"];
        assert_eq!(
            (g.registers, g.smem_bytes, g.stack_bytes),
            (Some(40), Some(2048), Some(16))
        );
        assert_eq!((g.spill_stores, g.spill_loads), (Some(20), Some(24)));
        let l = &r["lnl_layernorm"];
        assert_eq!(
            (l.registers, l.smem_bytes, l.spill_stores),
            (Some(48), Some(0), Some(0))
        );
        assert!(warnings(log).is_empty());
        assert_eq!(
            warnings("x.cu(3): warning: unused variable\n"),
            vec!["x.cu(3): warning: unused variable"]
        );
    }
}
