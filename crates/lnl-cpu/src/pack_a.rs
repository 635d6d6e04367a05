//! Packing of `A` (the GEMM's left operand, `[rows, hidden]`) into micro-panels of [`MR`] rows,
//! each `[k][mr]` contiguous, so the microkernel broadcasts consecutive floats.
//!
//! This is where the strategies differ, and only here: [`PlainRows`] copies rows that already
//! hold the operand (bare GEMM; unfused, whose LayerNorm wrote them to memory), while
//! [`NormalisedRows`] normalises `x` on the way in (fused: the normalised tensor never exists).

use crate::microkernel::MR;
use crate::simd::{load, normalise, LANES};
use lnl_core::row_stats::RowStats;
use wide::f32x8;

/// Rows of the GEMM's left operand, produced 8 lanes at a time.
pub trait RowSource: Sync {
    /// Row length (`hidden`).
    fn hidden(&self) -> usize;
    /// Elements `k..k + n` (`n <= 8`) of operand row `r`; lanes past `n` are unspecified.
    fn lanes(&self, r: usize, k: usize, n: usize) -> f32x8;
}

/// Rows already in memory, row-major `[rows, hidden]`.
#[derive(Debug, Clone, Copy)]
pub struct PlainRows<'a> {
    /// The operand.
    pub x: &'a [f32],
    /// Row length.
    pub hidden: usize,
}

impl RowSource for PlainRows<'_> {
    fn hidden(&self) -> usize {
        self.hidden
    }
    #[inline(always)]
    fn lanes(&self, r: usize, k: usize, n: usize) -> f32x8 {
        let s = r * self.hidden + k;
        load(&self.x[s..s + n])
    }
}

/// `LN(x)` computed as it is packed: `gamma * ((x - mean) * rstd) + beta` from per-row stats.
#[derive(Debug, Clone, Copy)]
pub struct NormalisedRows<'a> {
    /// The raw input, `[rows, hidden]`.
    pub x: &'a [f32],
    /// Row length.
    pub hidden: usize,
    /// Per-row mean and rstd (the 2-float pre-pass).
    pub stats: &'a [RowStats],
    /// LayerNorm scale.
    pub gamma: &'a [f32],
    /// LayerNorm shift.
    pub beta: &'a [f32],
}

impl RowSource for NormalisedRows<'_> {
    fn hidden(&self) -> usize {
        self.hidden
    }
    #[inline(always)]
    fn lanes(&self, r: usize, k: usize, n: usize) -> f32x8 {
        let s = r * self.hidden + k;
        let st = self.stats[r];
        normalise(
            load(&self.x[s..s + n]),
            f32x8::splat(st.mean),
            f32x8::splat(st.rstd),
            load(&self.gamma[k..k + n]),
            load(&self.beta[k..k + n]),
        )
    }
}

/// Floats a packed block of `rows x kl` occupies.
pub fn packed_len(rows: usize, kl: usize) -> usize {
    rows * kl
}

/// The micro-panels of a block of `rows` rows, as `(first row, row count)`: as few as `MR`
/// allows, with balanced sizes (8 rows are 4 + 4, not 6 + 2: a 2-row block has too few
/// independent FMA chains to hide the FMA latency). The packed panel of rows `r..r + mr`
/// starts at float `r * kl`.
pub fn micro_panels(rows: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = rows.div_ceil(MR);
    let (base, extra) = (rows / count.max(1), rows % count.max(1));
    (0..count).map(move |p| (p * base + p.min(extra), base + usize::from(p < extra)))
}

