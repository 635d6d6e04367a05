//! Programmatic dependent launch (compute capability 9.0+): the GEMM is launched so that its
//! blocks may start while the row-wise kernel before it on the stream still runs; the kernels
//! keep the order where it matters (kernels/cuda/grid_dependency.cu). What it saves is the gap
//! between the two kernels and the GEMM's first W loads, a few microseconds per call.

use std::ffi::c_void;
use std::sync::OnceLock;

use cudarc::driver::sys::{self, CUlaunchAttributeID};
use cudarc::driver::{CudaFunction, CudaStream, DriverError, LaunchConfig};

/// Whether GEMM launches overlap the kernel before them on a device of compute capability `cc`:
/// from 9.0 on, unless `LNL_CUDA_OVERLAP=0` (for benchmarking both).
pub(crate) fn enabled(cc: (i32, i32)) -> bool {
    static OFF: OnceLock<bool> = OnceLock::new();
    let off = *OFF.get_or_init(|| std::env::var("LNL_CUDA_OVERLAP").is_ok_and(|v| v == "0"));
    cc.0 >= 9 && !off
}

/// Whether an early start leaves the GEMM's blocks as evenly spread over the SMs as a normal
/// launch: `blocks` in the grid, `per_sm` of them fit on an SM, `sms` SMs. Blocks that start
/// while the kernel before still runs go wherever there is room, and in graph replay that
/// stacked some SMs to capacity while others got one block: mid512 (256 blocks) with a tile
/// that fits 3 per SM took 560-574 µs with the early start against 406-412 without (docs/PERF.md,
/// session 8). No SM can exceed its even share (`blocks / sms`, rounded up) when that share is
/// the capacity, and a grid of at least one full wave fills every SM either way.
pub(crate) fn placement_safe(blocks: u32, per_sm: u32, sms: u32) -> bool {
    per_sm <= blocks.div_ceil(sms.max(1)) || blocks >= per_sm.saturating_mul(sms)
}

/// Queues `f` on `stream` with programmatic stream serialisation.
///
/// # Safety
/// `params` holds one pointer per kernel parameter, in order, each to a value of that
/// parameter's type (as for `cuLaunchKernel`), and the kernel must be safe to run on them.
pub(crate) unsafe fn launch_overlapped(
    stream: &CudaStream,
    f: &CudaFunction,
    cfg: LaunchConfig,
    params: &mut [*mut c_void],
) -> Result<(), DriverError> {
    stream.context().bind_to_thread()?;
    // SAFETY: an all-zero launch attribute is valid (id 0 is "ignore"); id and value are set next.
    let mut attr: sys::CUlaunchAttribute = unsafe { std::mem::zeroed() };
    attr.id = CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    let config = sys::CUlaunchConfig {
        gridDimX: cfg.grid_dim.0,
        gridDimY: cfg.grid_dim.1,
        gridDimZ: cfg.grid_dim.2,
        blockDimX: cfg.block_dim.0,
        blockDimY: cfg.block_dim.1,
        blockDimZ: cfg.block_dim.2,
        sharedMemBytes: cfg.shared_mem_bytes,
        hStream: stream.cu_stream(),
        attrs: &mut attr,
        numAttrs: 1,
    };
    // SAFETY: config and attr live across the call; params as the caller promises.
    unsafe {
        sys::cuLaunchKernelEx(
            &config,
            f.cu_function(),
            params.as_mut_ptr(),
            std::ptr::null_mut(),
        )
    }
    .result()
}

#[cfg(test)]
mod tests {
    use super::placement_safe;

    #[test]
    fn early_start_only_where_it_cannot_stack_blocks() {
        // mid512's 256 tiles on 132 SMs: safe at 2 per SM, not at 3 (the measured slowdown).
        assert!(placement_safe(256, 2, 132));
        assert!(!placement_safe(256, 3, 132));
        // A grid of full waves, and one whose even share is the capacity.
        assert!(placement_safe(1024, 3, 132));
        assert!(placement_safe(396, 3, 132));
        assert!(placement_safe(300, 3, 132));
        // Fewer blocks than SMs with room for 4 each.
        assert!(!placement_safe(80, 4, 132));
        assert!(placement_safe(80, 1, 132));
    }
}
