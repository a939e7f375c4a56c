#!/usr/bin/env bash
# The one prepared script for a GPU session (issue 41 and the other GPU checks). HERE (the build machine) first:
#   bash tools/gpu/pack-carry.sh
# then one device call (about 9 minutes; every step is time-boxed and the whole run ends by DEADLINE_S):
#   run(command="bash tools/gpu/device-check.sh", carry=[".gpu-carry", "kernels/build"], timeout_s=600)
# Steps (each writes its log under $OUT; the last lines of the reply summarise them):
#   1. build: stale kernels rebuilt with the device's nvcc; nvidia-smi's name, memory and clocks
#   2. tests: the GPU suites (test/gpu: CUDA vs CPU op by op, the fill kernel, the model, CUDA graphs where landed)
#   3. nccl: issue 30's single-GPU check, a 1-rank NCCL communicator (bun test/gpu/nccl-one-rank.ts)
#   4. bench: gust bench --random-model mistral-medium-3.5 --backend cuda (all 88 layers on an H200, as many as fit
#      on an H100, said in its output) with its own --time-budget-s, JSON in $OUT/random-model.json
#   5. peer: the PyTorch layer (torch._scaled_mm + SDPA, eager and as a CUDA graph), tools/gpu/torch_peer.py
#   6. profile: Nsight Compute kernel times of a 1-layer random-model decode step, summed per kernel
# DRY_RUN=1 prints each step's command instead of running it (any machine); GUST_BACKEND=cpu runs the same steps on
# the CPU backend at tiny sizes (checks this script without a GPU; the GPU suites then skip, saying why).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/gust-out}"
mkdir -p "$OUT"
start=$SECONDS
DEADLINE_S="${DEADLINE_S:-560}"
backend="${GUST_BACKEND:-cuda}"
status=()

# seconds a step may take: its own box, or what is left before the deadline less a reserve for the later steps
box() {
  local want=$1 reserve=$2
  local left=$((DEADLINE_S - (SECONDS - start) - reserve))
  echo $((left < want ? left : want))
}

step() { # step NAME BOX_SECONDS COMMAND...
  local name=$1 seconds=$2
  shift 2
  if [[ "${DRY_RUN:-0}" == 1 ]]; then
    echo "[$name, ≤ ${seconds} s] $*"
    status+=("$name=dry")
    return
  fi
  if ((seconds < 5)); then
    echo "$name: skipped, ${seconds} s left before the ${DEADLINE_S} s deadline" | tee "$OUT/$name.log"
    status+=("$name=skipped")
    return
  fi
  echo "== $name (≤ ${seconds} s): $*"
  timeout --kill-after=5 "$seconds" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  status+=("$name=$rc")
  ((rc == 124)) && echo "$name: stopped at its ${seconds} s box" | tee -a "$OUT/$name.log"
}

if [[ "${DRY_RUN:-0}" != 1 && -d .gpu-carry ]]; then
  source tools/gpu/unpack-carry.sh
elif [[ "${DRY_RUN:-0}" != 1 && "$backend" == cuda ]]; then
  echo "no .gpu-carry/: run bash tools/gpu/pack-carry.sh on the build machine and carry .gpu-carry and kernels/build"
  exit 2
else # the build machine: its own node_modules
  export PATH="$PWD/node_modules/.bin:$PATH"
fi

gpu="cpu"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv | tee "$OUT/gpu.txt"
  gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
fi
# datasheet ceilings (docs/reference/performance-anchors.md §2): HBM bandwidth and dense FP8
case "$gpu" in
  *H200*) peak=(--peak-bandwidth-gbs 4800 --peak-fp8-tflops 1979) ;;
  *H100*) peak=(--peak-bandwidth-gbs 3350 --peak-fp8-tflops 1979) ;;
  *) peak=() ;;
esac
if [[ "$backend" == cuda ]]; then
  sizes=(--random-model mistral-medium-3.5)
else # the script's own check on a machine without a GPU: the family's tiny shapes
  sizes=(--random-model tiny --batches 1,2 --prompt-tokens 16 --decode-steps 2 --prefill 32,64)
fi
step build "$(box 90 450)" bun kernels/build.mjs
step tests "$(box 120 330)" bun --bun node_modules/vitest/vitest.mjs run test/gpu
step nccl "$(box 40 290)" bun test/gpu/nccl-one-rank.ts --backend "$backend"
bench_box=$(box 260 100) # the bench's own budget leaves 40 s of its box for the load and the last phase's end
step bench "$bench_box" bun runtime/cli/main.ts bench "${sizes[@]}" --backend "$backend" --kv-cache-dtype fp8 \
  "${peak[@]}" --time-budget-s "$((bench_box - 40))" --json-file "$OUT/random-model.json"
if [[ "$backend" == cuda ]]; then
  step peer "$(box 60 45)" python3 tools/gpu/torch_peer.py --quick --json "$OUT/torch-peer.json"
  ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2> /dev/null | head -1 || true)
  # one pass (kernel duration only: no replay), every launch of a 1-layer run; the summary groups them by kernel
  step profile "$(box 50 5)" "${ncu:-ncu}" --target-processes all --metrics gpu__time_duration.sum \
    --print-units base --csv --page raw bun runtime/cli/main.ts bench --random-model mistral-medium-3.5 \
    --backend cuda --layers 1 --batches 1 --prompt-tokens 64 --decode-steps 2 --prefill none --unscaled --time-budget-s 30
  [[ "${DRY_RUN:-0}" == 1 ]] || python3 tools/gpu/kernel-times.py "$OUT/profile.log" | tee "$OUT/kernel-times.txt"
fi
echo "device-check ($gpu, $((SECONDS - start)) s): ${status[*]}"
