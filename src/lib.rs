//! layernorm-linear: `y = W·LN(x) + b` (LayerNorm, then Linear), fused and unfused, on CPU SIMD,
//! CUDA and OpenCL.
//!
//! This umbrella crate holds the provider [`registry`] (providers compiled in by cargo
//! features, chosen at run time by name, `LNL_PROVIDER`, or `auto`), the tensor file formats
//! used by `lnl apply` ([`tensor_io`]), and the command line's two jobs ([`demo`], [`apply`]).
//! The contract itself is re-exported from `lnl-core`.
//!
//! ```
//! use layernorm_linear::{registry, testdata, Strategy};
//! let provider = registry::select(Some("cpu"))?;
//! let params = testdata::random_params(8, 16, 1e-5, 1);
//! let layer = provider.build(&params, Strategy::Fused)?;
//! let y = layer.forward(&testdata::normal_vec(4 * 8, 2), 4)?;
//! assert_eq!(y.len(), 4 * 16);
//! # Ok::<(), layernorm_linear::Error>(())
//! ```

pub mod apply;
pub mod demo;
pub mod registry;
pub mod tensor_io;

pub use lnl_core::*;
