//! One device's context, in-order queue and built program, shared by every layer on that device
//! and cached for the life of the process: PoCL compiles with LLVM, seconds per build, so each
//! (device, configuration) pair is built once.

use crate::config::KernelConfig;
use crate::device::{select, Selected};
use crate::errors::{device_error, unavailable};
use crate::program;
use lnl_core::Result;
use ocl::core::{self as cl, ClDeviceIdPtr, KernelWorkGroupInfo, KernelWorkGroupInfoResult};
use ocl::flags::CommandQueueProperties;
use ocl::{Context, Queue};
use std::sync::{Arc, Mutex};

/// A device ready to run the layer's kernels.
pub struct Runtime {
    pub(crate) selected: Selected,
    pub(crate) queue: Queue,
    pub(crate) program: cl::Program,
    /// The register GEMV's program (gemvx_fused): on NVIDIA's platform the same sources
    /// built again with a register cap (see `create`), elsewhere `program` itself.
    pub(crate) program_x: cl::Program,
    /// `program_x`'s build log when it was built separately (with `-cl-nv-verbose`: NVIDIA's
    /// register and spill report).
    pub(crate) build_log_x: String,
    pub(crate) config: KernelConfig,
    /// `CL_DEVICE_MAX_COMPUTE_UNITS`: sizes the GEMV's persistent grid.
    pub(crate) compute_units: usize,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("device", &self.selected.description)
            .field("config", &self.config)
            .finish()
    }
}

impl Runtime {
    /// `"<platform> / <device>"`.
    pub fn description(&self) -> &str {
        &self.selected.description
    }
    /// The sizes baked into this runtime's program.
    pub fn config(&self) -> &KernelConfig {
        &self.config
    }
    /// The built program's binary for this device (`CL_PROGRAM_BINARIES`; PTX on NVIDIA's
    /// platform), for inspecting what the device compiler made of the kernels.
    pub fn program_binary(&self) -> Result<Vec<u8>> {
        match cl::get_program_info(&self.program, cl::ProgramInfo::Binaries) {
            Ok(cl::ProgramInfoResult::Binaries(mut b)) if !b.is_empty() => Ok(b.swap_remove(0)),
            other => Err(device_error(
                self.description(),
                "CL_PROGRAM_BINARIES",
                format!("{other:?}"),
            )),
        }
    }
    /// The register GEMV's program binary (as `program_binary`) and build log, when it was
    /// built separately from the main program (NVIDIA's platform with the register GEMV on).
    pub fn xreg_program(&self) -> Option<(Vec<u8>, &str)> {
        if self.build_log_x.is_empty() {
            return None;
        }
        match cl::get_program_info(&self.program_x, cl::ProgramInfo::Binaries) {
            Ok(cl::ProgramInfoResult::Binaries(mut b)) if !b.is_empty() => {
                Some((b.swap_remove(0), &self.build_log_x))
            }
            _ => None,
        }
    }
    /// `CL_DEVICE_MAX_COMPUTE_UNITS` of the device.
    pub fn compute_units(&self) -> usize {
        self.compute_units
    }
    /// The in-order, profiling-enabled queue every layer on this device enqueues on.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }
    /// `CL_DEVICE_MAX_MEM_ALLOC_SIZE`, if the device reports it.
    pub fn max_alloc_bytes(&self) -> Option<u64> {
        match self
            .selected
            .device
            .info(ocl::enums::DeviceInfo::MaxMemAllocSize)
        {
            Ok(ocl::enums::DeviceInfoResult::MaxMemAllocSize(v)) => Some(v),
            _ => None,
        }
    }
}

type CacheKey = (usize, Option<KernelConfig>);
static CACHE: Mutex<Vec<(CacheKey, Arc<Runtime>)>> = Mutex::new(Vec::new());

/// The runtime of the selected device with its preferred configuration (`None`) or a given one.
pub fn runtime(forced: Option<KernelConfig>) -> Result<Arc<Runtime>> {
    // A poisoned lock only means another thread panicked while holding it: the list is intact.
    // Selection runs under the lock too: PoCL initialises its devices lazily on the first
    // query and is not safe against concurrent first queries (seen: spurious "no device", SIGSEGV).
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let selected = select()?;
    let key = (selected.device.as_core().as_ptr() as usize, forced);
    if let Some((_, rt)) = cache.iter().find(|(k, _)| *k == key) {
        return Ok(rt.clone());
    }
    let rt = Arc::new(create(selected, forced)?);
    cache.push((key, rt.clone()));
    Ok(rt)
}

