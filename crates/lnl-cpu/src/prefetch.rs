//! A software prefetch hint: the one `unsafe` of the crate, kept because measurement showed it
//! pays (docs/PERF.md, "CPU provider"): the GEMM merges each `k` block into `C`, and `C`
//! (8 MiB at 512 x 4096) lives in L3 or DRAM between `k` blocks, so without a hint every
//! microkernel store waits a memory latency for its 6 rows of `C`; likewise the first use of
//! each slice of packed `W` comes from L3 or DRAM.

/// Asks the CPU to bring the cache line holding `x` into L1. No effect on results; a no-op
/// off x86_64.
#[inline(always)]
pub fn line<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` needs only SSE (baseline on x86_64) and is a hint that never
        // faults or writes, whatever the address; this one is a live reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The lines holding the first and the last element of `s` (a microkernel row: 16 floats).
#[inline(always)]
pub fn ends(s: &[f32]) {
    if let (Some(first), Some(last)) = (s.first(), s.last()) {
        line(first);
        line(last);
    }
}
