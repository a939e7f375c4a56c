// The engine loop: admit requests, schedule a step, run one batched forward, sample (or force) one
// token per ready sequence, finish, abort, repeat. Single-threaded; the caller drives `step()`.
import type { Backend } from "../../ffi/backend.ts";
import type { KvCache } from "../model/kv-cache.ts";
import type { TextModel } from "../model/text-model.ts";
import { ImageFeatureCursor } from "../model/image-prefill.ts";
import { BlockManager } from "./block-manager.ts";
import { runStep } from "./model-runner.ts";
import { ReasoningBudget, type ThinkIds } from "./reasoning-budget.ts";
import { EngineError, type EngineRequest, type StepEvent, type Usage } from "./request.ts";
import { Scheduler, type SchedulerConfig } from "./scheduler.ts";
import { Sequence, type FinishReason } from "./sequence.ts";

export interface EngineOptions extends Partial<SchedulerConfig> {
  /** [THINK]/[/THINK] ids from the tokenizer (by name); null if the vocabulary has none. */
  thinkIds: ThinkIds | null;
  eosId: number;
  /** Clock for deadlines (tests inject one). */
  now?: () => number;
}

export class Engine {
  readonly blocks: BlockManager;
  readonly scheduler: Scheduler;
  readonly #byRequest = new Map<string, Sequence[]>();
  readonly #now: () => number;
  #nextId = 0;
  #arrivals = 0;

  constructor(
    readonly backend: Backend,
    readonly model: TextModel,
    readonly cache: KvCache,
    readonly options: EngineOptions,
  ) {
    this.blocks = new BlockManager(cache.numBlocks, cache.blockSize);
    this.scheduler = new Scheduler({
      maxNumSeqs: options.maxNumSeqs ?? 64,
      maxBatchedTokens: options.maxBatchedTokens ?? 512,
      agingSteps: options.agingSteps ?? 256,
    }, this.blocks);
    this.#now = options.now ?? Date.now;
  }

  get hasWork(): boolean {
    return this.scheduler.waiting.length > 0 || this.scheduler.running.length > 0;
  }

  get maxModelLen(): number {
    return this.model.maxPositions;
  }

