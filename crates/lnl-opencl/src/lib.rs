//! The `opencl` provider: LayerNorm + Linear on any OpenCL 1.2 device, through the `ocl` crate.
//!
//! Kernels live in `kernels/opencl/*.cl`, embedded at compile time and built per device with
//! clBuildProgram (once per device and configuration per process; a failed build returns
//! `Error::KernelBuild` with the compiler's log). Tile and work-group sizes come from the
//! device's limits ([`KernelConfig::candidates`]).
//!
//! Unfused: a LayerNorm kernel writes xhat, a GEMM (more than 16 rows: local-memory tiles) or a
//! GEMV (up to 16 rows: W streamed once per 8 rows) reads it, bias in the epilogue. Fused: gamma
//! and beta are folded into W and the bias when the layer is built, and the same GEMM/GEMV
//! standardise x while staging it (GEMM: after an 8-byte-per-row statistics pass; GEMV: in one
//! launch, the mean first, x centred while staged, the squared residuals summed from the staged
//! values, rstd applied in the epilogue; on NVIDIA GPUs, up to 16 rows with H <= 4096 take a
//! GEMV that holds x in registers instead, built twice: row blocks of 4 for up to 4 rows, of 8
//! for more; the unfused strategy keeps the staged GEMV).
//! xhat never exists in global memory. See [`OpenClLayer`] and [`GemvTiles`].
//!
//! Device choice: the first GPU, else the first CPU device; `LNL_OPENCL_DEVICE` picks by a
//! case-insensitive substring of the platform or device name. With no OpenCL platform, or no
//! device, [`OpenClProvider::probe`] returns `Error::Unavailable` (never a panic).
//!
//! ```no_run
//! use lnl_core::{testdata, LayerNormLinear, Strategy};
//! use lnl_opencl::OpenClLayer;
//! let params = testdata::random_params(64, 32, 1e-5, 1);
//! let layer = OpenClLayer::new(&params, Strategy::Fused)?;
//! // Device-resident: upload once, time only the forward.
//! let x = layer.upload(&testdata::normal_vec(4 * 64, 2))?;
//! let y = layer.alloc(4 * 32)?;
//! layer.forward_device(&x, 4, &y)?;
//! // Or host slices:
//! let y_host = layer.forward(&testdata::normal_vec(4 * 64, 2), 4)?;
//! # Ok::<(), lnl_core::Error>(())
//! ```

mod config;
mod device;
mod errors;
mod launch;
mod layer;
mod program;
mod runtime;

pub use config::{GemmTiles, GemvTiles, KernelConfig, XregVariant};
pub use device::{DeviceLimits, DEVICE_ENV};
pub use layer::{OpenClLayer, ProfiledRun};
pub use runtime::Runtime;

use lnl_core::{LayerNormLinear, LayerParams, Provider, Result, Strategy};

/// The OpenCL provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenClProvider;

impl OpenClProvider {
    /// The concrete layer (device-resident entry points), for benchmarks and callers that keep
    /// their data on the device.
    pub fn build_layer(&self, params: &LayerParams, strategy: Strategy) -> Result<OpenClLayer> {
        guard(|| OpenClLayer::new(params, strategy))
    }
}

/// `ocl` panics on a few driver answers it does not expect (unknown status codes): turn any
/// such panic into a typed error so that callers never see one.
fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(errors::unavailable(format!(
            "the OpenCL runtime failed: {msg}"
        )))
    })
}

impl Provider for OpenClProvider {
    fn name(&self) -> &'static str {
        "opencl"
    }

    /// Selects the device and builds its program (so that "available" means "can run").
    fn probe(&self) -> Result<String> {
        guard(|| runtime::runtime(None).map(|rt| rt.description().to_string()))
    }

    fn build(&self, params: &LayerParams, strategy: Strategy) -> Result<Box<dyn LayerNormLinear>> {
        Ok(Box::new(self.build_layer(params, strategy)?))
    }
}
