//! Device-resident timings of the OpenCL provider over the shape suite, both strategies.
//!
//! Per (shape, strategy): warm-up, then many forwards, each timed by OpenCL profiling events
//! from the first kernel's start to the last kernel's end (median, min); plus "b2b": 20
//! forwards enqueued back to back, host clock around them and a clFinish, per forward (launch
//! gaps included). Before timing, rows 0 and rows-1 of the output are checked against the f64
//! reference and its derived bound. Prints one JSON object per line on stdout (for merging with
//! the other providers' numbers) and a table on stderr.
//!
//! Usage: opencl_bench [shape names or ROWSxHxO...] (default: the whole suite)
//! Env: LNL_OPENCL_DEVICE picks the device; LNL_OPENCL_TILES=bm,bn,bk,tm,tn overrides the GEMM
//! tiles and LNL_OPENCL_GEMV=kt,og,opt,r,u,kc,rr,per_cu,nv,pf the GEMV's (tuning);
//! LNL_BENCH_SECONDS (default 1.0) is the timing budget per (shape, strategy);
//! LNL_OPENCL_DUMP=FILE writes the built program's binary (PTX on NVIDIA) there.

use lnl_core::shapes::{SuiteShape, SUITE};
use lnl_core::testdata::{normal_vec, random_params};
use lnl_core::{tolerance, LayerParams, Strategy};
use lnl_opencl::{GemmTiles, GemvTiles, OpenClLayer};
use std::time::Instant;

fn tiles_override() -> Option<GemmTiles> {
    let s = std::env::var("LNL_OPENCL_TILES").ok()?;
    let v: Vec<usize> = s.split(',').filter_map(|t| t.trim().parse().ok()).collect();
    match v[..] {
        [bm, bn, bk, tm, tn] => Some(GemmTiles { bm, bn, bk, tm, tn }),
        _ => {
            eprintln!("ignoring LNL_OPENCL_TILES={s:?}: want bm,bn,bk,tm,tn");
            None
        }
    }
}

fn gemv_override() -> Option<GemvTiles> {
    let s = std::env::var("LNL_OPENCL_GEMV").ok()?;
    let v: Vec<usize> = s.split(',').filter_map(|t| t.trim().parse().ok()).collect();
    match v[..] {
        [kt, og, opt, r, u, kc, rr, per_cu, nv, pf] => Some(GemvTiles {
            kt,
            og,
            opt,
            r,
            u,
            kc,
            rr,
            per_cu,
            nv: nv != 0,
            pf,
        }),
        _ => {
            eprintln!("ignoring LNL_OPENCL_GEMV={s:?}: want kt,og,opt,r,u,kc,rr,per_cu,nv,pf");
            None
        }
    }
}

fn build(params: &LayerParams, s: Strategy) -> lnl_core::Result<OpenClLayer> {
    let layer = OpenClLayer::new(params, s)?;
    let (gemm, gemv) = (tiles_override(), gemv_override());
    if gemm.is_none() && gemv.is_none() {
        return Ok(layer);
    }
    let mut cfg = *layer.runtime().config();
    cfg.gemm = gemm.unwrap_or(cfg.gemm);
    if let Some(v) = gemv {
        cfg.gemv = v;
        cfg.gemv_max_rows = 2 * v.r;
    }
    OpenClLayer::with_config(params, s, cfg)
}

