// The default CPU thread count: the affinity mask, capped by a cgroup CPU quota (v2 and v1) and OMP_NUM_THREADS.
import { describe, expect, it } from "vitest";
import { cgroupCpuLimit, defaultCpuThreads } from "../../ffi/cpu-threads.ts";

const files = (entries: Record<string, string>) => (path: string) => entries[path] ?? null;

describe("cgroupCpuLimit", () => {
  it("reads cgroup v2 cpu.max, rounding a fractional quota up", () => {
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "max 100000\n" }))).toBeNull();
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "200000 100000\n" }))).toBe(2);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "150000 100000" }))).toBe(2);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "50000 100000" }))).toBe(1);
  });

  it("reads cgroup v1 quota and period; -1 means no quota", () => {
    expect(
      cgroupCpuLimit(
        files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "400000", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" }),
      ),
    ).toBe(4);
    expect(
      cgroupCpuLimit(
        files({
          "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1",
          "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
        }),
      ),
    ).toBeNull();
  });

  it("is null without cgroup files or with garbage in them", () => {
    expect(cgroupCpuLimit(files({}))).toBeNull();
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "lots 0" }))).toBeNull();
  });
});

describe("defaultCpuThreads", () => {
  const noCgroup = files({});
  it("is the CPUs the process may use", () => {
    expect(defaultCpuThreads({}, noCgroup, 16)).toBe(16);
  });
  it("is capped by a container quota", () => {
    expect(defaultCpuThreads({}, files({ "/sys/fs/cgroup/cpu.max": "300000 100000" }), 64)).toBe(3);
  });
  it("is capped by OMP_NUM_THREADS, and ignores a value that is not a positive integer", () => {
    expect(defaultCpuThreads({ OMP_NUM_THREADS: "2" }, noCgroup, 8)).toBe(2);
    expect(defaultCpuThreads({ OMP_NUM_THREADS: "0" }, noCgroup, 8)).toBe(8);
    expect(defaultCpuThreads({ OMP_NUM_THREADS: "two" }, noCgroup, 8)).toBe(8);
  });
});
