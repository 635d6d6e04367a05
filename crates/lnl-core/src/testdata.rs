//! Deterministic pseudo-random data for the demonstration, tests and benchmarks
//! (SplitMix64 + Box-Muller: no dependency, same numbers on every machine).

use crate::{LayerParams, Result};

/// A small, fast, seedable generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// `n` standard-normal f32 values from `seed`.
pub fn normal_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// Random layer parameters as an initialised `nn.Linear` + `nn.LayerNorm` would roughly have:
/// W ~ N(0, 1/H), gamma ~ 1 + N(0, 0.1), beta ~ N(0, 0.1), b ~ N(0, 0.1).
///
/// Panics on sizes or `eps` that [`LayerParams::new`] refuses: a test helper. See
/// [`try_random_params`] for user-supplied sizes.
pub fn random_params(hidden: usize, out: usize, eps: f32, seed: u64) -> LayerParams {
    try_random_params(hidden, out, eps, seed).expect("random_params: invalid sizes or eps")
}

/// [`random_params`], returning the validation error instead of panicking.
pub fn try_random_params(hidden: usize, out: usize, eps: f32, seed: u64) -> Result<LayerParams> {
    crate::validate::check_eps(eps)?;
    if hidden == 0 || out == 0 {
        // Let LayerParams::new name the zero size.
        return LayerParams::new(hidden, out, vec![], vec![], vec![], None, eps);
    }
    crate::validate::checked_elems(crate::Param::Weight, out, hidden)?;
    let mut rng = SplitMix64::new(seed);
    let scale = 1.0 / (hidden.max(1) as f64).sqrt();
    let weight = (0..out * hidden)
        .map(|_| (rng.normal() * scale) as f32)
        .collect();
    let gamma = (0..hidden)
        .map(|_| (1.0 + 0.1 * rng.normal()) as f32)
        .collect();
    let beta = (0..hidden).map(|_| (0.1 * rng.normal()) as f32).collect();
    let bias = Some((0..out).map(|_| (0.1 * rng.normal()) as f32).collect());
    LayerParams::new(hidden, out, weight, gamma, beta, bias, eps)
}
