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
//! tiles and LNL_OPENCL_GEMV=kt,og,opt,r,u,kc,rr,per_cu,nv,pf[,xnt,xp,xb,xf,xdb[,xr[,xr2[,xf2]]]]
//! the GEMV's (tuning; without the last fields, or with xnt 0: the staged GEMV, gemv.cl, for both
//! strategies whatever the default; with them the fused strategy's register GEMV, gemv_xreg.cl,
//! in row blocks of xr rows, xr = r when left out, as when both kernels shared r; xr2 > xr adds
//! its wide variant for the rows past xr, row blocks of xr2 flushed every xf2 batches, xf2 = xf
//! when left out; xr2 0 or left out: none);
//! LNL_BENCH_SECONDS (default 1.0) is the timing budget per (shape, strategy);
//! LNL_OPENCL_DUMP=FILE writes the built program's binary (PTX on NVIDIA) there;
//! LNL_BENCH_PAIRS=N adds N interleaved (fused, unfused) pairs per shape after the main timing,
//! each side the median of a block of event runs and one b2b block, and reports the median
//! fused/unfused ratio of each measure and how many pairs fused won (a same-run A/B that can
//! tell a 0.5% effect from drift). Every line also reports each kernel's own event time
//! (statistics or LayerNorm pass, then the GEMM/GEMV), medians, and the kernels' names.

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
        [kt, og, opt, r, u, kc, rr, per_cu, nv, pf, ref x @ ..] if matches!(x.len(), 0 | 5..=8) => {
            // 15 fields (before xr existed): the register GEMV's rows per block were r; 16
            // (before the wide variant): none.
            let mut x = x.to_vec();
            match x.len() {
                0 => x.resize(7, 0),
                5 => x.extend([r, 0]),
                6 => x.push(0),
                _ => {}
            }
            if x.len() == 7 {
                x.push(if x[6] > 0 { x[3] } else { 0 }); // xf2 = xf
            }
            Some(GemvTiles {
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
                xnt: x[0],
                xp: x[1],
                xb: x[2],
                xf: x[3],
                xdb: x[4] != 0,
                xr: x[5],
                xr2: x[6],
                xf2: x[7],
            })
        }
        _ => {
            eprintln!(
                "ignoring LNL_OPENCL_GEMV={s:?}: want kt,og,opt,r,u,kc,rr,per_cu,nv,pf[,xnt,xp,xb,xf,xdb[,xr[,xr2[,xf2]]]]"
            );
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

/// Event timings of `runs` forwards, in seconds: (whole forward median, whole forward minimum,
/// first kernel median, last kernel median); the first kernel's is `None` when the forward is
/// one kernel.
fn time_events(
    layer: &OpenClLayer,
    xb: &ocl::Buffer<f32>,
    yb: &ocl::Buffer<f32>,
    rows: usize,
    runs: usize,
) -> lnl_core::Result<(f64, f64, Option<f64>, f64)> {
    let (mut dev, mut k1, mut k2) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let run = profiled(layer, xb, rows, yb)?;
        layer.finish()?;
        dev.push(run.elapsed_ns()? as f64 * 1e-9);
        let (a, b) = run.kernels_ns()?;
        if let Some(a) = a {
            k1.push(a as f64 * 1e-9);
        }
        k2.push(b as f64 * 1e-9);
    }
    let min = dev.iter().copied().fold(f64::INFINITY, f64::min);
    let first = (!k1.is_empty()).then(|| median(&mut k1));
    Ok((median(&mut dev), min, first, median(&mut k2)))
}

fn profiled(
    layer: &OpenClLayer,
    xb: &ocl::Buffer<f32>,
    rows: usize,
    yb: &ocl::Buffer<f32>,
) -> lnl_core::Result<lnl_opencl::ProfiledRun> {
    Ok(layer.enqueue_profiled(xb, rows, yb)?.expect("rows > 0"))
}

/// Back-to-back timing: `blocks` times 20 forwards enqueued without waiting, per forward, median.
fn time_b2b(
    layer: &OpenClLayer,
    xb: &ocl::Buffer<f32>,
    yb: &ocl::Buffer<f32>,
    rows: usize,
    blocks: usize,
) -> lnl_core::Result<f64> {
    let b2b_n = 20usize;
    let mut b2b = Vec::new();
    for _ in 0..blocks {
        let t = Instant::now();
        for _ in 0..b2b_n {
            layer.enqueue(xb, rows, yb)?;
        }
        layer.finish()?;
        b2b.push(t.elapsed().as_secs_f64() / b2b_n as f64);
    }
    Ok(median(&mut b2b))
}

type Timed = (
    Strategy,
    f64,
    f64,
    String,
    OpenClLayer,
    ocl::Buffer<f32>,
    ocl::Buffer<f32>,
    usize,
);

