//! The `cuda` provider. Not yet implemented: always reports itself unavailable.

use lnl_core::{Error, LayerNormLinear, LayerParams, Provider, Result, Strategy};

/// The CUDA provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct CudaProvider;

impl Provider for CudaProvider {
    fn name(&self) -> &'static str {
        "cuda"
    }
    fn probe(&self) -> Result<String> {
        Err(Error::Unavailable {
            provider: "cuda".into(),
            reason: "the CUDA provider is not implemented yet".into(),
        })
    }
    fn build(
        &self,
        _params: &LayerParams,
        _strategy: Strategy,
    ) -> Result<Box<dyn LayerNormLinear>> {
        Err(self.probe().unwrap_err())
    }
}
