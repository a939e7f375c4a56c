// The vitest-free half of the CUDA-vs-CPU parity helpers (parity.ts re-exports it): the CUDA backend or the reason
// there is none, running one op on both backends, and NMSE. Scripts that a suite spawns with another environment
// (linear-wgmma-run.ts) import this file, since they run outside the test runner.
import { type Backend, createBackend, type DeviceBuffer } from "../../ffi/backend.ts";

let probe: { backend: Backend | null; reason: string } | undefined;

/** True when GUST_GPU_SUITES_ON_CPU=1 puts the CPU backend in CUDA's place (see cudaBackend). */
export const standIn = process.env.GUST_GPU_SUITES_ON_CPU === "1";

/** The CUDA backend, created once per test process; null with a reason where it cannot run. */
export function cudaBackend(): { backend: Backend | null; reason: string } {
  if (!probe) {
    try {
      // GUST_GPU_SUITES_ON_CPU=1 runs these suites with the CPU backend standing in for CUDA: it checks the
      // harness itself (shapes, budgets, error expectations) on a machine without a GPU.
      const kind = standIn ? "cpu" : "cuda";
      probe = { backend: createBackend(kind), reason: "" };
    } catch (err) {
      probe = { backend: null, reason: (err as Error).message.split("\n")[0] };
    }
  }
  return probe;
}

/** For describe.skipIf: the backend, or null after printing why this suite skips. */
export function gpuOrSkip(suite: string): Backend | null {
  const { backend, reason } = cudaBackend();
  if (!backend) console.log(`GPU tests skipped (${suite}): ${reason}`);
  return backend;
}

export const cpu: Backend = createBackend("cpu");

/** Runs `op` on a backend with `inputs` uploaded and returns the bytes of output buffer `outIndex`. */
export function runOn<T extends ArrayBufferView>(
  b: Backend,
  inputs: ArrayBufferView[],
  out: T,
  op: (bufs: DeviceBuffer[], outBuf: DeviceBuffer) => void,
): T {
  const bufs = inputs.map((v) => b.fromHost(v.byteLength > 0 ? v : new Uint8Array(4)));
  const outBuf = b.alloc(Math.max(out.byteLength, 4));
  try {
    op(bufs, outBuf);
    return b.download(outBuf, out);
  } finally {
    bufs.forEach((x) => x.dispose());
    outBuf.dispose();
  }
}

/** The same op on the CPU and the CUDA backend: [cpu result, gpu result]. */
export function onBoth<T extends ArrayBufferView>(
  gpu: Backend,
  inputs: ArrayBufferView[],
  make: () => T,
  op: (b: Backend, bufs: DeviceBuffer[], outBuf: DeviceBuffer) => void,
): [T, T] {
  return [
    runOn(cpu, inputs, make(), (bufs, o) => op(cpu, bufs, o)),
    runOn(gpu, inputs, make(), (bufs, o) => op(gpu, bufs, o)),
  ];
}

/** ‖got − want‖² / ‖want‖² (0 when both are zero); NaN anywhere gives Infinity. */
export function nmse(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < want.length; i++) {
    const d = got[i] - want[i];
    if (!Number.isFinite(d)) return Infinity;
    num += d * d;
    den += want[i] * want[i];
  }
  return den === 0 ? (num === 0 ? 0 : Infinity) : num / den;
}
