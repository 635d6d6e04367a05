#!/usr/bin/env python3
"""Prints the docs/PERF.md CPU table from one session's measurements.

Inputs: the criterion estimates of `cargo bench -p lnl-cpu --bench cpu_suite` (median of the
samples) under $CARGO_TARGET_DIR/criterion, and the anchors of ../shared/anchors/cpu/run.sh
(stdout saved to a file: FMA peak and read bandwidth; numpy/ORT JSON under $LNL_ANCHOR_DIR).
Usage: perf_table.py CRITERION_DIR ANCHOR_STDOUT ANCHOR_DIR
"""
import json
import os
import re
import sys

crit, anchor_out, anchor_dir = sys.argv[1:4]
text = open(anchor_out).read()
peak = float(re.search(r"threads=2 median ([\d.]+) GFLOP/s", text).group(1))
read_bw = float(re.search(r"read\s+median\s+([\d.]+) GB/s", text).group(1))
npj = json.load(open(os.path.join(anchor_dir, "numpy.json")))["results"]
ortj = json.load(open(os.path.join(anchor_dir, "ort.json")))["results"]

SHAPES = [("seed", 16, 8, 16), ("decode1", 1, 4096, 4096), ("decode8", 8, 4096, 4096),
          ("mid512", 512, 4096, 4096), ("mid512_h1024", 512, 1024, 4096),
          ("large4096", 4096, 4096, 4096), ("ffn8192", 8192, 4096, 11008)]


def median_s(group, fn):
    p = os.path.join(crit, group, fn, "new", "estimates.json")
    if not os.path.exists(p):
        return None
    return json.load(open(p))["median"]["point_estimate"] * 1e-9


def fmt_ms(t):
    return "-" if t is None else (f"{t * 1e6:.2f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms")


print(f"FMA peak (2 threads) {peak:.1f} GFLOP/s; read bandwidth {read_bw:.1f} GB/s\n")
print("| shape (rows x H x O) | bare GEMM | unfused | fused | fused GFLOP/s (% peak) | fused W GB/s (% read bw) | fused / bare | fused / unfused | numpy LN+gemm | ORT LN->MatMul->Add | fused vs numpy | fused vs ORT |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, m, h, o in SHAPES:
    bare, unf, fus = (median_s(name, f) for f in ("bare_gemm", "unfused", "fused"))
    if fus is None:
        continue
    key = f"{m}x{h}x{o}"
    npt = npj.get(key, {}).get("unfused", {}).get("median_s")
    ort = ortj.get(key, {}).get("fused", {}).get("median_s")
    gf = 2 * m * h * o / fus * 1e-9
    wbw = 4 * h * o / fus * 1e-9
    ratio = lambda a, b: "-" if a is None or b is None else f"{a / b:.3f}"
    print(f"| {name} ({key}) | {fmt_ms(bare)} | {fmt_ms(unf)} | {fmt_ms(fus)} | {gf:.1f} ({100 * gf / peak:.0f}%) "
          f"| {wbw:.1f} ({100 * wbw / read_bw:.0f}%) | {ratio(fus, bare)} | {ratio(fus, unf)} | {fmt_ms(npt)} | {fmt_ms(ort)} "
          f"| {ratio(npt, fus)}x | {ratio(ort, fus)}x |")
print("\nfused/bare and fused/unfused are time ratios (< 1: fused faster); 'vs' columns are speed-ups of fused.")
sw = []
for rows in (4, 8, 12, 16, 24, 32, 48, 64, 96, 128):
    d, g = median_s("switch", f"Decode/{rows}"), median_s("switch", f"Gemm/{rows}")
    if d and g:
        sw.append(f"| {rows} | {fmt_ms(d)} | {fmt_ms(g)} | {g / d:.2f} |")
if sw:
    print("\nDecode vs GEMM partition (bare GEMM, H = O = 4096):\n")
    print("| rows | decode | GEMM | GEMM / decode |\n|---|---|---|---|")
    print("\n".join(sw))
