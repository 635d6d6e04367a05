//! Row statistics, vectorised: the two-pass recipe of [`lnl_core::row_stats`] (mean, then the
//! sum of squared residuals; never `E[x^2] - mean^2`), with its scaled fallback when the
//! squares overflow. Lanes are combined in a fixed order, so the result does not depend on
//! threads or call site.

use crate::simd::{load, LANES};
use lnl_core::row_stats::{scaled_row_stats, RowStats};
use wide::f32x8;

/// Mean and `1/sqrt(var + eps)` of a non-empty row (held in L1 for both passes).
pub fn row_stats(row: &[f32], eps: f32) -> RowStats {
    let n = row.len() as f32;
    let mean = lane_sum(row, 0.0, |v| v) / n;
    let mv = f32x8::splat(mean);
    // Tail lanes are padded with the mean itself, so they add exactly zero.
    let m2 = lane_sum(row, mean, |v| {
        let d = v - mv;
        d * d
    });
    if m2.is_finite() || !mean.is_finite() {
        return RowStats {
            mean,
            rstd: 1.0 / (m2 / n + eps).sqrt(),
        };
    }
    scaled_row_stats(row, mean, eps)
}

/// Sum over the row of `f(chunk)`, two accumulators (two add pipes), fixed reduction order.
/// The last partial chunk is padded with `pad`, chosen so that `f(pad) == 0`.
#[inline(always)]
fn lane_sum(row: &[f32], pad: f32, f: impl Fn(f32x8) -> f32x8) -> f32 {
    let mut acc = [f32x8::ZERO; 2];
    let mut chunks = row.chunks_exact(2 * LANES);
    for c in &mut chunks {
        acc[0] += f(load(&c[..LANES]));
        acc[1] += f(load(&c[LANES..]));
    }
    // The rest: at most one whole chunk (loaded in place: short rows, e.g. H = 8, are all rest,
    // and a copy costs a memmove call per pass), then the padded partial one, into the same
    // accumulators as before.
    let mut whole = chunks.remainder().chunks_exact(LANES);
    let mut i = 0;
    for c in &mut whole {
        acc[i] += f(load(c));
        i += 1;
    }
    let part = whole.remainder();
    if !part.is_empty() {
        let mut t = [pad; LANES];
        t[..part.len()].copy_from_slice(part);
        acc[i] += f(f32x8::new(t));
    }
    (acc[0] + acc[1]).reduce_add()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnl_core::testdata::normal_vec;

    fn close(a: f32, b: f32, rel: f32) -> bool {
        (a - b).abs() <= rel * b.abs().max(f32::MIN_POSITIVE)
    }

    #[test]
    fn matches_the_scalar_recipe_on_every_tail_length() {
        for len in 1..=40 {
            let row = normal_vec(len, len as u64);
            let got = row_stats(&row, 1e-5);
            let want = lnl_core::row_stats::row_stats(&row, 1e-5);
            assert!(close(got.mean, want.mean, 1e-5) || (got.mean - want.mean).abs() < 1e-6);
            assert!(
                close(got.rstd, want.rstd, 1e-5),
                "len {len}: {got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn large_offset_keeps_the_variance() {
        let row: Vec<f32> = normal_vec(1000, 9).iter().map(|v| 1e4 + v).collect();
        let got = row_stats(&row, 1e-5);
        let r = lnl_core::reference::row_stats(&row, 1e-5);
        assert!(
            ((got.rstd as f64 - r.rstd) / r.rstd).abs() < 1e-3,
            "{got:?} {r:?}"
        );
    }

    #[test]
    fn huge_rows_use_the_scaled_fallback() {
        let row: Vec<f32> = normal_vec(37, 4).iter().map(|v| v * 1e20).collect();
        let got = row_stats(&row, 1e-5);
        let r = lnl_core::reference::row_stats(&row, 1e-5);
        assert!(got.rstd.is_finite() && got.rstd > 0.0);
        assert!(
            ((got.rstd as f64 - r.rstd) / r.rstd).abs() < 1e-4,
            "{got:?} {r:?}"
        );
    }

    #[test]
    fn constant_and_nan_rows() {
        let c = row_stats(&[3.5; 13], 1e-5);
        assert_eq!(c.mean, 3.5);
        assert_eq!(c.rstd, 1.0 / 1e-5f32.sqrt());
        let mut row = vec![1.0; 19];
        row[17] = f32::NAN;
        let s = row_stats(&row, 1e-5);
        assert!(!s.mean.is_finite() || !s.rstd.is_finite());
    }
}
