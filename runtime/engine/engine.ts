// The engine loop. Each step: schedule → build one batch → forward → sample (or verify drafts) →
// postprocess (append, stop, finish); aborts and deadlines are applied first. Single-threaded; the
// caller drives `step()`. EAGLE's part of a step lives in runtime/eagle/rounds.ts.
import type { Backend } from "../../ffi/backend.ts";
import type { ForwardResult } from "../model/batch.ts";
import { NativeSampler } from "../sampling/native-sampler.ts";
import type { KvCache } from "../model/kv-cache.ts";
import type { TextModel } from "../model/text-model.ts";
import { ImageFeatureCursor } from "../model/image-prefill.ts";
import { SpeculativeRounds, type Verified } from "../eagle/rounds.ts";
import type { DraftProposer } from "../eagle/speculator.ts";
import { BlockManager } from "./block-manager.ts";
import {
  DeviceLogitRows,
  HostLogitRows,
  type LogitRows,
  type PickRequest,
  prepareNativePick,
  type SamplingPath,
} from "./logit-rows.ts";
import { buildBatch } from "./model-runner.ts";
import { ReasoningBudget, type ThinkIds } from "./reasoning-budget.ts";
import { EngineError, type EngineRequest, type StepEvent, type Usage } from "./request.ts";
import { Scheduler, type SchedulerConfig } from "./scheduler.ts";
import { type FinishReason, type GeneratedToken, Sequence } from "./sequence.ts";

export interface EngineOptions extends Partial<SchedulerConfig> {
  /** [THINK]/[/THINK] ids from the tokenizer (by name); null if the vocabulary has none. */
  thinkIds: ThinkIds | null;
  eosId: number;
  /** Clock for deadlines (tests inject one). */
  now?: () => number;
  /** Caps the served context below the model's (e.g. to what the KV pool can hold for one sequence). */
  maxModelLen?: number;
  /** EAGLE speculative decoding (runtime/eagle); absent = plain decoding. */
  speculator?: DraftProposer;
  /** "native" (default): logits stay in the backend's buffer and gust_sample draws; "typescript": the spec. */
  sampling?: SamplingPath;
}

export class Engine {
  readonly blocks: BlockManager;
  readonly scheduler: Scheduler;
  readonly #byRequest = new Map<string, Sequence[]>();
  readonly #now: () => number;
  readonly #rounds: SpeculativeRounds | null;
  readonly sampling: SamplingPath;
  #native: NativeSampler | null = null;
  #nextId = 0;
  #arrivals = 0;

  constructor(
    readonly backend: Backend,
    readonly model: TextModel,
    readonly cache: KvCache,
    readonly options: EngineOptions,
  ) {
    this.blocks = new BlockManager(cache.numBlocks, cache.blockSize);
    const spec = options.speculator ?? null;
    spec?.attach?.(this.blocks);
    this.scheduler = new Scheduler(
      {
        maxNumSeqs: options.maxNumSeqs ?? 64,
        maxBatchedTokens: options.maxBatchedTokens ?? 512,
        agingSteps: options.agingSteps ?? 256,
      },
      this.blocks,
      spec ?? {},
    );
    this.#now = options.now ?? Date.now;
    this.sampling = options.sampling ?? "native";
    if (this.sampling !== "native" && this.sampling !== "typescript") {
      throw new EngineError("invalid_request", `sampling must be "native" or "typescript", got ${this.sampling}`);
    }
    const { vocabSize, hiddenSize } = model.config;
    this.#rounds = spec && new SpeculativeRounds(spec, this.blocks, vocabSize, hiddenSize, () => this.maxModelLen);
  }

  get hasWork(): boolean {
    return this.scheduler.waiting.length > 0 || this.scheduler.running.length > 0;
  }

  /** Longest sequence served: the model's context, or less when the operator (or the KV pool) says so. */
  get maxModelLen(): number {
    return Math.min(this.model.maxPositions, this.options.maxModelLen ?? Infinity);
  }

