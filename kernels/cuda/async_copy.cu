// cp.async (global -> shared without a register round trip, sm_80+) wrappers shared by the GEMM
// core and the GEMV: the copies, the group commit and the waits. A source size of 0 bytes
// zero-fills the destination (edges of any M, N, K) without reading global memory.

// Shared-address forms (the GEMM computes its swizzled shared offsets itself).
__device__ __forceinline__ void cp_async16(u32 dst, const float* src, u32 bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async4(u32 dst, const float* src, u32 bytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}

// Pointer forms (the GEMV), `valid` false zero-fills.
__device__ __forceinline__ void cp_async16(float4* dst, const float4* src, bool valid) {
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(d), "l"(src), "r"(valid ? 16 : 0)
                 : "memory");
}
// The W stream's copies: L2 evict-first, as ld.global.cs gave the register-staged loop before
// (W is read once per call; x and the L2 prefetch below keep the normal policy).
__device__ __forceinline__ void cp_async16_stream(float4* dst, const float4* src, bool valid, unsigned long long pol) {
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;" ::"r"(d), "l"(src),
                 "r"(valid ? 16 : 0), "l"(pol)
                 : "memory");
}
__device__ __forceinline__ unsigned long long l2_evict_first() {
    unsigned long long pol;
    asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(pol));
    return pol;
}
// Waits until at most n of this thread's cp.async groups are pending (wait_group takes an
// immediate; n > 15 waits for all, which is also correct).
__device__ __forceinline__ void cp_async_wait_pending(u32 n) {
    switch (n) {
#define LNL_WAIT(N) \
    case N: asm volatile("cp.async.wait_group " #N ";" ::: "memory"); break;
        LNL_WAIT(0) LNL_WAIT(1) LNL_WAIT(2) LNL_WAIT(3) LNL_WAIT(4) LNL_WAIT(5) LNL_WAIT(6) LNL_WAIT(7)
        LNL_WAIT(8) LNL_WAIT(9) LNL_WAIT(10) LNL_WAIT(11) LNL_WAIT(12) LNL_WAIT(13) LNL_WAIT(14) LNL_WAIT(15)
#undef LNL_WAIT
        default: asm volatile("cp.async.wait_all;" ::: "memory");
    }
}
