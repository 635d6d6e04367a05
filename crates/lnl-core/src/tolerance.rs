//! The derived tolerance: how far an f32 provider may be from the f64 reference.
//!
//! # The bound
//!
//! For output `y[r, o]`, with `xhat = (x - mean_r) * rstd_r` from the f64 reference:
//!
//! ```text
//! |y - y_ref| <= c(H) * u * S[r,o]  +  k_r * |sum_h W[o,h] gamma[h]|  +  (k_r^2 / 2) * G[r,o]
//!
//! S[r,o] = sum_h |W[o,h] gamma[h] xhat[r,h]| + sum_h |W[o,h] beta[h]| + |b[o]|   (scale of the sum)
//! G[r,o] = sum_h |W[o,h] gamma[h] xhat[r,h]|
//! k_r    = c_mean(H) * u * mean_abs_r * rstd_r        (f32 mean error, in units of the row's std)
//! u      = 2^-24 (f32 unit roundoff)
//! c(H)      = 2 * LAMBDA * sqrt(H) + ELEMENTWISE_OPS      LAMBDA = 8, ELEMENTWISE_OPS = 16
//! c_mean(H) = LAMBDA * sqrt(H) + 2
//! ```
//!
//! # Where it comes from
//!
//! * A sum of `n` f32 terms, computed in any order, has error at most `lambda * sqrt(n) * u`
//!   times the sum of the terms' magnitudes with probability at least `1 - 2 exp(-lambda^2 / 2)`
//!   (Higham & Mary, *A new approach to probabilistic rounding error analysis*, 2019). With
//!   `lambda = 8` that is 1 - 3e-14 per element. Two such sums act in series on every output: the
//!   GEMM's dot product (scale `S`) and the variance, whose relative error reaches `rstd` and so
//!   every `xhat` (half of it, counted whole): hence `2 * lambda * sqrt(H)`.
//! * The handful of element-wise roundings (subtract mean, multiply rstd, gamma, add beta, the
//!   square root and division, the bias add) each add at most `u` relative: `ELEMENTWISE_OPS`
//!   covers them with room.
//! * The row-conditioning terms are about f32 itself, not the algorithm. The f32 mean is a sum
//!   of `H` terms of mean magnitude `mean_abs_r`, so it is off by `dmu <= c_mean(H) u mean_abs_r`
//!   (the sum, plus the division and a rounding of the result). That error is *the same for every
//!   element of the row*, so every `xhat` of the row moves by `-dmu * rstd_r` and the output moves
//!   by exactly `dmu * rstd_r * sum_h W[o,h] gamma[h]`: a signed sum, not a sum of magnitudes. It
//!   also inflates the variance by `dmu^2`, moving `rstd` by `k_r^2 / 2` relative: the last term.
//!   A robust algorithm stays inside this at mean `1e4 x std`; the one-pass variance
//!   `E[x^2] - mean^2` is off by `u * (mean/std)^2` relative (O(1) there) and fails it by orders
//!   of magnitude (the verification suite's mutation check).
//!
//! The bound is a function of the data and `H` only: it is never widened per provider. Folding
//! gamma into W without a shift (`y = rstd (x W'^T - mean rowsum(W'))`) cancels terms of size
//! `mean_abs * sum_h |W gamma|` and is outside it for large-mean rows, as it should be.
//!
//! # Rows that overflow
//!
//! A row whose largest `|x|` exceeds [`OVERFLOW_ROW_ABS`] may come back entirely non-finite
//! (providers compute such rows scaled where they can; see [`crate::row_stats`]). It must never
//! come back finite and wrong. Rows whose reference is non-finite (NaN/Inf inputs) must be
//! non-finite at the same positions.

use crate::reference::{normalise_row, row_stats};
use crate::{validate, LayerParams, Param, Result};

