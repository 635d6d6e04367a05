//! Criterion benches of the cpu provider over the shape suite: bare GEMM (same packed `W`,
//! driver and microkernel, no LayerNorm), unfused and fused; plus the decode/GEMM switch-point
//! sweep. Throughput is reported in elements = flops (`2 * rows * hidden * out`), so criterion's
//! "Gelem/s" reads as GFLOP/s.
//!
//! `cargo bench -p lnl-cpu --bench cpu_suite [-- FILTER]`
//! Env: `LNL_BENCH_QUICK=1` (10 samples, short windows), `LNL_BENCH_FFN=1` (include ffn8192,
//! about 5 s a call on 2 cores: skipped by default), `RAYON_NUM_THREADS`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lnl_core::shapes::{SuiteShape, SUITE};
use lnl_core::testdata::{normal_vec, random_params};
use lnl_core::{Provider, Strategy};
use lnl_cpu::{BareGemm, CpuProvider, Plan};
use std::hint::black_box;
use std::time::Duration;

fn quick() -> bool {
    std::env::var("LNL_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn shapes() -> Vec<SuiteShape> {
    let mut v: Vec<SuiteShape> = SUITE
        .iter()
        .copied()
        .filter(|s| s.name != "ffn8192" || std::env::var("LNL_BENCH_FFN").is_ok_and(|v| v == "1"))
        .collect();
    // The second throughput target: rows 512 at H = 1024, O = 4096.
    v.insert(
        4,
        SuiteShape {
            name: "mid512_h1024",
            rows: 512,
            hidden: 1024,
            out: 4096,
        },
    );
    v
}

fn configure(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    s: &SuiteShape,
) {
    let big = s.flops() > 1e10;
    if quick() || big {
        c.sample_size(10);
    }
    let (warm, meas) = if quick() { (0.3, 1.0) } else { (1.0, 4.0) };
    c.warm_up_time(Duration::from_secs_f64(warm));
    c.measurement_time(Duration::from_secs_f64(if big { meas * 2.0 } else { meas }));
    c.throughput(Throughput::Elements(s.flops() as u64));
}

fn suite(c: &mut Criterion) {
    let provider = CpuProvider::default();
    for s in shapes() {
        let params = random_params(s.hidden, s.out, 1e-5, 42);
        let x = normal_vec(s.rows * s.hidden, 7);
        let mut y = vec![0.0f32; s.rows * s.out];
        let mut g = c.benchmark_group(s.name);
        configure(&mut g, &s);
        let gemm = BareGemm::new(&params);
        g.bench_function("bare_gemm", |b| {
            b.iter(|| gemm.run(black_box(&x), s.rows, black_box(&mut y)).unwrap())
        });
        drop(gemm);
        for strategy in Strategy::ALL {
            let layer = provider.build(&params, strategy).unwrap();
            g.bench_function(strategy.name(), |b| {
                b.iter(|| {
                    layer
                        .forward_into(black_box(&x), s.rows, black_box(&mut y))
                        .unwrap()
                })
            });
        }
        g.finish();
    }
}

/// Bare GEMM at H = O = 4096 under both partitions: where decode stops winning.
fn switch_point(c: &mut Criterion) {
    let (h, o) = (4096, 4096);
    let params = random_params(h, o, 1e-5, 42);
    let gemm = BareGemm::new(&params);
    let mut g = c.benchmark_group("switch");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    for rows in [4, 8, 16, 32, 48, 64, 96, 128] {
        let x = normal_vec(rows * h, 7);
        let mut y = vec![0.0f32; rows * o];
        g.throughput(Throughput::Elements((2 * rows * h * o) as u64));
        for plan in [Plan::Decode, Plan::Gemm] {
            g.bench_with_input(
                BenchmarkId::new(format!("{plan:?}"), rows),
                &rows,
                |b, &rows| {
                    b.iter(|| {
                        gemm.run_with_plan(plan, black_box(&x), rows, black_box(&mut y))
                            .unwrap()
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, suite, switch_point);
criterion_main!(benches);
