#!/usr/bin/env bash
# Builds the CUDA provider's release test binaries and benchmark here (the GPU host has no Rust
# toolchain) and copies them, with the host-side scripts, into .gpu/cuda/ (git-ignored), the
# folder carried to the GPU host. Run from the repository root.
set -euo pipefail
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-cuda}"
dest=.gpu/cuda
rm -rf "$dest" && mkdir -p "$dest/tests"
cargo build --release -p lnl-cuda --example cuda_bench
cp "$CARGO_TARGET_DIR/release/examples/cuda_bench" "$dest/"
cargo test --release -p lnl-cuda --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])
' | while read -r name exe; do cp "$exe" "$dest/tests/$name"; done
strip "$dest"/cuda_bench "$dest"/tests/*
cp benches/gpu/torch_anchor.py benches/gpu/report.py benches/gpu/run_on_host.sh "$dest/"
du -sh "$dest"; ls "$dest" "$dest/tests"
