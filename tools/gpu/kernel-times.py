#!/usr/bin/env python3
"""Summarises Nsight Compute's --csv --page raw output (gpu__time_duration.sum per launch) from
tools/gpu/device-check.sh's profile step: total time and launches per kernel name, then the last 40 launches in
order (the final decode step of the run).

    python3 tools/gpu/kernel-times.py PROFILE_LOG
"""
import csv
import sys
from collections import defaultdict

lines = [l for l in open(sys.argv[1], errors="replace") if l.startswith('"')]
rows = [r for r in csv.DictReader(lines) if r.get("Kernel Name")]
rows = [r for r in rows if r.get("gpu__time_duration.sum", "").replace(",", "").replace(".", "").isdigit()]
ns = lambda r: float(r["gpu__time_duration.sum"].replace(",", ""))
total, count = defaultdict(float), defaultdict(int)
for r in rows:
    name = r["Kernel Name"].split("(")[0][:70]
    total[name] += ns(r)
    count[name] += 1
print(f"{len(rows)} launches profiled; per kernel (all launches): total µs, launches, mean µs")
for name, t in sorted(total.items(), key=lambda kv: -kv[1]):
    print(f"  {name:70} {t / 1e3:12.1f} {count[name]:6d} {t / 1e3 / count[name]:10.1f}")
print("last 40 launches, in order (µs):")
for r in rows[-40:]:
    print(f"  {r['Kernel Name'].split('(')[0][:70]:70} {ns(r) / 1e3:10.1f}")
