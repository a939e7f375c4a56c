/**
 * tiktoken's byte-pair merge: the pieces of one pre-token are merged pairwise, always the adjacent pair whose
 * concatenation has the lowest rank (leftmost on ties), until no adjacent pair is in the vocabulary.
 * Byte strings are "binary" JS strings (one char per byte); a rank lookup names a range of one, so no slice is cut.
 */

/** Rank of the bytes in key[start, end), or -1 when they are not a token (RankTable in the tokenizer). */
export interface Ranks {
  rankOf(key: string, start: number, end: number): number;
}

const NONE = 0x7fffffff;

/** Ranks of the final tokens of `key` (a binary string of >= 2 bytes). */
export function bytePairEncode(key: string, ranks: Ranks, out: number[]): void {
  if (key.length > 128) return heapMerge(key, ranks, out);
  // Small pieces: the O(n^2) scan tiktoken itself uses; fastest for the short pieces of ordinary text.
  const n = key.length;
  const starts: number[] = new Array(n + 1);
  const pr: number[] = new Array(n);
  for (let i = 0; i <= n; i++) starts[i] = i;
  let len = n + 1; // number of boundaries
  const rankOf = (i: number): number => {
    // rank of merging part i and part i+1 (needs boundaries i..i+2)
    if (i + 2 >= len) return NONE;
    const r = ranks.rankOf(key, starts[i], starts[i + 2]);
    return r < 0 ? NONE : r;
  };
  for (let i = 0; i < len - 2; i++) pr[i] = rankOf(i);
  pr[len - 2] = NONE;
  for (;;) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i < len - 2; i++) {
      if (pr[i] < best) {
        best = pr[i];
        at = i;
      }
    }
    if (at < 0) break;
    starts.splice(at + 1, 1);
    pr.splice(at + 1, 1);
    len--;
    pr[at] = rankOf(at);
    if (at > 0) pr[at - 1] = rankOf(at - 1);
  }
  for (let i = 0; i < len - 1; i++) out.push(ranks.rankOf(key, starts[i], starts[i + 1]));
}

/** The same merge order with a binary heap and a linked list: O(n log n) for very long pieces. */
function heapMerge(key: string, ranks: Ranks, out: number[]): void {
  const n = key.length;
  const start = new Int32Array(n + 1);
  const next = new Int32Array(n + 1);
  const prev = new Int32Array(n + 1);
  const ver = new Int32Array(n + 1); // bumped when a node's pair changes; stale heap entries are skipped
  for (let i = 0; i <= n; i++) {
    start[i] = i;
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  // heap entries: [rank, node, version] packed into parallel arrays
  let hr: number[] = [];
  let hn: number[] = [];
  let hv: number[] = [];
  const less = (a: number, b: number) => hr[a] < hr[b] || (hr[a] === hr[b] && start[hn[a]] < start[hn[b]]);
  const swap = (a: number, b: number) => {
    [hr[a], hr[b]] = [hr[b], hr[a]];
    [hn[a], hn[b]] = [hn[b], hn[a]];
    [hv[a], hv[b]] = [hv[b], hv[a]];
  };
  const push = (r: number, node: number) => {
    hr.push(r);
    hn.push(node);
    hv.push(ver[node]);
    let i = hr.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const pop = () => {
    const last = hr.length - 1;
    swap(0, last);
    const r = [hr.pop()!, hn.pop()!, hv.pop()!];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const rr = l + 1;
      let m = i;
      if (l < hr.length && less(l, m)) m = l;
      if (rr < hr.length && less(rr, m)) m = rr;
      if (m === i) break;
      swap(i, m);
      i = m;
    }
    return r;
  };
  const pairRank = (node: number): number => {
    const b = next[node];
    if (b >= n) return NONE;
    const r = ranks.rankOf(key, start[node], start[next[b]] ?? n);
    return r < 0 ? NONE : r;
  };
  // node i spans [start[i], start[next[i]]); node n is the end sentinel
  start[n] = n;
  for (let i = 0; i < n - 1; i++) {
    const r = pairRank(i);
    if (r !== NONE) push(r, i);
  }
  while (hr.length > 0) {
    const [r, node, v] = pop();
    if (v !== ver[node] || r !== pairRank(node)) continue;
    const b = next[node];
    // merge node with b
    next[node] = next[b];
    if (next[b] <= n) prev[next[b]] = node;
    ver[node]++;
    ver[b]++;
    const nr = pairRank(node);
    if (nr !== NONE) push(nr, node);
    const p = prev[node];
    if (p >= 0) {
      ver[p]++;
      const pr = pairRank(p);
      if (pr !== NONE) push(pr, p);
    }
  }
  for (let i = 0; i < n; i = next[i]) out.push(ranks.rankOf(key, start[i], start[next[i]]));
  hr = hn = hv = [];
}
