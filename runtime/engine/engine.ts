// The engine loop: admit requests, schedule a step, run one batched forward, sample (or force) one
// token per ready sequence, finish, abort, repeat. Single-threaded; the caller drives `step()`.
import type { Backend } from "../../ffi/backend.ts";
import type { KvCache } from "../model/kv-cache.ts";
import type { TextModel } from "../model/text-model.ts";
import { ImageFeatureCursor } from "../model/image-prefill.ts";
import { BlockManager } from "./block-manager.ts";
import { buildBatch, type SeqSpan } from "./model-runner.ts";
import { verifyDrafts } from "../eagle/verify.ts";
import type { DraftProposer, Proposal } from "../eagle/speculator.ts";
import { ReasoningBudget, type ThinkIds } from "./reasoning-budget.ts";
import { EngineError, type EngineRequest, type StepEvent, type Usage } from "./request.ts";
import { Scheduler, type SchedulerConfig } from "./scheduler.ts";
import { type FinishReason, Sequence } from "./sequence.ts";

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
    const spec = options.speculator;
    if (spec) {
      this.scheduler.onRelease = (seq) => spec.release(seq);
      spec.attach?.(this.blocks);
      if (spec.maxHitBlocks) this.scheduler.maxHitBlocks = (seq) => spec.maxHitBlocks!(seq);
      if (spec.onAdmit) this.scheduler.onAdmit = (seq) => spec.onAdmit!(seq);
    }
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
      seq.speculativeTokens = this.options.speculator
        ? Math.max(0, Math.min(req.speculativeTokens ?? this.options.speculator.options.k, 16))
        : 0;
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
      ...(this.options.speculator ? { spec: this.#specUsage(seq) } : {}),
    };
  }

  #specUsage(seq: Sequence): NonNullable<Usage["spec"]> {
    const st = this.options.speculator!.state(seq);
    const s = st.stats;
    return {
      drafted: s.drafted,
      accepted: s.accepted,
      target_steps: s.steps,
      tokens_per_step: s.steps > 0 ? s.emitted / s.steps : 0,
      off_reason: seq.speculativeTokens === 0 ? "disabled for this request" : st.offReason,
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
    for (const seq of [...this.scheduler.waiting, ...this.scheduler.running]) {
      if (seq.abortRequested || (seq.deadline !== null && now >= seq.deadline)) this.#finish(seq, "abort", events);
    }
    const { items } = this.scheduler.schedule();
    if (items.length === 0) return events;
    const spec = this.options.speculator ?? null;
    const proposals = spec ? this.#propose(spec, items) : new Map<Sequence, Proposal>();
    const wantHidden = spec
      ? new Set(
        items.filter((it) => it.seq.speculativeTokens > 0 && spec.state(it.seq).enabled && !proposals.has(it.seq)).map((
          it,
        ) => it.seq),
      )
      : undefined;
    const drafts = new Map([...proposals].map(([seq, p]) => [seq, p.drafts]));
    const { batch, sampled, spans } = buildBatch(items, this.cache.blockSize, { drafts, wantHidden });
    const result = this.model.forward(batch, this.cache);
    const V = this.model.config.vocabSize, C = this.model.config.hiddenSize;
    const prefilling: Sequence[] = [];
    for (const { seq, numNewTokens } of items) {
      if (proposals.has(seq)) continue;
      seq.numComputed += numNewTokens;
      this.blocks.registerComputed(seq);
      const span = spans.get(seq)!;
      if (spec && span.firstHidden >= 0) {
        spec.pushHidden(
          seq,
          result.allHidden!.subarray(span.firstHidden * C, (span.firstHidden + span.numRows) * C),
          span.numRows,
        );
        if (numNewTokens > 1) prefilling.push(seq);
      }
    }
    if (spec && prefilling.length > 0) spec.catchUp(prefilling); // keeps the draft in step with long prompts
    for (const seq of sampled) {
      const at = spans.get(seq)!.firstLogit;
      const event: StepEvent = { requestId: seq.requestId, index: this.#indexOf(seq), tokens: [], finishReason: null };
      events.push(event);
      this.#emit(seq, result.logits.subarray(at * V, (at + 1) * V), null, event, events);
    }
    for (const [seq, proposal] of proposals) {
      this.#verify(seq, proposal, result.logits, result.hidden, spans.get(seq)!, events);
    }
    return events;
  }

  /** Drafts for decoding sequences, unless too many decode at once; each gets blocks for its drafts. */
  #propose(spec: DraftProposer, items: { seq: Sequence; numNewTokens: number }[]): Map<Sequence, Proposal> {
    const decoding = items.filter((it) =>
      it.numNewTokens === 1 && it.seq.numComputed === it.seq.numTokens - 1 &&
      it.seq.speculativeTokens > 0 && it.seq.sampler.sequenceSampler !== undefined
    ).map((it) => it.seq);
    if (decoding.length === 0 || items.length > spec.options.maxBatch) return new Map();
    const byK = new Map<number, Sequence[]>();
    for (const seq of decoding) {
      const room = Math.min(seq.limits.maxTokens - seq.numOutputTokens, this.maxModelLen - seq.numTokens) - 1;
      const k = Math.min(seq.speculativeTokens, room);
      if (k >= 1) byK.set(k, [...(byK.get(k) ?? []), seq]);
    }
    const out = new Map<Sequence, Proposal>();
    for (const [k, seqs] of byK) for (const [seq, p] of spec.propose(seqs, k)) out.set(seq, p);
    for (const [seq, p] of out) if (!this.blocks.grow(seq, 1 + p.drafts.length)) out.delete(seq);
    return out;
  }

  /**
   * Appends one token chosen from `row` (or `candidate` when verification already chose it) with the
   * reasoning budget's forcing, stop tokens and limits. Returns false when the sequence ended or a forced
   * token replaced the candidate (the caller stops emitting then).
   */
  #emit(seq: Sequence, row: Float32Array, candidate: number | null, event: StepEvent, events: StepEvent[]): boolean {
    const forced = seq.budget.forcedNext();
    const pick = forced !== null
      ? seq.sampler.forced(row, forced)
      : candidate !== null
      ? seq.sampler.forced(row, candidate)
      : seq.sampler.sample(row, seq.outputIds, seq.numOutputTokens);
    const generated = { ...pick, forced: forced !== null };
    seq.appendOutput(generated.token);
    seq.generated.push(generated);
    seq.budget.observe(generated.token, generated.forced);
    event.tokens.push(generated);
    if (seq.limits.stopIds.has(generated.token) && !generated.forced) this.#finish(seq, "stop", events, event);
    else if (seq.numOutputTokens >= seq.limits.maxTokens || seq.numTokens >= this.maxModelLen) {
      this.#finish(seq, "length", events, event);
    } else return candidate === null || generated.token === candidate;
    return false;
  }

  /** Accepts drafts against the target rows, emits them (budget, stops and limits apply token by token),
   *  and rolls the caches back to the positions whose K/V is still valid. */
  #verify(
    seq: Sequence,
    proposal: Proposal,
    logits: Float32Array,
    hidden: Float32Array,
    span: SeqSpan,
    events: StepEvent[],
  ): void {
    const spec = this.options.speculator!, V = this.model.config.vocabSize, C = this.model.config.hiddenSize;
    const rowOf = (i: number) => logits.subarray((span.firstLogit + i) * V, (span.firstLogit + i + 1) * V);
    const before = seq.numTokens;
    const outcome = verifyDrafts({
      drafts: proposal.drafts,
      draftProbs: proposal.probs,
      rows: rowOf,
      sampler: seq.sampler.sequenceSampler!,
      generated: seq.outputIds,
      step: seq.numOutputTokens,
    });
    const candidates = [...proposal.drafts.slice(0, outcome.accepted), outcome.next];
    const event: StepEvent = { requestId: seq.requestId, index: this.#indexOf(seq), tokens: [], finishReason: null };
    events.push(event);
    let emitted = 0;
    for (const token of candidates) {
      emitted++;
      if (!this.#emit(seq, rowOf(emitted - 1), token, event, events)) break;
    }
    spec.recordRound(seq, proposal.drafts.length, Math.min(emitted - 1, outcome.accepted), emitted);
    if (seq.isDone) return;
    // valid target K/V: the last token's position and each emitted token's that matched its draft
    seq.numComputed = before - 1 + emitted;
    this.blocks.truncate(seq, this.blocks.blocksFor(seq.numTokens));
    this.blocks.registerComputed(seq);
    spec.pushHidden(seq, hidden.subarray(span.firstLogit * C, (span.firstLogit + emitted) * C), emitted);
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
