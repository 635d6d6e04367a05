//! The kernel sources (kernels/cuda/*.cu), embedded at build time and compiled by NVRTC at run
//! time as one translation unit. The order matters: later files use earlier ones.

/// `(file name, source)` in compilation order.
pub const SOURCES: [(&str, &str); 13] = [
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
        "gemm_parts.cu",
        include_str!("../../../kernels/cuda/gemm_parts.cu"),
    ),
    (
        "gemm_tile.cu",
        include_str!("../../../kernels/cuda/gemm_tile.cu"),
    ),
    (
        "gemm_wt_tile.cu",
        include_str!("../../../kernels/cuda/gemm_wt_tile.cu"),
    ),
    ("gemm.cu", include_str!("../../../kernels/cuda/gemm.cu")),
    ("gemv.cu", include_str!("../../../kernels/cuda/gemv.cu")),
    ("tiny.cu", include_str!("../../../kernels/cuda/tiny.cu")),
    (
        "transpose.cu",
        include_str!("../../../kernels/cuda/transpose.cu"),
    ),
];

/// A GEMM tile compiled into the module (kernels/cuda/gemm.cu).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmTile {
    /// The kernels' name suffix.
    pub name: &'static str,
    /// Block tile rows and columns, K-tile.
    pub bm: usize,
    pub bn: usize,
    pub bk: usize,
    /// Outputs per thread.
    pub tm: usize,
    pub tn: usize,
    /// Shared-memory buffers in the cp.async pipeline.
    pub stages: usize,
    /// Blocks per SM promised by its `__launch_bounds__` (its register cap: ptxas fills it, so
    /// this is also the most blocks the registers admit).
    pub min_blocks: u32,
    /// The W^T core (kernels/cuda/gemm_wt_tile.cu), which reads W transposed, `[hidden, out]`.
    pub w_transposed: bool,
    /// Slices of the K-tile, each taken by its own warps (W^T core; 1 elsewhere).
    pub k_slices: usize,
}

const fn tile(
    name: &'static str,
    (bm, bn, bk): (usize, usize, usize),
    (tm, tn): (usize, usize),
    stages: usize,
    min_blocks: u32,
    (w_transposed, k_slices): (bool, usize),
) -> GemmTile {
    GemmTile {
        name,
        bm,
        bn,
        bk,
        tm,
        tn,
        stages,
        min_blocks,
        w_transposed,
        k_slices,
    }
}

/// GEMM tiles compiled into the module (kernels/cuda/gemm.cu says what each is for).
pub const GEMM_TILES: [GemmTile; 4] = [
    tile("64x128x16_8x8s4", (64, 128, 16), (8, 8), 4, 3, (false, 1)),
    tile("64x64x16_8x4s4", (64, 64, 16), (8, 4), 4, 4, (false, 1)),
    tile("wt64x128x8_8x16s4", (64, 128, 8), (8, 16), 4, 4, (true, 1)),
    tile(
        "wt64x128x16_8x16s4k2",
        (64, 128, 16),
        (8, 16),
        4,
        2,
        (true, 2),
    ),
];

/// Threads of a GEMM block of tile `t` (an index into [`GEMM_TILES`]).
pub fn gemm_threads(t: usize) -> u32 {
    let g = GEMM_TILES[t];
    ((g.bm / g.tm) * (g.bn / g.tn) * g.k_slices) as u32
}

/// Dynamic shared memory of a GEMM block of tile `t`: STAGES x (BM + BN) x BK floats of
/// cp.async stages plus two BK x BM buffers of k-major A (with K slices, two (BK / slices) x BM
/// per slice: the same total).
pub fn gemm_smem_bytes(t: usize) -> u32 {
    let g = GEMM_TILES[t];
    ((g.stages * (g.bm + g.bn) + 2 * g.bm) * g.bk * 4) as u32
}

/// Every `extern "C"` kernel the module must export.
pub fn kernel_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "lnl_layernorm",
        "lnl_row_stats",
        "lnl_transpose",
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
            for tile in GEMM_TILES {
                names.push(format!("lnl_gemm_{kind}_{load}_{}", tile.name));
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
