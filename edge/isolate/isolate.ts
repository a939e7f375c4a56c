// A function version in an isolate of its own: a Deno process (host.ts) with only the permissions the function gets,
// a heap cap and a clean environment, spoken to over its stdin/stdout (protocol.ts). The gateway keeps the model
// binding and answers the isolate's model calls with it: that is the one capability a function is handed.
// Limits: memory (the process's resident size, read from /proc while it serves, and V8's heap cap below it: an
// isolate over either is killed or dies, and its requests get a 503 naming the limit); an event loop that does not answer a ping for `stallMs` while requests wait is a CPU limit hit: the isolate
// is killed and its requests get a 503 naming it. A dead isolate is started again for the next request.
import { readFileSync } from "node:fs";
import type { FunctionBindings, FunctionModel } from "../../functions/sdk/types.ts";
import { HttpError } from "../../functions/http/errors.ts";
import {
  type Declared,
  decodeFrame,
  encodeFrame,
  fromBase64,
  type FromIsolate,
  lineReader,
  type ModelFacts,
  type ModelOp,
  toBase64,
} from "./protocol.ts";
import type { ToIsolate } from "./protocol.ts";
import { type Child, spawnChild } from "./spawn.ts";

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

const LOOPBACK = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0"];

/** CPU time (user + system) a process has used, in ms (Linux /proc, at 100 ticks per second), or null. */
function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is the
    // 14th field of the line, stime the 15th, i.e. the 12th and 13th after ")"
    const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(after[11]) + Number(after[12])) * 10;
  } catch {
    return null;
  }
}