fn create(selected: Selected, forced: Option<KernelConfig>) -> Result<Runtime> {
    let desc = selected.description.clone();
    let context = Context::builder()
        .platform(selected.platform)
        .devices(selected.device)
        .build()
        .map_err(|e| device_error(&desc, "creating the context", e))?;
    let queue = Queue::new(
        &context,
        selected.device,
        Some(CommandQueueProperties::PROFILING_ENABLE),
    )
    .map_err(|e| device_error(&desc, "creating the queue", e))?;
    let limits = selected.limits()?;
    let candidates = match forced {
        Some(c) if c.fits(&limits) => vec![c],
        Some(c) => {
            return Err(unavailable(format!(
                "configuration {c:?} does not fit {desc} ({limits:?})"
            )))
        }
        None => KernelConfig::candidates(&limits),
    };
    let mut last_reason = format!("no kernel configuration fits {desc} ({limits:?})");
    for config in candidates {
        let program = match program::build(
            &context,
            &selected.device,
            &desc,
            &config.build_options(),
            None,
        ) {
            Ok(p) => p,
            // The NVIDIA-only inline PTX may not build on some driver: the next candidate is
            // the same level without it.
            Err(e) if config.gemv.nv => {
                last_reason = e.to_string();
                continue;
            }
            Err(e) => return Err(e),
        };
        // The register GEMV needs <= 65536 / xnt registers per work-item to run xnt-wide
        // (128 at 512), and NVIDIA's OpenCL compiler does not derive that cap from
        // reqd_work_group_size (measured on an H100: its gemvx kernels allowed only 256
        // work-items). A program-wide cap would also bind the GEMMs (135+ registers), so on
        // NVIDIA the register GEMV comes from a second build of the same sources, with
        // -cl-nv-verbose (ptxas' register and spill report in its log, which a rejection below
        // carries in its reason) and, above 256 work-items, the cap. The driver (580.159)
        // refuses the spelling "-cl-nv-maxrregcount N" and ignores "-cl-nv-maxrregcount=N"
        // (both measured), so 512-wide variants are refused there; 256-wide ones need no cap.
        let (program_x, build_log_x) = if config.gemv.xnt > 0 && limits.nvidia {
            let cap = if config.gemv.xnt > 256 {
                format!(" -cl-nv-maxrregcount={}", 65536 / config.gemv.xnt)
            } else {
                String::new()
            };
            let opts = format!("{}{cap} -cl-nv-verbose", config.build_options());
            match program::build(&context, &selected.device, &desc, &opts, None) {
                Ok(p) => {
                    let log = program::build_log(&p, &selected.device);
                    (p, format!("{opts}\n{log}"))
                }
                Err(e) => {
                    last_reason = e.to_string();
                    continue;
                }
            }
        } else {
            (program.clone(), String::new())
        };
        match kernels_accept(&program, &program_x, &selected, &config) {
            Ok(()) => {
                return Ok(Runtime {
                    selected,
                    queue,
                    program,
                    program_x,
                    build_log_x,
                    config,
                    compute_units: limits.compute_units,
                })
            }
            Err(reason) if build_log_x.is_empty() => last_reason = reason,
            Err(reason) => last_reason = format!("{reason}; register GEMV build: {build_log_x}"),
        }
    }
    Err(unavailable(last_reason))
}

/// Checks each built kernel's own work-group limit (registers can lower it below the device's).
fn kernels_accept(
    program: &cl::Program,
    program_x: &cl::Program,
    selected: &Selected,
    config: &KernelConfig,
) -> std::result::Result<(), String> {
    for name in program::KERNELS {
        let need = match name {
            "gemm_unfused" | "gemm_fused" => config.gemm.work_group(),
            "gemv_unfused" | "gemv_fused" => config.gemv.work_group(),
            "gemvx_fused" if config.gemv.xnt == 0 => continue,
            "gemvx_fused" => config.gemv.xnt,
            _ => config.norm_wg,
        };
        let from = if name.starts_with("gemvx") {
            program_x
        } else {
            program
        };
        let kernel = cl::create_kernel(from, name).map_err(|e| format!("{name}: {e}"))?;
        let allowed = match cl::get_kernel_work_group_info(
            &kernel,
            selected.device.as_core(),
            KernelWorkGroupInfo::WorkGroupSize,
        ) {
            Ok(KernelWorkGroupInfoResult::WorkGroupSize(n)) => n,
            other => return Err(format!("{name}: CL_KERNEL_WORK_GROUP_SIZE: {other:?}")),
        };
        if allowed < need {
            return Err(format!(
                "{name} allows {allowed} work-items per group on {}, needs {need}",
                selected.description
            ));
        }
    }
    Ok(())
}
