// Grammar compilation off the calling thread: a pathological schema costs up to its budget (1 s, 100k states) to
// build or refuse, and on the runtime's thread that second stalls every running stream. Jobs go to one worker
// thread, in order; the packed NFA comes back by transfer, and only the lazy DFA's start is computed here. The
// worker starts on the first job; a worker that dies fails its jobs (the next job starts another). Bun and Deno
// both run it: the Web Worker API, a module worker.
import type { GrammarJob } from "./compile-job.ts";
import type { JobMessage, ResultMessage } from "./compile-worker.ts";
import { type CompiledNfa, SchemaError } from "./schema-grammar.ts";

const WORKER_URL = new URL("./compile-worker.ts", import.meta.url).href;

interface Pending {
  resolve: (c: CompiledNfa) => void;
  reject: (e: Error) => void;
}

export class GrammarCompiler {
  #worker: Worker | null = null;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /** The job's NFA; rejects with a SchemaError when the job is refused (too complex, unsupported). */
  compile(job: GrammarJob): Promise<CompiledNfa> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise<CompiledNfa>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, job } satisfies JobMessage);
    });
  }

  /** Jobs sent and not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Stops the worker; jobs in flight fail. */
  close(): void {
    this.#fail(new Error("the grammar compiler was closed before this grammar was built"));
  }

  #start(): Worker {
    const worker = new Worker(WORKER_URL, { type: "module" });
    // an idle worker must not keep the process alive (Bun; Deno's workers never do)
    (worker as { unref?: () => void }).unref?.();
    worker.onmessage = (e: MessageEvent<ResultMessage>) => this.#settle(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.(); // handled here: on Deno an unhandled worker error would end the whole process
      this.#fail(new Error(`the grammar worker failed: ${e.message}`));
    };
    this.#worker = worker;
    return worker;
  }

  #settle(m: ResultMessage): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if ("compiled" in m) p.resolve(m.compiled);
    else if ("refused" in m) p.reject(new SchemaError(m.refused));
    else p.reject(new Error(`the grammar worker failed: ${m.failed}`));
  }

  #fail(err: Error): void {
    this.#worker?.terminate();
    this.#worker = null;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