/// Checks the first and last output rows against the f64 reference (a full check of the large
/// shapes would take minutes on the host).
fn spot_check(params: &LayerParams, x: &[f32], y: &[f32], shape: &SuiteShape) -> String {
    let (h, o) = (shape.hidden, shape.out);
    let mut worst = 0.0f64;
    for r in [0, shape.rows - 1] {
        let exp = tolerance::expected(params, &x[r * h..(r + 1) * h], 1).unwrap();
        let rep = tolerance::check(&exp, &y[r * o..(r + 1) * o]);
        if !rep.passed() {
            return format!("FAIL row {r}: {rep}");
        }
        worst = worst.max(rep.max_ratio);
    }
    format!("ok (max diff/bound {worst:.3})")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> lnl_core::Result<()> {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let budget: f64 = std::env::var("LNL_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let mut shapes: Vec<SuiteShape> = SUITE
        .iter()
        .copied()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name))
        .collect();
    // Shapes off the suite, "ROWSxHxO" (e.g. to separate fixed costs from streaming rates).
    for n in &names {
        let v: Vec<usize> = n.split('x').filter_map(|t| t.parse().ok()).collect();
        if let [rows, hidden, out] = v[..] {
            let name: &'static str = Box::leak(n.clone().into_boxed_str());
            shapes.push(SuiteShape {
                name,
                rows,
                hidden,
                out,
            });
        }
    }
    let mut table = Vec::new();
    let mut dumped = false;
    for shape in &shapes {
        let params = random_params(shape.hidden, shape.out, 1e-5, 1);
        let x = normal_vec(shape.rows * shape.hidden, 2);
        let mut per_strategy = Vec::new();
        for s in Strategy::ALL {
            let layer = build(&params, s)?;
            if let (false, Ok(path)) = (dumped, std::env::var("LNL_OPENCL_DUMP")) {
                // The device compiler's output (PTX on NVIDIA), for register and spill reports.
                std::fs::write(&path, layer.runtime().program_binary()?)
                    .unwrap_or_else(|e| eprintln!("writing {path}: {e}"));
                dumped = true;
            }
            let xb = layer.upload(&x)?;
            // Poisoned output: an element the kernels fail to write stays NaN and fails the check.
            let yb = layer.upload(&vec![f32::NAN; shape.rows * shape.out])?;
            layer.forward_device(&xb, shape.rows, &yb)?;
            let mut y = vec![0.0; shape.rows * shape.out];
            layer.download(&yb, &mut y)?;
            let check = spot_check(&params, &x, &y, shape);

            // Warm-up, and a first estimate to size the number of runs.
            let t0 = Instant::now();
            for _ in 0..3 {
                layer.forward_device(&xb, shape.rows, &yb)?;
            }
            let est = t0.elapsed().as_secs_f64() / 3.0;
            let runs = ((budget / 2.0 / est) as usize).clamp(5, 500);

            let mut dev = Vec::with_capacity(runs);
            for _ in 0..runs {
                let run = layer
                    .enqueue_profiled(&xb, shape.rows, &yb)?
                    .expect("rows > 0");
                layer.finish()?;
                dev.push(run.elapsed_ns()? as f64 * 1e-9);
            }
            let min = dev.iter().copied().fold(f64::INFINITY, f64::min);
            let med = median(&mut dev);

            let b2b_n = 20usize;
            let mut b2b = Vec::new();
            for _ in 0..(runs / b2b_n).clamp(3, 25) {
                let t = Instant::now();
                for _ in 0..b2b_n {
                    layer.enqueue(&xb, shape.rows, &yb)?;
                }
                layer.finish()?;
                b2b.push(t.elapsed().as_secs_f64() / b2b_n as f64);
            }
            let b2b_med = median(&mut b2b);
            let cfg = layer.runtime().config();
            println!(
                "{{\"provider\":\"opencl\",\"device\":{:?},\"shape\":{:?},\"rows\":{},\"hidden\":{},\"out\":{},\"strategy\":\"{}\",\"median_s\":{:e},\"min_s\":{:e},\"b2b_s\":{:e},\"runs\":{},\"gflops\":{:.1},\"gbs\":{:.1},\"check\":{:?},\"gemm_tiles\":\"{}x{}x{}/{}x{}\",\"gemv\":\"{:?}\"}}",
                layer.runtime().description(), shape.name, shape.rows, shape.hidden, shape.out,
                s, med, min, b2b_med, runs, shape.flops() / med * 1e-9,
                shape.min_bytes() / med * 1e-9, check,
                cfg.gemm.bm, cfg.gemm.bn, cfg.gemm.bk, cfg.gemm.tm, cfg.gemm.tn, cfg.gemv
            );
            per_strategy.push((s, med, b2b_med, check));
        }
        table.push((shape, per_strategy));
    }
    eprintln!(
        "\n| shape | rows x H -> O | unfused us (event / b2b) | fused us (event / b2b) | fused GFLOP/s | fused GB/s | fused/unfused | check |"
    );
    eprintln!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (shape, r) in table {
        let (u, f) = (&r[0], &r[1]);
        eprintln!(
            "| {} | {} x {} -> {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.0} | {:.0} | {:.3} | {} / {} |",
            shape.name, shape.rows, shape.hidden, shape.out,
            u.1 * 1e6, u.2 * 1e6, f.1 * 1e6, f.2 * 1e6,
            shape.flops() / f.1 * 1e-9, shape.min_bytes() / f.1 * 1e-9, f.1 / u.1, u.3, f.3
        );
    }
    Ok(())
}