/// f32 unit roundoff, 2^-24.
pub const U_F32: f64 = 1.0 / 16_777_216.0;
/// Probabilistic rounding-error multiplier (see module docs).
pub const LAMBDA: f64 = 8.0;
/// Allowance for the element-wise roundings on the path of every output.
pub const ELEMENTWISE_OPS: f64 = 16.0;
/// Rows with an element beyond this magnitude may be returned non-finite (squares overflow f32).
pub const OVERFLOW_ROW_ABS: f32 = 1e18;

/// `c(H)` of the bound: the dot product and the variance, in series, plus element-wise roundings.
pub fn coefficient(hidden: usize) -> f64 {
    2.0 * LAMBDA * (hidden as f64).sqrt() + ELEMENTWISE_OPS
}

/// `c_mean(H)` of the bound: one sum of `H` terms, the division by `H`, the rounding of the result.
pub fn mean_coefficient(hidden: usize) -> f64 {
    LAMBDA * (hidden as f64).sqrt() + 2.0
}

/// The reference output and its per-element bound for one input.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Output columns `O`.
    pub out: usize,
    /// f64 reference, `[rows, out]`.
    pub reference: Vec<f64>,
    /// Allowed absolute error per element, `[rows, out]`.
    pub bound: Vec<f64>,
    /// Per row: may the provider return the whole row non-finite (|x| beyond the overflow limit)?
    pub may_overflow: Vec<bool>,
}

/// Computes the f64 reference and the bound of every element.
pub fn expected(params: &LayerParams, x: &[f32], rows: usize) -> Result<Expected> {
    let (h, o) = (params.hidden(), params.out());
    let len = validate::checked_elems(Param::Output, rows, o)?;
    validate::check_forward(h, o, rows, x.len(), len)?;
    let c = coefficient(h) * U_F32;
    let (w, g) = (params.weight(), params.gamma());
    // Row-independent sums: |W beta| + |b| and |W gamma| per output.
    let shift: Vec<f64> = (0..o)
        .map(|oi| {
            let wr = &w[oi * h..(oi + 1) * h];
            let wb: f64 = wr
                .iter()
                .zip(params.beta())
                .map(|(&a, &b)| (a as f64 * b as f64).abs())
                .sum();
            wb + params.bias().map_or(0.0, |b| (b[oi] as f64).abs())
        })
        .collect();
    // |sum_h W gamma|: the signed sum through which a row's mean error reaches each output.
    let wg_signed: Vec<f64> = (0..o)
        .map(|oi| {
            let wr = &w[oi * h..(oi + 1) * h];
            let sum: f64 = wr.iter().zip(g).map(|(&a, &b)| a as f64 * b as f64).sum();
            sum.abs()
        })
        .collect();
    let mut reference = Vec::with_capacity(len);
    let mut bound = Vec::with_capacity(len);
    let mut may_overflow = Vec::with_capacity(rows);
    for row in x.chunks_exact(h) {
        let stats = row_stats(row, params.eps());
        let xn = normalise_row(params, row, &stats);
        let gx: Vec<f64> = row
            .iter()
            .zip(g)
            .map(|(&v, &gg)| gg as f64 * (v as f64 - stats.mean) * stats.rstd)
            .collect();
        let k = mean_coefficient(h) * U_F32 * stats.mean_abs * stats.rstd;
        for oi in 0..o {
            let wr = &w[oi * h..(oi + 1) * h];
            let dot: f64 = wr.iter().zip(&xn).map(|(&a, &v)| a as f64 * v).sum();
            let gemm_scale: f64 = wr
                .iter()
                .zip(&gx)
                .map(|(&a, &v)| (a as f64 * v).abs())
                .sum();
            reference.push(dot + params.bias().map_or(0.0, |b| b[oi] as f64));
            bound.push(c * (gemm_scale + shift[oi]) + k * wg_signed[oi] + 0.5 * k * k * gemm_scale);
        }
        may_overflow.push(row.iter().any(|v| v.abs() > OVERFLOW_ROW_ABS));
    }
    Ok(Expected {
        out: o,
        reference,
        bound,
        may_overflow,
    })
}

