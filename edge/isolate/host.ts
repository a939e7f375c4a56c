// The program inside a function's isolate: its own Deno process, started by isolate.ts with only the permissions the
// function gets (read its own bundle; network only to the hosts it declares, never loopback; no env, no writes, no
// subprocesses), a heap cap, and a clean environment. It loads the bundle, says what the function declares, and
// serves requests over stdin/stdout (protocol.ts). What the function patches (JSON, TextEncoder, crypto, console)
// stays in this process: the frames are written with references taken before the bundle loads.
//   deno run --allow-read=BUNDLE [--allow-net=HOSTS ...] edge/isolate/host.ts BUNDLE [HOSTS]
import {
  type Declared,
  decodeFrame,
  encodeFrame,
  fromBase64,
  type FromIsolate,
  lineReader,
  type ModelFacts,
  type ModelOp,
  type ReqFrame,
  toBase64,
  type ToIsolate,
} from "./protocol.ts";
import { explainRefusedFetch } from "./fetch-refusal.ts";

declare const Deno: {
  args: string[];
  stdin: { readable: ReadableStream<Uint8Array> };
  stdout: { writeSync(p: Uint8Array): number };
  exit(code: number): never;
};

const stringify = JSON.stringify;
const parse = JSON.parse;
const encoder = new TextEncoder();
const writeSync = Deno.stdout.writeSync.bind(Deno.stdout);
const send = (frame: FromIsolate) => {
  const bytes = encoder.encode(encodeFrame(frame, stringify));
  for (let at = 0; at < bytes.length;) at += writeSync(bytes.subarray(at));
};
// stdout is the channel: the function's own logging goes to stderr (the gateway's log)
console.log = console.info = console.debug = console.error;

type Fetch = (req: Request, env: unknown) => unknown;
let fetchFn: Fetch;

const calls = new Map<number, { frame: (f: ToIsolate) => void }>();
let nextCall = 1;

class ModelCallError extends Error {
  constructor(message: string, readonly status?: number, readonly code?: string) {
    super(message);
  }
}

/** `c.var.model` inside the isolate: chat and stream go to the gateway, which holds the real binding. */
function modelFor(req: ReqFrame) {
  const unavailable = () => new ModelCallError(req.modelDown ?? "the model runtime is not connected", 503);
  const open = (
    op: ModelOp,
    input: unknown,
    signal: AbortSignal | undefined,
    frame: (f: ToIsolate) => void,
  ) => {
    const call = nextCall++;
    calls.set(call, { frame });
    send({ t: "model-call", call, req: req.id, op, input });
    signal?.addEventListener("abort", () => send({ t: "model-abort", call }), { once: true });
    return call;
  };
  const ask = (op: ModelOp, input: unknown, signal: AbortSignal | undefined) =>
    new Promise((resolve, reject) => {
      const call = open(op, input, signal, (f) => {
        calls.delete(call);
        if (f.t === "model-result") resolve(f.value);
        else if (f.t === "model-error") reject(new ModelCallError(f.error.message, f.error.status, f.error.code));
      });
    });
  return {
    get info(): ModelFacts {
      if (!req.model) throw unavailable();
      return req.model;
    },
    chat(input: unknown, signal?: AbortSignal): Promise<unknown> {
      return ask("chat", input, signal);
    },
    prepareImages(body: unknown, options?: unknown): Promise<unknown> {
      return ask("prepareImages", { body, options }, undefined);
    },
    async *stream(input: unknown, signal?: AbortSignal): AsyncIterable<unknown> {
      const queue: ToIsolate[] = [];
      let wake: (() => void) | null = null;
      const call = open("stream", input, signal, (f) => {
        if (f.t !== "model-event") calls.delete(call);
        queue.push(f);
        wake?.();
      });
      try {
        for (;;) {
          while (queue.length === 0) await new Promise<void>((r) => (wake = r));
          const f = queue.shift()!;
          if (f.t === "model-event") yield f.event;
          else if (f.t === "model-error") throw new ModelCallError(f.error.message, f.error.status, f.error.code);
          else return;
        }
      } finally {
        if (calls.delete(call)) send({ t: "model-abort", call });
      }
    },
    tokenize(input: unknown): Promise<unknown> {
      return ask("tokenize", input, undefined);
    },
    get binding(): never {
      throw new Error("the low-level token binding is not available inside a function isolate; use model.chat");
    },
  };
}

