// Proposes draft tokens for a set of sequences: one batched draft forward that catches each sequence's
// draft KV up to the target (inputs: next token + the target's hidden state), then k−1 batched chain
// steps feeding the draft its own post-norm state and its own token. Adaptive: the engine skips
// speculation above `maxBatch` decoding sequences, and a sequence whose tokens per target step stay
// below `minTokensPerStep` after `warmupSteps` rounds stops speculating (it would only cost time).
import type { Backend } from "../../ffi/backend.ts";
import type { BlockManager } from "../engine/block-manager.ts";
import type { SchedulerObserver } from "../engine/scheduler.ts";
import type { Sequence } from "../engine/sequence.ts";
import type { ForwardBatch } from "../model/batch.ts";
import { KvCache } from "../model/kv-cache.ts";
import type { LoadedModel } from "../model/load-model.ts";
import { argmax } from "../sampling/basic.ts";
import type { SequenceSampler } from "../sampling/sampler.ts";
import { DraftInputs } from "./draft-inputs.ts";
import { draftBlockKey, DraftBlocks, DraftState } from "./draft-state.ts";
import type { LoadedDraft } from "./load-draft.ts";
import { drawFrom, Lane, laneUniform } from "./verify.ts";

export interface SpecOptions {
  /** Draft tokens per round (chain length). */
  k: number;
  /** Above this many decoding sequences in a step, nobody speculates (the target is no longer bandwidth-bound). */
  maxBatch: number;
  /** Per-sequence break-even: mean emitted tokens per target step below this turns speculation off. */
  minTokensPerStep: number;
  /** Rounds before a sequence's acceptance is judged. */
  warmupSteps: number;
}

export const defaultSpecOptions: SpecOptions = { k: 3, maxBatch: 16, minTokensPerStep: 1.2, warmupSteps: 8 };

export interface Proposal {
  drafts: number[];
  /** Draft distributions q_i when the sequence samples (temperature > 0), else nulls. */
  probs: (Float64Array | null)[];
}

/** What the engine needs from a speculator (the EAGLE one below; tests use an oracle). As the scheduler's
 *  observer it frees draft blocks with the target's and, with prefix caching, limits and adopts cache hits. */
export interface DraftProposer extends SchedulerObserver {
  readonly options: SpecOptions;
  state(seq: Sequence): DraftState;
  released(seq: Sequence): void;
  pushHidden(seq: Sequence, rows: Float32Array, count: number): void;
  catchUp(seqs: Sequence[]): void;
  recordRound(seq: Sequence, drafted: number, accepted: number, emitted: number): void;
  propose(seqs: Sequence[], k: number): Map<Sequence, Proposal>;
  /** Prefix caching (optional): the target's block manager. */
  attach?(targetBlocks: BlockManager): void;
}

export class Speculator implements DraftProposer {
  /** Totals over every sequence, for the runtime's stats and the gateway's /metrics. */
  readonly totals = { drafted: 0, accepted: 0, steps: 0, emitted: 0 };
  readonly cache: KvCache;
  readonly #inputs: DraftInputs;
  readonly blocks: DraftBlocks;
  readonly #states = new WeakMap<Sequence, DraftState>();
  #targetBlocks: BlockManager | null = null;

  constructor(
    readonly backend: Backend,
    readonly target: LoadedModel,
    readonly draft: LoadedDraft,
    numBlocks: number,
    blockSize: number,
    readonly options: SpecOptions = defaultSpecOptions,
  ) {
    this.cache = new KvCache(backend, draft.model.config, numBlocks, blockSize);
    this.#inputs = new DraftInputs(backend, draft, target.weights);
    this.blocks = new DraftBlocks(numBlocks, blockSize);
  }

  state(seq: Sequence): DraftState {
    let s = this.#states.get(seq);
    if (!s) {
      s = new DraftState();
      this.#states.set(seq, s);
    }
    return s;
  }

  attach(targetBlocks: BlockManager): void {
    this.#targetBlocks = targetBlocks;
  }

