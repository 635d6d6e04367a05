//! Row statistics in f32: the numerically safe recipe every provider follows.
//!
//! * Two passes over the row: the mean, then the sum of squared residuals. Never
//!   `E[x^2] - mean^2`, which loses every digit when `|mean| >> std`.
//! * When the sum of squares overflows f32 although every element is finite (|x| beyond about
//!   1e18), the row is recomputed with residuals scaled by their largest magnitude; LayerNorm is
//!   scale-invariant up to `eps`, so the result stays exact. Rows whose *mean* overflows (elements
//!   near `f32::MAX`) and rows holding NaN or Inf give a non-finite `rstd` or `mean`, so that
//!   row's outputs are non-finite: never silently wrong finite values.
//!
//! This scalar version is the portable specification; SIMD and GPU providers implement the
//! same recipe (see their `row_stats` modules).

/// Mean and reciprocal standard deviation of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowStats {
    /// `(1/H) sum x`
    pub mean: f32,
    /// `1 / sqrt(var + eps)`
    pub rstd: f32,
}

/// Two-pass statistics of `row` (non-empty), with the scaled fallback for overflowing squares.
pub fn row_stats(row: &[f32], eps: f32) -> RowStats {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let m2: f32 = row.iter().map(|&v| (v - mean) * (v - mean)).sum();
    if m2.is_finite() || !mean.is_finite() {
        return RowStats {
            mean,
            rstd: 1.0 / (m2 / n + eps).sqrt(),
        };
    }
    scaled_row_stats(row, mean, eps)
}

/// The overflow fallback: `var = s^2 * var'` with `s = max |x - mean|`, so
/// `rstd = 1 / (s * sqrt(var' + eps / s^2))`. Non-finite inputs stay non-finite.
pub fn scaled_row_stats(row: &[f32], mean: f32, eps: f32) -> RowStats {
    let n = row.len() as f32;
    let s = row.iter().fold(0.0f32, |m, &v| m.max((v - mean).abs()));
    if !s.is_finite() {
        return RowStats {
            mean,
            rstd: f32::NAN,
        };
    }
    let inv = 1.0 / s;
    let m2: f32 = row
        .iter()
        .map(|&v| {
            let d = (v - mean) * inv;
            d * d
        })
        .sum();
    RowStats {
        mean,
        rstd: inv / (m2 / n + eps * inv * inv).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_mean_keeps_precision() {
        // mean 1e4, std 1: the one-pass formula gets var wrong by O(1) here.
        let row: Vec<f32> = (0..64)
            .map(|i| 1e4 + if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let s = row_stats(&row, 1e-5);
        assert_eq!(s.mean, 1e4);
        assert!(
            (s.rstd - 1.0 / (1.0f32 + 1e-5).sqrt()).abs() < 1e-6,
            "{s:?}"
        );
    }

    #[test]
    fn overflowing_squares_are_scaled_not_zeroed() {
        let row = [3e20f32, -3e20, 3e20, -3e20];
        let s = row_stats(&row, 1e-5);
        assert!(s.rstd.is_finite() && s.rstd > 0.0);
        assert!(((3e20 * s.rstd) - 1.0).abs() < 1e-5, "{s:?}");
    }

    #[test]
    fn nan_row_gives_nan_stats() {
        let s = row_stats(&[1.0, f32::NAN, 2.0], 1e-5);
        assert!(!s.mean.is_finite() || !s.rstd.is_finite());
    }
}
