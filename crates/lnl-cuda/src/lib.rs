//! The `cuda` provider.
pub mod kernels;
pub mod nvrtc;
mod errors;