  /** Draft cache keys of draft blocks 0..count−1 (the target's block hash + the token after the block). */
  #keys(seq: Sequence, count: number): string[] {
    const bs = this.blocks.blockSize, tb = this.#targetBlocks!;
    return Array.from({ length: count }, (_, i) => draftBlockKey(tb.hashAt(seq, i), seq.tokens[(i + 1) * bs]));
  }

  /** A speculating sequence may reuse target blocks only as far as the draft cache can follow. */
  maxHitBlocks(seq: Sequence): number {
    if (seq.speculativeTokens === 0 || !this.#targetBlocks || !this.state(seq).enabled) return Infinity;
    return this.blocks.hits(this.#keys(seq, Math.floor((seq.numTokens - 1) / this.blocks.blockSize)));
  }

  /** After admission with prefix hits: take the matching draft blocks, so the draft starts where the target does. */
  admitted(seq: Sequence): void {
    const s = this.state(seq);
    const hits = seq.numComputed / this.blocks.blockSize;
    if (seq.speculativeTokens === 0 || !s.enabled || hits === 0 || !this.#targetBlocks) return;
    this.blocks.adopt(s, this.#keys(seq, hits));
  }

  /** Registers the sequence's full draft blocks computed from target features (the catch-up's). */
  #register(seq: Sequence, s: DraftState): void {
    if (!this.#targetBlocks) return;
    const bs = this.blocks.blockSize;
    while ((s.registeredBlocks + 1) * bs <= s.draftComputed && (s.registeredBlocks + 1) * bs < seq.numTokens) {
      const i = s.registeredBlocks;
      this.blocks.register(s, i, draftBlockKey(this.#targetBlocks.hashAt(seq, i), seq.tokens[(i + 1) * bs]));
      s.registeredBlocks++;
    }
  }

  /** A sequence's K/V was freed (preempted or finished): its draft blocks go too. */
  released(seq: Sequence): void {
    const s = this.#states.get(seq);
    if (s) this.blocks.release(s);
  }

  /** Target hidden states of positions the target just computed, for the next catch-up. */
  pushHidden(seq: Sequence, rows: Float32Array, count: number): void {
    const s = this.state(seq), C = this.draft.config.text.hiddenSize;
    if (!s.enabled) return;
    for (let i = 0; i < count; i++) s.pendingHidden.push(rows.slice(i * C, (i + 1) * C));
  }

  /** Records a verification round and applies the break-even rule. */
  recordRound(seq: Sequence, drafted: number, accepted: number, emitted: number): void {
    const s = this.state(seq);
    s.stats.drafted += drafted;
    s.stats.accepted += accepted;
    s.stats.steps++;
    s.stats.emitted += emitted;
    this.totals.drafted += drafted;
    this.totals.accepted += accepted;
    this.totals.steps++;
    this.totals.emitted += emitted;
    if (s.stats.steps >= this.options.warmupSteps && s.stats.emitted / s.stats.steps < this.options.minTokensPerStep) {
      s.disable(
        `acceptance below break-even (${
          (s.stats.emitted / s.stats.steps).toFixed(2)
        } tokens per step < ${this.options.minTokensPerStep})`,
      );
    }
  }

  /** Runs one draft forward over rows of several sequences; returns logits and post-norm states of `lastRows`. */
  #draftForward(
    rows: { seq: Sequence; state: DraftState; positions: number[]; tokens: number[]; features: Float32Array[] }[],
  ) {
    const C = this.draft.config.text.hiddenSize, bs = this.cache.blockSize;
    const tokens = rows.flatMap((r) => r.tokens), n = tokens.length;
    const features = new Float32Array(n * C);
    let at = 0;
    for (const r of rows) for (const f of r.features) features.set(f, (at++) * C);
    const x = this.#inputs.compute(Int32Array.from(tokens), features);
    const maxBlocks = Math.max(1, ...rows.map((r) => r.state.blockTable.length));
    const batch: ForwardBatch = {
      tokenIds: Int32Array.from(tokens),
      inputEmbeddings: x,
      positions: Int32Array.from(rows.flatMap((r) => r.positions)),
      slots: Int32Array.from(
        rows.flatMap((r) => r.positions.map((p) => r.state.blockTable[Math.floor(p / bs)] * bs + (p % bs))),
      ),
      queryStarts: new Int32Array(rows.length + 1),
      contextLens: Int32Array.from(rows.map((r) => r.positions.at(-1)! + 1)),
      blockTables: new Int32Array(rows.length * maxBlocks).fill(-1),
      maxBlocksPerSeq: maxBlocks,
      logitRows: new Int32Array(rows.length),
    };
    let row = 0;
    rows.forEach((r, i) => {
      batch.queryStarts[i] = row;
      batch.blockTables.set(r.state.blockTable, i * maxBlocks);
      row += r.positions.length;
      batch.logitRows[i] = row - 1;
    });
    batch.queryStarts[rows.length] = row;
    return this.draft.model.forward(batch, this.cache);
  }

  /** Catch-up rows of one sequence: draft positions draftComputed .. upTo−1 (tokens shifted by one). */
  #catchUpRows(seq: Sequence, s: DraftState, upTo: number) {
    const count = upTo - s.draftComputed;
    const positions = Array.from({ length: count }, (_, i) => s.draftComputed + i);
    return {
      seq,
      state: s,
      positions,
      tokens: positions.map((p) => seq.tokens[p + 1]),
      features: s.pendingHidden.slice(0, count),
    };
  }

  /** Brings the draft KV of prefilling sequences up to date without proposing (bounds pendingHidden). */
  catchUp(seqs: Sequence[]): void {
    const rows = seqs.flatMap((seq) => {
      const s = this.state(seq);
      const upTo = Math.min(seq.numComputed, seq.numTokens - 1);
      if (!s.enabled || upTo <= s.draftComputed) return [];
      if (s.pendingHidden.length < upTo - s.draftComputed) {
        s.disable("target hidden states missing for part of the prompt (prefix-cache hit)");
        return [];
      }
      if (!this.blocks.ensure(s, upTo)) return [];
      return [this.#catchUpRows(seq, s, upTo)];
    });
    if (rows.length === 0) return;
    this.#draftForward(rows);
    for (const r of rows) {
      this.#advance(r.state, r.positions.length);
      this.#register(r.seq, r.state);
    }
  }

  #advance(s: DraftState, count: number): void {
    s.draftComputed += count;
    s.pendingHidden = s.pendingHidden.slice(count);
  }

  /** Drafts k tokens for each decoding sequence (numComputed = numTokens − 1). Sequences that cannot
   *  speculate this round (disabled, no draft blocks, missing features) are left out of the result. */
  propose(seqs: Sequence[], k: number): Map<Sequence, Proposal> {
    const V = this.draft.config.text.vocabSize, C = this.draft.config.text.hiddenSize;
    const out = new Map<Sequence, Proposal>();
    const rows = seqs.flatMap((seq) => {
      const s = this.state(seq), upTo = seq.numTokens - 1;
      if (!s.enabled || upTo - s.draftComputed < 1 || s.pendingHidden.length < upTo - s.draftComputed) return [];
      if (!this.blocks.ensure(s, upTo + k - 1)) return [];
      return [this.#catchUpRows(seq, s, upTo)];
    });
    if (rows.length === 0) return out;
    let result = this.#draftForward(rows);
    rows.forEach((r) => {
      this.#advance(r.state, r.positions.length);
      this.#register(r.seq, r.state);
    });
    const live = rows.map((r) => ({ ...r, drafts: [] as number[], probs: [] as (Float64Array | null)[] }));
    for (let i = 0; i < k; i++) {
      live.forEach((r, j) => {
        const logits = result.logits.subarray(j * V, (j + 1) * V);
        const sampler = (r.seq.sampler as { sequenceSampler?: SequenceSampler }).sequenceSampler;
        const step = r.seq.numOutputTokens + i;
        if (!sampler || sampler.params.temperature === 0) {
          r.drafts.push(argmax(logits));
          r.probs.push(null);
        } else {
          const q = softmax(logits, sampler.params.temperature);
          r.drafts.push(drawFrom(q, laneUniform(sampler.seed, step, V, Lane.propose)));
          r.probs.push(q);
        }
      });
      if (i === k - 1) break;
      // chain step: draft position (numTokens − 1 + i), input (its own token, its own post-norm state)
      result = this.#draftForward(live.map((r, j) => ({
        seq: r.seq,
        state: r.state,
        positions: [r.seq.numTokens - 1 + i],
        tokens: [r.drafts[i]],
        features: [result.hidden.slice(j * C, (j + 1) * C)],
      })));
    }
    for (const r of live) out.set(r.seq, { drafts: r.drafts, probs: r.probs });
    return out;
  }

  dispose(): void {
    this.#inputs.dispose();
    this.cache.dispose();
  }
}

function softmax(logits: Float32Array, temperature: number): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const p = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += p[i] = Math.exp((logits[i] - max) / temperature);
  for (let i = 0; i < p.length; i++) p[i] /= total;
  return p;
}
