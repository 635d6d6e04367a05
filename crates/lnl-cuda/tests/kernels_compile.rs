//! Compiles every kernel source with NVRTC for sm_90 and insists on a clean log. Needs only
//! libnvrtc, no GPU, so CI runs it. Skips (with the reason) when libnvrtc cannot be loaded,
//! unless LNL_REQUIRE_NVRTC=1, where that is a failure.

use lnl_cuda::kernels::{compile_options, kernel_names, module_source, SOURCES};
use lnl_cuda::nvrtc::{compile_cubin, nvrtc_available, nvrtc_version};

fn nvrtc_or_skip() -> bool {
    if nvrtc_available() {
        return true;
    }
    let required = std::env::var("LNL_REQUIRE_NVRTC").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "LNL_REQUIRE_NVRTC=1 but libnvrtc cannot be loaded (LD_LIBRARY_PATH={:?})",
        std::env::var("LD_LIBRARY_PATH").ok()
    );
    eprintln!("skipped: libnvrtc cannot be loaded here (set LNL_REQUIRE_NVRTC=1 to fail instead)");
    false
}

#[test]
fn every_kernel_compiles_cleanly_for_sm_90() {
    if !nvrtc_or_skip() {
        return;
    }
    let version = nvrtc_version().expect("nvrtcVersion");
    let source = module_source();
    let compiled = compile_cubin("lnl_cuda", &source, &compile_options(9, 0))
        .unwrap_or_else(|e| panic!("NVRTC {version:?} failed:\n{e}"));
    assert!(
        compiled.log.is_empty(),
        "NVRTC {version:?} compiled with a non-empty log:\n{}",
        compiled.log
    );
    assert!(compiled.cubin.len() > 1024, "suspiciously small CUBIN");
    // Every kernel the provider loads is in the image (names are stored as C strings).
    for name in kernel_names() {
        let needle = format!("{name}\0");
        assert!(
            compiled
                .cubin
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "kernel {name} missing from the CUBIN"
        );
    }
    eprintln!(
        "NVRTC {}.{}: {} source files, CUBIN {} bytes",
        version.0,
        version.1,
        SOURCES.len(),
        compiled.cubin.len()
    );
}

/// The old W-ring GEMV kept for the device A/B (`LNL_CUDA_GEMV=ring-old`) compiles cleanly too.
#[test]
fn the_old_ring_gemv_variant_compiles_cleanly() {
    if !nvrtc_or_skip() {
        return;
    }
    let mut options = compile_options(9, 0);
    options.push("-DLNL_GEMV_RING_OLD=1".into());
    let compiled = compile_cubin("lnl_cuda", &module_source(), &options)
        .unwrap_or_else(|e| panic!("NVRTC failed on the old ring variant:\n{e}"));
    assert!(compiled.log.is_empty(), "non-empty log:\n{}", compiled.log);
    for name in kernel_names().iter().filter(|n| n.starts_with("lnl_gemv_")) {
        assert!(
            compiled
                .cubin
                .windows(name.len())
                .any(|w| w == name.as_bytes()),
            "kernel {name} missing from the old-ring CUBIN"
        );
    }
}

#[test]
fn a_broken_kernel_returns_kernel_build_with_the_log() {
    if !nvrtc_or_skip() {
        return;
    }
    let bad = format!(
        "{}\nextern \"C\" __global__ void broken() {{ undeclared_name = 1; }}\n",
        module_source()
    );
    match compile_cubin("broken_module", &bad, &compile_options(9, 0)) {
        Err(lnl_core::Error::KernelBuild {
            provider,
            kernel,
            log,
        }) => {
            assert_eq!(provider, "cuda");
            assert_eq!(kernel, "broken_module");
            assert!(
                log.contains("undeclared_name"),
                "log lacks the error: {log}"
            );
        }
        other => panic!("expected KernelBuild, got {other:?}"),
    }
}
