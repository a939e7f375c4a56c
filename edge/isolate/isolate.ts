// A function version in an isolate of its own: a Deno process (host.ts) with only the permissions the function gets,
// a heap cap and a clean environment, spoken to over its stdin/stdout (protocol.ts). The gateway keeps the model
// binding and answers the isolate's model calls with it: that is the one capability a function is handed.
// Limits (memory, CPU, wall time: watchdog.ts, with V8's heap cap below the memory limit as a backstop): an isolate
// over one is killed, its requests get the error naming the limit, and it is started again for the next request.
import type { FunctionBindings, FunctionModel } from "../../functions/sdk/types.ts";
import { ModelCalls } from "./model-calls.ts";
import {
  type Declared,
  decodeFrame,
  encodeFrame,
  type FromIsolate,
  lineReader,
  type ModelFacts,
  toBase64,
} from "./protocol.ts";
import type { ToIsolate } from "./protocol.ts";
import { pulledResponse } from "./pulled-body.ts";
import { checkAllowHosts, sandboxCommand } from "./sandbox.ts";
import { type Child, spawnChild } from "./spawn.ts";
import { exitReason, failedBeforeHead, limitError } from "./isolate-errors.ts";
import { type LimitHit, Watchdog } from "./watchdog.ts";

export interface IsolateOptions {
  /** The deno executable. */
  denoBin: string;
  /** host.ts, absolute. */
  hostPath: string;
  /** Deno's cache folder for the isolates (DENO_DIR): the gateway's, never the function's to write. */
  cacheDir: string;
  /** Memory of one isolate: its resident size (checked while it serves, Linux), V8's heap capped at the same as a
   * backstop (a heap near its cap spends seconds collecting; the resident check ends it sooner). Default 256 MiB. */
  memoryMiB?: number;
  /** An isolate whose event loop does not answer for this long while requests wait is killed. Default 2000 ms. */
  stallMs?: number;
  /** A request still in the isolate this long after it was sent has the isolate killed (a 504 naming the limit).
   * Default 600 000 ms (the gateway's request timeout); `gust serve --function-wall-ms`. */
  wallMs?: number;
  /** How long a request the gateway gave up on (timeoutMs, client gone) may go on in the isolate. Default 5000 ms,
   * at most wallMs. */
  abortGraceMs?: number;
  /** Functions may name loopback and this machine's own addresses in allowHosts (`--function-allow-local`). */
  allowLocalHosts?: boolean;
  /** Longest a bundle's load (its top-level code) may take. Default 30 000 ms. */
  loadTimeoutMs?: number;
  log?: (line: string) => void;
}

interface Pending {
  model: FunctionModel;
  head: { resolve(r: Response): void; reject(e: unknown): void } | null;
  chunk: ((f: FromIsolate | null) => void) | null;
  calls: Set<AbortController>;
  /** Set when the isolate died under this request. */
  dead?: string;
}

export class FunctionIsolate {
  #child: Child | null = null;
  #starting: Promise<Declared> | null = null;
  #allowHosts: string[] = [];
  #stderr = "";
  #killedFor: LimitHit | null = null;
  #retired = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #calls = new ModelCalls((f) => this.#send(f));
  readonly #watchdog: Watchdog;
  readonly memoryMiB: number;

