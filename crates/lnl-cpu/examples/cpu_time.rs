//! Bare GEMM, unfused and fused on one shape, two ways of timing on a shared machine:
//!
//! * default: each subject `CALLS` times in a row; prints wall GFLOP/s and GFLOP per CPU-second
//!   (flops per second of CPU time stay close to what the code does on an idle core when the
//!   wall clock drops with the load);
//! * `--interleave ROUNDS`: rounds of one call of each subject, the order rotating every round,
//!   and the ratios fused/bare and fused/unfused taken *within* each round. The host's throughput
//!   drifts over seconds to minutes (±30% seen here); within a round the three subjects see the
//!   same machine, so the per-round ratios cancel the drift that separate runs cannot.
//!
//! `cargo run --release -p lnl-cpu --example cpu_time -- ROWS HIDDEN OUT [CALLS | --interleave ROUNDS]`
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

type Subject<'a> = (&'static str, Box<dyn Fn(&mut [f32]) + 'a>);

/// The `q`-quantile (0..=1) of `v`, by nearest rank.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

fn sequential(subjects: &[Subject<'_>], y: &mut [f32], calls: usize, flops: f64, label: &str) {
    for (name, f) in subjects {
        f(y); // warm-up: scratch buffers, caches
        let (c0, t0) = (cpu_ns(), Instant::now());
        for _ in 0..calls {
            f(y);
        }
        let (cpu, wall) = ((cpu_ns() - c0) as f64 * 1e-9, t0.elapsed().as_secs_f64());
        let total = flops * calls as f64;
        println!(
            "{label} {name:>9}: {:8.3} ms/call wall, {:7.1} GFLOP/s wall, {:7.1} GFLOP per CPU-second ({:.2} CPUs busy)",
            wall / calls as f64 * 1e3,
            total / wall * 1e-9,
            total / cpu * 1e-9,
            cpu / wall
        );
    }
}

fn interleaved(subjects: &[Subject<'_>], y: &mut [f32], rounds: usize, flops: f64, label: &str) {
    let n = subjects.len();
    for (_, f) in subjects {
        f(y);
    }
    let mut ms = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for i in 0..n {
            let s = (round + i) % n; // rotate, so no subject always runs first or last
            let t0 = Instant::now();
            (subjects[s].1)(y);
            ms[s].push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    println!(
        "{label}, {rounds} interleaved rounds (median ms, GFLOP/s of the median, p10-p90 ms):"
    );
    for (s, (name, _)) in subjects.iter().enumerate() {
        let med = quantile(&ms[s], 0.5);
        println!(
            "  {name:>9}: {med:8.3} ms  {:7.1} GFLOP/s  [{:.3} - {:.3}]",
            flops / med * 1e-6,
            quantile(&ms[s], 0.1),
            quantile(&ms[s], 0.9)
        );
    }
    let fused = n - 1;
    for other in 0..fused {
        let r: Vec<f64> = ms[fused]
            .iter()
            .zip(&ms[other])
            .map(|(f, o)| f / o)
            .collect();
        let wins = r.iter().filter(|&&x| x < 1.0).count();
        println!(
            "  fused / {:<9} per round: median {:.3}, p10-p90 {:.3} - {:.3}; fused faster in {wins} of {rounds}",
            subjects[other].0,
            quantile(&r, 0.5),
            quantile(&r, 0.1),
            quantile(&r, 0.9)
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: cpu_time ROWS HIDDEN OUT [CALLS | --interleave ROUNDS]";
    let num = |i: usize| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(args.get(i).ok_or(usage)?.parse()?)
    };
    let (rows, h, o) = (num(0)?, num(1)?, num(2)?);
    let p = random_params(h, o, 1e-5, 42);
    let x = normal_vec(rows * h, 7);
    let mut y = vec![0.0f32; rows * o];
    let flops = 2.0 * (rows * h * o) as f64;
    let g = BareGemm::new(&p);
    let mut subjects: Vec<Subject<'_>> = vec![(
        "bare_gemm",
        Box::new(|y: &mut [f32]| g.run(&x, rows, y).unwrap()),
    )];
    // Fused last: the interleaved report compares it with every subject before it.
    for s in Strategy::ALL {
        let l = CpuProvider::default().build(&p, s)?;
        let x = &x;
        subjects.push((
            s.name(),
            Box::new(move |y: &mut [f32]| l.forward_into(x, rows, y).unwrap()),
        ));
    }
    let label = format!("{rows}x{h}x{o}");
    match args.get(3).map(String::as_str) {
        Some("--interleave") => interleaved(&subjects, &mut y, num(4)?, flops, &label),
        _ => sequential(&subjects, &mut y, num(3).unwrap_or(5), flops, &label),
    }
    Ok(())
}
