// The real backend, with the device bytes it holds counted: every alloc and fromHost adds, every dispose of
// such a buffer subtracts. Tests hold the memory formulas (gust plan, the KV pool's reserve) to it.
import type { Backend, DeviceBuffer } from "../../ffi/backend.ts";

export interface DeviceBytes {
  /** Bytes held now. */
  live: number;
  /** Most bytes held at once since the test last set it. */
  peak: number;
}

export function countingBackend(real: Backend): { counting: Backend; bytes: DeviceBytes } {
  const bytes: DeviceBytes = { live: 0, peak: 0 };
  const track = (buf: DeviceBuffer): DeviceBuffer => {
    bytes.live += buf.byteLength;
    bytes.peak = Math.max(bytes.peak, bytes.live);
    const dispose = buf.dispose.bind(buf);
    (buf as { dispose: () => void }).dispose = () => {
      if (!buf.isDisposed) bytes.live -= buf.byteLength;
      dispose();
    };
    return buf;
  };
  const counting = new Proxy(real, {
    get(target, key) {
      if (key === "alloc") return (n: number) => track(target.alloc(n));
      if (key === "fromHost") return (host: ArrayBufferView) => track(target.fromHost(host));
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Backend;
  return { counting, bytes };
}
