//! Tile and work-group sizes, chosen from the device's limits (a PoCL CPU device and an H100
//! differ), and the build options that bake them into the kernels.

use crate::device::DeviceLimits;

/// The tiled GEMM's shape: a `bm x bn` tile per work-group, `bk` deep, `tm x tn` per work-item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GemmTiles {
    pub bm: usize,
    pub bn: usize,
    pub bk: usize,
    pub tm: usize,
    pub tn: usize,
}

impl GemmTiles {
    /// Work-items per work-group.
    pub fn work_group(&self) -> usize {
        (self.bm / self.tm) * (self.bn / self.tn)
    }
    /// Local memory of the two staged tiles (each row padded by 4 floats).
    pub fn local_bytes(&self) -> usize {
        4 * self.bk * (self.bm + 4 + self.bn + 4)
    }
    /// The kernel's assumptions: float4 groups per work-item, whole float4 loads per work-item.
    pub fn is_consistent(&self) -> bool {
        let wg = self.work_group();
        self.tm % 4 == 0
            && self.tn % 4 == 0
            && self.bm % self.tm == 0
            && self.bn % self.tn == 0
            && self.bk % 4 == 0
            && wg > 0
            && (self.bm * self.bk / 4) % wg == 0
            && (self.bn * self.bk / 4) % wg == 0
            && (self.bm * self.bk / 4) >= wg
            && (self.bn * self.bk / 4) >= wg
    }
}

/// The decode GEMV's shape (kernels/opencl/gemv.cl): `kt` work-items along k times `og` output
/// groups (both powers of two), `opt` consecutive outputs per output-group task, `r` rows per row
/// block, `u` float4 of W per output in flight per step, x staged `kc` columns at a time (two
/// local buffers), partial sums combined `rr` rows per round. `per_cu` persistent work-groups
/// per compute unit (a launch size, not baked into the program). `nv`: NVIDIA-only cache hints
/// for W through inline PTX (loads that skip L1; with `pf` > 0, W prefetched into L2 that many
/// steps ahead), only on NVIDIA's platform.
/// `xnt` > 0 gives the fused strategy, where H fits (H <= 4 * `xnt` * `xp`) and the rows do
/// (at most 2 `xr`), the kernel of gemv_xreg.cl instead: `xnt`-wide work-groups (one per
/// compute unit) that hold x in registers (`xp` float4 per row and work-item) for row blocks of
/// `xr` rows, `xb` outputs per batch, the warps' partial sums combined every `xf` batches;
/// `xdb`: the next batch's W loaded before the current one's FMAs (more registers); it shares
/// `nv` and `pf` with the staged GEMV. `xr2` > `xr` adds a wide variant of that kernel (its own
/// program: `xr2` rows per block, flushed every `xf2` batches) for the rows past `xr`, up to
/// 2 `xr2`: more rows read W once, fewer do not pay for the wide blocks' registers (see
/// [`GemvTiles::xreg_variant`]); `xr2` 0: none. The unfused strategy always takes the staged
/// GEMV: with xhat already in memory the register kernel's row blocks only re-read W (measured
/// on an H100: unfused decode8 11% slower at `xr` 4, docs/PERF.md). `xnt` 0: the staged GEMV
/// everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GemvTiles {
    pub kt: usize,
    pub og: usize,
    pub opt: usize,
    pub r: usize,
    pub u: usize,
    pub kc: usize,
    pub rr: usize,
    pub per_cu: usize,
    pub nv: bool,
    pub pf: usize,
    pub xnt: usize,
    pub xp: usize,
    pub xb: usize,
    pub xf: usize,
    pub xdb: bool,
    pub xr: usize,
    pub xr2: usize,
    pub xf2: usize,
}

/// The fused strategy's register GEMV builds: the same kernel from two programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XregVariant {
    /// `xr` rows per block, flushed every `xf` batches.
    Narrow,
    /// `xr2` rows per block, flushed every `xf2` batches.
    Wide,
}

impl XregVariant {
    /// The name a profiled forward reports (both programs' kernel is `gemvx_fused`).
    pub fn kernel_name(self) -> &'static str {
        match self {
            XregVariant::Narrow => "gemvx_fused",
            XregVariant::Wide => "gemvx_wide_fused",
        }
    }
}

