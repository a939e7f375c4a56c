// Helpers for the CUDA-vs-CPU parity suites: the CUDA backend (or the reason there is none, printed once
// per suite at collection so a GPU-less run says why it skipped), running one op on both backends, and
// a normalized-error budget per op and dtype (llama.cpp's test-backend-ops approach: NMSE against the
// reference backend, plus an element-wise abs + rel bound so a single bad element cannot hide).
import { expect } from "vitest";
import { closeness, describe as explain } from "../helpers/compare.ts";
import { nmse } from "./parity-core.ts";

export * from "./parity-core.ts";

export interface Budget {
  abs: number;
  rel: number;
  nmse: number;
}

/** Expects got ≈ want within the budget; `what` names the op, dtype and shape in the failure. */
export function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, budget: Budget, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const c = closeness(got, want, budget.abs, budget.rel);
  expect(c.ok, `${what}: ${explain(c)}`).toBe(true);
  const e = nmse(got, want);
  expect(e, `${what}: NMSE ${e.toExponential(2)} over budget ${budget.nmse.toExponential(1)}`).toBeLessThanOrEqual(
    budget.nmse,
  );
}

/** Bit-for-bit equality (NaN equals NaN), naming the first differing element. */
export function expectExact(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]))) continue;
    if (got[i] === want[i]) continue; // +0 / −0 from different summation orders count as equal
    expect(got[i], `${what}: element ${i}`).toBe(want[i]);
  }
}
