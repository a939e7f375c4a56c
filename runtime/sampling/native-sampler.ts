// The native sampler (kernels/gust.h gust_sample) driven from SequenceSamplers: packs each row's params and lists,
// runs one native call for the whole batch and returns what SequenceSampler.sample returns. sampler.ts stays
// the readable spec; test/sampling holds the two equal token for token.
//
// Packing, per row (gust_sample_params, 104 bytes, little-endian): six f64 (temperature, top_p, min_p,
// presence, frequency, repetition), then fourteen 32-bit words (top_k, seed_lo, seed_hi, step, logits_row,
// vocab_limit, bias start/count, counts start/count, seen start/count, mask_row, num_logprobs).
// Example: two rows, the first with logit bias {7: 2}, the second with {3: -1, 9: 5} → bias_ids [7, 3, 9],
// row 0 bias (0, 1), row 1 bias (1, 2).
import type { Backend, DeviceBuffer, StepSampleArgs } from "../../ffi/backend.ts";
import type { TopLogprob } from "./logprobs.ts";
import { MAX_LOGPROBS } from "./params.ts";
import type { NativeRowInputs, SampleResult, SequenceSampler } from "./sampler.ts";

export const SAMPLE_PARAMS_BYTES = 104;

export interface NativeSampleRow {
  sampler: SequenceSampler;
  /** This sequence's output ids so far (penalties). */
  generatedIds: readonly number[];
  /** Index of the token being generated (the counter hash's step word). */
  step: number;
  /** Row of the logits buffer to draw from. */
  logitsRow: number;
  /** Allowed ids as bits (bit i of word i >> 5), (vocab + 31) >> 5 words; absent = every id. */
  mask?: Uint32Array;
  /** A token the engine forces (reasoning budget, verified draft): drawn greedily from a one-id mask, so only its
   *  log-probabilities (when the sampler asks for them) are computed. Its logit must be finite. */
  forcedToken?: number;
}

const FORCED_PARAMS = { temperature: 0, topP: 1, minP: 0, presencePenalty: 0, frequencyPenalty: 0 } as const;
/** A forced row is greedy over one id: no seed, bias or penalty changes what it returns. */
const FORCED_INPUTS: NativeRowInputs = {
  seedLo: 0,
  seedHi: 0,
  biasIds: new Int32Array(0),
  biasValues: new Float32Array(0),
  counts: undefined,
  seen: [],
};

/** Host arrays and (on a device backend) the device buffers that mirror them, grown on demand and reused. */
class Staging {
  #buffers = new Map<string, DeviceBuffer>();
  constructor(private readonly backend: Backend) {}

  /** A device buffer holding `host` (borrowed in place when the backend shares host memory). */
  put(name: string, host: ArrayBufferView): DeviceBuffer {
    if (this.backend.sharesHostMemory) return this.backend.borrowHost(host);
    let buf = this.#buffers.get(name);
    if (!buf || buf.byteLength < host.byteLength) {
      buf?.dispose();
      buf = this.backend.alloc(Math.max(64, host.byteLength * 2));
      this.#buffers.set(name, buf);
    }
    this.backend.upload(buf, host);
    return buf;
  }

  dispose(): void {
    for (const b of this.#buffers.values()) b.dispose();
    this.#buffers.clear();
  }
}

function oneIdMask(token: number, words: number): Uint32Array {
  if (!(Number.isInteger(token) && token >= 0 && token < words * 32)) {
    throw new RangeError(`forced token ${token} is outside the vocabulary [0, ${words * 32})`);
  }
  const mask = new Uint32Array(words);
  mask[token >> 5] = 1 << (token & 31);
  return mask;
}

/** One proposal for NativeSampler.verify (gust_verify_drafts). */
export interface NativeVerifyProposal {
  /** Rows 0..k: row i scores the token after drafts[0, i) (its generatedIds end with them; step = first + i). */
  rows: readonly NativeSampleRow[];
  drafts: readonly number[];
  /** The draft's distribution q_i per draft (null where the rows are greedy: never read). */
  draftProbs: readonly (Float64Array | null)[];
}

/** gust_sample_params rows and the lists they slice, staged (what gust_sample and gust_verify_drafts share). */
type PackedRows = Omit<StepSampleArgs, "outTokens" | "outLogprobs" | "outTopIds" | "maxLogprobs">;

export interface PreparedSample {
  args: StepSampleArgs;
  finish(): SampleResult[];
}

export class NativeSampler {
  readonly #staging: Staging;

