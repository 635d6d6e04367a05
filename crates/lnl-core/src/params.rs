use crate::validate::{check_eps, check_len, checked_elems};
use crate::{Error, Param, Result};

/// PyTorch's default `eps` for `nn.LayerNorm`.
pub const DEFAULT_EPS: f32 = 1e-5;

/// The weights of one LayerNorm + Linear layer, validated on construction.
///
/// `weight` is `[out, hidden]` row-major (the `nn.Linear` layout).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerParams {
    hidden: usize,
    out: usize,
    weight: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    bias: Option<Vec<f32>>,
    eps: f32,
}

impl LayerParams {
    /// Checks every length against `hidden` and `out`, and `eps`, and returns the parameters.
    ///
    /// Errors: [`crate::Error::ZeroSize`] for a zero `hidden` or `out`,
    /// [`crate::Error::SizeOverflow`] when `out * hidden` overflows,
    /// [`crate::Error::LengthMismatch`] naming the parameter, [`crate::Error::InvalidEps`].
    pub fn new(
        hidden: usize,
        out: usize,
        weight: Vec<f32>,
        gamma: Vec<f32>,
        beta: Vec<f32>,
        bias: Option<Vec<f32>>,
        eps: f32,
    ) -> Result<Self> {
        if hidden == 0 {
            return Err(Error::ZeroSize {
                param: Param::Hidden,
            });
        }
        if out == 0 {
            return Err(Error::ZeroSize { param: Param::Out });
        }
        let w_elems = checked_elems(Param::Weight, out, hidden)?;
        check_len(Param::Weight, w_elems, weight.len())?;
        check_len(Param::Gamma, hidden, gamma.len())?;
        check_len(Param::Beta, hidden, beta.len())?;
        if let Some(b) = &bias {
            check_len(Param::Bias, out, b.len())?;
        }
        check_eps(eps)?;
        Ok(Self {
            hidden,
            out,
            weight,
            gamma,
            beta,
            bias,
            eps,
        })
    }

    /// Hidden size `H` (the normalised dimension).
    pub fn hidden(&self) -> usize {
        self.hidden
    }
    /// Output size `O`.
    pub fn out(&self) -> usize {
        self.out
    }
    /// `W`, `[out, hidden]` row-major.
    pub fn weight(&self) -> &[f32] {
        &self.weight
    }
    /// LayerNorm scale, `[hidden]`.
    pub fn gamma(&self) -> &[f32] {
        &self.gamma
    }
    /// LayerNorm shift, `[hidden]`.
    pub fn beta(&self) -> &[f32] {
        &self.beta
    }
    /// Linear bias, `[out]`, if any.
    pub fn bias(&self) -> Option<&[f32]> {
        self.bias.as_deref()
    }
    /// LayerNorm epsilon.
    pub fn eps(&self) -> f32 {
        self.eps
    }
}