/// The worst element of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Worst {
    pub row: usize,
    pub col: usize,
    pub actual: f32,
    pub expected: f64,
    pub bound: f64,
}

/// Outcome of comparing a provider's output with [`Expected`].
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Elements outside their bound (or with the wrong finiteness).
    pub failures: usize,
    /// Largest `|actual - expected|` over elements where both are finite.
    pub max_abs_diff: f64,
    /// Largest `|actual - expected| / bound` (infinite for a finiteness mismatch).
    pub max_ratio: f64,
    /// The element with the largest ratio, if any.
    pub worst: Option<Worst>,
}

impl Report {
    /// True when every element is within its bound.
    pub fn passed(&self) -> bool {
        self.failures == 0
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} element(s) out of bound; max |diff| {:.3e}; max diff/bound {:.3}",
            self.failures, self.max_abs_diff, self.max_ratio
        )?;
        if let Some(w) = self.worst {
            write!(
                f,
                "; worst y[{}, {}] = {:e}, reference {:e}, bound {:.3e}",
                w.row, w.col, w.actual, w.expected, w.bound
            )?;
        }
        Ok(())
    }
}

/// Compares `actual` (`[rows, out]`) against `expected`, element by element.
pub fn check(expected: &Expected, actual: &[f32]) -> Report {
    assert_eq!(
        actual.len(),
        expected.reference.len(),
        "output length differs from the reference"
    );
    let mut report = Report {
        failures: 0,
        max_abs_diff: 0.0,
        max_ratio: 0.0,
        worst: None,
    };
    for (i, ((&a, &e), &b)) in actual
        .iter()
        .zip(&expected.reference)
        .zip(&expected.bound)
        .enumerate()
    {
        let (row, col) = (i / expected.out, i % expected.out);
        let ratio = if !e.is_finite() {
            if a.is_finite() {
                f64::INFINITY
            } else {
                0.0
            }
        } else if !a.is_finite() {
            if expected.may_overflow[row] {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            let d = (a as f64 - e).abs();
            report.max_abs_diff = report.max_abs_diff.max(d);
            if d == 0.0 {
                0.0
            } else {
                d / b
            }
        };
        if ratio > 1.0 {
            report.failures += 1;
        }
        if ratio > report.max_ratio || (report.worst.is_none() && ratio > 0.0) {
            report.max_ratio = ratio;
            report.worst = Some(Worst {
                row,
                col,
                actual: a,
                expected: e,
                bound: b,
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn f32_rounding_of_the_reference_passes_and_a_wrong_rstd_fails() {
        let params = testdata::random_params(64, 16, 1e-5, 7);
        let x = testdata::normal_vec(4 * 64, 3);
        let exp = expected(&params, &x, 4).unwrap();
        let rounded: Vec<f32> = exp.reference.iter().map(|&v| v as f32).collect();
        assert!(check(&exp, &rounded).passed());
        // A 1e-3 relative error in every output is far outside a bound of ~1e-5 relative.
        let off: Vec<f32> = exp
            .reference
            .iter()
            .map(|&v| (v * 1.001) as f32 + 1e-3)
            .collect();
        let r = check(&exp, &off);
        assert!(!r.passed(), "{r}");
    }

    #[test]
    fn finiteness_mismatch_fails() {
        let params = testdata::random_params(8, 2, 1e-5, 1);
        let mut x = testdata::normal_vec(16, 2);
        x[3] = f32::NAN;
        let exp = expected(&params, &x, 2).unwrap();
        let mut y: Vec<f32> = exp.reference.iter().map(|&v| v as f32).collect();
        assert!(check(&exp, &y).passed());
        y[0] = 0.0; // row 0 holds the NaN: a finite output there is wrong
        assert_eq!(check(&exp, &y).failures, 1);
    }

    #[test]
    fn coefficient_grows_with_sqrt_h() {
        assert_eq!(coefficient(64), 2.0 * 8.0 * 8.0 + 16.0);
    }
}