/** Requests in hand: until the handler settled and its body ended or was cancelled ("done" goes out then). */
interface InHand {
  abort: AbortController;
  reader?: ReadableStreamDefaultReader<Uint8Array>;
  aborted?: boolean;
}
const requests = new Map<number, InHand>();

function finish(id: number): void {
  if (requests.delete(id)) send({ t: "done", id });
}

async function serve(req: ReqFrame): Promise<void> {
  const abort = new AbortController();
  const state: InHand = { abort };
  requests.set(req.id, state);
  try {
    const request = new Request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body === null ? null : (fromBase64(req.body) as BodyInit),
      signal: abort.signal,
    });
    const env = { model: modelFor(req), reasoning: req.reasoning, requestId: req.requestId };
    const res = await fetchFn(request, env);
    if (!(res instanceof Response)) {
      const what = res === null ? "null" : typeof res;
      send({ t: "res-error", id: req.id, message: `returned ${what} instead of a Response`, notResponse: what });
      return finish(req.id);
    }
    if (state.aborted) {
      res.body?.cancel().catch(() => {});
      return finish(req.id);
    }
    send({ t: "res-head", id: req.id, status: res.status, headers: [...res.headers] });
    if (res.body === null) {
      send({ t: "res-end", id: req.id });
      finish(req.id);
    } else state.reader = res.body.getReader();
  } catch (err) {
    send({ t: "res-error", id: req.id, message: (err as Error)?.message ?? String(err) });
    finish(req.id);
  }
}

async function pull(id: number): Promise<void> {
  const reader = requests.get(id)?.reader;
  if (!reader) return;
  try {
    const r = await reader.read();
    if (r.done) {
      send({ t: "res-end", id });
      finish(id);
    } else send({ t: "res-chunk", id, data: toBase64(r.value) });
  } catch (err) {
    send({ t: "res-error", id, message: (err as Error)?.message ?? String(err) });
    finish(id);
  }
}

function onFrame(f: ToIsolate): void {
  if (f.t === "req") void serve(f);
  else if (f.t === "pull") void pull(f.id);
  else if (f.t === "abort") {
    // the gateway gave up on it: the handler is told; the request is done once the handler has settled too
    const r = requests.get(f.id);
    if (!r || r.aborted) return;
    r.aborted = true;
    r.abort.abort(new Error("the request was aborted by the gateway"));
    if (r.reader) {
      r.reader.cancel().catch(() => {});
      finish(f.id);
    }
  } else if (f.t === "ping") send({ t: "pong", n: f.n });
  else calls.get(f.call)?.frame(f);
}

async function load(bundle: string): Promise<Declared> {
  const mod = await import("file://" + bundle.split("/").map(encodeURIComponent).join("/"));
  const d = mod.default;
  if (typeof d === "object" && d !== null && d.kind === "gust-function") {
    if (typeof d.app?.fetch !== "function") throw new Error("defineFunction({...}) needs an app with a fetch method");
    fetchFn = (req, env) => d.app.fetch(req, env);
    // a JSON round trip: only plain data crosses
    return parse(stringify({ name: d.name, limits: d.limits, reasoning: d.reasoning, allowHosts: d.allowHosts }));
  }
  if (typeof d === "object" && d !== null && typeof d.fetch === "function") {
    fetchFn = (req, env) => d.fetch(req, env);
    return {};
  }
  throw new Error(
    `the module's default export must be a Hono app or defineFunction({...}), got ${
      d === undefined ? "nothing" : typeof d
    }`,
  );
}

explainRefusedFetch((Deno.args[1] ?? "").split(",").filter((h) => h !== ""));
try {
  send({ t: "ready", declared: await load(Deno.args[0]) });
} catch (err) {
  send({ t: "load-error", message: (err as Error)?.message ?? String(err) });
  Deno.exit(1);
}
const feed = lineReader((line) => onFrame(decodeFrame(line, parse)));
for await (const chunk of Deno.stdin.readable) feed(chunk);
Deno.exit(0);
