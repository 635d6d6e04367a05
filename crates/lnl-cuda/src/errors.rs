//! Mapping driver and NVRTC failures onto `lnl_core::Error`.

use cudarc::driver::{sys::cudaError_enum, DriverError};
use lnl_core::Error;

pub(crate) const PROVIDER: &str = "cuda";

pub(crate) fn unavailable(reason: impl Into<String>) -> Error {
    Error::Unavailable {
        provider: PROVIDER.into(),
        reason: reason.into(),
    }
}

/// A driver call failed: `what` names the call site.
pub(crate) fn device(device: &str, what: &str, err: DriverError) -> Error {
    Error::Device {
        provider: PROVIDER.into(),
        device: device.into(),
        message: format!("{what}: {err}"),
    }
}

/// An allocation failed: out of memory is its own variant, anything else a device error.
pub(crate) fn alloc(device_name: &str, requested_bytes: usize, err: DriverError) -> Error {
    if err.0 == cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY {
        Error::OutOfMemory {
            provider: PROVIDER.into(),
            device: device_name.into(),
            requested_bytes,
        }
    } else {
        device(
            device_name,
            &format!("allocating {requested_bytes} bytes"),
            err,
        )
    }
}

/// The text of a caught panic (cudarc panics when a library or symbol is missing).
pub(crate) fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// Runs `f`, turning a panic inside cudarc into `Unavailable` with the panic's text.
pub(crate) fn guarded<T>(
    what: &str,
    f: impl FnOnce() -> lnl_core::Result<T>,
) -> lnl_core::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|p| Err(unavailable(format!("{what}: {}", panic_text(p)))))
}
