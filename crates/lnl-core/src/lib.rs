//! The layernorm-linear contract.
//!
//! Every provider computes, for `x: [rows, hidden]`, `W: [out, hidden]` (the `nn.Linear` layout),
//! `gamma, beta: [hidden]` and an optional `b: [out]`:
//!
//! ```text
//! y[r, o] = sum_h W[o, h] * (gamma[h] * (x[r, h] - mean_r) * rstd_r + beta[h]) + b[o]
//! mean_r  = (1/H) sum_h x[r, h]
//! var_r   = (1/H) sum_h (x[r, h] - mean_r)^2          (biased, as PyTorch)
//! rstd_r  = 1 / sqrt(var_r + eps)
//! ```
//!
//! This crate holds what all providers share: the [`LayerNormLinear`] trait (a built layer), the
//! [`Provider`] trait (availability and building), [`LayerParams`], [`Strategy`], the one [`Error`]
//! enum, the f64 [`reference`], the derived [`tolerance`] and the benchmark [`shapes`] suite.
//!
//! ```
//! use lnl_core::{reference, LayerParams};
//! let params = LayerParams::new(2, 1, vec![1.0, 1.0], vec![1.0; 2], vec![0.0; 2], Some(vec![0.5]), 1e-5)?;
//! let y = reference::forward(&params, &[1.0, 3.0], 1)?;
//! assert!((y[0] - 0.5).abs() < 1e-12); // xhat = [-1, 1] sums to 0, plus the bias
//! # Ok::<(), lnl_core::Error>(())
//! ```

mod error;
mod layer;
mod params;
mod provider;
pub mod reference;
pub mod row_stats;
pub mod shapes;
mod strategy;
pub mod testdata;
pub mod tolerance;
pub mod validate;

pub use error::{Error, Param, Result};
pub use layer::{LayerInfo, LayerNormLinear};
pub use params::{LayerParams, DEFAULT_EPS};
pub use provider::Provider;
pub use strategy::Strategy;