  /** Validates and queues a request; returns its sequences (n of them). Throws EngineError. */
  add(req: EngineRequest): Sequence[] {
    const vocab = this.model.config.vocabSize;
    const n = req.n ?? 1;
    if (this.#byRequest.has(req.requestId)) {
      throw new EngineError("duplicate_request", `Request id ${req.requestId} is already in flight`);
    }
    if (!(Number.isInteger(n) && n >= 1 && n <= 128)) {
      throw new EngineError("invalid_request", `n must be an integer in [1, 128], got ${n}`);
    }
    if (req.promptIds.length === 0) {
      throw new EngineError("invalid_request", "The prompt is empty: it needs at least one token");
    }
    req.promptIds.forEach((id, i) => {
      if (!(Number.isInteger(id) && id >= 0 && id < vocab)) {
        throw new EngineError("invalid_request", `Prompt token ${i} is ${id}, outside the vocabulary [0, ${vocab})`);
      }
    });
    const room = this.maxModelLen - req.promptIds.length;
    if (room < 1) {
      throw new EngineError(
        "context_overflow",
        `The prompt has ${req.promptIds.length} tokens; the context holds ${this.maxModelLen}, leaving no room to generate`,
      );
    }
    const maxTokens = req.maxTokens ?? room;
    if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) {
      throw new EngineError("invalid_request", `max_tokens must be a positive integer, got ${req.maxTokens}`);
    }
    if (maxTokens > room) {
      throw new EngineError(
        "context_overflow",
        `Prompt (${req.promptIds.length} tokens) plus max_tokens (${maxTokens}) exceeds the context of ${this.maxModelLen}; lower max_tokens to at most ${room}`,
      );
    }
    const budget = req.reasoningBudget ?? null;
    if (budget !== null && !(Number.isInteger(budget) && budget >= 0)) {
      throw new EngineError("invalid_request", `The reasoning budget must be a non-negative integer, got ${budget}`);
    }
    const blocksNeeded = this.blocks.blocksFor(req.promptIds.length + maxTokens);
    if (blocksNeeded > this.blocks.numBlocks) {
      throw new EngineError(
        "does_not_fit",
        `Cannot schedule request ${req.requestId}: it needs ${blocksNeeded} KV blocks (${
          req.promptIds.length + maxTokens
        } tokens of ${this.blocks.blockSize}), the whole pool has ${this.blocks.numBlocks}`,
      );
    }
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
      const seq = new Sequence(
        this.#nextId++,
        req.requestId,
        req.promptIds,
        req.promptIds.length,
        { maxTokens, stopIds },
        req.sampler(i),
        new ReasoningBudget(this.options.thinkIds, budget, req.promptIds),
        req.priority ?? 0,
        arrival,
        req.blockExtraKey,
        req.deadline ?? null,
      );
      if (i > 0) seq.waitFor = seqs[0];
      seq.images = req.images ?? null;
      seq.speculativeTokens = this.#rounds?.draftLength(req.speculativeTokens) ?? 0;
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
      ...(this.#rounds ? { spec: this.#rounds.usage(seq) } : {}),
    };
  }

  /** One engine step. Returns the events it produced (tokens, finishes). */
  step(): StepEvent[] {
    const events: StepEvent[] = [];
    this.#abortDue(events);
    // 1. schedule: decode and prefill chunks under the token budget (with EAGLE: drafts to verify)
    const { items } = this.scheduler.schedule();
    if (items.length === 0) return events;
    const plan = this.#rounds?.plan(items) ?? null;
    // 2. build one ragged batch of every scheduled token
    const { batch, sampled, spans } = buildBatch(items, this.cache.blockSize, plan ?? {});
    // 3. forward; on the native path the logits stay in the backend's buffer and the sampling of the plain rows is
    // packed first so it runs with the forward (inside the one gust_step call where the batch allows it)
    const budgetForced = sampled.map((seq) => seq.budget.forcedNext());
    const requests = sampled.map((seq, i) => this.#request(seq, spans.get(seq)!.firstLogit, budgetForced[i]));
    const pending = this.sampling === "native"
      ? prepareNativePick(this.#nativeSampler(), requests, this.model.vocabLimit)
      : null;
    const result = this.model.forward(batch, this.cache, {
      logitsOnDevice: pending !== null,
      skipRowHidden: (plan?.proposals.size ?? 0) === 0,
      ...(pending?.sample ? { sample: pending.sample } : {}),
    });
    for (const { seq, numNewTokens } of items) {
      if (plan?.proposals.has(seq)) continue; // a verified sequence's valid K/V is known after verification
      seq.numComputed += numNewTokens;
      this.blocks.registerComputed(seq);
    }
    if (plan) this.#rounds!.absorb(items, spans, result, plan);
    // 4. sample (or force) one token per sequence whose prompt is computed; verify the drafted ones
    const rows = this.#logitRows(result, batch.logitRows.length);
    const picks = (pending ? pending.finish(rows) : rows.pick(requests))
      .map((pick, i): GeneratedToken => ({ ...pick, forced: budgetForced[i] !== null }));
    const verified = plan ? this.#rounds!.verify(plan, spans, rows) : [];
    // 5. postprocess: append, then stop or finish
    sampled.forEach((seq, i) => this.#append(seq, picks[i], this.#event(seq, events), events));
    for (const v of verified) this.#rounds!.settle(v, this.#emitVerified(v, rows, events), spans, result.hidden);
    return events;
  }

  #abortDue(events: StepEvent[]): void {
    const now = this.#now();
    for (const seq of [...this.scheduler.waiting, ...this.scheduler.running]) {
      if (seq.abortRequested || (seq.deadline !== null && now >= seq.deadline)) this.#finish(seq, "abort", events);
    }
  }

  #logitRows(result: ForwardResult, numRows: number): LogitRows {
    const V = this.model.config.vocabSize;
    if (!result.deviceLogits) return new HostLogitRows(result.logits, V);
    const native = this.#nativeSampler();
    return new DeviceLogitRows(native, this.backend, result.deviceLogits, numRows, V, this.model.vocabLimit);
  }

  #nativeSampler(): NativeSampler {
    return this.#native ??= new NativeSampler(this.backend, this.model.config.vocabSize);
  }

  /** Sequence `seq`'s next token from logit row `row`: `forced` when not null, else a draw. */
  #request(seq: Sequence, row: number, forced: number | null): PickRequest {
    return { sampler: seq.sampler, generatedIds: seq.outputIds, step: seq.numOutputTokens, row, forced };
  }

  /** Emits verified candidates in order until one is cut (stop, limit, or a forced token replacing it);
   *  returns how many went out. The budget, stops and limits apply token by token as in plain decoding. */
  #emitVerified(v: Verified, rows: LogitRows, events: StepEvent[]): number {
    const event = this.#event(v.seq, events);
    let emitted = 0;
    for (const token of v.candidates) {
      // the reasoning budget's forced token replaces the candidate
      const budget = v.seq.budget.forcedNext();
      const [pick] = rows.pick([this.#request(v.seq, v.firstRow + emitted++, budget ?? token)]);
      const generated: GeneratedToken = { ...pick, forced: budget !== null };
      if (!this.#append(v.seq, generated, event, events) || generated.token !== token) break;
    }
    return emitted;
  }

  /** Appends one token; finishes the sequence on a stop token or a limit. Returns whether it continues. */
  #append(seq: Sequence, generated: GeneratedToken, event: StepEvent, events: StepEvent[]): boolean {
    seq.appendOutput(generated.token);
    seq.generated.push(generated);
    seq.budget.observe(generated.token, generated.forced);
    event.tokens.push(generated);
    if (seq.limits.stopIds.has(generated.token) && !generated.forced) this.#finish(seq, "stop", events, event);
    else if (seq.numOutputTokens >= seq.limits.maxTokens || seq.numTokens >= this.maxModelLen) {
      this.#finish(seq, "length", events, event);
    } else return true;
    return false;
  }

  #event(seq: Sequence, events: StepEvent[]): StepEvent {
    const event: StepEvent = { requestId: seq.requestId, index: this.#indexOf(seq), tokens: [], finishReason: null };
    events.push(event);
    return event;
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

  /** Runs steps until every queued request has finished; returns all events in order. */
  runToCompletion(onEvent?: (e: StepEvent) => void): StepEvent[] {
    const all: StepEvent[] = [];
    while (this.hasWork) {
      for (const e of this.step()) {
        all.push(e);
        onEvent?.(e);
      }
    }
    return all;
  }
}
