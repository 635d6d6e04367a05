//! Times the CUDA provider, device-resident, with CUDA events: unfused and fused on the shape
//! suite, per call (events around one call, synchronised each time) and in CUDA-graph replay
//! (20 calls captured, replayed; per call). Median of many runs. Prints a table, and JSON
//! with `--json PATH`. `--dump-source PATH` writes the NVRTC module source (for nvcc's resource
//! report on a machine that has nvcc).
//!
//!     cargo run --release -p lnl-cuda --example cuda_bench -- [--shapes decode1,seed] [--json out.json]

use std::time::Instant;

use cudarc::driver::sys::{CUevent_flags, CUgraphInstantiate_flags, CUstreamCaptureMode};
use cudarc::driver::CudaSlice;
use lnl_core::shapes::{SuiteShape, SUITE};
use lnl_core::testdata::{normal_vec, random_params};
use lnl_core::{Provider, Result, Strategy};
use lnl_cuda::{CudaLayer, CudaProvider};

const GRAPH_CALLS: usize = 20;

struct Timing {
    per_call_us: f64,
    graph_us: f64,
    per_call_runs: usize,
    graph_runs: usize,
    launches: Vec<String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn err(e: cudarc::driver::DriverError) -> lnl_core::Error {
    lnl_core::Error::Device {
        provider: "cuda".into(),
        device: "bench".into(),
        message: e.to_string(),
    }
}

/// Runs enough repetitions for about `budget_s` seconds (at least `min`, at most `max`).
fn reps_for(one_s: f64, budget_s: f64, min: usize, max: usize) -> usize {
    ((budget_s / one_s.max(1e-7)) as usize).clamp(min, max)
}

/// `--quick`: a handful of runs only (for profilers, which replay every launch).
fn quick() -> bool {
    std::env::args().any(|a| a == "--quick")
}

fn time_layer(
    layer: &CudaLayer,
    x: &CudaSlice<f32>,
    rows: usize,
    y: &mut CudaSlice<f32>,
) -> Result<Timing> {
    let stream = layer.stream().clone();
    let ctx = layer.context().clone();
    layer.prepare(rows)?;
    let ev = || {
        ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(err)
    };
    let (e0, e1) = (ev()?, ev()?);
    // Warm-up (module already loaded at build; this warms clocks, caches, TLBs).
    let t = Instant::now();
    let warm = if quick() { 1 } else { 5 };
    for _ in 0..warm {
        layer.forward_device(x, rows, y)?;
    }
    layer.sync()?;
    let one = t.elapsed().as_secs_f64() / warm as f64;

    let n = if quick() {
        3
    } else {
        reps_for(one, 0.6, 15, 2000)
    };
    let mut per_call = Vec::with_capacity(n);
    for _ in 0..n {
        e0.record(&stream).map_err(err)?;
        layer.forward_device(x, rows, y)?;
        e1.record(&stream).map_err(err)?;
        e1.synchronize().map_err(err)?;
        per_call.push(e0.elapsed_ms(&e1).map_err(err)? as f64 * 1e3);
    }

    stream
        .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
        .map_err(err)?;
    let mut captured = Ok(());
    for _ in 0..GRAPH_CALLS {
        captured = captured.and_then(|_| layer.forward_device(x, rows, y));
    }
    let graph = stream
        .end_capture(CUgraphInstantiate_flags(0))
        .map_err(err)?;
    captured?;
    let graph = graph.expect("captured work");
    graph.upload().map_err(err)?;
    for _ in 0..3 {
        graph.launch().map_err(err)?;
    }
    layer.sync()?;
    let m = if quick() {
        2
    } else {
        reps_for(one * GRAPH_CALLS as f64, 0.6, 10, 500)
    };
    let mut replays = Vec::with_capacity(m);
    for _ in 0..m {
        e0.record(&stream).map_err(err)?;
        graph.launch().map_err(err)?;
        e1.record(&stream).map_err(err)?;
        e1.synchronize().map_err(err)?;
        replays.push(e0.elapsed_ms(&e1).map_err(err)? as f64 * 1e3 / GRAPH_CALLS as f64);
    }
    Ok(Timing {
        per_call_us: median(per_call),
        graph_us: median(replays),
        per_call_runs: n,
        graph_runs: m,
        launches: layer.launches(rows),
    })
}

fn bench_shape(p: &CudaProvider, s: &SuiteShape) -> Result<serde_json::Value> {
    let params = random_params(s.hidden, s.out, 1e-5, 42);
    let mut out = serde_json::Map::new();
    let mut results: Vec<Vec<f32>> = Vec::new();
    for strategy in Strategy::ALL {
        let layer = p.build_layer(&params, strategy)?;
        let x = layer.upload(&normal_vec(s.rows * s.hidden, 43))?;
        let mut y = layer.alloc_zeros(s.rows * s.out)?;
        let t = time_layer(&layer, &x, s.rows, &mut y)?;
        let mut host = vec![0.0; s.rows * s.out];
        layer.download(&y, &mut host)?;
        results.push(host);
        out.insert(
            strategy.name().into(),
            serde_json::json!({
                "per_call_us": t.per_call_us,
                "graph_us": t.graph_us,
                "per_call_runs": t.per_call_runs,
                "graph_runs": t.graph_runs,
                "launches": t.launches,
            }),
        );
    }
    // Sanity (the tests check against the f64 reference): both strategies agree closely.
    let max_rel = results[0]
        .iter()
        .zip(&results[1])
        .map(|(a, b)| ((a - b).abs() / (a.abs() + b.abs()).max(1e-3)) as f64)
        .fold(0.0f64, f64::max);
    out.insert("max_rel_diff_unfused_vs_fused".into(), max_rel.into());
    out.insert("name".into(), s.name.into());
    out.insert("rows".into(), s.rows.into());
    out.insert("hidden".into(), s.hidden.into());
    out.insert("out".into(), s.out.into());
    Ok(serde_json::Value::Object(out))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(path) = arg("--dump-source") {
        std::fs::write(&path, lnl_cuda::kernels::module_source()).expect("write source");
        eprintln!("wrote {path}");
        return;
    }
    let p = CudaProvider::default();
    let desc = match p.probe() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("CUDA unavailable: {e}");
            std::process::exit(2);
        }
    };
    let filter: Option<Vec<String>> =
        arg("--shapes").map(|s| s.split(',').map(String::from).collect());
    let shapes: Vec<&SuiteShape> = SUITE
        .iter()
        .filter(|s| {
            filter
                .as_ref()
                .is_none_or(|f| f.iter().any(|n| n == s.name))
        })
        .collect();
    println!("device: {desc}");
    println!(
        "{:<10} {:>6} {:>5} {:>6} | {:>12} {:>12} | {:>12} {:>12} | {:>9}  launches (fused)",
        "shape",
        "rows",
        "H",
        "O",
        "unfused call",
        "unfused grph",
        "fused call",
        "fused graph",
        "GFLOP/s"
    );
    let mut all = Vec::new();
    for s in shapes {
        match bench_shape(&p, s) {
            Ok(v) => {
                let g = |st: &str, k: &str| v[st][k].as_f64().unwrap_or(f64::NAN);
                println!(
                    "{:<10} {:>6} {:>5} {:>6} | {:>10.2}us {:>10.2}us | {:>10.2}us {:>10.2}us | {:>9.0}  {}",
                    s.name,
                    s.rows,
                    s.hidden,
                    s.out,
                    g("unfused", "per_call_us"),
                    g("unfused", "graph_us"),
                    g("fused", "per_call_us"),
                    g("fused", "graph_us"),
                    s.flops() / g("fused", "graph_us") / 1e3,
                    v["fused"]["launches"]
                );
                all.push(v);
            }
            Err(e) => {
                println!("{:<10} failed: {e}", s.name);
                std::process::exit(1);
            }
        }
    }
    if let Some(path) = arg("--json") {
        let doc = serde_json::json!({ "device": desc, "shapes": all });
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).expect("write json");
    }
}
