//! Platform and device selection, and the device limits that size the kernels.
//!
//! Default: the first GPU over all platforms, else the first CPU device. `LNL_OPENCL_DEVICE`
//! overrides it with a case-insensitive substring of `"<platform name> / <device name>"`.

use crate::errors::{device_error, unavailable};
use lnl_core::Result;
use ocl::enums::{DeviceInfo, DeviceInfoResult};
use ocl::flags::DeviceType;
use ocl::{Device, Platform};

/// Environment variable choosing the device by platform or device name substring.
pub const DEVICE_ENV: &str = "LNL_OPENCL_DEVICE";

/// One OpenCL device and the platform it belongs to.
#[derive(Debug, Clone)]
pub struct Selected {
    pub(crate) platform: Platform,
    pub(crate) device: Device,
    /// `"<platform name> / <device name>"`.
    pub description: String,
}

/// The limits the work-group and tile sizes are chosen from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceLimits {
    /// `CL_DEVICE_TYPE_GPU`.
    pub is_gpu: bool,
    /// `CL_DEVICE_MAX_WORK_GROUP_SIZE`.
    pub max_work_group: usize,
    /// `CL_DEVICE_MAX_WORK_ITEM_SIZES[0]` (we launch 1-D work-groups).
    pub max_items_dim0: usize,
    /// `CL_DEVICE_LOCAL_MEM_SIZE` in bytes.
    pub local_mem_bytes: usize,
    /// `CL_DEVICE_MAX_COMPUTE_UNITS` (sizes the GEMV's persistent grid; not a fit criterion).
    pub compute_units: usize,
    /// `CL_DEVICE_VENDOR` names NVIDIA: its compiler takes inline PTX (the GEMV's cache hints).
    pub nvidia: bool,
}

/// Number of platforms the ICD loader reports, asked directly: `ocl`'s own listing panics or
/// retries for ten seconds when the loader finds no platform at all.
fn platform_count() -> std::result::Result<u32, i32> {
    let mut n: ocl::ffi::cl_uint = 0;
    // SAFETY: a count-only query: a null list with length 0 and a valid out-pointer to `n`.
    let status = unsafe { ocl::ffi::clGetPlatformIDs(0, std::ptr::null_mut(), &mut n) };
    if status == 0 {
        Ok(n)
    } else {
        Err(status)
    }
}

fn platforms() -> Result<Vec<Platform>> {
    match platform_count() {
        Ok(0) => {
            return Err(unavailable(
                "no OpenCL platform (the ICD loader found none)",
            ))
        }
        Err(code) => {
            return Err(unavailable(format!(
                "no OpenCL platform (clGetPlatformIDs returned {code})"
            )))
        }
        Ok(_) => {}
    }
    let ids = ocl::core::get_platform_ids()
        .map_err(|e| unavailable(format!("listing OpenCL platforms failed: {e}")))?;
    Ok(ids.into_iter().map(Platform::new).collect())
}

fn device_type(d: &Device) -> Option<DeviceType> {
    match d.info(DeviceInfo::Type) {
        Ok(DeviceInfoResult::Type(t)) => Some(t),
        _ => None,
    }
}

/// Every (platform, device) pair, in platform order then device order.
fn all_devices() -> Result<Vec<Selected>> {
    let mut out = Vec::new();
    for p in platforms()? {
        let pname = p.name().unwrap_or_else(|_| "unnamed platform".into());
        // A platform without devices reports CL_DEVICE_NOT_FOUND: it just contributes none.
        for d in Device::list_all(p).unwrap_or_default() {
            let dname = d.name().unwrap_or_else(|_| "unnamed device".into());
            out.push(Selected {
                platform: p,
                device: d,
                description: format!("{} / {}", pname.trim(), dname.trim()),
            });
        }
    }
    Ok(out)
}

/// The device this process uses (see the module docs for the rule).
pub fn select() -> Result<Selected> {
    let all = all_devices()?;
    if all.is_empty() {
        return Err(unavailable("OpenCL platforms exist but expose no device"));
    }
    if let Ok(want) = std::env::var(DEVICE_ENV) {
        let needle = want.to_lowercase();
        return all
            .iter()
            .find(|s| s.description.to_lowercase().contains(&needle))
            .cloned()
            .ok_or_else(|| {
                let seen: Vec<&str> = all.iter().map(|s| s.description.as_str()).collect();
                unavailable(format!(
                    "{DEVICE_ENV}={want:?} matches no OpenCL device; devices: {}",
                    seen.join("; ")
                ))
            });
    }
    let of_type = |t: DeviceType| {
        all.iter()
            .find(|s| device_type(&s.device).is_some_and(|dt| dt.contains(t)))
    };
    of_type(DeviceType::GPU)
        .or_else(|| of_type(DeviceType::CPU))
        .cloned()
        .ok_or_else(|| unavailable("no OpenCL GPU or CPU device"))
}

impl Selected {
    /// Reads the limits the kernel configuration is chosen from.
    pub fn limits(&self) -> Result<DeviceLimits> {
        let err = |what: &str, e: ocl::Error| device_error(&self.description, what, e);
        let is_gpu = device_type(&self.device).is_some_and(|t| t.contains(DeviceType::GPU));
        let max_work_group = self
            .device
            .max_wg_size()
            .map_err(|e| err("CL_DEVICE_MAX_WORK_GROUP_SIZE", e))?;
        let max_items_dim0 = match self.device.info(DeviceInfo::MaxWorkItemSizes) {
            Ok(DeviceInfoResult::MaxWorkItemSizes(v)) => v.first().copied().unwrap_or(1),
            Ok(other) => {
                return Err(device_error(
                    &self.description,
                    "CL_DEVICE_MAX_WORK_ITEM_SIZES",
                    other,
                ))
            }
            Err(e) => return Err(err("CL_DEVICE_MAX_WORK_ITEM_SIZES", e)),
        };
        let local_mem_bytes = match self.device.info(DeviceInfo::LocalMemSize) {
            Ok(DeviceInfoResult::LocalMemSize(v)) => v as usize,
            Ok(other) => {
                return Err(device_error(
                    &self.description,
                    "CL_DEVICE_LOCAL_MEM_SIZE",
                    other,
                ))
            }
            Err(e) => return Err(err("CL_DEVICE_LOCAL_MEM_SIZE", e)),
        };
        let compute_units = match self.device.info(DeviceInfo::MaxComputeUnits) {
            Ok(DeviceInfoResult::MaxComputeUnits(v)) => v as usize,
            Ok(other) => {
                return Err(device_error(
                    &self.description,
                    "CL_DEVICE_MAX_COMPUTE_UNITS",
                    other,
                ))
            }
            Err(e) => return Err(err("CL_DEVICE_MAX_COMPUTE_UNITS", e)),
        };
        let nvidia = matches!(
            self.device.info(DeviceInfo::Vendor),
            Ok(DeviceInfoResult::Vendor(v)) if v.to_uppercase().contains("NVIDIA")
        );
        Ok(DeviceLimits {
            is_gpu,
            max_work_group,
            max_items_dim0,
            local_mem_bytes,
            compute_units,
            nvidia,
        })
    }
}
