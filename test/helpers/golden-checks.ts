// Shared golden checks: the first hidden state that diverges (named by layer) and the greedy
// continuation compared against a golden's `.greedy`.
import type { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { expect } from "vitest";
import { argmax } from "../../runtime/sampling/basic.ts";
import { closeness, describe as explain } from "./compare.ts";
import type { Golden } from "./fixtures.ts";

export const GOLDEN_ABS = 1e-4, GOLDEN_REL = 1e-3;

/** golden hidden.0 = embeddings, hidden.i = after layer i−1, hidden.L = after the final norm. */
/** `numValues` limits the check to the leading values (the first rows) of each state. */
export function firstHiddenDivergence(
  hidden: Map<number | "final", Float32Array>,
  golden: Golden,
  c: string,
  numLayers: number,
  numValues = Infinity,
): string | null {
  const lead = (v: Float32Array) => v.subarray(0, Math.min(v.length, numValues));
  for (let i = 0; i <= numLayers; i++) {
    const ours = i < numLayers ? hidden.get(i)! : hidden.get("final")!;
    const cmp = closeness(lead(ours), lead(golden.f32(`${c}.hidden.${i}`)), GOLDEN_ABS, GOLDEN_REL);
    if (!cmp.ok) {
      return `hidden.${i} (${i === 0 ? "embeddings" : i === numLayers ? "final norm" : `after layer ${i - 1}`}): ${
        explain(cmp)
      }`;
    }
  }
  return null;
}

/** Greedy tokens from `lastLogits` on, one decode step at a time (count tokens). */
export function greedyContinuation(seq: SingleSequence, lastLogits: Float32Array, count: number): number[] {
  const out: number[] = [];
  let last = lastLogits;
  for (let i = 0; i < count; i++) {
    out.push(argmax(last));
    if (i < count - 1) last = seq.append([out[i]]).logits;
  }
  return out;
}

/** Logits of the whole prompt against the golden, then 16 greedy tokens from the last row. */
export function expectLogitsAndGreedy(
  seq: SingleSequence,
  logits: Float32Array,
  golden: Golden,
  c: string,
  vocab: number,
): void {
  const cmp = closeness(logits, golden.f32(`${c}.logits`), GOLDEN_ABS, GOLDEN_REL);
  expect(cmp.ok, `logits: ${explain(cmp)}`).toBe(true);
  const numRows = logits.length / vocab;
  expect(greedyContinuation(seq, logits.subarray((numRows - 1) * vocab), 16)).toEqual(
    Array.from(golden.i32(`${c}.greedy`)),
  );
}
