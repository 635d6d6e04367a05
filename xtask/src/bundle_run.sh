#!/usr/bin/env bash
# Runs the bundle on a GPU host without a Rust toolchain (written by `cargo xtask bundle`).
#   bash run.sh [tests] [kernels] [bench] [-- xtask bench arguments]
# Default: tests, kernels, then bench with `--compare torch`. Output in ${OUT:-<bundle>/out}.
# LNL_TEST_TIMEOUT (seconds, default 900) bounds each test binary. LNL_PACK=DIR: at the end, copy
# report.{md,json,svg} and one .tar.gz of the whole output into DIR (for hosts that return few files).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/out}"
mkdir -p "$out"
stages=()
bench_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; bench_args=("$@"); break ;;
    *) stages+=("$1"); shift ;;
  esac
done
[ ${#stages[@]} -gt 0 ] || stages=(tests kernels bench)
[ ${#bench_args[@]} -gt 0 ] || bench_args=(--compare torch)
export LNL_REQUIRE_CUDA="${LNL_REQUIRE_CUDA:-1}"

# The binaries link libOpenCL.so.1: the host's, else the bundled copy.
if ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL.so.1'; then
  export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's OpenCL platform is not registered with the ICD loader there: add it beside the others.
if [ -z "${OCL_ICD_VENDORS:-}" ]; then
  icd="$(mktemp -d)"
  cp /etc/OpenCL/vendors/*.icd "$icd"/ 2>/dev/null || true
  for lib in /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1; do
    if [ -e "$lib" ]; then echo "$lib" > "$icd/nvidia.icd"; break; fi
  done
  export OCL_ICD_VENDORS="$icd"
fi
# Tests run `lnl` by the absolute path it had where it was built: link it there if free.
built="$(cat "$here/bin/lnl.build-path" 2>/dev/null || true)"
if [ -n "$built" ] && [ ! -e "$built" ]; then
  mkdir -p "$(dirname "$built")" 2>/dev/null && ln -s "$here/bin/lnl" "$built" 2>/dev/null ||
    echo "run.sh: cannot link $built: the command-line tests will fail"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader

status=0
for stage in "${stages[@]}"; do
  case "$stage" in
    tests)
      passed=0 failed=0
      for t in "$here"/tests/*; do
        name="$(basename "$t")"
        echo "== test $name"
        (cd "$here" && timeout "${LNL_TEST_TIMEOUT:-900}" "$t") > "$out/test-$name.log" 2>&1
        rc=$?
        grep -E "^test result:" "$out/test-$name.log" | tail -n 1
        if [ $rc = 0 ]; then passed=$((passed + 1)); else
          failed=$((failed + 1)); status=1
          echo "FAILED: $name (exit $rc); the end of its log:"; tail -n 25 "$out/test-$name.log"
        fi
      done
      echo "test binaries: $passed passed, $failed failed"
      ;;
    kernels)
      echo "== kernels"
      "$here/bin/cuda-kernels" --out "$out/kernels/cuda" --require || status=1
      if [ -x "$here/bin/opencl-kernels" ]; then "$here/bin/opencl-kernels" || status=1; fi
      ;;
    bench)
      "$here/bin/xtask" bench --prebuilt "$here/bin" --out "$out/report" "${bench_args[@]}" || status=1
      [ -f "$out/report/report.md" ] && cat "$out/report/report.md"
      ;;
    *) echo "run.sh: unknown stage $stage (tests, kernels, bench)"; status=2 ;;
  esac
done
if [ -n "${LNL_PACK:-}" ]; then
  mkdir -p "$LNL_PACK"
  cp "$out"/report/report.md "$out"/report/report.json "$out"/report/report.svg "$LNL_PACK"/ 2>/dev/null
  tar czf "$LNL_PACK/lnl-out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")"
fi
exit $status