impl GemvTiles {
    /// Whether the register kernel (gemv_xreg.cl) takes rows of `hidden` elements.
    pub fn xreg_fits(&self, hidden: usize) -> bool {
        self.xnt > 0 && hidden <= 4 * self.xnt * self.xp
    }
    /// Up to this many rows the fused strategy may take the register kernel: two row blocks
    /// of its widest variant, so W is read at most twice (as the staged GEMV's limit of 2 `r`);
    /// beyond, the staged GEMV (one W pass per `r` rows) or the GEMM.
    pub fn xreg_max_rows(&self) -> usize {
        2 * self.xr.max(self.xr2)
    }
    /// The register kernel variant for `rows` rows of `hidden` elements, if any: up to `xr`
    /// rows the narrow one (one row block), then the wide one where there is one, else two
    /// narrow blocks; none past `xreg_max_rows` or where H does not fit.
    pub fn xreg_variant(&self, hidden: usize, rows: usize) -> Option<XregVariant> {
        if !self.xreg_fits(hidden) || rows > self.xreg_max_rows() {
            None
        } else if rows > self.xr && self.xr2 > 0 {
            Some(XregVariant::Wide)
        } else {
            Some(XregVariant::Narrow)
        }
    }
    /// The tiles a variant's program is built with: the wide one's `xr2`, `xf2` as `xr`, `xf`.
    pub fn xreg_tiles(&self, variant: XregVariant) -> GemvTiles {
        match variant {
            XregVariant::Narrow => *self,
            XregVariant::Wide => GemvTiles {
                xr: self.xr2,
                xf: self.xf2,
                xr2: 0,
                xf2: 0,
                ..*self
            },
        }
    }
    /// The wide variant's tiles, where the configuration has one.
    pub fn xreg_wide(&self) -> Option<GemvTiles> {
        (self.xnt > 0 && self.xr2 > 0).then(|| self.xreg_tiles(XregVariant::Wide))
    }
    /// The register kernel's local memory: the warps' totals (`xf` batches or the statistics'
    /// 2 `xr` values, each padded to warps + 1), the portable shuffles' scratch, the rows'
    /// stats; the larger of the two variants'.
    pub fn xreg_local_bytes(&self) -> usize {
        let wide = self.xreg_wide().map_or(0, |w| w.variant_local_bytes());
        self.variant_local_bytes().max(wide)
    }
    fn variant_local_bytes(&self) -> usize {
        if self.xnt == 0 {
            return 0;
        }
        let slots = (self.xf * self.xb * self.xr).max(2 * self.xr);
        let scratch = if self.nv { 1 } else { self.xnt };
        4 * slots * (self.xnt / 32 + 1) + 4 * scratch + 8 * self.xr
    }
    /// Work-groups along the outputs for the register kernel: one per compute unit, never more
    /// than there are batches.
    pub fn xreg_groups(&self, out: usize, compute_units: usize) -> usize {
        out.div_ceil(self.xb).min(compute_units.max(1)).max(1)
    }
    /// Both variants' kernel assumptions; the wide variant must be wider.
    fn xreg_is_consistent(&self) -> bool {
        self.variant_is_consistent()
            && self
                .xreg_wide()
                .is_none_or(|w| w.xr > self.xr && w.variant_is_consistent())
    }
    fn variant_is_consistent(&self) -> bool {
        let pow2_le_32 = |n: usize| n.is_power_of_two() && n <= 32;
        self.xnt == 0
            || (self.xnt % 32 == 0
                && self.xp > 0
                && self.xb > 0
                && self.xf > 0
                && self.xr > 0
                && pow2_le_32(self.xb * self.xr)
                && pow2_le_32(2 * self.xr))
    }
    pub fn work_group(&self) -> usize {
        self.kt * self.og
    }
    /// Outputs per work-group and round.
    pub fn outputs(&self) -> usize {
        self.og * self.opt
    }
    /// Columns of k one step covers (every lane, `u` float4 each).
    pub fn step(&self) -> usize {
        4 * self.kt * self.u
    }
    /// One local buffer serves the mean's scratch, the two staged x chunks, the squared
    /// residuals' per-slot partials (half a chunk buffer), then the partial-sum exchange (float4
    /// elements, as the kernel's V_BUF4); plus the rows' (mean, rstd).
    pub fn local_bytes(&self) -> usize {
        let xs4 = 2 * self.r * self.kc / 4;
        let red4 = (self.rr * self.outputs() * (self.kt + 1)).div_ceil(4);
        let scratch4 = self.work_group().div_ceil(4);
        16 * xs4.max(red4).max(scratch4) + 8 * self.r
    }
    /// Work-groups along the outputs for `out` outputs on `compute_units` compute units:
    /// persistent, `per_cu` per unit, but never more than there are output-group tasks for.
    pub fn groups(&self, out: usize, compute_units: usize) -> usize {
        let tasks = out.div_ceil(self.opt);
        tasks
            .div_ceil(self.og)
            .min(self.per_cu * compute_units.max(1))
            .max(1)
    }
    pub fn is_consistent(&self) -> bool {
        self.kt.is_power_of_two()
            && self.og.is_power_of_two()
            && self.opt > 0
            && self.r > 0
            && self.r <= self.work_group()
            && self.u > 0
            && self.kc > 0
            && self.kc % self.step() == 0
            && (1..=self.r).contains(&self.rr)
            && self.per_cu > 0
            && (self.nv || self.pf == 0)
            && self.xreg_is_consistent()
    }
}

