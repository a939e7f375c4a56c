// Plain TypeScript loops: the slow twins every native kernel is checked against.

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function bf16ToF32(h: number): number {
  return new Float32Array(new Uint32Array([h << 16]).buffer)[0];
}

export function e4m3Value(code: number): number {
  const sign = code & 0x80 ? -1 : 1, e = (code >> 3) & 0xf, m = code & 7;
  if (e === 0xf && m === 7) return NaN;
  return e === 0 ? sign * (m / 8) * 2 ** -6 : sign * (1 + m / 8) * 2 ** (e - 7);
}

/** Nearest e4m3 code by exhaustive search over the finite codes, ties to the even code, saturating. */
export function e4m3Encode(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.min(Math.abs(x), 448);
  let best = 0, bestDist = Infinity;
  for (let code = 0; code < 0x7f; code++) {
    const d = Math.abs(e4m3Value(code) - a);
    if (d < bestDist || (d === bestDist && (code & 1) === 0)) {
      best = code;
      bestDist = d;
    }
  }
  return sign | best;
}

export type WeightKind = "f32" | "f16" | "bf16" | "fp8";

/** Decoded value of element i of raw weight bytes. */
export function weightValue(bytes: Uint8Array, kind: WeightKind, i: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (kind) {
    case "f32":
      return view.getFloat32(4 * i, true);
    case "f16":
      return f16ToF32(view.getUint16(2 * i, true));
    case "bf16":
      return bf16ToF32(view.getUint16(2 * i, true));
    case "fp8":
      return e4m3Value(bytes[i]);
  }
}

/** y = x·Wᵀ (with transformers' FP8 static semantics for fp8); also returns Σ|x·w| per output for error bounds. */
export function linearRef(
  x: Float32Array,
  w: Uint8Array,
  kind: WeightKind,
  T: number,
  N: number,
  K: number,
  actScale: number,
  weightScale: number,
): { y: Float64Array; magnitude: Float64Array } {
  const xs = kind === "fp8" ? x.map((v) => e4m3Value(e4m3Encode(Math.fround(v / actScale)))) : x;
  const y = new Float64Array(T * N), magnitude = new Float64Array(T * N);
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < T; t++) {
      let acc = 0, mag = 0;
      for (let k = 0; k < K; k++) {
        const p = xs[t * K + k] * weightValue(w, kind, n * K + k);
        acc += p;
        mag += Math.abs(p);
      }
      const scale = kind === "fp8" ? actScale * weightScale : weightScale;
      y[t * N + n] = acc * scale;
      magnitude[t * N + n] = mag * scale;
    }
  }
  return { y, magnitude };
}

export function rmsnormRef(x: Float32Array, w: number[], T: number, C: number, eps: number): Float64Array {
  const y = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] ** 2;
    const r = Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = w[c] * (x[t * C + c] / r);
  }
  return y;
}

export function ropeRef(
  x: Float32Array,
  pos: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
  T: number,
  H: number,
  D: number,
): Float64Array {
  const y = Float64Array.from(x), half = D / 2;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < half; i++) {
        const base = (t * H + h) * D, c = cos[pos[t] * half + i], s = sin[pos[t] * half + i];
        const a = x[base + i], b = x[base + i + half];
        y[base + i] = a * c - b * s;
        y[base + i + half] = b * c + a * s;
      }
    }
  }
  return y;
}

export interface PagedBatch {
  queryStarts: Int32Array;
  contextLens: Int32Array;
  blockTables: Int32Array;
  maxBlocks: number;
  blockSize: number;
}

/** Attention with the cache read through the block tables the same way the kernel does, in f64. */
export function attentionRef(
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  b: PagedBatch,
  H: number,
  KV: number,
  D: number,
  scale: number,
): Float64Array {
  const T = b.queryStarts[b.queryStarts.length - 1];
  const out = new Float64Array(T * H * D), group = H / KV;
  for (let s = 0; s + 1 < b.queryStarts.length; s++) {
    const rows = b.queryStarts[s + 1] - b.queryStarts[s];
    for (let j = 0; j < rows; j++) {
      const row = b.queryStarts[s] + j, position = b.contextLens[s] - rows + j;
      for (let h = 0; h < H; h++) {
        const kvh = Math.floor(h / group), scores: number[] = [];
        const slotOf = (p: number) =>
          b.blockTables[s * b.maxBlocks + Math.floor(p / b.blockSize)] * b.blockSize + (p % b.blockSize);
        for (let p = 0; p <= position; p++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(row * H + h) * D + d] * kCache[(slotOf(p) * KV + kvh) * D + d];
          scores.push(dot * scale);
        }
        const max = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - max)), total = e.reduce((a, v) => a + v, 0);
        for (let p = 0; p <= position; p++) {
          for (let d = 0; d < D; d++) {
            out[(row * H + h) * D + d] += (e[p] / total) * vCache[(slotOf(p) * KV + kvh) * D + d];
          }
        }
      }
    }
  }
  return out;
}
