// How many CPU kernel threads to run when the operator did not say (--threads). OpenMP counts the CPUs in the
// process's affinity mask but not a container's CPU quota: in `docker run --cpus 2` on a 64-core host it would
// start 64 spinning threads that share 2 CPUs' worth of time, and every barrier then waits for a time slice
// (measured here: one core shared by 2 threads took a 0.7 ms step to 47 ms). So the default is the smallest of
// the affinity mask, the cgroup quota and OMP_NUM_THREADS.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

type ReadText = (path: string) => string | null;

const readOrNull: ReadText = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/** CPUs' worth of time the cgroup allows, or null without a quota. cgroup v2 `cpu.max` reads "max 100000" (no
 * quota) or "150000 100000" (1.5 CPUs → 2 threads, rounded up); cgroup v1 splits it over two files. */
export function cgroupCpuLimit(read: ReadText = readOrNull): number | null {
  const v2 = read("/sys/fs/cgroup/cpu.max")?.trim().split(/\s+/);
  if (v2 && v2.length === 2) return v2[0] === "max" ? null : cores(Number(v2[0]), Number(v2[1]));
  const quota = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") ?? read("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us");
  const period = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us") ?? read("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us");
  if (quota === null || period === null) return null;
  return Number(quota) <= 0 ? null : cores(Number(quota), Number(period));
}

function cores(quota: number, period: number): number | null {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return null;
  return Math.max(1, Math.ceil(quota / period));
}

export function defaultCpuThreads(
  env: Record<string, string | undefined> = process.env,
  read: ReadText = readOrNull,
  parallelism = availableParallelism(),
): number {
  let n = Math.max(1, parallelism);
  const limit = cgroupCpuLimit(read);
  if (limit !== null) n = Math.min(n, limit);
  const omp = Number(env.OMP_NUM_THREADS);
  if (Number.isInteger(omp) && omp > 0) n = Math.min(n, omp);
  return n;
}
