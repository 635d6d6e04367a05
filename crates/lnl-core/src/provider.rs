use crate::{LayerNormLinear, LayerParams, Result, Strategy};

/// A way of computing the layer (cpu, cuda, opencl): reports whether it can run here and
/// builds layers.
pub trait Provider: Send + Sync {
    /// Short lower-case name, used by `--provider` and `LNL_PROVIDER`.
    fn name(&self) -> &'static str;

    /// `Ok(description of the device)` when this provider can run here, else
    /// [`crate::Error::Unavailable`] with the reason. Never panics (missing drivers included).
    fn probe(&self) -> Result<String>;

    /// Builds a layer: validates nothing beyond what [`LayerParams`] already holds, uploads or
    /// packs the weights once, and compiles kernels if needed.
    fn build(&self, params: &LayerParams, strategy: Strategy) -> Result<Box<dyn LayerNormLinear>>;
}
