//! The f64 reference: written for clarity, not speed. Every provider is judged against it.

use crate::{validate, LayerParams, Result};

/// Per-row statistics in f64: mean, reciprocal std, and mean absolute value (the scale of the
/// sum that produced the mean, used by the tolerance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefRowStats {
    pub mean: f64,
    pub rstd: f64,
    pub mean_abs: f64,
}

/// Two-pass f64 statistics of one row.
pub fn row_stats(row: &[f32], eps: f32) -> RefRowStats {
    let n = row.len() as f64;
    let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    RefRowStats {
        mean,
        rstd: 1.0 / (var + eps as f64).sqrt(),
        mean_abs: row.iter().map(|&v| (v as f64).abs()).sum::<f64>() / n,
    }
}

/// The normalised row `gamma * (x - mean) * rstd + beta`, in f64.
pub fn normalise_row(params: &LayerParams, row: &[f32], stats: &RefRowStats) -> Vec<f64> {
    row.iter()
        .zip(params.gamma().iter().zip(params.beta()))
        .map(|(&x, (&g, &b))| g as f64 * (x as f64 - stats.mean) * stats.rstd + b as f64)
        .collect()
}

/// `y = W·LN(x) + b` in f64, `[rows, out]` row-major. Validates lengths like every provider.
pub fn forward(params: &LayerParams, x: &[f32], rows: usize) -> Result<Vec<f64>> {
    let (h, o) = (params.hidden(), params.out());
    let len = validate::checked_elems(crate::Param::Output, rows, o)?;
    validate::check_forward(h, o, rows, x.len(), len)?;
    let mut y = Vec::with_capacity(len);
    for row in x.chunks_exact(h) {
        let xn = normalise_row(params, row, &row_stats(row, params.eps()));
        for (oi, w) in params.weight().chunks_exact(h).enumerate() {
            let dot: f64 = w.iter().zip(&xn).map(|(&w, &v)| w as f64 * v).sum();
            y.push(dot + params.bias().map_or(0.0, |b| b[oi] as f64));
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-computed example: x = [1, 2, 3, 4], mean 2.5, var 1.25.
    #[test]
    fn hand_computed_small_layer() {
        let eps = 1e-5f32;
        let gamma = vec![1.0, 2.0, 0.5, 1.0];
        let beta = vec![0.0, 0.1, 0.0, -0.1];
        // out 2: row 0 sums the normalised values, row 1 takes element 0 only.
        let weight = vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        let params =
            LayerParams::new(4, 2, weight, gamma, beta, Some(vec![0.25, -1.0]), eps).unwrap();
        let y = forward(&params, &[1.0, 2.0, 3.0, 4.0], 1).unwrap();
        let rstd = 1.0 / (1.25f64 + eps as f64).sqrt();
        let xn = [
            -1.5 * rstd,
            2.0 * -0.5 * rstd + 0.1,
            0.5 * 0.5 * rstd,
            1.5 * rstd - 0.1,
        ];
        let want0 = xn.iter().sum::<f64>() + 0.25;
        let want1 = xn[0] - 1.0;
        assert!((y[0] - want0).abs() < 1e-12, "{} vs {want0}", y[0]);
        assert!((y[1] - want1).abs() < 1e-12, "{} vs {want1}", y[1]);
        // Spelled out: rstd = 0.894423..., y0 = -0.75 * rstd + 0.25, y1 = -1.5 * rstd - 1.
        assert!((y[0] - -0.420817).abs() < 1e-6);
        assert!((y[1] - -2.341635).abs() < 1e-6);
    }

    #[test]
    fn zero_rows_give_empty_output() {
        let params =
            LayerParams::new(3, 2, vec![0.5; 6], vec![1.0; 3], vec![0.0; 3], None, 1e-5).unwrap();
        assert!(forward(&params, &[], 0).unwrap().is_empty());
    }

    #[test]
    fn constant_row_is_beta_driven() {
        let params = LayerParams::new(
            3,
            1,
            vec![1.0; 3],
            vec![5.0; 3],
            vec![1.0, 2.0, 3.0],
            None,
            1e-5,
        )
        .unwrap();
        let y = forward(&params, &[7.0; 3], 1).unwrap();
        assert_eq!(y, vec![6.0]);
    }
}
