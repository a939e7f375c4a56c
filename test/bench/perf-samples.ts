// Where one thread's CPU time went, by Linux perf's cpu-clock samples: user space (for the gateway's event loop: our
// JS, Bun's HTTP code, JSC's collector on the loop thread) or the kernel (syscalls, page faults, softirqs, lock waits).
// The latency bench uses it (--perf) on requests whose event-loop CPU by /proc was over 5 ms: on a virtual machine
// that figure also holds kernel waits the hypervisor stretched (a lock held by a vCPU it preempted) and time the
// vCPU did not run at all, which perf's timer cannot sample. Needs `perf` and permission to trace the thread.
import { PerfRecord } from "./perf-record.ts";

export interface PerfSample {
  /** wall-clock ms since the epoch (perf record -k CLOCK_REALTIME) */
  atMs: number;
  isKernel: boolean;
}

export interface SampledTime {
  userMs: number;
  kernelMs: number;
}

// x86-64 kernel addresses live in the upper half of the address space
const isKernelIp = (ip: string) => ip.length === 16 && ip[0] === "f";

export class PerfSampler {
  private constructor(private readonly record: PerfRecord, readonly hz: number) {}

  /** Starts sampling thread `tid`; null when perf is not installed. */
  static start(tid: number, hz = 999): PerfSampler | null {
    const record = PerfRecord.start(["-e", "cpu-clock", "-F", String(hz), "-k", "CLOCK_REALTIME", "-t", String(tid)]);
    return record && new PerfSampler(record, hz);
  }

  /** Stops recording and reads the samples back. */
  async stop(): Promise<PerfSample[]> {
    const out = await this.record.stop(["script", "-F", "time,ip"]);
    const samples: PerfSample[] = [];
    // one line per sample: "  1795407234.166214:  1a7c696"
    for (const m of out.matchAll(/^\s*([\d.]+):\s+([0-9a-f]+)/gm)) {
      samples.push({ atMs: Number(m[1]) * 1000, isKernel: isKernelIp(m[2]) });
    }
    return samples;
  }
}

/** The CPU time the samples inside [fromMs, toMs] stand for, split by where they landed (1 sample = 1000/hz ms). */
export function sampledBetween(samples: PerfSample[], hz: number, fromMs: number, toMs: number): SampledTime {
  const inside = samples.filter((x) => x.atMs >= fromMs && x.atMs <= toMs);
  const kernel = inside.filter((x) => x.isKernel).length;
  return { userMs: ((inside.length - kernel) * 1000) / hz, kernelMs: (kernel * 1000) / hz };
}
