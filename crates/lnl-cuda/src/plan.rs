//! Which kernels a forward call launches, and with what grid. Shared by both strategies: for a
//! given shape the unfused and fused paths use the same core (tiny, few-rows GEMV or tiled
//! GEMM) and differ only in the LayerNorm step.

use std::sync::OnceLock;

use crate::device::DeviceInfo;
use crate::kernels::{gemm_smem_bytes, GEMM_TILES};

/// The GEMM tile of most shapes: on the H100 it matched the 128x128 tile (8 x 16 per thread) on
/// the large shapes within 0.5% and beat it on mid512 (512 x 4096 outputs: 256 tiles, two
/// blocks per SM, where 128x128 leaves one block of 4 warps per SM); docs/PERF.md, CUDA
/// provider. Its 56 KiB of shared memory fit every device.
const GEMM_DEFAULT: &str = "64x128x16_8x8s4";
/// The tile of shapes whose GEMM_DEFAULT tiles are fewer than the SMs: 8 x 4 outputs per thread,
/// twice the tiles (300 x 1000 -> 999 on the H100: 47 instead of 70 us; docs/PERF.md, session 6).
const GEMM_FEW_TILES: &str = "64x64x16_8x4s4";
/// The tile of grids whose busiest SMs take more than 3 tiles, where K % 4 == 0 and O % 4 == 0:
/// the W^T core (kernels/cuda/gemm_wt_tile.cu), 8 x 16 outputs per thread, 2 warps a block. On
/// the H100 it ran large4096 3-4% faster than GEMM_DEFAULT, but 600 x 4096 outputs (320 tiles: 3
/// on some SMs, whose 6 warps load two of the four schedulers twice) 25% slower (docs/PERF.md,
/// session 10).
const GEMM_WT: &str = "wt64x128x8_8x16s4";
/// The same core for grids whose busiest SMs take 2 tiles (mid512: 256 tiles): the K-tile in two
/// slices, each taken by 2 warps of a 4-warp block, so that each scheduler has 2 warps instead
/// of 1 (docs/PERF.md, session 11).
const GEMM_WT_SLICED: &str = "wt64x128x16_8x16s4k2";

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
/// float4s each thread of a row-wise kernel holds in registers (kernels/cuda/row_team.cu,
/// ROW_REG_VEC4): a row's team has enough threads to hold the whole row.
const ROW_REG_VEC4: usize = 4;
/// The largest team: a whole block (rows past 16384 floats are re-read from memory).
const ROW_MAX_TEAM: usize = 1024;
/// Blocks of one-warp teams (rows of at most 512 floats) hold up to this many threads.
const ROW_WARP_BLOCK: usize = 256;
/// The tiny kernel's block.
const TINY_THREADS: u32 = 256;
/// The tiny kernel keeps x and W in shared memory and runs in one block: only for layers whose
/// data fits the default 48 KiB and whose arithmetic one block does in about a microsecond.
const TINY_SMEM: usize = 48 * 1024;
const TINY_FMAS: usize = 1 << 16;
/// Longest row of the tiny register kernel (kernels/cuda/tiny.cu, TINY_REG_H).
const TINY_REG_H: usize = 16;
/// Shared memory kept free of the GEMV's x buffer (its static arrays, with room).
const SMEM_MARGIN: u32 = 1024;
/// The GEMV streams W through a per-warp ring of up to this many chunks (one 16-byte vector per
/// lane and output of the task), as deep as shared memory allows; two blocks per SM only with a
/// ring of at least 2 (kernels/cuda/gemv.cu). 6 rather than 8: on the H100 depth 6 took
/// decode1 from 22.1 to 21.8 µs and 1x1024x4096 from 9.0 to 8.3 µs, decode8 unchanged
/// (docs/PERF.md, session 6).
const GEMV_RING_DEPTH: usize = 6;
/// The ring depths the kernel's chunk loop is compiled for (`WRing::stream<D>`).
const GEMV_DEPTHS: [usize; 7] = [1, 2, 4, 6, 8, 12, 16];
/// Below this many W elements (and up to GEMV_MAX_ROWS rows), re-reading W for each group of 8
/// rows costs less than a GEMM launch that cannot fill the device.
const SMALL_W: usize = 1 << 20;
const GEMV_MAX_ROWS: usize = 64;