/** Resident bytes of a process (Linux /proc), or null where that cannot be read. */
function residentBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export class FunctionIsolate {
  #child: Child | null = null;
  #starting: Promise<Declared> | null = null;
  #allowHosts: string[] = [];
  #stderr = "";
  #killedFor: string | null = null;
  #retired = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #calls = new Map<number, AbortController>();
  #pingSent = 0;
  /** The isolate's CPU time (ms) when the outstanding ping was sent, or null where /proc cannot tell. */
  #pingCpuMs: number | null = null;
  #pingTimer: ReturnType<typeof setInterval> | null = null;
  readonly memoryMiB: number;
  readonly stallMs: number;

  constructor(readonly name: string, readonly bundlePath: string, readonly o: IsolateOptions) {
    this.memoryMiB = o.memoryMiB ?? 256;
    this.stallMs = o.stallMs ?? 2000;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Loads the bundle (again with network to the hosts it declares, if any); resolves with what it declares. */
  async start(): Promise<Declared> {
    let declared = await this.#ensure();
    const hosts = declared.allowHosts;
    if (Array.isArray(hosts) && hosts.length > 0 && this.#allowHosts.length === 0) {
      if (!hosts.every((h) => typeof h === "string" && /^[A-Za-z0-9.-]+(:\d+)?$/.test(h))) {
        this.stop();
        throw new Error("allowHosts must be a list of host names, each with an optional :port");
      }
      this.#allowHosts = hosts as string[];
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
    const permissions = [`--allow-read=${this.bundlePath}`];
    if (this.#allowHosts.length > 0) {
      permissions.push(`--allow-net=${this.#allowHosts.join(",")}`, `--deny-net=${LOOPBACK.join(",")}`);
    }
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
        cmd: this.o.denoBin,
        args: [
          "run",
          "--quiet",
          "--no-prompt",
          "--no-config",
          "--no-lock",
          `--v8-flags=--max-old-space-size=${this.memoryMiB}`, // a backstop: the resident size is checked first
          ...permissions,
          this.o.hostPath,
          this.bundlePath,
        ],
        env: { DENO_DIR: this.o.cacheDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
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
        this.#stopPings();
        const why = this.#exitReason(code);
        fail(why);
        this.#failAll(why);
      });
    });
  }

  #outOfMemory(): string {
    return `function ${
      JSON.stringify(this.name)
    } ran out of memory (its isolate's limit is ${this.memoryMiB} MiB); the isolate was replaced`;
  }

  #exitReason(code: number | null): string {
    const fn = `function ${JSON.stringify(this.name)}`;
    if (this.#killedFor) return this.#killedFor;
    if (/out of memory|heap limit|allocation failed/i.test(this.#stderr)) return this.#outOfMemory();
    return `${fn}'s isolate exited${
      code === null ? "" : ` with code ${code}`
    }; it is started again for the next request`;
  }

  #send(frame: ToIsolate): void {
    this.#child?.write(new TextEncoder().encode(encodeFrame(frame)));
  }

  #kill(reason: string | null): void {
    this.#killedFor = reason;
    this.#child?.kill();
  }

  /** Every waiting request fails with `why` (its isolate is gone). */
  #failAll(why: string): void {
    const error = new HttpError(503, "function_isolate_failed", why);
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.dead = why;
      for (const ac of p.calls) ac.abort(error);
      if (p.head) p.head.reject(error);
      else p.chunk?.({ t: "res-error", id, message: why });
    }
    if (this.#retired) this.stop();
  }

  #startPings(): void {
    if (this.#pingTimer) return;
    this.#pingSent = 0;
    this.#pingTimer = setInterval(() => {
      const now = Date.now();
      // memory off V8's heap (ArrayBuffers) counts too: the process's resident size, checked every tick
      const rss = this.#child ? residentBytes(this.#child.pid) : null;
      if (rss !== null && rss > this.memoryMiB * 2 ** 20) return this.#kill(this.#outOfMemory());
      if (this.#pingSent !== 0 && now - this.#pingSent > this.stallMs) {
        // a CPU limit: the time the isolate spent computing since the unanswered ping (wall time alone would count
        // a machine too busy to run it); where /proc cannot say, wall time
        const cpu = this.#child && this.#pingCpuMs !== null ? cpuMs(this.#child.pid) : null;
        if (cpu === null || cpu - this.#pingCpuMs! > this.stallMs || now - this.#pingSent > 10 * this.stallMs) {
          this.#kill(
            `function ${
              JSON.stringify(this.name)
            } stopped answering: its event loop was busy for over ${this.stallMs} ms ` +
              `(the CPU limit of one turn); its isolate was killed and is started again for the next request`,
          );
          return;
        }
      }
      if (this.#pingSent === 0) {
        this.#pingSent = now;
        this.#pingCpuMs = this.#child ? cpuMs(this.#child.pid) : null;
        this.#send({ t: "ping", n: now });
      }
    }, 50);
  }

  #stopPings(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  #onFrame(f: FromIsolate): void {
    if (f.t === "pong") {
      this.#pingSent = 0;
      return;
    }
    if (f.t === "model-call") return void this.#modelCall(f.call, f.req, f.op, f.input);
    if (f.t === "model-abort") return void this.#calls.get(f.call)?.abort();
    if (f.t === "ready" || f.t === "load-error") return;
    const p = this.#pending.get(f.id);
    if (!p) return;
    if (f.t === "res-head") {
      const head = p.head;
      p.head = null;
      head?.resolve(this.#response(f.id, f.status, f.headers));
    } else if (p.head) {
      this.#pending.delete(f.id);
      p.head.reject(
        f.t === "res-error" && f.notResponse
          ? new HttpError(
            502,
            "function_bad_response",
            `function ${JSON.stringify(this.name)} returned ${f.notResponse} instead of a Response`,
          )
          : new HttpError(
            500,
            "function_error",
            `function ${JSON.stringify(this.name)} failed; its log has the details`,
          ),
      );
      if (f.t === "res-error") this.o.log?.(`function ${this.name}: ${f.message}`);
    } else p.chunk?.(f);
  }

  async #modelCall(call: number, req: number, op: ModelOp, input: unknown): Promise<void> {
    const p = this.#pending.get(req);
    const ac = new AbortController();
    this.#calls.set(call, ac);
    p?.calls.add(ac);
    try {
      if (!p) throw new HttpError(400, "no_request", "model call outside a request");
      if (op === "chat") {
        this.#send({ t: "model-result", call, value: await p.model.chat(input as never, ac.signal) });
      } else if (op === "prepareImages") {
        const { body, options } = input as { body: unknown; options?: never };
        this.#send({ t: "model-result", call, value: await p.model.prepareImages(body, options) });
      } else {
        for await (const event of p.model.stream(input as never, ac.signal)) {
          this.#send({ t: "model-event", call, event });
        }
        this.#send({ t: "model-end", call });
      }
    } catch (err) {
      const e = err as { message?: string; status?: number; code?: string };
      this.#send({
        t: "model-error",
        call,
        error: { message: e.message ?? String(err), status: e.status, code: e.code },
      });
    } finally {
      this.#calls.delete(call);
      p?.calls.delete(ac);
    }
  }

  /** The response whose head arrived: its body is pulled from the isolate one chunk at a time. */
  #response(id: number, status: number, headers: [string, string][]): Response {
    const p = this.#pending.get(id)!;
    const body = status === 204 || status === 304 ? null : new ReadableStream<Uint8Array>({
      pull: (controller) =>
        new Promise<void>((resolve) => {
          if (p.dead !== undefined) {
            controller.error(new Error(p.dead));
            return resolve();
          }
          p.chunk = (f) => {
            p.chunk = null;
            if (f?.t === "res-chunk") controller.enqueue(fromBase64(f.data));
            else {
              this.#pending.delete(id);
              this.#idle();
              if (f?.t === "res-end") controller.close();
              else controller.error(new Error(f?.t === "res-error" ? f.message : "the isolate went away"));
            }
            resolve();
          };
          this.#send({ t: "pull", id });
        }),
      cancel: () => {
        this.#pending.delete(id);
        this.#idle();
        this.#send({ t: "abort", id });
      },
    }, { highWaterMark: 0 });
    if (body === null) {
      this.#pending.delete(id);
      this.#send({ t: "abort", id });
      this.#idle();
    }
    return new Response(body, { status, headers });
  }

  #idle(): void {
    if (this.#pending.size > 0) return;
    this.#stopPings();
    if (this.#retired) this.stop();
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
      this.#startPings();
      const onAbort = () => {
        const p = this.#pending.get(id);
        if (!p) return;
        this.#pending.delete(id);
        this.#send({ t: "abort", id });
        p.head?.reject(req.signal.reason);
        p.chunk?.({ t: "res-error", id, message: "aborted" });
        this.#idle();
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
    this.#stopPings();
    this.#kill(null);
  }
}