/// Everything baked into one program build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelConfig {
    pub gemm: GemmTiles,
    pub gemv: GemvTiles,
    /// Work-group size of the row-statistics and LayerNorm kernels (a power of two).
    pub norm_wg: usize,
    /// Up to this many rows take a GEMV, beyond: the GEMM. The staged GEMV streams W once per
    /// `gemv.r` rows; the fused strategy's register GEMV, where enabled, takes rows up to the
    /// smaller of this and `gemv.xreg_max_rows()` (`gemv.xreg_variant`), the staged GEMV the
    /// rest.
    pub gemv_max_rows: usize,
}

const fn gemm(bm: usize, bn: usize, bk: usize, tm: usize, tn: usize) -> GemmTiles {
    GemmTiles { bm, bn, bk, tm, tn }
}
#[allow(clippy::too_many_arguments)]
const fn gemv(
    kt: usize,
    og: usize,
    opt: usize,
    r: usize,
    u: usize,
    kc: usize,
    rr: usize,
    per_cu: usize,
) -> GemvTiles {
    GemvTiles {
        kt,
        og,
        opt,
        r,
        u,
        kc,
        rr,
        per_cu,
        nv: false,
        pf: 0,
        xnt: 0,
        xp: 0,
        xb: 0,
        xf: 0,
        xdb: false,
        xr: 0,
        xr2: 0,
        xf2: 0,
    }
}

/// The fused strategy's decode GEMV on NVIDIA GPUs (gemv_xreg.cl): 256 work-items (NVIDIA's
/// OpenCL refused 512-wide ones), 4 float4 of each row per work-item (H <= 4096), one output
/// per batch without double buffering; up to 4 rows row blocks of 4, the warps' sums combined
/// every 32 batches, 5 to 16 rows the wide variant: row blocks of 8, every 16 batches.
/// Measured on an H100, fused b2b µs (xf, xr: decode1, decode8): 16, 4 (the previous default):
/// 25.5, 32.9 (two row blocks: W read twice); 32, 4: 24.8-24.9, 32.7-33.4; 16, 8: 28.9,
/// 29.8-29.9; 8, 8: 29.5-29.9, 30.2-30.7. Fields: xnt, xp, xb, xf, xdb, xr, xr2, xf2.
const NVIDIA_XREG: (usize, usize, usize, usize, bool, usize, usize, usize) =
    (256, 4, 1, 32, false, 4, 8, 16);

/// GPU candidates, largest first: GEMM 256 work-items and 8x8 per work-item where the device
/// allows (enough independent FMAs per local-memory read to approach the FMA rate); GEMV two
/// persistent 256-wide work-groups per compute unit, a warp-wide row walk per output task.
const GPU_LEVELS: [(GemmTiles, GemvTiles, usize); 4] = [
    (
        gemm(128, 128, 16, 8, 8),
        gemv(32, 8, 2, 8, 2, 256, 8, 2),
        256,
    ),
    (gemm(64, 64, 16, 4, 4), gemv(16, 8, 2, 8, 2, 256, 8, 2), 256),
    (gemm(32, 32, 16, 4, 4), gemv(16, 4, 4, 8, 1, 128, 8, 2), 64),
    (gemm(16, 16, 16, 4, 4), gemv(8, 2, 4, 4, 1, 64, 4, 2), 16),
];

