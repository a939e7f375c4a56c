// The model binding over a socket to a runtime process, on Bun and Deno (byte-stream.ts). One client is one
// connection; RuntimeLink (link.ts) reconnects when the runtime restarts.
import { concatBytes } from "../../runtime/text/utf8.ts";
import { encodeFrame, type Frame, FrameDecoder } from "../../runtime/wire/frames.ts";
import type {
  ClientMessage,
  DeltasMessage,
  ErrorMessage,
  HelloMessage,
  RuntimeStats,
  ServerMessage,
  StatsMessage,
} from "../../runtime/wire/messages.ts";
import {
  type GenerateEvent,
  type GenerateOptions,
  type ModelBinding,
  type ModelInfo,
  RuntimeError,
} from "../../functions/sdk/binding.ts";
import { AsyncQueue } from "./async-queue.ts";
import { type ByteStream, connectByteStream, parseRuntimeAddress, type StreamHandlers } from "./byte-stream.ts";
import { readHello } from "./hello.ts";
import { parseServerMessage, WireError } from "../../runtime/wire/schemas.ts";

interface Pending {
  queue: AsyncQueue<GenerateEvent>;
  samplesLeft: number;
}

export class RuntimeClient implements ModelBinding {
  readonly #pending = new Map<string, Pending>();
  readonly #statsWaiters = new Map<string, (s: RuntimeStats) => void>();
  #nextId = 1;
  #closed = false;
  onClose: (() => void) | null = null;
  /** Called for each chunk read from the runtime, before its frames are dispatched (the gateway's stall monitor). */
  onData: (() => void) | null = null;

  private constructor(
    readonly address: string,
    readonly info: ModelInfo,
    /** The runtime's hello as sent, and a digest of its tokenizer files (a pool compares runtimes by both). */
    readonly hello: HelloMessage,
    readonly tokenizerDigest: string,
    private readonly stream: ByteStream,
    private readonly decoder: FrameDecoder,
  ) {}

