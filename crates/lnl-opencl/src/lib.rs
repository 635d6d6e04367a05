//! The `opencl` provider. Not yet implemented: always reports itself unavailable.

use lnl_core::{Error, LayerNormLinear, LayerParams, Provider, Result, Strategy};

/// The OpenCL provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenClProvider;

impl Provider for OpenClProvider {
    fn name(&self) -> &'static str {
        "opencl"
    }
    fn probe(&self) -> Result<String> {
        Err(Error::Unavailable {
            provider: "opencl".into(),
            reason: "the OpenCL provider is not implemented yet".into(),
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
