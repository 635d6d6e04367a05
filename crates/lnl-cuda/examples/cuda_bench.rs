//! Times the CUDA provider, device-resident, with CUDA events: unfused and fused on the shape
//! suite, per call (events around one call, synchronised each time) and in CUDA-graph replay
//! (20 calls captured, replayed; per call). Median of many runs. Prints a table, and JSON
//! with `--json PATH`. Consecutive calls use different layers (weight sets that together are at
//! least four times the L2 cache), so every call reads its weights from HBM as in a model;
//! `graph_same_weights_us` is the graph replay with one layer, where W stays partly in L2. `--dump-source PATH` writes the NVRTC module source (for nvcc's resource
//! report on a machine that has nvcc).
//!
//!
//! `LNL_BENCH_PAIRS=N` adds N interleaved (fused, unfused) per-call pairs per shape after the
//! main timing (fused first in even pairs, unfused first in odd ones): the main timing runs one
//! strategy after the other, and on the long GEMM shapes the H100's clock drifts down while it
//! runs, which favours whichever strategy went first. Prints a PAIRS line per shape and adds
//! `pairs` to the JSON.
//!
//!     cargo run --release -p lnl-cuda --example cuda_bench -- [--shapes decode1,seed,4x4096x4096] [--json out.json]

use std::time::Instant;

use cudarc::driver::sys::{
    CUdevice_attribute, CUevent_flags, CUgraphInstantiate_flags, CUstreamCaptureMode,
};
use cudarc::driver::CudaSlice;
use lnl_core::shapes::{SuiteShape, SUITE};
use lnl_core::testdata::{normal_vec, random_params};
use lnl_core::{Provider, Result, Strategy};
use lnl_cuda::{CudaLayer, CudaProvider};

const GRAPH_CALLS: usize = 20;

struct Timing {
    per_call_us: f64,
    graph_us: f64,
    graph_same_weights_us: f64,
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

/// Layers sharing one shape, used in turn, so that each call finds its weights evicted from L2 by
/// the calls between (as in a model, where the other layers' weights pass through L2 before this
/// one runs again). With one layer, `W` (64 MiB at decode, L2 50 MiB on an H100) is partly
/// L2-resident across back-to-back calls and a decode call reads less than all of `W` from HBM.
struct Rotation<'a> {
    layers: &'a [CudaLayer],
}

impl Rotation<'_> {
    /// Queues call `i` (on layer `i mod K`'s stream, after call `i - 1` on the previous stream:
    /// in graph capture this makes one chain across the streams).
    fn call(
        &self,
        i: usize,
        x: &CudaSlice<f32>,
        rows: usize,
        y: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let k = self.layers.len();
        let (cur, prev) = (&self.layers[i % k], &self.layers[(i + k - 1) % k]);
        // Call 0 follows nothing in this sequence (and in graph capture a wait on a stream
        // outside the capture would invalidate it).
        if k > 1 && i > 0 {
            cur.stream().join(prev.stream()).map_err(err)?;
        }
        cur.forward_device(x, rows, y)
    }
    /// The stream call `i` runs on.
    fn stream(&self, i: usize) -> &std::sync::Arc<cudarc::driver::CudaStream> {
        self.layers[i % self.layers.len()].stream()
    }
}

/// Median per-call time of `calls` captured calls (starting at call 0), replayed.
fn graph_time(
    rot: &Rotation<'_>,
    x: &CudaSlice<f32>,
    rows: usize,
    y: &mut CudaSlice<f32>,
    one: f64,
) -> Result<(f64, usize)> {
    let ctx = rot.layers[0].context().clone();
    let ev = || {
        ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(err)
    };
    let (e0, e1) = (ev()?, ev()?);
    let origin = rot.stream(0).clone();
    // Capture starts on call 0's stream; the last call's stream joins it again before the end.
    origin
        .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
        .map_err(err)?;
    let mut captured = Ok(());
    for i in 0..GRAPH_CALLS {
        captured = captured.and_then(|_| rot.call(i, x, rows, y));
    }
    if rot.layers.len() > 1 {
        captured = captured.and_then(|_| origin.join(rot.stream(GRAPH_CALLS - 1)).map_err(err));
    }
    let graph = origin
        .end_capture(CUgraphInstantiate_flags(0))
        .map_err(err)?;
    captured?;
    let graph = graph.expect("captured work");
    graph.upload().map_err(err)?;
    for _ in 0..3 {
        graph.launch().map_err(err)?;
    }
    origin.synchronize().map_err(err)?;
    let m = if quick() {
        2
    } else {
        reps_for(one * GRAPH_CALLS as f64, 0.6, 10, 500)
    };
    let mut replays = Vec::with_capacity(m);
    for _ in 0..m {
        e0.record(&origin).map_err(err)?;
        graph.launch().map_err(err)?;
        e1.record(&origin).map_err(err)?;
        e1.synchronize().map_err(err)?;
        replays.push(e0.elapsed_ms(&e1).map_err(err)? as f64 * 1e3 / GRAPH_CALLS as f64);
    }
    Ok((median(replays), m))
}

