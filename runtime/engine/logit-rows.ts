// Where a step's tokens come from once the forward is done. On the native path (the default) the logits stay in
// the backend's buffer and one gust_sample call draws every row: only token ids, and the log-probabilities a
// request asked for, come back. On the TypeScript path (`sampling: "typescript"`, the spec) the forward downloads
// the logits and each row goes through its TokenSampler. test/engine/native-sampling.test.ts holds the two equal.
//
// Example: a step with A decoding (logit row 0), B forced to [/THINK] by its reasoning budget (row 1, no
// log-probabilities asked) and C under a JSON grammar (row 2): the native call gets rows 0 and 2 (C with its
// allowed-id bitmask); B's result is {token: [/THINK], logprob: NaN} without touching the logits.
import type { Backend, StepSampleArgs } from "../../ffi/backend-api.ts";
import type { DeviceBuffer } from "../../ffi/buffer.ts";
import { verifyDrafts, type VerifyOutcome } from "../eagle/verify.ts";
import type { NativeSampler, NativeSampleRow } from "../sampling/native-sampler.ts";
import type { SequenceSampler } from "../sampling/sampler.ts";
import type { SampledToken, TokenSampler } from "../sampling/token-sampler.ts";

/** Which sampler the engine runs: the native library's (default) or the TypeScript spec. */
export type SamplingPath = "native" | "typescript";

export interface PickRequest {
  sampler: TokenSampler;
  /** The sequence's output ids before this token (penalties, grammar replay). */
  generatedIds: readonly number[];
  /** Index of the token being generated (the counter hash's step). */
  step: number;
  /** Index among the forward's logit rows. */
  row: number;
  /** A token the engine forces here (reasoning budget, verified draft): only its log-probabilities are computed. */
  forced: number | null;
}

/** One EAGLE proposal to verify against rows firstRow .. firstRow + k (row i scores the token after drafts[0, i)). */
export interface VerifyRequest {
  sampler: SequenceSampler;
  /** The sequence's output ids before the drafts. */
  generatedIds: readonly number[];
  /** Index of the token drafts[0] would be. */
  step: number;
  firstRow: number;
  drafts: readonly number[];
  /** The draft's distribution per draft (null when greedy). */
  draftProbs: readonly (Float64Array | null)[];
}

/** A forward's logit rows and how tokens are drawn from them. */
export interface LogitRows {
  /** One row on the host, padding ids at −∞ (downloaded on the native path, for rules only TypeScript has). */
  row(i: number): Float32Array;
  /** One result per request, in order. */
  pick(requests: readonly PickRequest[]): SampledToken[];
  /** Speculative verification (greedy or the rejection rule), one outcome per proposal, in order. */
  verify(requests: readonly VerifyRequest[]): VerifyOutcome[];
}

function pickOnHost(r: PickRequest, row: Float32Array): SampledToken {
  return r.forced !== null ? r.sampler.forced(row, r.forced) : r.sampler.sample(row, r.generatedIds, r.step);
}

/** The TypeScript spec: logits on the host, each request through its sampler. */
export class HostLogitRows implements LogitRows {
  constructor(readonly logits: Float32Array, readonly vocab: number) {}

  row(i: number): Float32Array {
    return this.logits.subarray(i * this.vocab, (i + 1) * this.vocab);
  }

  pick(requests: readonly PickRequest[]): SampledToken[] {
    return requests.map((r) => pickOnHost(r, this.row(r.row)));
  }

  verify(requests: readonly VerifyRequest[]): VerifyOutcome[] {
    return requests.map((r) =>
      verifyDrafts({
        drafts: r.drafts,
        draftProbs: r.draftProbs,
        rows: (i) => this.row(r.firstRow + i),
        sampler: r.sampler,
        generated: r.generatedIds,
        step: r.step,
      })
    );
  }
}

/** The native path: logits in the backend's buffer, every native-capable request in one gust_sample call. */
export class DeviceLogitRows implements LogitRows {
  constructor(
    readonly native: NativeSampler,
    readonly backend: Backend,
    readonly logits: DeviceBuffer,
    readonly numRows: number,
    readonly vocab: number,
    readonly vocabLimit: number,
  ) {}

  row(i: number): Float32Array {
    if (!(Number.isInteger(i) && i >= 0 && i < this.numRows)) {
      throw new RangeError(`logit row ${i} is outside the forward's ${this.numRows} rows`);
    }
    const V = this.vocab, row = this.backend.download(this.logits, new Float32Array(V), i * V * 4);
    return row.fill(-Infinity, this.vocabLimit); // as the downloading forward masks padding ids
  }

  pick(requests: readonly PickRequest[]): SampledToken[] {
    const pending = prepareNativePick(this.native, requests, this.vocabLimit);
    if (pending.sample) {
      this.backend.sample({ ...pending.sample, logits: this.logits, numLogitRows: this.numRows, vocab: this.vocab });
    }
    return pending.finish(this);
  }

  /** One gust_verify_drafts call: no row comes to the host, only each proposal's accepted count and next token. */
  verify(requests: readonly VerifyRequest[]): VerifyOutcome[] {
    const proposals = requests.map((r) => ({
      drafts: r.drafts,
      draftProbs: r.draftProbs,
      rows: r.drafts.concat(-1).map((_, i): NativeSampleRow => ({
        sampler: r.sampler,
        generatedIds: [...r.generatedIds, ...r.drafts.slice(0, i)],
        step: r.step + i,
        logitsRow: r.firstRow + i,
      })),
    }));
    return this.native.verify(this.logits, this.numRows, proposals, this.vocabLimit);
  }
}

/** A native pick packed before the forward: `sample` runs with it (inside gust_step on the one-call path), then
 *  `finish` reads the results (and answers, from the rows, what the native call could not). */
export interface PendingPick {
  sample: StepSampleArgs | null;
  finish(rows: LogitRows): SampledToken[];
}

export function prepareNativePick(
  native: NativeSampler,
  requests: readonly PickRequest[],
  vocabLimit: number,
): PendingPick {
  const rows: NativeSampleRow[] = [], at: number[] = [], early = new Map<number, SampledToken>();
  requests.forEach((r, i) => {
    const draw = r.sampler.native?.(r.generatedIds, r.step) ?? null;
    if (!draw) return; // a sampler with no native form (tests' plain argmax): answered from its row
    if (r.forced !== null && draw.sampler.params.logprobs === null) early.set(i, { token: r.forced, logprob: NaN });
    else {
      const { generatedIds, step, row: logitsRow } = r;
      rows.push(
        r.forced !== null
          ? { sampler: draw.sampler, generatedIds, step, logitsRow, forcedToken: r.forced }
          : { sampler: draw.sampler, generatedIds, step, logitsRow, mask: draw.mask },
      );
      at.push(i);
    }
  });
  const prepared = native.prepare(rows, vocabLimit);
  return {
    sample: prepared?.args ?? null,
    finish(logitRows) {
      const out = requests.map((r, i) => early.get(i) ?? null);
      prepared?.finish().forEach((got, j) => {
        const r = requests[at[j]];
        // a forced id whose logit is −∞ cannot win its one-id greedy draw: the spec answers from the row
        out[at[j]] = r.forced !== null && got.token !== r.forced ? null : got;
      });
      return out.map((got, i) => got ?? pickOnHost(requests[i], logitRows.row(requests[i].row)));
    },
  };
}
