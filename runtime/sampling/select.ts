// Partial selection over token indices for top-k and top-p: quickselect on an Int32Array of ids keyed by a
// Float64Array of unnormalised probabilities, O(n) expected, instead of sorting 131k objects every step.
//
// Both selections use one total order, which is the tie rule of the whole sampler:
//   token a comes before token b  ⇔  w[a] > w[b], or w[a] = w[b] and a < b   (higher probability, then lower id)
// so "the top k" and "the smallest prefix with mass ≥ target" are always exactly one well-defined set.

/** Mass of the part before the pivot in the last `partition` call (saves a second pass over it). */
let leftMass = 0;

function before(w: Float64Array, a: number, b: number): boolean {
  const wa = w[a], wb = w[b];
  return wa > wb || (wa === wb && a < b);
}

/**
 * Lomuto partition of idx[lo, hi) around the median of its first, middle and last entries. Returns the
 * pivot's final position p: idx[lo, p) come before the pivot in the order, idx(p, hi) after it.
 */
function partition(idx: Int32Array, lo: number, hi: number, w: Float64Array): number {
  const last = hi - 1, mid = (lo + hi) >>> 1;
  // Median of three moved to `last` (guards against sorted and reverse-sorted inputs).
  const a = idx[lo], b = idx[mid], c = idx[last];
  let m: number;
  if (before(w, a, b)) m = before(w, b, c) ? mid : before(w, a, c) ? last : lo;
  else m = before(w, a, c) ? lo : before(w, b, c) ? last : mid;
  const pv = idx[m];
  idx[m] = idx[last];
  idx[last] = pv;
  const wp = w[pv];
  let store = lo, mass = 0;
  for (let j = lo; j < last; j++) {
    const t = idx[j], wt = w[t];
    if (wt > wp || (wt === wp && t < pv)) {
      idx[j] = idx[store];
      idx[store++] = t;
      mass += wt;
    }
  }
  idx[last] = idx[store];
  idx[store] = pv;
  leftMass = mass;
  return store;
}

/** Reorders idx[0, n) so that idx[0, k) hold the k first tokens in the order (in no particular order). */
export function selectTopCount(idx: Int32Array, n: number, w: Float64Array, k: number): void {
  if (k <= 0 || k >= n) return;
  let lo = 0, hi = n;
  // Invariant: idx[0, lo) are in the top k, idx[hi, n) are not, and lo < k < hi.
  while (lo < k && k < hi) {
    const p = partition(idx, lo, hi, w);
    if (p < k) lo = p + 1;
    else if (p > k) hi = p;
    else return;
  }
}

/**
 * Reorders idx[0, n) and returns m, the length of the shortest prefix of the order whose mass Σ w reaches
 * `target`; idx[0, m) then hold that prefix (in no particular order). Returns n if the whole set falls
 * short (only possible through rounding when target is the set's own mass).
 */
export function selectTopMass(idx: Int32Array, n: number, w: Float64Array, target: number): number {
  if (target <= 0) return 0;
  let lo = 0, hi = n, acc = 0;
  // Invariant: acc = mass of idx[0, lo) < target, and the answer m lies in (lo, hi].
  while (lo < hi) {
    if (hi - lo === 1) return hi;
    const p = partition(idx, lo, hi, w);
    if (acc + leftMass >= target) hi = p;
    else if (acc + leftMass + w[idx[p]] >= target) return p + 1;
    else {
      acc += leftMass + w[idx[p]];
      lo = p + 1;
    }
  }
  return n;
}

/** a ranks after b in the order (the heap keeps its last-ranked entry at the root). */
function after(w: Float64Array, a: number, b: number): boolean {
  const wa = w[a], wb = w[b];
  return wa < wb || (wa === wb && a > b);
}

function siftDown(heap: Int32Array, k: number, w: Float64Array, at: number): void {
  const x = heap[at];
  for (;;) {
    let c = 2 * at + 1;
    if (c >= k) break;
    if (c + 1 < k && after(w, heap[c + 1], heap[c])) c++;
    if (!after(w, heap[c], x)) break;
    heap[at] = heap[c];
    at = c;
  }
  heap[at] = x;
}

/**
 * Writes the first k tokens of the order among ids [0, n) into out[0, k) (in no particular order) with a
 * k-entry heap whose root is its last-ranked member. One sequential pass where almost every id is
 * rejected by a single comparison: faster than quickselect over a whole row when k is small.
 */
export function selectTopCountHeap(w: Float64Array, n: number, k: number, out: Int32Array): void {
  k = Math.min(k, n);
  for (let i = 0; i < k; i++) out[i] = i;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(out, k, w, i);
  for (let i = k; i < n; i++) {
    // Ids arrive in increasing order, so a tie with the root ranks after it: strict ">" is the tie rule.
    if (w[i] > w[out[0]]) {
      out[0] = i;
      siftDown(out, k, w, 0);
    }
  }
}
