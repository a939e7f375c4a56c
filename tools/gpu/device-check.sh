#!/usr/bin/env bash
# The one prepared script for a GPU session (issue 41 and the other GPU checks). HERE (the build machine) first:
#   bash tools/gpu/pack-carry.sh --bun-only
# then one device call (about 9.5 minutes; every step is time-boxed and the whole run ends by DEADLINE_S):
#   run(command="bash tools/gpu/device-check.sh", carry=[".gpu-carry"], timeout_s=600)
# Only Bun travels (38 MB beside the 27 MB tree; a call carries 64 MiB in all): the kernels are built on the device,
# and the test suites run under `bun test` with tools/gpu/vitest-shim standing in for vitest.
# Steps, in order of priority (each writes $OUT/<step>.log; the last line of the reply summarises them):
#   build: the kernels with the device's nvcc; nvidia-smi's name, memory and clocks in $OUT/gpu.txt
#   nccl: issue 30's single-GPU check, a 1-rank NCCL communicator (bun test/gpu/nccl-one-rank.ts)
#   bench: gust bench --random-model mistral-medium-3.5 --backend cuda (all 88 layers on an H200, as many as fit on
#     an H100, said in its output) under its own --time-budget-s, JSON in $OUT/random-model.json
#   peer: the PyTorch layer (torch._scaled_mm + SDPA, eager and as a CUDA graph), tools/gpu/torch_peer.py
#   tests: the GPU suites (test/gpu: CUDA vs CPU op by op, the fill kernel, the model, CUDA graphs per decode
#     bucket with launches and times per step at Medium 3.5 shapes, step-graph*.test.ts)
#   wgmma: issue 38's FP8 GEMMs at 32/128/8192 tokens, mma.sync beside wgmma (GUST_CUDA_GEMM), bench/lab/gpu-wgmma.ts
#   attention: causal prefill attention at Medium 3.5 shapes, 8k (and 32k) tokens, today's FFMA kernel beside the
#     bf16 tensor-core one (GUST_CUDA_ATTENTION=flash), ms and TFLOP/s (bench/lab/gpu-attention.ts, ≤ 30 s)
#   profile: Nsight Compute kernel times of a 1-layer random-model run, per kernel ($OUT/kernel-times.txt)
# STEPS="bench peer" runs only those; BENCH_ARGS adds flags to the bench (a second call: BENCH_ARGS="--batches 128
# --prefill 32768"). DRY_RUN=1 prints each step's command instead (any machine); GUST_BACKEND=cpu runs the steps on
# the CPU backend at tiny sizes (checks this script without a GPU; the GPU suites then skip, saying why).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/gust-out}"
mkdir -p "$OUT"
start=$SECONDS
DEADLINE_S="${DEADLINE_S:-570}"
STEPS=" ${STEPS:-build nccl bench peer tests wgmma attention profile} "
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
  [[ "$STEPS" == *" $name "* ]] || return 0
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

if [[ "${DRY_RUN:-0}" == 1 ]]; then
  :
elif [[ -f .gpu-carry/bun.xz && ! -e node_modules/.bin/bun ]]; then # the device: Bun onto PATH (and where
  # the suites spawn it); a build machine with .gpu-carry packed keeps its own node_modules untouched
  mkdir -p /tmp/gust-bin node_modules/.bin
  xz -dc .gpu-carry/bun.xz > /tmp/gust-bin/bun && chmod +x /tmp/gust-bin/bun
  export PATH="/tmp/gust-bin:$PATH" PYTHONUNBUFFERED=1
  ln -sf /tmp/gust-bin/bun node_modules/.bin/bun
  [[ -f .gpu-carry/node_modules.tar.xz ]] && tar xJf .gpu-carry/node_modules.tar.xz -C node_modules
elif [[ "$backend" == cuda ]]; then
  echo "no .gpu-carry/bun.xz: run bash tools/gpu/pack-carry.sh --bun-only on the build machine, carry .gpu-carry"
  exit 2
else # the build machine: its own node_modules
  export PATH="$PWD/node_modules/.bin:$PATH"
fi
if [[ -f node_modules/vitest/vitest.mjs ]]; then
  suites=(bun --bun node_modules/vitest/vitest.mjs run test/gpu)
else
  [[ "${DRY_RUN:-0}" == 1 ]] || { mkdir -p node_modules/vitest && cp tools/gpu/vitest-shim/* node_modules/vitest/; }
  suites=(bun test --timeout 60000 test/gpu)
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
read -r -a extra <<< "${BENCH_ARGS:-}"

step build "$(box 150 390)" bun kernels/build.mjs
step nccl "$(box 30 360)" bun test/gpu/nccl-one-rank.ts --backend "$backend"
bench_box=$(box 230 230) # its own budget leaves 40 s of the box for the load and the last phase's end
step bench "$bench_box" bun runtime/cli/main.ts bench "${sizes[@]}" --backend "$backend" --kv-cache-dtype fp8 \
  "${peak[@]}" --time-budget-s "$((bench_box - 40))" --json-file "$OUT/random-model.json" "${extra[@]}"
if [[ "$backend" == cuda ]]; then
  step peer "$(box 45 195)" python3 tools/gpu/torch_peer.py --quick --json "$OUT/torch-peer.json"
fi
step tests "$(box 120 95)" "${suites[@]}"
step wgmma "$(box 30 65)" bun bench/lab/gpu-wgmma.ts --backend "$backend" --json "$OUT/gpu-wgmma.json"
if [[ "$backend" == cuda ]]; then # issue 39: prefill attention at 8k (32k if the box allows), FFMA beside flash
  step attention "$(box 30 35)" bun bench/lab/gpu-attention.ts --budget-s 25 --json "$OUT/attention.json"
fi
if [[ "$backend" == cuda ]]; then
  ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2> /dev/null | head -1 || true)
  # one pass (kernel duration only: no replay), every launch of a 1-layer run; the summary groups them by kernel
  step profile "$(box 35 0)" "${ncu:-ncu}" --target-processes all --metrics gpu__time_duration.sum \
    --print-units base --csv --page raw bun runtime/cli/main.ts bench --random-model mistral-medium-3.5 \
    --backend cuda --layers 1 --batches 1 --prompt-tokens 64 --decode-steps 2 --prefill none --unscaled \
    --time-budget-s 20
  if [[ "${DRY_RUN:-0}" != 1 && -f "$OUT/profile.log" ]]; then
    python3 tools/gpu/kernel-times.py "$OUT/profile.log" | tee "$OUT/kernel-times.txt"
  fi
fi
echo "device-check ($gpu, $((SECONDS - start)) s): ${status[*]}"
