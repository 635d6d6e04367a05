//! The kernel sources (kernels/cuda/*.cu), embedded at build time and compiled by NVRTC at run
//! time as one translation unit. The order matters: later files use earlier ones.

/// `(file name, source)` in compilation order.
pub const SOURCES: [(&str, &str); 10] = [
    ("common.cu", include_str!("../../../kernels/cuda/common.cu")),
    (
        "async_copy.cu",
        include_str!("../../../kernels/cuda/async_copy.cu"),
    ),
    (
        "grid_dependency.cu",
        include_str!("../../../kernels/cuda/grid_dependency.cu"),
    ),
    (
        "row_stats.cu",
        include_str!("../../../kernels/cuda/row_stats.cu"),
    ),
    (
        "row_team.cu",
        include_str!("../../../kernels/cuda/row_team.cu"),
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
    ("tiny.cu", include_str!("../../../kernels/cuda/tiny.cu")),
];

/// One entry of [`GEMM_TILES`]: `(suffix, BM, BN, BK, TM, TN, STAGES, MINB)`.
pub type GemmTile = (&'static str, usize, usize, usize, usize, usize, usize, u32);

/// GEMM tile shapes compiled into the module (kernels/cuda/gemm.cu), as
/// `(suffix, BM, BN, BK, TM, TN, STAGES, MINB)`: a BM x BN block tile, K-tile BK, TM x TN outputs
/// per thread, STAGES shared-memory buffers in the cp.async pipeline, MINB blocks per SM promised
/// by its `__launch_bounds__` (its register cap: ptxas fills it, so MINB is also the most blocks
/// the registers admit).
pub const GEMM_TILES: [GemmTile; 3] = [
    ("64x128x16_8x8s4", 64, 128, 16, 8, 8, 4, 3),
    ("128x128x16_8x16s4", 128, 128, 16, 8, 16, 4, 2),
    ("64x64x16_8x4s4", 64, 64, 16, 8, 4, 4, 4),
];

/// Threads of a GEMM block of tile `t` (an index into [`GEMM_TILES`]).
pub fn gemm_threads(t: usize) -> u32 {
    let (_, bm, bn, _, tm, tn, ..) = GEMM_TILES[t];
    ((bm / tm) * (bn / tn)) as u32
}

/// Dynamic shared memory of a GEMM block of tile `t`: STAGES x (BM + BN) x BK floats of
/// cp.async stages plus two BK x BM buffers of k-major A (gemm_smem_bytes in
/// kernels/cuda/gemm_tile.cu).
pub fn gemm_smem_bytes(t: usize) -> u32 {
    let (_, bm, bn, bk, _, _, stages, _) = GEMM_TILES[t];
    ((stages * (bm + bn) + 2 * bm) * bk * 4) as u32
}

/// Every `extern "C"` kernel the module must export.
pub fn kernel_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "lnl_layernorm",
        "lnl_row_stats",
        "lnl_tiny_plain",
        "lnl_tiny_norm_w8",
        "lnl_tiny_norm_w32",
        "lnl_tiny_norm_reg",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for kind in ["plain", "norm"] {
        for r in [1, 2, 4, 8] {
            names.push(format!("lnl_gemv_r{r}_{kind}"));
        }
        for load in ["scalar", "vec"] {
            for (tile, ..) in GEMM_TILES {
                names.push(format!("lnl_gemm_{kind}_{load}_{tile}"));
            }
        }
    }
    names
}

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
