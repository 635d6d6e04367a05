//! The `cuda` provider: availability and building layers.

use lnl_core::{LayerNormLinear, LayerParams, Provider, Result, Strategy};

use crate::device;
use crate::layer::CudaLayer;

/// The CUDA provider (device 0 by default).
#[derive(Debug, Default, Clone, Copy)]
pub struct CudaProvider {
    ordinal: usize,
}

impl CudaProvider {
    /// A provider for the device of that ordinal.
    pub fn with_device(ordinal: usize) -> Self {
        Self { ordinal }
    }

    /// Builds the concrete layer (for device-resident calls and benchmarks): uploads the
    /// weights, compiles the kernels on first use for this device.
    pub fn build_layer(&self, params: &LayerParams, strategy: Strategy) -> Result<CudaLayer> {
        CudaLayer::new(device::open(self.ordinal)?, params, strategy)
    }
}

impl Provider for CudaProvider {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn probe(&self) -> Result<String> {
        let d = device::open(self.ordinal)?;
        let (maj, min) = crate::nvrtc::nvrtc_version()?;
        Ok(format!("{}, NVRTC {maj}.{min}", d.info.describe()))
    }

    fn build(&self, params: &LayerParams, strategy: Strategy) -> Result<Box<dyn LayerNormLinear>> {
        Ok(Box::new(self.build_layer(params, strategy)?))
    }
}