/// CPU candidates: PoCL runs a work-group as loops over its work-items on one core, so a
/// work-group is a unit of scheduling, not of parallelism: modest sizes, many groups.
const CPU_LEVELS: [(GemmTiles, GemvTiles, usize); 3] = [
    (gemm(32, 32, 16, 4, 4), gemv(16, 4, 4, 8, 1, 256, 8, 4), 64),
    (gemm(16, 16, 16, 4, 4), gemv(8, 2, 4, 4, 1, 64, 4, 4), 16),
    (gemm(16, 16, 16, 4, 4), gemv(4, 1, 4, 4, 1, 16, 4, 4), 4),
];

impl KernelConfig {
    /// Candidates that fit the device's limits, preferred first. The caller still checks each
    /// built kernel's own `CL_KERNEL_WORK_GROUP_SIZE` and moves down the list if one is lower.
    /// The GEMM and GEMV levels step down independently (GEMV first): a GEMV that needs more
    /// registers than its work-group allows must not cost the GEMM its tiles.
    pub fn candidates(limits: &DeviceLimits) -> Vec<KernelConfig> {
        let levels: &[_] = if limits.is_gpu {
            &GPU_LEVELS
        } else {
            &CPU_LEVELS
        };
        levels
            .iter()
            .flat_map(|&(gemm, _, norm_wg)| {
                levels.iter().map(move |&(_, gemv, _)| KernelConfig {
                    gemm,
                    gemv,
                    norm_wg,
                    gemv_max_rows: 2 * gemv.r,
                })
            })
            // On NVIDIA's platform each level first with the GEMV's cache hints (W loads that
            // skip L1, W prefetched into L2 four steps ahead: measured fastest on an H100, see
            // docs/PERF.md) and the fused strategy's register GEMV (NVIDIA_XREG), then with the
            // hints only (should NVIDIA's compiler refuse the register GEMV: a second build that
            // fails, or a kernel allowing fewer work-items than it needs), then without either
            // (should the inline PTX not build). The register GEMV's wide variant is a third
            // build that only it needs: the runtime drops it alone if it is refused. Elsewhere
            // the register GEMV is not a default (no measurement); it is reachable with an
            // explicit configuration (opencl_bench: LNL_OPENCL_GEMV).
            .flat_map(|c| {
                let mut hinted = c;
                hinted.gemv.nv = true;
                hinted.gemv.pf = 4;
                let mut xreg = hinted;
                let v = &mut xreg.gemv;
                (v.xnt, v.xp, v.xb, v.xf, v.xdb, v.xr, v.xr2, v.xf2) = NVIDIA_XREG;
                let nvidia = limits.nvidia && limits.is_gpu;
                nvidia
                    .then_some([xreg, hinted])
                    .into_iter()
                    .flatten()
                    .chain([c])
            })
            .filter(|c| c.fits(limits))
            .collect()
    }

    /// Whether this configuration's work-groups and local memory fit the device.
    pub fn fits(&self, limits: &DeviceLimits) -> bool {
        let max_wg = limits.max_work_group.min(limits.max_items_dim0);
        (!self.gemv.nv || limits.nvidia)
            && self.gemm.is_consistent()
            && self.gemv.is_consistent()
            && self.norm_wg.is_power_of_two()
            && self.gemm.work_group() <= max_wg
            && self.gemv.work_group() <= max_wg
            && self.norm_wg <= max_wg
            && self.gemm.local_bytes() <= limits.local_mem_bytes
            && self.gemv.local_bytes() <= limits.local_mem_bytes
            && self.gemv.xnt <= max_wg
            && self.gemv.xreg_local_bytes() <= limits.local_mem_bytes
            && 4 * self.norm_wg <= limits.local_mem_bytes
    }

