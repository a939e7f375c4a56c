#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (see device-run.sh for the carry): Nsight Compute over the batch-1 decode layer of
# bench/lab/gpu-layer.ts, one row per kernel launch (time, DRAM bytes and throughput vs peak, SM throughput,
# registers, occupancy) in $OUT/ncu.csv. It skips the first launches (warm-up) and profiles about three layers.
#   run(command="bash tools/gpu/profile.sh", carry=[".gpu-carry", "kernels/build"], timeout_s=600)
set -uo pipefail
source "$(dirname "$0")/unpack-carry.sh"
bun kernels/build.mjs
ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed
metrics+=,sm__throughput.avg.pct_of_peak_sustained_elapsed,launch__registers_per_thread,launch__grid_size,launch__block_size
metrics+=,sm__warps_active.avg.pct_of_peak_sustained_active
timeout 400 "$ncu" --target-processes all --launch-skip "${SKIP:-400}" --launch-count "${COUNT:-75}" --metrics "$metrics" \
  --csv --page raw bun bench/lab/gpu-layer.ts --quick > "$OUT/ncu.csv" 2> "$OUT/ncu.err"
echo "ncu exit $?"
python3 - "$OUT/ncu.csv" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(l for l in open(sys.argv[1]) if l.startswith('"'))]
rows = [r for r in rows if r.get("Kernel Name") and r.get("gpu__time_duration.sum", "").replace(".", "").replace(",", "").isdigit()]
for r in rows:
    print(f'{r["Kernel Name"][:60]:60} {r["gpu__time_duration.sum"]:>9} ns  dram {r["dram__throughput.avg.pct_of_peak_sustained_elapsed"]:>6}%  '
          f'read {r["dram__bytes_read.sum"]:>12}  sm {r["sm__throughput.avg.pct_of_peak_sustained_elapsed"]:>6}%  regs {r["launch__registers_per_thread"]:>4}  '
          f'grid {r["launch__grid_size"]:>7}  warps {r["sm__warps_active.avg.pct_of_peak_sustained_active"]:>6}%')
PY
