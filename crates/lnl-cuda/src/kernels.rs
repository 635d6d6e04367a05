//! The kernel sources (kernels/cuda/*.cu), embedded at build time and compiled by NVRTC at run
//! time as one translation unit. The order matters: later files use earlier ones.

/// `(file name, source)` in compilation order.
pub const SOURCES: [(&str, &str); 6] = [
    ("common.cu", include_str!("../../../kernels/cuda/common.cu")),
    (
        "row_stats.cu",
        include_str!("../../../kernels/cuda/row_stats.cu"),
    ),
    (
        "layernorm.cu",
        include_str!("../../../kernels/cuda/layernorm.cu"),
    ),
    (
        "gemm_tile.cu",
        include_str!("../../../kernels/cuda/gemm_tile.cu"),
    ),
    ("gemm.cu", include_str!("../../../kernels/cuda/gemm.cu")),
    ("gemv.cu", include_str!("../../../kernels/cuda/gemv.cu")),
];

/// Every `extern "C"` kernel the module must export.
pub const KERNEL_NAMES: [&str; 14] = [
    "lnl_layernorm",
    "lnl_row_stats",
    "lnl_gemm_plain_vec",
    "lnl_gemm_plain_scalar",
    "lnl_gemm_norm_vec",
    "lnl_gemm_norm_scalar",
    "lnl_gemv_r1_plain",
    "lnl_gemv_r2_plain",
    "lnl_gemv_r4_plain",
    "lnl_gemv_r8_plain",
    "lnl_gemv_r1_norm",
    "lnl_gemv_r2_norm",
    "lnl_gemv_r4_norm",
    "lnl_gemv_r8_norm",
];

/// The module's source: every file of [`SOURCES`], each preceded by a `#line` directive so that
/// NVRTC's log names the original file and line.
pub fn module_source() -> String {
    let mut s = String::new();
    for (name, src) in SOURCES {
        s.push_str(&format!("#line 1 \"{name}\"\n"));
        s.push_str(src);
        s.push('\n');
    }
    s
}

/// The NVRTC options for a device of compute capability `major.minor`: machine code for that
/// exact architecture (no PTX JIT), fused multiply-add allowed, IEEE division and square root
/// (no fast math), so every path is plain fp32 arithmetic.
pub fn compile_options(major: i32, minor: i32) -> Vec<String> {
    vec![
        format!("--gpu-architecture=sm_{major}{minor}"),
        "--std=c++17".into(),
        "--fmad=true".into(),
        "--prec-div=true".into(),
        "--prec-sqrt=true".into(),
        "--ftz=false".into(),
    ]
}
