// The runtime process's server: gateways connect over a Unix socket (or loopback TCP), send generate /
// abort / stats frames, and receive token-id deltas batched per engine step. The engine loop runs
// here, yielding to I/O between steps; no socket ever blocks it.
import { existsSync, unlinkSync } from "node:fs";
import type { Socket, TCPSocketListener, UnixSocketListener } from "bun";
import { type Frame, FrameError } from "../wire/frames.ts";
import { parseClientMessage, WireError } from "../wire/schemas.ts";
import type {
  ClientMessage,
  DeltasMessage,
  ErrorCode,
  GenerateMessage,
  RuntimeStats,
  WireDelta,
} from "../wire/messages.ts";
import { admissionRefusal, constrainedSampler, plainSampler } from "./request-sampler.ts";
import { wireDelta } from "./wire-delta.ts";
import { AuthGate } from "./auth-gate.ts";
import { Connection, type ConnectionLimits, wireIdOf } from "./connection.ts";
import { ImageRequestError, type PreparedImages } from "./images.ts";
import { ImageQueue } from "./image-queue.ts";
import { GrammarStage } from "./grammar-stage.ts";
import type { ModelHost } from "./model-host.ts";

export interface ServerOptions extends Partial<ConnectionLimits> {
  socketPath?: string;
  port?: number;
  hostname?: string;
  /** Shared secret a gateway must send (an `auth` frame) before it gets the hello; required beyond loopback. */
  authToken?: string;
  /** Sent in the hello's limits: the heartbeat gateways watch this runtime with unless told otherwise. */
  heartbeatMs?: number;
  log?: (line: string) => void;
}

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

export class RuntimeServer {
  readonly #connections = new Map<Socket<unknown>, Connection>();
  readonly #owners = new Map<string, Connection>(); // engine request id → connection
  #listener: UnixSocketListener<unknown> | TCPSocketListener<unknown> | null = null;
  #wake: (() => void) | null = null;
  /** Image requests waiting for the next vision-tower batch (encoded together before the next step). */
  readonly #images: ImageQueue;
  #nextConnection = 1;
  #stopped = false;
  #loop: Promise<void> | null = null;
  draining = false;
  steps = 0;
  abortedTotal = 0;
  readonly limits: ConnectionLimits;
  readonly #log: (line: string) => void;
  /** Requests waiting for their grammars to be built off this thread. */
  readonly #grammars: GrammarStage;

  /** The shared-token check at connection start (only with options.authToken). */
  readonly #auth: AuthGate | null;

  constructor(readonly host: ModelHost, readonly options: ServerOptions) {
    this.#grammars = new GrammarStage(host.jsonConstraints);
    this.#images = new ImageQueue(host);
    this.limits = {
      maxPendingBytes: options.maxPendingBytes ?? 16 << 20,
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    };
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#auth = options.authToken === undefined
      ? null
      : new AuthGate(options.authToken, this.#log, (conn) => this.#hello(conn));
  }

  listen(): string {
    const handlers = {
      open: (s: Socket<unknown>) => this.#open(s),
      data: (s: Socket<unknown>, chunk: Uint8Array) => this.#data(s, chunk),
      drain: (s: Socket<unknown>) => this.#connections.get(s)?.onDrain(),
      close: (s: Socket<unknown>) => this.#close(s),
      error: (s: Socket<unknown>, err: Error) => {
        this.#log(`runtime: connection error: ${err.message}`);
        this.#close(s);
      },
    };
    let where: string;
    if (this.options.socketPath) {
      if (existsSync(this.options.socketPath)) unlinkSync(this.options.socketPath); // a stale socket from a crash
      this.#listener = Bun.listen({ unix: this.options.socketPath, socket: handlers });
      where = `unix:${this.options.socketPath}`;
    } else {
      const hostname = this.options.hostname ?? "127.0.0.1";
      this.#listener = Bun.listen({ hostname, port: this.options.port ?? 0, socket: handlers });
      where = `tcp:${hostname}:${(this.#listener as TCPSocketListener<unknown>).port}`;
    }
    this.#loop = this.#run();
    return where;
  }

  #open(socket: Socket<unknown>): void {
    const conn = new Connection(this.#nextConnection++, socket, this.limits);
    this.#connections.set(socket, conn);
    if (!this.#auth) return this.#hello(conn);
    this.#auth.opened(conn);
  }

  #hello(conn: Connection): void {
    const { message, binary } = this.host.hello(this.draining);
    message.limits.heartbeatMs = this.options.heartbeatMs ?? 0;
    conn.send(message, binary);
  }

  #data(socket: Socket<unknown>, chunk: Uint8Array): void {
    const conn = this.#connections.get(socket);
    if (!conn) return;
    let frames: Frame[];
    try {
      frames = conn.decoder.push(new Uint8Array(chunk));
    } catch (err) {
      if (err instanceof FrameError) {
        conn.send({ type: "error", id: null, code: "invalid_request", message: err.message });
        socket.end();
        return;
      }
      throw err;
    }
    for (const frame of frames) {
      if (this.#auth?.isWaiting(conn)) {
        if (!this.#auth.check(conn, frame.message as ClientMessage)) return;
        continue;
      }
      let msg: ClientMessage;
      try {
        msg = parseClientMessage(frame.message);
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        conn.send({ type: "error", id: err.id, code: "invalid_request", message: err.message });
        continue;
      }
      this.#handle(conn, msg, frame.binary);
    }
  }

  #handle(conn: Connection, msg: ClientMessage, binary: Uint8Array): void {
    switch (msg.type) {
      case "generate":
        return this.#generate(conn, msg, binary);
      case "abort":
        if (this.#grammars.abort(conn, msg.id)) return;
        if (this.host.engine.abort(conn.engineId(msg.id))) this.#wakeUp();
        return;
      case "stats":
        conn.send({ type: "stats", id: msg.id, stats: this.stats() });
        return;
      case "auth": // a gateway with a token, to a runtime without one: nothing to check
        return;
    }
  }

  #refuse(conn: Connection, id: string, code: ErrorCode, message: string): void {
    conn.send({ type: "error", id, code, message });
  }

