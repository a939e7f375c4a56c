#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE from the repository root, after tools/gpu/pack-carry.sh here:
#   run(command="bash tools/gpu/device-run.sh tests", carry=[".gpu-carry", "kernels/build"], timeout_s=600)
#   run(command="bash tools/gpu/device-run.sh bench", carry=[".gpu-carry", "kernels/build"], timeout_s=600)
# (two calls: one device command may run 10 minutes; `all` does both when they fit)
# Unpacks Bun and node_modules, rebuilds stale kernels with the device's nvcc, then
#   tests: the GPU suites (test/gpu) and the CPU native suites, logs in $OUT/tests.log
#   bench: test/bench/gpu-layer.ts and tools/gpu/torch_peer.py on the same GPU, JSON + logs in $OUT
# Each step's exit status is printed at the end; the reply's output tail carries the summary.
set -uo pipefail
what="${1:-all}"
OUT="${OUT:-/tmp/gust-out}"
mkdir -p "$OUT" /tmp/gust-bin
xz -dc .gpu-carry/bun.xz > /tmp/gust-bin/bun && chmod +x /tmp/gust-bin/bun
export PATH="/tmp/gust-bin:$PATH" PYTHONUNBUFFERED=1
mkdir -p node_modules && tar xJf .gpu-carry/node_modules.tar.xz -C node_modules
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv | tee "$OUT/gpu.txt"
status=()
bun kernels/build.mjs 2>&1 | tee "$OUT/build.log"; status+=("build=${PIPESTATUS[0]}")
if [[ "$what" == tests || "$what" == all ]]; then
  timeout 500 bun --bun node_modules/vitest/vitest.mjs run test/gpu test/native 2>&1 | tee "$OUT/tests.log"
  status+=("tests=${PIPESTATUS[0]}")
fi
if [[ "$what" == bench || "$what" == all ]]; then
  timeout 300 bun test/bench/gpu-layer.ts --json "$OUT/gust-bench.json" 2>&1 | tee "$OUT/gust-bench.log"
  status+=("gust-bench=${PIPESTATUS[0]}")
  timeout 240 python3 tools/gpu/torch_peer.py --json "$OUT/torch-peer.json" 2>&1 | tee "$OUT/torch-peer.log"
  status+=("torch-peer=${PIPESTATUS[0]}")
fi
echo "device-run: ${status[*]}"
