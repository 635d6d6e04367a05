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

/// The decode GEMV's shape: `kt` work-items along k times `og` output groups (both powers of
/// two), `opt` outputs per work-item, `r` rows per row block, partial sums combined `rr` rows
/// per round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GemvTiles {
    pub kt: usize,
    pub og: usize,
    pub opt: usize,
    pub r: usize,
    pub rr: usize,
}

impl GemvTiles {
    pub fn work_group(&self) -> usize {
        self.kt * self.og
    }
    /// Outputs per work-group.
    pub fn outputs(&self) -> usize {
        self.og * self.opt
    }
    /// One local buffer serves the statistics scratch, then the partial-sum exchange; plus the
    /// rows' (mean, rstd).
    pub fn local_bytes(&self) -> usize {
        4 * (self.rr * self.outputs() * (self.kt + 1)).max(self.work_group()) + 8 * self.r
    }
    pub fn is_consistent(&self) -> bool {
        self.kt.is_power_of_two()
            && self.og.is_power_of_two()
            && self.opt > 0
            && self.r > 0
            && self.r <= self.work_group()
            && (1..=self.r).contains(&self.rr)
    }
}

/// Everything baked into one program build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelConfig {
    pub gemm: GemmTiles,
    pub gemv: GemvTiles,
    /// Work-group size of the row-statistics and LayerNorm kernels (a power of two).
    pub norm_wg: usize,
    /// Up to this many rows use the GEMV (W streamed once per `gemv.r` rows), beyond: the GEMM.
    pub gemv_max_rows: usize,
}

const fn gemm(bm: usize, bn: usize, bk: usize, tm: usize, tn: usize) -> GemmTiles {
    GemmTiles { bm, bn, bk, tm, tn }
}
const fn gemv(kt: usize, og: usize, opt: usize, r: usize, rr: usize) -> GemvTiles {
    GemvTiles { kt, og, opt, r, rr }
}

/// GPU candidates, largest first: 256 work-items and 8x8 per work-item where the device
/// allows (enough independent FMAs per local-memory read to approach the FMA rate).
const GPU_LEVELS: [(GemmTiles, GemvTiles, usize); 4] = [
    (gemm(128, 128, 16, 8, 8), gemv(64, 4, 8, 8, 4), 256),
    (gemm(64, 64, 16, 4, 4), gemv(32, 4, 4, 8, 8), 256),
    (gemm(32, 32, 16, 4, 4), gemv(16, 4, 4, 8, 8), 64),
    (gemm(16, 16, 16, 4, 4), gemv(8, 2, 4, 4, 4), 16),
];

/// CPU candidates: PoCL runs a work-group as loops over its work-items on one core, so a
/// work-group is a unit of scheduling, not of parallelism: modest sizes, many groups.
const CPU_LEVELS: [(GemmTiles, GemvTiles, usize); 3] = [
    (gemm(32, 32, 16, 4, 4), gemv(16, 4, 4, 8, 8), 64),
    (gemm(16, 16, 16, 4, 4), gemv(8, 2, 4, 4, 4), 16),
    (gemm(16, 16, 16, 4, 4), gemv(4, 1, 4, 4, 4), 4),
];

impl KernelConfig {
    /// Candidates that fit the device's limits, preferred first. The caller still checks each
    /// built kernel's own `CL_KERNEL_WORK_GROUP_SIZE` and moves down the list if one is lower.
    pub fn candidates(limits: &DeviceLimits) -> Vec<KernelConfig> {
        let levels: &[_] = if limits.is_gpu {
            &GPU_LEVELS
        } else {
            &CPU_LEVELS
        };
        levels
            .iter()
            .map(|&(gemm, gemv, norm_wg)| KernelConfig {
                gemm,
                gemv,
                norm_wg,
                gemv_max_rows: 2 * gemv.r,
            })
            .filter(|c| c.fits(limits))
            .collect()
    }

    /// Whether this configuration's work-groups and local memory fit the device.
    pub fn fits(&self, limits: &DeviceLimits) -> bool {
        let max_wg = limits.max_work_group.min(limits.max_items_dim0);
        self.gemm.is_consistent()
            && self.gemv.is_consistent()
            && self.norm_wg.is_power_of_two()
            && self.gemm.work_group() <= max_wg
            && self.gemv.work_group() <= max_wg
            && self.norm_wg <= max_wg
            && self.gemm.local_bytes() <= limits.local_mem_bytes
            && self.gemv.local_bytes() <= limits.local_mem_bytes
            && 4 * self.norm_wg <= limits.local_mem_bytes
    }

    /// The `-D` options that bake the sizes into the program.
    pub fn build_options(&self) -> String {
        let (g, v) = (self.gemm, self.gemv);
        format!(
            "-DGEMM_BM={} -DGEMM_BN={} -DGEMM_BK={} -DGEMM_TM={} -DGEMM_TN={} \
             -DGEMV_KT={} -DGEMV_OG={} -DGEMV_OPT={} -DGEMV_R={} -DGEMV_RR={}",
            g.bm, g.bn, g.bk, g.tm, g.tn, v.kt, v.og, v.opt, v.r, v.rr
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
    };
    const H100: DeviceLimits = DeviceLimits {
        is_gpu: true,
        max_work_group: 1024,
        max_items_dim0: 1024,
        local_mem_bytes: 48 * 1024,
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
