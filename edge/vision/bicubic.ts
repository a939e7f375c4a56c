/** Bicubic resize that reproduces OpenCV's `cv2.resize(img_f32, (w, h), interpolation=cv2.INTER_CUBIC)`, the
 * resampler mistral-common uses (model-spec §4.4). Written from OpenCV's documented behaviour and checked
 * against real OpenCV output (`tools/vision/make_resize_reference.py`, `test/vision/resize-parity.test.ts`):
 *
 * - Keys' cubic with a = −0.75 (PIL and torchvision use −0.5; that is a different picture).
 * - Source coordinate of destination pixel d: `(d + 0.5) · (src / dst) − 0.5` ("half-pixel centres").
 * - Four taps `floor(x) − 1 … floor(x) + 2`, out-of-range taps replaced by the nearest edge pixel (replicate).
 * - The same four taps when shrinking: OpenCV does not widen the kernel, so downscaling aliases. We keep that,
 *   because matching the model's training pipeline matters more than a prettier picture.
 * - Separable: horizontal pass on each source row into a float32 row, then a vertical pass, all in float32.
 *
 * Float32 is emulated with Math.fround at each multiply and add, in the order OpenCV 4.6's SSE build adds
 * (see the vertical pass), which makes the output bit-identical to Debian's python3-opencv on the reference
 * sweep. An OpenCV built with wider vectors or fused multiply-adds sums differently and differs from ours by
 * a couple of float32 ulps (≈ 6e-5 at 255), far below one 8-bit level.
 */

const A = Math.fround(-0.75);
const f = Math.fround;

/** The four Keys weights for fractional offset t ∈ [0, 1), in float32 as OpenCV's `interpolateCubic` does.
 * Worked example: t = 0 → [0, 1, 0, 0] (an exact copy); t = 0.5 → [−0.09375, 0.59375, 0.59375, −0.09375]. */
export function cubicWeights(t: number, out: Float32Array, at: number): void {
  const t1 = f(t + 1);
  const u = f(1 - t);
  // ((A·(t+1) − 5A)·(t+1) + 8A)·(t+1) − 4A
  const w0 = f(f(f(f(f(f(A * t1) - f(5 * A)) * t1) + f(8 * A)) * t1) - f(4 * A));
  // ((A+2)·t − (A+3))·t·t + 1
  const w1 = f(f(f(f(f(f(A + 2) * t) - f(A + 3)) * t) * t) + 1);
  // ((A+2)·(1−t) − (A+3))·(1−t)·(1−t) + 1
  const w2 = f(f(f(f(f(f(A + 2) * u) - f(A + 3)) * u) * u) + 1);
  out[at] = w0;
  out[at + 1] = w1;
  out[at + 2] = w2;
  out[at + 3] = f(f(f(1 - w0) - w1) - w2);
}

/** Per destination index along one axis: the four clamped source indices and their weights.
 * Worked example, src 4 → dst 2 (scale 2): d = 0 maps to x = 0.5·2 − 0.5 = 0.5, floor 0, taps −1…2 → clamped
 * [0, 0, 1, 2], t = 0.5; d = 1 maps to x = 2.5, taps 1…4 → [1, 2, 3, 3]. */
export interface AxisTaps {
  index: Int32Array;
  weight: Float32Array;
}

export function axisTaps(srcLen: number, dstLen: number): AxisTaps {
  // OpenCV computes inv_scale = dst / src in double, then scale = 1 / inv_scale (not src / dst: they can
  // differ in the last bit, which moves a tap when (d + 0.5)·scale − 0.5 lands on an integer).
  const scale = 1 / (dstLen / srcLen);
  const index = new Int32Array(dstLen * 4);
  const weight = new Float32Array(dstLen * 4);
  for (let d = 0; d < dstLen; d++) {
    const x = f((d + 0.5) * scale - 0.5); // double arithmetic, then stored as float (as OpenCV does)
    const s = Math.floor(x);
    cubicWeights(f(x - s), weight, d * 4);
    for (let k = 0; k < 4; k++) index[d * 4 + k] = Math.min(Math.max(s - 1 + k, 0), srcLen - 1);
  }
  return { index, weight };
}

/** An interleaved image: `height` rows of `width` pixels of `channels` samples. */
export interface Raster<T extends Uint8Array | Float32Array> {
  width: number;
  height: number;
  channels: number;
  data: T;
}

