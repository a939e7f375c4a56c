// Keeps a gateway connected to its runtime: connects, notices when the runtime goes away (requests
// then fail fast with 503), and reconnects with backoff, so restarting the runtime restores service
// without restarting the gateway.
import type { ModelBinding } from "../../functions/sdk/binding.ts";
import { RuntimeClient } from "./client.ts";

export interface LinkOptions {
  /** First retry delay; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  log?: (line: string) => void;
  /** Called for each chunk read from the runtime (see RuntimeClient.onData). */
  onData?: () => void;
}

export class RuntimeLink {
  #client: RuntimeClient | null = null;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #delay: number;
  #connecting: Promise<void> | null = null;
  lastError = "not connected yet";

  constructor(readonly address: string, readonly options: LinkOptions = {}) {
    this.#delay = options.retryMs ?? 200;
  }

  /** The binding while connected, else null (the gateway answers 503 with `lastError`). */
  get binding(): ModelBinding | null {
    return this.#client && !this.#client.isClosed ? this.#client : null;
  }

  /** Connects once (resolves either way) and keeps reconnecting in the background. */
  start(): Promise<void> {
    this.#connecting ??= this.#attempt();
    return this.#connecting;
  }

  async #attempt(): Promise<void> {
    if (this.#stopped) return;
    try {
      const client = await RuntimeClient.connect(this.address);
      this.#client = client;
      client.onData = this.options.onData ?? null;
      this.#delay = this.options.retryMs ?? 200;
      this.options.log?.(`gateway: connected to runtime ${this.address} (model ${client.info.id})`);
      client.onClose = () => {
        this.lastError = `the runtime at ${this.address} went away`;
        this.options.log?.(`gateway: lost the runtime at ${this.address}; reconnecting`);
        this.#schedule();
      };
    } catch (err) {
      this.lastError = (err as Error).message;
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
    this.#client?.close();
  }
}
