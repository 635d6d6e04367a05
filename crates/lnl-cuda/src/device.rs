//! Finding a device without panicking: libcuda and libnvrtc are checked before cudarc touches
//! them (cudarc panics when a library is missing), and every first call runs under
//! `catch_unwind`. One context per device ordinal for the process (the device's primary
//! context), created once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{sys, CudaContext};
use lnl_core::Result;

use crate::errors::{guarded, unavailable};
use crate::nvrtc;

/// What the kernels and launch plans need to know about a device.
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    /// Device ordinal.
    pub ordinal: usize,
    /// Marketing name, e.g. "NVIDIA H100 80GB HBM3".
    pub name: String,
    /// Compute capability.
    pub cc: (i32, i32),
    /// Streaming multiprocessors.
    pub sm_count: u32,
    /// Largest dynamic shared memory a block may opt in to, bytes.
    pub smem_optin: u32,
    /// Shared memory of one SM, bytes: what its resident blocks share.
    pub smem_per_sm: u32,
    /// Shared memory the driver reserves per resident block, bytes.
    pub smem_reserved_per_block: u32,
    /// Global memory, bytes.
    pub total_mem: usize,
}

impl DeviceInfo {
    /// One line for `probe()` and `LayerInfo::device`.
    pub fn describe(&self) -> String {
        format!(
            "{} (sm_{}{}, {} SMs, {:.1} GiB)",
            self.name,
            self.cc.0,
            self.cc.1,
            self.sm_count,
            self.total_mem as f64 / (1u64 << 30) as f64
        )
    }
}

/// A device ready for use: its context (event tracking off, see below) and facts.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub ctx: Arc<CudaContext>,
    pub info: Arc<DeviceInfo>,
}

fn registry() -> &'static Mutex<HashMap<usize, Device>> {
    static DEVICES: OnceLock<Mutex<HashMap<usize, Device>>> = OnceLock::new();
    DEVICES.get_or_init(|| Mutex::new(HashMap::new()))
}

fn driver_available() -> bool {
    // SAFETY: loads the NVIDIA driver library by name, which runs only its own initialisers;
    // the handle is dropped at once.
    unsafe { sys::is_culib_present() }
}

/// The device of that ordinal, or `Unavailable` naming what is missing (driver library, a
/// device, NVRTC). Never panics.
pub(crate) fn open(ordinal: usize) -> Result<Device> {
    if let Some(d) = registry()
        .lock()
        .ok()
        .and_then(|m| m.get(&ordinal).cloned())
    {
        return Ok(d);
    }
    if !driver_available() {
        return Err(unavailable(
            "libcuda not found: no NVIDIA driver on this machine",
        ));
    }
    nvrtc::nvrtc_version()?;
    let device = guarded("CUDA driver", || {
        let count = CudaContext::device_count()
            .map_err(|e| unavailable(format!("cuInit/cuDeviceGetCount failed: {e}")))?;
        if count <= 0 {
            return Err(unavailable("the CUDA driver reports no device"));
        }
        if ordinal >= count as usize {
            return Err(unavailable(format!(
                "device {ordinal} requested, {count} present"
            )));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| {
            unavailable(format!("cannot create a context on device {ordinal}: {e}"))
        })?;
        // SAFETY: turned off before this context allocates anything. The provider orders all
        // its work on one stream per layer, and per-slice events would add hidden
        // synchronisation and break CUDA-graph capture. Callers using several streams
        // synchronise them themselves (documented on `CudaLayer`).
        unsafe { ctx.disable_event_tracking() };
        let attr = |a: CUdevice_attribute| {
            ctx.attribute(a)
                .map_err(|e| unavailable(format!("cuDeviceGetAttribute({a:?}): {e}")))
        };
        let info = DeviceInfo {
            ordinal,
            name: ctx.name().unwrap_or_else(|_| "unknown CUDA device".into()),
            cc: ctx
                .compute_capability()
                .map_err(|e| unavailable(format!("compute capability: {e}")))?,
            sm_count: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as u32,
            smem_optin: attr(
                CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            )? as u32,
            smem_per_sm: attr(
                CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR,
            )? as u32,
            // Reported from CUDA 11 on; older drivers reserve nothing.
            smem_reserved_per_block: ctx
                .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK)
                .map_or(0, |v| v.max(0) as u32),
            total_mem: ctx.total_mem().unwrap_or(0),
        };
        Ok(Device {
            ctx,
            info: Arc::new(info),
        })
    })?;
    if let Ok(mut m) = registry().lock() {
        m.entry(ordinal).or_insert_with(|| device.clone());
    }
    Ok(device)
}
