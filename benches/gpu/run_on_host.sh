#!/usr/bin/env bash
# Runs on the GPU host, from the repository root, after benches/gpu/stage_cuda.sh built the
# binaries into .gpu/cuda/ here. Stages (any subset, in this order): tests sanitize resources bench.
#   bash .gpu/cuda/run_on_host.sh tests sanitize resources bench
# Writes logs and JSON to ${OUT:-/tmp/lnl-cuda-out}.
set -uo pipefail
dir=.gpu/cuda
out="${OUT:-/tmp/lnl-cuda-out}"
mkdir -p "$out"
export LNL_REQUIRE_CUDA=1
stages=" $* "
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader
status=0
if [[ $stages == *" tests "* ]]; then
  for t in "$dir"/tests/*; do
    echo "== test $(basename "$t")"
    timeout 300 "$t" 2>&1 | tail -n 25 | tee -a "$out/tests.log" || status=1
  done
  # Every GEMM tile, not only the ones the automatic choice picks for the test shapes.
  for tile in 128x128x8 128x128x16 64x128x8; do
    echo "== test gpu_correctness, gpu_robustness with LNL_CUDA_GEMM_TILE=$tile"
    for t in gpu_correctness gpu_robustness; do
      LNL_CUDA_GEMM_TILE=$tile timeout 300 "$dir/tests/$t" 2>&1 | tail -n 3 | tee -a "$out/tests.log" || status=1
    done
  done
fi
if [[ $stages == *" sanitize "* ]]; then
  # The many-rows test takes minutes under instrumentation; the rest covers every kernel path.
  for tool in memcheck racecheck; do
    for t in gpu_correctness gpu_robustness; do
      echo "== compute-sanitizer --tool $tool $t"
      timeout 240 compute-sanitizer --tool "$tool" --error-exitcode 99 "$dir/tests/$t" \
        --test-threads=1 --skip a_million_rows 2>&1 | grep -vE "^test .* ok$" | tail -n 15 |
        tee -a "$out/sanitize.log"
      rc=${PIPESTATUS[0]}
      echo "exit status $rc" | tee -a "$out/sanitize.log"
      [[ $rc == 0 ]] || status=1
    done
  done
fi
if [[ $stages == *" resources "* ]]; then
  echo "== ptxas resource report (nvcc $(nvcc --version | tail -n 1))"
  "$dir/cuda_bench" --dump-source /tmp/lnl_cuda_module.cu
  nvcc -arch=sm_90 -std=c++17 -cubin -Xptxas -v -o /tmp/lnl.cubin /tmp/lnl_cuda_module.cu 2>&1 |
    grep -E "Compiling entry|Used|spill" | sed 's/ptxas info    : //' | tee "$out/resources.log"
fi
if [[ $stages == *" profile "* ]]; then
  echo "== ncu (few-rows kernels, row kernels; --quick bench)"
  timeout 300 ncu --clock-control none --kernel-name regex:'lnl_(gemv|tiny|layernorm|row_stats)' --launch-count 60 \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed,launch__registers_per_thread \
    "$dir/cuda_bench" --quick --shapes seed,decode1,decode8,large4096 > "$out/ncu.log" 2>&1
  python3 - "$out/ncu.log" <<'PY'
import re, sys
cur = None
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"\s+(lnl_\w+)", line)
    if m:
        cur = m.group(1)
        continue
    m = re.match(r"\s+(\S+)\s+(\S+)\s+([\d.,]+)\s*$", line)
    if cur and m:
        rows.setdefault(cur, {}).setdefault(m.group(1), []).append(m.group(2) + " " + m.group(3))
for k, v in rows.items():
    print(k, {mk: mv[-1] for mk, mv in v.items()})
PY
fi
if [[ $stages == *" variants "* ]]; then
  for tile in 128x128x8 128x128x16 64x128x8; do
    echo "== cuda_bench GEMM tile $tile"
    LNL_CUDA_GEMM_TILE=$tile timeout 200 "$dir/cuda_bench" --shapes mid512,large4096,ffn8192 --json "$out/ours_$tile.json" 2>&1 | tail -n 4
  done
fi
if [[ $stages == *" bench "* ]]; then
  echo "== cuda_bench"
  timeout 400 "$dir/cuda_bench" --json "$out/ours.json" 2>&1 | tee "$out/bench.log" || status=1
  echo "== torch anchors"
  PYTHONUNBUFFERED=1 timeout 300 python3 "$dir/torch_anchor.py" --json "$out/torch.json" 2>&1 | tee "$out/torch.log" || status=1
  python3 "$dir/report.py" "$out/ours.json" "$out/torch.json" | tee "$out/table.md"
fi
exit $status
