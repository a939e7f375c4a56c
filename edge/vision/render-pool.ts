/** Worker threads for the decoder's work on images (render.ts), so that decoding and resizing a photo (tens to
 * hundreds of milliseconds of CPU) never holds the gateway's event loop: on the loop, one 1920×1080 JPEG held every
 * other stream for ~100 ms (resize and rounding; the decode itself already runs on libvips' threads). Probes go
 * there too, so that the gateway's own isolate never loads the decoder (sharp).
 *
 * Workers start on first use, so a gateway that never sees an image never starts one. A job goes to the worker
 * with the fewest jobs in flight, starting another while all are busy and fewer than `size` run. The encoded bytes
 * are copied to the worker; the RGB result is transferred back. A worker that dies fails its own jobs only (500)
 * and is replaced by the next job. Bun and Deno both run it: the Web Worker API, a module worker. */
import { VisionError } from "./errors.ts";
import type { ProbeJob, ProbeResult, Rendered, RenderJob } from "./render.ts";
import type { JobMessage, ResultMessage } from "./render-worker.ts";

interface Pending {
  resolve: (result: unknown) => void;
  reject: (e: unknown) => void;
}
interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

const WORKER_URL = new URL("./render-worker.ts", import.meta.url).href;

/** Worker threads by default: one core stays the event loop's; more than 4 rarely helps a gateway. */
export function defaultRenderWorkers(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2;
  return Math.max(1, Math.min(4, cores - 1));
}

export class RenderPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new TypeError(`render pool size must be an integer >= 1, got ${String(size)}`);
    }
  }

  /** Workers started so far (they start on demand). */
  get started(): number {
    return this.slots.length;
  }

  render(job: RenderJob): Promise<Rendered> {
    return this.post<Rendered>((id) => ({ id, render: job }));
  }

  probe(job: ProbeJob): Promise<ProbeResult> {
    return this.post<ProbeResult>((id) => ({ id, probe: job }));
  }

  private post<T>(message: (id: number) => JobMessage): Promise<T> {
    if (this.closed) return Promise.reject(new Error("the image render pool is closed (the gateway is stopping)"));
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      slot.worker.postMessage(message(id));
    });
  }

  /** Stops every worker; jobs in flight fail. */
  close(): void {
    this.closed = true;
    for (const slot of this.slots.splice(0)) {
      this.fail(slot, new Error("the image render pool was closed before this image was done"));
    }
  }

  private pick(): Slot {
    let best: Slot | null = null;
    for (const s of this.slots) if (best === null || s.pending.size < best.pending.size) best = s;
    if (best !== null && (best.pending.size === 0 || this.slots.length >= this.size)) return best;
    return this.start();
  }

  private start(): Slot {
    const worker = new Worker(WORKER_URL, { type: "module" });
    const slot: Slot = { worker, pending: new Map() };
    worker.onmessage = (e: MessageEvent<ResultMessage>) => this.settle(slot, e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.(); // handled here: on Deno an unhandled worker error would end the whole process
      this.drop(slot);
      this.fail(slot, new Error(`image worker failed: ${e.message}`));
    };
    this.slots.push(slot);
    return slot;
  }

  private settle(slot: Slot, m: ResultMessage): void {
    const p = slot.pending.get(m.id);
    if (!p) return;
    slot.pending.delete(m.id);
    if ("rgb" in m) p.resolve({ hash: m.hash, rgb: m.rgb } satisfies Rendered);
    else if ("probed" in m) p.resolve(m.probed);
    else if ("refused" in m) p.reject(new VisionError(m.refused.status, m.refused.code, m.refused.message));
    else p.reject(new Error(`image worker: ${m.failed}`));
  }

  private drop(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i !== -1) this.slots.splice(i, 1);
  }

  private fail(slot: Slot, err: Error): void {
    slot.worker.terminate();
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
  }
}

const shared = new Map<number, RenderPool>();

/** One pool per size for the whole process: every vision() middleware (one per function) shares its threads. */
export function sharedRenderPool(size: number): RenderPool {
  let pool = shared.get(size);
  if (!pool) shared.set(size, pool = new RenderPool(size));
  return pool;
}

/** Closes the shared pools (the gateway's shutdown, tests). */
export function closeSharedRenderPools(): void {
  for (const pool of shared.values()) pool.close();
  shared.clear();
}
