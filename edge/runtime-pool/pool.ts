// One gateway over many runtimes (`gust serve --runtime A --runtime B …`): a RuntimeLink per address keeps each
// connected; a runtime is taken only if its hello matches the pool's (identity.ts); its stats are polled for the
// router's load figures; and the pool's binding (pool-binding.ts) routes every generation through the policy in
// routing.ts. A runtime that goes away stops getting requests at once and rejoins when its link reconnects.
import type { RuntimeStats } from "../../runtime/wire/messages.ts";
import type { ModelBinding } from "../../functions/sdk/binding.ts";
import type { RuntimeClient } from "../runtime-client/client.ts";
import { RuntimeLink } from "../runtime-client/link.ts";
import { identityDifference, type RuntimeIdentity, runtimeIdentity } from "./identity.ts";
import { PoolBinding } from "./pool-binding.ts";
import { PoolMetrics } from "./pool-metrics.ts";
import { PrefixRouter, type RoutingMode, type RuntimeLoad } from "./routing.ts";

export interface PoolOptions {
  routing?: RoutingMode;
  /** Shared secret sent at hello to runtimes that ask for one (--auth-token-file). */
  authToken?: string;
  /** Heartbeat of each runtime link (RuntimeLink's heartbeatMs; 0 or absent: none). */
  heartbeatMs?: number;
  /** How often each runtime's stats (load) are read. Default 200 ms. */
  statsIntervalMs?: number;
  retryMs?: number;
  maxRetryMs?: number;
  log?: (line: string) => void;
  /** Called for each chunk read from any runtime (the gateway's stall monitor). */
  onData?: () => void;
}

/** One runtime of the pool as the pool sees it. */
export class PoolMember {
  client: RuntimeClient | null = null;
  /** Said it is shutting down (hello or a "draining" refusal): no new requests until it reconnects. */
  draining = false;
  /** Generations this gateway has open on it (counts before its next stats frame does). */
  inFlight = 0;
  stats: RuntimeStats | null = null;

  constructor(readonly address: string, readonly link: RuntimeLink) {}

  get isUp(): boolean {
    // the link's binding is null while it is closed or its heartbeat finds the runtime frozen
    return this.client !== null && this.link.binding !== null && !this.draining;
  }

  get load(): RuntimeLoad {
    const s = this.stats;
    const total = s?.kvBlocksTotal ?? this.client?.info.limits.numBlocks ?? 0;
    return {
      queued: Math.max(s ? s.running + s.waiting : 0, this.inFlight),
      kvBlocksFree: s ? s.kvBlocksTotal - s.kvBlocksUsed : total,
      kvBlocksTotal: total,
    };
  }
}

export class RuntimePool {
  readonly members: PoolMember[];
  readonly metrics: PoolMetrics;
  readonly #binding: PoolBinding;
  #router: PrefixRouter | null = null;
  #identity: RuntimeIdentity | null = null;
  #poll: ReturnType<typeof setInterval> | null = null;

  constructor(addresses: readonly string[], readonly options: PoolOptions = {}) {
    if (addresses.length === 0) throw new RangeError("a runtime pool needs at least one runtime address");
    if (new Set(addresses).size !== addresses.length) throw new RangeError("a runtime address is given twice");
    this.metrics = new PoolMetrics();
    this.members = addresses.map((address) => {
      const link: RuntimeLink = new RuntimeLink(address, {
        retryMs: options.retryMs,
        maxRetryMs: options.maxRetryMs,
        log: options.log,
        onData: options.onData,
        authToken: options.authToken,
        heartbeatMs: options.heartbeatMs,
        accept: (client) => this.#accept(client),
        onUp: (client) => this.#up(member, client),
        onDown: () => this.#down(member),
      });
      const member = new PoolMember(address, link);
      return member;
    });
    this.metrics.setRuntimes(this.members);
    this.#binding = new PoolBinding(this);
  }

  /** The pool's binding while some runtime takes requests, else null (the gateway answers 503 with lastError). */
  get binding(): ModelBinding | null {
    return this.members.some((m) => m.isUp) ? this.#binding : null;
  }

  get lastError(): string {
    const state = (m: PoolMember) =>
      m.isUp ? "connected" : m.draining ? "draining (shutting down, takes no new requests)" : m.link.lastError;
    return this.members.map((m) => (this.members.length === 1 ? state(m) : `${m.address}: ${state(m)}`)).join("; ");
  }

  get router(): PrefixRouter | null {
    return this.#router;
  }

  /** Connects every runtime once (resolves either way) and keeps reconnecting and reading stats in the background. */
  async start(): Promise<void> {
    await Promise.all(this.members.map((m) => m.link.start()));
    this.#poll ??= setInterval(() => this.#readStats(), this.options.statsIntervalMs ?? 200);
  }

  stop(): void {
    if (this.#poll) clearInterval(this.#poll);
    for (const m of this.members) m.link.stop();
  }

  /** The runtimes that may take a new request now, by address, with their loads. */
  candidates(exclude: ReadonlySet<string> = new Set()): Map<string, RuntimeLoad> {
    return new Map(this.members.filter((m) => m.isUp && !exclude.has(m.address)).map((m) => [m.address, m.load]));
  }

  member(address: string): PoolMember {
    return this.members.find((m) => m.address === address)!;
  }

  /** The first runtime to connect (while none is) sets what the others must match. */
  #accept(client: RuntimeClient): string | null {
    const identity = runtimeIdentity(client.hello, client.tokenizerDigest);
    if (this.#identity && this.members.some((m) => m.client && !m.client.isClosed)) {
      return identityDifference(this.#identity, identity);
    }
    this.#identity = identity;
    if (this.#router?.blockSize !== client.info.limits.blockSize) {
      this.#router = new PrefixRouter({ blockSize: client.info.limits.blockSize, mode: this.options.routing });
    }
    return null;
  }

  #up(member: PoolMember, client: RuntimeClient): void {
    member.client = client;
    member.draining = client.hello.draining;
    member.stats = null;
    this.#router?.forget(member.address); // a restarted runtime's cache starts empty
  }

  #down(member: PoolMember): void {
    member.client = null;
    member.draining = false;
    member.stats = null;
    this.#router?.forget(member.address);
  }

  #readStats(): void {
    for (const m of this.members) {
      const client = m.client;
      if (!client || client.isClosed) continue;
      const timeout = AbortSignal.timeout(2_000);
      client.stats(timeout).then((s) => {
        if (m.client === client) m.stats = s;
      }, () => {});
    }
  }
}
