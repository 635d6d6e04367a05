#!/usr/bin/env python3
"""Joins cuda_bench's JSON and torch_anchor.py's JSON (one run, one machine) into the
docs/PERF.md table.

    python3 benches/gpu/report.py ours.json torch.json
"""
import json
import sys


def main():
    ours = json.load(open(sys.argv[1]))
    torch = json.load(open(sys.argv[2]))
    ceil = torch["ceilings"]
    anchors = {s["name"]: s for s in torch["shapes"]}
    print(f"Device: {ours['device']}; PyTorch {torch['torch']} on {torch['device']}.")
    print(
        f"Ceilings measured in the same run: read {ceil['read_bw_TBps']:.2f} TB/s (sum over 2 GiB), "
        f"copy {ceil['copy_bw_TBps']:.2f} TB/s (read + write), "
        f"SGEMM 8192^3 {ceil['sgemm_8192_TFLOPs']:.1f} TFLOP/s (fp32, TF32 off).\n"
    )
    print("Times in microseconds, median; `call` = events around one call, synchronised each time; "
          "`graph` = per call in a replayed CUDA graph of 20 calls.\n")
    print("| shape | rows x H -> O | ours unfused call / graph | ours fused call / graph | "
          "PyTorch LN+Linear call / graph | PyTorch bare F.linear call / graph | fused GFLOP/s (graph) | "
          "fused vs ceiling | fused / unfused | fused / PyTorch LN+Linear | fused launches |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in ours["shapes"]:
        a = anchors.get(s["name"])
        r, h, o = s["rows"], s["hidden"], s["out"]
        u, f = s["unfused"], s["fused"]
        flops = 2.0 * r * h * o
        gflops = flops / f["graph_us"] / 1e3
        if r <= 8:
            w_bytes = 4.0 * o * h
            floor_us = w_bytes / (ceil["read_bw_TBps"] * 1e12) * 1e6
            vs = f"{100 * floor_us / f['graph_us']:.0f}% of read BW over W ({floor_us:.1f} us)"
        else:
            vs = f"{100 * gflops / 1e3 / ceil['sgemm_8192_TFLOPs']:.0f}% of SGEMM 8192^3"
            if a:
                vs += f"; {100 * a['bare_linear']['graph_us'] / f['graph_us']:.0f}% of bare F.linear"
        ratio_u = f"{f['graph_us'] / u['graph_us']:.2f} (graph), {f['per_call_us'] / u['per_call_us']:.2f} (call)"
        if a:
            e, bl = a["eager_ln_linear"], a["bare_linear"]
            ta = f"{e['per_call_us']:.1f} / {e['graph_us']:.1f}"
            tb = f"{bl['per_call_us']:.1f} / {bl['graph_us']:.1f}"
            ratio_e = f"{f['graph_us'] / e['graph_us']:.2f} (graph), {f['per_call_us'] / e['per_call_us']:.2f} (call)"
        else:
            ta = tb = ratio_e = "n/a"
        print(
            f"| {s['name']} | {r} x {h} -> {o} | {u['per_call_us']:.1f} / {u['graph_us']:.1f} | "
            f"{f['per_call_us']:.1f} / {f['graph_us']:.1f} | {ta} | {tb} | {gflops:.0f} | {vs} | "
            f"{ratio_u} | {ratio_e} | {len(f['launches'])}: {' + '.join(f['launches'])} |"
        )


if __name__ == "__main__":
    main()
