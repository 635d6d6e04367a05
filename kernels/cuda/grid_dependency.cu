// Programmatic dependent launch (sm_90+). The host launches the GEMM with programmatic stream
// serialisation (crates/lnl-cuda/src/overlap.rs), so its blocks may start while the row-wise
// kernel before it (lnl_row_stats or lnl_layernorm) still runs: the GEMM queues its first W
// tiles, which that kernel does not write, then waits for it to finish (and its writes to be
// visible) before it reads x, xhat or the row statistics. The row-wise kernels allow that early
// start as soon as they begin. Without the launch attribute both are no-ops, as on older GPUs.

__device__ __forceinline__ void grid_dependency_wait() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void grid_dependents_may_launch() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
