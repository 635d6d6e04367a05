#!/usr/bin/env bash
# Runs on the GPU host, from the repository root, after benches/gpu/stage_cuda.sh built the
# binaries into .gpu/cuda/ here. Stages (any subset, in this order):
#   tests tilecheck sanitize resources profile variants bench
# (tilecheck: gpu_correctness only, once per GEMM tile: a quick check of new tiles.)
#   bash .gpu/cuda/run_on_host.sh tests sanitize resources bench
# Writes logs and JSON to ${OUT:-/tmp/lnl-cuda-out}.
set -uo pipefail
dir=.gpu/cuda
out="${OUT:-/tmp/lnl-cuda-out}"
mkdir -p "$out"
export LNL_REQUIRE_CUDA=1
stages=" $* "
# Every GEMM tile compiled into the module (crates/lnl-cuda/src/kernels.rs, GEMM_TILES).
tiles="64x128x16_8x8s4 64x64x16_8x4s4 wt64x128x8_8x16s4 wt64x128x16_8x16s4k2"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader
status=0
if [[ $stages == *" tests "* ]]; then
  for t in "$dir"/tests/*; do
    echo "== test $(basename "$t")"
    timeout 300 "$t" > /tmp/test.log 2>&1 || status=1
    grep -E "^test |panicked|test result|skipped" /tmp/test.log | grep -v " ok$" | tee -a "$out/tests.log"
    grep -A12 "panicked" /tmp/test.log >> "$out/tests.log"
  done
  # Every GEMM tile, not only the ones the automatic choice picks for the test shapes.
  for tile in $tiles; do
    echo "== test gpu_correctness, gpu_robustness with LNL_CUDA_GEMM_TILE=$tile"
    for t in gpu_correctness gpu_robustness; do
      LNL_CUDA_GEMM_TILE=$tile timeout 300 "$dir/tests/$t" > /tmp/test.log 2>&1 || status=1
      grep -E "panicked|test result" /tmp/test.log | tee -a "$out/tests.log"
      grep -A12 "panicked" /tmp/test.log >> "$out/tests.log"
    done
  done
fi
if [[ $stages == *" tilecheck "* ]]; then
  for tile in $tiles; do
    echo "== test gpu_correctness with LNL_CUDA_GEMM_TILE=$tile"
    LNL_CUDA_GEMM_TILE=$tile timeout 120 "$dir/tests/gpu_correctness" > /tmp/test.log 2>&1 || status=1
    grep -E "panicked|test result" /tmp/test.log | tee -a "$out/tests.log"
    grep -A12 "panicked" /tmp/test.log >> "$out/tests.log"
  done
fi
if [[ $stages == *" sanitize "* ]]; then
  # The many-rows test takes minutes under instrumentation; the rest covers every kernel path.
  # The out-of-memory test makes a failing cuMemAllocAsync on purpose, which memcheck reports as
  # an API error: it runs on its own, with API-error reports off (its kernels are still checked).
  run_sanitizer() {  # tool, label, args...
    local tool=$1 label=$2; shift 2
    echo "== compute-sanitizer --tool $tool $label" | tee -a "$out/sanitize.log"
    # racecheck instruments every shared-memory access: gpu_robustness needed over 150 s (call 11).
    local limit=150; [[ $tool == racecheck ]] && limit=400
    timeout $limit compute-sanitizer --tool "$tool" --error-exitcode 99 "$@" > /tmp/san.log 2>&1
    local rc=$?
    grep -E "^=========|test result" /tmp/san.log | grep -v "Host Frame" | head -n 40 | tee -a "$out/sanitize.log"
    echo "exit status $rc" | tee -a "$out/sanitize.log"
    [[ $rc == 0 ]] || status=1
  }
  for tool in memcheck racecheck; do
    run_sanitizer $tool gpu_correctness "$dir/tests/gpu_correctness" --test-threads=1
    run_sanitizer $tool gpu_robustness "$dir/tests/gpu_robustness" --test-threads=1 --skip a_million_rows --skip out_of_memory
  done
  run_sanitizer memcheck "out_of_memory (API-error reports off)" --report-api-errors no \
    "$dir/tests/gpu_robustness" --exact out_of_memory_is_an_error
fi
if [[ $stages == *" resources "* ]]; then
  echo "== ptxas resource report (nvcc $(nvcc --version | tail -n 1))"
  "$dir/cuda_bench" --dump-source /tmp/lnl_cuda_module.cu
  nvcc -arch=sm_90 -std=c++17 -cubin -Xptxas -v -o /tmp/lnl.cubin /tmp/lnl_cuda_module.cu 2>&1 |
    grep -E "Compiling entry|Used|spill" | sed 's/ptxas info    : //' | tee "$out/resources.log"
fi
if [[ $stages == *" profile "* ]]; then
  # ncu on one launch of each kernel that misses its target (a --quick bench: each profiled
  # launch is replayed once per metric pass). Default cache control: caches flushed per pass.
  metrics=gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed
  metrics+=,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active
  metrics+=,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active
  metrics+=,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum
  for s in barrier long_scoreboard short_scoreboard mio_throttle math_pipe_throttle wait not_selected; do
    metrics+=,smsp__warp_issue_stalled_${s}_per_warp_active.pct
  done
  for spec in seed:lnl_tiny_norm_reg decode8:lnl_gemv_r8_norm mid512:lnl_gemm_norm_vec_wt64x128x16_8x16s4k2 \
      large4096:lnl_gemm_norm_vec_wt64x128x8_8x16s4 large4096:lnl_gemm_plain_vec_wt64x128x8_8x16s4; do
    shape=${spec%%:*} kernel=${spec#*:}
    echo "== ncu $kernel ($shape)" | tee -a "$out/ncu.log"
    timeout 150 ncu --clock-control none --kernel-name "$kernel" --launch-skip 1 --launch-count 1 --metrics "$metrics" \
      "$dir/cuda_bench" --quick --shapes "$shape" 2>&1 | grep -E "^\s+(gpu__|dram__|sm__|smsp__|l1tex__)|ERR|rror" | tee -a "$out/ncu.log"
  done
fi
if [[ $stages == *" variants "* ]]; then
  for tile in $tiles; do
    echo "== cuda_bench GEMM tile $tile"
    LNL_CUDA_GEMM_TILE=$tile timeout 200 "$dir/cuda_bench" --shapes mid512,large4096,ffn8192 2>&1 | tail -n 4 | tee -a "$out/bench.log"
  done
fi
if [[ $stages == *" bench "* ]]; then
  echo "== cuda_bench"
  timeout 400 "$dir/cuda_bench" --json "$out/ours.json" 2>&1 | tee -a "$out/bench.log" || status=1
  echo "== torch anchors"
  PYTHONUNBUFFERED=1 timeout 300 python3 "$dir/torch_anchor.py" --json "$out/torch.json" 2>&1 | tee -a "$out/bench.log" || status=1
  python3 "$dir/report.py" "$out/ours.json" "$out/torch.json" | tee "$out/table.md"
fi
exit $status