/// Shared memory of the GEMV's x for a group of `r` rows (kernels/cuda/gemv.cu): chunk-blocked
/// when H % 4 == 0 (each row padded to whole 128-float chunks, `x_blocked_float4s`), else row-major.
fn gemv_x_bytes(r: usize, hidden: usize) -> usize {
    if hidden % 4 == 0 {
        r * hidden.div_ceil(128) * 512
    } else {
        (r * hidden * 4).next_multiple_of(16)
    }
}

/// The core of a forward call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Core {
    /// Tiny layers. Unfused: one block, x and W in shared memory. Fused: `row_lanes` lanes
    /// per row's statistics: 1 (rows of at most `TINY_REG_H`: each thread its own outputs from
    /// registers, no shared memory, `blocks` blocks), 8 (short rows) or 32, one block.
    Tiny {
        row_lanes: u32,
        smem_bytes: u32,
        blocks: u32,
    },
    /// Few rows: `rows_per_group` in {1, 2, 4, 8} rows of x in shared memory. `blocks` blocks
    /// share out W's rows; `row_groups` such sets of blocks (the grid's y) take the row groups
    /// in turn (group g on set g mod row_groups), reading the same W at about the same time so
    /// that the other sets can find it in L2 (partly: W streams at about 70% of the read ceiling
    /// this way on the H100; docs/PERF.md).
    Gemv {
        rows_per_group: u32,
        row_groups: u32,
        threads: u32,
        blocks: u32,
        smem_bytes: u32,
    },
    /// The tiled GEMM, one block per output tile; `tile` indexes `GEMM_TILES`. `smem_bytes`:
    /// the tile's pipeline, or more, to spread a single wave evenly (`gemm_spread`).
    Gemm {
        vec: bool,
        tile: usize,
        blocks: u32,
        smem_bytes: u32,
    },
}

