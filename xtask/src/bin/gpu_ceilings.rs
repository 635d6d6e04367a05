//! Measures GPU 0's ceilings for the report, with no dependency beyond the CUDA driver and
//! NVRTC (PyTorch adds its SGEMM rate with `--compare torch`): f32 FMA peak (8 independent
//! `fmaf` chains per thread, every SM full), read bandwidth (a float4 sum over 1 GiB) and
//! device-to-device copy bandwidth (bytes read + written, 1 GiB each way). CUDA events around
//! each run; best of several after a warm-up.
//!
//!     gpu-ceilings --json PATH
//!
//! Exit status 2 (with the reason) when there is no CUDA device.

use lnl_cuda::cudarc::driver::sys::{CUdevice_attribute, CUevent_flags};
use lnl_cuda::cudarc::driver::{CudaContext, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use lnl_cuda::cudarc::nvrtc::Ptx;
use std::process::ExitCode;
use std::sync::Arc;

const SOURCE: &str = r#"
extern "C" __global__ void fma_chains(float *out, int iters, float a, float b) {
    float v0 = threadIdx.x * 1e-3f, v1 = v0 + 1.f, v2 = v0 + 2.f, v3 = v0 + 3.f;
    float v4 = v0 + 4.f, v5 = v0 + 5.f, v6 = v0 + 6.f, v7 = v0 + 7.f;
    #pragma unroll 16
    for (int i = 0; i < iters; i++) {
        v0 = fmaf(v0, a, b); v1 = fmaf(v1, a, b); v2 = fmaf(v2, a, b); v3 = fmaf(v3, a, b);
        v4 = fmaf(v4, a, b); v5 = fmaf(v5, a, b); v6 = fmaf(v6, a, b); v7 = fmaf(v7, a, b);
    }
    out[blockIdx.x * blockDim.x + threadIdx.x] = v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7;
}
extern "C" __global__ void read_sum(const float4 *x, unsigned long long n4, float *out) {
    float s = 0.f;
    for (unsigned long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n4;
         i += (unsigned long long)gridDim.x * blockDim.x) {
        float4 v = x[i];
        s += (v.x + v.y) + (v.z + v.w);
    }
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}
"#;

const CHAINS: f64 = 8.0;
const ITERS: i32 = 1 << 16;
const THREADS: u32 = 256;
const REPS: usize = 5;
/// Floats in each 1 GiB buffer.
const N: usize = 1 << 28;

type R<T> = Result<T, String>;

fn e<E: std::fmt::Debug>(what: &'static str) -> impl Fn(E) -> String {
    move |err| format!("{what}: {err:?}")
}

/// Best time (s) of REPS runs of `f` on `stream`, after one warm-up, by CUDA events.
fn best(ctx: &Arc<CudaContext>, stream: &Arc<CudaStream>, mut f: impl FnMut() -> R<()>) -> R<f64> {
    let ev = || {
        ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(e("cuEventCreate"))
    };
    let (e0, e1) = (ev()?, ev()?);
    f()?;
    stream.synchronize().map_err(e("synchronize"))?;
    let mut t = f64::INFINITY;
    for _ in 0..REPS {
        e0.record(stream).map_err(e("cuEventRecord"))?;
        f()?;
        e1.record(stream).map_err(e("cuEventRecord"))?;
        e1.synchronize().map_err(e("cuEventSynchronize"))?;
        t = t.min(e0.elapsed_ms(&e1).map_err(e("cuEventElapsedTime"))? as f64 * 1e-3);
    }
    Ok(t)
}

fn measure() -> R<String> {
    let ctx = CudaContext::new(0).map_err(e("cuCtxCreate"))?;
    let name = ctx.name().unwrap_or_else(|_| "CUDA device 0".into());
    let (major, minor) = ctx.compute_capability().map_err(e("compute capability"))?;
    let sms = ctx
        .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
        .map_err(e("SM count"))? as u32;
    let opts = vec![
        format!("--gpu-architecture=sm_{major}{minor}"),
        "--fmad=true".to_string(),
    ];
    let cubin =
        lnl_cuda::nvrtc::compile_cubin("gpu_ceilings", SOURCE, &opts).map_err(|x| x.to_string())?;
    let module = ctx
        .load_module(Ptx::from_binary(cubin.cubin))
        .map_err(e("cuModuleLoadData"))?;
    let fma = module
        .load_function("fma_chains")
        .map_err(e("fma_chains"))?;
    let read = module.load_function("read_sum").map_err(e("read_sum"))?;
    let stream = ctx.default_stream();

    // Eight resident blocks of 256 threads per SM: full occupancy at <= 32 registers.
    let blocks = sms * 8;
    let cfg = LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut out: CudaSlice<f32> = stream
        .alloc_zeros((blocks * THREADS) as usize)
        .map_err(e("alloc"))?;
    let (a, b, iters) = (0.999_999f32, 1e-7f32, ITERS);
    let t_fma = best(&ctx, &stream, || {
        let mut l = stream.launch_builder(&fma);
        l.arg(&mut out).arg(&iters).arg(&a).arg(&b);
        // SAFETY: the arguments match fma_chains; `out` holds one float per launched thread.
        unsafe { l.launch(cfg) }
            .map(|_| ())
            .map_err(e("launch fma_chains"))
    })?;
    let fma_gflops = 2.0 * CHAINS * ITERS as f64 * (blocks * THREADS) as f64 / t_fma * 1e-9;

    let src: CudaSlice<f32> = stream.alloc_zeros(N).map_err(e("alloc 1 GiB"))?;
    let mut dst: CudaSlice<f32> = stream.alloc_zeros(N).map_err(e("alloc 1 GiB"))?;
    let n4 = (N / 4) as u64;
    let t_read = best(&ctx, &stream, || {
        let mut l = stream.launch_builder(&read);
        l.arg(&src).arg(&n4).arg(&mut out);
        // SAFETY: the arguments match read_sum; `src` holds 4 * n4 floats, `out` one per thread.
        unsafe { l.launch(cfg) }
            .map(|_| ())
            .map_err(e("launch read_sum"))
    })?;
    let t_copy = best(&ctx, &stream, || {
        stream
            .memcpy_dtod(&src, &mut dst)
            .map_err(e("cuMemcpyDtoD"))
    })?;
    let bytes = (N * 4) as f64;
    Ok(format!(
        "{{\"gpu\": {{\"device\": {:?}, \"sm\": \"sm_{major}{minor}\", \"sms\": {sms}, \"fma_gflops\": {fma_gflops:.1}, \"read_gbs\": {:.1}, \"copy_gbs\": {:.1}}}}}\n",
        name,
        bytes / t_read * 1e-9,
        2.0 * bytes / t_copy * 1e-9
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1));
    // SAFETY: loads libcuda by name, running only its own initialisers; without it cudarc would
    // panic on first use.
    if !unsafe { lnl_cuda::cudarc::driver::sys::is_culib_present() } {
        println!("gpu-ceilings: no CUDA driver (libcuda) on this machine");
        return ExitCode::from(2);
    }
    match std::panic::catch_unwind(measure) {
        Ok(Ok(json)) => {
            print!("{json}");
            if let Some(p) = path {
                if let Err(err) = std::fs::write(p, &json) {
                    println!("gpu-ceilings: cannot write {p}: {err}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Ok(Err(why)) => {
            println!("gpu-ceilings: {why}");
            ExitCode::FAILURE
        }
        Err(_) => {
            println!("gpu-ceilings: the CUDA driver panicked");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kernels_compile_for_sm_90() {
        if !lnl_cuda::nvrtc::nvrtc_available() {
            assert!(
                std::env::var("LNL_REQUIRE_NVRTC").as_deref() != Ok("1"),
                "LNL_REQUIRE_NVRTC=1 but libnvrtc cannot be loaded"
            );
            eprintln!("skipped: libnvrtc cannot be loaded here");
            return;
        }
        let opts = vec![
            "--gpu-architecture=sm_90".to_string(),
            "--fmad=true".to_string(),
        ];
        let m = lnl_cuda::nvrtc::compile_cubin("gpu_ceilings", super::SOURCE, &opts).unwrap();
        for k in ["fma_chains\0", "read_sum\0"] {
            assert!(
                m.cubin.windows(k.len()).any(|w| w == k.as_bytes()),
                "{k} missing"
            );
        }
    }
}
