// EAGLE's part of an engine step, around the target's one batched forward (the engine calls these in order):
//   plan    before the forward: k drafts per decoding sequence, each given KV blocks for its drafts; sequences
//           that still feed the draft ask for their hidden rows instead;
//   absorb  after it: hidden rows of computed positions go to the draft, prefilling sequences catch it up;
//   verify  accepts drafts against the target rows (verify.ts) and names the candidates the engine emits;
//   settle  once emitted: records the round and rolls the target's KV back to the positions still valid.
// Example, k = 3, A decoding with numTokens 10 (numComputed 9): the batch holds A's last token at position 9
// and drafts [a, b, c] at 10..12; the target picks a, b, x → candidates [a, b, x]; all three are emitted
// (numTokens 13), numComputed becomes 10 − 1 + 3 = 12: K/V of 9 (last token), 10 (a), 11 (b) stay valid;
// 12 held the rejected c, so x is computed there in the next step.
import type { BlockManager } from "../engine/block-manager.ts";
import type { SeqSpan } from "../engine/model-runner.ts";
import type { Usage } from "../engine/request.ts";
import type { ScheduledItem } from "../engine/scheduler.ts";
import type { Sequence } from "../engine/sequence.ts";
import type { LogitRows } from "../engine/logit-rows.ts";
import type { ForwardResult } from "../model/batch.ts";
import type { DraftProposer, Proposal } from "./speculator.ts";

/** Most drafts a request may ask for per round. */
export const MAX_DRAFT_TOKENS = 16;

/**
 * Most logits rows one step asks for: one per sequence, or, in a step that speculates (at most `maxBatch`
 * sequences, see #propose), up to MAX_DRAFT_TOKENS + 1 per sequence. Example: 64 sequences, maxBatch 16 →
 * max(64, 16 × 17) = 272. The workspace's row cap and `gust plan` use it.
 */
export function maxLogitRows(maxNumSeqs: number, maxBatch: number | null): number {
  return maxBatch === null ? maxNumSeqs : Math.max(maxNumSeqs, maxBatch * (MAX_DRAFT_TOKENS + 1));
}

export interface RoundPlan {
  proposals: Map<Sequence, Proposal>;
  /** Draft tokens to append after each proposing sequence's last token (buildBatch's `drafts`). */
  drafts: Map<Sequence, number[]>;
  /** Sequences whose rows' hidden states the draft needs (buildBatch's `wantHidden`). */
  wantHidden: Set<Sequence>;
}

export interface Verified {
  seq: Sequence;
  proposal: Proposal;
  accepted: number;
  /** Accepted drafts, then the target's own token: what the engine emits, in order, until one is cut. */
  candidates: number[];
  /** The logit row the first candidate was chosen from (the i-th: firstRow + i). */
  firstRow: number;
}

export class SpeculativeRounds {
  constructor(
    readonly proposer: DraftProposer,
    readonly blocks: BlockManager,
    readonly vocabSize: number,
    readonly hiddenSize: number,
    readonly maxModelLen: () => number,
  ) {}

  /** Draft tokens per round for a request asking for `requested` (absent: the speculator's k), at most 16. */
  draftLength(requested: number | undefined): number {
    return Math.max(0, Math.min(requested ?? this.proposer.options.k, MAX_DRAFT_TOKENS));
  }

  plan(items: ScheduledItem[]): RoundPlan {
    const proposals = this.#propose(items);
    const spec = this.proposer;
    const wantHidden = new Set(
      items.filter((it) => it.seq.speculativeTokens > 0 && spec.state(it.seq).enabled && !proposals.has(it.seq))
        .map((it) => it.seq),
    );
    const drafts = new Map([...proposals].map(([seq, p]) => [seq, p.drafts]));
    return { proposals, drafts, wantHidden };
  }