/** Horizontal pass of one source row into `out` (dstW·channels floats). */
function resizeRow(
  src: Uint8Array | Float32Array,
  rowStart: number,
  ch: number,
  x: AxisTaps,
  dstW: number,
  out: Float32Array,
): void {
  const { index, weight } = x;
  for (let d = 0; d < dstW; d++) {
    const k = d * 4;
    const p0 = rowStart + index[k] * ch;
    const p1 = rowStart + index[k + 1] * ch;
    const p2 = rowStart + index[k + 2] * ch;
    const p3 = rowStart + index[k + 3] * ch;
    const w0 = weight[k], w1 = weight[k + 1], w2 = weight[k + 2], w3 = weight[k + 3];
    for (let c = 0; c < ch; c++) {
      out[d * ch + c] = f(f(f(f(src[p0 + c] * w0) + f(src[p1 + c] * w1)) + f(src[p2 + c] * w2)) + f(src[p3 + c] * w3));
    }
  }
}

/** Resize to dstW × dstH, float32 result (values may overshoot 0…255 slightly, as OpenCV's do).
 * Memory stays at four horizontally resized rows plus the output, however large the source is. */
export function resizeBicubic(
  src: Raster<Uint8Array | Float32Array>,
  dstW: number,
  dstH: number,
): Raster<Float32Array> {
  const { width: srcW, height: srcH, channels: ch, data } = src;
  if (!(srcW > 0 && srcH > 0 && dstW > 0 && dstH > 0)) {
    throw new RangeError(`resize needs positive sizes, got ${srcW}x${srcH} -> ${dstW}x${dstH}`);
  }
  if (data.length !== srcW * srcH * ch) {
    throw new RangeError(`raster of ${srcW}x${srcH}x${ch} needs ${srcW * srcH * ch} samples, got ${data.length}`);
  }
  const out = new Float32Array(dstW * dstH * ch);
  const x = axisTaps(srcW, dstW);
  const y = axisTaps(srcH, dstH);
  const rowLen = dstW * ch;
  // A four-slot cache of horizontally resized source rows keyed by source row: destination rows visit source
  // rows in non-decreasing order, so each source row is resized at most once (a slot is reused when its row
  // can no longer be needed).
  const slots = [0, 1, 2, 3].map(() => new Float32Array(rowLen));
  const slotRow = [-1, -1, -1, -1];
  const rowFor = (r: number): Float32Array => {
    let s = slotRow.indexOf(r);
    if (s < 0) {
      s = slotRow.indexOf(Math.min(...slotRow)); // the lowest row is the one no later destination row needs
      resizeRow(data, r * srcW * ch, ch, x, dstW, slots[s]);
      slotRow[s] = r;
    }
    return slots[s];
  };
  for (let d = 0; d < dstH; d++) {
    const k = d * 4;
    // fetch all four before using any: a later fetch may evict a slot only if its row is below all four
    const r0 = rowFor(y.index[k]),
      r1 = rowFor(y.index[k + 1]),
      r2 = rowFor(y.index[k + 2]),
      r3 = rowFor(y.index[k + 3]);
    const b0 = y.weight[k], b1 = y.weight[k + 1], b2 = y.weight[k + 2], b3 = y.weight[k + 3];
    const o = d * rowLen;
    // OpenCV's vertical pass runs 4 floats at a time as t = S3·b3; t += S2·b2; t += S1·b1; t += S0·b0 and
    // finishes the last rowLen % 4 samples in scalar code summing S0·b0 + S1·b1 + S2·b2 + S3·b3. Summing in
    // the same order makes the result bit-identical (float addition is not associative).
    const vecEnd = rowLen - (rowLen % 4);
    let i = 0;
    for (; i < vecEnd; i++) out[o + i] = f(f(f(f(r3[i] * b3) + f(r2[i] * b2)) + f(r1[i] * b1)) + f(r0[i] * b0));
    for (; i < rowLen; i++) out[o + i] = f(f(f(f(r0[i] * b0) + f(r1[i] * b1)) + f(r2[i] * b2)) + f(r3[i] * b3));
  }
  return { width: dstW, height: dstH, channels: ch, data: out };
}

/** Float samples to bytes: round half to even (OpenCV's saturate_cast / numpy's rint), clamp to 0…255, NaN → 0.
 * That is exactly the ECMAScript ToUint8Clamp conversion, so the typed-array constructor does it natively. */
export function toBytes(src: Float32Array): Uint8Array {
  const out = new Uint8ClampedArray(src);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
