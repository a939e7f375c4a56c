// Keeps a gateway connected to its runtime: connects, notices when the runtime goes away (requests
// then fail fast with 503), and reconnects with backoff, so restarting the runtime restores service
// without restarting the gateway. A heartbeat (a stats request every third of `heartbeatMs`) notices a runtime
// that is connected but frozen (stopped, hung): after `heartbeatMs` without an answer the link reports no binding,
// so /ready turns 503 and new requests fail fast with why, until the runtime answers again.
import type { ModelBinding } from "../../functions/sdk/binding.ts";
import { RuntimeClient } from "./client.ts";

export interface LinkOptions {
  /** First retry delay; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  log?: (line: string) => void;
  /** Called for each chunk read from the runtime (see RuntimeClient.onData). */
  onData?: () => void;
  /** A runtime that has not answered the heartbeat for this long counts as down. Default: what the runtime's hello
   * asks for (`gust runtime --heartbeat-ms`: 10 s on a GPU, none on the CPU, where an engine step blocks the runtime's
   * loop and a long prefill must not count as frozen); 0: no heartbeat. */
  heartbeatMs?: number;
  /** Shared secret the runtime asks for at hello (beyond loopback). */
  authToken?: string;
  /** Says why a freshly connected runtime may not serve (a pool's runtimes must match), or null to take it. */
  accept?: (client: RuntimeClient) => string | null;
  /** Connected and accepted / the connection is gone. */
  onUp?: (client: RuntimeClient) => void;
  onDown?: (client: RuntimeClient) => void;
}

export class RuntimeLink {
  #client: RuntimeClient | null = null;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #delay: number;
  #connecting: Promise<void> | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  /** When the runtime last answered (connect or heartbeat), epoch ms. */
  #answeredAt = 0;
  #frozen = false;
  /** The heartbeat in force: the gateway's option, else the runtime's hello. */
  #heartbeatMs = 0;
  lastError = "not connected yet";

  constructor(readonly address: string, readonly options: LinkOptions = {}) {
    this.#delay = options.retryMs ?? 200;
  }

  /** The binding while connected, else null (the gateway answers 503 with `lastError`). */
  get binding(): ModelBinding | null {
    return this.#client && !this.#client.isClosed && !this.#frozen ? this.#client : null;
  }

  #beat(): void {
    const client = this.#client;
    const limit = this.#heartbeatMs;
    if (!client || client.isClosed) return;
    const silent = Date.now() - this.#answeredAt;
    if (silent > limit && !this.#frozen) {
      this.#frozen = true;
      this.lastError =
        `the runtime at ${this.address} has not answered for ${silent} ms (frozen or stopped?); requests fail until it answers again`;
      this.options.log?.(`gateway: ${this.lastError}`);
    }
    const timeout = AbortSignal.timeout(limit);
    client.stats(timeout).then(() => {
      if (this.#client !== client) return;
      this.#answeredAt = Date.now();
      if (this.#frozen) {
        this.#frozen = false;
        this.options.log?.(`gateway: the runtime at ${this.address} answers again`);
      }
    }, () => {});
  }

  /** Connects once (resolves either way) and keeps reconnecting in the background. */
  start(): Promise<void> {
    this.#connecting ??= this.#attempt();
    return this.#connecting;
  }

  async #attempt(): Promise<void> {
    if (this.#stopped) return;
    try {
      const client = await RuntimeClient.connect(this.address, undefined, this.options.authToken);
      const refusal = this.options.accept?.(client) ?? null;
      if (refusal !== null) {
        client.close();
        if (refusal !== this.lastError) {
          this.options.log?.(`gateway: refused the runtime at ${this.address}: ${refusal}`);
        }
        this.lastError = refusal;
        return this.#schedule();
      }
      this.#client = client;
      client.onData = this.options.onData ?? null;
      this.#delay = this.options.retryMs ?? 200;
      this.#answeredAt = Date.now();
      this.#frozen = false;
      // the gateway's own setting, else the runtime's (a GPU runtime asks for a few seconds, a CPU one for none)
      const every = this.options.heartbeatMs ?? client.info.limits.heartbeatMs ?? 0;
      this.#heartbeatMs = every;
      if (every > 0 && !this.#heartbeat) this.#heartbeat = setInterval(() => this.#beat(), Math.max(50, every / 3));
      this.options.log?.(`gateway: connected to runtime ${this.address} (model ${client.info.id})`);
      client.onClose = () => {
        this.lastError = `the runtime at ${this.address} went away`;
        this.options.log?.(`gateway: lost the runtime at ${this.address}; reconnecting`);
        this.options.onDown?.(client);
        this.#schedule();
      };
      this.options.onUp?.(client);
    } catch (err) {
      const why = (err as Error).message;
      if (why !== this.lastError && /refused the connection/.test(why)) this.options.log?.(`gateway: ${why}`);
      this.lastError = why;
      this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connecting = this.#attempt();
    }, this.#delay);
    this.#delay = Math.min(this.#delay * 2, this.options.maxRetryMs ?? 2000);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#client?.close();
  }
}
