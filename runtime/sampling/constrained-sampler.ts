// Constrained decoding: a TokenSampler wrapper that holds the answer to an automaton (a JSON document, a JSON
// Schema, tool calls — see constraints.ts). Reasoning stays free: before the answer the model may open [THINK],
// and inside [THINK]…[/THINK] only end-of-sequence is withheld (an answer must follow); after [/THINK], or from
// the first token when it does not think, every token must be one the automaton allows. Draws go through the
// request's own sampler on the masked row, so temperature, top-p and seeds mean what they always do; reported
// log-probabilities are of the raw logits, like unconstrained ones.
//
// Worked example (ids: [THINK]=34, [/THINK]=35, EOS=2): prompt ends "[/INST]"; generated so far [34, 900, 35]:
// the phase went start → think (34) → answer (35), and the automaton is at its start, so for a JSON answer the
// next token must begin with optional whitespace and `{`. Forced tokens (the reasoning budget's [/THINK]) arrive
// through `generatedIds` like sampled ones, so one replay of the new ids keeps the phase right, across
// preemption too.
import type { TokenMask } from "../grammar/token-mask.ts";
import type { NativeDraw, TokenSampler } from "./token-sampler.ts";

/** What the answer may be, token by token. */
export interface AnswerAutomaton {
  /** A token of the answer was generated (sampled or forced). */
  consume(id: number): void;
  /** Ordinary tokens allowed next (null = none), and control tokens allowed next; null: any token (free text
   * before an optional tool call). */
  allowed(): { mask: TokenMask | null; controls: readonly number[] } | null;
}

export interface ThinkControls {
  eos: number;
  /** [THINK], or undefined when the request may not think. */
  think: number | undefined;
  endThink: number | undefined;
}

type Phase = "start" | "think" | "answer";
let scratch = new Float32Array(0);
/** A grammar state's mask packed once (masks are memoised per state, so the same object recurs). */
const packed = new WeakMap<TokenMask, Uint32Array>();

/** A copy of the mask's allowed ids as `words` words of bits (ids beyond mask.bits are not allowed). */
function packedBits(mask: TokenMask, words: number): Uint32Array {
  let bits = packed.get(mask);
  if (!bits || bits.length !== words) {
    bits = new Uint32Array(words);
    for (let i = 0; i < mask.bits.length; i++) if (mask.bits[i] === 1) bits[i >> 5] |= 1 << (i & 31);
    packed.set(mask, bits);
  }
  return bits.slice();
}

export class ConstrainedSampler implements TokenSampler {
  #consumed = 0;

  constructor(
    private readonly inner: TokenSampler,
    private readonly answer: AnswerAutomaton,
    private readonly ids: ThinkControls,
    private phase: Phase,
  ) {}

  sample(logits: Float32Array, generatedIds: readonly number[], step: number) {
    this.#replay(generatedIds);
    // drawn from the masked row; log-probabilities of the raw one, as unconstrained requests report them
    return this.inner.sample(this.#masked(logits), generatedIds, step, logits);
  }

  forced(logits: Float32Array, token: number) {
    return this.inner.forced(logits, token);
  }

  /** The same draw for the native sampler: the inner draw with this step's allowed ids as a bitmask. */
  native(generatedIds: readonly number[], step: number): NativeDraw | null {
    const inner = this.inner.native?.(generatedIds, step);
    if (!inner) return null;
    this.#replay(generatedIds);
    const bits = this.#allowedBits(inner.sampler.vocabSize);
    if (!bits) return inner;
    if (inner.mask) { for (let i = 0; i < bits.length; i++) bits[i] &= inner.mask[i]; }
    return { sampler: inner.sampler, mask: bits };
  }

  #replay(generatedIds: readonly number[]): void {
    for (; this.#consumed < generatedIds.length; this.#consumed++) {
      const id = generatedIds[this.#consumed];
      if (this.phase === "start" && id === this.ids.think) this.phase = "think";
      else if (this.phase === "think") {
        if (id === this.ids.endThink) this.phase = "answer";
      } else {
        this.phase = "answer";
        this.answer.consume(id);
      }
    }
  }

  /** The ids #masked keeps finite, as bits (undefined: every id); the same rules in the same order. */
  #allowedBits(vocab: number): Uint32Array | undefined {
    const words = (vocab + 31) >> 5, { eos, think } = this.ids;
    const set = (bits: Uint32Array, id: number) => bits[id >> 5] |= 1 << (id & 31);
    if (this.phase === "think") {
      const bits = new Uint32Array(words).fill(0xffffffff);
      bits[eos >> 5] &= ~(1 << (eos & 31));
      return bits;
    }
    const allowed = this.answer.allowed();
    if (allowed === null) return undefined;
    const { mask, controls } = allowed;
    const bits = mask === null ? new Uint32Array(words) : packedBits(mask, words);
    for (const id of controls) set(bits, id);
    if (this.phase === "start" && think !== undefined) set(bits, think);
    const any = controls.length > 0 || (mask !== null && (mask.complement || mask.ids.length > 0));
    if (!any) set(bits, eos);
    return bits;
  }

  /** A copy of the logits with disallowed tokens at −∞ (end-of-sequence when nothing else is left). */
  #masked(logits: Float32Array): Float32Array {
    if (scratch.length < logits.length) scratch = new Float32Array(logits.length);
    const row = scratch.length === logits.length ? scratch : scratch.subarray(0, logits.length);
    const { eos, think } = this.ids;
    if (this.phase === "think") {
      row.set(logits);
      row[eos] = -Infinity;
      return row;
    }
    const allowed = this.answer.allowed();
    if (allowed === null) return logits;
    const { mask, controls } = allowed;
    let any = controls.length > 0;
    if (mask === null) row.fill(-Infinity);
    else if (mask.complement) {
      // most tokens allowed: copy the row, block the listed ones
      row.set(logits);
      const ids = mask.ids;
      for (let i = 0; i < ids.length; i++) row[ids[i]] = -Infinity;
      // control tokens are never in the trie, so they are blocked unless listed in `controls` below
      for (let i = mask.bits.length; i < row.length; i++) row[i] = -Infinity;
      any = true;
    } else {
      row.fill(-Infinity);
      const ids = mask.ids;
      for (let i = 0; i < ids.length; i++) row[ids[i]] = logits[ids[i]];
      any ||= mask.ids.length > 0;
    }
    for (const id of controls) row[id] = logits[id];
    if (this.phase === "start" && think !== undefined) row[think] = logits[think];
    if (!any) row[eos] = logits[eos];
    return row;
  }
}