  constructor(readonly name: string, readonly bundlePath: string, readonly o: IsolateOptions) {
    this.memoryMiB = o.memoryMiB ?? 256;
    const isolate = this;
    const wallMs = o.wallMs ?? 600_000;
    this.#watchdog = new Watchdog(name, {
      memoryMiB: this.memoryMiB,
      stallMs: o.stallMs ?? 2000,
      wallMs,
      abortGraceMs: Math.min(o.abortGraceMs ?? 5000, wallMs),
    }, {
      get pid() {
        return isolate.pid;
      },
      ping: (n) => this.#send({ t: "ping", n }),
      kill: (hit) => this.#kill(hit),
    });
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Loads the bundle (again with network to the hosts it declares, if any); resolves with what it declares. */
  async start(): Promise<Declared> {
    let declared = await this.#ensure();
    const hosts = declared.allowHosts;
    if (hosts !== undefined && this.#allowHosts.length === 0) {
      try {
        this.#allowHosts = checkAllowHosts(hosts, this.o.allowLocalHosts === true);
      } catch (err) {
        this.stop();
        throw err;
      }
      if (this.#allowHosts.length === 0) return declared;
      this.#kill(null);
      declared = await this.#ensure();
    }
    return declared;
  }

  #ensure(): Promise<Declared> {
    this.#starting ??= this.#spawn().catch((err) => {
      this.#starting = null;
      throw err;
    });
    return this.#starting;
  }

  #spawn(): Promise<Declared> {
    this.#stderr = "";
    this.#killedFor = null;
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        fail(
          `its import did not finish within ${this.o.loadTimeoutMs ?? 30_000} ms (top-level code that never settles?)`,
        );
        this.#kill(null);
      }, this.o.loadTimeoutMs ?? 30_000);
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new Error(message));
      };
      const child = spawnChild({
        ...sandboxCommand({
          ...this.o,
          bundlePath: this.bundlePath,
          memoryMiB: this.memoryMiB,
          allowHosts: this.#allowHosts,
        }),
        onStdout: lineReader((line) => {
          let frame: FromIsolate;
          try {
            frame = decodeFrame(line);
          } catch {
            this.o.log?.(`function ${this.name}: ${line.slice(0, 500)}`);
            return;
          }
          if (frame.t === "ready" && !settled) {
            settled = true;
            clearTimeout(timer);
            resolve(frame.declared);
          } else if (frame.t === "load-error") fail(frame.message);
          else this.#onFrame(frame);
        }),
        onStderr: (chunk) => {
          const text = new TextDecoder().decode(chunk);
          this.#stderr = (this.#stderr + text).slice(-4000);
          for (const line of text.split("\n")) if (line) this.o.log?.(`function ${this.name}: ${line}`);
        },
      });
      this.#child = child;
      void child.exited.then((code) => {
        if (this.#child !== child) return;
        this.#child = null;
        this.#starting = null;
        this.#watchdog.reset();
        const why = this.#killedFor ?? exitReason(this.name, this.#stderr, code, this.memoryMiB);
        fail(why.message);
        this.#failAll(why);
      });
    });
  }

  #send(frame: ToIsolate): void {
    this.#child?.write(new TextEncoder().encode(encodeFrame(frame)));
  }

  #kill(reason: LimitHit | null): void {
    this.#killedFor = reason;
    this.#child?.kill();
  }

  /** Every waiting request fails with `why` (its isolate is gone). */
  #failAll(why: LimitHit): void {
    for (const [id, p] of this.#pending) {
      const error = limitError(why, id);
      this.#pending.delete(id);
      p.dead = why.message;
      for (const ac of p.calls) ac.abort(error);
      if (p.head) p.head.reject(error);
      else p.chunk?.({ t: "res-error", id, message: why.message });
    }
    if (this.#retired) this.stop();
  }

  #onFrame(f: FromIsolate): void {
    if (f.t === "pong") return this.#watchdog.pong();
    if (f.t === "done") return this.#watchdog.end(f.id);
    if (f.t === "model-call") return void this.#calls.answer(this.#pending.get(f.req), f.call, f.op, f.input);
    if (f.t === "model-abort") return this.#calls.abort(f.call);
    if (f.t === "ready" || f.t === "load-error") return;
    const p = this.#pending.get(f.id);
    if (!p) return;
    if (f.t === "res-head") {
      const head = p.head;
      p.head = null;
      head?.resolve(pulledResponse(p, f.status, f.headers, {
        pull: () => this.#send({ t: "pull", id: f.id }),
        ended: () => {
          this.#pending.delete(f.id);
          this.#idle();
        },
        cancel: () => this.#giveUp(f.id),
      }));
    } else if (p.head) {
      this.#pending.delete(f.id);
      p.head.reject(failedBeforeHead(this.name, f));
      if (f.t === "res-error") this.o.log?.(`function ${this.name}: ${f.message}`);
    } else p.chunk?.(f);
  }

  /** The gateway is done with a request before the isolate said it is: the isolate is told to stop it. */
  #giveUp(id: number): void {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    this.#watchdog.aborted(id);
    for (const ac of p?.calls ?? []) ac.abort(new Error("the request was given up"));
    this.#send({ t: "abort", id });
    this.#idle();
  }

  #idle(): void {
    if (this.#pending.size === 0 && this.#retired) this.stop();
  }

  /** Serves one request in the isolate, with `env` (the gateway's bindings) answering its model calls. */
  async fetch(req: Request, env: FunctionBindings): Promise<Response> {
    await this.#ensure();
    const body = req.method === "GET" || req.method === "HEAD" ? null : new Uint8Array(await req.arrayBuffer());
    let model: ModelFacts | null = null;
    let modelDown: string | undefined;
    try {
      const info = env.model.info;
      model = { id: info.id, contextLength: info.contextLength, vocabSize: info.vocabSize, hasVision: info.hasVision };
    } catch (err) {
      modelDown = (err as Error).message;
    }
    const id = this.#nextId++;
    return new Promise<Response>((resolve, reject) => {
      this.#pending.set(id, { model: env.model, head: { resolve, reject }, chunk: null, calls: new Set() });
      this.#watchdog.begin(id);
      const onAbort = () => {
        const p = this.#pending.get(id);
        if (!p) return;
        this.#giveUp(id);
        p.head?.reject(req.signal.reason);
        p.chunk?.({ t: "res-error", id, message: "aborted" });
      };
      if (req.signal.aborted) return onAbort();
      req.signal.addEventListener("abort", onAbort, { once: true });
      this.#send({
        t: "req",
        id,
        method: req.method,
        url: req.url,
        headers: [...req.headers],
        body: body && body.length > 0 ? toBase64(body) : null,
        requestId: env.requestId,
        reasoning: env.reasoning,
        model,
        modelDown,
      });
    });
  }

  /** Stops the isolate once its requests are over (a newer version took its place). */
  retire(): void {
    this.#retired = true;
    this.#idle();
  }

  stop(): void {
    this.#retired = true;
    this.#watchdog.reset();
    this.#kill(null);
  }
}
