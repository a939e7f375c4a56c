// The transition memo both byte grammars share: a state's row of 256 next states, filled in as bytes are first
// tried (-2 = not computed yet, -1 = rejected). The token masker steps the same states through the same bytes
// at every step, so after warm-up a step is one array read.
import type { ByteGrammar } from "./token-mask.ts";

export abstract class MemoisedGrammar implements ByteGrammar {
  abstract readonly start: number;
  readonly #transitions: Int32Array[] = [];

  /** Call once per new state, in state-id order. */
  protected addStateRow(): void {
    this.#transitions.push(new Int32Array(256).fill(-2));
  }

  /** The state after `byte` from `state`, or -1; called once per (state, byte). */
  protected abstract compute(state: number, byte: number): number;

  abstract isComplete(state: number): boolean;

  step(state: number, byte: number): number {
    const row = this.#transitions[state];
    let next = row[byte];
    if (next === -2) {
      next = this.compute(state, byte);
      row[byte] = next;
    }
    return next;
  }

  /** The state after all of `bytes`, or -1. */
  stepAll(state: number, bytes: ArrayLike<number>): number {
    for (let i = 0; i < bytes.length && state >= 0; i++) state = this.step(state, bytes[i]);
    return state;
  }
}
