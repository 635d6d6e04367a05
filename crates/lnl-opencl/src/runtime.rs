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
    /// The register GEMV's wide variant (`GemvTiles::xreg_wide`), always its own build (the
    /// same kernel name, other -D values); `None` without one or when refused.
    pub(crate) program_w: Option<cl::Program>,
    /// `program_w`'s build log, or why it was refused (then `config` has no wide variant).
    pub(crate) build_log_w: String,
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
        binary(&self.program)
            .map_err(|e| device_error(self.description(), "CL_PROGRAM_BINARIES", e))
    }
    /// The register GEMV's program binary (as `program_binary`) and build log, when it was
    /// built separately from the main program (NVIDIA's platform with the register GEMV on).
    pub fn xreg_program(&self) -> Option<(Vec<u8>, &str)> {
        if self.build_log_x.is_empty() {
            return None;
        }
        Some((binary(&self.program_x).ok()?, &self.build_log_x))
    }
    /// The register GEMV's wide variant: its binary where it was built, and its build log or
    /// why it was refused (`None` where the configuration asked for none).
    pub fn xreg_wide_program(&self) -> Option<(Option<Vec<u8>>, &str)> {
        let bin = self.program_w.as_ref().and_then(|p| binary(p).ok());
        (!self.build_log_w.is_empty()).then_some((bin, self.build_log_w.as_str()))
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

/// The selected device, for tests that build programs themselves: selected under the cache's
/// lock, as `runtime` does (PoCL's lazy device start is not safe against concurrent queries).
#[cfg(test)]
pub(crate) fn select_serialised() -> Result<Selected> {
    let _cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    select()
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
    let build = |opts: &str| program::build(&context, &selected.device, &desc, opts, None);
    for config in candidates {
        let program = match build(&config.build_options()) {
            Ok(p) => p,
            // The NVIDIA-only inline PTX may not build on some driver: the next candidate is
            // the same level without it.
            Err(e) if config.gemv.nv => {
                last_reason = e.to_string();
                continue;
            }
            Err(e) => return Err(e),
        };
        // The narrow register GEMV: its own build on NVIDIA (see `xreg_program`), elsewhere
        // the main program's kernel.
        let checked =
            kernels_accept(&program, &selected, &config).and_then(|()| match config.gemv.xnt {
                0 => Ok((program.clone(), String::new())),
                _ if limits.nvidia => xreg_program(&build, &selected, true, &config),
                n => accepts(&program, "gemvx_fused", n, &selected)
                    .map(|()| (program.clone(), String::new())),
            });
        let (program_x, build_log_x) = match checked {
            Ok(x) => x,
            Err(reason) => {
                last_reason = reason;
                continue;
            }
        };
        let (config, program_w, build_log_w) =
            wide_program(&build, &selected, limits.nvidia, config);
        return Ok(Runtime {
            selected,
            queue,
            program,
            program_x,
            build_log_x,
            program_w,
            build_log_w,
            config,
            compute_units: limits.compute_units,
        });
    }
    Err(unavailable(last_reason))
}

/// The register GEMV's wide variant, where `config` has one: its program and build log, and
/// `config` itself. It is the only one that needs this build: refused, the layers take the
/// narrow variant (two row blocks up to 2 xr rows, the staged GEMV beyond), so the returned
/// configuration drops it and the log says why.
fn wide_program(
    build: &dyn Fn(&str) -> Result<cl::Program>,
    selected: &Selected,
    nvidia: bool,
    config: KernelConfig,
) -> (KernelConfig, Option<cl::Program>, String) {
    let Some(gemv) = config.gemv.xreg_wide() else {
        return (config, None, String::new());
    };
    match xreg_program(build, selected, nvidia, &KernelConfig { gemv, ..config }) {
        Ok((p, log)) => (config, Some(p), log),
        Err(reason) => {
            let mut narrowed = config;
            (narrowed.gemv.xr2, narrowed.gemv.xf2) = (0, 0);
            (narrowed, None, format!("refused: {reason}"))
        }
    }
}

/// The register GEMV built on its own with `config`'s -D values, and its build log (a refusal
/// carries the log). The register GEMV needs <= 65536 / xnt registers per work-item to run
/// xnt-wide (128 at 512), and NVIDIA's OpenCL compiler does not derive that cap from
/// reqd_work_group_size (measured on an H100: its gemvx kernels allowed only 256 work-items).
/// A program-wide cap would also bind the GEMMs (135+ registers), so on NVIDIA the register
/// GEMV comes from a second build of the same sources, with -cl-nv-verbose (ptxas' register
/// and spill report in its log) and, above 256 work-items, the cap. The driver (580.159)
/// refuses the spelling "-cl-nv-maxrregcount N" and ignores "-cl-nv-maxrregcount=N" (both
/// measured), so 512-wide variants are refused there; 256-wide ones need no cap.
fn xreg_program(
    build: &dyn Fn(&str) -> Result<cl::Program>,
    selected: &Selected,
    nvidia: bool,
    config: &KernelConfig,
) -> std::result::Result<(cl::Program, String), String> {
    let xnt = config.gemv.xnt;
    let cap = match xnt {
        n if nvidia && n > 256 => format!(" -cl-nv-maxrregcount={}", 65536 / n),
        _ => String::new(),
    };
    let verbose = if nvidia { " -cl-nv-verbose" } else { "" };
    let opts = format!("{}{cap}{verbose}", config.build_options());
    let p = build(&opts).map_err(|e| e.to_string())?;
    let log = format!("{opts}\n{}", program::build_log(&p, &selected.device));
    match accepts(&p, "gemvx_fused", xnt, selected) {
        Ok(()) => Ok((p, log)),
        Err(reason) => Err(format!("{reason}; register GEMV build: {log}")),
    }
}

/// Checks each built kernel's own work-group limit (registers can lower it below the device's);
/// the register GEMV's is checked where it is built.
fn kernels_accept(
    program: &cl::Program,
    selected: &Selected,
    config: &KernelConfig,
) -> std::result::Result<(), String> {
    for name in program::KERNELS {
        let need = match name {
            "gemm_unfused" | "gemm_fused" => config.gemm.work_group(),
            "gemv_unfused" | "gemv_fused" => config.gemv.work_group(),
            "gemvx_fused" => continue,
            _ => config.norm_wg,
        };
        accepts(program, name, need, selected)?;
    }
    Ok(())
}

/// Whether kernel `name` of `program` runs `need` work-items per group on the device.
fn accepts(
    program: &cl::Program,
    name: &str,
    need: usize,
    selected: &Selected,
) -> std::result::Result<(), String> {
    let kernel = cl::create_kernel(program, name).map_err(|e| format!("{name}: {e}"))?;
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
    Ok(())
}

/// A built program's binary for its one device (`CL_PROGRAM_BINARIES`).
fn binary(program: &cl::Program) -> std::result::Result<Vec<u8>, String> {
    match cl::get_program_info(program, cl::ProgramInfo::Binaries) {
        Ok(cl::ProgramInfoResult::Binaries(mut b)) if !b.is_empty() => Ok(b.swap_remove(0)),
        other => Err(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::XregVariant;

    #[test]
    fn a_refused_wide_variant_leaves_the_narrow_one() {
        let sel = select_serialised().expect("an OpenCL device (PoCL in CI)");
        let mut config = KernelConfig::candidates(&sel.limits().unwrap())[0];
        let v = &mut config.gemv;
        (v.xnt, v.xp, v.xb, v.xf, v.xdb, v.xr, v.xr2, v.xf2) = (32, 1, 1, 2, false, 2, 4, 2);
        assert!(config.gemv.is_consistent());
        let refuse = |opts: &str| Err(unavailable(format!("refused {opts}")));
        let (narrowed, program, log) = wide_program(&refuse, &sel, false, config);
        assert!(program.is_none());
        assert!(
            log.starts_with("refused: ") && log.contains("refused -D"),
            "{log}"
        );
        assert!(
            log.contains("-DGEMVX_R=4"),
            "the wide variant's options: {log}"
        );
        // The layers then take the narrow variant up to its two row blocks.
        assert_eq!((narrowed.gemv.xr2, narrowed.gemv.xf2), (0, 0));
        assert_eq!(
            narrowed.gemv.xreg_variant(128, 4),
            Some(XregVariant::Narrow)
        );
        assert_eq!(narrowed.gemv.xreg_variant(128, 5), None);
        // No wide variant asked for: no build at all.
        let (same, program, log) = wide_program(&refuse, &sel, false, narrowed);
        assert_eq!(
            (same, program.is_none(), log.as_str()),
            (narrowed, true, "")
        );
    }
}
