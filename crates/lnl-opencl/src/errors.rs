//! Mapping OpenCL failures onto `lnl_core::Error`: allocation failures become `OutOfMemory`,
//! everything else `Device` with the call that failed and OpenCL's own message.

use lnl_core::Error;
use ocl::enums::Status;

pub(crate) const PROVIDER: &str = "opencl";

/// The OpenCL status behind an `ocl` error, if it came from an API call.
pub(crate) trait ApiStatus {
    fn status(&self) -> Option<Status>;
}

impl ApiStatus for ocl::Error {
    fn status(&self) -> Option<Status> {
        self.api_status()
    }
}

impl ApiStatus for ocl::OclCoreError {
    fn status(&self) -> Option<Status> {
        self.api_status()
    }
}

fn is_allocation_failure(status: Option<Status>) -> bool {
    matches!(
        status,
        Some(Status::CL_MEM_OBJECT_ALLOCATION_FAILURE)
            | Some(Status::CL_OUT_OF_RESOURCES)
            | Some(Status::CL_OUT_OF_HOST_MEMORY)
            | Some(Status::CL_INVALID_BUFFER_SIZE)
    )
}

/// `Device { .. }` naming what was being done.
pub(crate) fn device_error(device: &str, what: &str, err: impl std::fmt::Display) -> Error {
    Error::Device {
        provider: PROVIDER.into(),
        device: device.into(),
        message: format!("{what}: {err}"),
    }
}

/// `OutOfMemory` for allocation failures (`requested_bytes` is what the failing step asked for),
/// `Device` otherwise. Some drivers allocate lazily and report the failure at the first enqueue,
/// so enqueue errors go through here too.
pub(crate) fn map_err<E: ApiStatus + std::fmt::Display>(
    device: &str,
    what: &str,
    requested_bytes: usize,
    err: E,
) -> Error {
    if is_allocation_failure(err.status()) {
        Error::OutOfMemory {
            provider: PROVIDER.into(),
            device: device.into(),
            requested_bytes,
        }
    } else {
        device_error(device, what, err)
    }
}

pub(crate) fn unavailable(reason: impl Into<String>) -> Error {
    Error::Unavailable {
        provider: PROVIDER.into(),
        reason: reason.into(),
    }
}
