//! The one error type every provider returns. Variants carry the facts (which parameter,
//! expected vs actual) so a caller can act on them without parsing text.

use std::fmt;

/// Result alias used throughout the workspace.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which tensor or scalar an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    /// The input `x`, `[rows, hidden]`.
    X,
    /// The layer-norm scale, `[hidden]`.
    Gamma,
    /// The layer-norm shift, `[hidden]`.
    Beta,
    /// The linear weight, `[out, hidden]`.
    Weight,
    /// The linear bias, `[out]`.
    Bias,
    /// The output buffer `y`, `[rows, out]`.
    Output,
    /// The hidden size `H`.
    Hidden,
    /// The output size `O`.
    Out,
    /// The number of rows.
    Rows,
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Param::X => "x",
            Param::Gamma => "gamma",
            Param::Beta => "beta",
            Param::Weight => "weight",
            Param::Bias => "bias",
            Param::Output => "output",
            Param::Hidden => "hidden",
            Param::Out => "out",
            Param::Rows => "rows",
        })
    }
}

/// Everything that can go wrong, for every provider. Bad input never panics: it is one of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A buffer has the wrong number of elements.
    #[error("{param} has {actual} elements, expected {expected}")]
    LengthMismatch {
        param: Param,
        expected: usize,
        actual: usize,
    },
    /// A size that must be positive is zero (hidden or out; zero rows is valid).
    #[error("{param} must be at least 1, got 0")]
    ZeroSize { param: Param },
    /// `eps` must be finite and strictly positive.
    #[error("eps must be finite and > 0, got {eps}")]
    InvalidEps { eps: f32 },
    /// `a * b` elements do not fit in `usize` (or in the provider's index type).
    #[error("{param}: {a} x {b} elements overflow {limit}")]
    SizeOverflow {
        param: Param,
        a: usize,
        b: usize,
        limit: &'static str,
    },
    /// The provider cannot run here (no driver, no device, no compiler, CPU lacks an ISA).
    #[error("provider {provider} is unavailable: {reason}")]
    Unavailable { provider: String, reason: String },
    /// No provider of that name is compiled in.
    #[error("unknown provider {name:?}; valid names: {}", valid.join(", "))]
    UnknownProvider { name: String, valid: Vec<String> },
    /// A device kernel failed to compile; `log` is the compiler's own output.
    #[error("{provider}: kernel {kernel} failed to build:\n{log}")]
    KernelBuild {
        provider: String,
        kernel: String,
        log: String,
    },
    /// The device could not allocate a buffer.
    #[error("{provider}: out of device memory on {device}: requested {requested_bytes} bytes")]
    OutOfMemory {
        provider: String,
        device: String,
        requested_bytes: usize,
    },
    /// A driver or runtime call failed for another reason.
    #[error("{provider}: device error on {device}: {message}")]
    Device {
        provider: String,
        device: String,
        message: String,
    },
}
