//! The `cuda` provider of layernorm-linear: `y = W·LN(x) + b` on an NVIDIA GPU through cudarc,
//! with kernels from `kernels/cuda/*.cu` compiled at run time by NVRTC for the device's
//! architecture (cached per device and options).
//!
//! * Unfused: `lnl_layernorm` writes xhat to device memory, then the core (tiled GEMM, or the
//!   few-rows GEMV) reads it, bias in its epilogue.
//! * Fused: xhat never exists in device memory. Few rows: one launch, statistics and
//!   normalisation in shared memory. Otherwise a row-statistics pre-pass (rows × 2 floats) and
//!   the GEMM normalising x while staging its tiles.
//!
//! Availability never panics: no libcuda, no device or no libnvrtc gives
//! `Error::Unavailable`.
//!
//! ```no_run
//! use lnl_core::{testdata, Provider, Strategy};
//! let provider = lnl_cuda::CudaProvider::default();
//! if provider.probe().is_ok() {
//!     let params = testdata::random_params(64, 32, 1e-5, 1);
//!     let layer = provider.build_layer(&params, Strategy::Fused)?;
//!     let x = layer.upload(&testdata::normal_vec(4 * 64, 2))?;
//!     let mut y = layer.alloc_zeros(4 * 32)?;
//!     layer.forward_device(&x, 4, &mut y)?; // queued, no synchronisation
//!     let mut host = vec![0.0; 4 * 32];
//!     layer.download(&y, &mut host)?;
//! }
//! # Ok::<(), lnl_core::Error>(())
//! ```

mod device;
mod errors;
pub mod kernels;
mod layer;
mod module_cache;
pub mod nvrtc;
mod overlap;
mod plan;
mod provider;

pub use cudarc;
pub use device::DeviceInfo;
pub use layer::CudaLayer;
pub use provider::CudaProvider;
