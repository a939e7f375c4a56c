// Element-wise closeness with an `abs + rel·|want|` bound, reporting the worst element.

export interface Closeness {
  ok: boolean;
  maxAbs: number;
  worstIndex: number;
  got: number;
  want: number;
}

export function closeness(got: ArrayLike<number>, want: ArrayLike<number>, abs: number, rel: number): Closeness {
  if (got.length !== want.length) {
    return { ok: false, maxAbs: Infinity, worstIndex: -1, got: got.length, want: want.length };
  }
  let ok = true, maxAbs = 0, worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= abs + rel * Math.abs(want[i]))) ok = false;
    if (!(d <= maxAbs)) {
      maxAbs = d;
      worst = i;
    }
  }
  return { ok, maxAbs, worstIndex: worst, got: got[worst], want: want[worst] };
}

export function describe(c: Closeness): string {
  return `max |diff| ${c.maxAbs.toExponential(2)} at ${c.worstIndex} (got ${c.got}, want ${c.want})`;
}
