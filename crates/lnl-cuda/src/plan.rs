//! Which kernels a forward call launches, and with what grid. Shared by both strategies: for a
//! given shape the unfused and fused paths use the same core (tiny, few-rows GEMV or tiled
//! GEMM) and differ only in the LayerNorm step.

use std::sync::OnceLock;

use crate::device::DeviceInfo;
use crate::kernels::{gemm_smem_bytes, GEMM_TILES};

/// The GEMM tile of every shape: on the H100 it matched the 128x128 tile (8 x 16 per thread) on
/// the large shapes within 0.5%, beat it on mid512 (512 x 4096 outputs: 256 tiles, two blocks
/// per SM, where 128x128 leaves one block of 4 warps per SM), and its fused path is as fast as
/// its unfused one (docs/PERF.md, CUDA provider). Its 48 KiB pipeline fits every device.
const GEMM_DEFAULT: &str = "64x128x16_8x8s4";

/// Outputs per warp task in the few-rows kernel for a group of `r` rows (kernels/cuda/gemv.cu,
/// the OPW of its instantiations).
fn gemv_outputs_per_warp(r: usize) -> usize {
    if r <= 2 {
        1
    } else {
        2
    }
}
/// Warps per few-rows block.
const GEMV_WARPS: usize = 16;
/// Shared memory of one SM on the devices this targets is at least the per-block opt-in limit;
/// two few-rows blocks share an SM when both x buffers fit in it.
/// Row-wise kernels: threads per block (one warp per row).
pub(crate) const ROW_THREADS: u32 = 256;
/// The tiny kernel's block.
const TINY_THREADS: u32 = 256;
/// The tiny kernel keeps x and W in shared memory and runs in one block: only for layers whose
/// data fits the default 48 KiB and whose arithmetic one block does in about a microsecond.
const TINY_SMEM: usize = 48 * 1024;
const TINY_FMAS: usize = 1 << 16;
/// Shared memory kept free of the GEMV's x buffer (its static arrays, with room).
const SMEM_MARGIN: u32 = 1024;
/// Below this many W elements (and up to GEMV_MAX_ROWS rows), re-reading W for each group of 8
/// rows costs less than a GEMM launch that cannot fill the device.
const SMALL_W: usize = 1 << 20;
const GEMV_MAX_ROWS: usize = 64;

/// The core of a forward call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Core {
    /// One block, everything in shared memory; `narrow`: 8-lane row groups for short rows.
    Tiny { narrow: bool, smem_bytes: u32 },
    /// Few rows: `rows_per_group` in {1, 2, 4, 8} rows of x in shared memory.
    Gemv {
        rows_per_group: u32,
        threads: u32,
        blocks: u32,
        smem_bytes: u32,
    },
    /// The tiled GEMM, one block per output tile; `tile` indexes `GEMM_TILES`.
    Gemm { vec: bool, tile: usize, blocks: u32 },
}

impl Core {
    /// Index into `Kernels::gemv[..]` for a GEMV group size.
    pub(crate) fn gemv_index(rows_per_group: u32) -> usize {
        rows_per_group.trailing_zeros() as usize
    }
    /// A short name for reports.
    pub(crate) fn name(&self) -> String {
        match self {
            Core::Tiny { narrow, .. } => {
                format!("tiny(row group {})", if *narrow { 8 } else { 32 })
            }
            Core::Gemv { rows_per_group, .. } => format!("gemv(R={rows_per_group})"),
            Core::Gemm { vec, tile, .. } => format!(
                "gemm{}({})",
                GEMM_TILES[*tile].0,
                if *vec { "vec4" } else { "scalar" }
            ),
        }
    }
    pub(crate) fn tiny_threads() -> u32 {
        TINY_THREADS
    }
}

/// `LNL_CUDA_GEMM_TILE` (a `GEMM_TILES` name) forces a GEMM tile, for benchmarking variants.
fn forced_tile() -> Option<usize> {
    static FORCED: OnceLock<Option<usize>> = OnceLock::new();
    *FORCED.get_or_init(|| {
        let v = std::env::var("LNL_CUDA_GEMM_TILE").ok()?;
        GEMM_TILES.iter().position(|(name, ..)| *name == v)
    })
}

/// Chooses the core for `rows >= 1`.
pub(crate) fn choose(info: &DeviceInfo, rows: usize, hidden: usize, out: usize) -> Core {
    let tiny_smem = (rows * hidden + out * hidden) * 4;
    if tiny_smem <= TINY_SMEM && rows * hidden * out <= TINY_FMAS {
        return Core::Tiny {
            narrow: hidden <= 64,
            smem_bytes: tiny_smem as u32,
        };
    }
    let r = rows.min(8).next_power_of_two();
    let smem = r * hidden * 4;
    let smem_ok = smem <= info.smem_optin.saturating_sub(SMEM_MARGIN) as usize;
    if smem_ok && (rows <= 8 || (rows <= GEMV_MAX_ROWS && out * hidden <= SMALL_W)) {
        // Spread the output tasks over every SM: persistent blocks, two per SM when their x
        // buffers fit (more loads in flight), else one.
        let tasks = out.div_ceil(gemv_outputs_per_warp(r));
        let per_sm = if 2 * (smem + SMEM_MARGIN as usize) <= info.smem_optin as usize {
            2
        } else {
            1
        };
        let blocks = tasks.min(per_sm * info.sm_count.max(1) as usize);
        let warps = tasks.div_ceil(blocks).clamp(2, GEMV_WARPS);
        return Core::Gemv {
            rows_per_group: r as u32,
            threads: (warps * 32) as u32,
            blocks: blocks as u32,
            smem_bytes: smem as u32,
        };
    }
    // One tile for every GEMM shape: 64x128x16 with 8 x 8 outputs per thread (see GEMM_DEFAULT).
    // A forced tile whose pipeline needs more shared memory than a block may have here is ignored.
    let default = GEMM_TILES
        .iter()
        .position(|(n, ..)| *n == GEMM_DEFAULT)
        .expect("a compiled GEMM tile");
    let tile = match forced_tile() {
        Some(t) if gemm_smem_bytes(t) <= info.smem_optin => t,
        _ => default,
    };
    let (_, bm, bn, ..) = GEMM_TILES[tile];
    Core::Gemm {
        vec: hidden % 4 == 0,
        tile,
        // rows * out fits u32 (checked before planning), so the tile count fits too.
        blocks: (rows.div_ceil(bm) * out.div_ceil(bn)) as u32,
    }
}

/// Blocks for a row-wise kernel (one warp per row, grid-stride beyond).
pub(crate) fn row_blocks(rows: usize) -> u32 {
    let warps = (ROW_THREADS / 32) as usize;
    rows.div_ceil(warps).min(1 << 20) as u32
}
