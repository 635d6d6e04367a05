//! Random and adversarial inputs for the verification suite. Data comes from a seed (not from
//! proptest's value trees), so proptest shrinks the shape and the distribution, not millions of
//! floats, and a printed case reproduces exactly.

use layernorm_linear::testdata::SplitMix64;
use layernorm_linear::LayerParams;
use proptest::prelude::*;

/// How the rows of `x` are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Standard normal.
    Normal,
    /// Each row: mean = `ratio` x its std (up to 1e4), std from 1e-2 to 1e2.
    MeanOffset { ratio: f64 },
    /// std 1e-3 around a random mean.
    TinyStd,
    /// Every element of a row equal (variance 0: the output is beta-driven and finite).
    Constant,
    /// Standard normal times 10^`log10` (1e-15 to 1e15).
    Magnitude { log10: i32 },
    /// Some rows scaled beyond 1e18, where the squares overflow f32.
    BeyondOverflow { log10: i32 },
}

/// One verification case.
#[derive(Debug, Clone)]
pub struct Case {
    pub rows: usize,
    pub hidden: usize,
    pub out: usize,
    pub dist: Dist,
    pub eps: f32,
    pub with_bias: bool,
    pub seed: u64,
}

/// H from 1 to 1100, often a prime or just off a multiple of the vector widths (4, 8, 16, 32).
fn hidden() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 1usize..=1100,
        2 => prop::sample::select(vec![1usize, 2, 3, 5, 7, 13, 31, 97, 127, 251, 509, 1021, 1031, 1093]),
        2 => (1usize..=34, prop::sample::select(vec![-1i64, 1])).prop_map(|(k, d)| (k as i64 * 32 + d).max(1) as usize),
    ]
}

fn rows() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..=64, 1 => 65usize..=300]
}

fn dist() -> impl Strategy<Value = Dist> {
    prop_oneof![
        4 => Just(Dist::Normal),
        3 => (1.0f64..=1e4).prop_map(|ratio| Dist::MeanOffset { ratio }),
        1 => Just(Dist::MeanOffset { ratio: 1e4 }),
        1 => Just(Dist::TinyStd),
        1 => Just(Dist::Constant),
        2 => (-15i32..=15).prop_map(|log10| Dist::Magnitude { log10 }),
        1 => (19i32..=30).prop_map(|log10| Dist::BeyondOverflow { log10 }),
    ]
}

/// eps from 1e-12 to 1, log-uniform.
fn eps() -> impl Strategy<Value = f32> {
    (-12.0f64..=0.0).prop_map(|e| 10f64.powf(e) as f32)
}

pub fn case() -> impl Strategy<Value = Case> {
    (
        rows(),
        hidden(),
        1usize..=300,
        dist(),
        eps(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(rows, hidden, out, dist, eps, with_bias, seed)| Case {
            rows,
            hidden,
            out,
            dist,
            eps,
            with_bias,
            seed,
        })
}

impl Case {
    /// The layer's parameters (W ~ N(0, 1/H), gamma ~ 1 + N(0, .1), beta, b ~ N(0, .1)).
    pub fn params(&self) -> LayerParams {
        let p =
            layernorm_linear::testdata::random_params(self.hidden, self.out, self.eps, self.seed);
        let bias = if self.with_bias {
            p.bias().map(<[f32]>::to_vec)
        } else {
            None
        };
        LayerParams::new(
            self.hidden,
            self.out,
            p.weight().to_vec(),
            p.gamma().to_vec(),
            p.beta().to_vec(),
            bias,
            self.eps,
        )
        .expect("same sizes as random_params")
    }

    /// The input `x`, `[rows, hidden]`.
    pub fn x(&self) -> Vec<f32> {
        let mut rng = SplitMix64::new(self.seed ^ 0x005E_ED0F_1A7E);
        let mut x = Vec::with_capacity(self.rows * self.hidden);
        for r in 0..self.rows {
            let (mean, std) = match self.dist {
                Dist::Normal => (0.0, 1.0),
                Dist::MeanOffset { ratio } => {
                    let std = 10f64.powf(rng.uniform() * 4.0 - 2.0);
                    let sign = if rng.next_u64() & 1 == 0 { 1.0 } else { -1.0 };
                    (sign * ratio * std, std)
                }
                Dist::TinyStd => (rng.normal() * 10.0, 1e-3),
                Dist::Constant => (rng.normal() * 10.0, 0.0),
                Dist::Magnitude { log10 } => (0.0, 10f64.powi(log10)),
                // Every other row beyond the overflow limit, the rest ordinary.
                Dist::BeyondOverflow { log10 } => {
                    (0.0, if r % 2 == 0 { 10f64.powi(log10) } else { 1.0 })
                }
            };
            x.extend((0..self.hidden).map(|_| (mean + std * rng.normal()) as f32));
        }
        x
    }
}