  /** Drafts for decoding sequences, unless too many decode at once; each gets blocks for its drafts. */
  #propose(items: ScheduledItem[]): Map<Sequence, Proposal> {
    const spec = this.proposer;
    const decoding = items.filter((it) =>
      it.numNewTokens === 1 && it.seq.numComputed === it.seq.numTokens - 1 &&
      it.seq.speculativeTokens > 0 && it.seq.sampler.sequenceSampler !== undefined
    ).map((it) => it.seq);
    if (decoding.length === 0 || items.length > spec.options.maxBatch) return new Map();
    const byK = new Map<number, Sequence[]>();
    for (const seq of decoding) {
      const room = Math.min(seq.limits.maxTokens - seq.numOutputTokens, this.maxModelLen() - seq.numTokens) - 1;
      const k = Math.min(seq.speculativeTokens, room);
      if (k >= 1) byK.set(k, [...(byK.get(k) ?? []), seq]);
    }
    const out = new Map<Sequence, Proposal>();
    for (const [k, seqs] of byK) for (const [seq, p] of spec.propose(seqs, k)) out.set(seq, p);
    for (const [seq, p] of out) if (!this.blocks.grow(seq, 1 + p.drafts.length)) out.delete(seq);
    return out;
  }

  /** After the forward: the draft gets the target's hidden rows of what was computed; long prompts catch it up. */
  absorb(items: ScheduledItem[], spans: Map<Sequence, SeqSpan>, result: ForwardResult, plan: RoundPlan): void {
    const C = this.hiddenSize, prefilling: Sequence[] = [];
    for (const { seq, numNewTokens } of items) {
      const span = spans.get(seq)!;
      if (plan.proposals.has(seq) || span.firstHidden < 0) continue;
      const rows = result.allHidden!.subarray(span.firstHidden * C, (span.firstHidden + span.numRows) * C);
      this.proposer.pushHidden(seq, rows, span.numRows);
      if (numNewTokens > 1) prefilling.push(seq);
    }
    if (prefilling.length > 0) this.proposer.catchUp(prefilling); // keeps the draft in step with long prompts
  }

  /** Accepts each proposal's drafts against its target rows, all proposals in one LogitRows.verify (on the native
   *  path one gust_verify_drafts call: greedy rows keep the matching prefix, sampled ones run the rejection rule). */
  verify(plan: RoundPlan, spans: Map<Sequence, SeqSpan>, rows: LogitRows): Verified[] {
    const all = [...plan.proposals];
    const outcomes = rows.verify(all.map(([seq, proposal]) => ({
      sampler: seq.sampler.sequenceSampler!,
      generatedIds: seq.outputIds,
      step: seq.numOutputTokens,
      firstRow: spans.get(seq)!.firstLogit,
      drafts: proposal.drafts,
      draftProbs: proposal.probs,
    })));
    return all.map(([seq, proposal], j) => {
      const { accepted, next } = outcomes[j];
      const candidates = [...proposal.drafts.slice(0, accepted), next];
      return { seq, proposal, accepted, candidates, firstRow: spans.get(seq)!.firstLogit };
    });
  }

  /** After `emitted` candidates went out (the last may have been cut by a stop, a limit or a forced token):
   *  records the round and, unless the sequence ended, rolls its caches back to the positions whose K/V is
   *  still valid: the last token's and each emitted token's that matched its draft. */
  settle(v: Verified, emitted: number, spans: Map<Sequence, SeqSpan>, hidden: Float32Array): void {
    const { seq, proposal } = v, C = this.hiddenSize;
    const numTokensBefore = seq.numTokens - emitted;
    this.proposer.recordRound(seq, proposal.drafts.length, Math.min(emitted - 1, v.accepted), emitted);
    if (seq.isDone) return;
    seq.numComputed = numTokensBefore - 1 + emitted;
    this.blocks.truncate(seq, this.blocks.blocksFor(seq.numTokens));
    this.blocks.registerComputed(seq);
    const first = spans.get(seq)!.firstLogit;
    this.proposer.pushHidden(seq, hidden.subarray(first * C, (first + emitted) * C), emitted);
  }

  /** The sequence's speculation so far, for its usage. */
  usage(seq: Sequence): NonNullable<Usage["spec"]> {
    const st = this.proposer.state(seq);
    const s = st.stats;
    return {
      drafted: s.drafted,
      accepted: s.accepted,
      target_steps: s.steps,
      tokens_per_step: s.steps > 0 ? s.emitted / s.steps : 0,
      off_reason: seq.speculativeTokens === 0 ? "disabled for this request" : st.offReason,
    };
  }
}
