//! Measures this machine's CPU ceilings, for the benchmark report's "% of ceiling" columns:
//! f32 FMA peak (independent FMA chains on every thread) and memory bandwidth (copy: bytes read
//! plus bytes written, write-allocate traffic not counted; read: a sum over the buffer). Best of several
//! repetitions after a warm-up, since a ceiling is what the machine can do, not its average.
//!
//! Built with optimisation by `cargo xtask bench` (`cargo build --release -p xtask --bin
//! ceilings`): the debug xtask process itself must not time anything.
//!
//!     ceilings [--json PATH] [--threads N] [--mib N]
//!
//! Prints one line per ceiling, and the JSON `{"cpu": {...}}` with `--json`.

use std::hint::black_box;
use std::time::Instant;

/// Independent accumulators per thread: more than FMA latency x ports (4 x 2 on current x86).
const CHAINS: usize = 12;

/// FMAs per chain per repetition; about 0.1 s per repetition on a 3 GHz core.
const ITERS: usize = 50_000_000;

/// Repetitions of each measurement after one warm-up.
const REPS: usize = 5;

#[cfg(target_arch = "x86_64")]
mod fma {
    use super::{CHAINS, ITERS};
    use std::arch::x86_64::*;

    /// Flops done by [`chains`]: CHAINS chains x ITERS FMAs x 8 lanes x 2 flops.
    pub const FLOPS: f64 = (CHAINS * ITERS * 8 * 2) as f64;

    /// # Safety
    /// The CPU must support AVX and FMA (checked by the caller).
    #[target_feature(enable = "avx,fma")]
    pub unsafe fn chains(seed: f32) -> f32 {
        let a = _mm256_set1_ps(0.999_999);
        let b = _mm256_set1_ps(1e-7);
        let mut acc = [_mm256_set1_ps(seed); CHAINS];
        for (i, v) in acc.iter_mut().enumerate() {
            *v = _mm256_add_ps(*v, _mm256_set1_ps(i as f32 * 0.01));
        }
        for _ in 0..ITERS {
            // The array is fully unrolled into registers: each chain depends only on itself.
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }

    pub fn supported() -> bool {
        is_x86_feature_detected!("avx") && is_x86_feature_detected!("fma")
    }

    pub fn run(seed: f32) -> f32 {
        assert!(supported(), "checked by the caller");
        // SAFETY: AVX and FMA were detected at run time just above.
        unsafe { chains(seed) }
    }

    pub const WHAT: &str = "AVX2 FMA, 8 lanes";
}

#[cfg(not(target_arch = "x86_64"))]
mod fma {
    use super::{CHAINS, ITERS};

    /// Flops done by [`run`]: CHAINS x 4 lanes x ITERS FMAs x 2 flops.
    pub const FLOPS: f64 = (CHAINS * 4 * ITERS * 2) as f64;

    pub fn supported() -> bool {
        true
    }

    /// Portable chains (the compiler vectorises the lanes with the target's FMA).
    pub fn run(seed: f32) -> f32 {
        let mut acc = [[seed; 4]; CHAINS];
        for _ in 0..ITERS {
            for c in acc.iter_mut() {
                for v in c.iter_mut() {
                    *v = v.mul_add(0.999_999, 1e-7);
                }
            }
        }
        acc.iter().flatten().sum()
    }

    pub const WHAT: &str = "portable mul_add, 4 lanes";
}

/// The best of REPS timings of `f` run on `threads` threads at once (after one warm-up run).
fn best_parallel(threads: usize, f: impl Fn(usize) -> f32 + Sync) -> f64 {
    let mut best = f64::INFINITY;
    for rep in 0..=REPS {
        let t = Instant::now();
        std::thread::scope(|s| {
            let f = &f;
            let handles: Vec<_> = (0..threads)
                .map(|i| s.spawn(move || black_box(f(i))))
                .collect();
            for h in handles {
                h.join().expect("a measuring thread panicked");
            }
        });
        let dt = t.elapsed().as_secs_f64();
        if rep > 0 {
            best = best.min(dt);
        }
    }
    best
}

fn fma_peak_gflops(threads: usize) -> Option<f64> {
    if !fma::supported() {
        return None;
    }
    let t = best_parallel(threads, |i| fma::run(1.0 + i as f32));
    Some(threads as f64 * fma::FLOPS / t * 1e-9)
}

/// Splits `len` into `threads` contiguous ranges.
fn ranges(len: usize, threads: usize) -> Vec<std::ops::Range<usize>> {
    let chunk = len.div_ceil(threads);
    (0..threads)
        .map(|i| (i * chunk).min(len)..((i + 1) * chunk).min(len))
        .collect()
}

/// (copy GB/s counting read + written bytes, read GB/s), `mib` MiB per buffer.
fn bandwidth_gbs(threads: usize, mib: usize) -> (f64, f64) {
    let n = mib * (1 << 20) / 4;
    // Filled on every thread, so that pages are spread as the timed loops will touch them.
    let src: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
    let mut dst = vec![0.0f32; n];
    let parts = ranges(n, threads);

    let mut best_copy = f64::INFINITY;
    for rep in 0..=REPS {
        let t = Instant::now();
        std::thread::scope(|s| {
            let mut rest: &mut [f32] = &mut dst;
            for r in &parts {
                let (mine, tail) = rest.split_at_mut(r.len());
                rest = tail;
                let from = &src[r.clone()];
                s.spawn(move || mine.copy_from_slice(from));
            }
        });
        let dt = t.elapsed().as_secs_f64();
        if rep > 0 {
            best_copy = best_copy.min(dt);
        }
    }
    black_box(&dst);

    let best_read = best_parallel(threads, |i| {
        // 32 accumulators, i.e. four independent 8-lane vector chains: a sum limited by the
        // loads, not by the add latency (one chain would cap a core near 8 bytes per cycle).
        let mut acc = [0.0f32; 32];
        for c in src[parts[i].clone()].chunks_exact(32) {
            for (a, v) in acc.iter_mut().zip(c) {
                *a += v;
            }
        }
        acc.iter().sum()
    });
    let bytes = (n * 4) as f64;
    (2.0 * bytes / best_copy * 1e-9, bytes / best_read * 1e-9)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let threads = arg("--threads")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mib: usize = arg("--mib").and_then(|s| s.parse().ok()).unwrap_or(512);

    let fma = fma_peak_gflops(threads);
    match fma {
        Some(g) => println!(
            "cpu f32 FMA peak ({}, {threads} threads): {g:.1} GFLOP/s",
            fma::WHAT
        ),
        None => println!("cpu f32 FMA peak: not measured (no AVX+FMA)"),
    }
    let (copy, read) = bandwidth_gbs(threads, mib);
    println!(
        "cpu memory copy ({mib} MiB, read + written bytes, {threads} threads): {copy:.1} GB/s"
    );
    println!("cpu memory read (sum over {mib} MiB, {threads} threads): {read:.1} GB/s");

    if let Some(path) = arg("--json") {
        let doc = format!(
            "{{\"cpu\": {{\"threads\": {threads}, \"fma_gflops\": {}, \"fma_method\": \"{}\", \"copy_gbs\": {copy:.3}, \"read_gbs\": {read:.3}, \"buffer_mib\": {mib}}}}}\n",
            fma.map_or("null".to_string(), |g| format!("{g:.3}")),
            fma::WHAT
        );
        if let Err(e) = std::fs::write(&path, doc) {
            eprintln!("ceilings: cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
}