/// Median of `n` calls, each timed alone with events (synchronised after each).
fn per_call_median(
    rot: &Rotation<'_>,
    x: &CudaSlice<f32>,
    rows: usize,
    y: &mut CudaSlice<f32>,
    n: usize,
    e0: &cudarc::driver::CudaEvent,
    e1: &cudarc::driver::CudaEvent,
) -> Result<f64> {
    let mut per_call = Vec::with_capacity(n);
    for i in 0..n {
        let s = rot.stream(i);
        e0.record(s).map_err(err)?;
        rot.call(i, x, rows, y)?;
        e1.record(s).map_err(err)?;
        e1.synchronize().map_err(err)?;
        per_call.push(e0.elapsed_ms(e1).map_err(err)? as f64 * 1e3);
    }
    Ok(median(per_call))
}

/// Interleaved pairs of per-call medians (blocks of a fifth of the main run count): fused over
/// unfused per pair, fused first in even pairs. Returns the JSON summary.
fn pair_report(
    name: &str,
    sets: &[Vec<CudaLayer>],
    x: &CudaSlice<f32>,
    rows: usize,
    y: &mut CudaSlice<f32>,
    main_runs: usize,
    pairs: usize,
) -> Result<serde_json::Value> {
    let ctx = sets[0][0].context().clone();
    let ev = || {
        ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(err)
    };
    let (e0, e1) = (ev()?, ev()?);
    let block = (main_runs / 5).clamp(5, 400);
    let (un, fu) = (Rotation { layers: &sets[0] }, Rotation { layers: &sets[1] });
    let (mut ratios, mut won) = (Vec::with_capacity(pairs), 0);
    for p in 0..pairs {
        let mut time = |rot: &Rotation<'_>| per_call_median(rot, x, rows, y, block, &e0, &e1);
        let (f, u) = if p % 2 == 0 {
            let f = time(&fu)?;
            (f, time(&un)?)
        } else {
            let u = time(&un)?;
            (time(&fu)?, u)
        };
        ratios.push(f / u);
        won += (f < u) as usize;
    }
    let list: Vec<String> = ratios.iter().map(|r| format!("{r:.4}")).collect();
    let med = median(ratios.clone());
    eprintln!(
        "PAIRS {name} ({pairs} pairs, {block} calls per side): fused/unfused per call, median {med:.4}, fused won {won}/{pairs}: {}",
        list.join(" ")
    );
    Ok(serde_json::json!({
        "pairs": pairs,
        "calls_per_side": block,
        "fused_over_unfused_median": med,
        "fused_won": won,
        "ratios": ratios,
    }))
}

fn time_layers(
    layers: &[CudaLayer],
    x: &CudaSlice<f32>,
    rows: usize,
    y: &mut CudaSlice<f32>,
) -> Result<Timing> {
    let rot = Rotation { layers };
    let ctx = layers[0].context().clone();
    for l in layers {
        l.prepare(rows)?;
    }
    let ev = || {
        ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(err)
    };
    let (e0, e1) = (ev()?, ev()?);
    // Warm-up (module already loaded at build; this warms clocks, caches, TLBs).
    let t = Instant::now();
    let warm = if quick() { 1 } else { 5 }.max(layers.len());
    for i in 0..warm {
        rot.call(i, x, rows, y)?;
    }
    for l in layers {
        l.sync()?;
    }
    let one = t.elapsed().as_secs_f64() / warm as f64;

    let n = if quick() {
        3
    } else {
        reps_for(one, 0.6, 15, 2000)
    };
    let per_call_us = per_call_median(&rot, x, rows, y, n, &e0, &e1)?;
    let (graph_us, m) = graph_time(&rot, x, rows, y, one)?;
    let (graph_same_weights_us, _) = graph_time(
        &Rotation {
            layers: &layers[..1],
        },
        x,
        rows,
        y,
        one,
    )?;
    Ok(Timing {
        per_call_us,
        graph_us,
        graph_same_weights_us,
        per_call_runs: n,
        graph_runs: m,
        launches: layers[0].launches(rows),
    })
}

