use crate::{validate, Result, Strategy};

/// What a built layer is: who computes it, how, and its sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// Provider name (`cpu`, `cuda`, `opencl`).
    pub provider: &'static str,
    /// Unfused or fused.
    pub strategy: Strategy,
    /// The device it runs on, in words (CPU model, GPU name, OpenCL device).
    pub device: String,
    /// Hidden size `H`.
    pub hidden: usize,
    /// Output size `O`.
    pub out: usize,
}

/// A built LayerNorm + Linear layer, its weights already resident where the provider computes
/// (packed for the CPU microkernel, uploaded to the GPU).
///
/// Providers implement [`info`](Self::info) and [`compute`](Self::compute); callers use
/// [`forward`](Self::forward) or [`forward_into`](Self::forward_into), which validate first, so
/// that bad input gives the same [`crate::Error`] on every provider. Device-resident entry
/// points (for timings that exclude host transfers) live on each provider's concrete type.
pub trait LayerNormLinear: Send + Sync {
    /// Provider, strategy, device and sizes.
    fn info(&self) -> LayerInfo;

    /// Computes `y = W·LN(x) + b` for `rows >= 1` rows. Inputs are already validated:
    /// `x.len() == rows * hidden`, `y.len() == rows * out`.
    fn compute(&self, x: &[f32], rows: usize, y: &mut [f32]) -> Result<()>;

    /// Validates the lengths, then computes into `y` (`[rows, out]`). Zero rows is a no-op.
    fn forward_into(&self, x: &[f32], rows: usize, y: &mut [f32]) -> Result<()> {
        let info = self.info();
        validate::check_forward(info.hidden, info.out, rows, x.len(), y.len())?;
        if rows == 0 {
            return Ok(());
        }
        self.compute(x, rows, y)
    }

    /// Validates, allocates `y` (`[rows, out]`) and computes it.
    fn forward(&self, x: &[f32], rows: usize) -> Result<Vec<f32>> {
        let info = self.info();
        let len = validate::checked_elems(crate::Param::Output, rows, info.out)?;
        validate::check_forward(info.hidden, info.out, rows, x.len(), len)?;
        let mut y = vec![0.0; len];
        self.forward_into(x, rows, &mut y)?;
        Ok(y)
    }
}
