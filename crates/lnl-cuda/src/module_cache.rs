//! Compiled, loaded kernel modules, cached per (device, NVRTC options): NVRTC runs once per
//! device and option set for the process, not once per layer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::sys::CUfunction_attribute;
use cudarc::driver::{CudaFunction, CudaModule};
use cudarc::nvrtc::Ptx;
use lnl_core::Result;

use crate::device::Device;
use crate::errors;
use crate::kernels::{compile_options, gemm_smem_bytes, gemm_threads, module_source, GEMM_TILES};
use crate::nvrtc::compile_cubin;

/// The loaded functions of the module. Index `[0]` is the plain (unfused) variant, `[1]` the
/// normalising (fused) one.
#[derive(Debug)]
pub(crate) struct Kernels {
    _module: Arc<CudaModule>,
    pub layernorm: CudaFunction,
    pub row_stats: CudaFunction,
    /// Builds W^T for the W^T GEMM core.
    pub transpose: CudaFunction,
    /// `[plain, norm]` x `[scalar, vec]` x tile (`GEMM_TILES` order).
    pub gemm: [[Vec<CudaFunction>; 2]; 2],
    /// Blocks of each `gemm` function that fit on one SM at its launch (the driver's occupancy).
    pub gemm_per_sm: [[Vec<u32>; 2]; 2],
    /// `[plain, norm]` x rows per group `[1, 2, 4, 8]`.
    pub gemv: [Vec<CudaFunction>; 2],
    /// `[plain, norm with 8-lane row groups, norm with 32-lane row groups, norm from registers]`.
    pub tiny: [CudaFunction; 4],
}

type Key = (usize, Vec<String>);

fn cache() -> &'static Mutex<HashMap<Key, Arc<Kernels>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<Kernels>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The kernels for `device`, compiled and loaded on first use.
pub(crate) fn kernels(device: &Device) -> Result<Arc<Kernels>> {
    let options = compile_options(device.info.cc.0, device.info.cc.1);
    let key = (device.info.ordinal, options.clone());
    // Held across the compile so that concurrent first builds compile once.
    let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(k) = map.get(&key) {
        return Ok(k.clone());
    }
    let compiled = compile_cubin("lnl_cuda (kernels/cuda/*.cu)", &module_source(), &options)?;
    let name = &device.info.name;
    let module = device
        .ctx
        .load_module(Ptx::from_binary(compiled.cubin))
        .map_err(|e| errors::device(name, "cuModuleLoadData", e))?;
    let f = |n: &str| {
        module
            .load_function(n)
            .map_err(|e| errors::device(name, &format!("cuModuleGetFunction({n})"), e))
    };
    let gemv_set = |kind: &str| -> Result<Vec<CudaFunction>> {
        [1, 2, 4, 8]
            .iter()
            .map(|r| f(&format!("lnl_gemv_r{r}_{kind}")))
            .collect()
    };
    let gemm_set = |kind: &str, load: &str| -> Result<Vec<CudaFunction>> {
        GEMM_TILES
            .iter()
            .map(|tile| f(&format!("lnl_gemm_{kind}_{load}_{}", tile.name)))
            .collect()
    };
    let gemv = [gemv_set("plain")?, gemv_set("norm")?];
    let tiny = [
        f("lnl_tiny_plain")?,
        f("lnl_tiny_norm_w8")?,
        f("lnl_tiny_norm_w32")?,
        f("lnl_tiny_norm_reg")?,
    ];
    let gemm = [
        [gemm_set("plain", "scalar")?, gemm_set("plain", "vec")?],
        [gemm_set("norm", "scalar")?, gemm_set("norm", "vec")?],
    ];
    // The GEMV and tiny kernels keep rows, the GEMM its cp.async pipeline, in dynamic shared
    // memory: allow up to the device's opt-in limit (the launch plan never asks for more).
    for func in gemv
        .iter()
        .flatten()
        .chain(tiny.iter())
        .chain(gemm.iter().flatten().flatten())
    {
        let static_smem = func.shared_size_bytes().unwrap_or(0).max(0) as u32;
        let dynamic = device.info.smem_optin.saturating_sub(static_smem);
        func.set_attribute(
            CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            dynamic as i32,
        )
        .map_err(|e| errors::device(name, "cuFuncSetAttribute(max dynamic shared)", e))?;
    }
    let per_sm = |set: &Vec<CudaFunction>| -> Result<Vec<u32>> {
        set.iter()
            .enumerate()
            .map(|(t, func)| {
                func.occupancy_max_active_blocks_per_multiprocessor(
                    gemm_threads(t),
                    gemm_smem_bytes(t) as usize,
                    None,
                )
                .map_err(|e| errors::device(name, "cuOccupancyMaxActiveBlocksPerMultiprocessor", e))
            })
            .collect()
    };
    let gemm_per_sm = [
        [per_sm(&gemm[0][0])?, per_sm(&gemm[0][1])?],
        [per_sm(&gemm[1][0])?, per_sm(&gemm[1][1])?],
    ];
    let kernels = Arc::new(Kernels {
        layernorm: f("lnl_layernorm")?,
        row_stats: f("lnl_row_stats")?,
        transpose: f("lnl_transpose")?,
        gemm,
        gemm_per_sm,
        gemv,
        tiny,
        _module: module,
    });
    map.insert(key, kernels.clone());
    Ok(kernels)
}
