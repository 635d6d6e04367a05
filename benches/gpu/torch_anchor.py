#!/usr/bin/env python3
"""PyTorch anchors for the CUDA provider, timed the way cuda_bench times ours.

F.layer_norm + F.linear (eager), bare F.linear, and F.layer_norm alone, f32 with TF32 off,
per call (CUDA events around one call, synchronised each time) and as CUDA-graph replays (20 calls
captured, replayed; per call). Median of many runs. Consecutive calls use different weight sets
(together at least four times the L2 cache), as cuda_bench does, so every call reads its weights from
HBM; `graph_same_weights_us` is the graph replay with one weight set. Also the ceilings of the machine, measured in
the same run: read bandwidth (sum over 2 GiB), device-to-device copy (bytes read + written), and
fp32 SGEMM 8192^3 (cuBLAS, no TF32).

    python3 benches/gpu/torch_anchor.py --json torch.json [--shapes seed,decode1]
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F

# Mirrors lnl_core::shapes::SUITE (name, rows, hidden, out).
SUITE = [
    ("seed", 16, 8, 16),
    ("decode1", 1, 4096, 4096),
    ("decode8", 8, 4096, 4096),
    ("mid512", 512, 4096, 4096),
    ("large4096", 4096, 4096, 4096),
    ("ffn8192", 8192, 4096, 11008),
]
GRAPH_CALLS = 20


def reps_for(one_s, budget_s, lo, hi):
    return int(max(lo, min(hi, budget_s / max(one_s, 1e-7))))


def graph_time(fns, one):
    """Median per-call time of GRAPH_CALLS calls (call i runs fns[i % len(fns)]), replayed."""
    s = torch.cuda.current_stream()
    g = torch.cuda.CUDAGraph()
    side = torch.cuda.Stream()
    side.wait_stream(s)
    with torch.cuda.stream(side):
        for i in range(3):
            fns[i % len(fns)]()
    s.wait_stream(side)
    with torch.cuda.graph(g):
        for i in range(GRAPH_CALLS):
            fns[i % len(fns)]()
    for _ in range(3):
        g.replay()
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    m = reps_for(one * GRAPH_CALLS, 0.6, 10, 500)
    replays = []
    for _ in range(m):
        e0.record()
        g.replay()
        e1.record()
        e1.synchronize()
        replays.append(e0.elapsed_time(e1) * 1e3 / GRAPH_CALLS)
    return statistics.median(replays), m


def time_fns(fns):
    """Per-call median us, graph-replay median us per call (both rotating over fns), graph with
    fns[0] alone, runs, replays."""
    for i in range(max(5, len(fns))):
        fns[i % len(fns)]()
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    e0.record()
    fns[0]()
    e1.record()
    e1.synchronize()
    one = e0.elapsed_time(e1) / 1e3
    n = reps_for(one, 0.6, 15, 2000)
    per_call = []
    for i in range(n):
        e0.record()
        fns[i % len(fns)]()
        e1.record()
        e1.synchronize()
        per_call.append(e0.elapsed_time(e1) * 1e3)
    graph, m = graph_time(fns, one)
    same, _ = graph_time(fns[:1], one)
    return statistics.median(per_call), graph, same, n, m


def ceilings():
    torch.cuda.synchronize()
    big = torch.randn(512 * 1024 * 1024, device="cuda")  # 2 GiB
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def med(fn, reps=10):
        fn()
        torch.cuda.synchronize()
        ts = []
        for _ in range(reps):
            e0.record()
            fn()
            e1.record()
            e1.synchronize()
            ts.append(e0.elapsed_time(e1) / 1e3)
        return statistics.median(ts)

    t_read = med(lambda: big.sum())
    half = big[: 256 * 1024 * 1024]
    dst = torch.empty_like(half)
    t_copy = med(lambda: dst.copy_(half))
    del big, dst, half
    a = torch.randn(8192, 8192, device="cuda")
    b = torch.randn(8192, 8192, device="cuda")
    t_mm = med(lambda: torch.mm(a, b), reps=5)
    return {
        "read_bw_TBps": 2 * 1024**3 / t_read / 1e12,
        "copy_bw_TBps": 2 * 1024**3 / t_copy / 1e12,
        "sgemm_8192_TFLOPs": 2 * 8192**3 / t_mm / 1e12,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--shapes")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    want = set(args.shapes.split(",")) if args.shapes else None
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "shapes": []}
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 50 * 1024 * 1024)
    out["l2_bytes"] = l2
    out["ceilings"] = ceilings()
    print("ceilings:", out["ceilings"], flush=True)
    for name, rows, h, o in SUITE:
        if want and name not in want:
            continue
        g = torch.Generator(device="cuda").manual_seed(1)
        x = torch.randn(rows, h, device="cuda", generator=g)
        k = max(1, min(GRAPH_CALLS, -(-4 * l2 // (4 * h * o))))
        sets = []
        for _ in range(k):
            w = torch.randn(o, h, device="cuda", generator=g) / h**0.5
            b = 0.1 * torch.randn(o, device="cuda", generator=g)
            gamma = 1 + 0.1 * torch.randn(h, device="cuda", generator=g)
            beta = 0.1 * torch.randn(h, device="cuda", generator=g)
            sets.append((w, b, gamma, beta))
        outs = {}
        for label, make in [
            ("eager_ln_linear", lambda w, b, gm, bt: lambda: F.linear(F.layer_norm(x, (h,), gm, bt, 1e-5), w, b)),
            ("bare_linear", lambda w, b, gm, bt: lambda: F.linear(x, w, b)),
            ("ln_alone", lambda w, b, gm, bt: lambda: F.layer_norm(x, (h,), gm, bt, 1e-5)),
        ]:
            c, gr, same, n, m = time_fns([make(*st) for st in sets])
            outs[label] = {"per_call_us": c, "graph_us": gr, "graph_same_weights_us": same,
                           "per_call_runs": n, "graph_runs": m, "weight_sets": k}
        out["shapes"].append({"name": name, "rows": rows, "hidden": h, "out": o, **outs})
        print(name, {k: (round(v["per_call_us"], 2), round(v["graph_us"], 2)) for k, v in outs.items()}, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
