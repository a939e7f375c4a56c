// The model binding of a runtime pool: each generation goes to the runtime the router picks. A generation that has
// not produced its first event when its runtime goes away (or answers "draining", or "overloaded") is sent to another
// runtime, so requests not yet started never see the failure; one that has streamed tokens ends with the runtime's
// error (its tokens cannot be moved).
import type { RuntimeStats } from "../../runtime/wire/messages.ts";
import {
  type GenerateEvent,
  type GenerateOptions,
  type ModelBinding,
  type ModelInfo,
  RuntimeError,
} from "../../functions/sdk/binding.ts";
import type { PoolMember, RuntimePool } from "./pool.ts";
import { imageBlockKeysOf } from "./routing.ts";

const MOVABLE = new Set(["unavailable", "draining", "overloaded"]);

export class PoolBinding implements ModelBinding {
  constructor(private readonly pool: RuntimePool) {}

  get info(): ModelInfo {
    const up = this.pool.members.find((m) => m.isUp) ?? this.pool.members.find((m) => m.client && !m.client.isClosed);
    if (!up?.client) throw new RuntimeError("unavailable", `No gust runtime is connected: ${this.pool.lastError}`);
    return up.client.info;
  }

  generate(o: GenerateOptions): AsyncIterable<GenerateEvent> {
    return this.#run(o);
  }

  async *#run(o: GenerateOptions): AsyncGenerator<GenerateEvent> {
    const tried = new Set<string>();
    for (;;) {
      const member = this.#pick(o, tried);
      tried.add(member.address);
      let started = false;
      member.inFlight++;
      try {
        for await (const event of member.client!.generate(o)) {
          started = true;
          if (event.usage) this.#countUsage(member, event.usage.prompt_tokens, event.usage.cached_tokens);
          yield event;
        }
        return;
      } catch (err) {
        const code = (err as RuntimeError).code;
        if (started || !(err instanceof RuntimeError) || !MOVABLE.has(code) || o.signal?.aborted) throw err;
        if (code === "draining") member.draining = true;
        if (this.pool.candidates(tried).size === 0) throw err;
        this.pool.metrics.retries.inc({ runtime: member.address });
      } finally {
        member.inFlight--;
      }
    }
  }

  #pick(o: GenerateOptions, tried: ReadonlySet<string>): PoolMember {
    const candidates = this.pool.candidates(tried);
    const router = this.pool.router;
    if (candidates.size === 0 || !router) {
      throw new RuntimeError("unavailable", `No gust runtime can take the request now: ${this.pool.lastError}`);
    }
    const decision = router.route(
      o.promptIds,
      candidates,
      imageBlockKeysOf(o, this.info.image?.tokenIds, router.blockSize),
    );
    router.record(decision.runtime, decision.hashes);
    this.pool.metrics.routed(decision.runtime, decision.reason);
    return this.pool.member(decision.runtime);
  }

  #countUsage(member: PoolMember, promptTokens: number, cachedTokens: number): void {
    this.pool.metrics.promptTokens.inc({ runtime: member.address }, promptTokens);
    this.pool.metrics.prefixHitTokens.inc({ runtime: member.address }, cachedTokens);
  }

  /** The pool's totals: counts summed over the runtimes that answered, the hit rate averaged. */
  async stats(signal?: AbortSignal): Promise<RuntimeStats> {
    const up = this.pool.members.filter((m) => m.client && !m.client.isClosed);
    const got = (await Promise.allSettled(up.map((m) => m.client!.stats(signal))))
      .flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    if (got.length === 0) throw new RuntimeError("unavailable", `No gust runtime answered: ${this.pool.lastError}`);
    const sum = (read: (s: RuntimeStats) => number) => got.reduce((t, s) => t + read(s), 0);
    return {
      running: sum((s) => s.running),
      waiting: sum((s) => s.waiting),
      kvBlocksUsed: sum((s) => s.kvBlocksUsed),
      kvBlocksTotal: sum((s) => s.kvBlocksTotal),
      prefixCacheHitRate: sum((s) => s.prefixCacheHitRate) / got.length,
      steps: sum((s) => s.steps),
      abortedTotal: sum((s) => s.abortedTotal),
      connections: sum((s) => s.connections),
      vision: { batches: sum((s) => s.vision?.batches ?? 0), requests: sum((s) => s.vision?.requests ?? 0) },
      spec: {
        drafted: sum((s) => s.spec.drafted),
        accepted: sum((s) => s.spec.accepted),
        targetSteps: sum((s) => s.spec.targetSteps),
        emitted: sum((s) => s.spec.emitted),
      },
    };
  }
}
