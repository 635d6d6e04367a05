//! The few vector helpers every building block shares: loads of up to 8 lanes and the one
//! normalisation expression, so that unfused and fused produce the same bits.

use wide::f32x8;

/// Lanes of an `f32x8`.
pub const LANES: usize = 8;

/// Loads `s[..min(8, len)]`, zero-filling missing lanes.
#[inline(always)]
pub fn load(s: &[f32]) -> f32x8 {
    match <&[f32; LANES]>::try_from(s) {
        Ok(a) => f32x8::new(*a),
        Err(_) => f32x8::from(s),
    }
}

/// Stores the first `out.len()` (at most 8) lanes of `v`.
#[inline(always)]
pub fn store(v: f32x8, out: &mut [f32]) {
    let a = v.to_array();
    let n = out.len();
    match <&mut [f32; LANES]>::try_from(&mut *out) {
        // One vector store; the general copy below would be a `memcpy` call.
        Ok(full) => *full = a,
        Err(_) => out.copy_from_slice(&a[..n]),
    }
}

/// `gamma * ((x - mean) * rstd) + beta`, lane by lane. The only place the LayerNorm output is
/// computed: unfused (written to memory) and fused (written into the packed A panel) call it
/// on the same lanes, so both strategies feed the GEMM bit-identical values.
#[inline(always)]
pub fn normalise(x: f32x8, mean: f32x8, rstd: f32x8, gamma: f32x8, beta: f32x8) -> f32x8 {
    ((x - mean) * rstd).mul_add(gamma, beta)
}