/// Interleaved fused/unfused pairs (Strategy::ALL is [Unfused, Fused]): per pair, each side's
/// event median over a block of a fifth of the main run count, and one b2b block; fused first
/// in even pairs, unfused first in odd ones, so that a drift does not favour one side.
fn pair_report(shape: &SuiteShape, timed: &[Timed], pairs: usize) -> lnl_core::Result<()> {
    let (u, f) = (&timed[0], &timed[1]);
    let block = (u.7 / 5).clamp(5, 100);
    let (mut ev, mut bb, mut ev_won, mut bb_won) = (Vec::new(), Vec::new(), 0, 0);
    let one = |t: &Timed| -> lnl_core::Result<(f64, f64)> {
        let e = time_events(&t.4, &t.5, &t.6, shape.rows, block)?.0;
        let b = time_b2b(&t.4, &t.5, &t.6, shape.rows, 3)?;
        Ok((e, b))
    };
    for p in 0..pairs {
        let (fu, un) = if p % 2 == 0 {
            let a = one(f)?;
            (a, one(u)?)
        } else {
            let b = one(u)?;
            (one(f)?, b)
        };
        ev.push(fu.0 / un.0);
        bb.push(fu.1 / un.1);
        ev_won += (fu.0 < un.0) as usize;
        bb_won += (fu.1 < un.1) as usize;
    }
    let list = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.4}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    eprintln!("  {} pairs event f/u: {}", shape.name, list(&ev));
    eprintln!("  {} pairs b2b f/u: {}", shape.name, list(&bb));
    let (me, mb) = (median(&mut ev), median(&mut bb));
    eprintln!(
        "PAIRS {} ({pairs} pairs, {block} event runs per side): fused/unfused median event {me:.4} (fused won {ev_won}/{pairs}), b2b {mb:.4} (fused won {bb_won}/{pairs})",
        shape.name
    );
    println!(
        "{{\"provider\":\"opencl\",\"shape\":{:?},\"pairs\":{pairs},\"event_ratio_median\":{me:.5},\"event_fused_won\":{ev_won},\"b2b_ratio_median\":{mb:.5},\"b2b_fused_won\":{bb_won}}}",
        shape.name
    );
    Ok(())
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
    let pairs: usize = std::env::var("LNL_BENCH_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
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
                // NVIDIA: the register GEMV's separate build, and its compiler report.
                if let Some((bin, log)) = layer.runtime().xreg_program() {
                    std::fs::write(format!("{path}.x"), bin)
                        .unwrap_or_else(|e| eprintln!("writing {path}.x: {e}"));
                    eprintln!("register GEMV build log:\n{log}");
                }
                // Its wide variant's (or why it was refused).
                if let Some((bin, log)) = layer.runtime().xreg_wide_program() {
                    if let Some(bin) = bin {
                        std::fs::write(format!("{path}.w"), bin)
                            .unwrap_or_else(|e| eprintln!("writing {path}.w: {e}"));
                    }
                    eprintln!("wide register GEMV build log:\n{log}");
                }
                dumped = true;
            }
            let xb = layer.upload(&x)?;
            // Poisoned output: an element the kernels fail to write stays NaN and fails the check.
            let yb = layer.upload(&vec![f32::NAN; shape.rows * shape.out])?;
            layer.forward_device(&xb, shape.rows, &yb)?;
            let mut y = vec![0.0; shape.rows * shape.out];
            layer.download(&yb, &mut y)?;
            let check = spot_check(&params, &x, &y, shape);
            // Which kernels run (the fused strategy's GEMV depends on rows, H and the build).
            let (k1_name, k2_name) = profiled(&layer, &xb, shape.rows, &yb)?.kernel_names();
            let kernels = format!(
                "{}{k2_name}",
                k1_name.map_or(String::new(), |n| n.to_owned() + "+")
            );

            // Warm-up, and a first estimate to size the number of runs.
            let t0 = Instant::now();
            for _ in 0..3 {
                layer.forward_device(&xb, shape.rows, &yb)?;
            }
            let est = t0.elapsed().as_secs_f64() / 3.0;
            let runs = ((budget / 2.0 / est) as usize).clamp(5, 500);

            let (med, min, k_first, k_last) = time_events(&layer, &xb, &yb, shape.rows, runs)?;
            let b2b_med = time_b2b(&layer, &xb, &yb, shape.rows, (runs / 20).clamp(3, 25))?;
            let cfg = layer.runtime().config();
            println!(
                "{{\"provider\":\"opencl\",\"device\":{:?},\"shape\":{:?},\"rows\":{},\"hidden\":{},\"out\":{},\"strategy\":\"{}\",\"median_s\":{:e},\"min_s\":{:e},\"b2b_s\":{:e},\"runs\":{},\"gflops\":{:.1},\"gbs\":{:.1},\"check\":{:?},\"kernels\":{:?},\"first_kernel_s\":{:e},\"last_kernel_s\":{:e},\"gemm_tiles\":\"{}x{}x{}/{}x{}\",\"gemv\":\"{:?}\"}}",
                layer.runtime().description(), shape.name, shape.rows, shape.hidden, shape.out,
                s, med, min, b2b_med, runs, shape.flops() / med * 1e-9,
                shape.min_bytes() / med * 1e-9, check, kernels, k_first.unwrap_or(0.0), k_last,
                cfg.gemm.bm, cfg.gemm.bn, cfg.gemm.bk, cfg.gemm.tm, cfg.gemm.tn, cfg.gemv
            );
            eprintln!(
                "  {} {s}: event {:.1} us (first kernel {}, last kernel {:.1}; {kernels}), b2b {:.1} us",
                shape.name,
                med * 1e6,
                k_first.map_or("none".into(), |v| format!("{:.1}", v * 1e6)),
                k_last * 1e6,
                b2b_med * 1e6
            );
            per_strategy.push((s, med, b2b_med, check, layer, xb, yb, runs));
        }
        if pairs > 0 {
            pair_report(shape, &per_strategy, pairs)?;
        }
        let per_strategy: Vec<_> = per_strategy
            .into_iter()
            .map(|(s, med, b2b, check, ..)| (s, med, b2b, check))
            .collect();
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