impl Core {
    /// Index into `Kernels::gemv[..]` for a GEMV group size.
    pub(crate) fn gemv_index(rows_per_group: u32) -> usize {
        rows_per_group.trailing_zeros() as usize
    }
    /// A short name for reports.
    pub(crate) fn name(&self) -> String {
        match self {
            Core::Tiny { row_lanes, .. } => format!("tiny(row group {row_lanes})"),
            Core::Gemv {
                rows_per_group,
                row_groups: 1,
                ..
            } => format!("gemv(R={rows_per_group})"),
            Core::Gemv {
                rows_per_group,
                row_groups,
                ..
            } => format!("gemv(R={rows_per_group} x {row_groups} block sets)"),
            Core::Gemm { vec, tile, .. } => format!(
                "gemm{}({})",
                GEMM_TILES[*tile].name,
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
        GEMM_TILES.iter().position(|t| t.name == v)
    })
}

/// `LNL_CUDA_GEMV_DEPTH` (1 to 16) caps the GEMV's W ring depth (rounded down to a compiled
/// one), for benchmarking variants.
fn forced_depth() -> Option<usize> {
    static FORCED: OnceLock<Option<usize>> = OnceLock::new();
    *FORCED.get_or_init(|| {
        let d: usize = std::env::var("LNL_CUDA_GEMV_DEPTH").ok()?.parse().ok()?;
        (1..=16).contains(&d).then_some(d)
    })
}

/// Chooses the core for `rows >= 1`.
pub(crate) fn choose(info: &DeviceInfo, rows: usize, hidden: usize, out: usize) -> Core {
    let tiny_smem = (rows * hidden + out * hidden) * 4;
    if tiny_smem <= TINY_SMEM && rows * hidden * out <= TINY_FMAS {
        let row_lanes = match hidden {
            h if h <= TINY_REG_H => 1,
            h if h <= 64 => 8,
            _ => 32,
        };
        // The register kernel spreads its outputs over blocks (a grid-stride loop beyond).
        let blocks = if row_lanes == 1 {
            (rows * out)
                .div_ceil(TINY_THREADS as usize)
                .min(info.sm_count.max(1) as usize)
        } else {
            1
        };
        return Core::Tiny {
            row_lanes,
            smem_bytes: tiny_smem as u32,
            blocks: blocks as u32,
        };
    }
    let optin = info.smem_optin.saturating_sub(SMEM_MARGIN) as usize;
    let mut r = rows.min(8).next_power_of_two();
    // Up to 8 rows whose x does not fit shared memory (H above about 7200 at 8 rows): fewer rows
    // per group, the groups on block sets of their own that stream W together (measured on the
    // H100 at 8 x 11008 -> 4096: 8x faster than the GEMM these shapes fell to before). Where all
    // rows fit, one group is faster (decode8 as 2 x 4 rows: 31.4 against 25.6 us).
    while r > 1 && rows <= 8 && gemv_x_bytes(r, hidden) > optin {
        r /= 2;
    }
    let groups = if rows <= 8 { rows.div_ceil(r) } else { 1 };
    let x_bytes = gemv_x_bytes(r, hidden);
    if x_bytes <= optin && (rows <= 8 || (rows <= GEMV_MAX_ROWS && out * hidden <= SMALL_W)) {
        // Spread the output tasks over every SM: persistent blocks, two per SM when their x
        // buffers and a ring of at least 2 chunks fit (more loads in flight), else one.
        let opw = gemv_outputs_per_warp(r);
        let tasks = out.div_ceil(opw);
        let sms = info.sm_count.max(1) as usize;
        // The ring's depth for `per_sm` blocks per SM of `warps` warps (0: x alone does not fit).
        let depth_for = |per_sm: usize, warps: usize| {
            if hidden % 4 != 0 {
                return 1; // no ring: W is read with scalar loads
            }
            let slot = warps * opw * 32 * 16;
            let budget = (info.smem_optin as usize / per_sm).saturating_sub(SMEM_MARGIN as usize);
            let fits = budget.saturating_sub(x_bytes) / slot;
            let want = fits.min(forced_depth().unwrap_or(GEMV_RING_DEPTH));
            // The deepest ring the kernel is compiled for, within `want` (0 if none fits).
            GEMV_DEPTHS
                .iter()
                .copied()
                .filter(|&d| d <= want)
                .max()
                .unwrap_or(0)
        };
        // Blocks of one set (all sets resident at once).
        let set_blocks = |per_sm: usize| tasks.min((per_sm * sms / groups).max(1));
        let warps_for = |per_sm: usize| tasks.div_ceil(set_blocks(per_sm)).clamp(2, GEMV_WARPS);
        // Registers: the R <= 2 kernels are built for two blocks of 512 threads per SM, the
        // R >= 4 ones for one (up to 128 registers a thread), so two only with <= 8 warps.
        let regs_ok = r <= 2 || warps_for(2) <= GEMV_WARPS / 2;
        let per_sm = if regs_ok && depth_for(2, warps_for(2)) >= 2 {
            2
        } else {
            1
        };
        let warps = warps_for(per_sm);
        let depth = depth_for(per_sm, warps);
        if depth >= 1 {
            let ring = if hidden % 4 == 0 {
                depth * warps * opw * 32 * 16
            } else {
                0
            };
            return Core::Gemv {
                rows_per_group: r as u32,
                row_groups: groups as u32,
                threads: (warps * 32) as u32,
                blocks: set_blocks(per_sm) as u32,
                smem_bytes: (x_bytes + ring) as u32,
            };
        }
    }
    // 64x128x16 with 8 x 8 outputs per thread (see GEMM_DEFAULT), unless its tiles would leave
    // SMs idle, or the W^T core's fit (GEMM_WT, GEMM_WT_SLICED). A forced tile whose pipeline needs more shared
    // memory than a block may have here is ignored.
    let named = |name: &str| {
        GEMM_TILES
            .iter()
            .position(|t| t.name == name)
            .expect("a compiled GEMM tile")
    };
    let tiles_of = |t: usize| rows.div_ceil(GEMM_TILES[t].bm) * out.div_ceil(GEMM_TILES[t].bn);
    let (wide, few) = (named(GEMM_DEFAULT), named(GEMM_FEW_TILES));
    let (wt, wt_sliced) = (named(GEMM_WT), named(GEMM_WT_SLICED));
    let sms = info.sm_count as usize;
    let fits = |t: usize| gemm_smem_bytes(t) <= info.smem_optin;
    // Tiles of the W^T core on the busiest SMs of an even spread.
    let wt_share = tiles_of(wt).div_ceil(sms.max(1));
    let wt_ok = hidden % 4 == 0 && out % 4 == 0;
    let default = if tiles_of(wide) < sms && fits(few) {
        few
    } else if wt_ok && wt_share == 2 && fits(wt_sliced) {
        wt_sliced
    } else if wt_ok && wt_share >= 4 {
        wt
    } else {
        wide
    };
    let tile = match forced_tile() {
        Some(t) if fits(t) => t,
        _ => default,
    };
    // rows * out fits u32 (checked before planning), so the tile count fits too.
    let blocks = tiles_of(tile) as u32;
    Core::Gemm {
        // 16-byte copies of x (rows of H), and of W^T (rows of O) for the W^T core.
        vec: hidden % 4 == 0 && (out % 4 == 0 || !GEMM_TILES[tile].w_transposed),
        tile,
        blocks,
        smem_bytes: gemm_spread(info, tile, blocks),
    }
}

/// Blocks of `smem` bytes of dynamic shared memory that fit on one SM by shared memory.
pub(crate) fn blocks_by_smem(info: &DeviceInfo, smem: u32) -> u32 {
    info.smem_per_sm / (smem + info.smem_reserved_per_block).max(1)
}

/// The dynamic shared memory of the blocks of GEMM tile `tile` in a grid of `blocks`: the
/// tile's pipeline, or, for a single wave that leaves room on the SMs, enough that no SM can
/// take more than its even share (blocks / SMs, rounded up). Blocks go wherever there is room:
/// on the H100, mid512's 256 blocks of a tile that fits 3 per SM ran up to 1.4x slower in graph
/// replay when some SMs took 3 and others 1. Capped at 2 per SM, the 64x128 tile (4 stages,
/// 168 registers) was also faster there than its 255-register variants (docs/PERF.md, session
/// 8).
fn gemm_spread(info: &DeviceInfo, tile: usize, blocks: u32) -> u32 {
    let smem = gemm_smem_bytes(tile);
    let min_blocks = GEMM_TILES[tile].min_blocks;
    let share = blocks.div_ceil(info.sm_count.max(1));
    if share >= blocks_by_smem(info, smem).min(min_blocks) {
        return smem;
    }
    // The least shared memory with which `share` blocks fit and `share + 1` do not.
    let padded = (info.smem_per_sm / (share + 1) + 1).saturating_sub(info.smem_reserved_per_block);
    if padded > smem && padded <= info.smem_optin && blocks_by_smem(info, padded) == share {
        padded
    } else {
        smem
    }
}

/// The launch of a row-wise kernel (lnl_layernorm, lnl_row_stats): a team of `row_threads`
/// threads per row, `threads` per block, `blocks` covering every row (one row per team).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowLaunch {
    pub(crate) row_threads: u32,
    pub(crate) threads: u32,
    pub(crate) blocks: u32,
}

