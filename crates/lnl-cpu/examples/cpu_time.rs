//! Throughput per CPU-second (not per wall second) of bare GEMM, unfused and fused on one shape:
//! on a machine shared with other jobs, wall-clock GFLOP/s drops with the load while flops per
//! second of CPU time stays close to what the code does on an idle core.
//!
//! `cargo run --release -p lnl-cpu --example cpu_time -- ROWS HIDDEN OUT [CALLS]`
//! (Linux: reads `/proc/self/task/*/schedstat`; set `RAYON_NUM_THREADS`.)

use lnl_core::testdata::{normal_vec, random_params};
use lnl_core::{Provider, Strategy};
use lnl_cpu::{BareGemm, CpuProvider};
use std::time::Instant;

/// Nanoseconds on CPU, summed over this process's threads.
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let (rows, h, o) = (a[0], a[1], a[2]);
    let calls = a.get(3).copied().unwrap_or(5);
    let p = random_params(h, o, 1e-5, 42);
    let x = normal_vec(rows * h, 7);
    let mut y = vec![0.0f32; rows * o];
    let flops = 2.0 * (rows * h * o) as f64 * calls as f64;
    let mut time = |name: &str, f: &mut dyn FnMut(&mut [f32])| {
        f(&mut y); // warm-up: scratch buffers, caches
        let (c0, t0) = (cpu_ns(), Instant::now());
        for _ in 0..calls {
            f(&mut y);
        }
        let (cpu, wall) = ((cpu_ns() - c0) as f64 * 1e-9, t0.elapsed().as_secs_f64());
        println!(
            "{rows}x{h}x{o} {name:>9}: {:8.3} ms/call wall, {:7.1} GFLOP/s wall, {:7.1} GFLOP per CPU-second ({:.2} CPUs busy)",
            wall / calls as f64 * 1e3,
            flops / wall * 1e-9,
            flops / cpu * 1e-9,
            cpu / wall
        );
    };
    let g = BareGemm::new(&p);
    time("bare_gemm", &mut |y| g.run(&x, rows, y).unwrap());
    for s in Strategy::ALL {
        let l = CpuProvider::default().build(&p, s)?;
        time(s.name(), &mut |y| l.forward_into(&x, rows, y).unwrap());
    }
    Ok(())
}
