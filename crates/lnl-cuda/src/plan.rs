//! Which kernels a forward call launches, and with what grid. Shared by both strategies: for a
//! given shape the unfused and fused paths use the same core (few-rows GEMV or tiled GEMM) and
//! differ only in the LayerNorm step.

use crate::device::DeviceInfo;

/// Tiled GEMM block tile (kernels/cuda/gemm_tile.cu).
pub(crate) const GEMM_BM: usize = 128;
pub(crate) const GEMM_BN: usize = 128;
pub(crate) const GEMM_THREADS: u32 = 256;
/// Outputs per warp in the few-rows kernel (kernels/cuda/gemv.cu).
const GEMV_OPW: usize = 2;
/// Row-wise kernels: warps per block (one warp per row).
pub(crate) const ROW_THREADS: u32 = 256;
/// Shared memory kept free of the GEMV's x buffer (its static arrays, with room).
const SMEM_MARGIN: u32 = 1024;
/// Below this many W elements (and up to GEMV_MAX_ROWS rows), re-reading W for each group of 8
/// rows costs less than a GEMM launch that cannot fill the device.
const SMALL_W: usize = 1 << 20;
const GEMV_MAX_ROWS: usize = 64;

/// The core of a forward call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Core {
    /// Few rows: `rows_per_group` in {1, 2, 4, 8} rows of x in shared memory.
    Gemv {
        rows_per_group: u32,
        threads: u32,
        blocks: u32,
        smem_bytes: u32,
    },
    /// The tiled GEMM, one block per 128 x 128 output tile.
    Gemm { vec: bool, blocks: u32 },
}

impl Core {
    /// Index into `Kernels::gemv[..]` for a GEMV group size.
    pub(crate) fn gemv_index(rows_per_group: u32) -> usize {
        rows_per_group.trailing_zeros() as usize
    }
    /// A short name for reports.
    pub(crate) fn name(&self) -> String {
        match self {
            Core::Gemv { rows_per_group, .. } => format!("gemv(R={rows_per_group})"),
            Core::Gemm { vec, .. } => {
                format!("gemm128x128({})", if *vec { "vec4" } else { "scalar" })
            }
        }
    }
}

/// Chooses the core for `rows >= 1`.
pub(crate) fn choose(info: &DeviceInfo, rows: usize, hidden: usize, out: usize) -> Core {
    let r = rows.min(8).next_power_of_two();
    let smem = r * hidden * 4;
    let smem_ok = smem <= info.smem_optin.saturating_sub(SMEM_MARGIN) as usize;
    if smem_ok && (rows <= 8 || (rows <= GEMV_MAX_ROWS && out * hidden <= SMALL_W)) {
        let tasks = out.div_ceil(GEMV_OPW);
        let warps = tasks.clamp(2, 16);
        let blocks = tasks.div_ceil(warps).min(info.sm_count.max(1) as usize);
        return Core::Gemv {
            rows_per_group: r as u32,
            threads: (warps * 32) as u32,
            blocks: blocks as u32,
            smem_bytes: smem as u32,
        };
    }
    let tiles = rows.div_ceil(GEMM_BM) * out.div_ceil(GEMM_BN);
    Core::Gemm {
        vec: hidden % 4 == 0,
        // rows * out fits u32 (checked before planning), so the tile count fits too.
        blocks: tiles as u32,
    }
}

/// Blocks for a row-wise kernel (one warp per row, grid-stride beyond).
pub(crate) fn row_blocks(rows: usize) -> u32 {
    let warps = (ROW_THREADS / 32) as usize;
    rows.div_ceil(warps).min(1 << 20) as u32
}