  /** `vocabLimit`: ids at and above it (a model's padding ids) are never drawn nor reported. */
  constructor(readonly backend: Backend, readonly vocab: number, readonly vocabLimit = vocab) {
    this.#staging = new Staging(backend);
  }

  /** One token per row from `logits` ([numLogitRows, vocab] f32 on the device); ids from `vocabLimit` up are never
   *  drawn nor reported. */
  sample(
    logits: DeviceBuffer,
    numLogitRows: number,
    rows: readonly NativeSampleRow[],
    vocabLimit = this.vocabLimit,
  ): SampleResult[] {
    const prepared = this.prepare(rows, vocabLimit);
    if (!prepared) return [];
    this.backend.sample({ ...prepared.args, logits, numLogitRows, vocab: this.vocab });
    return prepared.finish();
  }

  /** The packed call for `rows` (null when there are none) and, once it ran (gust_sample, or inside gust_step),
   *  its results. */
  prepare(rows: readonly NativeSampleRow[], vocabLimit = this.vocabLimit): PreparedSample | null {
    const n = rows.length;
    if (n === 0) return null;
    const s = this.#staging;
    const maxLogprobs = Math.max(0, ...rows.map((row) => row.sampler.params.logprobs ?? 0));
    const tokens = new Int32Array(n), logprobs = new Float64Array(n * (1 + maxLogprobs));
    const topIds = new Int32Array(Math.max(1, n * maxLogprobs));
    const args: StepSampleArgs = {
      ...this.#pack(rows, vocabLimit),
      outTokens: s.put("tokens", tokens),
      outLogprobs: s.put("logprobs", logprobs),
      outTopIds: s.put("topIds", topIds),
      maxLogprobs,
    };
    return { args, finish: () => this.#results(rows, args, tokens, logprobs, topIds) };
  }

  /** Verifies draft proposals against their target rows in `logits` in one native call (gust_verify_drafts;
   *  runtime/eagle/verify.ts verifyDrafts is the spec): only the accepted counts and next tokens come back. The
   *  draft probabilities live on the host and are uploaded (borrowed on the CPU). */
  verify(
    logits: DeviceBuffer,
    numLogitRows: number,
    proposals: readonly NativeVerifyProposal[],
    vocabLimit = this.vocabLimit,
  ): { accepted: number; next: number }[] {
    if (proposals.length === 0) return [];
    const V = this.vocab, rows = proposals.flatMap((p) => p.rows);
    const quads = new Int32Array(proposals.length * 4), numDrafts = proposals.reduce((n, p) => n + p.drafts.length, 0);
    const draftIds = new Int32Array(numDrafts), draftProbs = new Float64Array(numDrafts * V);
    let firstRow = 0, at = 0;
    proposals.forEach((p, j) => {
      const k = p.drafts.length;
      if (p.rows.length !== k + 1) throw new RangeError(`proposal ${j}: ${p.rows.length} rows for ${k} drafts`);
      quads.set([firstRow, k, at, 0], 4 * j);
      p.drafts.forEach((d, i) => {
        draftIds[at + i] = d;
        const q = p.draftProbs[i];
        if (q) draftProbs.set(q.length === V ? q : q.subarray(0, V), (at + i) * V);
      });
      firstRow += k + 1;
      at += k;
    });
    const s = this.#staging, accepted = new Int32Array(proposals.length), next = new Int32Array(proposals.length);
    const args = {
      ...this.#pack(rows, vocabLimit),
      outAccepted: s.put("accepted", accepted),
      outNext: s.put("next", next),
      proposals: s.put("proposals", quads),
      numProposals: proposals.length,
      draftIds: numDrafts > 0 ? s.put("draftIds", draftIds) : null,
      draftProbs: numDrafts > 0 ? s.put("draftProbs", draftProbs) : null,
      numDrafts,
    };
    this.backend.verifyDrafts({ ...args, logits, numLogitRows, vocab: V });
    if (!this.backend.sharesHostMemory) {
      this.backend.download(args.outAccepted, accepted);
      this.backend.download(args.outNext, next);
    }
    return Array.from(accepted, (a, j) => ({ accepted: a, next: next[j] }));
  }

  /** The params and lists of `rows` (gust_sample_params and the shared list arrays), staged on the backend. */
  #pack(rows: readonly NativeSampleRow[], vocabLimit: number): PackedRows {
    const n = rows.length, words = (this.vocab + 31) >> 5;
    const params = new DataView(new ArrayBuffer(n * SAMPLE_PARAMS_BYTES));
    const biasIds: number[] = [], biasValues: number[] = [], countIds: number[] = [], counts: number[] = [];
    const seen: number[] = [];
    const masks: Uint32Array[] = [];
    rows.forEach((row, r) => {
      const forced = row.forcedToken !== undefined;
      const p = forced
        ? { ...row.sampler.params, ...FORCED_PARAMS, topK: 0, repetitionPenalty: 1 }
        : row.sampler.params;
      const inputs = forced ? FORCED_INPUTS : row.sampler.nativeInputs(row.generatedIds);
      const at = r * SAMPLE_PARAMS_BYTES;
      [p.temperature, p.topP, p.minP, p.presencePenalty, p.frequencyPenalty, p.repetitionPenalty]
        .forEach((v, i) => params.setFloat64(at + 8 * i, v, true));
      const biasStart = biasIds.length, countsStart = countIds.length, seenStart = seen.length;
      biasIds.push(...inputs.biasIds);
      biasValues.push(...inputs.biasValues);
      if (p.presencePenalty !== 0 || p.frequencyPenalty !== 0) {
        for (const [id, count] of inputs.counts ?? []) countIds.push(id), counts.push(count);
      }
      for (const id of inputs.seen) seen.push(id);
      const mask = forced ? oneIdMask(row.forcedToken!, words) : row.mask;
      if (mask && mask.length !== words) {
        throw new RangeError(`row ${r}: mask has ${mask.length} words, expected ${words} for ${this.vocab} ids`);
      }
      const maskRow = mask ? masks.push(mask) - 1 : -1;
      [
        p.topK,
        inputs.seedLo,
        inputs.seedHi,
        row.step,
        row.logitsRow,
        vocabLimit,
        biasStart,
        inputs.biasIds.length,
        countsStart,
        countIds.length - countsStart,
        seenStart,
        seen.length - seenStart,
        maskRow,
        p.logprobs ?? -1,
      ].forEach((v, i) => params.setUint32(at + 48 + 4 * i, v >>> 0, true));
    });
    const s = this.#staging;
    const maskWords = new Uint32Array(Math.max(1, masks.length * words));
    masks.forEach((m, i) => maskWords.set(m, i * words));
    const list = (name: string, host: ArrayBufferView & { length: number }) =>
      host.length > 0 ? s.put(name, host) : null;
    return {
      params: s.put("params", new Uint8Array(params.buffer)),
      numRows: n,
      biasIds: list("biasIds", Int32Array.from(biasIds)),
      biasValues: list("biasValues", Float32Array.from(biasValues)),
      countIds: list("countIds", Int32Array.from(countIds)),
      counts: list("counts", Int32Array.from(counts)),
      seenIds: list("seenIds", Int32Array.from(seen)),
      masks: masks.length > 0 ? s.put("masks", maskWords) : null,
      numMasks: masks.length,
    };
  }

  #results(
    rows: readonly NativeSampleRow[],
    args: StepSampleArgs,
    tokens: Int32Array,
    logprobs: Float64Array,
    topIds: Int32Array,
  ): SampleResult[] {
    const b = this.backend, maxLogprobs = args.maxLogprobs;
    if (!b.sharesHostMemory) {
      b.download(args.outTokens, tokens);
      b.download(args.outLogprobs, logprobs);
      b.download(args.outTopIds, topIds);
    }
    return rows.map((row, r) => {
      const asked = row.sampler.params.logprobs, at = r * (1 + maxLogprobs);
      const result: SampleResult = { token: tokens[r], logprob: asked === null ? NaN : logprobs[at] };
      if (asked !== null && asked > 0) {
        const top: TopLogprob[] = [];
        for (let j = 0; j < Math.min(asked, MAX_LOGPROBS); j++) {
          const id = topIds[r * maxLogprobs + j];
          if (id >= 0) top.push({ token: id, logprob: logprobs[at + 1 + j] });
        }
        result.topLogprobs = top;
      }
      return result;
    });
  }

  dispose(): void {
    this.#staging.dispose();
  }
}