    /// The `-D` options that bake the sizes into the program.
    pub fn build_options(&self) -> String {
        let (g, v) = (self.gemm, self.gemv);
        format!(
            "-DGEMM_BM={} -DGEMM_BN={} -DGEMM_BK={} -DGEMM_TM={} -DGEMM_TN={} \
             -DGEMV_KT={} -DGEMV_OG={} -DGEMV_OPT={} -DGEMV_R={} -DGEMV_U={} -DGEMV_KC={} \
             -DGEMV_RR={} -DGEMV_NV={} -DGEMV_PF={} -DGEMVX_NT={} -DGEMVX_XP={} -DGEMVX_B={} \
             -DGEMVX_F={} -DGEMVX_DB={} -DGEMVX_R={}",
            g.bm,
            g.bn,
            g.bk,
            g.tm,
            g.tn,
            v.kt,
            v.og,
            v.opt,
            v.r,
            v.u,
            v.kc,
            v.rr,
            v.nv as u8,
            v.pf,
            v.xnt,
            v.xp,
            v.xb,
            v.xf,
            v.xdb as u8,
            v.xr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POCL_CPU: DeviceLimits = DeviceLimits {
        is_gpu: false,
        max_work_group: 4096,
        max_items_dim0: 4096,
        local_mem_bytes: 512 * 1024,
        compute_units: 2,
        nvidia: false,
    };
    const H100: DeviceLimits = DeviceLimits {
        is_gpu: true,
        max_work_group: 1024,
        max_items_dim0: 1024,
        local_mem_bytes: 48 * 1024,
        compute_units: 132,
        nvidia: true,
    };

    #[test]
    fn every_listed_level_is_self_consistent() {
        for (g, v, _) in GPU_LEVELS.iter().chain(&CPU_LEVELS) {
            assert!(g.is_consistent(), "{g:?}");
            assert!(v.is_consistent(), "{v:?}");
        }
    }

    #[test]
    fn cpu_and_gpu_get_different_sizes_that_fit() {
        let cpu = KernelConfig::candidates(&POCL_CPU);
        let gpu = KernelConfig::candidates(&H100);
        assert!(!cpu.is_empty() && !gpu.is_empty());
        assert_ne!(cpu[0], gpu[0]);
        assert!(gpu[0].gemv.local_bytes() <= H100.local_mem_bytes);
    }

    #[test]
    fn the_gemv_steps_down_before_the_gemm() {
        let gpu = KernelConfig::candidates(&DeviceLimits {
            nvidia: false,
            ..H100
        });
        assert_eq!(gpu[0].gemm, gpu[1].gemm);
        assert_ne!(gpu[0].gemv, gpu[1].gemv);
    }

    #[test]
    fn only_nvidia_gets_the_cache_hints_and_each_has_a_plain_fallback() {
        let nv = KernelConfig::candidates(&H100);
        assert_eq!((nv[0].gemv.nv, nv[0].gemv.pf), (true, 4));
        // First the register GEMV for the fused strategy, then the same without it.
        let mut hinted = nv[0];
        (hinted.gemv.xnt, hinted.gemv.xp, hinted.gemv.xb) = (0, 0, 0);
        (hinted.gemv.xf, hinted.gemv.xdb, hinted.gemv.xr) = (0, false, 0);
        (hinted.gemv.xr2, hinted.gemv.xf2) = (0, 0);
        assert_eq!(nv[1], hinted);
        let mut plain = hinted;
        (plain.gemv.nv, plain.gemv.pf) = (false, 0);
        assert_eq!(nv[2], plain);
        let other = DeviceLimits {
            nvidia: false,
            ..H100
        };
        let elsewhere = KernelConfig::candidates(&other);
        let pocl = KernelConfig::candidates(&POCL_CPU);
        assert!(elsewhere.iter().chain(&pocl).all(|c| !c.gemv.nv));
        assert!(elsewhere.iter().chain(&pocl).all(|c| c.gemv.xnt == 0));
        assert!(!nv[0].fits(&other));
    }

    #[test]
    fn nvidia_default_splits_the_gemv_rows_between_the_strategies() {
        let c = KernelConfig::candidates(&H100)[0];
        // Unfused: the staged GEMV, 8 rows per block, up to 16 rows. Fused: the 256-wide
        // register GEMV where H <= 4096, row blocks of 4 (every 32 batches) up to 4 rows, of 8
        // (every 16) up to 16.
        assert_eq!((c.gemv.r, c.gemv.rr, c.gemv_max_rows), (8, 8, 16));
        assert_eq!(
            (c.gemv.xnt, c.gemv.xp, c.gemv.xr, c.gemv.xf),
            (256, 4, 4, 32)
        );
        assert_eq!((c.gemv.xr2, c.gemv.xf2), (8, 16));
        assert_eq!(c.gemv.xreg_max_rows(), 16);
        assert!(c.gemv.xreg_fits(4096) && !c.gemv.xreg_fits(4097));
        assert!(c.build_options().contains("-DGEMV_R=8 "));
        assert!(c.build_options().contains("-DGEMVX_F=32 "));
        assert!(c.build_options().ends_with("-DGEMVX_R=4"));
        let wide = KernelConfig {
            gemv: c.gemv.xreg_wide().unwrap(),
            ..c
        };
        assert!(wide.build_options().contains("-DGEMVX_F=16 "));
        assert!(wide.build_options().ends_with("-DGEMVX_R=8"));
    }

    #[test]
    fn few_rows_take_the_narrow_register_gemv_more_the_wide_one() {
        use XregVariant::{Narrow, Wide};
        let v = KernelConfig::candidates(&H100)[0].gemv;
        let pick = |v: GemvTiles, h| [1, 4, 5, 8, 16, 17].map(|rows| v.xreg_variant(h, rows));
        let both = [
            Some(Narrow),
            Some(Narrow),
            Some(Wide),
            Some(Wide),
            Some(Wide),
            None,
        ];
        assert_eq!(pick(v, 4096), both);
        assert_eq!(pick(v, 4097), [None; 6], "H beyond the registers' columns");
        // Without the wide variant (not configured, or refused): two narrow blocks, 8 rows.
        let narrow = GemvTiles { xr2: 0, ..v };
        let one = [
            Some(Narrow),
            Some(Narrow),
            Some(Narrow),
            Some(Narrow),
            None,
            None,
        ];
        assert_eq!(pick(narrow, 4096), one);
        assert_eq!(narrow.xreg_max_rows(), 8);
        assert_eq!(v.xreg_tiles(Narrow), v);
        assert_eq!(
            v.xreg_tiles(Wide),
            GemvTiles {
                xr: 8,
                xf: 16,
                xr2: 0,
                xf2: 0,
                ..v
            }
        );
        assert_eq!(
            (Narrow.kernel_name(), Wide.kernel_name()),
            ("gemvx_fused", "gemvx_wide_fused")
        );
        // No register GEMV at all: no variant, whatever xr2 says.
        let off = GemvTiles { xnt: 0, ..v };
        assert_eq!(pick(off, 64), [None; 6]);
        assert!(off.xreg_wide().is_none());
    }

    #[test]
    fn the_wide_register_gemv_must_be_wider_and_consistent() {
        let v = KernelConfig::candidates(&H100)[0].gemv;
        assert!(v.is_consistent());
        for (xr2, xf2) in [(4, 16), (2, 16), (8, 0), (32, 16)] {
            assert!(
                !GemvTiles { xr2, xf2, ..v }.is_consistent(),
                "xr2 {xr2} xf2 {xf2}"
            );
        }
        assert!(GemvTiles { xr2: 16, ..v }.is_consistent());
        // Its local memory counts: the warps' totals of 16 rows x 128 batches (9 warp slots
        // each) are more than the H100's 48 KiB, the narrow variant's are not.
        let c = KernelConfig::candidates(&H100)[0];
        let wide = GemvTiles {
            xr2: 16,
            xf2: 128,
            ..v
        };
        assert_eq!(wide.xreg_local_bytes(), 4 * 16 * 128 * 9 + 4 + 8 * 16);
        assert!(c.fits(&H100) && !KernelConfig { gemv: wide, ..c }.fits(&H100));
    }

    #[test]
    fn the_register_gemv_covers_h_up_to_its_columns() {
        let mut v = GPU_LEVELS[0].1;
        assert!(!v.xreg_fits(1));
        (v.xnt, v.xp, v.xb, v.xf) = (512, 2, 1, 8);
        assert!(
            !v.is_consistent(),
            "a register GEMV needs its own rows per block"
        );
        v.xr = 8;
        assert!(v.is_consistent());
        assert!(v.xreg_fits(4096) && !v.xreg_fits(4097));
        v.xb = 8; // 64 partial sums per batch: more than a warp's lanes
        assert!(!v.is_consistent());
        (v.xb, v.xr) = (2, 16); // the staged GEMV's r does not limit xr, nor xr r
        assert!(v.is_consistent());
        v.xr = 32; // 2 xr statistics sums per batch: more than a warp's lanes
        assert!(!v.is_consistent());
    }

    #[test]
    fn a_small_device_gets_a_smaller_level() {
        let small = DeviceLimits {
            max_work_group: 64,
            max_items_dim0: 64,
            local_mem_bytes: 16 * 1024,
            ..H100
        };
        let c = KernelConfig::candidates(&small);
        assert!(!c.is_empty());
        assert!(c[0].gemm.work_group() <= 64 && c[0].gemv.local_bytes() <= 16 * 1024);
    }
}
