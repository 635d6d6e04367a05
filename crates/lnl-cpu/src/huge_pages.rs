//! Transparent huge pages for the packed `W`. Decode streams all of `W` (64 MiB at
//! H = O = 4096) once per call; on 4 KiB pages that is a TLB miss every 4 KiB and a hardware
//! prefetcher that restarts at every page. Linux backs a region with 2 MiB pages on first touch
//! when it is advised so (`MADV_HUGEPAGE`), also where THP is `madvise`-only, as on most
//! distributions. numpy does the same for its large arrays. Measured: docs/PERF.md, "CPU
//! provider".

/// A vector of `len` copies of `value` whose memory is advised for huge pages before it is first
/// written. Advice only: where the kernel declines (or off Linux) this is a plain vector.
pub fn filled_vec<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(len);
    advise(v.as_mut_ptr().cast::<u8>(), len * std::mem::size_of::<T>());
    v.resize(len, value);
    v
}

/// Below this, a region cannot hold a whole aligned 2 MiB page worth asking for.
const MIN_BYTES: usize = 4 << 20;
const HUGE: usize = 2 << 20;

// Not under Miri, which cannot emulate MADV_HUGEPAGE (advice only: nothing to check there).
#[cfg(all(target_os = "linux", not(miri)))]
fn advise(base: *mut u8, bytes: usize) {
    if bytes < MIN_BYTES {
        return;
    }
    // Only whole huge pages inside the allocation: madvise wants a page-aligned start, and the
    // kernel backs only aligned 2 MiB ranges with huge pages anyway. Offsets from `base`, so the
    // pointer keeps its provenance.
    let addr = base as usize;
    let lead = addr.next_multiple_of(HUGE) - addr;
    let end = (addr + bytes) / HUGE * HUGE;
    if end <= addr + lead {
        return;
    }
    let start = base.wrapping_add(lead);
    // SAFETY: the advised range (start up to the last whole huge page) lies inside this process's own allocation (reserved, not yet
    // written); MADV_HUGEPAGE changes only how the kernel backs those pages, never their
    // contents or validity, and a failure (e.g. THP disabled) leaves the memory as it was.
    let _ = unsafe { libc::madvise(start.cast(), end - (addr + lead), libc::MADV_HUGEPAGE) };
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn advise(_base: *mut u8, _bytes: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn filled_vec_has_the_length_and_the_value_at_every_size() {
        for len in [0, 1, 1000, (8 << 20) / 4 + 3] {
            let v = super::filled_vec(len, 1.5f32);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|&x| x == 1.5));
        }
    }
}