  #generate(conn: Connection, msg: GenerateMessage, binary: Uint8Array): void {
    if (this.draining) {
      return this.#refuse(conn, msg.id, "draining", "The runtime is shutting down and accepts no new requests");
    }
    if (
      conn.requests.has(msg.id) || this.#grammars.has(conn, msg.id) ||
      this.#images.has(conn, msg.id)
    ) {
      return this.#refuse(
        conn,
        msg.id,
        "duplicate_request",
        `Request id ${msg.id} is already running on this connection`,
      );
    }
    if (msg.images && msg.images.length > 0) {
      try {
        this.#images.add(conn, msg, binary);
        this.#wakeUp();
      } catch (err) {
        if (err instanceof ImageRequestError) return this.#refuse(conn, msg.id, "invalid_request", err.message);
        throw err;
      }
      return;
    }
    this.#admit(conn, msg);
  }

  /** `compiled`: its grammars were built by the grammar stage (admit it now, even if the cache dropped one since). */
  #admit(conn: Connection, msg: GenerateMessage, vision?: PreparedImages, compiled = false): void {
    const engine = this.host.engine;
    try {
      const plain = plainSampler(this.host, msg); // throws on bad sampling parameters or two constraints
      const waits = !compiled && this.#grammars.hold(
        conn,
        msg,
        (aborted) => {
          this.#admit(conn, msg, vision, true);
          if (aborted && this.host.engine.abort(conn.engineId(msg.id))) this.#wakeUp();
        },
        (message) => this.#refuse(conn, msg.id, "internal", message),
      );
      if (waits) return;
      const { sampler, constrained } = constrainedSampler(this.host, msg, plain);
      const n = msg.n ?? 1;
      engine.add({
        requestId: conn.engineId(msg.id),
        promptIds: msg.promptIds,
        maxTokens: msg.maxTokens,
        stopIds: msg.stopIds,
        ignoreEos: msg.ignoreEos,
        reasoningBudget: msg.reasoningBudget ?? null,
        priority: msg.priority,
        n,
        deadline: msg.timeoutMs !== undefined ? Date.now() + msg.timeoutMs : undefined,
        sampler,
        images: vision?.features,
        blockExtraKey: vision?.blockExtraKey,
        // constrained answers take no speculation: drafts are verified against the unconstrained distribution
        speculativeTokens: constrained ? 0 : msg.speculativeTokens,
      });
      conn.requests.set(msg.id, n);
      this.#owners.set(conn.engineId(msg.id), conn);
      this.#wakeUp();
    } catch (err) {
      const refusal = admissionRefusal(err, msg);
      if (!refusal) this.#log(`runtime: request ${msg.id} failed: ${(err as Error).stack ?? err}`);
      const { code, message } = refusal ?? { code: "internal", message: `Internal error: ${(err as Error).message}` };
      return this.#refuse(conn, msg.id, code, message);
    }
  }

  #close(socket: Socket<unknown>): void {
    const conn = this.#connections.get(socket);
    if (!conn) return;
    conn.closed = true;
    this.#connections.delete(socket);
    this.#abortRequestsOf(conn); // the reader is gone
    this.#wakeUp();
  }

  #abortRequestsOf(conn: Connection): void {
    for (const id of conn.requests.keys()) this.host.engine.abort(conn.engineId(id));
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #run(): Promise<void> {
    const engine = this.host.engine;
    while (!this.#stopped) {
      this.#abortStalled();
      this.#images.encodeWaiting(
        (conn, msg, prepared) => this.#admit(conn, msg, prepared),
        (conn, msg, message) => this.#refuse(conn, msg.id, "invalid_request", message),
      );
      if (!engine.hasWork && this.#images.size === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      let events;
      try {
        events = engine.step();
      } catch (err) {
        this.#log(`runtime: engine step failed: ${(err as Error).stack ?? err}`);
        this.#failAll(`Internal error in the engine: ${(err as Error).message}`);
        continue;
      }
      this.steps++;
      const batches = new Map<Connection, WireDelta[]>();
      for (const e of events) {
        const conn = this.#owners.get(e.requestId);
        if (!conn) continue;
        const wireId = wireIdOf(e.requestId);
        if (!batches.has(conn)) batches.set(conn, []);
        batches.get(conn)!.push(wireDelta(wireId, e));
        if (e.finishReason) {
          if (e.finishReason === "abort") this.abortedTotal++;
          const left = (conn.requests.get(wireId) ?? 1) - 1;
          if (left > 0) conn.requests.set(wireId, left);
          else {
            conn.requests.delete(wireId);
            this.#owners.delete(e.requestId);
          }
        }
      }
      for (const [conn, deltas] of batches) conn.send({ type: "deltas", deltas } satisfies DeltasMessage);
      await yieldToIo();
    }
  }

  /** Requests of a connection that stopped reading are aborted so they stop holding KV blocks. */
  #abortStalled(): void {
    const now = Date.now();
    for (const conn of this.#connections.values()) {
      if (conn.isStalledTooLong(now)) {
        this.#log(
          `runtime: connection ${conn.id} stopped reading for ${this.limits.stallTimeoutMs} ms with ${conn.pendingBytes} bytes queued; aborting its requests`,
        );
        this.#abortRequestsOf(conn);
        conn.socket.end();
      }
    }
  }

  /** Ends every running request with an error frame (a follower rank died: the runtime is about to exit). */
  failAllRequests(message: string): void {
    this.#failAll(message);
  }

  #failAll(message: string): void {
    for (const [engineId, conn] of this.#owners) {
      conn.send({ type: "error", id: wireIdOf(engineId), code: "internal", message });
      this.host.engine.abort(engineId);
    }
  }

  stats(): RuntimeStats {
    const e = this.host.engine;
    return {
      running: e.scheduler.running.length,
      waiting: e.scheduler.waiting.length,
      kvBlocksUsed: e.blocks.numUsed,
      kvBlocksTotal: e.blocks.numBlocks,
      prefixCacheHitRate: e.blocks.cacheQueries > 0 ? e.blocks.cacheHits / e.blocks.cacheQueries : 0,
      steps: this.steps,
      abortedTotal: this.abortedTotal,
      connections: this.#connections.size,
      vision: { ...this.#images.counts },
      spec: (({ drafted, accepted, steps, emitted }) => ({ drafted, accepted, targetSteps: steps, emitted }))(
        this.host.speculator?.totals ?? { drafted: 0, accepted: 0, steps: 0, emitted: 0 },
      ),
    };
  }

  /** Stops admitting, lets in-flight work finish for up to graceMs, aborts the rest, then closes. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const until = Date.now() + graceMs;
    const busy = () => this.host.engine.hasWork || this.#images.size > 0 || this.#grammars.size > 0;
    while (busy() && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.host.engine.hasWork) {
      for (const conn of this.#connections.values()) this.#abortRequestsOf(conn);
      this.#wakeUp();
      while (this.host.engine.hasWork) await new Promise((r) => setTimeout(r, 5));
    }
    await this.close();
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#wakeUp();
    await this.#loop;
    for (const conn of this.#connections.values()) conn.socket.end();
    this.#listener?.stop(true);
    if (this.options.socketPath && existsSync(this.options.socketPath)) unlinkSync(this.options.socketPath);
  }
}
