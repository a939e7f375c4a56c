#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE from the repository root, after tools/gpu/pack-carry.sh here:
#   run(command="bash tools/gpu/device-run.sh tests", carry=[".gpu-carry", "kernels/build"], timeout_s=600)
#   run(command="bash tools/gpu/device-run.sh bench", carry=[".gpu-carry", "kernels/build"], timeout_s=600)
# (two calls: one device command may run 10 minutes; `all` does both when they fit). Steps can be combined:
#   device-run.sh tests sanitize   also runs the op suites under compute-sanitizer (memcheck, racecheck)
# Unpacks Bun and node_modules, rebuilds stale kernels with the device's nvcc, then
#   tests: the GPU suites (test/gpu) and the CPU native suites, logs in $OUT/tests.log
#   bench: bench/lab/gpu-layer.ts and tools/gpu/torch_peer.py on the same GPU, JSON + logs in $OUT
# Each step's exit status is printed at the end; the reply's output tail carries the summary.
set -uo pipefail
what=" ${*:-tests bench} "
source "$(dirname "$0")/unpack-carry.sh"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv | tee "$OUT/gpu.txt"
status=()
bun kernels/build.mjs 2>&1 | tee "$OUT/build.log"; status+=("build=${PIPESTATUS[0]}")
if [[ "$what" == *" tests "* || "$what" == *" all "* ]]; then
  timeout 500 bun --bun node_modules/vitest/vitest.mjs run test/gpu test/native 2>&1 | tee "$OUT/tests.log"
  status+=("tests=${PIPESTATUS[0]}")
fi
if [[ "$what" == *" sanitize "* ]]; then
  sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  for tool in memcheck racecheck; do
    timeout 170 "$sanitizer" --tool "$tool" --target-processes all --error-exitcode 9 \
      bun --bun node_modules/vitest/vitest.mjs run test/gpu/ops.test.ts test/gpu/linear.test.ts test/gpu/attention.test.ts \
      > "$OUT/$tool.log" 2>&1
    status+=("$tool=$?"); grep -E "ERROR SUMMARY|Tests " "$OUT/$tool.log" | tail -3
  done
fi
if [[ "$what" == *" bench "* || "$what" == *" all "* ]]; then
  timeout 300 bun bench/lab/gpu-layer.ts --json "$OUT/gust-bench.json" 2>&1 | tee "$OUT/gust-bench.log"
  status+=("gust-bench=${PIPESTATUS[0]}")
  timeout 240 python3 tools/gpu/torch_peer.py --json "$OUT/torch-peer.json" 2>&1 | tee "$OUT/torch-peer.log"
  status+=("torch-peer=${PIPESTATUS[0]}")
fi
echo "device-run: ${status[*]}"