  /** Validates and queues a request; returns its sequences (n of them). Throws EngineError. */
  add(req: EngineRequest): Sequence[] {
    const vocab = this.model.config.vocabSize;
    const n = req.n ?? 1;
    if (this.#byRequest.has(req.requestId)) throw new EngineError("duplicate_request", `Request id ${req.requestId} is already in flight`);
    if (!(Number.isInteger(n) && n >= 1 && n <= 128)) throw new EngineError("invalid_request", `n must be an integer in [1, 128], got ${n}`);
    if (req.promptIds.length === 0) throw new EngineError("invalid_request", "The prompt is empty: it needs at least one token");
    req.promptIds.forEach((id, i) => {
      if (!(Number.isInteger(id) && id >= 0 && id < vocab))
        throw new EngineError("invalid_request", `Prompt token ${i} is ${id}, outside the vocabulary [0, ${vocab})`);
    });
    const room = this.maxModelLen - req.promptIds.length;
    if (room < 1)
      throw new EngineError("context_overflow", `The prompt has ${req.promptIds.length} tokens; the context holds ${this.maxModelLen}, leaving no room to generate`);
    const maxTokens = req.maxTokens ?? room;
    if (!(Number.isInteger(maxTokens) && maxTokens >= 1))
      throw new EngineError("invalid_request", `max_tokens must be a positive integer, got ${req.maxTokens}`);
    if (maxTokens > room)
      throw new EngineError("context_overflow", `Prompt (${req.promptIds.length} tokens) plus max_tokens (${maxTokens}) exceeds the context of ${this.maxModelLen}; lower max_tokens to at most ${room}`);
    const budget = req.reasoningBudget ?? null;
    if (budget !== null && !(Number.isInteger(budget) && budget >= 0))
      throw new EngineError("invalid_request", `The reasoning budget must be a non-negative integer, got ${budget}`);
    const blocksNeeded = this.blocks.blocksFor(req.promptIds.length + maxTokens);
    if (blocksNeeded > this.blocks.numBlocks)
      throw new EngineError("does_not_fit", `Cannot schedule request ${req.requestId}: it needs ${blocksNeeded} KV blocks (${req.promptIds.length + maxTokens} tokens of ${this.blocks.blockSize}), the whole pool has ${this.blocks.numBlocks}`);
    if (req.images) {
      try {
        ImageFeatureCursor.check(req.promptIds, req.images);
      } catch (err) {
        throw new EngineError("invalid_request", (err as Error).message);
      }
    }
    const stopIds = new Set([...(req.stopIds ?? []), ...(req.ignoreEos ? [] : [this.options.eosId])]);
    const arrival = this.#arrivals++;
    const seqs: Sequence[] = [];
    for (let i = 0; i < n; i++) {
      const seq = new Sequence(this.#nextId++, req.requestId, req.promptIds, req.promptIds.length, { maxTokens, stopIds },
        req.sampler(i), new ReasoningBudget(this.options.thinkIds, budget, req.promptIds), req.priority ?? 0, arrival,
        req.blockExtraKey, req.deadline ?? null);
      if (i > 0) seq.waitFor = seqs[0];
      seq.images = req.images ?? null;
      seqs.push(seq);
      this.scheduler.add(seq);
    }
    this.#byRequest.set(req.requestId, seqs);
    return seqs;
  }

  /** Marks a request for abort; it leaves at the start of the next step with its blocks returned. */
  abort(requestId: string): boolean {
    const seqs = this.#byRequest.get(requestId);
    if (!seqs) return false;
    for (const s of seqs) s.abortRequested = true;
    return true;
  }

  usage(seq: Sequence): Usage {
    return {
      prompt_tokens: seq.numPromptTokens,
      completion_tokens: seq.numOutputTokens,
      total_tokens: seq.numTokens,
      reasoning_tokens: seq.budget.reasoningTokens,
      budget_exhausted: seq.budget.budgetExhausted,
      cached_tokens: seq.numCachedTokens,
      preemptions: seq.numPreemptions,
    };
  }

  #finish(seq: Sequence, reason: FinishReason, events: StepEvent[], event?: StepEvent): void {
    this.scheduler.remove(seq);
    seq.status = reason === "abort" ? "aborted" : "finished";
    seq.finishReason = reason;
    const e = event ?? { requestId: seq.requestId, index: this.#indexOf(seq), tokens: [], finishReason: null };
    e.finishReason = reason;
    e.usage = this.usage(seq);
    if (!event) events.push(e);
    const siblings = this.#byRequest.get(seq.requestId)!;
    if (siblings.every((s) => s.isDone)) this.#byRequest.delete(seq.requestId);
  }

  #indexOf(seq: Sequence): number {
    return this.#byRequest.get(seq.requestId)?.indexOf(seq) ?? 0;
  }

  /** One engine step. Returns the events it produced (tokens, finishes). */
  step(): StepEvent[] {
    const events: StepEvent[] = [];
    const now = this.#now();
    for (const seq of [...this.scheduler.waiting, ...this.scheduler.running])
      if (seq.abortRequested || (seq.deadline !== null && now >= seq.deadline)) this.#finish(seq, "abort", events);
    const { items } = this.scheduler.schedule();
    if (items.length === 0) return events;
    const { sequences, result } = runStep(this.model, this.cache, items);
    for (const { seq, numNewTokens } of items) {
      seq.numComputed += numNewTokens;
      this.blocks.registerComputed(seq);
    }
    const vocab = this.model.config.vocabSize;
    sequences.forEach((seq, r) => {
      const row = result.logits.subarray(r * vocab, (r + 1) * vocab);
      const forced = seq.budget.forcedNext();
      const step = seq.numOutputTokens;
      const pick = forced !== null ? seq.sampler.forced(row, forced) : seq.sampler.sample(row, seq.outputIds, step);
      const generated = { ...pick, forced: forced !== null };
      seq.tokens.push(generated.token);
      seq.generated.push(generated);
      seq.budget.observe(generated.token, generated.forced);
      const event: StepEvent = { requestId: seq.requestId, index: this.#indexOf(seq), tokens: [generated], finishReason: null };
      events.push(event);
      if (seq.limits.stopIds.has(generated.token) && !generated.forced) this.#finish(seq, "stop", events, event);
      else if (seq.numOutputTokens >= seq.limits.maxTokens || seq.numTokens >= this.maxModelLen) this.#finish(seq, "length", events, event);
    });
    return events;
  }

  /** Runs steps until every queued request has finished; returns all events in order. */
  runToCompletion(onEvent?: (e: StepEvent) => void): StepEvent[] {
    const all: StepEvent[] = [];
    while (this.hasWork) for (const e of this.step()) {
      all.push(e);
      onEvent?.(e);
    }
    return all;
  }
}
