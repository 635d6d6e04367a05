//! The kernel sources (kernels/opencl/*.cl, embedded) and their build with clBuildProgram.
//! A failed build returns `Error::KernelBuild` carrying the compiler's log.

use crate::errors::{device_error, PROVIDER};
use lnl_core::{Error, Result};
use ocl::core::{self as cl, ProgramBuildInfo, ProgramBuildInfoResult};
use std::ffi::CString;

/// The sources in dependency order: helpers first, kernels after.
pub const SOURCES: [(&str, &str); 7] = [
    (
        "normalise.cl",
        include_str!("../../../kernels/opencl/normalise.cl"),
    ),
    (
        "staging.cl",
        include_str!("../../../kernels/opencl/staging.cl"),
    ),
    (
        "row_stats.cl",
        include_str!("../../../kernels/opencl/row_stats.cl"),
    ),
    (
        "layernorm.cl",
        include_str!("../../../kernels/opencl/layernorm.cl"),
    ),
    ("gemm.cl", include_str!("../../../kernels/opencl/gemm.cl")),
    ("gemv.cl", include_str!("../../../kernels/opencl/gemv.cl")),
    (
        "gemv_xreg.cl",
        include_str!("../../../kernels/opencl/gemv_xreg.cl"),
    ),
];

/// Every kernel the program defines (checked after each build); the last one only when the
/// configuration enables the register GEMV (`GemvTiles::xnt` > 0).
pub const KERNELS: [&str; 7] = [
    "row_stats",
    "layernorm",
    "gemm_unfused",
    "gemm_fused",
    "gemv_unfused",
    "gemv_fused",
    "gemvx_fused",
];

fn source_strings() -> Vec<CString> {
    SOURCES
        .iter()
        // The sources are ours and contain no NUL byte.
        .filter_map(|(name, src)| CString::new(format!("// ---- {name}\n{src}\n")).ok())
        .collect()
}

/// Builds the program for one device. `extra` is appended to the options (tests use it to
/// check that a failing build reports its log).
pub(crate) fn build(
    context: &ocl::Context,
    device: &ocl::Device,
    description: &str,
    options: &str,
    extra_source: Option<&str>,
) -> Result<cl::Program> {
    let mut src = source_strings();
    if let Some(extra) = extra_source {
        src.push(CString::new(extra).map_err(|e| device_error(description, "source", e))?);
    }
    let program = cl::create_program_with_source(context.as_core(), &src)
        .map_err(|e| device_error(description, "clCreateProgramWithSource", e))?;
    let opts = CString::new(options).map_err(|e| device_error(description, "options", e))?;
    let devices = [*device.as_core()];
    if let Err(e) = cl::build_program(&program, Some(&devices[..]), &opts, None, None) {
        let log = match cl::get_program_build_info(&program, devices[0], ProgramBuildInfo::BuildLog)
        {
            Ok(ProgramBuildInfoResult::BuildLog(log)) => log,
            _ => String::new(),
        };
        return Err(Error::KernelBuild {
            provider: PROVIDER.into(),
            kernel: format!("kernels/opencl/*.cl on {description} ({options})"),
            log: format!("{e}\n{log}"),
        });
    }
    Ok(program)
}

/// The build log of a built program for `device` (empty if the platform gives none).
pub(crate) fn build_log(program: &cl::Program, device: &ocl::Device) -> String {
    match cl::get_program_build_info(program, *device.as_core(), ProgramBuildInfo::BuildLog) {
        Ok(ProgramBuildInfoResult::BuildLog(log)) => log,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnl_core::Error;

    #[test]
    fn a_failing_build_returns_kernel_build_with_the_log() {
        let sel = crate::runtime::select_serialised().expect("an OpenCL device (PoCL in CI)");
        let ctx = ocl::Context::builder()
            .platform(sel.platform)
            .devices(sel.device)
            .build()
            .unwrap();
        let limits = sel.limits().unwrap();
        let opts = crate::KernelConfig::candidates(&limits)[0].build_options();
        // The good sources build with these options (the other tests use them); only the
        // appended kernel is broken, so the log must name it.
        let bad = "__kernel void broken(__global float *p) { p[0] = undeclared_name; }";
        let err = build(&ctx, &sel.device, &sel.description, &opts, Some(bad)).unwrap_err();
        match err {
            Error::KernelBuild { log, .. } => {
                assert!(log.contains("undeclared_name"), "log: {log}")
            }
            other => panic!("expected KernelBuild, got {other:?}"),
        }
    }
}
