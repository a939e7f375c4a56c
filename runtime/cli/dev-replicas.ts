// `gust dev --replicas N`: N local runtimes, each its own supervised child on its own socket, behind the dev
// gateway's runtime pool (edge/runtime-pool/), so routing, failover and per-runtime metrics can be tried on one
// machine. Each replica loads the whole model; on the CPU they share the cores, so each gets its share of the
// kernel threads (4 CPUs, 2 replicas → --threads 2 each) instead of every replica spinning on all of them.
import { join } from "node:path";
import { defaultCpuThreads } from "../../ffi/cpu-threads.ts";
import { type StartChild, Supervised } from "./supervise.ts";
import { UsageError } from "./usage-error.ts";

/** More replicas than this is a typo, not a dev setup: each one loads the whole model. */
export const MAX_REPLICAS = 16;

/** The replica count (default 1). Replicas and tensor parallelism do not compose in `gust dev`: rank r of every
 * runtime takes device r, so two TP runtimes would share their devices. */
export function parseReplicas(raw: string | undefined, tensorParallel: number): number {
  if (raw === undefined) return 1;
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) {
    throw new UsageError(
      `--replicas must be a whole number of runtimes from 1 to ${MAX_REPLICAS}, got "${raw}" ` +
        "(each replica loads the whole model)",
    );
  }
  if (n > 1 && tensorParallel > 1) {
    throw new UsageError(
      `--replicas ${n} with --tensor-parallel ${tensorParallel} is not supported by gust dev: every runtime's rank r ` +
        "would take device r. Give one of them; for replicas of a tensor-parallel runtime, start each with " +
        "`gust runtime --tensor-parallel N` on its own devices and put them behind `gust serve --runtime A --runtime B`",
    );
  }
  return n;
}

export interface Replica {
  label: string;
  socket: string;
  threadArgs: string[];
}

/** Labels, sockets and thread flags of `count` replicas in `work`; one replica keeps dev's single-runtime names. */
export function replicaLayout(count: number, work: string, cpuThreads = defaultCpuThreads()): Replica[] {
  if (count === 1) return [{ label: "runtime", socket: join(work, "runtime.sock"), threadArgs: [] }];
  const threads = Math.max(1, Math.floor(cpuThreads / count));
  return Array.from({ length: count }, (_, i) => ({
    label: `runtime ${i + 1}`,
    socket: join(work, `runtime-${i + 1}.sock`),
    threadArgs: ["--threads", String(threads)],
  }));
}

/** Starts every replica, each supervised (restarted when it exits); resolves once all serve. */
export async function startReplicas(
  replicas: Replica[],
  start: (replica: Replica) => StartChild,
  log: (line: string) => void,
): Promise<Supervised[]> {
  const supervised = replicas.map((r) => new Supervised(r.label, start(r), log));
  try {
    await Promise.all(supervised.map((s) => s.run()));
  } catch (err) {
    for (const s of supervised) s.stop();
    throw err;
  }
  return supervised;
}