/// The team is the fewest threads (a power of two, 32 to 1024) whose registers hold the row, so
/// that x is read once: 256 at H = 4096, one block per row (512 rows: 512 blocks, every SM).
/// One-warp teams (short rows) share blocks of up to 8 warps, fewer when 8 would leave SMs
/// without a block. Blocks fit the grid: rows x H fits u32, so at most 2^29 blocks.
pub(crate) fn row_launch(info: &DeviceInfo, rows: usize, hidden: usize) -> RowLaunch {
    let team = hidden
        .div_ceil(4 * ROW_REG_VEC4)
        .next_power_of_two()
        .clamp(32, ROW_MAX_TEAM);
    let mut per_block = if team == 32 { ROW_WARP_BLOCK / 32 } else { 1 };
    while per_block > 1 && rows.div_ceil(per_block) < info.sm_count as usize {
        per_block /= 2;
    }
    RowLaunch {
        row_threads: team as u32,
        threads: (team * per_block) as u32,
        blocks: rows.div_ceil(per_block) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h100() -> DeviceInfo {
        DeviceInfo {
            ordinal: 0,
            name: "H100-like".into(),
            cc: (9, 0),
            sm_count: 132,
            smem_optin: 232_448,
            smem_per_sm: 233_472,
            smem_reserved_per_block: 1024,
            total_mem: 80 << 30,
        }
    }

    #[test]
    fn decode_plans_fit_shared_memory_with_a_ring() {
        let info = h100();
        // decode8: 128 KiB of x, one block of 16 warps per SM, a 6-deep ring (16 KiB a slot).
        let d8 = choose(&info, 8, 4096, 4096);
        assert_eq!(
            d8,
            Core::Gemv {
                rows_per_group: 8,
                row_groups: 1,
                threads: 512,
                blocks: 132,
                smem_bytes: (128 + 6 * 16) << 10,
            }
        );
        // decode1: two blocks per SM, each 16 KiB of x and a 6-deep ring (8 KiB a slot).
        let d1 = choose(&info, 1, 4096, 4096);
        assert_eq!(
            d1,
            Core::Gemv {
                rows_per_group: 1,
                row_groups: 1,
                threads: 512,
                blocks: 264,
                smem_bytes: (16 + 6 * 8) << 10,
            }
        );
        for core in [d8, d1] {
            let Core::Gemv { smem_bytes, .. } = core else {
                unreachable!()
            };
            assert!(smem_bytes + SMEM_MARGIN <= info.smem_optin);
        }
        // H % 128 != 0: x chunk-blocked, each row padded to whole 128-float chunks (8 rows x
        // 8 chunks x 512 B), then the ring (6 slots of 2 warps x 1 KiB).
        assert_eq!(
            choose(&info, 5, 1000, 999),
            Core::Gemv {
                rows_per_group: 8,
                row_groups: 1,
                threads: 64,
                blocks: 264,
                smem_bytes: 8 * 8 * 512 + 6 * 2 * 1024,
            }
        );
        // 8 rows of H = 11008 exceed shared memory: two groups of 4 rows on two block sets of
        // 66 blocks (one block of 16 warps per SM), a 2-deep ring after 4 x 86 chunks of x.
        assert_eq!(
            choose(&info, 8, 11008, 4096),
            Core::Gemv {
                rows_per_group: 4,
                row_groups: 2,
                threads: 512,
                blocks: 66,
                smem_bytes: 4 * 86 * 512 + 2 * 16 * 1024,
            }
        );
        // GEMM shapes: 64x128 tiles, or 64x64 where 64x128 tiles would be fewer than the SMs.
        // A single wave with room to spare gets shared memory for its even share per SM.
        let tile_of = |rows, out| match choose(&info, rows, 1000, out) {
            Core::Gemm {
                tile,
                blocks,
                smem_bytes,
                ..
            } => (
                GEMM_TILES[tile].name,
                blocks,
                smem_bytes,
                blocks_by_smem(&info, smem_bytes),
            ),
            c => panic!("GEMM expected, got {c:?}"),
        };
        let s4 = gemm_smem_bytes(0);
        assert_eq!(s4, 57_344);
        // mid512: 256 blocks of the sliced W^T core (56 KiB, 4 per SM by shared memory), at
        // most 2 per SM by registers: no padding.
        assert_eq!(tile_of(512, 4096), ("wt64x128x16_8x16s4k2", 256, s4, 4));
        // 132 tiles, one per SM: the 8 x 8 core (4 warps, not the W^T core's 2).
        assert_eq!(tile_of(768, 1408), ("64x128x16_8x8s4", 132, 115_713, 1));
        // An even share of 3: the 8 x 8 core (the registers cap it at 3 per SM).
        assert_eq!(tile_of(600, 4096), ("64x128x16_8x8s4", 320, s4, 4));
        // More than 3 tiles per SM: the W^T core (28 KiB, 4 per SM by registers: no padding).
        assert_eq!(tile_of(4096, 4096), ("wt64x128x8_8x16s4", 2048, 28_672, 7));
        assert_eq!(tile_of(700, 4096), ("64x128x16_8x8s4", 352, s4, 4));
        assert_eq!(tile_of(900, 4096), ("wt64x128x8_8x16s4", 480, 28_672, 7));
        // ... unless O % 4 != 0 (its W^T rows would not take 16-byte copies).
        assert_eq!(tile_of(4096, 4095), ("64x128x16_8x8s4", 2048, s4, 4));
        // 64x64 tiles (4 per SM by registers): 80 blocks get one SM each, 256 two per SM.
        assert_eq!(tile_of(300, 999), ("64x64x16_8x4s4", 80, 115_713, 1));
        assert_eq!(tile_of(1000, 999), ("64x64x16_8x4s4", 256, 76_801, 2));
        assert_eq!(tile_of(1100, 999), ("64x128x16_8x8s4", 144, 76_801, 2));

        // One row of H = 60000 (240 KB) fits nowhere: the GEMM.
        assert!(matches!(choose(&info, 1, 60000, 64), Core::Gemm { .. }));
        // H % 4 != 0: no ring, x alone.
        let Core::Gemv { smem_bytes, .. } = choose(&info, 3, 7, 3000) else {
            panic!("GEMV expected")
        };
        assert_eq!(smem_bytes, 4 * 7 * 4);
    }

    #[test]
    fn short_tiny_rows_use_the_register_kernel() {
        let info = h100();
        assert_eq!(
            choose(&info, 16, 8, 16),
            Core::Tiny {
                row_lanes: 1,
                smem_bytes: (16 * 8 + 16 * 8) * 4,
                blocks: 1,
            }
        );
        let Core::Tiny {
            row_lanes, blocks, ..
        } = choose(&info, 64, 16, 64)
        else {
            panic!("tiny expected")
        };
        assert_eq!((row_lanes, blocks), (1, 16));
        let Core::Tiny { row_lanes, .. } = choose(&info, 12, 30, 40) else {
            panic!("tiny expected")
        };
        assert_eq!(row_lanes, 8);
    }

    #[test]
    fn row_launch_holds_each_row_in_one_team() {
        let info = h100();
        let launch = |rows, h| {
            let l = row_launch(&info, rows, h);
            (l.row_threads, l.threads, l.blocks)
        };
        // H = 4096: 256 threads x 4 float4s, a block per row; mid512 fills every SM.
        assert_eq!(launch(512, 4096), (256, 256, 512));
        assert_eq!(launch(4096, 4096), (256, 256, 4096));
        // Past a power of two: the next team; up to 16384 floats in registers, then 1024 threads.
        assert_eq!(launch(3, 4100), (512, 512, 3));
        assert_eq!(launch(70, 16384), (1024, 1024, 70));
        assert_eq!(launch(70, 50000), (1024, 1024, 70));
        assert_eq!(launch(100, 1030), (128, 128, 100));
        // Short rows: a warp each, 8 per block when that still gives every SM a block.
        assert_eq!(launch(3_000_000, 4), (32, 256, 375_000));
        assert_eq!(launch(300, 33), (32, 64, 150));
        assert_eq!(launch(1, 8), (32, 32, 1));
        // Several teams per block only when a team is one warp (block barriers need one row).
        for h in [1, 64, 512, 513, 2048, 4096, 8192, 20000] {
            for rows in [1, 100, 1000, 1 << 20] {
                let l = row_launch(&info, rows, h);
                assert!(l.row_threads == 32 || l.threads == l.row_threads);
                assert!(l.threads <= ROW_MAX_TEAM as u32 && l.threads % l.row_threads == 0);
                let teams = (l.blocks * (l.threads / l.row_threads)) as usize;
                assert!(teams >= rows && teams < rows + 8);
                let fits = (l.row_threads as usize) * 4 * ROW_REG_VEC4 >= h;
                assert!(fits || l.row_threads == 1024);
            }
        }
        // The kernel's register count is the one planned with.
        assert!(crate::kernels::module_source()
            .contains(&format!("#define ROW_REG_VEC4 {ROW_REG_VEC4}\n")));
    }
}
