#!/usr/bin/env bash
# The one GPU-machine call that trains gust-mini (see DEVICE.md). Run from the repository root on the device with
# $OUT set; everything it brings back is under $OUT: train.log, model.safetensors (~15 MB), mini.tgz (the rest).
# 1. versions; 2. a one-minute smoke run of every phase (stops here if any fails, before the long run);
# 3. the real run, sized to end before the call's 10-minute limit; 4. pack what exists, even after a failure.
set -o pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=true
BUDGET=${GUST_MINI_BUDGET:-585}
END=$(( $(date +%s) + BUDGET ))
: "${OUT:?OUT must name the folder whose files come back}"
LOG=$OUT/train.log
cd "$(dirname "$0")" || exit 1
pack() {
  [ -f /tmp/mini/model.safetensors ] && cp /tmp/mini/model.safetensors "$OUT/"
  [ -d /tmp/mini ] && tar -C /tmp/mini -czf "$OUT/mini.tgz" --exclude=model.safetensors --exclude=__pycache__ .
  ls -la /tmp/mini "$OUT" 2>&1 | tee -a "$LOG"
}
python3 - <<'EOF' 2>&1 | tee "$LOG"
import importlib, sys
print("python", sys.version.split()[0])
for m in ("torch", "transformers", "tokenizers", "safetensors", "tiktoken", "regex", "numpy"):
    try: print(m, importlib.import_module(m).__version__)
    except Exception as e: print(m, "MISSING", e)
import torch; print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else "")
EOF
echo "== smoke run" | tee -a "$LOG"
if ! timeout 170 python3 train_mini.py /tmp/smoke --smoke 2>&1 | tee -a "$LOG"; then
  echo "== smoke run failed: no real run" | tee -a "$LOG"
  tar -C /tmp/smoke -czf "$OUT/smoke.tgz" --exclude=model.safetensors --exclude=__pycache__ . 2>/dev/null
  exit 1
fi
LEFT=$(( END - $(date +%s) ))
echo "== real run, ${LEFT}s left" | tee -a "$LOG"
timeout $(( LEFT - 5 )) python3 train_mini.py /tmp/mini --deadline-at $(( END - 20 )) 2>&1 | tee -a "$LOG"
echo "== exit $?" | tee -a "$LOG"
pack