/// Layers in the rotation: enough that their weights together are at least four times the L2
/// cache (at most `GRAPH_CALLS`). Twice was not enough: the GEMV's L2 prefetch of the start of
/// each W row (normal priority) survived the other layer's evict-first stream, so 2 layers of
/// 64 MiB on the H100 read part of W from L2 (decode1 22.2 us against 25.1 with 4 layers;
/// docs/PERF.md, session 11).
fn rotation_len(l2_bytes: usize, weight_bytes: usize) -> usize {
    (4 * l2_bytes)
        .div_ceil(weight_bytes.max(1))
        .clamp(1, GRAPH_CALLS)
}

fn bench_shape(p: &CudaProvider, s: &SuiteShape, l2_bytes: usize) -> Result<serde_json::Value> {
    let k = rotation_len(l2_bytes, 4 * s.hidden * s.out);
    let mut out = serde_json::Map::new();
    let mut results: Vec<Vec<f32>> = Vec::new();
    let pairs: usize = std::env::var("LNL_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // Both strategies' layers stay alive for the interleaved pairs.
    let sets = Strategy::ALL
        .iter()
        .map(|&strategy| {
            (0..k)
                .map(|i| {
                    p.build_layer(
                        &random_params(s.hidden, s.out, 1e-5, 42 + i as u64),
                        strategy,
                    )
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let x = sets[0][0].upload(&normal_vec(s.rows * s.hidden, 43))?;
    let mut y = sets[0][0].alloc_zeros(s.rows * s.out)?;
    let mut main_runs = 0;
    for (strategy, layers) in Strategy::ALL.iter().zip(&sets) {
        let t = time_layers(layers, &x, s.rows, &mut y)?;
        main_runs = t.per_call_runs;
        // The last call ran on the last layer of the rotation: recompute with layer 0 to compare.
        layers[0].forward_device(&x, s.rows, &mut y)?;
        let mut host = vec![0.0; s.rows * s.out];
        layers[0].download(&y, &mut host)?;
        results.push(host);
        out.insert(
            strategy.name().into(),
            serde_json::json!({
                "per_call_us": t.per_call_us,
                "graph_us": t.graph_us,
                "graph_same_weights_us": t.graph_same_weights_us,
                "weight_sets": k,
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
    if pairs > 0 {
        let v = pair_report(s.name, &sets, &x, s.rows, &mut y, main_runs, pairs)?;
        out.insert("pairs".into(), v);
    }
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
    let mut shapes: Vec<SuiteShape> = SUITE
        .iter()
        .filter(|s| {
            filter
                .as_ref()
                .is_none_or(|f| f.iter().any(|n| n == s.name))
        })
        .copied()
        .collect();
    // Names outside the suite may be ROWSxHxO (e.g. 4x4096x4096), after the suite's shapes.
    for n in filter.iter().flatten() {
        if SUITE.iter().any(|s| s.name == n) {
            continue;
        }
        match n
            .split('x')
            .map(str::parse)
            .collect::<Result<Vec<usize>, _>>()
        {
            Ok(v) if v.len() == 3 && v.iter().all(|&d| d > 0) => shapes.push(SuiteShape {
                // One short string per custom shape for the life of this benchmark process.
                name: Box::leak(n.clone().into_boxed_str()),
                rows: v[0],
                hidden: v[1],
                out: v[2],
            }),
            _ => {
                eprintln!("--shapes: {n:?} is neither a suite shape nor ROWSxHxO");
                std::process::exit(2);
            }
        }
    }
    let l2_bytes = cudarc::driver::CudaContext::new(0)
        .and_then(|c| c.attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE))
        .map_or(0, |v| v.max(0) as usize);
    println!(
        "device: {desc}; L2 {} MiB: weights rotate over sets of at least 2x L2",
        l2_bytes >> 20
    );
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
    for s in &shapes {
        match bench_shape(&p, s, l2_bytes) {
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