/// Packs rows `r0..r0 + rows`, columns `k0..k0 + kl` of `src` into `dst`
/// (`packed_len(rows, kl)` floats): the panel of [`micro_panels`] entry `(r, mr)` at `r * kl`,
/// laid out `[k][mr]`.
pub fn pack<S: RowSource>(src: &S, r0: usize, rows: usize, k0: usize, kl: usize, dst: &mut [f32]) {
    for (pr, mr) in micro_panels(rows) {
        let panel = &mut dst[pr * kl..(pr + mr) * kl];
        let r = r0 + pr;
        match mr {
            1 => pack_panel::<1, S>(src, r, k0, panel),
            2 => pack_panel::<2, S>(src, r, k0, panel),
            3 => pack_panel::<3, S>(src, r, k0, panel),
            4 => pack_panel::<4, S>(src, r, k0, panel),
            5 => pack_panel::<5, S>(src, r, k0, panel),
            _ => pack_panel::<MR, S>(src, r, k0, panel),
        }
    }
}

/// 8 `k` at a time: load `M` rows' lanes, write them transposed (`[k][M]`, contiguous).
#[inline(always)]
fn pack_panel<const M: usize, S: RowSource>(src: &S, r: usize, k0: usize, panel: &mut [f32]) {
    for (c, out) in panel.chunks_mut(LANES * M).enumerate() {
        let n = out.len() / M;
        let k = k0 + c * LANES;
        let vals: [[f32; LANES]; M] = std::array::from_fn(|i| src.lanes(r + i, k, n).to_array());
        for (l, dst) in out.chunks_exact_mut(M).enumerate() {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = vals[i][l];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnl_core::testdata::normal_vec;

    #[test]
    fn plain_packing_places_every_element() {
        let (rows, h) = (14, 19);
        let x = normal_vec(rows * h, 1);
        let src = PlainRows { x: &x, hidden: h };
        let (r0, k0, kl) = (1, 3, 13); // an interior block: rows 1..14, cols 3..16
        let mut dst = vec![f32::NAN; packed_len(rows - 1, kl)];
        pack(&src, r0, rows - 1, k0, kl, &mut dst);
        let mut seen = 0;
        for (pr, mr) in micro_panels(rows - 1) {
            assert_eq!(pr, seen);
            assert!((1..=MR).contains(&mr));
            seen += mr;
            for i in 0..mr {
                for k in 0..kl {
                    let got = dst[pr * kl + k * mr + i];
                    assert_eq!(got, x[(r0 + pr + i) * h + k0 + k], "row {} k {k}", pr + i);
                }
            }
        }
        assert_eq!(seen, rows - 1);
    }

    #[test]
    fn micro_panels_are_balanced() {
        let sizes = |n| micro_panels(n).map(|(_, m)| m).collect::<Vec<_>>();
        assert_eq!(sizes(8), [4, 4]);
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(16), [6, 5, 5]);
        assert_eq!(sizes(258), [6; 43]);
        assert!(sizes(0).is_empty());
    }

    #[test]
    fn normalised_packing_applies_stats_gamma_beta() {
        let (rows, h) = (7, 11);
        let x = normal_vec(rows * h, 2);
        let gamma = normal_vec(h, 3);
        let beta = normal_vec(h, 4);
        let stats: Vec<RowStats> = x
            .chunks(h)
            .map(|r| crate::row_stats::row_stats(r, 1e-5))
            .collect();
        let src = NormalisedRows {
            x: &x,
            hidden: h,
            stats: &stats,
            gamma: &gamma,
            beta: &beta,
        };
        let mut dst = vec![0.0; packed_len(rows, h)];
        pack(&src, 0, rows, 0, h, &mut dst);
        for (pr, mr) in micro_panels(rows) {
            for i in 0..mr {
                let r = pr + i;
                for k in 0..h {
                    let s = stats[r];
                    let lane = |v: f32| f32x8::splat(v);
                    let want = normalise(
                        lane(x[r * h + k]),
                        lane(s.mean),
                        lane(s.rstd),
                        lane(gamma[k]),
                        lane(beta[k]),
                    )
                    .to_array()[0];
                    assert_eq!(dst[pr * h + k * mr + i], want);
                }
            }
        }
    }
}