  /** A chunk from the runtime. */
  #receive(chunk: Uint8Array): void {
    this.onData?.();
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.#shutdown(`the runtime sent an unreadable frame (${(err as Error).message})`);
      return;
    }
    for (const f of frames) this.#dispatchFrame(f);
  }

  /** A frame's JSON checked against the wire schemas; a malformed one means a broken runtime: drop the link. */
  #dispatchFrame(f: Frame): void {
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(f.message);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      return this.#shutdown(`the runtime sent a malformed frame (${err.message})`);
    }
    this.#dispatch(msg);
  }

  /** Connects and waits for the runtime's hello (model info, limits, tokenizer files). Frames that come after the
   * hello while its tokenizer loads are held and dispatched, in order, once the client exists. A runtime beyond
   * loopback asks for `authToken` (its --auth-token-file) before it says hello. */
  static connect(address: string, timeoutMs = 10_000, authToken?: string): Promise<RuntimeClient> {
    return new Promise((resolve, reject) => {
      const decoder = new FrameDecoder();
      const early: Frame[] = [];
      let client: RuntimeClient | null = null;
      let stream: ByteStream | null = null;
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stream?.close();
        reject(
          new RuntimeError(
            "unavailable",
            `Cannot reach the gust runtime at ${address}: ${why}. Start it with \`gust runtime --model DIR --socket PATH\`.`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`no hello within ${timeoutMs} ms`), timeoutMs);
      const greet = async (first: Frame) => {
        let greeting;
        try {
          greeting = await readHello(first);
        } catch (err) {
          return fail((err as Error).message);
        }
        if (settled) return; // timed out or closed while the tokenizer loaded
        settled = true;
        clearTimeout(timer);
        const { info, hello, tokenizerDigest } = greeting;
        const c = new RuntimeClient(address, info, hello, tokenizerDigest, stream!, decoder);
        for (const f of early.splice(0).slice(1)) c.#dispatchFrame(f);
        client = c;
        resolve(c);
      };
      const handlers: StreamHandlers = {
        data: (chunk) => {
          if (client) return client.#receive(chunk);
          let frames;
          try {
            frames = decoder.push(chunk);
          } catch (err) {
            return fail((err as Error).message);
          }
          const greeting = early.length > 0;
          early.push(...frames);
          if (!greeting && early.length > 0) void greet(early[0]);
        },
        closed: (why) => (client ? client.#shutdown(why) : fail(why)),
      };
      connectByteStream(parseRuntimeAddress(address), handlers).then(
        (s) => {
          if (settled) return s.close();
          stream = s;
          if (authToken !== undefined) s.write(encodeFrame({ type: "auth", id: "auth", token: authToken }));
        },
        (err: Error) => fail(err.message),
      );
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Frames sent in this turn of the event loop, written as one at its end: requests sent together reach the
   * runtime in one read, so it sees them at once (one vision-tower call for their images, one scheduling step) and
   * the socket takes one write instead of one per frame. Example: generate A, generate B, abort C in one turn →
   * one write of A+B+C after the turn's synchronous code. */
  #outbox: Uint8Array[] = [];
  readonly #flushOutbox = (): void => {
    const frames = this.#outbox;
    this.#outbox = [];
    if (this.#closed) return; // shut down meanwhile: those requests were failed already
    this.stream.write(frames.length === 1 ? frames[0] : concatBytes(frames));
  };

  #send(message: ClientMessage, binary?: Uint8Array): void {
    if (this.#outbox.push(encodeFrame(message, binary)) === 1) queueMicrotask(this.#flushOutbox);
  }

  #dispatch(msg: ServerMessage): void {
    if (msg.type === "deltas") this.#deltas(msg);
    else if (msg.type === "error") this.#error(msg);
    else if (msg.type === "stats") this.#stats(msg);
  }

  #deltas(msg: DeltasMessage): void {
    for (const d of msg.deltas) {
      const p = this.#pending.get(d.id);
      if (!p) continue;
      const forced = new Set(d.forced ?? []);
      p.queue.push({
        index: d.index,
        finishReason: d.finish,
        usage: d.usage,
        tokens: d.tokens.map((t, i) => ({
          token: t[0],
          logprob: t[1],
          forced: forced.has(i),
          ...(t.length > 2 ? { topLogprobs: t[2]!.map(([token, logprob]) => ({ token, logprob })) } : {}),
        })),
      });
      if (d.finish && --p.samplesLeft === 0) {
        p.queue.close();
        this.#pending.delete(d.id);
      }
    }
  }

  #error(msg: ErrorMessage): void {
    const err = new RuntimeError(msg.code, msg.message);
    if (msg.id === null) return this.#shutdown(msg.message);
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    p.queue.fail(err);
  }

  #stats(msg: StatsMessage): void {
    this.#statsWaiters.get(msg.id)?.(msg.stats);
    this.#statsWaiters.delete(msg.id);
  }

  #shutdown(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new RuntimeError("unavailable", `The gust runtime at ${this.address} is unavailable: ${why}`);
    for (const p of this.#pending.values()) p.queue.fail(err);
    this.#pending.clear();
    this.stream.close();
    this.onClose?.();
  }

  generate(o: GenerateOptions): AsyncIterable<GenerateEvent> {
    if (this.#closed) throw new RuntimeError("unavailable", `The gust runtime at ${this.address} is not connected`);
    const id = String(this.#nextId++);
    const queue = new AsyncQueue<GenerateEvent>();
    const n = o.n ?? 1;
    this.#pending.set(id, { queue, samplesLeft: n });
    const abort = () => {
      if (this.#pending.has(id) && !this.#closed) this.#send({ type: "abort", id });
    };
    queue.onReturn = abort;
    o.signal?.addEventListener("abort", abort, { once: true });
    let binary: Uint8Array | undefined;
    const images = o.images?.map((img) => ({ width: img.width, height: img.height, hash: img.hash, byteOffset: 0 }));
    if (o.images && o.images.length > 0) {
      const total = o.images.reduce((s, i) => s + i.rgb.byteLength, 0);
      binary = new Uint8Array(total);
      let off = 0;
      o.images.forEach((img, i) => {
        images![i].byteOffset = off;
        binary!.set(img.rgb, off);
        off += img.rgb.byteLength;
      });
    }
    this.#send({
      type: "generate",
      id,
      promptIds: o.promptIds,
      images,
      sampling: o.sampling,
      maxTokens: o.maxTokens,
      stopIds: o.stopIds,
      ignoreEos: o.ignoreEos,
      reasoningBudget: o.reasoningBudget,
      priority: o.priority,
      n,
      timeoutMs: o.timeoutMs,
      speculativeTokens: o.speculativeTokens,
      ...(o.responseFormat ? { responseFormat: o.responseFormat } : {}),
      ...(o.toolCalls ? { toolCalls: o.toolCalls } : {}),
    }, binary);
    if (o.signal?.aborted) abort();
    return queue;
  }

  stats(signal?: AbortSignal): Promise<RuntimeStats> {
    if (this.#closed) {
      return Promise.reject(new RuntimeError("unavailable", `The gust runtime at ${this.address} is not connected`));
    }
    const id = `s${this.#nextId++}`;
    return new Promise((resolve, reject) => {
      this.#statsWaiters.set(id, resolve);
      signal?.addEventListener("abort", () => {
        this.#statsWaiters.delete(id); // a frozen runtime's heartbeat must not pile up waiters
        reject(new Error("stats request aborted"));
      }, { once: true });
      this.#send({ type: "stats", id });
    });
  }

  close(): void {
    this.#shutdown("the gateway closed the connection");
  }
}
